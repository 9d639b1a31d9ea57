"""TrivialAugment-Wide and RandAugment against torchvision itself
(docs/SEMANTICS.md §10). `augkit dump` writes a batch of the CPU reference
(policy: only the auto ops, f32, mean 0 and std 1, so the output is the
pixel in [0, 1]) and each sample's ops and magnitudes; the same batch dumped
with the identity policy gives the source images. Each sample is re-run
through torchvision's own `_apply_image_or_video_transform` (the dispatch
`TrivialAugmentWide` / `RandAugment` use: `torchvision.transforms.v2.functional`
ops on the float image) and max |Δ| is reported per op.

Bounds: one 8-bit step (1/255) per op, except pixels of the nearest
geometry ops whose sampling point lies within 1e-3 px of a pixel edge
(augkit taps ⌊j⌋ in f32, torch `round(j − ½)` through normalised grids in
f32: either side is right; such pixels are counted and printed), and
RandAugment chains of two geometry ops (one resampling in augkit, two in
torchvision: reported, not bounded). Also printed: the difference from
torchvision's uint8 path, which augkit does not follow.

Needs the harness binary (as test_training.py) and torchvision; skips with
a printed reason, or fails under AUGKIT_REQUIRE_HARNESS=1.
Run: AUGKIT_HARNESS_BIN=target/debug/augkit python -m pytest -s python/tests/test_torchvision_auto_ops.py"""

import json
import os
import pathlib
import subprocess
from collections import defaultdict

import numpy as np
import pytest
import torch

import conftest
from conftest import ROOT

