"""Type stubs of the extension module `augkit._native` (Rust, PyO3). Use the
`augkit` package's Python API; this layer only converts types."""

from typing import Any, List, Optional, Tuple

param_words: int
param_fields: List[Tuple[str, int, int, str]]

class Engine:
    def __init__(
        self,
        policy_source: str,
        policy_text: str,
        images: Any,
        labels: Any,
        num_classes: int,
        seed: int,
        backend: str,
        cuda_device: Optional[int] = None,
        subset: Optional[Any] = None,
        normalise: bool = True,
        pool_images: Optional[Any] = None,
        pool_labels: Optional[Any] = None,
    ) -> None: ...
    @property
    def epoch_len(self) -> int: ...
    @property
    def image_shape(self) -> Tuple[int, int, int]: ...
    @property
    def dtype(self) -> str: ...
    @property
    def layout(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def note(self) -> str: ...
    @property
    def policy_toml(self) -> str: ...
    @property
    def normalisation(self) -> Tuple[List[float], List[float]]: ...
    @property
    def label_smoothing(self) -> float: ...
    def run(
        self,
        epoch: int,
        first_position: int,
        batch_size: int,
        images: Any,
        labels: Any,
        stream: Optional[int] = None,
    ) -> Tuple[int, Optional[int]]: ...
    def run_new(
        self, epoch: int, first_position: int, batch_size: int, labels: Any
    ) -> Tuple[Any, int]: ...
    @property
    def idle_blocks(self) -> int: ...
    def params(self, epoch: int, first_position: int, batch_size: int) -> bytes: ...

def channel_statistics(images: Any, subset: Optional[Any] = None) -> Tuple[List[float], List[float]]: ...
