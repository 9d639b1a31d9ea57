"""The synthetic pool from Python (docs/SEMANTICS.md §9a): an
``Augmenter(..., synthetic_pool=(images, labels))`` draws a sample's source
image from the pool at the policy's rate, a pool image is read (and flipped)
like a real one with its own label, and every bad pool or pool policy is a
ValueError naming what was wrong, before anything runs."""

import pytest
import torch

import augkit

POOL = "[synthetic]\nmode = \"pool\"\nfraction = {f}\n"
POOL_FLAG = 1 << 10


def make_pool(n=11, c=3, h=9, w=11, classes=5, seed=99):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, c, h, w), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, classes, (n,), generator=g)
    return images, labels


def make(data, policy, pool, **kw):
    images, labels = data
    kw.setdefault("num_classes", 5)
    kw.setdefault("backend", "cpu")
    return augkit.Augmenter(policy, images, labels, synthetic_pool=pool, **kw)


def test_the_draw_rate_and_the_pool_labels(data):
    pool = make_pool()
    aug = make(data, POOL.format(f=0.4), pool)
    n_real = data[0].shape[0]
    drawn = total = 0
    for epoch in range(20):
        p = aug.params(epoch, 0, n_real)
        from_pool = (p["flags"] & POOL_FLAG) != 0
        assert torch.equal(from_pool, p["dataset_index"] >= n_real)
        j = p["dataset_index"][from_pool] - n_real
        assert ((0 <= j) & (j < pool[0].shape[0])).all()
        assert torch.equal(p["label_a"][from_pool], pool[1][j])
        drawn += int(from_pool.sum())
        total += n_real
    # 740 samples: the rate's σ ≈ 0.018.
    assert abs(drawn / total - 0.4) < 0.08, drawn / total


def test_a_pool_image_is_augmented_like_a_real_one(data):
    pool = make_pool()
    policy = "horizontal_flip = 1.0\n" + POOL.format(f=1.0)
    aug = make(data, policy, pool, normalise=False)
    x, y_a, _, _ = aug.batch(0, 0, 16)
    p = aug.params(0, 0, 16)
    j = p["dataset_index"] - data[0].shape[0]
    want = pool[0][j].flip(-1).float() / 255.0
    assert torch.equal(x, want)
    assert torch.equal(y_a, pool[1][j])


def test_fraction_zero_gives_the_batches_of_no_pool(data):
    with_pool = make(data, POOL.format(f=0.0) + "[crop]\nkind = \"pad\"\npadding = 2\n", make_pool())
    without = make(data, "[crop]\nkind = \"pad\"\npadding = 2\n", None)
    a = with_pool.batch(1, 0, 20)
    b = without.batch(1, 0, 20)
    for u, v in zip(a, b):
        assert torch.equal(u, v)


@pytest.mark.parametrize(
    "pool, message",
    [
        (lambda: make_pool(n=0), "no images"),
        (lambda: make_pool(c=1), "same channels, height and width"),
        (lambda: make_pool(h=8), "same channels, height and width"),
        (lambda: (make_pool()[0], make_pool()[1][:-1]), "labels for"),
        (lambda: (make_pool()[0], make_pool()[1] + 5), "not below num_classes"),
    ],
)
def test_bad_pools_are_value_errors(data, pool, message):
    with pytest.raises(ValueError, match=message):
        make(data, POOL.format(f=0.5), pool())


def test_pool_images_must_be_uint8(data):
    images, labels = make_pool()
    with pytest.raises(TypeError, match="uint8"):
        make(data, POOL.format(f=0.5), (images.float(), labels))
    with pytest.raises(TypeError, match="uint8"):
        make(data, POOL.format(f=0.5), (images.to(torch.int16), labels))
    with pytest.raises(TypeError, match="pair"):
        make(data, POOL.format(f=0.5), images)


@pytest.mark.parametrize(
    "policy, pool, message",
    [
        (POOL.format(f=0.5), None, "needs a pool"),
        ("horizontal_flip = 0.5\n", make_pool(), "no `\\[synthetic\\] mode = \"pool\"`"),
        (POOL.format(f=1.5), make_pool(), "synthetic.fraction"),
        (POOL.format(f=0.5) + "source = \"cvae\"\n", None, "does not train generators"),
        (POOL.format(f=0.5) + "source = \"file\"\npath = \"p.npz\"\n", make_pool(), "use one"),
        (POOL.format(f=0.5) + "source = \"file\"\n", make_pool(), "synthetic.path"),
        (POOL.format(f=0.5) + "source = \"cvae\"\nsize = 0.0\n", make_pool(), "synthetic.size"),
    ],
)
def test_bad_pool_policies_are_value_errors(data, policy, pool, message):
    with pytest.raises(ValueError, match=message):
        make(data, policy, pool)


# ---------------------------------------------------------------- pool files

np = pytest.importorskip("numpy")


def file_policy(path, fraction=1.0):
    return POOL.format(f=fraction) + f'source = "file"\npath = "{path}"\n'


def save(path, images, labels, **extra):
    np.savez(path, images=images, labels=labels, **extra)
    return path


def test_a_pool_file_equals_the_same_pool_given_as_arrays(data, tmp_path):
    images, labels = make_pool()
    given = make(data, POOL.format(f=0.5), (images, labels))
    for layout, stored in (("nchw", images.numpy()), ("nhwc", images.permute(0, 2, 3, 1).numpy())):
        path = save(tmp_path / f"pool_{layout}.npz", stored, labels.numpy().astype(np.int64))
        from_file = make(data, file_policy(path, 0.5), None)
        for u, v in zip(given.batch(2, 0, 30), from_file.batch(2, 0, 30)):
            assert torch.equal(u, v), layout


def bad_files(tmp_path):
    images, labels = make_pool()
    imgs, labs = images.numpy(), labels.numpy()
    text = tmp_path / "not_npz.npz"
    text.write_text("images, labels\n")
    good = save(tmp_path / "good.npz", imgs, labs)
    cut = tmp_path / "truncated.npz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    huge = tmp_path / "huge.npz"
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (2_000_000, 3, 9, 11 * 20)}
    )
    with zipfile.ZipFile(huge, "w") as z:
        z.writestr("images.npy", header.getvalue())
        z.writestr("labels.npy", b"")
    return [
        (text, "not an .npz"),
        (cut, "not an .npz|truncated"),
        (save(tmp_path / "float.npz", imgs.astype(np.float32), labs), "dtype"),
        (save(tmp_path / "int16.npz", imgs.astype(np.int16), labs), "dtype"),
        (save(tmp_path / "gray.npz", imgs[:, :1], labs), "images are"),
        (save(tmp_path / "small.npz", imgs[:, :, :8], labs), "images are"),
        (save(tmp_path / "label_range.npz", imgs, labs + 5), "not in 0..5"),
        (save(tmp_path / "label_count.npz", imgs, labs[:-1]), "labels for"),
        (save(tmp_path / "empty.npz", imgs[:0], labs[:0]), "zero images"),
        (huge, "more than the limit"),
        (tmp_path / "missing.npz", "missing.npz"),
    ]


def test_bad_pool_files_are_value_errors_naming_the_problem(data, tmp_path):
    for path, message in bad_files(tmp_path):
        with pytest.raises(ValueError, match=message):
            make(data, file_policy(path), None)
