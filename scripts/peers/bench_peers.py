#!/usr/bin/env python3
"""augkit against the Python augmentation libraries, on the CPU.

Runs pipelines A-E (see benches/pipelines/*.toml and docs/PERFORMANCE.md,
"Against the Python libraries") through torchvision v2 (per sample and on a
whole batch), kornia (batch, same_on_batch=False), albumentations (per
sample), timm's Mixup (elem mode), augkit's CPU backend (the
`peer_pipelines` example, Rust) and the same backend called from Python
through the `augkit` package (python/; the FFI and the DLPack hand-off into a
torch tensor included), at batch 64 and 1024, on 32x32x3 uint8 images,
f32 normalised NCHW out. Prints a table and writes results.json and
results.md into the results directory. The Rust row and the Python rows run
back to back in pairs (--pairs), so their ratio — the hand-off's cost, and
the E b1024 >= 90 % target — is read pair by pair, not across the minutes a
round takes.

Normally started by scripts/bench-peers, which installs the libraries, builds
the example and sets the thread variables.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
PIPELINES = "abcde"
DESCRIPTION = {
    "a": "RandomCrop(32, padding=4) + HorizontalFlip(0.5)",
    "b": "A + RandomAffine(±15°, translate 0.1, nearest)",
    "c": "B + ColorJitter(0.4, 0.4, 0.4, 0.1)",
    "d": "Mixup/CutMix (α 1, switch 0.5, elem) only",
    "e": "C then CutMix (α 1, elem)",
}
LIBS = ["augkit_py", "augkit_py_out", "tv_sample", "tv_loader", "tv_batch", "kornia", "albumentations", "alb_loader", "timm"]
LIB_TITLE = {
    "augkit_cpu": "augkit CPU",
    "augkit_wgpu": "augkit wgpu",
    "augkit_py": "augkit CPU from Python, new tensor per batch",
    "augkit_py_out": "augkit CPU from Python, out= reused",
    "tv_sample": "torchvision v2 per sample, 1 process",
    "tv_loader": "torchvision v2 per sample, DataLoader N workers",
    "tv_batch": "torchvision v2 on the batch †",
    "kornia": "kornia batch",
    "albumentations": "albumentations per sample, 1 process",
    "alb_loader": "albumentations per sample, DataLoader N workers",
    "timm": "timm Mixup (elem)",
}
N_IMAGES = 4096


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("AUGKIT_BENCH_THREADS", os.cpu_count() or 1)))
    ap.add_argument("--out", default="target/bench-peers")
    ap.add_argument("--batches", default="64,1024")
    ap.add_argument("--pipelines", default=PIPELINES)
    ap.add_argument("--libs", default=",".join(LIBS))
    ap.add_argument("--rounds", type=int, default=2, help="passes over all cases; each case keeps its best")
    ap.add_argument("--budget", type=float, default=1.0,
                    help="seconds of timed calls aimed at per case (repeats = budget / one call, clamped)")
    ap.add_argument("--min-repeats", type=int, default=3)
    ap.add_argument("--max-repeats", type=int, default=15)
    ap.add_argument("--augkit-bin", default="target/release/examples/peer_pipelines")
    ap.add_argument("--augkit-repeats", type=int, default=15)
    ap.add_argument("--pairs", type=int, default=3,
                    help="per round and case, paired runs of the Rust row and the augkit-from-Python rows "
                         "back to back, for the hand-off ratio (median of all pairs)")
    ap.add_argument("--wgpu", action="store_true", default=os.environ.get("AUGKIT_WGPU") == "1",
                    help="also time augkit's wgpu backend (default: AUGKIT_WGPU=1)")
    return ap.parse_args()


ARGS = parse_args()
# Before torch is imported: every library gets the same thread count.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)
# libgomp's default spin-wait makes torch's N-thread ops collapse (measured
# 18 ms instead of 0.5 ms for a batch-64 CutMix) when another process holds a
# core, as on a shared 2-core machine; passive waiting avoids that.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(ARGS.threads)
torch.set_num_interop_threads(ARGS.threads)
import cv2  # noqa: E402

cv2.setNumThreads(ARGS.threads)
import albumentations as A  # noqa: E402
import kornia  # noqa: E402
import kornia.augmentation as K  # noqa: E402
import timm  # noqa: E402
import torchvision  # noqa: E402
from timm.data import Mixup  # noqa: E402
from torchvision.transforms import v2  # noqa: E402

try:
    import albucore  # noqa: E402
except ImportError:  # pragma: no cover
    albucore = None

# ---------------------------------------------------------------- the data
rng = np.random.default_rng(0)
IMGS_HWC = rng.integers(0, 256, size=(N_IMAGES, 32, 32, 3), dtype=np.uint8)
IMGS_CHW = torch.from_numpy(IMGS_HWC).permute(0, 3, 1, 2).contiguous()
LABELS = torch.from_numpy(rng.integers(0, 10, size=N_IMAGES)).long()
MEAN_T = torch.tensor(MEAN).view(1, 3, 1, 1)
STD_T = torch.tensor(STD).view(1, 3, 1, 1)


def timm_mixup(p):
    """timm's Mixup, elem mode (per-sample λ and mixup/cutmix choice)."""
    if p == "d":
        return Mixup(mixup_alpha=1.0, cutmix_alpha=1.0, prob=1.0, switch_prob=0.5, mode="elem",
                     label_smoothing=0.0, num_classes=10)
    if p == "e":
        return Mixup(mixup_alpha=0.0, cutmix_alpha=1.0, prob=1.0, mode="elem",
                     label_smoothing=0.0, num_classes=10)
    return None


