"""Writes (or, imported, computes) torchvision's TrivialAugmentWide and
RandAugment magnitude tables as float32 bit patterns: the known answers of
`tests/cpu_semantics.rs` (`auto_magnitude_tables_equal_torchvisions`), which
reads tests/data/auto_magnitudes.txt. `test_torchvision_auto_ops.py` checks
the committed file against torch itself.

Run: python python/tests/auto_magnitude_tables.py > tests/data/auto_magnitudes.txt"""

import torch

BINS = (31, 7, 2, 256)


def tables():
    """(name, bins, [f32 bits]) per table; names as the Rust test reads them."""
    out = []
    for bins in BINS:
        spaces = [
            ("shear_wide", 0.99), ("translate_wide", 32.0), ("rotate_wide", 135.0), ("enhance_wide", 0.99),
            ("shear_rand", 0.3), ("translate_rand_w32", 150.0 / 331.0 * 32), ("translate_rand_w17", 150.0 / 331.0 * 17),
            ("rotate_rand", 30.0), ("enhance_rand", 0.9),
        ]
        for name, end in spaces:
            out.append((name, bins, torch.linspace(0.0, end, bins)))
        out.append(("solarize", bins, torch.linspace(1.0, 0.0, bins)))
        for r in (6, 4):
            bits = (8 - (torch.arange(bins) / ((bins - 1) / r))).round().int().to(torch.float32)
            out.append((f"posterize_{r}", bins, bits))
    return [(n, b, [v & 0xFFFFFFFF for v in t.view(torch.int32).tolist()]) for n, b, t in out]


def text():
    return "".join(f"{n} {b} {' '.join(f'{v:08x}' for v in vs)}\n" for n, b, vs in tables())


if __name__ == "__main__":
    print(text(), end="")
