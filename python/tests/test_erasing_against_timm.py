"""Random erasing (`[erasing]`, docs/SEMANTICS.md §11) against timm 1.0.31's
`RandomErasing`, through `augkit dump` (the CPU reference) on the generated
3×32×32 `synthetic-shapes` data:

(a) given the dumped boxes, the erased batch equals the same batch without
    `[erasing]` outside the boxes (bit for bit) and holds the mode's values
    inside them: const = `value`, channel = one constant per box and
    channel, pixel = values with mean ≈ 0 and std ≈ 1;
(b) the boxes (area fraction, aspect ratio h/w, boxes placed per image)
    follow the distribution of timm's own sampler run here on as many
    images: two-sample Kolmogorov–Smirnov at α = 0.001 and box-count
    frequencies within 0.04.

Needs the harness binary (AUGKIT_HARNESS_BIN, else target/release/augkit or
target/debug/augkit) and timm; skips with a printed reason when either is
missing, and fails instead under AUGKIT_REQUIRE_HARNESS=1 (scripts/test sets
it; scripts/setup-python installs timm)."""

import json
import math
import pathlib
import subprocess

import numpy as np
import pytest

import conftest
from conftest import ROOT

H = W = 32


def missing(reason: str):
    conftest.missing_or_fail("erasing against timm", reason)


def harness_binary() -> pathlib.Path:
    return conftest.harness_binary(missing)


