"""Ctrl-C stress: run the runner's Ctrl-C test scenario N times on a loaded machine and record how long each run took to stop.

The scenario is `tests/test_runner.py::test_ctrl_c_shows_only_the_runners_line`: a chapter whose cell sleeps 120 s, SIGINT to the
runner's process group (what Ctrl-C in a terminal sends) at a random moment after the cell started. A pass is exit status 130
within 120 s with only the runner's lines on stderr. `--load K` starts K busy-looping processes beside it (the loaded machine
of a full test run); `--out` writes the table."""
import argparse, json, os, random, signal, subprocess, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _timing import command, load_note

ROOT = Path(__file__).resolve().parents[1]
CLI = [str(Path(sys.executable).parent/"cxrstudy")]

def one(tmp:Path, delay:float)->dict:
    "One interrupted run: (seconds from SIGINT to exit, exit status, whether stderr held only the runner's lines)."
    from cxrstudy.runner import _demo_notebook
    nbs = tmp/"nbs"; nbs.mkdir(parents=True)
    _demo_notebook(nbs/"01_slow.ipynb", "import time\nfrom pathlib import Path\nPath('STARTED').touch()\ntime.sleep(120)")
    env = dict(os.environ, CXRSTUDY_CACHE=str(tmp/"cache"))
    p = subprocess.Popen(CLI + ["run", "--nbs", str(nbs), "--profile", "smoke", "--out", str(tmp/"run"), "--no-progress"],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    for _ in range(1200):
        if (nbs/"STARTED").exists() or p.poll() is not None: break
        time.sleep(0.1)
    time.sleep(delay); t0 = time.time(); os.killpg(p.pid, signal.SIGINT)
    try: _, err = p.communicate(timeout=120); secs = time.time() - t0
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL); _, err = p.communicate(); secs = float("inf")
    lines = [l for l in err.splitlines() if l.strip()]
    clean = bool(lines) and lines[-1].startswith("cxrstudy run: interrupted; rerun the same command with --out") and \
            all(l.startswith(("cxrstudy run:", "[1/1]")) for l in lines)
    status = json.loads((tmp/"run"/"manifest.json").read_text())["status"] if (tmp/"run"/"manifest.json").exists() else None
    return dict(delay_s=delay, stop_s=round(secs, 2), rc=p.returncode, clean=clean, manifest=status,
                ok=p.returncode == 130 and clean and status == "interrupted" and secs < 120)

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=20); ap.add_argument("--load", type=int, default=3); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT/"bench"/"results"/"ctrl_c_stress.md"))
    a = ap.parse_args(); rng = random.Random(a.seed); load0 = os.getloadavg()[0]
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(a.load)]
    rows = []
    try:
        for i in range(a.n):
            with tempfile.TemporaryDirectory() as d:
                rows.append(dict(run=i + 1, **one(Path(d), rng.choice([0.0, 0.05, 0.2, 0.5, 1.0, 2.0]))))
            print(rows[-1], flush=True)
    finally:
        for h in hogs: h.kill()
    n_ok = sum(r["ok"] for r in rows); worst = max(r["stop_s"] for r in rows)
    head = f"# Ctrl-C stress\n\n`{command('ctrl_c_stress.py', a)}`; {load_note(load0)}."
    table = "\n".join(f"| {r['run']} | {r['delay_s']} | {r['stop_s']} | {r['rc']} | {r['clean']} | {r['manifest']} | {r['ok']} |" for r in rows)
    Path(a.out).write_text(f"{head}\n\nCtrl-C (SIGINT to the runner's process group) during a sleeping cell, {a.n} runs beside {a.load} busy-looping "
                           f"processes on this machine ({os.cpu_count()} cores): **{n_ok} of {a.n} passed**; slowest stop {worst:.1f} s "
                           f"(limit 120 s).\n\n| run | SIGINT after cell start (s) | stopped after (s) | exit | only the runner's lines | manifest | pass |\n"
                           f"|---|---|---|---|---|---|---|\n{table}\n")
    print(f"{n_ok}/{a.n} passed; slowest {worst:.1f} s -> {a.out}")
    sys.exit(0 if n_ok == a.n else 1)

if __name__ == "__main__": main()
