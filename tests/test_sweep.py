"End-to-end and failure-mode tests of `cxrstudy sweep` and `cxrstudy aggregate` (demo chapters on a 2-worker LocalCluster)."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import pandas as pd
import pytest
from conftest import ROOT
from cxrstudy.runner import demo_chapters, _demo_notebook

CLI = [sys.executable, "-c", "import sys; from cxrstudy.cli import main; sys.exit(main())"]  # the console script's entry, in this checkout

def cli(*args, env=None, timeout=600):
    return subprocess.run(CLI + list(args), cwd=ROOT, env=env or os.environ.copy(), capture_output=True, text=True, timeout=timeout)

ARMS = """import pandas as pd
from cxrstudy.core import save_table
d = 0.1 + 0.05 * seed
arms = pd.DataFrame(dict(arm=["baseline", "augmented"], status="ok", roc_auc=[0.7, 0.7 + d], f1=[0.3, 0.3 + d / 2]))
save_table(arms, "demo_arms", run_dir=run_dir, profile=profile, seed=seed)
claims = pd.DataFrame([dict(claim="augmented beats baseline on AUC", arm="augmented", versus="baseline", metric="roc_auc",
                            difference=d, lower=d - 0.12, upper=d + 0.12, verdict="supports" if d > 0.12 else "cannot decide")])
save_table(claims, "claims", run_dir=run_dir, profile=profile, seed=seed)"""

def study(tmp_path, *extra):
    "Demo chapters (01_build, 02_check) and a third that writes an arm table and claims.csv depending on the seed."
    nbs = demo_chapters(tmp_path/"nbs"); _demo_notebook(nbs/"03_arms.ipynb", ARMS)
    for name, body in extra: _demo_notebook(nbs/name, body)
    return nbs, dict(os.environ, CXRSTUDY_CACHE=str(tmp_path/"cache"))

OVERHEAD_BOUND = 3.0  # s from submit (or the worker's previous task ending) to a task's start; measured 0.01-0.02 s (bench/results/sweep_speed.md), 6.7-10.2 s when each worker imported torch first

def sweep_args(nbs, out, *more):
    return ["sweep", "--nbs", str(nbs), "--profile", "smoke", "--seeds", "0-1", "--workers", "2", "--out", str(out), "--no-progress", *more]

def test_two_seed_sweep_on_a_local_cluster_and_its_aggregate(tmp_path):
    nbs, env = study(tmp_path)
    r = cli(*sweep_args(nbs, tmp_path/"sw"), env=env)
    assert r.returncode == 0, r.stderr
    man = json.loads((tmp_path/"sw"/"sweep.json").read_text())
    assert man["status"] == "ok" and sorted(man["points"]) == ["seed0", "seed1"]
    assert all(p["overhead"] is not None and 0 <= p["overhead"] < OVERHEAD_BOUND for p in man["points"].values()), man["points"]
    for n in ("seed0", "seed1"):
        run = json.loads((tmp_path/"sw"/"runs"/n/"manifest.json").read_text())
        assert run["status"] == "ok" and run["seed"] == int(n[-1])
    assert len(list((tmp_path/"cache"/"demo").glob("*.json.digest.json"))) == 1  # one shared store: one copy of the artifact both runs use
    agg = tmp_path/"sw"/"aggregate"
    assert (agg/"index.html").exists() and (agg/"forest.png").exists()
    claims = pd.read_csv(agg/"claims_across_seeds.csv")
    assert claims.summary.tolist() == ["holds in 1 of 2 seeds"] and claims.test.tolist() == ["paired t-test"]
    auc = pd.read_csv(agg/"metrics_across_seeds.csv").query("arm == 'augmented' and metric == 'roc_auc'").iloc[0]
    assert auc.n_seeds == 2 and abs(auc["mean"] - 0.825) < 1e-9 and abs(auc["max"] - auc["min"] - 0.05) < 1e-9
    assert "aggregate:" in r.stderr and "2 of 2 runs finished" in r.stderr
    # a rerun finds every run finished and starts none
    t0 = time.time(); r = cli(*sweep_args(nbs, tmp_path/"sw"), env=env)
    assert r.returncode == 0, r.stderr
    assert all(len(json.loads((tmp_path/"sw"/"runs"/n/"manifest.json").read_text())["attempts"]) == 1 for n in ("seed0", "seed1"))
    # aggregate again, by hand
    r = cli("aggregate", str(tmp_path/"sw"), env=env)
    assert r.returncode == 0 and "aggregate:" in r.stderr, r.stderr

