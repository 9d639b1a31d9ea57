#!/usr/bin/env python3
"""The augkit harness against plain PyTorch: same model, data, techniques, seeds.

Trains the simple CNN on real Fashion-MNIST twice per (technique, seed):
once through `augkit experiment` and once here, in plain PyTorch with
torchvision v2 per-sample transforms and a timm-style per-sample
("elem") mixup / cutmix written below. Both sides use

- the same stratified training subset: augkit-data's `stratified_subset`
  (SplitMix64 per class, Fisher-Yates, Lemire's multiply-shift) is
  reimplemented here, and the per-channel mean / std it gives is compared with
  the normalisation the harness recorded, which differs if one index does;
- the same initial weights: `torch.manual_seed(seed)` and then the model, as the
  harness does (its simple CNN draws PyTorch's default init in PyTorch's order);
- the same optimiser (Adam, coupled weight decay), batch size, epochs, constant
  learning rate, mean cross-entropy over the batch (soft targets when mixed),
  and the same test set.

Dropout masks, the epoch shuffle and the augmentation draws come from each
side's own generator, so single runs differ by seed noise; the comparison is
over seeds. Agreement per technique: |Δ mean accuracy| ≤ --acc-pp, or within
two standard errors of the difference when the seeds spread wider; epoch-1
mean training loss within --loss-rel of PyTorch's. Exit status 1 on any
disagreement.

Normally started by scripts/check-against-pytorch (which sets up the venv,
builds `augkit` and passes --augkit). `--init-check FILE` is the mode the
harness's model test uses: it compares the raw f32 parameters in FILE with
this file's model built under `torch.manual_seed(--seed)`.
"""

import argparse
import gzip
import json
import math
import os
import statistics
import struct
import subprocess
import sys
import time
import tomllib

import torch
import torch.nn.functional as F
from torch import nn

FASHION_DIRS = ["/usr/share/datasets/fashion-mnist"]
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
MASK64 = (1 << 64) - 1


# --- the model ----------------------------------------------------------------

