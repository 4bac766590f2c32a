"Timing helpers shared by the benchmarks in bench/ (imported as `from _timing import best`; bench/ is on the path when a script runs)."
import time

def best(fn, repeat:int):
    "Best-of-`repeat` seconds of `fn()`, and its last result."
    t_best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter(); out = fn(); t_best = min(t_best, time.perf_counter() - t0)
    return t_best, out

def command(script:str, args)->str:
    "The command line that reproduces a run of `bench/<script>` with the parsed `args` (the report path left out)."
    return f"python bench/{script}" + "".join(f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out")

def load_note(load_at_start:float)->str:
    "How busy the machine was while a benchmark ran, for the report."
    import os
    return (f"one process on a shared {os.cpu_count()}-core machine with other jobs running (1-minute load average "
            f"{load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end), so treat the numbers as rough")

def write_report(out, lines:list):
    "Write a benchmark's markdown report (`lines`) to `out`, creating its folder, and say where."
    from pathlib import Path
    Path(out).parent.mkdir(parents=True, exist_ok=True); Path(out).write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")

def cli_seconds(args:list, cache)->float:
    "Seconds of one `cxrstudy` command of this checkout (`args` after the program name) run with its own artifact store `cache` (its output goes to this process's stderr)."
    import os, subprocess, sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    cli = [sys.executable, "-c", "import sys; from cxrstudy.cli import main; sys.exit(main())"]  # this checkout's CLI, whatever is installed
    env = dict(os.environ, CXRSTUDY_CACHE=str(cache), PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    t0 = time.perf_counter()
    subprocess.run(cli + list(args), cwd=root, env=env, check=True)
    return time.perf_counter() - t0
