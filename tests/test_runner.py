"End-to-end and failure-mode tests of `cxrstudy run`."
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest
from conftest import CLI, ROOT
from cxrstudy.runner import demo_chapters, discover_chapters, chapter_parameters
from cxrstudy.sources import source_names

def cli(*args, cwd=ROOT, env=None):
    return subprocess.run(CLI + list(args), cwd=cwd, env=env or os.environ.copy(), capture_output=True, text=True, timeout=900)

def test_smoke_study_end_to_end(smoke_run):
    out, r = smoke_run
    chapters = discover_chapters(ROOT/"nbs")
    executed = sorted(p.name for p in (out/"notebooks").glob("*.ipynb"))
    assert executed == sorted(p.name for p in chapters.values())
    man = json.loads((out/"manifest.json").read_text())
    assert man["status"] == "ok" and man["profile"] == "smoke"
    assert set(man["chapters"]) == set(chapters) and all(c["status"] == "ok" for c in man["chapters"].values())
    for key in ("commit", "dirty", "packages", "parameters", "data", "seed", "started", "finished", "device"):
        assert key in man, key
    assert man["data"]["source"] == "phantom" and man["data"]["fingerprint"]
    assert man["bad_images"] == 0  # the phantom has no broken images; the count comes from results/bad_images.csv
    assert (out/"site"/"index.html").exists() and (out/"run.log").exists()
    for name in chapters:  # one progress line per chapter, with its status
        assert any(f"] {name}" in line and " ok " in line for line in r.stderr.splitlines()), name
    assert "site:" in r.stderr and "results:" in r.stderr

def test_resume_after_chapter_failure(tmp_path):
    nbs = demo_chapters(tmp_path/"nbs"); (nbs/"FAIL").touch()
    env = dict(os.environ, CXRSTUDY_CACHE=str(tmp_path/"cache"))
    args = ["run", "--nbs", str(nbs), "--profile", "smoke", "--out", str(tmp_path/"run"), "--no-progress"]
    r = cli(*args, env=env)
    assert r.returncode == 1
    assert "chapter 'check' failed in cell" in r.stderr and "RuntimeError: the FAIL flag is set" in r.stderr
    man = json.loads((tmp_path/"run"/"manifest.json").read_text())
    assert man["status"] == "failed" and man["chapters"]["build"]["status"] == "ok"
    assert (tmp_path/"run"/"notebooks"/"02_check.ipynb").exists()  # the failed notebook is kept, with its error
    assert "the FAIL flag is set" in (tmp_path/"run"/"notebooks"/"02_check.ipynb").read_text()
    (nbs/"FAIL").unlink()
    r = cli(*args, env=env)
    assert r.returncode == 0, r.stderr
    assert "build          kept" in r.stderr  # the finished chapter was not run again
    man = json.loads((tmp_path/"run"/"manifest.json").read_text())
    assert man["status"] == "ok"
    # the resumed manifest keeps the history of attempts: each one's start, end, outcome and chapters
    assert [a["status"] for a in man["attempts"]] == ["failed", "ok"]
    assert man["attempts"][0]["chapters"] == {"build": "ok", "check": "failed"}
    assert man["attempts"][1]["chapters"] == {"build": "kept", "check": "ok"}
    assert all(a["started"] and a["finished"] and a["started"] <= a["finished"] for a in man["attempts"])
    assert man["started"] == man["attempts"][0]["started"] and man["finished"] == man["attempts"][1]["finished"]
    # a fresh run of the same chapters reruns them but reuses the stored artifact: built once in all
    r = cli("run", "--nbs", str(nbs), "--profile", "smoke", "--out", str(tmp_path/"run2"), "--no-progress", env=env)
    assert r.returncode == 0 and (nbs/"builds.log").read_text().count("built") == 1

def _runs_state():
    runs = ROOT/"runs"
    return sorted(str(p) for p in runs.rglob("*")) if runs.exists() else None