class one_thread:
    """Per-image work runs with one torch intra-op thread, as in a DataLoader
    worker (PyTorch sets 1 there). With N threads, OpenMP on 3x32x32 tensors
    only adds fork/join cost, and on a loaded machine it collapses (10-20x
    slower measured here)."""

    def __enter__(self):
        torch.set_num_threads(1)

    def __exit__(self, *exc):
        torch.set_num_threads(ARGS.threads)


# ------------------------------------------------------------ torchvision v2
def tv_compose(p):
    ops = []
    if p != "d":
        ops += [v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(0.5)]
    if p in "bce":
        ops.append(v2.RandomAffine(degrees=15, translate=(0.1, 0.1),
                                   interpolation=v2.InterpolationMode.NEAREST))
    ops.append(v2.ToDtype(torch.float32, scale=True))
    if p in "ce":
        # On float pixels, as augkit's semantics (torchvision's float path).
        ops.append(v2.ColorJitter(0.4, 0.4, 0.4, 0.1))
    ops.append(v2.Normalize(MEAN, STD))
    return v2.Compose(ops)


def make_tv_sample(p, b):
    t = tv_compose(p)
    mix = timm_mixup(p)

    def call(s):
        with one_thread():
            x = torch.stack([t(IMGS_CHW[s + i]) for i in range(b)])
        y = LABELS[s:s + b]
        if mix is not None:
            x, y = mix(x, y)
        return x

    return call, ("Compose per image (1 torch thread, as a DataLoader worker), torch.stack"
                  + ("; timm Mixup elem" if mix else ""))


class _PerImage(torch.utils.data.Dataset):
    def __init__(self, t, kind):
        self.t, self.kind = t, kind

    def __len__(self):
        return N_IMAGES

    def __getitem__(self, i):
        if self.kind == "tv":
            return self.t(IMGS_CHW[i]), LABELS[i]
        return torch.from_numpy(self.t(image=IMGS_HWC[i])["image"]).permute(2, 0, 1), LABELS[i]


