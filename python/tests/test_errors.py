"""Every refusal is a Python exception with augkit's message — ValueError
for a bad policy, shape or value, TypeError for a wrong dtype or
non-contiguous memory, RuntimeError for a device that fails — raised
before any kernel runs, never a crash."""

import pytest
import torch

import augkit


def make(data, policy="horizontal_flip = 0.5\n", **kw):
    images, labels = data
    kw.setdefault("num_classes", 5)
    return augkit.Augmenter(policy, images, labels, **kw)


@pytest.mark.parametrize(
    "policy, message",
    [
        ("horizontal_flip = [", "cannot parse policy"),
        ("no_such_technique = 1\n", "unknown field"),
        ({"horizontal_flip": 2.0}, "horizontal_flip"),
        ({"color_jitter": {"hue": 0.7}}, "hue"),
        ({"output": {"mean": [0.5, 0.5]}}, "channels"),
        ("missing/policy.toml", "missing/policy.toml"),
    ],
)
def test_bad_policy_is_a_value_error(data, policy, message):
    with pytest.raises(ValueError, match=message):
        make(data, policy)


def test_policy_of_the_wrong_type_is_a_type_error(data):
    with pytest.raises(TypeError, match="policy"):
        make(data, policy=42)


def test_bad_images(data):
    images, labels = data
    with pytest.raises(TypeError, match="uint8"):
        augkit.Augmenter(None, images.float(), labels)
    with pytest.raises(TypeError, match="contiguous"):
        augkit.Augmenter(None, images.permute(0, 1, 3, 2), labels)
    with pytest.raises(ValueError, match=r"\[N, C, H, W\]"):
        augkit.Augmenter(None, images[0], labels)
    with pytest.raises(ValueError, match="channels must be 1 or 3"):
        augkit.Augmenter(None, images[:, :2].contiguous(), labels)
    with pytest.raises(TypeError, match="__dlpack__|tensor"):
        augkit.Augmenter(None, "not an array", labels)


def test_bad_labels(data):
    images, labels = data
    with pytest.raises(ValueError, match="labels for"):
        augkit.Augmenter(None, images, labels[:-1])
    with pytest.raises(ValueError, match="not below num_classes"):
        augkit.Augmenter(None, images, labels, num_classes=2)
    with pytest.raises(ValueError, match="labels"):
        augkit.Augmenter(None, images, labels - 10, num_classes=5)
    with pytest.raises(TypeError, match="labels must hold"):
        augkit.Augmenter(None, images, labels.float(), num_classes=5)
    with pytest.raises(ValueError, match="subset index"):
        augkit.Augmenter(None, images, labels, subset=[0, 99])


def test_bad_arguments(data):
    with pytest.raises(ValueError, match="backend must be"):
        make(data, backend="tpu")
    with pytest.raises(ValueError, match="device"):
        make(data, backend="cuda", device="cpu")
    with pytest.raises(ValueError, match="rank"):
        make(data, rank=2, world_size=2)
    with pytest.raises(ValueError, match="seed"):
        make(data, seed=-1)


def test_bad_steps(data):
    aug = make(data)
    with pytest.raises(ValueError, match="epoch has only 37"):
        aug.batch(0, 30, 8)
    with pytest.raises(ValueError, match="batch size must be at least 1"):
        aug.batch(0, 0, 0)
    with pytest.raises(ValueError, match="batch_size"):
        aug.epoch(0, 0)
    with pytest.raises(TypeError, match="batch_size"):
        len(aug)


def test_bad_out_tensors(data):
    aug = make(data)
    with pytest.raises(TypeError, match="float32"):
        aug.batch(0, 0, 4, out=torch.empty(4, 3, 9, 11, dtype=torch.float16))
    with pytest.raises(TypeError, match="contiguous"):
        aug.batch(0, 0, 4, out=torch.empty(4, 3, 11, 9).transpose(2, 3))
    with pytest.raises(ValueError, match="shape"):
        aug.batch(0, 0, 4, out=torch.empty(4, 3, 9, 10))
    with pytest.raises(ValueError, match="shape"):
        aug.batch(0, 0, 4, out=torch.empty(5, 3, 9, 11))
    with pytest.raises(TypeError, match="out must be a torch tensor"):
        aug.batch(0, 0, 4, out=[0.0])
    with pytest.raises(ValueError, match="requires grad"):
        aug.batch(0, 0, 4, out=torch.empty(4, 3, 9, 11, requires_grad=True))


def test_cuda_without_a_usable_gpu_is_a_runtime_error(data):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present; the GPU tests cover the CUDA backend")
    with pytest.raises(RuntimeError, match="CUDA|cuda|libcuda"):
        make(data, backend="cuda", device="cuda:0")
    # auto falls back to the CPU backend and says why.
    aug = make(data, backend="auto", device="cuda:0")
    assert aug.backend == "cpu" and "did not start" in aug.backend_note


def test_errors_leave_the_augmenter_usable(data):
    aug = make(data)
    with pytest.raises(ValueError):
        aug.batch(0, 36, 2)
    x, *_ = aug.batch(0, 0, 2)
    assert x.shape == (2, 3, 9, 11)


def test_empty_inputs(data):
    images, labels = data
    with pytest.raises(ValueError, match="no images"):
        augkit.Augmenter(None, images[:0], labels[:0], num_classes=5)
    with pytest.raises(ValueError, match="empty"):
        augkit.Augmenter(None, images, labels, subset=torch.zeros(0, dtype=torch.int64))
    with pytest.raises(ValueError, match="empty"):
        augkit.channel_statistics(images[:0])
