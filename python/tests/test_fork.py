"""An Augmenter survives fork(): a forked child (a DataLoader worker under
Linux's default start method) makes the batches the parent would, whether
or not the parent made one first; a GPU backend there is a clear
RuntimeError. Every child runs under a timeout, so a hang fails the test."""

import hashlib
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

import augkit

TIMEOUT = 120
ALL_POLICY = pathlib.Path(__file__).resolve().parents[2] / "harness" / "policies" / "all.toml"


def digest(batch) -> str:
    h = hashlib.sha256()
    for t in batch:
        h.update(t.cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def in_child(work) -> str:
    """Runs `work()` in a forked child and returns what it printed to a
    pipe; fails (after killing it) if the child takes over TIMEOUT s."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns to pytest
        code = 1
        try:
            os.close(read)
            os.write(write, work().encode())
            code = 0
        except BaseException as e:  # noqa: BLE001 — reported to the parent
            os.write(write, f"child failed: {type(e).__name__}: {e}".encode())
        finally:
            os._exit(code)
    os.close(write)
    deadline = time.monotonic() + TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read)
            pytest.fail(f"the forked child hung for {TIMEOUT} s")
        time.sleep(0.02)
    with os.fdopen(read, "rb") as f:
        out = f.read().decode()
    assert os.waitstatus_to_exitcode(status) == 0, out
    return out


@pytest.mark.parametrize("parent_made_a_batch", [False, True])
def test_a_forked_child_makes_the_parents_batches(data, all_policy, parent_made_a_batch):
    images, labels = data
    aug = augkit.Augmenter(all_policy, images, labels, num_classes=5, seed=9, backend="cpu")
    if parent_made_a_batch:
        aug.batch(0, 0, 8)
    child = in_child(lambda: digest(aug.batch(1, 8, 16)) + " " + digest(aug.batch(1, 24, 13)))
    assert child == digest(aug.batch(1, 8, 16)) + " " + digest(aug.batch(1, 24, 13))
    # The parent is unaffected, and a child of a child works too.
    assert in_child(lambda: in_child(lambda: digest(aug.batch(0, 0, 4)))) == digest(aug.batch(0, 0, 4))


def test_a_dataloader_with_forked_workers(tmp_path):
    # In a subprocess, so that a hung worker fails the test by the timeout
    # instead of hanging pytest; the parent never makes a batch first.
    script = textwrap.dedent(
        """
        import torch, augkit
        from torch.utils.data import DataLoader, Dataset
        g = torch.Generator().manual_seed(1234)
        images = torch.randint(0, 256, (37, 3, 9, 11), dtype=torch.uint8, generator=g)
        labels = torch.randint(0, 5, (37,), generator=g)
        aug = augkit.Augmenter(POLICY, images, labels, num_classes=5, seed=3, backend="cpu")

        class Steps(Dataset):
            def __len__(self):
                return 4
            def __getitem__(self, i):
                x, y_a, y_b, lam = aug.batch(0, i * 8, 8)
                return x.clone(), y_a, y_b, lam

        loader = DataLoader(Steps(), batch_size=None, num_workers=2,
                            multiprocessing_context="fork", timeout=60)
        got = list(loader)
        want = [aug.batch(0, i * 8, 8) for i in range(4)]
        assert len(got) == 4
        for g_, w in zip(got, want):
            assert all(torch.equal(a, b) for a, b in zip(g_, w))
        print("dataloader ok")
        """
    ).replace("POLICY", repr(str(ALL_POLICY)))
    run = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = run.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate()
        pytest.fail(f"DataLoader(num_workers=2) with forked workers hung for {TIMEOUT} s")
    assert run.returncode == 0 and "dataloader ok" in out, err


def test_a_gpu_backend_in_a_forked_child_is_a_clear_error(data):
    images, labels = data
    try:
        aug = augkit.Augmenter(None, images, labels, num_classes=5, backend="wgpu")
    except (RuntimeError, ValueError) as e:
        print(f"wgpu fork test not run: {e}")
        if os.environ.get("AUGKIT_REQUIRE_ADAPTER") == "1":
            pytest.fail(f"AUGKIT_REQUIRE_ADAPTER=1 but no wgpu adapter: {e}")
        pytest.skip(f"no wgpu adapter: {e}")
    want = digest(aug.batch(0, 0, 4))

    def work():
        try:
            aug.batch(0, 0, 4)
        except RuntimeError as e:
            return str(e)
        return "no error"

    message = in_child(work)
    assert "forked child" in message and "spawn" in message, message
    # The parent's device is untouched.
    assert digest(aug.batch(0, 0, 4)) == want
