"""The typed errors of the torchvision converters: each names the offending
transforms (or policy sections) in ``transforms``."""

from __future__ import annotations

from typing import Sequence

class TorchvisionConversionError(ValueError):
    """A torchvision pipeline (or an augkit policy) that has no exact
    counterpart on the other side. ``transforms`` names the offending
    transforms (or policy sections)."""

    def __init__(self, message: str, transforms: Sequence[str]) -> None:
        super().__init__(message)
        self.transforms = list(transforms)


class UnsupportedTransformError(TorchvisionConversionError):
    """Transforms augkit has no equivalent for, all of them at once."""


class NotEquivalentError(TorchvisionConversionError):
    """A transform augkit has, but with parameters, a position in the
    pipeline or an input dtype that would make augkit compute a different
    function; the message says why and, where there is one, the fix."""
