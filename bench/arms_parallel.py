"""Benchmark: a chapter's independent arms one after another against the same chapter with its arms as Dask tasks on 2 workers.

Usage: python bench/arms_parallel.py [--chapters classify strategies diffusion] [--profile smoke] [--workers 2]
                                     [--out bench/results/arms_parallel_<profile>.md]

For each chapter, in one invocation: (a) `cxrstudy run --profile P --only CHAPTER` (the arms one after another in the
chapter's kernel, as without a scheduler), then (b) the same with `--scheduler local --workers N` (the runner starts a
LocalCluster of N single-threaded worker processes and the chapter sends its arms to it), each from a fresh artifact
store of its own (a temporary CXRSTUDY_CACHE, so neither reads what the other built), each timed from the command's
start to its exit. Then every CSV the two runs wrote under results/ is compared: byte for byte, and where the bytes
differ, again without the columns that hold measured wall times (their names say seconds or per_s), which differ
between any two runs. Issue 32's claim to check: on this 2-core machine two workers nearly halve those chapters' wall
time. The machine is shared with other jobs, so the load average (and `uptime`) is reported beside the numbers.
"""
import argparse, io, json, os, platform, re, subprocess, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _timing import cli_seconds

TIMING = re.compile(r"seconds|per_s")  # columns of measured wall time

def compare_results(a:Path, b:Path)->dict:
    "Every CSV under a/results and b/results: {'identical': n, 'same but timing': [(file, columns)], 'different': [file], 'missing': [file]}."
    import pandas as pd
    fa = {p.relative_to(a) for p in (a/"results").rglob("*.csv")}; fb = {p.relative_to(b) for p in (b/"results").rglob("*.csv")}
    out = {"identical": 0, "same but timing": [], "different": [], "missing": sorted(map(str, fa ^ fb))}
    for f in sorted(fa & fb):
        x, y = (a/f).read_bytes(), (b/f).read_bytes()
        if x == y: out["identical"] += 1; continue
        dx, dy = pd.read_csv(io.BytesIO(x)), pd.read_csv(io.BytesIO(y))
        cols = [c for c in dx.columns if TIMING.search(str(c))]
        keep = lambda d: d.drop(columns=[c for c in cols if c in d.columns]).to_csv(index=False)
        if cols and keep(dx) == keep(dy): out["same but timing"].append((str(f), cols))
        else: out["different"].append(str(f))
    return out

def training_seconds(cache:Path)->tuple:
    "(number, summed seconds) of the classifiers a run trained into its store `cache` (each record's own training time)."
    recs = [json.loads(p.read_text()) for p in (cache/"classifier").glob("*/record.json")] if (cache/"classifier").is_dir() else []
    return len(recs), sum(r.get("seconds") or 0 for r in recs)

def uptime()->str:
    try: return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError: return "uptime unavailable"

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chapters", nargs="+", default=["classify", "strategies", "diffusion"], help="the chapters, each measured on its own (--only)")
    ap.add_argument("--profile", default="smoke", help="the profile of both runs")
    ap.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes of the parallel run")
    ap.add_argument("--out", default=None, help="markdown report (default bench/results/arms_parallel_<profile>.md)")
    a = ap.parse_args(argv)
    out = Path(a.out or Path(__file__).parent/"results"/f"arms_parallel_{a.profile}.md")
    tmp = Path(tempfile.mkdtemp(prefix="cxrstudy-bench-arms-"))
    cmd = f"python bench/arms_parallel.py --chapters {' '.join(a.chapters)} --profile {a.profile} --workers {a.workers}"
    rows, notes, loads = [], [], [("start", uptime())]
    for ch in a.chapters:
        base = ["run", "--profile", a.profile, "--only", ch, "--seed", "0", "--site", "none", "--no-progress"]
        seq = cli_seconds([*base, "--out", str(tmp/f"{ch}-seq")], tmp/f"cache-{ch}-seq")
        loads.append((f"{ch}: after the sequential run", uptime()))
        par = cli_seconds([*base, "--out", str(tmp/f"{ch}-par"), "--scheduler", "local", "--workers", str(a.workers)], tmp/f"cache-{ch}-par")
        loads.append((f"{ch}: after the parallel run", uptime()))
        chap = lambda k: json.loads((tmp/f"{ch}-{k}"/"manifest.json").read_text())["chapters"][ch]["seconds"]
        cmp = compare_results(tmp/f"{ch}-seq", tmp/f"{ch}-par")
        n_clf, s_clf = training_seconds(tmp/f"cache-{ch}-seq")
        if n_clf: notes.append(f"- {ch}: the sequential run trained {n_clf} classifiers in {s_clf:.0f} s of training in all "
                               f"({100 * s_clf / chap('seq'):.0f}% of its chapter time): the most that sending arms out could save")
        same = "yes" if not cmp["different"] and not cmp["missing"] else "**NO**"
        rows.append(f"| {ch} | {seq:.1f} | {par:.1f} | **{par / seq:.2f}** | {chap('seq')} | {chap('par')} | {chap('par') / chap('seq'):.2f} | "
                    f"{cmp['identical']} + {len(cmp['same but timing'])} | {same} |")
        for f, cols in cmp["same but timing"]: notes.append(f"- {ch}: `{f}` equal except its measured wall-time column(s) {', '.join(f'`{c}`' for c in cols)}")
        for f in cmp["different"]: notes.append(f"- {ch}: `{f}` DIFFERS between the two runs")
        for f in cmp["missing"]: notes.append(f"- {ch}: `{f}` written by one run only")
    lines = [f"# Arms in parallel: sequential against {a.workers} Dask workers ({a.profile} profile)", "",
             f"Command: `{cmd}` (from the project root, in the project's virtual environment; "
             f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}). Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores, **shared with other jobs** "
             "(two other sessions were working on it; `uptime` at each step below).", "",
             f"Each chapter ran alone (`--only`), phantom source, seed 0, site none, twice: (a) sequential (no `--scheduler`), "
             f"(b) `--scheduler local --workers {a.workers}`; each from an empty artifact store of its own. 'command' is the wall "
             "time of the whole `cxrstudy run` (for (b) including starting the cluster); 'chapter' is the chapter's own seconds "
             "from the run's manifest. Tables: the CSVs under results/ that are byte-identical, plus those equal except measured "
             "wall-time columns.", "",
             "| chapter | (a) command s | (b) command s | (b)/(a) | (a) chapter s | (b) chapter s | (b)/(a) chapter | tables identical + equal but timing | same tables |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|", *rows, "", *(notes or ["- every CSV byte-identical"]), "",
             "Load (`uptime`):", "", *[f"- {w}: `{u}`" for w, u in loads]]
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines)); print(f"wrote {out}")
    return 0

if __name__ == "__main__": sys.exit(main())
