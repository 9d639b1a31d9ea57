"""augkit for PyTorch: fused, per-sample image augmentation whose kernels
write straight into torch tensors.

The training set is copied once into the backend (CPU memory, or the GPU for
``backend="cuda"``); each step then writes one augmented batch — crop, flips,
rotation/translation/scale, colour jitter, mixup/cutmix, normalisation and
dtype conversion, with per-sample parameters from a counter-based RNG — into
a tensor's own memory, exchanged through DLPack:

* ``cpu``: the CPU backend writes into the CPU tensor's storage (no copy);
* ``cuda``: the CUDA kernels write into the CUDA tensor on torch's current
  stream (no host round trip, no extra device copy);
* ``wgpu``: the WGSL kernels run on a wgpu adapter and their output is read
  back into the CPU tensor's storage (the one copy it needs).

Every sample's parameters are a pure function of (policy, seed, epoch,
position in the epoch, batch), so runs resume bit-identically and
distributed ranks see exactly the batches a single process would.
See docs/PYTHON.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from . import _native
from .torchvision import (
    NotEquivalentError,
    TorchvisionConversionError,
    UnsupportedTransformError,
    from_torchvision,
    to_torchvision,
)

__all__ = [
    "Augmenter",
    "Batch",
    "channel_statistics",
    "load_images",
    "mixed_cross_entropy",
    "from_torchvision",
    "to_torchvision",
    "TorchvisionConversionError",
    "UnsupportedTransformError",
    "NotEquivalentError",
]

Batch = Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
"""(x, y_a, y_b, lam): images, the two labels (int64) and λ (float32)."""

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
_STATE_VERSION = 1


def _nvrtc_hint() -> None:
    # The CUDA backend compiles its kernels with NVRTC at start-up; torch's
    # CUDA wheels ship it (nvidia/cu13/lib), which augkit finds through
    # AUGKIT_NVRTC_LIB when it is not on the loader's path.
    if os.environ.get("AUGKIT_NVRTC_LIB"):
        return
    for base in map(pathlib.Path, __import__("site").getsitepackages()):
        lib = base / "nvidia" / "cu13" / "lib"
        if lib.is_dir():
            os.environ["AUGKIT_NVRTC_LIB"] = str(lib)
            return


def _policy_source(policy: Any) -> Tuple[str, str]:
    """(kind, text) for the native parser: a mapping becomes JSON, a path or
    a one-line string ending in .toml/.json is a file, any other string TOML."""
    if isinstance(policy, Mapping):
        try:
            return "json", json.dumps(policy)
        except (TypeError, ValueError) as e:
            raise ValueError(f"policy dict is not JSON-serialisable: {e}") from None
    if isinstance(policy, os.PathLike):
        return "file", os.fspath(policy)
    if isinstance(policy, str):
        one_line = "\n" not in policy and "=" not in policy
        if one_line and (policy.endswith((".toml", ".json")) or os.path.isfile(policy)):
            return "file", policy
        return "toml", policy
    if policy is None:
        return "toml", ""
    raise TypeError(
        f"policy must be a path, a dict or a TOML string, got {type(policy).__name__}"
    )


def _is_transform(policy: Any) -> bool:
    """A torchvision transform (or a (transform, mix) pair) rather than a
    path, dict or TOML string."""
    if isinstance(policy, tuple) and len(policy) == 2:
        policy = policy[0]
    return policy is not None and not isinstance(policy, (str, bytes, os.PathLike, Mapping)) and callable(policy)


def _as_cpu_array(value: Any, what: str, dtype: Optional[torch.dtype] = None) -> Any:
    """A CPU array with __dlpack__: torch tensors move to the CPU, numpy
    arrays pass as they are, sequences become int64 tensors."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu() if value.device.type != "cpu" else value.detach()
    if hasattr(value, "__dlpack__"):
        return value
    if isinstance(value, (list, tuple, range)):
        try:
            return torch.tensor(list(value), dtype=dtype or torch.int64)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(f"{what}: {e}") from None
    raise TypeError(f"{what} must be a torch tensor, a numpy array or a sequence, got {type(value).__name__}")


