"""A short training run in a plain PyTorch loop (examples/python/
train_fashion_mnist.py: the simple CNN on a small real Fashion-MNIST subset)
reaches the test accuracy `augkit train` reaches with the same data, policy
and seeds, within 1 percentage point.

Needs the harness binary (AUGKIT_HARNESS_BIN, else target/release/augkit or
target/debug/augkit) and Debian's dataset-fashion-mnist; skips with a printed
reason when either is missing, and fails instead under AUGKIT_REQUIRE_HARNESS=1
(scripts/test sets it)."""

import importlib.util
import json
import os
import pathlib
import subprocess

import conftest
from conftest import POLICIES, ROOT

DATA = pathlib.Path(os.environ.get("AUGKIT_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
RUN = dict(policy=str(POLICIES / "all.toml"), epochs=3, train_per_class=100, batch_size=64, seed=0, threads=2)


def missing(reason: str):
    conftest.missing_or_fail("training parity", reason)


def harness_binary() -> pathlib.Path:
    return conftest.harness_binary(missing)


def load_example():
    path = ROOT / "examples" / "python" / "train_fashion_mnist.py"
    spec = importlib.util.spec_from_file_location("train_fashion_mnist", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_loop_matches_the_harness(tmp_path):
    if not (DATA / "train-images-idx3-ubyte.gz").is_file():
        missing(f"no Fashion-MNIST in {DATA} (apt-get install dataset-fashion-mnist)")
    binary = harness_binary()
    out = tmp_path / "harness.json"
    cmd = [
        str(binary), "train", "--dataset", "fashion-mnist", "--data-dir", str(DATA),
        "--model", "simple-cnn", "--policy", RUN["policy"], "--epochs", str(RUN["epochs"]),
        "--train-per-class", str(RUN["train_per_class"]), "--batch-size", str(RUN["batch_size"]),
        "--seed", str(RUN["seed"]), "--threads", str(RUN["threads"]), "--backend", "cpu",
        "--eval-every", "0", "--quiet", "--out", str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    print(done.stderr[-2000:])
    assert done.returncode == 0, f"augkit train failed: {done.stderr[-2000:]}"
    harness = json.loads(out.read_text())["test"]["accuracy"]

    example = load_example()
    ours = example.train(str(DATA), backend="cpu", device="cpu", **RUN)["test_accuracy"]
    print(f"test accuracy: harness {100 * harness:.2f}%, Python loop {100 * ours:.2f}%")
    # 3 short epochs under the full policy: well above chance (10 %), far from converged.
    assert harness > 0.2, "the harness barely trained: the comparison would mean nothing"
    assert abs(ours - harness) <= 0.01, f"Python {ours:.4f} vs harness {harness:.4f}: more than 1 pp apart"