class Loader:
    """The usual training-loop way: a map-style Dataset applying the per-image
    transform, DataLoader(num_workers=N) collating by torch.stack, mixing in
    the main process. Timed per batch in steady state (workers prefetch)."""

    def __init__(self, t, kind, p, b):
        self.ds, self.p, self.b = _PerImage(t, kind), p, b
        self.mix = timm_mixup(p)

    def run(self):
        """Steady-state rate: batches `warm`..`warm + k` over their wall time.
        Workers prefetch (at most N·prefetch_factor batches ahead), so a
        per-batch median would time the queue; the rate over k ≥ 8 batches
        bounds that error by the N batches possibly ready at the start."""
        b = self.b
        warm = 2
        dl_len = warm + ARGS.max_repeats + 8
        sampler = [i % N_IMAGES for i in range(dl_len * b)]
        dl = torch.utils.data.DataLoader(self.ds, batch_size=b, sampler=sampler, num_workers=ARGS.threads,
                                         prefetch_factor=1, persistent_workers=False)
        it = iter(dl)
        marks = []
        k = None
        for n in range(dl_len):
            x, y = next(it)
            if self.mix is not None:
                x, y = self.mix(x, y)
            assert x.dtype == torch.float32 and tuple(x.shape) == (b, 3, 32, 32)
            marks.append(time.perf_counter())
            if n == warm + 1 and k is None:
                one = marks[-1] - marks[-2]
                k = max(8, min(ARGS.max_repeats + 8, int(2 * ARGS.budget / max(one, 1e-6))))
            if k is not None and n >= warm + k:
                break
        del it, dl
        span = marks[-1] - marks[warm]
        batches = len(marks) - 1 - warm
        per = span / batches
        return {"images_per_s": b / per, "median_s": per, "repeats": batches, "warmup": warm,
                "timing": "steady-state rate over the timed batches (prefetching workers)"}


def make_tv_loader(p, b):
    mix = timm_mixup(p)
    return Loader(tv_compose(p), "tv", p, b), (
        f"DataLoader(num_workers={ARGS.threads}) over a per-image Compose, default collate"
        + ("; timm Mixup elem in the main process" if mix else ""))


def make_tv_batch(p, b):
    t = tv_compose(p)
    mix = None
    if p == "d":
        mix = v2.RandomChoice([v2.CutMix(alpha=1.0, num_classes=10), v2.MixUp(alpha=1.0, num_classes=10)])
    elif p == "e":
        mix = v2.CutMix(alpha=1.0, num_classes=10)

    def call(s):
        x = t(IMGS_CHW[s:s + b])
        y = LABELS[s:s + b]
        if mix is not None:
            x, y = mix(x, y)
        return x

    return call, "ONE parameter set per batch" + ("; v2 CutMix/MixUp: one λ per batch" if mix else "")


# ------------------------------------------------------------------- kornia
def make_kornia(p, b):
    ops = []
    if p != "d":
        ops += [K.RandomCrop((32, 32), padding=4, same_on_batch=False),
                K.RandomHorizontalFlip(p=0.5, same_on_batch=False)]
    if p in "bce":
        ops.append(K.RandomAffine(degrees=15, translate=(0.1, 0.1), resample="nearest", p=1.0,
                                  same_on_batch=False))
    if p in "ce":
        ops.append(K.ColorJitter(0.4, 0.4, 0.4, 0.1, p=1.0, same_on_batch=False))
    ops.append(K.Normalize(mean=torch.tensor(MEAN), std=torch.tensor(STD)))
    seq = K.AugmentationSequential(*ops)
    keys = ["input", "class"]
    cutmix = K.RandomCutMixV2(beta=1.0, p=1.0, same_on_batch=False, use_correct_lambda=True, data_keys=keys)
    # Beta(1, 1) is U(0, 1), kornia's default mixup λ range.
    mixup = K.RandomMixUpV2(lambda_val=(0.0, 1.0), p=1.0, same_on_batch=False, data_keys=keys)

    def call(s):
        x = IMGS_CHW[s:s + b].float().div_(255.0)
        x = seq(x)
        y = LABELS[s:s + b]
        if p == "e":
            x, y = cutmix(x, y)
        elif p == "d":
            xc, yc = cutmix(x, y)
            xm, ym = mixup(x, y)
            pick = torch.rand(b) < 0.5
            x = torch.where(pick.view(b, 1, 1, 1), xc, xm)
        return x

    note = "same_on_batch=False; ColorJitter: per-sample factors, ONE op order per batch"
    if p == "d":
        note = "no per-sample mixup/cutmix switch: runs RandomCutMixV2 AND RandomMixUpV2, picks per sample"
    elif p == "e":
        note += "; RandomCutMixV2 (random partner)"
    return call, note


