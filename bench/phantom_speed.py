"""Rendering speed of the phantom, one process (one core).

Usage: .venv/bin/python bench/phantom_speed.py [--n 2000] [--seed 0] [--out bench/results/phantom_speed.md]

Renders images 0..n-1 of the phantom's train split (real CheXpert label rows, so the mix of findings and
devices is the real one) at the native size 256, then again resized to 128 and 64, and reports images/s.
Lung atlas, chest variants and vessel maps are built before timing (once per process).
"""
import argparse, os, platform, sys, time
from pathlib import Path

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000); p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write a markdown record here")
    a = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from cxrstudy.phantom import PhantomSource
    src = PhantomSource(a.seed, n_train=a.n, n_valid=0, n_test=0)
    src.labels("train"); src.image("train", 0)  # builds the label table, atlas and banks outside the timing
    rows = []
    for size in (None, 128, 64):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(a.n): src.image("train", i, size)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows.append((size or src.native_size, a.n, dt, a.n / dt, a.n / cpu))
    t0 = time.perf_counter()
    for i in range(min(a.n, 500)): src.anatomy("train", i)
    an = min(a.n, 500) / (time.perf_counter() - t0)
    lines = ["| output size | images | wall seconds | images/s (wall) | images per CPU-second |", "|---|---|---|---|---|"]
    lines += [f"| {s}x{s} | {n} | {dt:.2f} | {r:.0f} | {c:.0f} |" for s, n, dt, r, c in rows]
    lines += ["", f"image + anatomy masks at 256: {an:.0f} /s"]
    print("\n".join(lines))
    if a.out:
        cmd = ".venv/bin/python bench/phantom_speed.py " + " ".join(argv if argv is not None else sys.argv[1:])
        head = ["# Phantom rendering speed", "", f"Command: `{cmd}`", "",
                f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs (shared with other jobs), "
                f"Python {platform.python_version()}, one process, OMP_NUM_THREADS=1. 'Images per CPU-second' divides by the "
                f"process's CPU time, which other jobs on the shared cores do not inflate. Target: >= 200 images/s per core at 256x256.", ""]
        Path(a.out).write_text("\n".join(head + lines) + "\n")

if __name__ == "__main__": main()
