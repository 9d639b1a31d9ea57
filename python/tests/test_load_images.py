"""augkit.load_images against an independent decode: Pillow opens the same
files and applies torchvision's Resize(size) + CenterCrop(size) (PIL
bilinear, antialiased); the class mapping, the split, the cache and the
errors are checked too. The folders are built here."""

import os
import time

import numpy as np
import pytest
from PIL import Image

import augkit

torchvision = pytest.importorskip("torchvision")
from torchvision.transforms import v2 as T  # noqa: E402


def gradient(w, h, seed):
    x = np.arange(w)[None, :]
    y = np.arange(h)[:, None]
    r = (17 * x + 3 * y + seed) % 256
    g = (5 * y + 2 * seed + 0 * x) % 256
    b = (200 - x - y) % 256
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def pil_reference(path, size):
    """Pillow decode + torchvision's geometry, as planar CHW uint8."""
    with Image.open(path) as im:
        im.seek(0)
        im = im.convert("RGB")
        im = T.CenterCrop(size)(T.Resize(size, interpolation=T.InterpolationMode.BILINEAR)(im))
        return np.asarray(im).transpose(2, 0, 1)


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "pets"
    files = {
        "cat": [("a.png", gradient(32, 32, 1), "PNG"), ("b.jpg", gradient(40, 30, 2), "JPEG"),
                ("c.webp", gradient(23, 37, 3), "WEBP")],
        "dog": [("d.png", gradient(64, 48, 4), "PNG"), ("e.bmp", gradient(17, 19, 5), "BMP"),
                ("nested/f.png", gradient(32, 32, 6), "PNG")],
        "emu": [("g.png", None, "PNG"), ("h.jpg", gradient(50, 50, 7), "JPEG")],
    }
    for cls, items in files.items():
        for name, px, fmt in items:
            p = root / "train" / cls / name
            p.parent.mkdir(parents=True, exist_ok=True)
            if px is None:
                Image.fromarray((np.arange(33 * 21) % 256).astype(np.uint8).reshape(21, 33), "L").save(p, fmt)
            else:
                Image.fromarray(px).save(p, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        t = root / "test" / cls / "t.png"
        t.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(gradient(32, 32, 9)).save(t)
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    return root


def test_pixels_match_pillow_and_torchvision_geometry(folder, tmp_path):
    images, labels, names = augkit.load_images(folder, 32, cache_dir=tmp_path / "cache")
    assert names == ["cat", "dog", "emu"]
    assert images.dtype == np.uint8 and images.shape == (8, 3, 32, 32)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    paths = sorted((folder / "train").rglob("*.*"))
    paths = [p for p in paths if p.suffix != ".txt"]
    # Sorted by class, then by path within the class.
    by_class = sorted(paths, key=lambda p: (p.relative_to(folder / "train").parts[0], str(p)))
    worst = {}
    for img, path in zip(images, by_class):
        ref = pil_reference(path, 32)
        diff = np.abs(img.astype(int) - ref.astype(int))
        worst[path.name] = (int(diff.max()), float(diff.mean()))
        if path.suffix == ".png" and Image.open(path).size == (32, 32):
            assert diff.max() == 0, path  # no resize: exact
    print("max/mean abs difference to Pillow+torchvision:", worst)
    for name, (mx, mean) in worst.items():
        lossy = name.endswith(".jpg")
        # Measured: lossless max 1 (mean ≤ 0.07), JPEG max 3 (mean ≤ 0.46).
        assert mean <= (1.0 if lossy else 0.5), (name, mx, mean)
        assert mx <= (6 if lossy else 2), (name, mx, mean)


def test_split_cache_and_invalidation(folder, tmp_path):
    cache = tmp_path / "cache"
    test_images, test_labels, _ = augkit.load_images(f"folder:{folder}", "16x24", split="test", cache_dir=cache)
    assert test_images.shape == (3, 3, 16, 24) and test_labels.tolist() == [0, 1, 2]
    entries = sorted(cache.iterdir())
    assert len(entries) == 1
    stamp = entries[0].stat().st_mtime_ns
    again, _, _ = augkit.load_images(f"folder:{folder}", "16x24", split="test", cache_dir=cache)
    assert np.array_equal(again, test_images)
    assert entries[0].stat().st_mtime_ns == stamp  # read, not rewritten
    time.sleep(0.02)
    Image.fromarray(np.full((32, 32, 3), 7, np.uint8)).save(folder / "test" / "cat" / "t.png")
    changed, _, _ = augkit.load_images(f"folder:{folder}", "16x24", split="test", cache_dir=cache)
    assert (changed[0] == 7).all()
    assert len(list(cache.iterdir())) == 2
    everything, labels, _ = augkit.load_images(folder, "16x24", split="all", cache_dir=False)
    assert everything.shape[0] == 11 and labels.shape == (11,)


def test_grayscale_single_tree_and_npz(tmp_path):
    root = tmp_path / "digits"
    for c in range(2):
        for i in range(5):
            p = root / f"d{c}" / f"{i}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((10, 10), 20 * i + c, np.uint8), "L").save(p)
    train, ytr, names = augkit.load_images(root, cache_dir=False, test_fraction=0.4)
    test, yte, _ = augkit.load_images(root, cache_dir=False, test_fraction=0.4, split="test")
    assert names == ["d0", "d1"]
    assert train.shape == (6, 1, 10, 10) and test.shape == (4, 1, 10, 10)
    assert np.bincount(ytr).tolist() == [3, 3] and np.bincount(yte).tolist() == [2, 2]

    npz = tmp_path / "arrays.npz"
    px = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)  # NHWC
    np.savez_compressed(npz, images=px, labels=np.array([0, 1, 2, 0, 1, 2], np.int16),
                        test_images=px[:2], test_labels=np.array([2, 0]))
    images, labels, names = augkit.load_images(npz)
    assert np.array_equal(images, px.transpose(0, 3, 1, 2))
    assert labels.tolist() == [0, 1, 2, 0, 1, 2] and names == ["0", "1", "2"]


def test_errors_name_the_problem(tmp_path):
    root = tmp_path / "bad"
    for c in ("a", "b"):
        for i in range(2):
            p = root / c / f"{i}.png"
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(gradient(8, 8, i)).save(p)
    (root / "a" / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    with pytest.raises(ValueError, match=r"1 unreadable or corrupt image.*broken\.jpg"):
        augkit.load_images(root, 8, cache_dir=False)
    images, _, _ = augkit.load_images(root, 8, cache_dir=False, skip_bad_images=True, split="all")
    assert images.shape[0] == 4
    with pytest.raises(ValueError, match="image size"):
        augkit.load_images(root, "0x5", cache_dir=False)
    with pytest.raises(ValueError, match="not a directory"):
        augkit.load_images(tmp_path / "missing", cache_dir=False)
    (tmp_path / "x.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an .npz"):
        augkit.load_images(tmp_path / "x.npz")
    with pytest.raises(ValueError, match="split"):
        augkit.load_images(root, split="val")