def dump(tmp: pathlib.Path, name: str, policy: str, batch: int, seed: int = 3):
    """`augkit dump` of `policy`: (images B×C×H×W f32, per-sample params)."""
    path = tmp / f"{name}.toml"
    path.write_text(policy)
    out = tmp / name
    out.mkdir()
    cmd = [
        str(harness_binary()), "dump", "--dataset", "synthetic-shapes", "--policy", str(path),
        "--out", str(out), "--batch", str(batch), "--seed", str(seed),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"augkit dump failed: {done.stderr[-2000:]}"
    images = np.load(out / "images.npy")
    samples = json.loads((out / "params.json").read_text())["samples"]
    assert "erase_boxes" in samples[0], "this harness binary predates erase_boxes in params.json"
    return images, samples


def last_box_map(sample) -> np.ndarray:
    """Per pixel, the index of the last box containing it (-1: none)."""
    owner = np.full((H, W), -1)
    for b, (x0, y0, x1, y1) in enumerate(sample["erase_boxes"][: sample["erase_count"]]):
        owner[y0:y1, x0:x1] = b
    return owner


BASE = 'horizontal_flip = 0.5\n[crop]\nkind = "pad"\npadding = 4\n'


@pytest.mark.parametrize("mode", ["const", "channel", "pixel"])
def test_erased_pixels_given_the_dumped_boxes(tmp_path, mode):
    value = "value = 0.75\n" if mode == "const" else ""
    erasing = f'[erasing]\np = 0.9\nmode = "{mode}"\n{value}count = [1, 3]\n'
    plain, _ = dump(tmp_path, "plain", BASE, 64)
    erased, samples = dump(tmp_path, "erased", BASE + erasing, 64)
    assert plain.shape == erased.shape == (64, 3, H, W)
    pixel_values = []
    n_erased = 0
    for i, s in enumerate(samples):
        owner = last_box_map(s)
        inside = owner >= 0
        n_erased += int(s["erase_count"] > 0)
        # Outside every box the batch is the un-erased one, exactly.
        np.testing.assert_array_equal(erased[i][:, ~inside], plain[i][:, ~inside])
        for b in range(s["erase_count"]):
            region = erased[i][:, owner == b]  # C × pixels where box b is last
            if region.size == 0:
                continue
            if mode == "const":
                np.testing.assert_allclose(region, 0.75, atol=1e-5)
            elif mode == "channel":
                spread = region.max(axis=1) - region.min(axis=1)
                assert (spread < 1e-5).all(), f"sample {i} box {b}: not one value per channel"
            else:
                pixel_values.append(region.ravel())
    assert n_erased >= 45, f"p = 0.9 erased only {n_erased} of 64"
    if mode == "pixel":
        v = np.concatenate(pixel_values).astype(np.float64)
        print(f"pixel mode: {v.size} values, mean {v.mean():.4f}, std {v.std():.4f}")
        assert v.size > 5000
        assert abs(v.mean()) < 0.05 and abs(v.std() - 1.0) < 0.05
        # Not one value per box: the values vary inside a box.
        assert np.unique(np.round(v, 4)).size > v.size // 2


def timm_boxes(n_images: int, count: tuple[int, int], scale, ratio, seed: int = 0):
    """timm's RandomErasing._erase on n 3×32×32 images: per image the (h, w)
    of each box it writes, read from the patch size timm asks pixels for."""
    import random

    import torch
    from timm.data import random_erasing as timm_re

    sizes = []
    real = timm_re._get_pixels

    def spy(per_pixel, rand_color, patch_size, dtype=torch.float32, device="cpu"):
        sizes[-1].append((patch_size[1], patch_size[2]))
        return real(per_pixel, rand_color, patch_size, dtype=dtype, device=device)

    re = timm_re.RandomErasing(
        probability=1.0, min_area=scale[0], max_area=scale[1], min_aspect=ratio[0],
        max_aspect=ratio[1], mode="const", min_count=count[0], max_count=count[1], device="cpu",
    )
    random.seed(seed)
    timm_re._get_pixels = spy
    try:
        img = torch.zeros(3, H, W)
        for _ in range(n_images):
            sizes.append([])
            re(img)
    finally:
        timm_re._get_pixels = real
    return sizes


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov D (largest gap of the two ECDFs)."""
    grid = np.union1d(a, b)
    fa = np.searchsorted(np.sort(a), grid, side="right") / a.size
    fb = np.searchsorted(np.sort(b), grid, side="right") / b.size
    return float(np.abs(fa - fb).max())


def ks_bound(n: int, m: int, alpha: float = 1e-3) -> float:
    return math.sqrt(-0.5 * math.log(alpha / 2)) * math.sqrt((n + m) / (n * m))


@pytest.mark.parametrize("count", [(1, 1), (1, 4)])
def test_box_distribution_matches_timm(tmp_path, count):
    scale, ratio, n = (0.02, 0.33), (0.3, 3.3), 2000
    text = (
        f"[erasing]\np = 1.0\nscale = [{scale[0]}, {scale[1]}]\nratio = [{ratio[0]}, {ratio[1]}]\n"
        f"count = [{count[0]}, {count[1]}]\n"
    )
    _, samples = dump(tmp_path, "boxes", text, n)
    ours = [
        [(y1 - y0, x1 - x0) for x0, y0, x1, y1 in s["erase_boxes"][: s["erase_count"]]]
        for s in samples
    ]
    for s in samples:
        for x0, y0, x1, y1 in s["erase_boxes"][: s["erase_count"]]:
            assert 0 <= x0 <= x1 <= W and 0 <= y0 <= y1 <= H
            assert x1 - x0 < W and y1 - y0 < H
    theirs = timm_boxes(n, count, scale, ratio)

    def features(per_image):
        boxes = [hw for image in per_image for hw in image]
        area = np.array([h * w / (H * W) for h, w in boxes])
        aspect = np.array([math.log(h / w) for h, w in boxes if h > 0 and w > 0])
        placed = np.array([len(image) for image in per_image])
        return area, aspect, placed

    (a1, r1, c1), (a2, r2, c2) = features(ours), features(theirs)
    for what, x, y in [("area fraction", a1, a2), ("log aspect h/w", r1, r2)]:
        d, bound = ks_statistic(x, y), ks_bound(x.size, y.size)
        print(f"count {count} {what}: KS D = {d:.4f} (bound {bound:.4f}); medians {np.median(x):.4f} vs {np.median(y):.4f}")
        assert d < bound, f"{what}: augkit's boxes differ from timm's (D = {d:.4f} ≥ {bound:.4f})"
    for k in range(0, count[1] + 1):
        f1, f2 = (c1 == k).mean(), (c2 == k).mean()
        print(f"count {count}: {k} boxes placed in {f1:.3f} (augkit) vs {f2:.3f} (timm) of images")
        assert abs(f1 - f2) < 0.04, f"{k} boxes: {f1:.3f} vs {f2:.3f}"
