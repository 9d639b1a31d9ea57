"""Shared fixtures: a small seeded dataset of awkward size (37 non-square
3×9×11 images) and the repository's policy files."""

import os
import pathlib

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
POLICIES = ROOT / "harness" / "policies"


def missing_or_fail(what: str, reason: str) -> None:
    """Skip a harness-driven test (`what`) with a printed reason, or fail it
    under AUGKIT_REQUIRE_HARNESS=1 (scripts/test sets it)."""
    print(f"{what} not run: {reason}")
    if os.environ.get("AUGKIT_REQUIRE_HARNESS") == "1":
        pytest.fail(f"AUGKIT_REQUIRE_HARNESS=1 but {reason}")
    pytest.skip(reason)


def harness_binary(missing) -> pathlib.Path:
    """The `augkit` harness binary: AUGKIT_HARNESS_BIN, else target/release
    or target/debug; `missing(reason)` when there is none."""
    env = os.environ.get("AUGKIT_HARNESS_BIN")
    candidates = [pathlib.Path(env)] if env else [ROOT / "target" / "release" / "augkit", ROOT / "target" / "debug" / "augkit"]
    for c in candidates:
        if c.is_file():
            return c
    missing(f"no harness binary at {', '.join(map(str, candidates))} (cargo build -p augkit-harness)")


def require_gpu_or_skip(reason: str) -> None:
    """Skip with a printed reason, or fail under AUGKIT_REQUIRE_GPU=1."""
    print(f"GPU test not run: {reason}")
    if os.environ.get("AUGKIT_REQUIRE_GPU") == "1":
        pytest.fail(f"AUGKIT_REQUIRE_GPU=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def data():
    g = torch.Generator().manual_seed(1234)
    images = torch.randint(0, 256, (37, 3, 9, 11), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 5, (37,), generator=g)
    return images, labels


@pytest.fixture
def all_policy():
    return POLICIES / "all.toml"