ONE_STEP = 1.0 / 255.0
EDGE = 1e-3
GEOMETRY = {"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"}
FASHION = pathlib.Path(os.environ.get("AUGKIT_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))


def missing(reason: str):
    conftest.missing_or_fail("torchvision auto-op exactness", reason)


def harness_binary() -> pathlib.Path:
    return conftest.harness_binary(missing)


def torchvision_or_missing():
    try:
        import torchvision  # noqa: F401
        from torchvision.transforms import v2
    except ImportError as e:
        missing(f"torchvision is not importable ({e}; scripts/setup-python installs it)")
    return v2


def dump(tmp: pathlib.Path, name: str, dataset: str, section: str, channels: int, batch: int, seed: int):
    """Runs `augkit dump`; returns (images [B, C, H, W] float32, samples)."""
    policy = tmp / f"{name}.toml"
    zeros, ones = ", ".join(["0.0"] * channels), ", ".join(["1.0"] * channels)
    policy.write_text(f"{section}\n[output]\nmean = [{zeros}]\nstd = [{ones}]\n")
    out = tmp / name
    cmd = [str(harness_binary()), "dump", "--dataset", dataset, "--data-dir", str(FASHION),
           "--policy", str(policy), "--out", str(out), "--batch", str(batch), "--seed", str(seed)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"augkit dump failed: {done.stderr[-2000:]}"
    images = np.load(out / "images.npy")
    samples = json.loads((out / "params.json").read_text())["samples"]
    return images, samples


def edge_pixels(affine, h: int, w: int) -> np.ndarray:
    """Pixels whose auto-geometry sampling point lies within EDGE of a pixel edge."""
    a = np.asarray(affine, dtype=np.float64)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    jx = a[0] * x + a[1] * y + a[2]
    jy = a[3] * x + a[4] * y + a[5]
    near = lambda v: np.abs(v - np.round(v)) < EDGE  # noqa: E731
    return near(jx) | near(jy)


def torchvision_chain(v2, transform, image: torch.Tensor, names, magnitudes):
    from torchvision import tv_tensors

    img = tv_tensors.Image(image)
    for name, m in zip(names, magnitudes):
        img = transform._apply_image_or_video_transform(
            img, name, float(m), interpolation=transform.interpolation, fill=transform._fill
        )
    return img.as_subclass(torch.Tensor)


def compare(tmp, v2, *, name, dataset, channels, section, transform, batch, seed=0):
    """Per op (or op chain): max |Δ| float path, edge pixels excused, uint8
    path (with the fill scaled to 0..255, torchvision's fill being in the
    image's own units)."""
    transform8 = type(transform)(**{**transform_args(transform), "fill": transform.fill * 255.0})
    ours, samples = dump(tmp, name, dataset, section, channels, batch, seed)
    source, plain = dump(tmp, name + "_source", dataset, "", channels, batch, seed)
    stats = defaultdict(lambda: {"n": 0, "max": 0.0, "excused": 0, "pixels": 0, "over": 0, "sum": 0.0, "uint8": 0.0})
    _, _, h, w = ours.shape
    for i, (s, p) in enumerate(zip(samples, plain)):
        assert s["dataset_index"] == p["dataset_index"], "the two dumps drew different images"
        names = s["auto_op_names"]
        mags = s["auto_magnitudes"][: len(names)]
        src = torch.from_numpy(source[i].copy())
        theirs = torchvision_chain(v2, transform, src, names, mags).numpy()
        diff = np.abs(theirs - ours[i]).max(axis=0)
        key = "+".join(names)
        geometry = [n for n in names if n in GEOMETRY]
        excused = np.zeros_like(diff, dtype=bool)
        if geometry and transform.interpolation == v2.InterpolationMode.NEAREST and len(geometry) == 1:
            excused = edge_pixels(s["auto_affine"], h, w)
        st = stats[key]
        st["n"] += 1
        st["pixels"] += diff.size
        st["excused"] += int((excused & (diff > ONE_STEP)).sum())
        st["over"] += int((diff > ONE_STEP).sum())
        st["sum"] += float(diff.sum())
        st["max"] = max(st["max"], float(diff[~excused].max()) if (~excused).any() else 0.0)
        src8 = torch.from_numpy(np.rint(source[i] * 255.0).astype(np.uint8))
        theirs8 = torchvision_chain(v2, transform8, src8, names, mags).numpy().astype(np.float32) / 255.0
        st["uint8"] = max(st["uint8"], float(np.abs(theirs8 - ours[i]).max()))
    print(f"\n{name}: {dataset}, {channels} channel(s), {batch} samples, {section.splitlines()[0]}")
    print(f"{'ops':32} {'n':>4} {'max|Δ| float':>13} {'excused':>8} {'>1/255':>8} {'mean|Δ|':>9} {'max|Δ| uint8':>13}")
    for key in sorted(stats):
        st = stats[key]
        over = st["over"] / st["pixels"]
        mean = st["sum"] / st["pixels"]
        print(f"{key:32} {st['n']:4d} {st['max']:13.3g} {st['excused']:8d} {over:8.2%} {mean:9.2g} {st['uint8']:13.3g}")
    return stats


def transform_args(transform):
    args = {"interpolation": transform.interpolation, "fill": transform.fill}
    if hasattr(transform, "num_ops"):
        args.update(num_ops=transform.num_ops, magnitude=transform.magnitude)
    return args


def bounded(stats, allow=lambda key: True):
    bad = {k: v["max"] for k, v in stats.items() if allow(k) and v["max"] > ONE_STEP}
    assert not bad, f"beyond one 8-bit step: {bad}"


@pytest.mark.parametrize(
    "interpolation,fill",
    [("nearest", 0.0), ("bilinear", 0.5)],
)
def test_trivial_augment_wide_matches_torchvision_rgb(tmp_path, interpolation, fill):
    v2 = torchvision_or_missing()
    mode = getattr(v2.InterpolationMode, interpolation.upper())
    transform = v2.TrivialAugmentWide(interpolation=mode, fill=fill)
    section = f'[trivial_augment]\ninterpolation = "{interpolation}"\nfill = {fill}'
    stats = compare(tmp_path, v2, name=f"ta_{interpolation}", dataset="synthetic-shapes", channels=3,
                    section=section, transform=transform, batch=700)
    assert len(stats) == 14, f"every op drawn: {sorted(stats)}"
    bounded(stats)


def test_trivial_augment_matches_torchvision_gray(tmp_path):
    v2 = torchvision_or_missing()
    if not (FASHION / "train-images-idx3-ubyte.gz").is_file():
        missing(f"no Fashion-MNIST in {FASHION} (apt-get install dataset-fashion-mnist)")
    transform = v2.TrivialAugmentWide(fill=0.0)
    stats = compare(tmp_path, v2, name="ta_gray", dataset="fashion-mnist", channels=1,
                    section="[trivial_augment]", transform=transform, batch=500)
    assert len(stats) == 14
    bounded(stats)


def test_rand_augment_chains_against_torchvision(tmp_path):
    v2 = torchvision_or_missing()
    transform = v2.RandAugment(num_ops=2, magnitude=9, fill=0.0)
    stats = compare(tmp_path, v2, name="ra", dataset="synthetic-shapes", channels=3,
                    section="[rand_augment]\nnum_ops = 2\nmagnitude = 9", transform=transform, batch=700)
    two_geometry = lambda k: sum(n in GEOMETRY for n in k.split("+")) == 2  # noqa: E731
    folded = [v for k, v in stats.items() if two_geometry(k)]
    pixels = sum(v["pixels"] for v in folded)
    print(
        f"two geometry ops (folded into one resampling): {sum(v['n'] for v in folded)} samples, "
        f"max |Δ| {max((v['max'] for v in folded), default=0):.3g}, "
        f"{sum(v['over'] for v in folded) / max(pixels, 1):.2%} of pixels beyond 1/255, "
        f"mean |Δ| {sum(v['sum'] for v in folded) / max(pixels, 1):.3g}"
    )
    bounded(stats, allow=lambda k: not two_geometry(k))


def test_the_magnitude_tables_file_is_torchs():
    """tests/data/auto_magnitudes.txt (read by tests/cpu_auto_ops.rs) equals
    what torch computes here."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tables", pathlib.Path(__file__).with_name("auto_magnitude_tables.py"))
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    committed = (ROOT / "tests" / "data" / "auto_magnitudes.txt").read_text()
    assert tables.text() == committed, "torch's tables differ from the committed file (CPU without FMA?)"
