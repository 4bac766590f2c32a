"End-to-end and failure-mode tests of `cxrstudy run`."
import json, os, shutil, subprocess
from pathlib import Path
import pytest
from conftest import CLI, ROOT
from cxrstudy.runner import demo_chapters, discover_chapters, chapter_parameters

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
    assert json.loads((tmp_path/"run"/"manifest.json").read_text())["status"] == "ok"
    # a fresh run of the same chapters reruns them but reuses the stored artifact: built once in all
    r = cli("run", "--nbs", str(nbs), "--profile", "smoke", "--out", str(tmp_path/"run2"), "--no-progress", env=env)
    assert r.returncode == 0 and (nbs/"builds.log").read_text().count("built") == 1

def _runs_state():
    runs = ROOT/"runs"
    return sorted(str(p) for p in runs.rglob("*")) if runs.exists() else None

@pytest.mark.parametrize("args, words", [
    (["--profile", "huge"], "unknown profile 'huge'; choose one of: smoke, cpu, full"),
    (["--source", "mimic"], "unknown source 'mimic'; choose one of: phantom, chexpert"),
    (["-p", "no_such_knob=1"], "unknown parameter 'no_such_knob'"),
    (["-p", "epochs"], "is not NAME=VALUE"),
    (["--data-dir", "/no/such/chexpert"], "--data-dir /no/such/chexpert does not exist"),
    (["--only", "no_such_chapter"], "unknown chapter 'no_such_chapter'; valid chapters: core"),
    (["--out", "/proc/cxrstudy-cannot-write-here"], "is not writable"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_bad_input_is_one_clear_line_and_touches_nothing(args, words):
    before = _runs_state()
    r = cli("run", *args)
    assert r.returncode == 2, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and words in lines[0], r.stderr
    assert _runs_state() == before
    assert not Path("/proc/cxrstudy-cannot-write-here").exists()

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
