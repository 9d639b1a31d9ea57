"""Sizes and values are bounded up front, with a typed error naming the
limit, and valid input is not refused: num_classes and the synthetic tables,
a step's memory, the values a policy writes into its output dtype, grayscale
views whose size-1 dimensions have odd strides, and the smaller refusals
(an empty subset, a state without its batch size, a 5-D image array)."""

import numpy as np
import pytest
import torch

import augkit


def test_num_classes_is_bounded(data):
    images, labels = data
    # 2**32 - 1 classes with [synthetic] aborted the interpreter (103 GB).
    with pytest.raises(ValueError, match=r"num_classes = 4294967295 .*MAX_CLASSES"):
        augkit.Augmenter({"synthetic": {"mode": "pca"}}, images, labels, num_classes=2**32 - 1)
    with pytest.raises(ValueError, match="MAX_CLASSES"):
        augkit.Augmenter(None, images, labels, num_classes=2**20 + 1)
    # 10**6 classes asked 2.3 GB of per-class tables for 16 images.
    small = torch.randint(0, 256, (16, 1, 8, 8), dtype=torch.uint8)
    with pytest.raises(ValueError, match=r"num_classes 1000000.*MAX_SYNTH_TABLE_BYTES"):
        augkit.Augmenter({"synthetic": {"mode": "pca"}}, small, labels[:16] % 4, num_classes=10**6)
    aug = augkit.Augmenter({"synthetic": {"mode": "pca"}}, small, labels[:16] % 4, num_classes=4)
    assert aug.batch(0, 0, 16)[0].shape == (16, 1, 8, 8)


def test_a_huge_step_is_refused_before_its_memory_is_allocated(data):
    images, labels = data
    aug = augkit.Augmenter(None, images, labels, num_classes=5, backend="cpu")
    # batch(0, 0, 10**9) allocated a 768 GB block before checking the step.
    for call in (aug.batch, aug.params):
        with pytest.raises(ValueError, match=r"positions 0\.\.1000000000 .*only 37"):
            call(0, 0, 10**9)
    raw = torch.empty((0, 3), dtype=torch.int32)
    with pytest.raises(ValueError, match="epoch has only 37"):
        aug._engine.run_new(0, 0, 2**31, raw)
    assert aug.batch(0, 0, 37)[0].shape[0] == 37


def test_values_beyond_the_output_dtype_are_refused(data):
    images, labels = data
    # f16 with std 1e-5 gave ±inf (the harness refused it, Python did not).
    f16 = {"output": {"dtype": "f16", "std": [1e-5] * 3}}
    with pytest.raises(ValueError, match=r"`output`.*f16"):
        augkit.Augmenter(f16, images, labels, num_classes=5)
    # An erasing constant of 1e30 "completed"; 7e4 overflows f16.
    with pytest.raises(ValueError, match=r"`erasing.value`.*1e30"):
        augkit.Augmenter({"erasing": {"p": 1.0, "value": 1e30}}, images, labels, num_classes=5)
    overflow = {"erasing": {"p": 1.0, "value": 7e4}, "output": {"dtype": "f16"}}
    with pytest.raises(ValueError, match=r"`erasing.value`.*f16"):
        augkit.Augmenter(overflow, images, labels, num_classes=5)
    fits = {"erasing": {"p": 1.0, "value": 6e4}, "output": {"dtype": "f16"}}
    x = augkit.Augmenter(fits, images, labels, num_classes=5).batch(0, 0, 8)[0]
    assert torch.isfinite(x).all() and x.abs().max() == 6e4


def test_counts_are_printed_as_integers(data):
    images, labels = data
    with pytest.raises(ValueError, match="num_ops` is 4294967295,") as e:
        augkit.Augmenter({"rand_augment": {"num_ops": 2**32 - 1}}, images, labels, num_classes=5)
    assert "4294967300" not in str(e.value)


def test_grayscale_views_are_contiguous(data):
    base = torch.randint(0, 256, (6, 28, 28), dtype=torch.uint8)
    labels = torch.arange(6) % 2
    want = augkit.Augmenter(None, base[:, None].contiguous(), labels, seed=1).batch(0, 0, 6)[0]
    views = {
        "numpy a[:, None]": base.numpy()[:, None],
        "torch [N, H, W, 1].permute(0, 3, 1, 2)": base[..., None].permute(0, 3, 1, 2),
        "torch unsqueeze": base.unsqueeze(1),
    }
    for name, view in views.items():
        aug = augkit.Augmenter(None, view, labels, seed=1)
        assert torch.equal(aug.batch(0, 0, 6)[0], want), name
        mean, std = augkit.channel_statistics(view)
        assert len(mean) == 1 and std[0] > 0, name
    # A real gap is still refused.
    with pytest.raises(TypeError, match="contiguous"):
        augkit.Augmenter(None, torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)[:, :, :, ::2], labels)
    # An out= tensor with a size-1 dimension of any stride is written in place.
    aug = augkit.Augmenter(None, base[:, None], labels, seed=1)
    out = torch.empty(6, 28, 28, 1).permute(0, 3, 1, 2)
    x = aug.batch(0, 0, 6, out=out)[0]
    assert x.data_ptr() == out.data_ptr() and torch.equal(x, want)


def test_channel_statistics_of_an_empty_subset_is_an_error(data):
    images, _ = data
    with pytest.raises(ValueError, match="empty"):
        augkit.channel_statistics(images, subset=[])
    with pytest.raises(ValueError, match="empty"):
        augkit.channel_statistics(images, subset=np.zeros(0, dtype=np.int64))


def test_a_state_without_a_batch_size_must_be_at_step_zero(data):
    images, labels = data
    aug = augkit.Augmenter(None, images, labels, num_classes=5)
    state = aug.state_dict()
    assert state["batch_size"] is None and state["step"] == 0
    aug.load_state_dict(state)
    with pytest.raises(ValueError, match=r"state\['step'\] = 3 .*batch_size'\] is None"):
        aug.load_state_dict({**state, "step": 3})


def test_an_image_array_of_the_wrong_rank_says_so(data):
    images, labels = data
    five = images[None].expand(2, *images.shape)  # 5-D, and not contiguous
    for bad in (five, images[None], images[0]):
        with pytest.raises(ValueError, match=r"must be 4-D \[N, C, H, W\], got \d-D"):
            augkit.Augmenter(None, bad, labels, num_classes=5)
        with pytest.raises(ValueError, match=r"must be 4-D"):
            augkit.channel_statistics(bad)