def channel_statistics(images: Any, subset: Optional[Any] = None) -> Tuple[List[float], List[float]]:
    """Per-channel mean and standard deviation (population, in [0, 1] pixel
    units) of uint8 ``[N, C, H, W]`` images — of ``subset``'s images when
    given. A zero deviation becomes 1. This is the normalisation the harness
    (and ``Augmenter(normalise=True)``) gives a policy that sets neither
    ``output.mean`` nor ``output.std``."""
    images = _as_cpu_array(images, "images")
    if subset is not None:
        subset = _as_cpu_array(subset, "subset")
    return _native.channel_statistics(images, subset)


def load_images(
    path: Union[str, "os.PathLike[str]"],
    image_size: Union[None, int, Tuple[int, int], str] = None,
    *,
    split: str = "train",
    test_fraction: float = 0.2,
    skip_bad_images: bool = False,
    image_column: Optional[str] = None,
    label_column: Optional[str] = None,
    cache_dir: Union[None, bool, str, "os.PathLike[str]"] = None,
) -> Tuple[Any, Any, List[str]]:
    """Your own data set as ``(images, labels, class_names)``: ``images``
    uint8 numpy ``[N, C, H, W]``, ``labels`` int64 numpy ``[N]``.

    ``path`` is ``folder:PATH``, ``npz:PATH`` or ``parquet:PATH`` (a bare
    directory is a folder, ``*.npz`` and ``*.parquet`` files by their
    suffix) and is read by the same Rust reader as ``augkit train --dataset``
    (docs/HARNESS.md, "Your own data"), so the pixels are the harness's.
    ``image_size`` is ``S``, ``(H, W)`` or ``"HxW"``. ``split`` is
    ``"train"``, ``"test"`` or ``"all"``: a set without a test split is split
    by class with ``test_fraction`` (seed 0). Decoded sets are cached in
    ``cache_dir`` (default ``$XDG_CACHE_HOME/augkit/datasets``, else
    ``~/.cache/augkit/datasets``; ``False``: no cache)."""
    import numpy as np

    text = os.fspath(path)
    if not text.startswith(("folder:", "npz:", "parquet:")):
        suffix = pathlib.Path(text).suffix.lower()
        kind = {".npz": "npz", ".parquet": "parquet"}.get(suffix, "folder")
        text = f"{kind}:{text}"
    if isinstance(image_size, tuple):
        image_size = f"{int(image_size[0])}x{int(image_size[1])}"
    elif image_size is not None:
        image_size = str(image_size)
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    if cache_dir is None or cache_dir is True:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        cache: Optional[str] = os.path.join(base, "augkit", "datasets")
    elif cache_dir is False:
        cache = None
    else:
        cache = os.fspath(cache_dir)
    train_px, train_y, test_px, test_y, (c, h, w), names, _prov = _native.load_images(
        text, image_size, float(test_fraction), bool(skip_bad_images), image_column, label_column, cache
    )
    parts = {"train": [(train_px, train_y)], "test": [(test_px, test_y)]}
    chosen = parts["train"] + parts["test"] if split == "all" else parts[split]
    # frombuffer over the native bytearray: writable, no copy for one split.
    arrays = [np.frombuffer(p, dtype=np.uint8).reshape(-1, c, h, w) for p, _ in chosen]
    images = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
    labels = np.concatenate([np.asarray(y, dtype=np.int64) for _, y in chosen])
    return images, labels, list(names)