def test_failed_runs_are_retried_on_rerun(tmp_path):
    nbs, env = study(tmp_path); (nbs/"FAIL").touch()  # 02_check fails while FAIL exists
    r = cli(*sweep_args(nbs, tmp_path/"sw"), env=env)
    assert r.returncode == 1 and "0 of 2 runs finished" in r.stderr and "rerun the same command" in r.stderr, r.stderr
    man = json.loads((tmp_path/"sw"/"sweep.json").read_text())
    assert {p["status"] for p in man["points"].values()} == {"failed"}
    assert all("chapter 'check' failed" in p["error"] for p in man["points"].values()), man["points"]
    (nbs/"FAIL").unlink()
    r = cli(*sweep_args(nbs, tmp_path/"sw"), env=env)
    assert r.returncode == 0, r.stderr
    for n in ("seed0", "seed1"):  # the runner resumed each run: build kept, check run again
        run = json.loads((tmp_path/"sw"/"runs"/n/"manifest.json").read_text())
        assert [a["status"] for a in run["attempts"]] == ["failed", "ok"] and run["attempts"][1]["chapters"]["build"] == "kept"

def test_a_killed_run_is_marked_failed_and_rerun(tmp_path):
    hold = """import time
from pathlib import Path
Path(f'STARTED-{seed}').touch()
while Path('HOLD').exists(): time.sleep(0.2)"""
    nbs, env = study(tmp_path, ("04_hold.ipynb", hold)); (nbs/"HOLD").touch()
    out = tmp_path/"sw"
    p = subprocess.Popen(CLI + sweep_args(nbs, out)[:5] + ["--seeds", "0", "--workers", "1", "--out", str(out), "--no-progress"],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(1800):
        if (nbs/"STARTED-0").exists() or p.poll() is not None: break
        time.sleep(0.1)
    assert (nbs/"STARTED-0").exists(), p.communicate()
    pid = json.loads((out/"runs"/"seed0"/"manifest.json").read_text())["attempts"][-1]["pid"]
    os.kill(pid, signal.SIGKILL)  # the run dies mid-chapter, as it would with its machine
    (nbs/"HOLD").unlink()  # let the orphaned kernel end
    _, err = p.communicate(timeout=300)
    assert p.returncode == 1, err
    assert json.loads((out/"sweep.json").read_text())["points"]["seed0"]["status"] == "failed"
    r = cli(*sweep_args(nbs, out)[:5], "--seeds", "0", "--workers", "1", "--out", str(out), "--no-progress", env=env)
    assert r.returncode == 0, r.stderr
    run = json.loads((out/"runs"/"seed0"/"manifest.json").read_text())
    assert [a["status"] for a in run["attempts"]] == ["killed", "ok"] and run["chapters"]["hold"]["status"] == "ok"

@pytest.mark.parametrize("args, words", [
    (["--scheduler", "kubernetes"], "unknown scheduler 'kubernetes'; use --scheduler local, slurm, or the address"),
    (["--scheduler", "tcp://127.0.0.1:9"], "--scheduler tcp://127.0.0.1:9 is unreachable"),
    (["--seeds", "3-1"], "--seeds '3-1' gives no seeds (an empty grid)"),
    (["--seeds", "0,x"], "'x' is not a seed or a range"),
    (["-p", "retries="], "-p retries=: no values (an empty grid)"),
    (["-p", "retries=1,2.5,3"], "-p retries=2.5 is a float; chapter 'check' expects an int"),
    (["-p", "no_such=1,2"], "unknown parameter 'no_such'"),
    (["--profile", "huge"], "unknown profile 'huge'"),
    (["--workers", "0"], "--workers 0: give at least 1"),
])
def test_bad_sweep_input_is_one_line_before_anything_runs(tmp_path, args, words):
    nbs, env = study(tmp_path)
    r = cli("sweep", "--nbs", str(nbs), "--profile", "smoke", "--seeds", "0-1", "--out", str(tmp_path/"sw"), "--no-progress", *args, env=env)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1 and words in lines[0], r.stderr
    assert not (tmp_path/"sw").exists() and not (nbs/"builds.log").exists()

def test_aggregate_of_a_folder_without_runs_is_one_line(tmp_path):
    r = cli("aggregate", str(tmp_path))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "has no finished runs" in lines[0], r.stderr

RACE = """import json, os, sys, time
from cxrstudy.core import ArtifactStore
def build(cfg):
    time.sleep(1.0); return {"pid": os.getpid()}  # two builders, two different contents
print(json.dumps(ArtifactStore(sys.argv[1]).get_or_build("race", {"k": 1}, build, ".json")))"""

def test_two_workers_building_the_same_artifact(tmp_path):
    "Two processes build the same content-addressed artifact at once (as two runs of a sweep may): both finish, one whole copy stays."
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(tmp_path/"store")], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs) and len({o["pid"] for o in outs}) == 2
    from cxrstudy.core import ArtifactStore
    kept = ArtifactStore(tmp_path/"store", on_damage="raise").get("race", {"k": 1}, ".json")  # its digest matches what is stored
    assert kept in outs
    assert not [p for p in (tmp_path/"store"/"race").iterdir() if ".tmp-" in p.name]  # no temporaries left behind

