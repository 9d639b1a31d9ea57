"""Checkpointing: an interrupted run resumed from state_dict() in a fresh
Augmenter yields bit-identical batches, and a state from another run is
refused."""

import json

import pytest
import torch

import augkit


def run(aug, epochs, batch_size, stop_after=None):
    out = []
    for epoch in range(epochs):
        for batch in aug.epoch(epoch, batch_size):
            out.append(batch)
            if stop_after is not None and len(out) == stop_after:
                return out
    return out


def test_interrupt_and_resume_is_bit_identical(data, all_policy):
    images, labels = data
    make = lambda: augkit.Augmenter(all_policy, images, labels, num_classes=5, seed=21)
    whole = run(make(), epochs=3, batch_size=7)  # 6 steps per epoch
    first = make()
    head = run(first, epochs=3, batch_size=7, stop_after=8)  # stops inside epoch 1
    state = json.loads(json.dumps(first.state_dict()))  # a checkpoint survives JSON
    assert (state["epoch"], state["step"], state["position"]) == (1, 2, 14)
    resumed = make()
    resumed.load_state_dict(state)
    tail = []
    for epoch in range(state["epoch"], 3):
        tail.extend(resumed.epoch(epoch, 7))
    assert len(head) + len(tail) == len(whole) == 18
    for i, (a, b) in enumerate(zip(head + tail, whole)):
        for got, want in zip(a, b):
            assert torch.equal(got, want), f"batch {i} differs after resume"
    assert resumed.state_dict()["epoch"] == 3 and resumed.state_dict()["step"] == 0


def test_state_from_another_run_is_refused(data, all_policy):
    images, labels = data
    aug = augkit.Augmenter(all_policy, images, labels, num_classes=5, seed=21)
    next(iter(aug.epoch(0, 7)))
    state = aug.state_dict()
    other_seed = augkit.Augmenter(all_policy, images, labels, num_classes=5, seed=22)
    with pytest.raises(ValueError, match="seed"):
        other_seed.load_state_dict(state)
    other_policy = augkit.Augmenter("horizontal_flip = 0.5\n", images, labels, num_classes=5, seed=21)
    with pytest.raises(ValueError, match="policy_sha256"):
        other_policy.load_state_dict(state)
    with pytest.raises(ValueError, match="missing"):
        aug.load_state_dict({"seed": 21})
    resumed = augkit.Augmenter(all_policy, images, labels, num_classes=5, seed=21)
    resumed.load_state_dict(state)
    with pytest.raises(ValueError, match="batch_size"):
        resumed.epoch(0, 8)
