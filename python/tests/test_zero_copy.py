"""The hand-off: the CPU backend writes into the returned tensor's own
memory (and into numpy's through DLPack), labels and images follow the
parameters, and CUDA writes into the CUDA tensor on torch's current stream."""

import numpy as np
import pytest
import torch

import augkit
from conftest import require_gpu_or_skip

IDENTITY = {"output": {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}}


def test_cpu_writes_into_the_returned_tensor(data, all_policy):
    images, labels = data
    aug = augkit.Augmenter(all_policy, images, labels, num_classes=5, seed=3, backend="cpu")
    out = torch.full((7, 3, 9, 11), float("nan"))
    x, y_a, y_b, lam = aug.batch(0, 5, 7, out=out)
    assert x.data_ptr() == out.data_ptr()
    assert aug.last_write == (out.data_ptr(), None), "the kernel wrote somewhere else"
    assert not torch.isnan(out).any(), "the kernel left part of the tensor unwritten"
    assert aug.copies_per_batch == 0
    # The iterator's own tensors are written in place too.
    x, *_ = next(iter(aug.epoch(0, 7)))
    assert aug.last_write[0] == x.data_ptr()
    assert y_a.dtype == y_b.dtype == torch.int64 and lam.dtype == torch.float32
    assert ((lam >= 0) & (lam <= 1)).all()


def test_identity_batch_is_the_shuffled_images(data):
    images, labels = data
    aug = augkit.Augmenter(IDENTITY, images, labels, num_classes=5, seed=9)
    x, y_a, y_b, lam = aug.batch(2, 3, 11)
    p = aug.params(2, 3, 11)
    index = p["dataset_index"]
    assert sorted(set(index.tolist())) == sorted(index.tolist()), "a shuffle repeats no image"
    torch.testing.assert_close(x, images[index].float() / 255, atol=1e-6, rtol=0)
    assert torch.equal(y_a, labels[index]) and torch.equal(y_b, y_a)
    assert torch.equal(lam, torch.ones(11))
    # The epoch is a permutation of the dataset.
    seen = torch.cat([aug.params(2, s, min(8, 37 - s))["dataset_index"] for s in range(0, 37, 8)])
    assert sorted(seen.tolist()) == list(range(37))


def test_labels_follow_the_parameters(data, all_policy):
    images, labels = data
    aug = augkit.Augmenter(all_policy, images, labels, num_classes=5, seed=1)
    _, y_a, y_b, lam = aug.batch(1, 0, 16)
    p = aug.params(1, 0, 16)
    assert torch.equal(y_a, p["label_a"]) and torch.equal(y_b, p["label_b"])
    assert torch.equal(lam, p["lambda"])
    assert torch.equal(y_a, labels[p["dataset_index"]])


def test_numpy_in_and_out_through_dlpack(data, all_policy):
    images, labels = data
    from_torch = augkit.Augmenter(all_policy, images, labels, num_classes=5, seed=4)
    from_numpy = augkit.Augmenter(all_policy, images.numpy(), labels.numpy(), num_classes=5, seed=4)
    host = np.zeros((9, 3, 9, 11), dtype=np.float32)
    alias = torch.from_dlpack(host)
    x, *_ = from_numpy.batch(0, 0, 9, out=alias)
    assert from_numpy.last_write[0] == host.ctypes.data, "numpy's memory was not the one written"
    expected, *_ = from_torch.batch(0, 0, 9)
    assert np.array_equal(host, expected.numpy())
    assert torch.equal(x, expected)


def test_nhwc_and_half_outputs(data):
    images, labels = data
    policy = 'horizontal_flip = 0.5\n[output]\nlayout = "nhwc"\ndtype = "bf16"\n'
    aug = augkit.Augmenter(policy, images, labels, num_classes=5)
    x, *_ = aug.batch(0, 0, 4)
    assert x.shape == (4, 3, 9, 11) and x.dtype == torch.bfloat16
    assert x.permute(0, 2, 3, 1).is_contiguous(), "NHWC comes back as an NCHW view, not a copy"
    f32 = augkit.Augmenter("horizontal_flip = 0.5\n", images, labels, num_classes=5)
    ref, *_ = f32.batch(0, 0, 4)
    assert torch.equal(x.float(), ref.to(torch.bfloat16).float())


