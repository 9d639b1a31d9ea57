"""``to_torchvision``: an augkit policy as a ``torchvision.transforms.v2``
pipeline for uint8 images plus its batch stage (v2 ``MixUp``/``CutMix`` or
timm's ``Mixup``), refusing the sections torchvision has no form for."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .common import _v2
from .errors import NotEquivalentError

_SECTION_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "trivial_augment": {"wide": True, "num_magnitude_bins": 31, "interpolation": "nearest", "fill": 0.0},
    "rand_augment": {"num_ops": 2, "magnitude": 9, "num_magnitude_bins": 31, "interpolation": "nearest", "fill": 0.0},
    "erasing": {"p": 0.5, "scale": [0.02, 0.33], "ratio": [0.3, 3.3], "mode": "const", "value": 0.0, "count": 1},
    "affine": {"p": 1.0, "degrees": 0.0, "translate": [0.0, 0.0], "translate_mode": "whole_pixels",
               "scale": [1.0, 1.0], "interpolation": "nearest", "fill": 0.0},
    "color_jitter": {"p": 1.0, "brightness": None, "contrast": None, "saturation": None, "hue": None,
                     "contrast_mean": "exact"},
    "mix": {"mixup_alpha": 0.0, "cutmix_alpha": 0.0, "prob": 1.0, "switch_prob": 0.5, "mode": "elem",
            "correct_lambda": True, "label_smoothing": 0.0},
    "output": {"mean": [], "std": [], "dtype": "f32", "layout": "nchw"},
}


def _load_policy(policy: Any) -> Dict[str, Any]:
    if isinstance(policy, Mapping):
        return dict(policy)
    if policy is None:
        return {}
    text = None
    if isinstance(policy, os.PathLike) or (
        isinstance(policy, str) and "\n" not in policy and "=" not in policy and os.path.isfile(policy)
    ):
        path = os.fspath(policy)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.endswith(".json"):
            import json

            return json.loads(text)
    elif isinstance(policy, str):
        text = policy
    else:
        raise TypeError(f"policy must be a path, a dict or a TOML string, got {type(policy).__name__}")
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(text)


def _section(policy: Mapping[str, Any], key: str) -> Dict[str, Any]:
    given = policy[key]
    unknown = set(given) - set(_SECTION_DEFAULTS[key])
    if unknown:
        raise ValueError(f"policy [{key}] has unknown fields {sorted(unknown)}")
    return {**_SECTION_DEFAULTS[key], **given}


def _mode(name: str):
    from torchvision.transforms import InterpolationMode

    return {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR,
            "nearest_exact": InterpolationMode.NEAREST_EXACT}[name]


def _pair(x: Any) -> Tuple[float, float]:
    return (float(x[0]), float(x[1]))


def to_torchvision(
    policy: Any, *, image_size: Optional[Sequence[int]] = None, num_classes: Optional[int] = None
) -> Tuple[Any, Any]:
    """The torchvision form of an augkit policy: ``(transform, mix)``, where
    ``transform`` is a ``v2.Compose`` for uint8 ``[C, H, W]`` images and
    ``mix`` the batch stage (``None`` without ``[mix]``; v2 ``MixUp``/``CutMix``
    for one λ per batch, else ``timm.data.Mixup``, which needs
    ``num_classes``). A ``[crop]`` needs ``image_size=(H, W)`` (torchvision's
    crops name their size). ``from_torchvision(*to_torchvision(p))`` gives
    ``p`` back. Raises ``NotEquivalentError`` naming the policy sections that have
    no torchvision form (synthetic samples, the source contrast mean,
    continuous translation, erasing with several boxes or per-channel noise,
    TrivialAugment's non-wide space, NHWC output)."""
    import torch

    v2 = _v2()
    p = _load_policy(policy)
    known = {"crop", "horizontal_flip", "vertical_flip", "affine", "color_jitter", "mix", "synthetic",
             "trivial_augment", "rand_augment", "erasing", "output"}
    unknown = set(p) - known
    if unknown:
        raise ValueError(f"policy has unknown fields {sorted(unknown)}")
    refused: List[Tuple[str, str]] = []
    steps: List[Any] = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]

    def maybe(t: Any, prob: float) -> Any:
        return t if prob >= 1.0 else v2.RandomApply([t], p=prob)

    if "synthetic" in p:
        refused.append(("synthetic", "synthetic samples are generated from the training set; torchvision has none"))
    crop = p.get("crop")
    if crop is not None:
        if image_size is None:
            raise TypeError("to_torchvision needs image_size=(H, W) for the policy's [crop] (torchvision's crops name "
                            "their size; augkit's crop back to the input size)")
        h, w = (int(v) for v in image_size)
        kind = crop.get("kind")
        if kind == "pad":
            t = v2.RandomCrop((h, w), padding=int(crop["padding"]))
        elif kind == "resized":
            t = v2.RandomResizedCrop((h, w), scale=_pair(crop.get("scale", (0.08, 1.0))),
                                     ratio=_pair(crop.get("ratio", (3 / 4, 4 / 3))),
                                     interpolation=_mode(crop.get("interpolation", "bilinear")), antialias=True)
        else:
            raise ValueError(f"policy crop.kind {kind!r}")
        steps.append(maybe(t, float(crop.get("p", 1.0))))
    if p.get("horizontal_flip", 0.0):
        steps.append(v2.RandomHorizontalFlip(p=float(p["horizontal_flip"])))
    if p.get("vertical_flip", 0.0):
        steps.append(v2.RandomVerticalFlip(p=float(p["vertical_flip"])))
    if "affine" in p:
        a = _section(p, "affine")
        if a["translate_mode"] != "whole_pixels":
            refused.append(("affine", "translate_mode = \"continuous\"; torchvision translates by whole pixels"))
        d = a["degrees"]
        lo, hi = (-float(d), float(d)) if not isinstance(d, (list, tuple)) else _pair(d)
        interp = _mode(a["interpolation"])
        if [float(v) for v in a["translate"]] == [0.0, 0.0] and [float(v) for v in a["scale"]] == [1.0, 1.0]:
            t = v2.RandomRotation(degrees=(lo, hi), interpolation=interp, fill=float(a["fill"]))
        else:
            translate = None if [float(v) for v in a["translate"]] == [0.0, 0.0] else _pair(a["translate"])
            scale = None if [float(v) for v in a["scale"]] == [1.0, 1.0] else _pair(a["scale"])
            t = v2.RandomAffine(degrees=(-hi, -lo), translate=translate, scale=scale, interpolation=interp,
                                fill=float(a["fill"]))
        steps.append(maybe(t, float(a["p"])))
    if "trivial_augment" in p:
        s = _section(p, "trivial_augment")
        if not s["wide"]:
            refused.append(("trivial_augment", "wide = false (RandAugment's space); torchvision's TrivialAugment is "
                                               "TrivialAugmentWide only"))
        steps.append(v2.TrivialAugmentWide(num_magnitude_bins=int(s["num_magnitude_bins"]),
                                           interpolation=_mode(s["interpolation"]), fill=float(s["fill"])))
    if "rand_augment" in p:
        s = _section(p, "rand_augment")
        steps.append(v2.RandAugment(num_ops=int(s["num_ops"]), magnitude=int(s["magnitude"]),
                                    num_magnitude_bins=int(s["num_magnitude_bins"]),
                                    interpolation=_mode(s["interpolation"]), fill=float(s["fill"])))
    if "color_jitter" in p:
        j = _section(p, "color_jitter")
        if j["contrast_mean"] != "exact":
            refused.append(("color_jitter", "contrast_mean = \"source\"; torchvision takes the exact mean"))
        args = {k: (tuple(float(x) for x in j[k]) if isinstance(j[k], (list, tuple)) else float(j[k]))
                for k in ("brightness", "contrast", "saturation", "hue") if j[k] is not None}
        if args:
            steps.append(maybe(v2.ColorJitter(**args), float(j["p"])))
    out = _section(p, "output") if "output" in p else dict(_SECTION_DEFAULTS["output"])
    if out["layout"] != "nchw":
        refused.append(("output", "layout = \"nhwc\"; torchvision's transforms return CHW tensors"))
    if bool(out["mean"]) != bool(out["std"]):
        refused.append(("output", "only one of mean and std; Normalize takes both"))
    elif out["mean"]:
        steps.append(v2.Normalize(mean=[float(v) for v in out["mean"]], std=[float(v) for v in out["std"]]))
    if "erasing" in p:
        e = _section(p, "erasing")
        if e["count"] != 1 and e["count"] != [1, 1]:
            refused.append(("erasing", f"count = {e['count']}; torchvision's RandomErasing erases one box"))
        if e["mode"] == "channel":
            refused.append(("erasing", "mode = \"channel\" (timm's \"rand\"); torchvision has const and per-pixel"))
        value = "random" if e["mode"] == "pixel" else float(e["value"])
        steps.append(v2.RandomErasing(p=float(e["p"]), scale=_pair(e["scale"]), ratio=_pair(e["ratio"]), value=value))
    dtypes = {"f32": None, "f16": torch.float16, "bf16": torch.bfloat16}
    if dtypes.get(out["dtype"]) is not None:
        steps.append(v2.ToDtype(dtypes[out["dtype"]]))
    mix = None
    if "mix" in p:
        m = _section(p, "mix")
        mixup, cutmix = float(m["mixup_alpha"]), float(m["cutmix_alpha"])
        if mixup > 0 or cutmix > 0:
            if num_classes is None:
                raise TypeError("to_torchvision needs num_classes= for the policy's [mix] (one-hot targets)")
            if m["mode"] == "batch" and float(m["prob"]) == 1.0 and m["correct_lambda"] and not float(m["label_smoothing"]):
                parts = []
                if mixup > 0:
                    parts.append(v2.MixUp(alpha=mixup, num_classes=num_classes))
                if cutmix > 0:
                    parts.append(v2.CutMix(alpha=cutmix, num_classes=num_classes))
                sp = float(m["switch_prob"])
                mix = parts[0] if len(parts) == 1 else v2.RandomChoice(parts, p=[1.0 - sp, sp])
                if len(parts) == 2 and not 0.0 < sp < 1.0:
                    refused.append(("mix", f"switch_prob = {sp} with both on; use one of mixup_alpha, cutmix_alpha"))
            else:
                from timm.data import Mixup as TimmMixup

                mix = TimmMixup(mixup_alpha=mixup, cutmix_alpha=cutmix, prob=float(m["prob"]),
                                switch_prob=float(m["switch_prob"]), mode=m["mode"],
                                correct_lam=bool(m["correct_lambda"]),
                                label_smoothing=float(m["label_smoothing"]), num_classes=num_classes)
    if refused:
        raise NotEquivalentError(
            "no torchvision form for: " + "; ".join(f"[{k}] {why}" for k, why in refused),
            [k for k, _ in refused],
        )
    return v2.Compose(steps), mix