# ----------------------------------------------------------- albumentations
def alb_compose(p):
    ops = []
    if p != "d":
        ops += [A.PadIfNeeded(40, 40, border_mode=cv2.BORDER_CONSTANT, fill=0),
                A.RandomCrop(32, 32), A.HorizontalFlip(p=0.5)]
    if p in "bce":
        ops.append(A.Affine(rotate=(-15, 15), translate_percent={"x": (-0.1, 0.1), "y": (-0.1, 0.1)},
                            interpolation=cv2.INTER_NEAREST, border_mode=cv2.BORDER_CONSTANT, fill=0, p=1.0))
    if p in "ce":
        ops.append(A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=1.0))
    ops.append(A.Normalize(mean=MEAN, std=STD, max_pixel_value=255.0))
    return A.Compose(ops)


def make_alb_loader(p, b):
    mix = timm_mixup(p)
    return Loader(alb_compose(p), "alb", p, b), (
        f"DataLoader(num_workers={ARGS.threads}) over a per-image Compose (HWC -> CHW view), default collate"
        + ("; timm Mixup elem in the main process" if mix else ""))


def make_albumentations(p, b):
    t = alb_compose(p)
    mix = timm_mixup(p)

    def call(s):
        with one_thread():
            arr = np.stack([t(image=IMGS_HWC[s + i])["image"] for i in range(b)])
        x = torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()
        y = LABELS[s:s + b]
        if mix is not None:
            x, y = mix(x, y)
        return x

    note = "Compose per HWC image (uint8 colour ops), np.stack, to NCHW"
    if mix is not None:
        note += "; no batch mixing in albumentations: timm Mixup elem"
    return call, note


# --------------------------------------------------------------------- timm
def make_timm(p, b):
    if p != "d":
        return None, "timm's Mixup does only D (mixing); it is the mixing step of other rows in E"
    mix = timm_mixup(p)

    def call(s):
        x = (IMGS_CHW[s:s + b].float().div_(255.0) - MEAN_T) / STD_T
        x, y = mix(x, LABELS[s:s + b])
        return x

    return call, "to f32 + normalise on the batch, then Mixup elem (per-sample Python loop)"


