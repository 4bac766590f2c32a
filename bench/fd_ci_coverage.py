"""Benchmark: how often a bootstrap interval of the Frechet distance covers the true distance (`cxrstudy.features.frechet_ci`).

Usage: python bench/fd_ci_coverage.py [--d 16] [--ns 64,256] [--shifts 0,0.3] [--trials 60] [--n-boot 200] [--seed 1]
                                      [--out bench/results/fd_ci_coverage.md]

Two sets of n correlated Gaussian features (the second shifted by `shift` in every feature, so the true distance between
the distributions is d * shift^2) are drawn `trials` times per setting. Each trial resamples both sets with replacement
`n_boot` times (scipy.stats.bootstrap, as `frechet_ci` does) and forms two 95% intervals from the same resampled FDs:
  percentile - the 2.5% and 97.5% quantiles of the resampled FDs
  basic      - 2 FD - those quantiles, clipped at 0 (what `frechet_ci` returns)
The report gives each interval's coverage of the true distance, and the mean FD (its bias at n).
"""
import argparse, os, platform, time
from pathlib import Path

import numpy as np

from _timing import write_report, command, load_note

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--d", type=int, default=16, help="features per sample")
    ap.add_argument("--ns", default="64,256", help="samples per set, comma-separated")
    ap.add_argument("--shifts", default="0,0.3", help="mean shift of the second set in every feature, comma-separated")
    ap.add_argument("--trials", type=int, default=60, help="independent pairs of sets per setting")
    ap.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples per interval")
    ap.add_argument("--seed", type=int, default=1, help="seed of the simulated features and of the resampling")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "fd_ci_coverage.md"), help="markdown report")
    a = ap.parse_args(argv)
    import scipy, torch
    from scipy.stats import bootstrap
    from cxrstudy.features import frechet_ci, frechet_distance
    torch.set_num_threads(1)
    load0, t0 = os.getloadavg()[0], time.time()
    rng = np.random.default_rng(a.seed)
    mix = rng.normal(size=(a.d, a.d)) / np.sqrt(a.d)
    rows = []
    for n in map(int, a.ns.split(",")):
        for shift in map(float, a.shifts.split(",")):
            truth, hits, fds = a.d * shift ** 2, np.zeros(2), []
            for k in range(a.trials):
                A, B = rng.normal(size=(n, a.d)) @ mix, rng.normal(size=(n, a.d)) @ mix + shift
                res = bootstrap((np.arange(n), np.arange(n)), lambda i, j: frechet_distance(A[i], B[j], device="cpu"),
                                n_resamples=a.n_boot, vectorized=False, method="basic", rng=np.random.default_rng(k))
                fd, q = frechet_distance(A, B, device="cpu"), np.quantile(res.bootstrap_distribution, [0.025, 0.975])
                basic = max(res.confidence_interval.low, 0.0), max(res.confidence_interval.high, 0.0)
                if k == 0: assert np.allclose(frechet_ci(A, B, n_boot=a.n_boot, seed=k, device="cpu")[1:], basic)
                hits += [q[0] <= truth <= q[1], basic[0] <= truth <= basic[1]]
                fds.append(fd)
            rows.append((n, shift, truth, float(np.mean(fds)), *(hits / a.trials)))
            print(rows[-1])
    cmd = command("fd_ci_coverage.py", a)
    lines = ["# Coverage of bootstrap intervals of the Frechet distance", "",
             f"Command: `{cmd}` (run from the project root with the project's virtual environment)", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
             f"torch {torch.__version__} (1 thread); {time.time() - t0:.0f} s; " + load_note(load0) + " (coverage does not depend on speed).", "",
             f"Data: two sets of n correlated Gaussian features (d = {a.d}), the second shifted by `shift` in every feature: the true "
             f"distance is d·shift². {a.trials} trials per setting, {a.n_boot} bootstrap resamples of each set per trial (each set "
             "resampled with replacement, independently).", "",
             "| n per set | shift | true distance | mean FD at n | percentile interval covers truth | basic interval covers truth |",
             "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {n} | {s:g} | {t:.3f} | {m:.3f} | {p:.0%} | {b:.0%} |" for n, s, t, m, p, b in rows]
    lines += ["", "FD at n is biased upwards (mean FD above the true distance), and the resampled FDs, whose resamples hold only "
              "about 63% distinct rows, are biased further: the percentile interval is shifted up by that bias and misses the "
              "truth. The basic interval reflects the resampled FDs about the estimate, which removes the bias the bootstrap "
              "sees; `frechet_ci` returns it."]
    write_report(a.out, lines)

if __name__ == "__main__": main()