def mixed_cross_entropy(
    logits: torch.Tensor,
    y_a: torch.Tensor,
    y_b: torch.Tensor,
    lam: torch.Tensor,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Soft-label cross-entropy of a mixed batch,
    ``λ·CE(logits, y_a) + (1 − λ)·CE(logits, y_b)`` per sample; with label
    smoothing ``s`` the target of label ``y`` is ``s/C`` off and
    ``1 − s + s/C`` on (timm's Mixup targets). Computed as the harness does
    it (``nll_b + λ·(nll_a − nll_b)``), so losses agree to the last bit."""
    log_p = torch.log_softmax(logits.float(), dim=-1)
    nll_a = -log_p.gather(1, y_a.unsqueeze(1)).squeeze(1)
    nll_b = -log_p.gather(1, y_b.unsqueeze(1)).squeeze(1)
    loss = nll_b + lam * (nll_a - nll_b)
    if label_smoothing != 0.0:
        uniform = -log_p.mean(dim=-1)
        loss = loss * (1.0 - label_smoothing) + uniform * label_smoothing
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_count(value: Any, what: str, low: int = 0, high: int = 2**32 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if hasattr(value, "__index__"):
            value = value.__index__()
        else:
            raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{what} = {value} is outside [{low}, {high}]")
    return value


class Augmenter:
    """Augmented batches of a uint8 training set, written by augkit's kernels
    straight into torch tensors.

    Args:
        policy: the augmentation policy — a ``.toml``/``.json`` path, a dict
            (the same fields as the TOML; see docs/SEMANTICS.md) or a TOML
            string. ``None`` only normalises. A ``torchvision.transforms.v2``
            pipeline, or a ``(pipeline, mix)`` pair, is converted with
            ``from_torchvision`` (exactly, or refused with the reason).
        images: uint8 ``[N, C, H, W]`` (C = 1 or 3), a torch tensor or any
            array with ``__dlpack__`` (numpy…); copied once.
        labels: ``N`` class indices (tensor, array or sequence).
        num_classes: number of classes (default: ``max(labels) + 1``).
        seed: seeds the shuffle and every augmentation draw.
        backend: ``"auto"`` (CUDA when ``device`` is a CUDA device and the
            backend starts there, else CPU), ``"cpu"``, ``"wgpu"`` or ``"cuda"``.
        device: where the batches are returned (default: ``"cuda"`` for the
            CUDA backend, else ``"cpu"``). Host backends with a CUDA device
            copy each batch over (counted; the CUDA backend does not).
        rank, world_size: the distributed share (default: from
            ``torch.distributed`` when it is initialised, else 0 and 1).
        drop_last: drop the epoch's last partial batch (and, sharded, the
            last incomplete round of batches) instead of keeping it/padding.
        subset: dataset indices making up an epoch (default: all images).
        normalise: when the policy sets neither ``output.mean`` nor
            ``output.std``, use the subset's per-channel statistics (as the
            harness does).
        batch_size: the default for ``epoch()``, ``steps_per_epoch()`` and
            ``len()``.
        synthetic_pool: ``(images, labels)`` of generated images (uint8
            ``[P, C, H, W]``, the data set's C, H, W; labels below
            ``num_classes``) for a policy with ``[synthetic] mode = "pool"``:
            each sample's source image is drawn from the pool with
            probability ``synthetic.fraction`` (docs/SEMANTICS.md §9a).

    Sharding (``world_size > 1``): the epoch's batches at ``batch_size`` —
    exactly a single process's batches, positions ``[k·B, (k+1)·B)`` — are
    dealt round-robin, rank ``r`` taking batches ``r, r + W, r + 2W, …``, so
    every sample (mixing partners and λ included) gets the parameters it
    gets in a single-process run. Like ``DistributedSampler``: with
    ``drop_last=False`` the last round is padded by repeating the epoch's
    first batches, so every rank runs the same number of steps; with
    ``drop_last=True`` the partial batch and the last incomplete round are
    dropped. ``DistributedSampler`` pads and drops single samples, this pads
    and drops whole batches (a batch is the unit a step is drawn for).
    """

    def __init__(
        self,
        policy: Union[str, os.PathLike, Mapping[str, Any], None],
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
    ) -> None:
        if _is_transform(policy):
            # A torchvision pipeline (or (pipeline, mix), as to_torchvision
            # returns it): converted exactly or refused; one without
            # Normalize returns torchvision's [0, 1] pixels, so no
            # data-set normalisation is added.
            transform, mix = policy if isinstance(policy, tuple) else (policy, None)
            shape = tuple(images.shape[1:]) if len(getattr(images, "shape", ())) == 4 else None
            policy = from_torchvision(transform, mix, image_shape=shape)
            normalise = normalise and "mean" in policy.get("output", {})
        if not isinstance(backend, str):
            raise TypeError(f"backend must be a str, got {type(backend).__name__}")
        if device is None:
            device = "cuda" if backend == "cuda" else "cpu"
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as e:
            raise ValueError(f"device {device!r}: {e}") from None
        if self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device() if torch.cuda.is_available() else 0)
        if self.device.type not in ("cpu", "cuda"):
            raise ValueError(f"device must be a CPU or CUDA device, got {self.device}")
        self.seed = _check_count(seed, "seed", 0, 2**64 - 1)
        if rank is None and world_size is None and torch.distributed.is_available() and torch.distributed.is_initialized():
            rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
        self.world_size = _check_count(1 if world_size is None else world_size, "world_size", 1)
        self.rank = _check_count(0 if rank is None else rank, "rank", 0)
        if self.rank >= self.world_size:
            raise ValueError(f"rank {self.rank} is not below world_size {self.world_size}")
        self.drop_last = bool(drop_last)
        self.batch_size = None if batch_size is None else _check_count(batch_size, "batch_size", 1)

        kind, text = _policy_source(policy)
        images = _as_cpu_array(images, "images")
        labels = _as_cpu_array(labels, "labels")
        pool_images = pool_labels = None
        if synthetic_pool is not None:
            if not isinstance(synthetic_pool, (tuple, list)) or len(synthetic_pool) != 2:
                raise TypeError("synthetic_pool must be a pair (images, labels)")
            pool_images = _as_cpu_array(synthetic_pool[0], "synthetic_pool images")
            pool_labels = _as_cpu_array(synthetic_pool[1], "synthetic_pool labels")
        if num_classes is None:
            as_tensor = torch.from_dlpack(labels) if not isinstance(labels, torch.Tensor) else labels
            if as_tensor.numel() == 0:
                raise ValueError("labels is empty")
            num_classes = int(as_tensor.max()) + 1
        num_classes = _check_count(num_classes, "num_classes", 1)
        if subset is not None:
            subset = _as_cpu_array(subset, "subset")
        cuda_index = self.device.index if self.device.type == "cuda" else None
        if backend in ("auto", "cuda") and cuda_index is not None:
            _nvrtc_hint()
        self._engine = _native.Engine(
            kind, text, images, labels, num_classes, self.seed, backend, cuda_index, subset, bool(normalise),
            pool_images, pool_labels,
        )
        if self._engine.kind == "cuda" and self.device.type != "cuda":
            raise ValueError("the CUDA backend writes CUDA tensors: pass device='cuda[:N]'")
        self._dtype = _DTYPES[self._engine.dtype]
        self._policy_sha256 = hashlib.sha256(self._engine.policy_toml.encode()).hexdigest()
        self._epoch = 0
        self._next_step = 0
        self._resume: Optional[Tuple[int, int, int]] = None
        self.last_write: Optional[Tuple[int, Optional[int]]] = None
        """(address, CUDA stream or None) of the last step's image write."""
        self.copies_per_batch = 0 if self._writes_device() or self.device.type == "cpu" else 1
        """Copies of the image batch between the kernel's write and the
        returned tensor (0 for CPU and CUDA; wgpu's read-back is inside the
        backend and is its one counted copy; a host backend feeding a CUDA
        device adds this one)."""

    # --- what was opened ----------------------------------------------------

    @property
    def backend(self) -> str:
        """The backend in use: "cpu", "wgpu" or "cuda"."""
        return self._engine.kind

    @property
    def backend_device(self) -> str:
        """The device or adapter as the backend found it."""
        return self._engine.device

    @property
    def backend_note(self) -> str:
        """Why this backend (what ``backend="auto"`` chose and why)."""
        return self._engine.note

    @property
    def epoch_len(self) -> int:
        """Samples per epoch over all ranks (the subset's length)."""
        return self._engine.epoch_len

    @property
    def image_shape(self) -> Tuple[int, int, int]:
        return tuple(self._engine.image_shape)

    @property
    def dtype(self) -> torch.dtype:
        """The batches' dtype (the policy's ``output.dtype``)."""
        return self._dtype

    @property
    def layout(self) -> str:
        """"nchw" or "nhwc" (the policy's ``output.layout``); NHWC batches
        are returned as NCHW views (``permute``, no copy)."""
        return self._engine.layout

    @property
    def policy_toml(self) -> str:
        """The policy as it runs (normalisation filled in), as TOML."""
        return self._engine.policy_toml

    @property
    def normalisation(self) -> Tuple[List[float], List[float]]:
        """Per-channel (mean, std) of the output stage."""
        return self._engine.normalisation

    @property
    def label_smoothing(self) -> float:
        """The policy's ``mix.label_smoothing``, for ``mixed_cross_entropy``."""
        return self._engine.label_smoothing

    def _writes_device(self) -> bool:
        return self._engine.kind == "cuda"

    # --- the epoch's batches --------------------------------------------------

    def _total_batches(self, batch_size: int) -> int:
        n = self.epoch_len
        return n // batch_size if self.drop_last else -(-n // batch_size)

    def _batch_size(self, batch_size: Optional[int]) -> int:
        if batch_size is None:
            if self.batch_size is None:
                raise TypeError("no batch_size: pass one here or to Augmenter(batch_size=...)")
            return self.batch_size
        return _check_count(batch_size, "batch_size", 1)

    def steps_per_epoch(self, batch_size: Optional[int] = None) -> int:
        """Steps (batches) this rank runs per epoch at ``batch_size``
        (default: the constructor's)."""
        batch_size = self._batch_size(batch_size)
        k = self._total_batches(batch_size)
        w = self.world_size
        return k // w if self.drop_last else -(-k // w)

    def _batch_index(self, step: int, batch_size: int) -> int:
        k = self.rank + step * self.world_size
        total = self._total_batches(batch_size)
        return k % total if total else 0

    def step_positions(self, step: int, batch_size: int) -> Tuple[int, int]:
        """(first_position, batch_size) of this rank's step ``step``."""
        k = self._batch_index(step, batch_size)
        first = k * batch_size
        return first, min(batch_size, self.epoch_len - first)

    def __len__(self) -> int:
        """Batches per epoch for this rank at the constructor's
        ``batch_size``, like ``len(DataLoader)``."""
        return self.steps_per_epoch()

    def epoch(self, epoch: int, batch_size: Optional[int] = None) -> Iterator[Batch]:
        """This rank's batches of ``epoch``: ``(x, y_a, y_b, lam)`` on
        ``device``, in order. After ``load_state_dict`` the matching epoch
        resumes at the saved step. Each yield advances ``state_dict()``."""
        epoch = _check_count(epoch, "epoch")
        batch_size = self._batch_size(batch_size)
        if self.steps_per_epoch(batch_size) == 0:
            raise ValueError(
                f"batch_size {batch_size} with world_size {self.world_size} and drop_last leaves no step "
                f"in an epoch of {self.epoch_len} samples"
            )
        start = 0
        if self._resume is not None and self._resume[0] == epoch:
            if self._resume[2] != batch_size:
                raise ValueError(
                    f"the loaded state was saved at batch_size {self._resume[2]}, not {batch_size}"
                )
            start = self._resume[1]
        self._resume = None
        return self._iterate(epoch, batch_size, start)

    def _iterate(self, epoch: int, batch_size: int, start: int) -> Iterator[Batch]:
        steps = self.steps_per_epoch(batch_size)
        for step in range(start, steps):
            first, size = self.step_positions(step, batch_size)
            batch = self.batch(epoch, first, size)
            self._epoch, self._next_step, self._state_batch = epoch, step + 1, batch_size
            if step + 1 == steps:
                self._epoch, self._next_step = epoch + 1, 0
            yield batch

    # --- one step ---------------------------------------------------------------

    def _alloc(self, batch_size: int) -> torch.Tensor:
        c, h, w = self.image_shape
        dims = (batch_size, h, w, c) if self.layout == "nhwc" else (batch_size, c, h, w)
        where = self.device if self._writes_device() else torch.device("cpu")
        return torch.empty(dims, dtype=self._dtype, device=where)

    def batch(
        self,
        epoch: int,
        first_position: int,
        batch_size: int,
        out: Optional[torch.Tensor] = None,
    ) -> Batch:
        """Epoch positions ``[first_position, first_position + batch_size)``
        as one batch (not sharded). ``out``: a contiguous tensor of the
        policy's dtype and layout shape (``[B, C, H, W]`` or ``[B, H, W, C]``)
        on the backend's device (the CPU for cpu/wgpu, the CUDA device for
        cuda) that the kernels write into; it is returned as ``x`` (NHWC as an
        NCHW view). Without ``out``, a host backend (cpu, wgpu) writes memory
        of its own, handed to torch through DLPack and reused for a later
        batch only once torch has freed ``x`` (and every view, export or
        autograd graph of it); the CUDA backend allocates with torch."""
        epoch = _check_count(epoch, "epoch")
        first_position = _check_count(first_position, "first_position")
        batch_size = _check_count(batch_size, "batch_size")
        self._check_step(first_position, batch_size)
        if out is None and not self._writes_device():
            # A host backend writes memory of its own, handed over through
            # DLPack; it is reused only after torch frees this tensor.
            raw = torch.empty((batch_size, 3), dtype=torch.int32)
            capsule, address = self._engine.run_new(epoch, first_position, batch_size, raw)
            out = torch.from_dlpack(capsule)
            self.last_write = (address, None)
        else:
            if out is None:
                out = self._alloc(batch_size)
            elif not isinstance(out, torch.Tensor):
                raise TypeError(f"out must be a torch tensor, got {type(out).__name__}")
            elif out.requires_grad:
                raise ValueError("out requires grad; pass a tensor that is not part of an autograd graph")
            raw = torch.empty((batch_size, 3), dtype=torch.int32, device=out.device)
            stream = None
            if self._writes_device() and out.device.type == "cuda":
                stream = torch.cuda.current_stream(out.device).cuda_stream
            self.last_write = self._engine.run(epoch, first_position, batch_size, out.detach(), raw, stream)
        x = out.permute(0, 3, 1, 2) if self.layout == "nhwc" else out
        y_a = raw[:, 0].long()
        y_b = raw[:, 1].long()
        lam = raw.view(torch.float32)[:, 2].contiguous()
        if x.device != self.device:
            x = x.to(self.device, non_blocking=True)
            y_a, y_b, lam = (t.to(self.device, non_blocking=True) for t in (y_a, y_b, lam))
        return x, y_a, y_b, lam

    def _check_step(self, first_position: int, batch_size: int) -> None:
        # Before anything is allocated: a step's memory grows with
        # batch_size, and a step past the epoch would be refused anyway.
        if batch_size == 0:
            raise ValueError("batch size must be at least 1")
        end = first_position + batch_size
        if end > self.epoch_len:
            raise ValueError(
                f"step covers epoch positions {first_position}..{end} but the epoch has only "
                f"{self.epoch_len} samples"
            )

    def params(self, epoch: int, first_position: int, batch_size: int) -> Dict[str, torch.Tensor]:
        """The per-sample parameters of a step, for inspection: a dict of CPU
        tensors ``[B]`` or ``[B, k]`` (``dataset_index``, ``label_a``,
        ``label_b``, ``partner``, ``flags``, ``lambda``, ``inverse_affine``,
        ``window``, ``cut_box``, colour factors…; see SampleParams in the Rust
        docs)."""
        epoch = _check_count(epoch, "epoch")
        first_position = _check_count(first_position, "first_position")
        batch_size = _check_count(batch_size, "batch_size")
        self._check_step(first_position, batch_size)
        raw = self._engine.params(epoch, first_position, batch_size)
        words = torch.frombuffer(bytearray(raw), dtype=torch.int32).view(batch_size, _native.param_words)
        out: Dict[str, torch.Tensor] = {}
        for name, first, width, kind in _native.param_fields:
            column = words[:, first : first + width]
            if kind == "f32":
                column = column.view(torch.float32)
            elif kind == "u32":
                column = column.long() & 0xFFFFFFFF
            out[name] = (column[:, 0] if width == 1 else column).clone()
        return out

    # --- checkpointing ------------------------------------------------------------

    def state_dict(self) -> Dict[str, Any]:
        """Where the batch stream stands: resume with ``load_state_dict`` and
        the same ``epoch(e, batch_size)`` loop to continue bit-identically."""
        return {
            "version": _STATE_VERSION,
            "seed": self.seed,
            "epoch": self._epoch,
            "step": self._next_step,
            "position": self.step_positions(self._next_step, getattr(self, "_state_batch", 64))[0]
            if self._next_step
            else 0,
            "batch_size": getattr(self, "_state_batch", None),
            "rank": self.rank,
            "world_size": self.world_size,
            "drop_last": self.drop_last,
            "epoch_len": self.epoch_len,
            "policy_sha256": self._policy_sha256,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restores ``state_dict()``'s position. Refuses (ValueError) a state
        from another seed, policy, data size, sharding or format."""
        if not isinstance(state, Mapping):
            raise TypeError(f"state must be a dict, got {type(state).__name__}")
        required = ("version", "seed", "epoch", "step", "batch_size", "rank", "world_size",
                    "drop_last", "epoch_len", "policy_sha256")
        missing = [k for k in required if k not in state]
        if missing:
            raise ValueError(f"state is missing {', '.join(missing)}")
        if state["version"] != _STATE_VERSION:
            raise ValueError(f"state version {state['version']} is not {_STATE_VERSION}")
        for key, mine in (("seed", self.seed), ("policy_sha256", self._policy_sha256),
                          ("epoch_len", self.epoch_len), ("rank", self.rank),
                          ("world_size", self.world_size), ("drop_last", self.drop_last)):
            if state[key] != mine:
                raise ValueError(f"state has {key} = {state[key]!r} but this Augmenter has {mine!r}")
        epoch = _check_count(state["epoch"], "state['epoch']")
        step = _check_count(state["step"], "state['step']")
        if state["batch_size"] is None and step != 0:
            # Only a stream that never yielded has no batch size, and it
            # stands at step 0: without one, step would silently restart.
            raise ValueError(
                f"state['step'] = {step} needs the batch size it was counted in, but "
                "state['batch_size'] is None"
            )
        self._epoch, self._next_step = epoch, step
        if state["batch_size"] is not None:
            batch_size = _check_count(state["batch_size"], "state['batch_size']", 1)
            if step > self.steps_per_epoch(batch_size):
                raise ValueError(f"state['step'] = {step} is past the epoch's {self.steps_per_epoch(batch_size)} steps")
            self._state_batch = batch_size
            self._resume = (epoch, step, batch_size)
        else:
            self._resume = None