def test_wgpu_reads_back_into_the_tensor(data):
    images, labels = data
    policy = "horizontal_flip = 0.5\nvertical_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 2\n"
    try:
        gpu = augkit.Augmenter(policy, images, labels, num_classes=5, seed=2, backend="wgpu")
    except RuntimeError as e:
        import os
        print(f"wgpu test not run: {e}")
        if os.environ.get("AUGKIT_REQUIRE_ADAPTER") == "1":
            pytest.fail(f"AUGKIT_REQUIRE_ADAPTER=1 but no wgpu adapter: {e}")
        pytest.skip(f"no wgpu adapter: {e}")
    cpu = augkit.Augmenter(policy, images, labels, num_classes=5, seed=2, backend="cpu")
    out = torch.empty(13, 3, 9, 11)
    x, y_a, y_b, lam = gpu.batch(1, 20, 13, out=out)
    assert gpu.backend == "wgpu" and gpu.last_write[0] == out.data_ptr()
    ref, r_a, r_b, r_lam = cpu.batch(1, 20, 13)
    torch.testing.assert_close(x, ref, atol=1e-5, rtol=1e-5)
    assert torch.equal(y_a, r_a) and torch.equal(y_b, r_b) and torch.equal(lam, r_lam)


def test_cuda_writes_into_the_cuda_tensor_on_the_current_stream(data, all_policy):
    if not torch.cuda.is_available():
        require_gpu_or_skip("torch sees no CUDA device")
    images, labels = data
    try:
        aug = augkit.Augmenter(all_policy, images, labels, num_classes=5, seed=5, backend="cuda", device="cuda:0")
    except RuntimeError as e:
        require_gpu_or_skip(f"the CUDA backend did not start: {e}")
    cpu = augkit.Augmenter(all_policy, images, labels, num_classes=5, seed=5, backend="cpu")
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        out = torch.empty((12, 3, 9, 11), device="cuda:0")
        x, y_a, y_b, lam = aug.batch(0, 4, 12, out=out)
        assert aug.last_write == (out.data_ptr(), stream.cuda_stream)
    stream.synchronize()
    assert x.data_ptr() == out.data_ptr() and x.is_cuda and aug.copies_per_batch == 0
    ref, r_a, r_b, r_lam = cpu.batch(0, 4, 12)
    assert torch.equal(y_a.cpu(), r_a) and torch.equal(y_b.cpu(), r_b)
    torch.testing.assert_close(lam.cpu(), r_lam, atol=1e-6, rtol=1e-6)
    # The GPU fuses multiply-adds: a stated tolerance, not bit equality.
    torch.testing.assert_close(x.cpu(), ref, atol=2e-3, rtol=1e-3)
    # Default stream, iterator path.
    for x, *_ in aug.epoch(0, 16):
        assert x.is_cuda and aug.last_write[1] == torch.cuda.current_stream().cuda_stream


def test_threads_share_an_augmenter(data, all_policy):
    # The CPU kernels run without the GIL; concurrent calls on one Augmenter
    # must neither deadlock nor mix up their outputs.
    import threading

    images, labels = data
    aug = augkit.Augmenter(all_policy, images, labels, num_classes=5, seed=8)
    steps = [(e, f) for e in range(3) for f in (0, 10, 20)]
    want = {s: aug.batch(s[0], s[1], 10)[0] for s in steps}
    got = {}

    def work(mine):
        for s in mine:
            got[s] = aug.batch(s[0], s[1], 10)[0]
            aug.params(s[0], s[1], 10)

    threads = [threading.Thread(target=work, args=(steps[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "threads deadlocked"
    assert all(torch.equal(got[s], want[s]) for s in steps)
