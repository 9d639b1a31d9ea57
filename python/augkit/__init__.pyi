"""Type stubs of the `augkit` package (see __init__.py for the docs)."""

import os
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import torch

Batch = Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
PolicyLike = Union[str, os.PathLike, Mapping[str, Any], None, Any]
"""A path, a dict, a TOML string, None, or a torchvision v2 transform / (transform, mix) pair."""

class TorchvisionConversionError(ValueError):
    transforms: List[str]
    def __init__(self, message: str, transforms: Sequence[str]) -> None: ...

class UnsupportedTransformError(TorchvisionConversionError): ...
class NotEquivalentError(TorchvisionConversionError): ...

def from_torchvision(
    transform: Any,
    mix: Any = None,
    *,
    mix_mode: Optional[str] = None,
    image_shape: Optional[Sequence[int]] = None,
    allow_uint8_rounding: bool = False,
) -> Dict[str, Any]: ...
def to_torchvision(
    policy: Any, *, image_size: Optional[Sequence[int]] = None, num_classes: Optional[int] = None
) -> Tuple[Any, Any]: ...

def channel_statistics(images: Any, subset: Optional[Any] = None) -> Tuple[List[float], List[float]]: ...
def mixed_cross_entropy(
    logits: torch.Tensor,
    y_a: torch.Tensor,
    y_b: torch.Tensor,
    lam: torch.Tensor,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor: ...

class Augmenter:
    device: torch.device
    seed: int
    rank: int
    world_size: int
    drop_last: bool
    batch_size: Optional[int]
    last_write: Optional[Tuple[int, Optional[int]]]
    copies_per_batch: int
    def __init__(
        self,
        policy: PolicyLike,
        images: Any,
        labels: Any,
        num_classes: Optional[int] = None,
        seed: int = 0,
        backend: str = "auto",
        device: Union[str, torch.device, None] = None,
        rank: Optional[int] = None,
        world_size: Optional[int] = None,
        drop_last: bool = False,
        subset: Optional[Any] = None,
        normalise: bool = True,
        batch_size: Optional[int] = None,
        synthetic_pool: Optional[Tuple[Any, Any]] = None,
    ) -> None: ...
    @property
    def backend(self) -> str: ...
    @property
    def backend_device(self) -> str: ...
    @property
    def backend_note(self) -> str: ...
    @property
    def epoch_len(self) -> int: ...
    @property
    def image_shape(self) -> Tuple[int, int, int]: ...
    @property
    def dtype(self) -> torch.dtype: ...
    @property
    def layout(self) -> str: ...
    @property
    def policy_toml(self) -> str: ...
    @property
    def normalisation(self) -> Tuple[List[float], List[float]]: ...
    @property
    def label_smoothing(self) -> float: ...
    def steps_per_epoch(self, batch_size: Optional[int] = None) -> int: ...
    def step_positions(self, step: int, batch_size: int) -> Tuple[int, int]: ...
    def __len__(self) -> int: ...
    def epoch(self, epoch: int, batch_size: Optional[int] = None) -> Iterator[Batch]: ...
    def batch(
        self, epoch: int, first_position: int, batch_size: int, out: Optional[torch.Tensor] = None
    ) -> Batch: ...
    def params(self, epoch: int, first_position: int, batch_size: int) -> Dict[str, torch.Tensor]: ...
    def state_dict(self) -> Dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...
