"""Where a host backend's batches live: a batch returned as a new tensor is
memory of the engine's pool, reused for a later batch only after torch has
freed that tensor (views, numpy exports and autograd graphs included), so a
returned tensor is never written again; out= batches use the caller's memory
and leave the pool alone."""

import gc
import threading

import torch

import augkit


def _aug(data, policy, **kw):
    images, labels = data
    return augkit.Augmenter(policy, images, labels, num_classes=5, seed=7, backend="cpu", **kw)


def test_a_returned_batch_is_never_written_again(data, all_policy):
    aug = _aug(data, all_policy)
    x0, *_ = aug.batch(0, 0, 7)
    kept = x0.clone()
    live = [x0]
    for first in range(7, 35, 7):
        x, *_ = aug.batch(1, first, 7)
        live.append(x)
        assert aug.last_write[0] == x.data_ptr()
    assert torch.equal(x0, kept), "a later batch wrote into a returned tensor"
    assert len({t.data_ptr() for t in live}) == len(live), "two live batches share memory"
    # The same step through out= gives the same values.
    out = torch.empty_like(x0)
    same, *_ = aug.batch(0, 0, 7, out=out)
    assert torch.equal(same, kept)
    assert x0.is_contiguous() and x0.dtype == torch.float32 and not x0.requires_grad
    x0.mul_(2)  # the caller may write its batch
    assert torch.equal(x0, 2 * kept)


def test_a_freed_batch_is_reused_and_no_sooner(data, all_policy):
    aug = _aug(data, all_policy)
    x, *_ = aug.batch(0, 0, 8)
    address = x.data_ptr()
    assert aug._engine.idle_blocks == 0
    del x
    gc.collect()
    assert aug._engine.idle_blocks == 1, "torch's release did not reach the pool"
    y, *_ = aug.batch(0, 8, 8)
    assert y.data_ptr() == address == aug.last_write[0], "a freed block was not reused"
    assert aug._engine.idle_blocks == 0
    # A different batch size gets a block of its own.
    z, *_ = aug.batch(0, 16, 5)
    assert z.data_ptr() != y.data_ptr()


def test_views_exports_and_graphs_keep_a_batch(data, all_policy):
    holders = {
        "view": lambda x: x[2:4],
        "numpy": lambda x: x.numpy(),
        "dlpack": lambda x: x.__dlpack__(),
        "autograd": lambda x: x * torch.ones(x.shape[1:], requires_grad=True),
    }
    for name, hold in holders.items():
        aug = _aug(data, all_policy)
        x, *_ = aug.batch(0, 0, 6)
        address, kept = x.data_ptr(), x.clone()
        holder = hold(x)
        del x
        gc.collect()
        assert aug._engine.idle_blocks == 0, f"the pool took back a batch a {name} still holds"
        y, *_ = aug.batch(0, 6, 6)
        assert y.data_ptr() != address, f"a batch held by a {name} was written again"
        assert torch.equal(_memory_at(address, kept), kept), f"a batch held by a {name} changed"
        del holder, y
        gc.collect()


def _memory_at(address, like):
    """The float32 memory at `address` shaped like `like`, read through
    ctypes (a check that it still holds what was returned)."""
    import ctypes

    n = like.numel()
    buf = (ctypes.c_float * n).from_address(address)
    return torch.frombuffer(buf, dtype=torch.float32, count=n).view(like.shape).clone()


def test_the_pool_keeps_at_most_two_idle_blocks(data, all_policy):
    aug = _aug(data, all_policy)
    held = [aug.batch(0, 5 * k, 5)[0] for k in range(5)]
    del held
    gc.collect()
    assert aug._engine.idle_blocks == 2


def test_out_leaves_the_pool_alone(data, all_policy):
    aug = _aug(data, all_policy)
    out = torch.empty((9, 3, 9, 11))
    for first in (0, 9, 18):
        x, *_ = aug.batch(0, first, 9, out=out)
        assert x.data_ptr() == out.data_ptr() == aug.last_write[0]
    assert aug._engine.idle_blocks == 0


def test_a_batch_outlives_its_augmenter_and_another_thread_frees_it(data, all_policy):
    aug = _aug(data, all_policy)
    x, *_ = aug.batch(0, 0, 7)
    kept = x.clone()
    del aug
    gc.collect()
    assert torch.equal(x, kept)
    box = [x]
    del x
    t = threading.Thread(target=box.clear)  # torch frees it on that thread
    t.start()
    t.join()
    gc.collect()


def test_half_and_nhwc_batches_come_from_the_pool(data):
    for output in ({"dtype": "f16"}, {"dtype": "bf16", "layout": "nhwc"}):
        aug = _aug(data, {"horizontal_flip": 0.5, "output": output})
        x, *_ = aug.batch(0, 0, 7)
        out = torch.empty((7, 9, 11, 3) if output.get("layout") == "nhwc" else (7, 3, 9, 11), dtype=x.dtype)
        same, *_ = aug.batch(0, 0, 7, out=out)
        assert x.dtype == same.dtype and x.shape == same.shape == (7, 3, 9, 11)
        assert torch.equal(x, same)