ARMS_ON_DASK = """import pandas as pd
from cxrstudy.core import ArtifactStore, save_table
from cxrstudy.sources import open_source
from cxrstudy.classify import evaluate, send_arms, train_arm, train_classifier
src = open_source(source, data_dir, profile=profile, seed=seed)
opts = dict(arch="thesis_densenet_tiny", profile=profile, epochs=1)
arms = {"seed1": dict(seed=1), "seed2": dict(seed=2), "zeros": dict(seed=1, policy="FillNM(0) U-Zeros")}
if scheduler is not None:
    print("arms sent to", scheduler)
    send_arms(scheduler, train_arm, [dict(source=dict(name=source, data_dir=data_dir, profile=profile, seed=seed), finding="Pneumothorax",
                                          store=str(ArtifactStore().root), **opts, **kw) for kw in arms.values()])
res = {a: evaluate(train_classifier(src, "Pneumothorax", progress=False, **opts, **kw), src, run_dir=run_dir) for a, kw in arms.items()}
loaded = {a: train_classifier(src, "Pneumothorax", progress=False, **opts, **kw).learner.cxr.loaded for a, kw in arms.items()}
print("loaded", loaded)
t = pd.concat({a: r.test.assign(threshold=r.threshold, key=r.key) for a, r in res.items()}, names=["arm"])
save_table(t, "arms_test_predictions", run_dir=run_dir, profile=profile, seed=seed)"""

def test_arms_on_dask_give_the_same_tables_as_one_after_another(tmp_path):
    "Three classifier arms trained in the chapter's kernel, and sent as Dask tasks to a 2-worker LocalCluster the runner starts: every CSV the runs write is the same, byte for byte."
    nbs = tmp_path/"nbs"; nbs.mkdir()
    _demo_notebook(nbs/"01_arms.ipynb", ARMS_ON_DASK, params="scheduler = None  # set by the runner [scheduler or None]")
    runs = {}
    for kind, extra in (("seq", []), ("par", ["--scheduler", "local", "--workers", "2"])):
        env = dict(os.environ, CXRSTUDY_CACHE=str(tmp_path/f"cache-{kind}"))  # a store of its own: the parallel run trains on its workers
        r = cli("run", "--nbs", str(nbs), "--profile", "smoke", "--out", str(tmp_path/kind), "--no-progress", "--site", "none", *extra, env=env)
        assert r.returncode == 0, r.stderr
        runs[kind] = tmp_path/kind
    text = lambda t: t if isinstance(t, str) else "".join(t)  # a notebook stores a stream's text as a string or a list of lines
    printed = {k: "".join(text(o.get("text", "")) for c in json.loads((r/"notebooks"/"01_arms.ipynb").read_text())["cells"] for o in c.get("outputs", []))
               for k, r in runs.items()}
    assert "arms sent to tcp://" in printed["par"] and "arms sent to" not in printed["seq"], printed
    assert "'seed1': True, 'seed2': True, 'zeros': True" in printed["par"], printed  # the kernel found every arm in the store: the workers trained them
    att = json.loads((runs["par"]/"manifest.json").read_text())["attempts"][-1]
    assert att["scheduler"]["spec"] == "local" and att["scheduler"]["workers"] == 2 and att["scheduler"]["address"].startswith("tcp://")
    assert "scheduler" not in json.loads((runs["par"]/"manifest.json").read_text())["parameters"]  # not a parameter of the run: its tables do not depend on it
    csvs = sorted(p.relative_to(runs["seq"]) for p in (runs["seq"]/"results").rglob("*.csv"))
    assert len(csvs) >= 4 and csvs == sorted(p.relative_to(runs["par"]) for p in (runs["par"]/"results").rglob("*.csv"))
    for f in csvs: assert (runs["seq"]/f).read_bytes() == (runs["par"]/f).read_bytes(), f

@pytest.mark.parametrize("sched, words", [("kubernetes", "unknown scheduler 'kubernetes'; use --scheduler local"),
                                          ("tcp://127.0.0.1:9", "--scheduler tcp://127.0.0.1:9 is unreachable")])
def test_run_refuses_a_bad_scheduler_in_one_line_before_writing(tmp_path, sched, words):
    nbs = demo_chapters(tmp_path/"nbs")
    r = cli("run", "--nbs", str(nbs), "--profile", "smoke", "--out", str(tmp_path/"run"), "--no-progress", "--scheduler", sched,
            env=dict(os.environ, CXRSTUDY_CACHE=str(tmp_path/"cache")))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1 and words in lines[0], r.stderr
    assert not (tmp_path/"run").exists() and not (nbs/"builds.log").exists()