# ------------------------------------------------------ augkit from Python
def make_augkit_py(p, b, reuse=False):
    try:
        import augkit
    except ImportError as e:
        return None, f"the augkit package is not installed (scripts/setup-python): {e}"
    # The Rust row's setup: the pipeline's policy file, seed 42, the CPU
    # backend, an epoch of the whole in-memory set, consecutive batches.
    aug = augkit.Augmenter(f"benches/pipelines/{p}.toml", IMGS_CHW, LABELS, num_classes=10, seed=42,
                           backend="cpu")
    steps = N_IMAGES // b
    calls = [0]
    out = torch.empty((b, 3, 32, 32)) if reuse else None
    # As in a training loop, the previous batch is still held while the
    # next one is made (the loop variable is rebound only afterwards).
    held = [None]

    def call(s):
        n = calls[0]
        calls[0] += 1
        batch = aug.batch(n // steps, (n % steps) * b, b, out=out)
        held[0] = batch
        return batch[0]

    how = ("writes into one preallocated tensor (out=)" if reuse
           else "a new tensor per batch, the previous batch still held (as a training loop holds it)")
    return call, f"Augmenter.batch(); {how}; labels as int64/float32 tensors"


MAKERS = {
    "augkit_py": make_augkit_py,
    "augkit_py_out": lambda p, b: make_augkit_py(p, b, reuse=True),
    "tv_sample": make_tv_sample,
    "tv_loader": make_tv_loader,
    "alb_loader": make_alb_loader,
    "tv_batch": make_tv_batch,
    "kornia": make_kornia,
    "albumentations": make_albumentations,
    "timm": make_timm,
}


def bench(fn, b):
    windows = N_IMAGES // b
    calls = [0]

    def once():
        s = (calls[0] % windows) * b
        calls[0] += 1
        t = time.perf_counter()
        out = fn(s)
        dt = time.perf_counter() - t
        assert out.dtype == torch.float32 and tuple(out.shape) == (b, 3, 32, 32), (out.dtype, out.shape)
        return dt

    first = once()  # warm-up
    warmup = 1
    if first < 0.2:
        for _ in range(2):
            once()
        warmup += 2
        first = once()
        warmup += 1
    reps = max(ARGS.min_repeats, min(ARGS.max_repeats, int(ARGS.budget / max(first, 1e-6))))
    times = sorted(once() for _ in range(reps))
    med = statistics.median(times)
    return {"images_per_s": b / med, "median_s": med, "min_s": times[0], "repeats": reps, "warmup": warmup}


PY_LIBS = ("augkit_py", "augkit_py_out")
# The target: from Python, E at batch 1024 runs at >= 90 % of the
# Rust CPU backend's throughput.
TARGET = {"pipeline": "e", "batch": 1024, "ratio": 0.90}


def paired(row, p, b, py_libs, got):
    """The Rust CPU row and the augkit-from-Python rows, back to back, ARGS.pairs
    times (the order flipped every other pair), so that each Python figure
    has a Rust figure taken within a second of it: on a shared machine the
    load drifts between cases far more than the hand-off costs. Every run
    also counts for the table (best of all); the ratio of each pair goes to
    row["pair_ratios"]."""
    fns = {}
    for lib in py_libs:
        fn, note = MAKERS[lib](p, b)
        row["notes"][lib] = note
        if fn is not None:
            fns[lib] = fn
    for i in range(ARGS.pairs):
        order = ["rust"] + list(fns) if i % 2 == 0 else list(fns) + ["rust"]
        this = {}
        for what in order:
            if what == "rust":
                res, err = run_augkit(p, b, "cpu")
                if res is None:
                    row["notes"]["augkit_cpu"] = f"failed: {err}"
                    continue
                this["augkit_cpu"] = res
            else:
                try:
                    this[what] = bench(fns[what], b)
                except Exception as e:  # keep going; report it
                    row["notes"][what] = f"failed: {type(e).__name__}: {e}"
                    fns.pop(what)
        for key, res in this.items():
            if key not in got or res["images_per_s"] > got[key]["images_per_s"]:
                got[key] = res
        rust = this.get("augkit_cpu")
        for lib in fns:
            if rust and lib in this:
                row.setdefault("pair_ratios", {}).setdefault(lib, []).append(
                    this[lib]["images_per_s"] / rust["images_per_s"])


def run_augkit(p, b, backend):
    # The same number of images as the Python rows (the example's default is 8192).
    cmd = [ARGS.augkit_bin, "--policy", f"benches/pipelines/{p}.toml", "--batch", str(b),
           "--repeats", str(ARGS.augkit_repeats), "--warmup", "5", "--backend", backend,
           "--images", str(N_IMAGES), "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    if r.returncode != 0:
        return None, r.stderr.strip().splitlines()[-1] if r.stderr.strip() else f"exit {r.returncode}"
    return json.loads(r.stdout.strip().splitlines()[-1]), None


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
    except Exception:  # pragma: no cover
        return ""


def meta():
    cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -1")
    commit = sh("git rev-parse --short HEAD")
    dirty = sh("git status --porcelain --untracked-files=no src kernels Cargo.toml Cargo.lock")
    return {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "threads": ARGS.threads,
        "python": platform.python_version(),
        "versions": {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "kornia": kornia.__version__,
            "albumentations": A.__version__,
            "albucore": getattr(albucore, "__version__", None),
            "opencv": cv2.__version__,
            "numpy": np.__version__,
            "timm": timm.__version__,
            # AUGKIT_PEERS_REV names the source of a prebuilt --augkit-bin.
            "augkit": os.environ.get("AUGKIT_PEERS_REV")
            or commit + (" (working tree modified)" if dirty else ""),
        },
        "method": ("images 32x32x3 uint8 (random, 4096 in memory), f32 NCHW normalised out; "
                   "one timed call = one whole batch incl. stacking/normalising; warm-up, then "
                   "repeats sized to ~budget s (min/max clamped); median; every case in each of `rounds` "
                   "passes, best pass kept; the Rust CPU row and the augkit-from-Python rows also run back to back "
                   "`pairs` times per pass, and their hand-off ratio is the median of those pairs"),
        "rounds": ARGS.rounds,
        "pairs": ARGS.pairs,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def fmt_ips(v):
    return f"{v:,.0f}" if v is not None else "—"


def main():
    batches = [int(x) for x in ARGS.batches.split(",")]
    libs = [x for x in ARGS.libs.split(",") if x]
    info = meta()
    info["loadavg_start"] = os.getloadavg()
    print(f"threads {ARGS.threads} (torch.set_num_threads, OMP_NUM_THREADS, cv2.setNumThreads, "
          f"RAYON_NUM_THREADS); {info['cpu']}", flush=True)
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()), flush=True)
    rows = []
    for p in ARGS.pipelines:
        for b in batches:
            rows.append({"pipeline": p, "batch": b, "description": DESCRIPTION[p], "results": {}, "notes": {},
                         "rounds": {}})
    backends = ["cpu"] + (["wgpu"] if ARGS.wgpu else [])
    # Every case once per round; a case's figure is its best round, so that
    # load from elsewhere on the machine in one round does not decide it.
    for rnd in range(ARGS.rounds):
        print(f"round {rnd + 1}/{ARGS.rounds}", flush=True)
        for row in rows:
            p, b = row["pipeline"], row["batch"]
            got = {}
            py_libs = [lib for lib in libs if lib in PY_LIBS]
            for backend in backends:
                if backend == "cpu" and py_libs and ARGS.pairs > 0:
                    continue  # timed below, paired with the Python rows
                res, err = run_augkit(p, b, backend)
                key = f"augkit_{backend}"
                if res is None:
                    row["notes"][key] = f"failed: {err}"
                else:
                    got[key] = res
                    if backend == "wgpu":
                        row["notes"][key] = f"adapter: {res.get('device')}"
            if py_libs and ARGS.pairs > 0:
                paired(row, p, b, py_libs, got)
            for lib in libs:
                if lib in py_libs and ARGS.pairs > 0:
                    continue
                fn, note = MAKERS[lib](p, b)
                row["notes"][lib] = note
                if fn is None:
                    continue
                try:
                    got[lib] = fn.run() if isinstance(fn, Loader) else bench(fn, b)
                except Exception as e:  # keep going; report it
                    row["notes"][lib] = f"failed: {type(e).__name__}: {e}"
                    continue
            for key, res in got.items():
                res["loadavg_after"] = os.getloadavg()[0]
                row["rounds"].setdefault(key, []).append(res)
            print(f"{p.upper()} b{b:<5}" + "".join(f" | {k}: {fmt_ips(v['images_per_s'])}" for k, v in got.items()),
                  flush=True)
    for row in rows:
        for key, rs in row["rounds"].items():
            best = dict(max(rs, key=lambda r: r["images_per_s"]))
            best["rounds_images_per_s"] = [r["images_per_s"] for r in rs]
            row["results"][key] = best
        del row["rounds"]
        base = row["results"].get("augkit_cpu", {}).get("images_per_s")
        for key, res in row["results"].items():
            res["augkit_speedup"] = (base / res["images_per_s"]) if base else None
        # The hand-off's cost: augkit from Python against the Rust row, the
        # median of the paired runs (best against best without pairs).
        for key in PY_LIBS:
            ratios = row.get("pair_ratios", {}).get(key)
            if ratios:
                row.setdefault("python_over_rust", {})[key] = statistics.median(ratios)
            elif base and key in row["results"]:
                row.setdefault("python_over_rust", {})[key] = row["results"][key]["images_per_s"] / base
    info["loadavg_end"] = os.getloadavg()
    out = {"meta": info, "rows": rows}
    os.makedirs(ARGS.out, exist_ok=True)
    with open(os.path.join(ARGS.out, "results.json"), "w") as f:
        json.dump(out, f, indent=2)
    md = markdown(out, libs)
    with open(os.path.join(ARGS.out, "results.md"), "w") as f:
        f.write(md)
    print()
    print(md)
    print(f"wrote {ARGS.out}/results.json and {ARGS.out}/results.md")


def handoff_lines(rows):
    """The hand-off's cost as ratios, and whether the issue's target is met."""
    lines = []
    ratios = [(r, c, v) for r in rows for c, v in r.get("python_over_rust", {}).items()]
    if not ratios:
        return lines

    def spread(r, c):
        rs = r.get("pair_ratios", {}).get(c)
        if not rs:
            return " (best ÷ best, unpaired)"
        return f" ({len(rs)} pairs, {100 * min(rs):.0f}–{100 * max(rs):.0f} %)"

    lines.append("")
    lines.append("augkit from Python ÷ the Rust CPU backend, images/s (same threads, policy, seed and number of "
                 "images; the FFI, tensor hand-off and labels included; the median of the paired runs, their "
                 "range in brackets): "
                 + "; ".join(f"{r['pipeline'].upper()} b{r['batch']} {LIB_TITLE[c].split(', ')[1]} "
                             f"{100 * v:.0f} %{spread(r, c)}" for r, c, v in ratios) + ".")
    for r in rows:
        if r["pipeline"] == TARGET["pipeline"] and r["batch"] == TARGET["batch"]:
            got = r.get("python_over_rust", {})
            verdicts = [f"{LIB_TITLE[c].split(', ')[1]} {100 * got[c]:.0f} % "
                        + ("met" if got[c] >= TARGET["ratio"] else "NOT met") for c in PY_LIBS if c in got]
            if verdicts:
                lines.append("")
                lines.append(f"Target (from Python ≥ {100 * TARGET['ratio']:.0f} % of the Rust CPU backend at "
                             f"{TARGET['pipeline'].upper()} b{TARGET['batch']}): " + "; ".join(verdicts) + ".")
    return lines


def markdown(out, libs):
    cols = ["augkit_cpu"] + (["augkit_wgpu"] if ARGS.wgpu else []) + libs
    lines = ["images/s (higher is better); in brackets, augkit CPU's speed-up over that column "
             "(augkit images/s ÷ its images/s).", "",
             "| pipeline | batch | " + " | ".join(LIB_TITLE[c] for c in cols) + " |",
             "|---|---:|" + "---:|" * len(cols)]
    for row in out["rows"]:
        cells = []
        for c in cols:
            r = row["results"].get(c)
            if r is None:
                cells.append("—")
            elif c == "augkit_cpu":
                cells.append(f"**{fmt_ips(r['images_per_s'])}**")
            else:
                cells.append(f"{fmt_ips(r['images_per_s'])} ({r['augkit_speedup']:.1f}×)")
        lines.append(f"| {row['pipeline'].upper()} | {row['batch']} | " + " | ".join(cells) + " |")
    lines += ["", "Notes per library and pipeline:", ""]
    seen = {}
    for row in out["rows"]:
        for c in cols:
            n = row["notes"].get(c)
            if n:
                seen.setdefault((c, n), []).append(row["pipeline"].upper())
    for (c, n), ps in seen.items():
        lines.append(f"- {LIB_TITLE[c]} ({', '.join(sorted(set(ps)))}): {n}")
    m = out["meta"]
    lines.append("")
    lines.append(f"Threads: {m['threads']} everywhere (torch.set_num_threads, OMP_NUM_THREADS, cv2.setNumThreads, "
                 f"RAYON_NUM_THREADS; OMP_WAIT_POLICY={m['omp_wait_policy']}); per-image loops in one process run with 1 torch thread, the DataLoader rows "
                 f"use {m['threads']} worker processes. Load average at start {m['loadavg_start'][0]:.2f}, "
                 f"at end {m['loadavg_end'][0]:.2f} on {m['nproc']} CPUs.")
    lines += handoff_lines(out["rows"])
    lines.append("")
    lines.append("† torchvision v2 on a batch tensor draws ONE parameter set per call (the whole batch is "
                 "cropped, flipped, rotated and jittered alike); it is not a per-sample pipeline.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
