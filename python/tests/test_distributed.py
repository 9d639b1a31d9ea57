"""Sharding: two gloo processes (torch.distributed, CPU) each take their
round-robin share of the epoch's batches; the union is the epoch, and every
batch equals the single-process run's batch at the same positions."""

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import augkit

N, BATCH, WORLD = 37, 8, 2  # 5 batches (the last of 5 samples): rank 1 pads with batch 0


def dataset():
    g = torch.Generator().manual_seed(77)
    images = torch.randint(0, 256, (N, 3, 9, 11), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 4, (N,), generator=g)
    return images, labels


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank: int, port: int, policy: str, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        images, labels = dataset()
        # rank / world_size come from torch.distributed, as DistributedSampler's do.
        aug = augkit.Augmenter(policy, images, labels, num_classes=4, seed=11)
        assert (aug.rank, aug.world_size) == (rank, WORLD)
        record = {"batches": []}
        for epoch in range(2):
            for step, (x, y_a, y_b, lam) in enumerate(aug.epoch(epoch, BATCH)):
                first, size = aug.step_positions(step, BATCH)
                record["batches"].append((epoch, first, size, x.clone(), y_a, y_b, lam))
        # Every rank ran the same number of steps (DDP's collectives need it).
        counts = [None] * WORLD
        dist.all_gather_object(counts, len(record["batches"]))
        record["counts"] = counts
        torch.save(record, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_share_the_epoch(tmp_path, all_policy):
    port = free_port()
    mp.spawn(worker, args=(port, str(all_policy), str(tmp_path)), nprocs=WORLD, join=True)
    records = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]
    assert records[0]["counts"] == records[1]["counts"] == [6, 6]

    images, labels = dataset()
    single = augkit.Augmenter(all_policy, images, labels, num_classes=4, seed=11)
    assert single.steps_per_epoch(BATCH) == 5
    for epoch in range(2):
        reference = {}
        for step, batch in enumerate(single.epoch(epoch, BATCH)):
            reference[single.step_positions(step, BATCH)] = batch
        covered = []
        for rank, record in enumerate(records):
            mine = [b for b in record["batches"] if b[0] == epoch]
            assert len(mine) == 3
            for step, (_, first, size, x, y_a, y_b, lam) in enumerate(mine):
                ref = reference[(first, size)]
                assert torch.equal(x, ref[0]), f"rank {rank} epoch {epoch} step {step}: images differ"
                assert torch.equal(y_a, ref[1]) and torch.equal(y_b, ref[2]) and torch.equal(lam, ref[3])
                padded = rank + step * WORLD >= 5
                if not padded:
                    covered.extend(range(first, first + size))
                else:
                    assert (first, size) == (0, BATCH), "padding repeats the epoch's first batch"
        assert sorted(covered) == list(range(N)), "the ranks' batches are not a partition of the epoch"


def test_drop_last_drops_the_partial_batch_and_round(data):
    images, labels = data  # 37 images
    ranks = [augkit.Augmenter(None, images, labels, rank=r, world_size=2, drop_last=True) for r in range(2)]
    # 37 // 8 = 4 full batches, 2 per rank; the 5 samples after 32 are dropped.
    assert [a.steps_per_epoch(8) for a in ranks] == [2, 2]
    firsts = sorted(a.step_positions(s, 8)[0] for a in ranks for s in range(2))
    assert firsts == [0, 8, 16, 24]
    three = [augkit.Augmenter(None, images, labels, rank=r, world_size=3, drop_last=True) for r in range(3)]
    assert [a.steps_per_epoch(8) for a in three] == [1, 1, 1], "the incomplete round (batch 3) is dropped"
