"""``from_torchvision``: a ``torchvision.transforms.v2`` pipeline (nested
``Compose``, ``RandomApply``) and its batch stage (``MixUp``/``CutMix``/
``RandomChoice`` of them, timm's ``Mixup``) as the augkit policy dict that
computes the same random function on the same uint8 images. Flattens the
pipeline, lists every transform augkit lacks in one error, then maps each
transform in order, refusing (with the reason) an order, parameter or input
dtype that would make augkit compute something else."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .common import _f32_equal, _fill, _interpolation, _name, _short, _symmetric, _v2
from .errors import NotEquivalentError, UnsupportedTransformError

# Stage ranks of augkit's fixed order. Flips (rank 1) may stand anywhere
# (see _FLIP_COMMUTES); everything else must come in this order.
_CROP, _FLIP, _AFFINE, _AUTO, _JITTER, _ERASE = 0, 1, 2, 3, 4, 6


class _Leaf:
    """One transform of the flattened pipeline with the probability that
    the RandomApply wrappers around it give it."""

    def __init__(self, t: Any, p: float) -> None:
        self.t, self.p = t, p


def _flatten(t: Any, p: float, out: List[_Leaf], unsupported: List[str]) -> None:
    import torch
    import torchvision.transforms as v1

    v2 = _v2()
    if isinstance(t, (v2.Compose, v1.Compose, torch.nn.Sequential)):
        items = t.transforms if hasattr(t, "transforms") else list(t)
        for child in items:
            _flatten(child, p, out, unsupported)
        return
    if isinstance(t, (v2.RandomApply, v1.RandomApply)):
        leaves: List[_Leaf] = []
        for child in t.transforms:
            _flatten(child, p * float(t.p), leaves, unsupported)
        real = [leaf for leaf in leaves if not isinstance(leaf.t, (v2.Identity, v2.ToPureTensor))]
        if len(real) > 1:
            raise NotEquivalentError(
                f"{_name(t)}: RandomApply applies {len(real)} transforms together on one coin; augkit "
                f"draws each technique's coin on its own (wrap each transform in its own RandomApply)",
                ["RandomApply"],
            )
        out.extend(leaves)
        return
    if isinstance(t, (v2.MixUp, v2.CutMix)):
        raise NotEquivalentError(
            f"{_name(t)}: MixUp/CutMix act on batches, after the per-sample pipeline; pass it as "
            f"from_torchvision(transform, mix=...)",
            [type(t).__name__],
        )
    if isinstance(t, v2.RandomChoice):
        if len(t.transforms) == 1:
            _flatten(t.transforms[0], p, out, unsupported)
            return
        if all(isinstance(c, (v2.MixUp, v2.CutMix)) for c in t.transforms):
            raise NotEquivalentError(
                f"{_name(t)}: MixUp/CutMix act on batches; pass it as from_torchvision(transform, mix=...)",
                ["RandomChoice"],
            )
        raise NotEquivalentError(
            f"{_name(t)}: augkit has no choice between per-sample transforms (it has one for "
            f"RandomChoice([MixUp, CutMix]), passed as mix=)",
            ["RandomChoice"],
        )
    known = (
        v2.RandomCrop, v2.RandomResizedCrop, v2.RandomHorizontalFlip, v2.RandomVerticalFlip,
        v2.RandomAffine, v2.RandomRotation, v2.ColorJitter, v2.TrivialAugmentWide, v2.RandAugment,
        v2.RandomErasing, v2.ToImage, v2.ToDtype, v2.Normalize, v2.ToPureTensor, v2.Identity,
    )
    if type(t) in known:
        out.append(_Leaf(t, p))
        return
    name = type(t).__name__ if not callable(t) or hasattr(t, "forward") else _name(t)
    if type(t).__module__.startswith("torchvision.transforms") and not type(t).__module__.startswith(
        "torchvision.transforms.v2"
    ):
        name += " (torchvision.transforms v1; use torchvision.transforms.v2)"
    elif not type(t).__module__.startswith("torchvision"):
        name = f"{type(t).__module__}.{type(t).__qualname__}" if hasattr(t, "forward") else _name(t)
    unsupported.append(name)


class _Builder:
    """Maps the flattened pipeline onto a policy dict, checking order and
    the input dtype at each transform."""

    def __init__(self, shape: Optional[Tuple[int, int, int]], allow_uint8_rounding: bool) -> None:
        self.shape = shape
        self.allow_uint8 = allow_uint8_rounding
        self.policy: Dict[str, Any] = {}
        self.float = False  # after ToDtype(float32, scale=True)
        self.normalised: Optional[Tuple[List[float], List[float]]] = None
        self.final_dtype = False  # after a trailing ToDtype(float16/bfloat16)
        self.seen: List[Tuple[int, str, Any]] = []  # (rank, name, transform) of techniques so far
        self.erasing: Optional[Tuple[Any, Dict[str, Any]]] = None

    def refuse(self, t: Any, reason: str) -> None:
        raise NotEquivalentError(f"{_name(t)}: {reason}", [type(t).__name__])

    def once(self, t: Any, key: str) -> None:
        if key in self.policy:
            self.refuse(t, f"a second transform for augkit's [{key}] (augkit has one per technique)")

    def order(self, t: Any, rank: int) -> None:
        """Refuses t when a technique that augkit runs after it came first,
        unless the two commute exactly (docs/PYTHON.md)."""
        for r, name, earlier in self.seen:
            if r <= rank:
                continue
            if r == _FLIP:
                why = self.flip_commutes_with(t)
                if why is None:
                    continue
                self.refuse(t, f"comes after {name}, which augkit runs after it: {why}")
            self.refuse(
                t,
                f"comes after {name}; augkit runs it before that (crop → flips → affine → "
                f"TrivialAugment/RandAugment → ColorJitter → Normalize → RandomErasing) and the two do not commute",
            )
        if self.normalised is not None and rank < _ERASE:
            self.refuse(t, "comes after Normalize; augkit transforms pixels before normalising them")
        if self.final_dtype:
            self.refuse(t, "comes after the final ToDtype(float16/bfloat16); augkit converts last")

    def flip_commutes_with(self, t: Any) -> Optional[str]:
        """None when a flip before t gives the same distribution as after
        it, else why not."""
        v2 = _v2()
        if isinstance(t, v2.RandomCrop):
            return None  # the pad is the same on every side, the offset uniform: mirror-symmetric
        if isinstance(t, v2.RandomResizedCrop):
            if _interpolation(t, t.interpolation) == "bilinear":
                return None  # box position uniform, bilinear resize mirror-symmetric
            return "a nearest resize picks ⌊·⌋ indices, which a mirror image does not reproduce"
        if isinstance(t, (v2.RandomAffine, v2.RandomRotation)):
            return None if _symmetric(*t.degrees) else "its rotation range is not symmetric about 0"
        if isinstance(t, v2.ColorJitter):
            return None  # pointwise ops; a flip keeps the contrast mean
        if isinstance(t, v2.RandomErasing):
            return None  # the box position is uniform over a mirror-symmetric range
        return "the two do not commute (augkit does not reorder a flip past it)"

    def dtype_check(self, t: Any, what: str) -> None:
        if not self.float and not self.allow_uint8:
            self.refuse(
                t,
                f"runs on uint8 images here ({what}), where torchvision rounds to uint8 after it; augkit "
                f"computes on floats (torchvision's float path). Put ToDtype(torch.float32, scale=True) "
                f"before it, or pass allow_uint8_rounding=True to accept the rounding difference "
                f"(docs/SEMANTICS.md §5, §10)",
            )

    def units(self, value: Optional[float]) -> float:
        """A fill in the image's units as augkit's [0, 1] pixel units."""
        if value is None:
            return 0.0
        return _short(value if self.float else value / 255.0)

    def add(self, leaf: _Leaf) -> None:
        v2 = _v2()
        t, p = leaf.t, leaf.p
        if isinstance(t, (v2.Identity, v2.ToPureTensor, v2.ToImage)):
            return
        if isinstance(t, (v2.ToDtype, v2.Normalize)) and p < 1.0:
            self.refuse(t, f"wrapped in RandomApply(p={p}); augkit converts and normalises every sample")
        if isinstance(t, v2.ToDtype):
            return self.to_dtype(t)
        if isinstance(t, v2.Normalize):
            return self.normalize(t)
        if isinstance(t, (v2.RandomHorizontalFlip, v2.RandomVerticalFlip)):
            key = "horizontal_flip" if isinstance(t, v2.RandomHorizontalFlip) else "vertical_flip"
            self.once(t, key)
            if self.final_dtype:
                self.refuse(t, "comes after the final ToDtype(float16/bfloat16); augkit converts last")
            for r, name, earlier in self.seen:
                why = self.flip_commutes_with(earlier) if r > _FLIP else None
                if why is not None:
                    self.refuse(t, f"comes after {name}, which augkit runs after flips: {why}")
            self.policy[key] = _short(float(t.p) * p)
            self.seen.append((_FLIP, type(t).__name__, t))
            return
        if isinstance(t, v2.RandomCrop):
            return self.crop_pad(t, p)
        if isinstance(t, v2.RandomResizedCrop):
            return self.crop_resized(t, p)
        if isinstance(t, (v2.RandomAffine, v2.RandomRotation)):
            return self.affine(t, p)
        if isinstance(t, (v2.TrivialAugmentWide, v2.RandAugment)):
            return self.auto(t, p)
        if isinstance(t, v2.ColorJitter):
            return self.jitter(t, p)
        if isinstance(t, v2.RandomErasing):
            return self.erase(t, p)
        raise AssertionError(f"unhandled {t!r}")  # _flatten lets only the above through

    def check_size(self, t: Any, size: Sequence[int]) -> None:
        if self.shape is not None and tuple(size) != tuple(self.shape[1:]):
            self.refuse(
                t,
                f"crops to {tuple(size)} but the images are {tuple(self.shape[1:])}; augkit crops back to "
                f"the input size",
            )

    def crop_pad(self, t: Any, p: float) -> None:
        self.once(t, "crop")
        self.order(t, _CROP)
        self.check_size(t, t.size)
        if t.padding is None:
            if self.shape is not None:
                return  # a crop of the whole image: the identity
            self.refuse(t, "without padding it only crops when the images are larger, and augkit keeps the size")
        pads = list(t.padding)
        if len(set(pads)) != 1:
            self.refuse(t, f"padding {pads} is not the same on every side (augkit pads p on all four)")
        if t.padding_mode != "constant":
            self.refuse(t, f"padding_mode {t.padding_mode!r}; augkit pads with zeros (constant, fill 0)")
        fill = _fill(t)
        if fill not in (None, 0.0):
            self.refuse(t, f"fill {fill}; augkit's crop padding is 0 (black)")
        self.policy["crop"] = {"kind": "pad", "padding": int(pads[0])}
        if p < 1.0:
            self.policy["crop"]["p"] = _short(p)
        self.seen.append((_CROP, "RandomCrop", t))

    def crop_resized(self, t: Any, p: float) -> None:
        self.once(t, "crop")
        self.order(t, _CROP)
        self.check_size(t, t.size)
        mode = _interpolation(t, t.interpolation)
        if mode == "bilinear":
            self.dtype_check(t, "a bilinear resize")
        crop: Dict[str, Any] = {"kind": "resized"}
        scale = [_short(v) for v in t.scale]
        ratio = [_short(v) for v in t.ratio]
        if scale != [0.08, 1.0]:
            crop["scale"] = scale
        if not (_f32_equal(ratio[0], 3 / 4) and _f32_equal(ratio[1], 4 / 3)):
            crop["ratio"] = ratio
        if mode != "bilinear":
            crop["interpolation"] = mode
        if p < 1.0:
            crop["p"] = _short(p)
        self.policy["crop"] = crop
        self.seen.append((_CROP, "RandomResizedCrop", t))

    def affine(self, t: Any, p: float) -> None:
        v2 = _v2()
        self.once(t, "affine")
        self.order(t, _AFFINE)
        if t.center is not None:
            self.refuse(t, "a center; augkit rotates and scales about the image centre")
        affine: Dict[str, Any] = {}
        lo, hi = (float(v) for v in t.degrees)
        if isinstance(t, v2.RandomRotation):
            if t.expand:
                self.refuse(t, "expand=True changes the image size; augkit keeps it")
            # F.rotate turns counter-clockwise, as augkit's angle.
            ccw = (lo, hi)
        else:
            shear = t.shear
            if shear is not None and any(float(s) != 0.0 for s in shear):
                self.refuse(t, f"shear {list(shear)}; augkit's affine has rotation, translation and scale only")
            # F.affine turns clockwise: its [lo, hi] is augkit's [−hi, −lo].
            ccw = (-hi, -lo)
            if t.translate is not None and any(float(v) != 0.0 for v in t.translate):
                affine["translate"] = [_short(v) for v in t.translate]
            if t.scale is not None and [float(v) for v in t.scale] != [1.0, 1.0]:
                affine["scale"] = [_short(v) for v in t.scale]
        if _symmetric(*ccw):
            if ccw[1] != 0.0:
                affine["degrees"] = _short(ccw[1])
        else:
            affine["degrees"] = [_short(ccw[0]), _short(ccw[1])]
        mode = _interpolation(t, t.interpolation)
        if mode == "nearest_exact":
            self.refuse(t, "NEAREST_EXACT is a resize's index rule; augkit's affine takes nearest or bilinear")
        if mode == "bilinear":
            self.dtype_check(t, "bilinear resampling")
            affine["interpolation"] = "bilinear"
        fill = _fill(t)
        if fill is None and mode == "bilinear":
            self.refuse(t, "fill=None with bilinear blends with zeros without torchvision's mask; give a number")
        fill = self.units(fill)
        if fill != 0.0:
            affine["fill"] = fill
        if p < 1.0:
            affine["p"] = _short(p)
        self.policy["affine"] = affine
        self.seen.append((_AFFINE, type(t).__name__, t))

    def auto(self, t: Any, p: float) -> None:
        v2 = _v2()
        if "trivial_augment" in self.policy or "rand_augment" in self.policy:
            self.refuse(t, "a second auto-augment transform (augkit runs one of TrivialAugmentWide, RandAugment)")
        self.order(t, _AUTO)
        if p < 1.0:
            self.refuse(t, f"wrapped in RandomApply(p={p}); augkit's auto ops run on every sample")
        self.dtype_check(t, "its ops")
        mode = _interpolation(t, t.interpolation)
        if mode == "nearest_exact":
            self.refuse(t, "NEAREST_EXACT is a resize's index rule; augkit's auto ops take nearest or bilinear")
        fill = _fill(t)
        if fill is None and mode == "bilinear":
            self.refuse(t, "fill=None with bilinear blends with zeros without torchvision's mask; give a number")
        section: Dict[str, Any] = {}
        if isinstance(t, v2.RandAugment):
            if not 1 <= t.num_ops <= 2:
                self.refuse(t, f"num_ops={t.num_ops}; augkit runs 1 or 2 ops per sample")
            section["num_ops"] = int(t.num_ops)
            section["magnitude"] = int(t.magnitude)
        if int(t.num_magnitude_bins) != 31:
            section["num_magnitude_bins"] = int(t.num_magnitude_bins)
        if mode != "nearest":
            section["interpolation"] = mode
        fill = self.units(fill)
        if fill != 0.0:
            section["fill"] = fill
        key = "rand_augment" if isinstance(t, v2.RandAugment) else "trivial_augment"
        self.policy[key] = section
        self.seen.append((_AUTO, type(t).__name__, t))

    def jitter(self, t: Any, p: float) -> None:
        self.once(t, "color_jitter")
        self.order(t, _JITTER)
        section: Dict[str, Any] = {}
        for key in ("brightness", "contrast", "saturation"):
            r = getattr(t, key)
            if r is None:
                continue
            lo, hi = float(r[0]), float(r[1])
            x = _short(hi - 1.0)
            section[key] = x if _f32_equal(lo, max(0.0, 1.0 - x)) else [_short(lo), _short(hi)]
        if t.hue is not None:
            lo, hi = float(t.hue[0]), float(t.hue[1])
            section["hue"] = _short(hi) if _symmetric(lo, hi) and hi >= 0 else [_short(lo), _short(hi)]
        if not section:
            return  # ColorJitter() changes nothing
        self.dtype_check(t, "its colour ops")
        if p < 1.0:
            section["p"] = _short(p)
        self.policy["color_jitter"] = section
        self.seen.append((_JITTER, "ColorJitter", t))

    def erase(self, t: Any, p: float) -> None:
        self.once(t, "erasing")
        self.order(t, _ERASE)
        section: Dict[str, Any] = {}
        if t.value is None:
            if not self.float:
                self.refuse(t, "value='random' on uint8 images; augkit's noise is N(0, 1) in output units")
            section["mode"] = "pixel"
            values = None
        else:
            values = [float(v) if self.float else float(v) / 255.0 for v in t.value]
        # The value reaches the output as it is when Normalize came first or
        # never comes, as (v − mean_c) / std_c when Normalize follows: known
        # only at the end (finish).
        self.erasing = (t, {"values": values, "normalised_first": self.normalised is not None})
        p_total = float(t.p) * p
        if not _f32_equal(p_total, 0.5):
            section["p"] = _short(p_total)
        scale = [_short(v) for v in t.scale]
        ratio = [_short(v) for v in t.ratio]
        if scale != [0.02, 0.33]:
            section["scale"] = scale
        if ratio != [0.3, 3.3]:
            section["ratio"] = ratio
        self.policy["erasing"] = section
        self.seen.append((_ERASE, "RandomErasing", t))

    def to_dtype(self, t: Any) -> None:
        import torch

        dtype = t.dtype
        if isinstance(dtype, dict):
            from torchvision import tv_tensors

            dtype = dtype.get(tv_tensors.Image, dtype.get("others"))
        if not self.float:
            if dtype != torch.float32 or not t.scale:
                self.refuse(
                    t,
                    "augkit converts the uint8 images with ToDtype(torch.float32, scale=True) (values in [0, 1]); "
                    "convert to float32 with scale=True first",
                )
            self.float = True
            return
        names = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}
        if dtype not in names:
            self.refuse(t, f"dtype {dtype}; augkit writes float32, float16 or bfloat16")
        if self.final_dtype:
            self.refuse(t, "a second conversion after the output dtype was set")
        if dtype != torch.float32:
            self.final_dtype = True
            self.policy.setdefault("output", {})["dtype"] = names[dtype]

    def normalize(self, t: Any) -> None:
        if not self.float:
            self.refuse(t, "comes before ToDtype(torch.float32, scale=True); augkit normalises [0, 1] floats")
        if self.normalised is not None:
            self.refuse(t, "a second Normalize")
        if self.final_dtype:
            self.refuse(t, "comes after the final ToDtype(float16/bfloat16); augkit normalises in float32")
        mean, std = [float(v) for v in t.mean], [float(v) for v in t.std]
        if self.shape is not None:
            c = self.shape[0]
            if len(mean) == 1:
                mean = mean * c
            if len(std) == 1:
                std = std * c
            if len(mean) != c or len(std) != c:
                self.refuse(t, f"mean/std of {len(mean)}/{len(std)} values for {c}-channel images")
        self.normalised = (mean, std)
        out = self.policy.setdefault("output", {})
        out["mean"] = [_short(v) for v in mean]
        out["std"] = [_short(v) for v in std]

    def finish(self, last: Any) -> Dict[str, Any]:
        if not self.float:
            raise NotEquivalentError(
                "the pipeline returns uint8 images; augkit writes floats: add "
                "ToImage(), ToDtype(torch.float32, scale=True) (and Normalize if you normalise)",
                ["ToDtype"],
            )
        if self.erasing is not None:
            t, info = self.erasing
            values = info["values"]
            follows = self.normalised is not None and not info["normalised_first"]
            if values is None:
                if follows:
                    self.refuse(
                        t,
                        "value='random' before Normalize: augkit's noise is N(0, 1) in output (normalised) "
                        "units; put RandomErasing after Normalize",
                    )
            else:
                mean, std = self.normalised if follows else ([0.0], [1.0])
                c = max(len(values), len(mean), len(std))
                pick = lambda xs, i: xs[i if len(xs) > 1 else 0]  # noqa: E731
                out = [(pick(values, i) - pick(mean, i)) / pick(std, i) for i in range(c)]
                if any(not math.isclose(o, out[0], rel_tol=1e-6, abs_tol=1e-7) for o in out):
                    where = "before Normalize, which makes it" if follows else "per channel:"
                    self.refuse(
                        t,
                        f"erases with {values} {where} {[_short(o) for o in out]} in output units; augkit "
                        f"writes one value in every channel" + (": put RandomErasing after Normalize" if follows else ""),
                    )
                if out[0] != 0.0:
                    self.policy["erasing"]["value"] = _short(out[0])
        return self.policy


def _mix_section(mix: Any, mode: Optional[str]) -> Optional[Dict[str, Any]]:
    v2 = _v2()
    modes = ("batch", "pair", "elem")
    if mode is not None and mode not in modes:
        raise ValueError(f"mix_mode must be one of {modes} or None, got {mode!r}")
    section: Dict[str, Any]
    kinds = (v2.MixUp, v2.CutMix)
    if isinstance(mix, kinds) or (
        isinstance(mix, v2.RandomChoice) and all(isinstance(c, kinds) for c in mix.transforms)
    ):
        choices = mix.transforms if isinstance(mix, v2.RandomChoice) else [mix]
        weights = mix.p if isinstance(mix, v2.RandomChoice) else [1.0]
        section = {}
        p_cut = 0.0
        for c, w in zip(choices, weights):
            key = "mixup_alpha" if isinstance(c, v2.MixUp) else "cutmix_alpha"
            if key in section:
                raise NotEquivalentError(
                    f"{_name(mix)}: two {type(c).__name__} choices; augkit has one mixup and one cutmix",
                    [type(c).__name__],
                )
            section[key] = _short(c.alpha)
            if isinstance(c, v2.CutMix):
                p_cut = float(w)
        if len(choices) == 2 and not _f32_equal(p_cut, 0.5):
            section["switch_prob"] = _short(p_cut)
        # torchvision draws one λ (and box) per batch.
        section["mode"] = mode or "batch"
        return section
    try:
        from timm.data import Mixup as TimmMixup
    except ImportError:  # pragma: no cover
        TimmMixup = None
    if TimmMixup is not None and type(mix) is TimmMixup:
        if mix.cutmix_minmax is not None:
            raise NotEquivalentError(
                f"timm Mixup: cutmix_minmax={mix.cutmix_minmax}; augkit's cutmix box follows λ (rand_bbox)",
                ["Mixup"],
            )
        if not mix.mixup_enabled or (mix.mixup_alpha <= 0 and mix.cutmix_alpha <= 0):
            return None
        section = {}
        if mix.mixup_alpha > 0:
            section["mixup_alpha"] = _short(mix.mixup_alpha)
        if mix.cutmix_alpha > 0:
            section["cutmix_alpha"] = _short(mix.cutmix_alpha)
        if not _f32_equal(mix.mix_prob, 1.0):
            section["prob"] = _short(mix.mix_prob)
        if not _f32_equal(mix.switch_prob, 0.5):
            section["switch_prob"] = _short(mix.switch_prob)
        if (mode or mix.mode) != "elem":
            section["mode"] = mode or mix.mode
        if not mix.correct_lam:
            section["correct_lambda"] = False
        if mix.label_smoothing:
            section["label_smoothing"] = _short(mix.label_smoothing)
        return section
    raise UnsupportedTransformError(
        f"mix={_name(mix)}: augkit takes v2.MixUp, v2.CutMix, RandomChoice([MixUp, CutMix]) or timm.data.Mixup",
        [type(mix).__name__],
    )


def from_torchvision(
    transform: Any,
    mix: Any = None,
    *,
    mix_mode: Optional[str] = None,
    image_shape: Optional[Sequence[int]] = None,
    allow_uint8_rounding: bool = False,
) -> Dict[str, Any]:
    """The augkit policy (a dict of the TOML's fields) that computes what
    ``transform`` computes on the same uint8 images, followed by ``mix``.

    Args:
        transform: a ``torchvision.transforms.v2`` transform or ``Compose``
            (nested ``Compose``, ``RandomApply``), fed the uint8 ``[C, H, W]``
            images augkit is given and returning float images (so it holds
            ``ToDtype(torch.float32, scale=True)``).
        mix: ``v2.MixUp``, ``v2.CutMix``, ``v2.RandomChoice([MixUp, CutMix],
            p)`` or a ``timm.data.Mixup``: the batch stage.
        mix_mode: ``"batch"`` (one λ per batch: torchvision's, the default
            for v2 objects), ``"pair"`` or ``"elem"`` (per sample); default:
            the object's own (timm's ``mode``).
        image_shape: ``(C, H, W)`` of the images; when given, crop sizes and
            ``Normalize``'s channel count are checked against it (``Augmenter``
            passes it).
        allow_uint8_rounding: accept colour, auto-augment and bilinear
            geometry transforms that torchvision would run on uint8 images
            (rounding after each); augkit computes them on floats.

    Raises:
        UnsupportedTransformError: transforms augkit has no equivalent for
            (all of them, in ``err.transforms``).
        NotEquivalentError: a transform whose parameters or position would
            give a different function, named with the reason.

    A pipeline without ``Normalize`` gives a policy without ``output.mean``
    and ``output.std``: run it with ``Augmenter(..., normalise=False)`` for
    torchvision's [0, 1] output (``Augmenter(policy=transform)`` does).
    """
    shape = None if image_shape is None else tuple(int(v) for v in image_shape)
    if shape is not None and len(shape) != 3:
        raise ValueError(f"image_shape must be (C, H, W), got {image_shape!r}")
    leaves: List[_Leaf] = []
    unsupported: List[str] = []
    _flatten(transform, 1.0, leaves, unsupported)
    if unsupported:
        raise UnsupportedTransformError(
            f"augkit has no equivalent for {len(unsupported)} transform(s) of this pipeline: "
            + "; ".join(unsupported),
            unsupported,
        )
    builder = _Builder(shape, allow_uint8_rounding)
    for leaf in leaves:
        builder.add(leaf)
    policy = builder.finish(transform)
    if mix is not None:
        section = _mix_section(mix, mix_mode)
        if section is not None:
            policy["mix"] = section
    elif mix_mode is not None:
        raise ValueError("mix_mode without mix")
    return policy
