"""Trains the harness's simple CNN on Fashion-MNIST in a plain PyTorch loop,
with augkit writing every augmented batch straight into the batch tensor.

    python examples/python/train_fashion_mnist.py --data-dir /usr/share/datasets/fashion-mnist \
        --policy harness/policies/all.toml --epochs 50 --train-per-class 500

It is built to be comparable with `augkit train --model simple-cnn` run with
the same flags: the same stratified training subset, the same normalisation
(the subset's per-channel statistics), the same initialisation (PyTorch's
defaults, drawn after torch.manual_seed(--seed), which the harness draws
bit for bit), the
same per-epoch reseeding of the generator for dropout, Adam with coupled
weight decay, and augkit's batches, which depend only on (policy, seed,
epoch, position). python/tests/test_training.py checks that both reach the
same test accuracy. Without augmentation the model reaches ≈ 91–92 % on the
full training set; on small subsets and few epochs, much less.
"""

from __future__ import annotations

import argparse
import gzip
import math
import pathlib
import struct
import time
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

import augkit

# --- data ---------------------------------------------------------------------


def read_idx(path: pathlib.Path) -> torch.Tensor:
    """An IDX file (plain or .gz): uint8 images [N, 1, H, W] or labels [N]."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    zero, kind, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or kind != 0x08 or ndim not in (1, 3):
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    body = raw[4 + 4 * ndim :]
    if len(body) != math.prod(dims):
        raise ValueError(f"{path}: {len(body)} bytes for dimensions {dims}")
    data = torch.frombuffer(bytearray(body), dtype=torch.uint8).view(*dims)
    return data.unsqueeze(1) if ndim == 3 else data


def load_fashion_mnist(data_dir: pathlib.Path):
    def find(stem: str) -> pathlib.Path:
        for name in (stem + ".gz", stem):
            if (data_dir / name).is_file():
                return data_dir / name
        raise FileNotFoundError(f"{data_dir}: no {stem}[.gz]")

    return (
        read_idx(find("train-images-idx3-ubyte")),
        read_idx(find("train-labels-idx1-ubyte")).long(),
        read_idx(find("t10k-images-idx3-ubyte")),
        read_idx(find("t10k-labels-idx1-ubyte")).long(),
    )


_MASK = (1 << 64) - 1


class SplitMix64:
    """The harness's seeded generator for the stratified subset (augkit-data)."""

    def __init__(self, seed: int, stream: int) -> None:
        self.state = (seed ^ (stream * 0xD1B54A32D192ED03)) & _MASK
        self.next()

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def shuffle(self, values: List[int]) -> None:
        for i in range(len(values) - 1, 0, -1):
            j = (self.next() * (i + 1)) >> 64
            values[i], values[j] = values[j], values[i]


def stratified_subset(labels: torch.Tensor, num_classes: int, per_class: int, seed: int) -> List[int]:
    """Exactly `per_class` images of every class, as `augkit train --train-per-class` picks them."""
    by_class: List[List[int]] = [[] for _ in range(num_classes)]
    for i, label in enumerate(labels.tolist()):
        by_class[label].append(i)
    out: List[int] = []
    for c, members in enumerate(by_class):
        if len(members) < per_class:
            raise ValueError(f"class {c} has {len(members)} images, fewer than {per_class}")
        SplitMix64(seed, c).shuffle(members)
        out.extend(members[:per_class])
    return sorted(out)


def normalised(images: torch.Tensor, mean: List[float], std: List[float]) -> torch.Tensor:
    """(x/255 − mean[c]) · (1/std[c]) in f32, as augkit's output stage and the harness's test set."""
    c = images.shape[1]
    m = torch.tensor(mean, dtype=torch.float32).view(1, c, 1, 1)
    inv = torch.tensor(std, dtype=torch.float32).reciprocal().view(1, c, 1, 1)
    return (images.float() / 255.0 - m) * inv


# --- model ----------------------------------------------------------------------


class SimpleCNN(nn.Module):
    """conv3×3 32 · ReLU · conv3×3 64 · ReLU · max-pool 2 · dropout 0.25 ·
    fc 128 · ReLU · dropout 0.5 · fc classes (the harness's simple-cnn)."""

    def __init__(self, channels: int, height: int, width: int, num_classes: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(64 * ((height - 4) // 2) * ((width - 4) // 2), 128)
        self.fc2 = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.dropout(F.max_pool2d(x, 2), 0.25, self.training)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(F.dropout(x, 0.5, self.training))


def epoch_seed(seed: int, epoch: int) -> int:
    """The harness's per-epoch generator seed (splitmix64 of (seed, epoch))."""
    z = (seed ^ ((epoch + 1) * 0x9E3779B97F4A7C15)) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return (z ^ (z >> 31)) >> 1


# --- training -------------------------------------------------------------------


def train(
    data_dir: str,
    policy: Optional[str] = None,
    epochs: int = 5,
    train_per_class: Optional[int] = None,
    batch_size: int = 64,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    threads: Optional[int] = None,
    backend: str = "auto",
    device: str = "cpu",
    eval_batch_size: int = 256,
    log=print,
) -> Dict[str, float]:
    if threads:
        torch.set_num_threads(threads)
    train_x, train_y, test_x, test_y = load_fashion_mnist(pathlib.Path(data_dir))
    num_classes = 10
    subset = (
        stratified_subset(train_y, num_classes, train_per_class, seed)
        if train_per_class
        else list(range(len(train_y)))
    )
    aug = augkit.Augmenter(
        policy, train_x, train_y, num_classes=num_classes, seed=seed,
        backend=backend, device=device, subset=subset,
    )
    mean, std = aug.normalisation
    test_inputs = normalised(test_x, mean, std).to(device)
    _, c, h, w = train_x.shape
    # PyTorch's own default initialisation, drawn from the generator seeded
    # with --seed: the harness draws the same numbers (docs/HARNESS.md,
    # "Trains like PyTorch").
    torch.manual_seed(seed)
    model = SimpleCNN(c, h, w, num_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay, foreach=False)
    smoothing = aug.label_smoothing
    log(f"training on {len(subset)} images, backend {aug.backend} ({aug.backend_note})")
    start = time.perf_counter()
    for epoch in range(epochs):
        torch.manual_seed(epoch_seed(seed, epoch))
        model.train()
        loss_sum, steps = 0.0, 0
        for x, y_a, y_b, lam in aug.epoch(epoch, batch_size):
            if x.shape[0] < 2:
                continue  # as the harness: a 1-sample batch is not a training step
            loss = augkit.mixed_cross_entropy(model(x), y_a, y_b, lam, label_smoothing=smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item()
            steps += 1
        log(f"epoch {epoch + 1}/{epochs}: loss {loss_sum / max(steps, 1):.4f}")
    model.eval()
    with torch.no_grad():
        predictions = torch.cat(
            [model(test_inputs[i : i + eval_batch_size]).argmax(-1) for i in range(0, len(test_y), eval_batch_size)]
        )
    accuracy = (predictions.cpu() == test_y).float().mean().item()
    log(f"test accuracy {100 * accuracy:.2f}% after {time.perf_counter() - start:.1f} s")
    return {"test_accuracy": accuracy}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--policy", default=None, help="policy file (.toml/.json); default: normalise only")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--train-per-class", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--backend", default="auto", choices=["auto", "cpu", "wgpu", "cuda"])
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    train(a.data_dir, a.policy, a.epochs, a.train_per_class, a.batch_size, a.lr, a.weight_decay,
          a.seed, a.threads, a.backend, a.device)


if __name__ == "__main__":
    main()
