#!/usr/bin/env python3
"""Decoding + conversion throughput: augkit's image-folder reader against
torchvision's ImageFolder + DataLoader(num_workers=2), once over the same
files (256×256 JPEGs, quality 90, made here) to 64×64 (Resize(64) +
CenterCrop(64), bilinear, antialiased; uint8). Not a test: prints images/s.

  python scripts/bench-load-images.py [--images 2000] [--classes 10] [--repeats 3]

augkit runs without its cache (cache_dir=False), so every repeat decodes.
"""

import argparse
import os
import tempfile
import time

import numpy as np
from PIL import Image


def make_folder(root, n, classes, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        c = i % classes
        d = os.path.join(root, f"class{c:02d}")
        os.makedirs(d, exist_ok=True)
        # Smooth content (JPEG-like statistics), not noise.
        base = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        img = Image.fromarray(base).resize((256, 256), Image.BICUBIC)
        img.save(os.path.join(d, f"{i:05d}.jpg"), quality=90)


def bench_augkit(root, repeats):
    import augkit

    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        images, labels, _ = augkit.load_images(f"folder:{root}", 64, split="all", cache_dir=False)
        times.append(time.perf_counter() - t)
    return len(labels), min(times), images


def bench_torchvision(root, repeats, workers):
    import torch
    from torchvision import datasets, transforms

    tf = transforms.Compose([
        transforms.Resize(64, interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.CenterCrop(64),
        transforms.PILToTensor(),
    ])
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        ds = datasets.ImageFolder(root, transform=tf)
        loader = torch.utils.data.DataLoader(ds, batch_size=64, num_workers=workers)
        n = 0
        chunks = []
        for x, y in loader:
            chunks.append(x)
            n += len(y)
        torch.cat(chunks)
        times.append(time.perf_counter() - t)
    return n, min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as root:
        make_folder(root, a.images, a.classes)
        n, t_aug, _ = bench_augkit(root, a.repeats)
        m, t_tv = bench_torchvision(root, a.repeats, a.workers)
        assert n == m == a.images
        print(f"{n} JPEGs 256x256 -> 64x64 uint8, best of {a.repeats}, {os.cpu_count()} CPUs")
        print(f"augkit.load_images (Rust, rayon):                 {n / t_aug:8.0f} images/s ({t_aug:.2f} s)")
        print(f"torchvision ImageFolder + DataLoader(workers={a.workers}): {n / t_tv:8.0f} images/s ({t_tv:.2f} s)")
        print(f"ratio: {t_tv / t_aug:.2f}x")


if __name__ == "__main__":
    main()
