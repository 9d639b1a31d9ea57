"""Helpers both converters share: f32-faithful short floats, how errors name
a transform, and torchvision's interpolation and fill read as augkit's."""

from __future__ import annotations

import struct
import types
from typing import Any, Optional

from .errors import NotEquivalentError

def _short(x: float) -> float:
    """``x`` as augkit reads it (an f32), written with the fewest decimal
    digits: 1.4 − 1 becomes 0.4, not 0.3999999999999999."""
    x = float(x)
    f32 = struct.unpack("f", struct.pack("f", x))[0]
    for digits in range(1, 10):
        v = float(f"{x:.{digits}g}")
        if struct.unpack("f", struct.pack("f", v))[0] == f32:
            return v
    return f32


def _f32_equal(a: float, b: float) -> bool:
    pack = lambda v: struct.pack("f", float(v))  # noqa: E731
    return pack(a) == pack(b)


def _name(t: Any) -> str:
    """How errors name a transform: its class and torchvision's repr."""
    if isinstance(t, types.FunctionType):
        return f"callable {getattr(t, '__qualname__', repr(t))}"
    r = repr(t).replace("\n", " ")
    r = " ".join(r.split())
    return r if len(r) <= 120 else r[:117] + "..."


def _v2():
    try:
        from torchvision.transforms import v2
    except ImportError as e:  # pragma: no cover - torchvision is in every test venv
        raise ImportError(f"augkit.from_torchvision/to_torchvision need torchvision ({e})") from None
    return v2


def _interpolation(t: Any, value: Any) -> str:
    from torchvision.transforms import InterpolationMode

    if isinstance(value, int) and not isinstance(value, InterpolationMode):
        from torchvision.transforms.functional import _interpolation_modes_from_int

        value = _interpolation_modes_from_int(value)
    names = {
        InterpolationMode.NEAREST: "nearest",
        InterpolationMode.BILINEAR: "bilinear",
        InterpolationMode.NEAREST_EXACT: "nearest_exact",
    }
    if value not in names:
        raise NotEquivalentError(
            f"{_name(t)}: interpolation {value} has no augkit counterpart (augkit: nearest, bilinear"
            f"{', nearest_exact' if type(t).__name__ == 'RandomResizedCrop' else ''})",
            [type(t).__name__],
        )
    return names[value]


def _fill(t: Any) -> Optional[float]:
    """The transform's fill for images as one number (None: torchvision's
    "no fill"); a per-channel fill with different values is refused."""
    from torchvision import tv_tensors

    table = getattr(t, "_fill", None)
    if table is None:
        value = getattr(t, "fill", None)
    else:
        value = table.get(tv_tensors.Image, table.get("others"))
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        values = [float(v) for v in value]
        if len(set(values)) > 1:
            raise NotEquivalentError(
                f"{_name(t)}: a per-channel fill {values}; augkit fills every channel with one value",
                [type(t).__name__],
            )
        return values[0]
    return float(value)


def _symmetric(lo: float, hi: float) -> bool:
    return _f32_equal(lo, -hi)