@pytest.mark.parametrize("args, words", [
    (["--profile", "huge"], "unknown profile 'huge'; choose one of: smoke, cpu, gpu, full"),
    (["--source", "brax"], f"unknown source 'brax'; choose one of: {', '.join(source_names())}"),  # every registered source
    (["-p", "no_such_knob=1"], "unknown parameter 'no_such_knob'"),
    (["-p", "epochs"], "is not NAME=VALUE"),
    (["--data-dir", "/no/such/chexpert"], "--data-dir /no/such/chexpert does not exist"),
    (["--only", "no_such_chapter"], "unknown chapter 'no_such_chapter'; valid chapters: core"),
    (["--out", "/proc/cxrstudy-cannot-write-here"], "is not writable"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["--data-dir", str(ROOT/"data")], "--data-dir is read only with --source chexpert"),
    (["--only", "core", "-p", "seed=5"], "'seed' is set by the runner; use --seed"),
    (["--only", "core", "-p", "profile='cpu'"], "'profile' is set by the runner; use --profile"),
    (["--only", "core", "-p", "source=chexpert"], "'source' is set by the runner; use --source"),
    (["--only", "core", "-p", "data_dir=/tmp"], "'data_dir' is set by the runner; use --data-dir"),
    (["--only", "core", "-p", "run_dir=/tmp/x"], "'run_dir' is set by the runner; use --out"),
    # values of the right type outside the range a chapter declares: refused before the first chapter
    (["-p", "seeds=1.5"], "-p seeds=1.5 is out of range: chapter 'classify' takes an integer >= 1 (or None)"),
    (["-p", "seeds=0"], "-p seeds=0 is out of range: chapter 'classify' takes an integer >= 1 (or None)"),
    (["-p", "n_sims=-5"], "-p n_sims=-5 is out of range: chapter 'metrics' takes an integer >= 1 (or None)"),
    (["-p", "n_sims=0"], "-p n_sims=0 is out of range"),
    (["-p", "guidance=1e999"], "-p guidance=inf is out of range: chapter 'genmetrics' takes a finite number >= 0"),
    (["-p", "guidance=-1.0"], "-p guidance=-1.0 is out of range"),
    (["-p", "guidance_weights=[0.0, -2.0]"], "takes a list, each a finite number >= 0 (or None)"),
    (["-p", "finding='Pneumothrax'"], "-p finding='Pneumothrax' is out of range: chapter 'diffusion' takes a finding name (No Finding,"),
    (["-p", "coverage_q=1.5"], "chapter 'masking' takes a finite number in [0, 1]"),
    (["--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
])
def test_bad_input_is_one_clear_line_and_touches_nothing(args, words):
    before = _runs_state()
    r = cli("run", *args)
    assert r.returncode == 2, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and words in lines[0], r.stderr
    assert _runs_state() == before
    assert not Path("/proc/cxrstudy-cannot-write-here").exists()

def _demo_env(tmp_path):
    return dict(os.environ, CXRSTUDY_CACHE=str(tmp_path/"cache"))

def test_p_value_of_the_wrong_type_is_refused_before_any_chapter_runs(tmp_path):
    nbs = demo_chapters(tmp_path/"nbs")  # 02_check declares `retries = 2` and `threshold = 0.5`
    base = ["run", "--nbs", str(nbs), "--profile", "smoke", "--out", str(tmp_path/"run"), "--no-progress"]
    for bad, words in [("retries=abc", "-p retries='abc' is a str; chapter 'check' expects an int"),
                       ("retries=2.5", "-p retries=2.5 is a float; chapter 'check' expects an int"),
                       ("threshold=high", "-p threshold='high' is a str; chapter 'check' expects a float")]:
        r = cli(*base, "-p", bad, env=_demo_env(tmp_path))
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        assert r.returncode == 2 and len(lines) == 1 and words in lines[0], r.stderr
        assert not (tmp_path/"run").exists() and not (nbs/"builds.log").exists()  # nothing ran, nothing was written
    r = cli(*base, "-p", "retries=3", "-p", "threshold=1", env=_demo_env(tmp_path))  # an int for a float is fine
    assert r.returncode == 0, r.stderr

def test_reusing_out_with_other_parameters_is_refused(tmp_path):
    nbs = demo_chapters(tmp_path/"nbs"); out = tmp_path/"run"
    r = cli("run", "--nbs", str(nbs), "--profile", "smoke", "--out", str(out), "--no-progress", env=_demo_env(tmp_path))
    assert r.returncode == 0, r.stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    r = cli("run", "--nbs", str(nbs), "--profile", "cpu", "--only", "check", "-p", "retries=5", "--out", str(out),
            "--no-progress", env=_demo_env(tmp_path))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "made with other parameters" in lines[0] and "profile 'smoke' there, 'cpu' now" in lines[0], lines[0]
    assert "retries unset there, 5 now" in lines[0] and "choose a new --out" in lines[0], lines[0]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # the run folder is untouched

def test_ctrl_c_shows_only_the_runners_line(tmp_path):
    nbs = tmp_path/"nbs"; nbs.mkdir()
    from cxrstudy.runner import _demo_notebook
    _demo_notebook(nbs/"01_slow.ipynb", "import time\nfrom pathlib import Path\nPath('STARTED').touch()\ntime.sleep(120)")
    p = subprocess.Popen(CLI + ["run", "--nbs", str(nbs), "--profile", "smoke", "--out", str(tmp_path/"run"), "--no-progress"],
                         cwd=ROOT, env=_demo_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    for _ in range(1200):
        if (nbs/"STARTED").exists() or p.poll() is not None: break
        time.sleep(0.1)
    assert (nbs/"STARTED").exists(), p.communicate()
    time.sleep(0.5)
    os.killpg(p.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: SIGINT to the foreground process group
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    lines = [l for l in err.splitlines() if l.strip()]
    assert lines[-1] == f"cxrstudy run: interrupted; rerun the same command with --out {tmp_path/'run'} to resume", err
    assert not any(w in err for w in ("Traceback", "ZMQ", "IPKernelApp")), err  # the kernel's own noise goes to run.log
    assert all(l.startswith(("cxrstudy run:", "[1/1]")) for l in lines), err
    assert json.loads((tmp_path/"run"/"manifest.json").read_text())["status"] == "interrupted"

def test_read_only_cache_is_refused_before_the_run(tmp_path):
    nbs = demo_chapters(tmp_path/"nbs")
    env = dict(os.environ, CXRSTUDY_CACHE="/proc/cxrstudy-cannot-write-here")
    r = cli("run", "--nbs", str(nbs), "--profile", "smoke", "--out", str(tmp_path/"run"), env=env)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "/proc/cxrstudy-cannot-write-here" in lines[0] and "CXRSTUDY_CACHE" in lines[0], lines[0]
    assert not (tmp_path/"run").exists()

def test_malformed_chexpert_folder_is_refused_before_running(tmp_path):
    (tmp_path/"CheXpert-v1.0-small").mkdir()
    before = _runs_state()
    r = cli("run", "--source", "chexpert", "--data-dir", str(tmp_path/"CheXpert-v1.0-small"))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "data/README.md" in lines[0], r.stderr
    assert _runs_state() == before

def test_unknown_command():
    r = cli("train")
    assert r.returncode == 2 and "the command is `cxrstudy run`" in r.stderr

def test_out_that_is_not_a_run_is_refused_and_left_byte_identical(tmp_path):
    mine = tmp_path/"mine"; (mine/"site").mkdir(parents=True); (mine/"site"/"index.html").write_text("<h1>my own page</h1>")
    (mine/"notes.txt").write_bytes(b"keep me")
    before = {p: p.read_bytes() for p in mine.rglob("*") if p.is_file()}
    r = cli("run", "--profile", "smoke", "--only", "core", "--out", str(mine), "--no-progress", env=_demo_env(tmp_path))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "no cxrstudy run (no manifest.json)" in lines[0], r.stderr
    assert {p: p.read_bytes() for p in mine.rglob("*") if p.is_file()} == before

def test_every_chapter_parameter_declares_its_valid_range():
    from cxrstudy.runner import inspect_parameters, param_spec, RUNNER_OPTIONS
    for name, nb in discover_chapters(ROOT/"nbs").items():
        for k, v in inspect_parameters(nb).items():
            if k not in RUNNER_OPTIONS: assert param_spec(v["help"]) is not None, f"{name}: parameter {k!r} states no [range]"

def test_every_chapter_declares_the_standard_parameters():
    for name, nb in discover_chapters(ROOT/"nbs").items():
        assert {"profile", "source", "data_dir", "run_dir", "seed"} <= set(chapter_parameters(nb)), name

def test_site_uses_quarto_when_it_is_installed(tmp_path, monkeypatch):
    "With `quarto` on PATH the runner renders the book from nbs/_quarto.yml (a stand-in quarto records the call)."
    from cxrstudy.runner import render_site
    fake = tmp_path/"bin"/"quarto"; fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\nmkdir -p "$4"\necho "<h1>quarto book</h1>" > "$4/index.html"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    run = tmp_path/"run"; (run/"notebooks").mkdir(parents=True)
    shutil.copy(ROOT/"nbs"/"00_core.ipynb", run/"notebooks")
    index = render_site(run, discover_chapters(ROOT/"nbs"))
    assert index.read_text().strip() == "<h1>quarto book</h1>"
    assert (run/"notebooks"/"_quarto.yml").read_text() == (ROOT/"nbs"/"_quarto.yml").read_text()
    args = (fake.parent/"args").read_text().split()
    assert args[:2] == ["render", str(run/"notebooks")] and "--no-execute" in args

def test_standard_two_csv_chexpert_download_runs_every_chapter(chexpert_two_csv_run):
    "train.csv + valid.csv only (the README calls test labels optional) and a 32-image validation split: every chapter runs."
    import pandas as pd
    data, out, r = chexpert_two_csv_run
    assert not (data/"test").exists() and not (data.parent/"groundtruth.csv").exists()
    assert r.returncode == 0, r.stderr[-4000:]
    man = json.loads((out/"manifest.json").read_text())
    assert man["status"] == "ok" and all(c["status"] == "ok" for c in man["chapters"].values()), man["chapters"]
    assert set(man["chapters"]) == set(discover_chapters(ROOT/"nbs"))
    t8 = pd.read_csv(out/"results"/"table8_label_policies.csv")
    assert set(t8["split"]) == {"valid"}  # evaluated on what exists, and the table says which split each row is
    arms = pd.read_csv(out/"results"/"strategy_arms.csv")
    assert set(arms.loc[arms.status == "ok", "split"]) == {"valid"}

def test_an_attempt_killed_outright_is_marked_killed_by_the_next_run(tmp_path):
    from cxrstudy.runner import _demo_notebook
    nbs = tmp_path/"nbs"; nbs.mkdir(); (nbs/"SLOW").touch()
    _demo_notebook(nbs/"01_slow.ipynb", "import time\nfrom pathlib import Path\nPath('STARTED').touch()\nif Path('SLOW').exists(): time.sleep(120)")
    args = ["run", "--nbs", str(nbs), "--profile", "smoke", "--out", str(tmp_path/"run"), "--no-progress", "--site", "none"]
    p = subprocess.Popen(CLI + args, cwd=ROOT, env=_demo_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    for _ in range(1200):
        if (nbs/"STARTED").exists() or p.poll() is not None: break
        time.sleep(0.1)
    assert (nbs/"STARTED").exists()
    os.killpg(p.pid, signal.SIGKILL); p.wait()  # no handler runs: the manifest still says "running"
    assert json.loads((tmp_path/"run"/"manifest.json").read_text())["status"] == "running"
    (nbs/"SLOW").unlink()
    r = cli(*args, env=_demo_env(tmp_path))
    assert r.returncode == 0, r.stderr
    man = json.loads((tmp_path/"run"/"manifest.json").read_text())
    assert [a["status"] for a in man["attempts"]] == ["killed", "ok"] and man["attempts"][0]["chapters"] == {"slow": "killed"}
    # --site none and no results/: the closing lines name only what exists
    assert "site:" not in r.stderr and "results:" not in r.stderr, r.stderr
