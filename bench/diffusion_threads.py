"""Benchmark: cpu-profile diffusion training on one thread vs two, alone and beside a competing process.

Usage: python bench/diffusion_threads.py [--updates 12] [--warmup 2] [--out bench/results/diffusion_threads.md]

Times `--updates` training updates of the cpu profile's UNet (batch 16, 64 px, class-conditional, the chapter's loss and
AdamW) under `fixed_threads(1)` and `fixed_threads(2)`, first as the machine is, then beside one competing busy process
(a pure-Python spin loop at nice 19, started by this script). Two threads share every OpenMP barrier, so a descheduled
partner stalls both; one thread has no partner to wait for. Reports the median seconds per update and the ratio to the
quiet two-thread run, and two single-thread trainings side by side (what `train_diffusions` does) as updates per second
of the pair.
"""
import argparse, os, platform, subprocess, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _timing import command, load_note

SPIN = "import os; os.nice(19)\nwhile True: pass"

def updates(threads:int, n:int, warmup:int)->list:
    "Seconds of each of `n` timed updates (after `warmup`) of the cpu profile's UNet on `threads` threads."
    import torch
    from cxrstudy.sampling import diffusion_config, new_diffusion, make_scheduler
    from cxrstudy.core import fixed_threads
    cfg = diffusion_config("cpu", cpu_threads=threads)
    m = new_diffusion(cfg, seed=0); unet, sch = m.unet.train(), make_scheduler(cfg)
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg["lr"])
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(16, 1, 64, 64, generator=g), torch.randn(16, 1, 64, 64, generator=g)
    t, y = torch.randint(0, 1000, (16,), generator=g), torch.randint(0, 2, (16,), generator=g)
    out = []
    with fixed_threads(threads):
        for k in range(warmup + n):
            t0 = time.perf_counter()
            loss = torch.nn.functional.mse_loss(unet(sch.add_noise(x0, eps, t), t, class_labels=y).sample, eps)
            loss.backward(); opt.step(); opt.zero_grad()
            if k >= warmup: out.append(time.perf_counter() - t0)
    return out

def pair(n:int, warmup:int)->float:
    "Updates per second of two single-thread trainings run side by side as processes."
    import concurrent.futures as cf, multiprocessing as mp
    t0 = time.perf_counter()
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        times = list(pool.map(updates, [1, 1], [n, n], [warmup, warmup]))
    return 2 * n / max(sum(t) for t in times)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=12); ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"diffusion_threads.md"))
    a = ap.parse_args(argv)
    import numpy as np, torch
    load0, rows = os.getloadavg()[0], []
    for competing in (False, True):
        spin = subprocess.Popen([sys.executable, "-c", SPIN]) if competing else None
        try:
            for th in (2, 1):
                s = float(np.median(updates(th, a.updates, a.warmup)))
                rows.append((("beside a busy process" if competing else "as the machine is"), f"{th} thread(s), one training", s, 1 / s))
                print(rows[-1], flush=True)
            ups = pair(a.updates, a.warmup)
            rows.append((("beside a busy process" if competing else "as the machine is"), "1 thread each, two trainings side by side", 2 / ups, ups))
            print(rows[-1], flush=True)
        finally:
            if spin is not None: spin.kill(); spin.wait()
    base = rows[0][3]
    lines = [f"# {__doc__.splitlines()[0]}", "", f"Command: `{command('diffusion_threads.py', a)}`", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}, {os.cpu_count()} cores; "
             f"{load_note(load0)}.", "",
             "cpu profile UNet, batch 16, 64 px, class-conditional; median seconds per update after the warm-up. "
             "`updates/s` of the side-by-side row counts both trainings; `vs 2 threads alone` divides by the first row's updates/s.", "",
             "| condition | how | s/update | updates/s | vs 2 threads alone |", "|---|---|---:|---:|---:|"]
    lines += [f"| {c} | {h} | {s:.3f} | {u:.3f} | {u / base:.2f}x |" for c, h, s, u in rows]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text("\n".join(lines) + "\n"); print("\n".join(lines))

if __name__ == "__main__":
    main()
