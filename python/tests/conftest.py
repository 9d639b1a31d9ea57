"""Shared fixtures: a small seeded dataset of awkward size (37 non-square
3×9×11 images) and the repository's policy files."""

import os
import pathlib

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[2]
POLICIES = ROOT / "harness" / "policies"


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
