"""augkit's resized crop against torchvision itself: `augkit dump` writes a
batch (CPU reference, f32, mean 0 and std 1, so the values are pixel units)
with each sample's window (the crop box) and flip flags; each sample is
rebuilt with `torchvision.transforms.v2.functional.resized_crop` (+
`horizontal_flip`) on the source image (u8 / 255) and compared: bilinear
within 1e-5 (antialias=True, as RandomResizedCrop), nearest and
nearest_exact exactly. Data: a non-square 1-channel IDX set written here,
the 3-channel synthetic-shapes set, and Fashion-MNIST when installed.

The source images of synthetic-shapes come from a second dump with the
identity policy (the same seed gives the same dataset indices, and
identity writes u8 / 255 exactly).

Needs the harness binary (AUGKIT_HARNESS_BIN, else target/release/augkit or
target/debug/augkit); skips with a printed reason when it is missing, and
fails instead under AUGKIT_REQUIRE_HARNESS=1 (scripts/test sets it)."""

import gzip
import json
import os
import pathlib
import struct
import subprocess

import numpy as np
import pytest
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

import conftest
from conftest import ROOT

FASHION = pathlib.Path(os.environ.get("AUGKIT_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
HFLIP, VFLIP, CROPPED = 1, 2, 4
MODES = {
    "bilinear": InterpolationMode.BILINEAR,
    "nearest": InterpolationMode.NEAREST,
    "nearest_exact": InterpolationMode.NEAREST_EXACT,
}
# Largest |Δ| allowed per interpolation (the acceptance).
TOLERANCE = {"bilinear": 1e-5, "nearest": 0.0, "nearest_exact": 0.0}


def missing(reason: str):
    conftest.missing_or_fail("torchvision resized-crop check", reason)


def harness_binary() -> pathlib.Path:
    return conftest.harness_binary(missing)


def write_idx(directory: pathlib.Path, images: np.ndarray, labels: np.ndarray) -> None:
    """A Fashion-MNIST-style IDX directory (train and t10k the same images)."""
    n, h, w = images.shape
    image_bytes = struct.pack(">IIII", 0x803, n, h, w) + images.astype(np.uint8).tobytes()
    label_bytes = struct.pack(">II", 0x801, n) + labels.astype(np.uint8).tobytes()
    for split in ("train", "t10k"):
        (directory / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(image_bytes))
        (directory / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(label_bytes))


def dump(tmp: pathlib.Path, name: str, dataset: str, data_dir: pathlib.Path, policy: str, batch: int, seed: int):
    """Runs `augkit dump` and returns (images [B, C, H, W] f32, samples)."""
    policy_file = tmp / f"{name}.toml"
    policy_file.write_text(policy)
    out = tmp / name
    out.mkdir()
    cmd = [
        str(harness_binary()), "dump", "--dataset", dataset, "--data-dir", str(data_dir),
        "--policy", str(policy_file), "--out", str(out), "--batch", str(batch), "--seed", str(seed),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"augkit dump failed: {done.stderr[-2000:]}"
    images = np.load(out / "images.npy")
    samples = json.loads((out / "params.json").read_text())["samples"]
    return torch.from_numpy(images), samples


def output(channels: int) -> str:
    ones = ", ".join(["1.0"] * channels)
    zeros = ", ".join(["0.0"] * channels)
    return f'[output]\nmean = [{zeros}]\nstd = [{ones}]\ndtype = "f32"\nlayout = "nchw"\n'


def resized_policy(mode: str, channels: int) -> str:
    return (
        "horizontal_flip = 0.5\nvertical_flip = 0.3\n"
        f'[crop]\nkind = "resized"\nscale = [0.08, 1.0]\ninterpolation = "{mode}"\n' + output(channels)
    )


def torchvision_sample(source: torch.Tensor, s: dict, mode: str, antialias: bool = True) -> torch.Tensor:
    assert s["flags"] & CROPPED, "the policy crops every sample (p = 1)"
    x0, y0, x1, y1 = s["window"]
    h, w = source.shape[-2:]
    ref = F.resized_crop(source, y0, x0, y1 - y0, x1 - x0, [h, w], interpolation=MODES[mode], antialias=antialias)
    if s["flags"] & HFLIP:
        ref = F.horizontal_flip(ref)
    if s["flags"] & VFLIP:
        ref = F.vertical_flip(ref)
    return ref


def compare(name: str, sources, images: torch.Tensor, samples, mode: str) -> float:
    """Largest |augkit − torchvision| over the batch; also checks that
    antialias does not matter (the box is never larger than the output)."""
    worst, aa_gap, other_gap, upscaled = 0.0, 0.0, 0.0, 0
    for i, s in enumerate(samples):
        source = sources(s["dataset_index"])
        ref = torchvision_sample(source, s, mode)
        worst = max(worst, (images[i] - ref).abs().max().item())
        if mode == "bilinear":
            plain = torchvision_sample(source, s, mode, antialias=False)
            aa_gap = max(aa_gap, (plain - ref).abs().max().item())
        else:
            # The check can tell the two nearest rules apart.
            other = torchvision_sample(source, s, "nearest_exact" if mode == "nearest" else "nearest")
            other_gap = max(other_gap, (images[i] - other).abs().max().item())
        x0, y0, x1, y1 = s["window"]
        upscaled += (x1 - x0, y1 - y0) != tuple(source.shape[-1:-3:-1])
    print(
        f"{name} {mode}: {len(samples)} samples ({upscaled} resized), max |Δ| vs torchvision {worst:.3e}"
        + (f", antialias True vs False {aa_gap:.3e}" if mode == "bilinear" else f", vs the other nearest rule {other_gap:.3f}")
    )
    if mode != "bilinear":
        assert other_gap > 0.0, "NEAREST and NEAREST_EXACT gave the same batch: the check would not notice a mix-up"
    assert upscaled > len(samples) // 2, "too few samples were resized for the check to mean much"
    assert worst <= TOLERANCE[mode], f"{name} {mode}: max |Δ| {worst} above {TOLERANCE[mode]}"
    return worst


@pytest.mark.parametrize("mode", list(MODES))
def test_non_square_single_channel_matches_torchvision(tmp_path, mode):
    g = np.random.default_rng(13)
    images = g.integers(0, 256, (40, 13, 21), dtype=np.uint8)
    labels = g.integers(0, 10, 40, dtype=np.uint8)
    data = tmp_path / "data"
    data.mkdir()
    write_idx(data, images, labels)
    out, samples = dump(tmp_path, mode, "fashion-mnist", data, resized_policy(mode, 1), 40, 7)
    source = torch.from_numpy(images).float().div(255.0).unsqueeze(1)
    compare("idx 1×13×21", lambda i: source[i], out, samples, mode)


@pytest.mark.parametrize("mode", list(MODES))
def test_three_channel_matches_torchvision(tmp_path, mode):
    batch, seed = 48, 3
    plain, plain_samples = dump(tmp_path, "identity", "synthetic-shapes", tmp_path, output(3), batch, seed)
    by_index = {s["dataset_index"]: plain[i] for i, s in enumerate(plain_samples)}
    out, samples = dump(tmp_path, mode, "synthetic-shapes", tmp_path, resized_policy(mode, 3), batch, seed)
    assert [s["dataset_index"] for s in samples] == list(by_index), "the shuffle depends only on the seed"
    compare("synthetic-shapes 3×32×32", lambda i: by_index[i], out, samples, mode)


def test_fashion_mnist_matches_torchvision(tmp_path):
    if not (FASHION / "train-images-idx3-ubyte.gz").is_file():
        missing(f"no Fashion-MNIST in {FASHION} (apt-get install dataset-fashion-mnist)")
    batch, seed = 32, 11
    plain, plain_samples = dump(tmp_path, "identity", "fashion-mnist", FASHION, output(1), batch, seed)
    by_index = {s["dataset_index"]: plain[i] for i, s in enumerate(plain_samples)}
    for mode in MODES:
        out, samples = dump(tmp_path, mode, "fashion-mnist", FASHION, resized_policy(mode, 1), batch, seed)
        compare("fashion-mnist 1×28×28", lambda i: by_index[i], out, samples, mode)
