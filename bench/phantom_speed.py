"""Rendering speed of the phantom, one process (one core).

Usage: .venv/bin/python bench/phantom_speed.py [--n 2000] [--seed 0] [--out bench/results/phantom_speed.md]

Renders images 0..n-1 of the phantom's train split (real CheXpert label rows, so the mix of findings and
devices is the real one) at the native size 256, then again resized to 128 and 64, then as twins at 256 (the
same images with layers left out: all devices; every layer the renderer draws), and reports images/s. Also the
device table (`PhantomSource.devices`, scenes without films). Lung atlas, chest variants, vessel maps and the
SIIM-ACR pneumothorax regions are built before timing (once per process).
"""
import argparse, os, platform, sys, time
from pathlib import Path

def timed(n:int, fn)->tuple:
    "(wall seconds, CPU seconds) of fn(i) for i in range(n)."
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n): fn(i)
    return time.perf_counter() - t0, time.process_time() - c0

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000); p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write a markdown record here")
    a = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from cxrstudy.phantom import PhantomSource
    import numpy as np
    from cxrstudy.radiograph import LAYERS, render_phantom
    src = PhantomSource(a.seed, n_train=a.n, n_valid=0, n_test=0)
    src.labels("train"); src.image("train", 0)  # builds the label table, atlas and banks outside the timing
    render_phantom({"Pneumothorax": 1}, np.random.default_rng(0))  # and the real pneumothorax regions
    rows = []
    for size in (None, 128, 64):
        dt, cpu = timed(a.n, lambda i: src.image("train", i, size))
        rows.append((f"{size or src.native_size}x{size or src.native_size}", "-", a.n, dt, cpu))
    s = src.native_size
    for what, drop in (("all devices (\"devices\")", "devices"), (f"every layer ({len(LAYERS)}: LAYERS)", LAYERS)):
        dt, cpu = timed(a.n, lambda i: src.twin("train", i, drop=drop))
        rows.append((f"{s}x{s}", what, a.n, dt, cpu))
    dt, cpu = timed(1, lambda i: src.devices("train"))
    dev = (a.n / dt, a.n / cpu)
    dt, _ = timed(min(a.n, 500), lambda i: src.anatomy("train", i))
    an = min(a.n, 500) / dt
    lines = ["| output size | layers left out (twin) | images | wall seconds | images/s (wall) | images per CPU-second |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {size} | {what} | {n} | {dt:.2f} | {n / dt:.0f} | {n / cpu:.0f} |" for size, what, n, dt, cpu in rows]
    lines += ["", f"image + anatomy masks at 256: {an:.0f} /s",
              f"device table (PhantomSource.devices, scenes without films): {dev[0]:.0f} images/s (wall), {dev[1]:.0f} per CPU-second"]
    print("\n".join(lines))
    if a.out:
        cmd = ".venv/bin/python bench/phantom_speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
        head = ["# Phantom rendering speed", "", f"Command: `{cmd}`", "",
                f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs (shared with other jobs), "
                f"Python {platform.python_version()}, one process, OMP_NUM_THREADS=1. 'Images per CPU-second' divides by the "
                f"process's CPU time, which other jobs on the shared cores do not inflate. Target: >= 200 images/s per core at 256x256, "
                f"with and without layers left out (twins).", ""]
        Path(a.out).write_text("\n".join(head + lines) + "\n")

if __name__ == "__main__": main()
