"""Benchmark: augmented images per second for each method at 256x256 on the CPU, one image at a time vs batched.

Usage: python bench/augment_speed.py [--size 256] [--batch 32] [--n 32] [--repeat 5] [--threads 1]
                                     [--out bench/results/augment_speed.md]

For every method of `cxrstudy.augment` (each firing with p=1, thesis parameters) and the combined policy (p=0.5 each):
  single  - `t(img, seed)` on one 2-D uint8 image, called `n` times (each with its own seed)
  batched - `t.batch(x, seeds)` on a (batch, 1, size, size) uint8 tensor
Images are 256x256 phantom-like test images (a smooth ramp with a blob and texture; the pixels do not change the cost).
The two paths alternate for `repeat` passes and the best pass of each is kept. The run uses `threads` torch threads (the machine is shared), so numbers are a
lower bound for a free multi-core CPU and say nothing about a GPU.
"""
import argparse, os, platform, time
from pathlib import Path

import numpy as np

def test_image(size:int, seed:int)->np.ndarray:
    "A smooth uint8 test image with some texture."
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    img = 60 + 120 * xx + 40 * yy + 60 * np.exp(-((yy - .35) ** 2 + (xx - .3) ** 2) / .02) + rng.normal(0, 4, (size, size))
    return np.clip(img, 0, 255).astype(np.uint8)

def best(fn, repeat:int)->float:
    "Best-of-`repeat` seconds of one call of `fn`."
    out = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); out = min(out, time.perf_counter() - t0)
    return out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256, help="image side")
    ap.add_argument("--batch", type=int, default=32, help="images per batch")
    ap.add_argument("--n", type=int, default=32, help="single images per pass")
    ap.add_argument("--repeat", type=int, default=5, help="passes per measurement (best is kept)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "augment_speed.md"), help="markdown report")
    a = ap.parse_args(argv)
    import torch, torchvision, skimage
    from cxrstudy.augment import METHODS, _generator, as_policy
    torch.set_num_threads(a.threads)
    imgs = np.stack([test_image(a.size, i) for i in range(max(a.n, a.batch))])
    xb = torch.from_numpy(imgs[:a.batch])[:, None].contiguous()
    rows, load0 = [], os.getloadavg()[0]
    for name in [*METHODS, "combined"]:
        t = as_policy(name)
        t(imgs[0], 0); t.batch(xb[:2], seeds=[0, 1])  # warm-up
        single = batched = float("inf")
        for _ in range(a.repeat):  # alternate the two paths, so both see the same load of the shared machine
            single = min(single, best(lambda: [t(imgs[i], i) for i in range(a.n)], 1))
            batched = min(batched, best(lambda: t.batch(xb, seeds=list(range(a.batch))), 1))
        rows.append((name, a.n / single, a.batch / batched))
        print(f"{name:12s} single {a.n / single:8.1f} img/s   batched {a.batch / batched:8.1f} img/s")
    n_gen = 2000  # the per-image, per-method seeding: a SHA-256 and a torch.Generator
    seed_us = 1e6 * best(lambda: [_generator(i, "rotation#0") for i in range(n_gen)], a.repeat) / n_gen
    print(f"seeding: {seed_us:.1f} us per image and method")
    cmd = "python bench/augment_speed.py" + "".join(f" --{k} {v}" for k, v in vars(a).items() if k != "out")
    lines = ["# Augmentation speed: images per second per method, single image vs batched", "",
             f"Command: `{cmd}` (run from the project root with the project's virtual environment)", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}, "
             f"torchvision {torchvision.__version__}, scikit-image {skimage.__version__}; CPU only, {a.threads} torch "
             f"thread(s), on a shared {os.cpu_count()}-core machine with other jobs running (1-minute load average {load0:.2f} at the start, "
             f"{os.getloadavg()[0]:.2f} at the end), so treat the numbers as rough.", "",
             f"Images {a.size}x{a.size} uint8. *single*: `t(img, seed)` called {a.n} times; *batched*: "
             f"`t.batch(x, seeds)` on a ({a.batch}, 1, {a.size}, {a.size}) uint8 tensor. Each method fires with p=1 "
             "and the thesis's parameters; *combined* is the thesis's policy (rotation, shearing, flipping, noise, "
             f"blurring, each p=0.5). The two paths alternate; best of {a.repeat} passes each.", "",
             "| method | single (img/s) | batched (img/s) | batched / single |", "|---|---:|---:|---:|"]
    lines += [f"| {n} | {s:.1f} | {b:.1f} | {b / s:.2f}x |" for n, s, b in rows]
    faster = [n for n, s, b in rows if b > 1.1 * s]; slower = [n for n, s, b in rows if b < 0.9 * s]
    lines += ["", f"Batched faster by more than 10%: {', '.join(faster) or 'none'}; batched slower by more than 10%: "
              f"{', '.join(slower) or 'none'}.", "",
              "Why batching does not pay on one CPU thread: each image has its own parameters, so the affine methods, "
              "cropping and colouring call torchvision once per image in both paths, and bilateral filtering runs "
              "scikit-image per image; the vectorised methods (flipping, noise, blurring) work on a "
              f"{a.batch}x{a.size}x{a.size} float32 batch ({a.batch * a.size * a.size * 4 / 2**20:.0f} MiB), and our "
              "guess (not profiled) is that its fresh allocations and cache misses cost more than the per-call Python "
              "overhead they save (one 256x256 image, 256 KiB, stays in cache). The per-image seeding (a SHA-256 and a "
              f"torch.Generator per image and method) measured {seed_us:.1f} us per image and method "
              f"(best of {a.repeat} passes of {n_gen}). The batched path exists for GPU batches (one kernel per "
              "operation instead of one per image) and for fastai's batch transforms; no GPU was available to measure it."]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {a.out}")

if __name__ == "__main__": main()