class SimpleCnn(nn.Module):
    """The harness's simple CNN (harness/src/models.rs), PyTorch's default init."""

    def __init__(self, channels, height, width, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(64 * ((height - 4) // 2) * ((width - 4) // 2), 128)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = F.dropout(x, 0.25, self.training)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, 0.5, self.training)
        return self.fc2(x)


def init_check(path, seed, shape, classes):
    """Compares the harness's initial parameters (raw little-endian f32, in
    PyTorch's parameter order) with this model's under manual_seed(seed)."""
    torch.manual_seed(seed)
    model = SimpleCnn(*shape, classes)
    data = open(path, "rb").read()
    theirs = torch.frombuffer(bytearray(data), dtype=torch.float32)
    ours = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    if theirs.numel() != ours.numel():
        print(f"init-check: {theirs.numel()} values in {path}, the PyTorch model has {ours.numel()}")
        return 1
    offset = 0
    bad = 0
    for name, p in model.named_parameters():
        n = p.numel()
        delta = (theirs[offset:offset + n] - p.detach().reshape(-1)).abs().max().item()
        same = torch.equal(theirs[offset:offset + n], p.detach().reshape(-1))
        print(f"init-check: {name:12} {tuple(p.shape)} max |Δ| {delta:.3g}{'' if same else '  DIFFERENT'}")
        bad += not same
        offset += n
    return 1 if bad else 0


# --- data ---------------------------------------------------------------------

def read_idx(path):
    raw = gzip.open(path, "rb").read() if path.endswith(".gz") else open(path, "rb").read()
    zero, kind, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or kind != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    body = raw[4 + 4 * ndim:]
    if len(body) != math.prod(dims):
        raise ValueError(f"{path}: {len(body)} bytes of data, the header says {math.prod(dims)}")
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(dims)


def find_idx_dir(data_dir):
    """The directory holding the four IDX files, searched as augkit-data does:
    DIR, DIR/fashion-mnist, then Debian's package location."""
    for d in [data_dir, os.path.join(data_dir, "fashion-mnist")] + FASHION_DIRS:
        if all(os.path.isfile(os.path.join(d, f)) or os.path.isfile(os.path.join(d, f + ".gz"))
               for f in IDX_FILES.values()):
            return d
    raise SystemExit(f"no Fashion-MNIST IDX files in {data_dir}, {data_dir}/fashion-mnist or {FASHION_DIRS}")


def load_fashion(data_dir):
    d = find_idx_dir(data_dir)
    out = {}
    for key, name in IDX_FILES.items():
        p = os.path.join(d, name)
        out[key] = read_idx(p if os.path.isfile(p) else p + ".gz")
    return d, out


class SplitMix64:
    """augkit-data's generator (harness/data/src/rng.rs)."""

    def __init__(self, seed, stream):
        self.state = (seed ^ (stream * 0xD1B54A32D192ED03)) & MASK64
        self.next()

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n):
        return (self.next() * n) >> 64

    def shuffle(self, v):
        for i in range(len(v) - 1, 0, -1):
            j = self.below(i + 1)
            v[i], v[j] = v[j], v[i]


def stratified_subset(labels, num_classes, per_class, seed):
    """augkit-data's stratified_subset(labels, C, PerClass(n), seed), sorted."""
    by_class = [[] for _ in range(num_classes)]
    for i, l in enumerate(labels.tolist()):
        by_class[l].append(i)
    out = []
    for c, idx in enumerate(by_class):
        if len(idx) < per_class:
            raise SystemExit(f"class {c} has {len(idx)} images, fewer than {per_class}")
        SplitMix64(seed, c).shuffle(idx)
        out.extend(idx[:per_class])
    return sorted(out)


def channel_stats(images_u8):
    """Population mean / std per channel in [0, 1] units (harness: channel_statistics)."""
    x = images_u8.to(torch.float64) / 255.0
    dims = [0] + list(range(2, x.dim()))
    mean = x.mean(dim=dims)
    std = ((x * x).mean(dim=dims) - mean * mean).clamp(min=0).sqrt()
    return mean.tolist(), [s if s > 1e-6 else 1.0 for s in std.tolist()]


# --- techniques ---------------------------------------------------------------

def per_sample_transform(policy, height, width):
    """torchvision v2 transforms for one augkit policy (geometry, then colour),
    or None for the identity."""
    from torchvision.transforms import v2

    ops = []
    crop = policy.get("crop")
    if crop:
        if crop.get("kind") != "pad":
            raise SystemExit(f"crop kind {crop.get('kind')!r}: only pad crops are compared")
        op = v2.RandomCrop((height, width), padding=crop["padding"], fill=0)
        ops.append(op if crop.get("p", 1.0) >= 1.0 else v2.RandomApply([op], p=crop["p"]))
    if policy.get("horizontal_flip", 0.0) > 0:
        ops.append(v2.RandomHorizontalFlip(policy["horizontal_flip"]))
    if policy.get("vertical_flip", 0.0) > 0:
        ops.append(v2.RandomVerticalFlip(policy["vertical_flip"]))
    affine = policy.get("affine")
    if affine:
        if affine.get("interpolation", "nearest") != "nearest" or affine.get("translate_mode", "whole_pixels") != "whole_pixels":
            raise SystemExit("affine: only nearest interpolation and whole-pixel translation are compared")
        degrees = affine.get("degrees", 0.0)
        scale = affine.get("scale", [1.0, 1.0])
        op = v2.RandomAffine(
            degrees=tuple(degrees) if isinstance(degrees, list) else degrees,
            translate=tuple(affine.get("translate", [0.0, 0.0])),
            scale=None if scale == [1.0, 1.0] else tuple(scale),
            fill=affine.get("fill", 0.0) * 255.0,
        )
        p = affine.get("p", 1.0)
        ops.append(op if p >= 1.0 else v2.RandomApply([op], p=p))
    jitter = policy.get("color_jitter")
    if jitter:
        strength = lambda k: None if jitter.get(k) is None else (
            tuple(jitter[k]) if isinstance(jitter[k], list) else jitter[k])
        op = v2.ColorJitter(strength("brightness"), strength("contrast"),
                            strength("saturation"), strength("hue"))
        p = jitter.get("p", 1.0)
        ops.append(op if p >= 1.0 else v2.RandomApply([op], p=p))
    unknown = set(policy) - {"crop", "horizontal_flip", "vertical_flip", "affine", "color_jitter", "mix", "output"}
    if unknown:
        raise SystemExit(f"policy fields not compared: {sorted(unknown)}")
    return v2.Compose(ops) if ops else None


def beta(alpha, n, gen):
    # Beta(α, α) from two Gamma variates drawn from `gen`.
    a = torch._standard_gamma(torch.full((n,), float(alpha), dtype=torch.float64), generator=gen)
    b = torch._standard_gamma(torch.full((n,), float(alpha), dtype=torch.float64), generator=gen)
    lam = a / (a + b)
    return torch.where(torch.isfinite(lam), lam, torch.full_like(lam, 0.5))


def mix_elem(x, y, mix, classes, gen):
    """timm Mixup in "elem" mode on a normalised batch x [B, C, H, W]: each
    sample i, with probability prob, mixes with partner B−1−i — cutmix with
    probability switch_prob when both are on — with its own λ ~ Beta(α, α);
    cutmix pastes the partner's box of side ratio √(1−λ) at a uniform centre,
    clipped, and λ becomes 1 − box area / image area. Returns (x, soft targets)."""
    b, _, h, w = x.shape
    mixup_a, cutmix_a = mix.get("mixup_alpha", 0.0), mix.get("cutmix_alpha", 0.0)
    lam = torch.ones(b, dtype=torch.float64)
    use_cutmix = torch.zeros(b, dtype=torch.bool)
    if mixup_a > 0 and cutmix_a > 0:
        use_cutmix = torch.rand(b, generator=gen) < mix.get("switch_prob", 0.5)
        lam_mix = torch.where(use_cutmix, beta(cutmix_a, b, gen), beta(mixup_a, b, gen))
    elif mixup_a > 0:
        lam_mix = beta(mixup_a, b, gen)
    else:
        use_cutmix = torch.ones(b, dtype=torch.bool)
        lam_mix = beta(cutmix_a, b, gen)
    lam = torch.where(torch.rand(b, generator=gen, dtype=torch.float64) < mix.get("prob", 1.0), lam_mix, lam)
    source = x.clone()
    for i in range(b):
        j, l = b - 1 - i, lam[i].item()
        if l == 1.0:
            continue
        if use_cutmix[i]:
            ratio = math.sqrt(1.0 - l)
            cut_h, cut_w = int(h * ratio), int(w * ratio)
            cy = int(torch.randint(0, h, (1,), generator=gen))
            cx = int(torch.randint(0, w, (1,), generator=gen))
            yl, yh = min(max(cy - cut_h // 2, 0), h), min(max(cy + cut_h // 2, 0), h)
            xl, xh = min(max(cx - cut_w // 2, 0), w), min(max(cx + cut_w // 2, 0), w)
            x[i, :, yl:yh, xl:xh] = source[j, :, yl:yh, xl:xh]
            if mix.get("correct_lambda", True):
                lam[i] = 1.0 - (yh - yl) * (xh - xl) / float(h * w)
        else:
            x[i] = source[i] * l + source[j] * (1.0 - l)
    s = mix.get("label_smoothing", 0.0)
    off, on = s / classes, 1.0 - s + s / classes
    one_hot = lambda t: torch.full((b, classes), off).scatter_(1, t.unsqueeze(1), on)
    lam = lam.to(torch.float32).unsqueeze(1)
    return x, lam * one_hot(y) + (1.0 - lam) * one_hot(y.flip(0))


# --- one PyTorch run ----------------------------------------------------------

def steps_per_epoch(n, batch):
    # The harness keeps the remainder as a last batch unless it is one sample.
    return n // batch + (1 if n % batch >= 2 else 0)


def train_pytorch(data, subset, policy, seed, args):
    train_x, train_y = data["train_images"], data["train_labels"].to(torch.int64)
    test_x, test_y = data["test_images"], data["test_labels"].to(torch.int64)
    if train_x.dim() == 3:
        train_x, test_x = train_x.unsqueeze(1), test_x.unsqueeze(1)
    _, c, h, w = train_x.shape
    classes = int(train_y.max()) + 1
    sub = torch.tensor(subset, dtype=torch.int64)
    xs, ys = train_x[sub], train_y[sub]
    mean, std = channel_stats(xs)
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, c, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, c, 1, 1)
    normalise = lambda u8: (u8.to(torch.float32) / 255.0 - mean_t) / std_t
    transform = per_sample_transform(policy, h, w)
    mix = policy.get("mix")

    torch.manual_seed(seed)
    model = SimpleCnn(c, h, w, classes)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    gen = torch.Generator().manual_seed(seed + 0x5EED)
    n, steps = len(subset), steps_per_epoch(len(subset), args.batch_size)
    losses = []
    start = time.perf_counter()
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(n, generator=gen)
        loss_sum, seen = 0.0, 0
        for k in range(steps):
            idx = order[k * args.batch_size:(k + 1) * args.batch_size]
            batch = xs[idx]
            if transform is not None:
                batch = torch.stack([transform(img) for img in batch])
            x, y = normalise(batch), ys[idx]
            if mix:
                x, target = mix_elem(x, y, mix, classes, gen)
                loss = torch.sum(-target * F.log_softmax(model(x), dim=-1), dim=-1).mean()
            else:
                loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
        losses.append(loss_sum / seen)
    model.eval()
    with torch.no_grad():
        tx = normalise(test_x)
        pred = torch.cat([model(tx[i:i + 256]).argmax(-1) for i in range(0, len(tx), 256)])
    return {
        "accuracy": (pred == test_y).double().mean().item(),
        "epoch_losses": losses,
        "mean": mean,
        "std": std,
        "wall_s": time.perf_counter() - start,
    }


# --- the comparison -----------------------------------------------------------

def mean_std(values):
    m = statistics.fmean(values)
    return m, (statistics.stdev(values) if len(values) > 1 else 0.0)


def harness_command(args, out_dir):
    return [
        args.augkit, "experiment", "--out", out_dir, "--datasets", "fashion-mnist",
        "--data-dir", args.data_dir, "--techniques", ",".join(args.techniques),
        "--seeds", ",".join(map(str, args.seeds)), "--train-per-class", str(args.train_per_class),
        "--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
        "--weight-decay", str(args.weight_decay), "--eval-every", "0", "--backend", "cpu",
        "--threads", str(args.threads), "--quiet",
    ]


def read_harness(out_dir):
    """{(technique, seed): result.json} of a finished `augkit experiment`."""
    results = {}
    cells = os.path.join(out_dir, "cells")
    for cell in sorted(os.listdir(cells)):
        try:
            cfg = json.load(open(os.path.join(cells, cell, "config.json")))
            res = json.load(open(os.path.join(cells, cell, "result.json")))
        except FileNotFoundError:
            continue
        results[(cfg["technique"], cfg["seed"])] = res
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--augkit", default="target/release/augkit", help="the augkit binary")
    ap.add_argument("--data-dir", default="data")
    ap.add_argument("--policy-dir", default="harness/policies")
    ap.add_argument("--techniques", default="none,crop,rotation,mixup,cutmix,all")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--train-per-class", type=int, default=400)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=1,
                    help="libtorch threads per side; the harness runs beside the PyTorch side")
    ap.add_argument("--acc-pp", type=float, default=1.0, help="accuracy bound, percentage points")
    ap.add_argument("--loss-rel", type=float, default=0.10, help="epoch-1 loss bound, relative")
    ap.add_argument("--out", default="target/check-against-pytorch")
    ap.add_argument("--ci", action="store_true",
                    help="the fast CI check: crop only, 100 per class, 2 epochs, seeds 0,1, bounds 6 pp / 25 %%")
    ap.add_argument("--init-check", metavar="FILE", help="compare FILE's initial parameters and exit")
    ap.add_argument("--seed", type=int, default=0, help="--init-check: the seed")
    ap.add_argument("--shape", default="1,28,28", help="--init-check: C,H,W")
    ap.add_argument("--classes", type=int, default=10, help="--init-check: classes")
    args = ap.parse_args()
    if args.init_check:
        sys.exit(init_check(args.init_check, args.seed, [int(v) for v in args.shape.split(",")], args.classes))
    if args.ci:
        args.techniques, args.seeds, args.train_per_class, args.epochs = "crop", "0,1", 100, 2
        args.acc_pp, args.loss_rel = 6.0, 0.25
    args.techniques = [t for t in args.techniques.split(",") if t]
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    torch.set_num_threads(args.threads)

    os.makedirs(args.out, exist_ok=True)
    harness_dir = os.path.join(args.out, "harness")
    log_path = os.path.join(args.out, "harness.log")
    command = harness_command(args, harness_dir)
    print("harness:", " ".join(command), f"(log: {log_path})", flush=True)
    started = time.perf_counter()
    harness = subprocess.Popen(command, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)

    where, data = load_fashion(args.data_dir)
    print(f"data: Fashion-MNIST IDX files from {where}: {len(data['train_labels'])} train, "
          f"{len(data['test_labels'])} test", flush=True)
    subsets = {s: stratified_subset(data["train_labels"], 10, args.train_per_class, s) for s in args.seeds}
    ours = {}
    for technique in args.techniques:
        policy = tomllib.load(open(os.path.join(args.policy_dir, technique + ".toml"), "rb"))
        for seed in args.seeds:
            r = train_pytorch(data, subsets[seed], policy, seed, args)
            ours[(technique, seed)] = r
            print(f"pytorch {technique:9} seed {seed}: accuracy {100 * r['accuracy']:.2f} %, "
                  f"loss epoch 1 {r['epoch_losses'][0]:.4f}, last {r['epoch_losses'][-1]:.4f}, "
                  f"{r['wall_s']:.0f} s", flush=True)
    pytorch_s = time.perf_counter() - started
    code = harness.wait()
    harness_s = time.perf_counter() - started
    if code != 0:
        print(f"the harness failed (exit {code}); its log, {log_path}, ends:")
        print("".join(open(log_path).readlines()[-20:]))
        return 1
    theirs = read_harness(harness_dir)

    failures = []
    rows = []
    for (technique, seed), r in ours.items():
        h = theirs.get((technique, seed))
        if h is None:
            failures.append(f"{technique} seed {seed}: no harness result")
            continue
        out = h["config"]["policy"]["output"]
        if max(abs(a - b) for a, b in zip(out["mean"] + out["std"], r["mean"] + r["std"])) > 1e-6:
            failures.append(f"{technique} seed {seed}: the harness normalised with mean {out['mean']} std "
                            f"{out['std']}, this subset gives {r['mean']} {r['std']}: different subsets")
    for technique in args.techniques:
        pairs = [(theirs.get((technique, s)), ours[(technique, s)]) for s in args.seeds]
        if any(h is None for h, _ in pairs):
            continue
        acc_h = [100 * h["test"]["accuracy"] for h, _ in pairs]
        acc_p = [100 * p["accuracy"] for _, p in pairs]
        l1_h = [h["curves"][0]["train_loss"] for h, _ in pairs]
        l1_p = [p["epoch_losses"][0] for _, p in pairs]
        ll_h = [h["curves"][-1]["train_loss"] for h, _ in pairs]
        ll_p = [p["epoch_losses"][-1] for _, p in pairs]
        (mh, sh), (mp, sp) = mean_std(acc_h), mean_std(acc_p)
        diff = mh - mp
        se = math.sqrt(sh ** 2 / len(acc_h) + sp ** 2 / len(acc_p))
        acc_ok = abs(diff) <= args.acc_pp or abs(diff) <= 2 * se
        rel = statistics.fmean(l1_h) / statistics.fmean(l1_p) - 1.0
        loss_ok = abs(rel) <= args.loss_rel
        rows.append((technique, mh, sh, mp, sp, diff, se, statistics.fmean(l1_h), statistics.fmean(l1_p), rel,
                     statistics.fmean(ll_h), statistics.fmean(ll_p), acc_ok and loss_ok))
        if not acc_ok:
            failures.append(f"{technique}: accuracy {mh:.2f} vs {mp:.2f} (Δ {diff:+.2f} pp, 2·SE {2 * se:.2f})")
        if not loss_ok:
            failures.append(f"{technique}: epoch-1 loss {statistics.fmean(l1_h):.4f} vs "
                            f"{statistics.fmean(l1_p):.4f} ({100 * rel:+.1f} %)")

    print()
    print(f"Fashion-MNIST, simple CNN, {args.train_per_class} per class, {args.epochs} epochs, batch "
          f"{args.batch_size}, Adam {args.lr:g} wd {args.weight_decay:g}, seeds {args.seeds}; "
          f"accuracy in %, mean ± std over seeds; bounds {args.acc_pp:g} pp (or 2·SE) and "
          f"{100 * args.loss_rel:g} % epoch-1 loss")
    print("| technique | harness acc | PyTorch acc | Δ pp | 2·SE | harness loss e1 | PyTorch loss e1 | Δ e1 "
          "| harness loss last | PyTorch loss last | agree |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for t, mh, sh, mp, sp, diff, se, l1h, l1p, rel, llh, llp, ok in rows:
        print(f"| {t} | {mh:.2f} ± {sh:.2f} | {mp:.2f} ± {sp:.2f} | {diff:+.2f} | {2 * se:.2f} | {l1h:.4f} "
              f"| {l1p:.4f} | {100 * rel:+.1f} % | {llh:.4f} | {llp:.4f} | {'yes' if ok else 'NO'} |")
    print(f"\nwall: PyTorch side {pytorch_s:.0f} s, both sides done after {harness_s:.0f} s (the harness "
          f"running beside it, {args.threads} libtorch thread(s) each); subsets checked identical by their "
          f"normalisation")
    json.dump({"rows": [dict(zip(["technique", "harness_mean", "harness_std", "pytorch_mean", "pytorch_std",
                                  "diff_pp", "se_pp", "harness_loss1", "pytorch_loss1", "loss1_rel",
                                  "harness_loss_last", "pytorch_loss_last", "agree"], r)) for r in rows],
               "failures": failures},
              open(os.path.join(args.out, "comparison.json"), "w"), indent=1)
    if failures:
        print("\nDISAGREEMENT:")
        for f in failures:
            print("  " + f)
        return 1
    print("\ncheck-against-pytorch: every technique agrees")
    return 0


if __name__ == "__main__":
    sys.exit(main())
