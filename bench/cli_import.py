"""Benchmark: what the `cxrstudy` console script's module costs to import, and what that costs a sweep's local workers.

Usage: python bench/cli_import.py [--repeat 3] [--workers 2] [--out bench/results/cli_import.md]

Dask's local workers are spawned processes, and a spawned process first imports its parent's main module: for the
`cxrstudy` console script, `from cxrstudy.cli import main`. This measures, each in a fresh interpreter: (a) `import
cxrstudy.cli` as it is now (each command imports its chapter's module when it runs), against (b) importing what
`cxrstudy.cli` imported at its top before (the runner, the aggregate and the sweep modules, and with them torch); and
(c, d) the seconds from starting a LocalCluster of `--workers` processes (one thread each, preloading the sweep's task
module, as `cxrstudy sweep` does) in a main module that imports as (a) or (b), to the cluster being up, and whether its
workers hold torch before any task. The machine is shared with other jobs: the load is reported beside the numbers.
"""
import argparse, os, platform, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = "import cxrstudy.cli"
BEFORE = "import cxrstudy.cli, cxrstudy.runner, cxrstudy.aggregate, cxrstudy.sweep"
CLUSTER = """{imports}
if __name__ == "__main__":
    import sys, time
    from distributed import Client, LocalCluster
    t0 = time.perf_counter()
    with LocalCluster(n_workers={workers}, threads_per_worker=1, dashboard_address=None, preload=["cxrstudy.sweep_task"]) as lc, Client(lc) as c:
        up = time.perf_counter() - t0
        print(up, all(c.run(lambda: "torch" in sys.modules).values()))
"""

def env()->dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))

def import_seconds(code:str, repeat:int)->float:
    "Best-of-`repeat` seconds of `code` in a fresh interpreter, timed inside it."
    prog = f"import time; t0 = time.perf_counter(); {code}; print(time.perf_counter() - t0)"
    return min(float(subprocess.run([sys.executable, "-c", prog], env=env(), capture_output=True, text=True, check=True).stdout) for _ in range(repeat))

def cluster_up(imports:str, workers:int, tmp:Path)->tuple:
    "(seconds to bring the cluster up, whether every worker holds torch) with a main module that runs `imports`."
    main = tmp/f"main_{abs(hash(imports))}.py"; main.write_text(CLUSTER.format(imports=imports, workers=workers))
    out = subprocess.run([sys.executable, str(main)], env=env(), capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), out[1] == "True"

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3); ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"cli_import.md"))
    a = ap.parse_args(argv)
    import tempfile
    tmp = Path(tempfile.mkdtemp(prefix="cxrstudy-bench-cli-"))
    load0 = os.getloadavg()
    now, before = import_seconds(NOW, a.repeat), import_seconds(BEFORE, a.repeat)
    (up_now, torch_now), (up_before, torch_before) = cluster_up(f"from cxrstudy.cli import main", a.workers, tmp), cluster_up(BEFORE, a.workers, tmp)
    load1 = os.getloadavg()
    lines = ["# The console script's import, and a sweep's local workers", "",
             f"Command: `python bench/cli_import.py --repeat {a.repeat} --workers {a.workers}` (from the project root). "
             f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores, **shared with other jobs**: "
             f"1/5/15-minute load averages {'/'.join(f'{x:.2f}' for x in load0)} at the start, {'/'.join(f'{x:.2f}' for x in load1)} at the end.", "",
             "| | now: `cxrstudy.cli` alone | before: `cxrstudy.cli` with the runner, aggregate and sweep |", "|---|---:|---:|",
             f"| import, best of {a.repeat} (s) | {now:.3f} | {before:.2f} |",
             f"| a LocalCluster of {a.workers} up, main module importing it (s) | {up_now:.1f} | {up_before:.1f} |",
             f"| its workers hold torch before any task | {torch_now} | {torch_before} |"]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines)); print(f"wrote {a.out}")
    return 0

if __name__ == "__main__": sys.exit(main())
