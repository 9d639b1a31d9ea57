"""torchvision.transforms.v2 pipelines as augkit policies, and back.

``from_torchvision`` walks a ``v2.Compose`` (nested ``Compose``,
``RandomApply``, ``RandomChoice([MixUp, CutMix])`` as ``mix=``) and returns the
policy dict that computes the same random function on the same uint8
images; ``to_torchvision`` does the reverse. augkit runs its ops in one fixed
fused order (crop → flips → affine → auto op → jitter → normalise → erasing →
mix, docs/SEMANTICS.md); a pipeline in another order is accepted only where
the reordering gives the same function (docs/PYTHON.md, "Coming from
torchvision", lists which and why), otherwise a typed error names the
transform and the reason. Transforms augkit has no equivalent for are all
listed in one error. torchvision is imported only when these are called.
"""

from .convert_from import from_torchvision
from .convert_to import to_torchvision
from .errors import NotEquivalentError, TorchvisionConversionError, UnsupportedTransformError

__all__ = [
    "TorchvisionConversionError",
    "UnsupportedTransformError",
    "NotEquivalentError",
    "from_torchvision",
    "to_torchvision",
]
