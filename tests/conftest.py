import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = [str(Path(sys.executable).parent/"cxrstudy")]

@pytest.fixture(scope="session")
def root(): return ROOT

@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    "One end-to-end run of the whole study at the smoke profile, shared by the tests that inspect it."
    out = tmp_path_factory.mktemp("study")/"run"
    env = dict(os.environ, CXRSTUDY_CACHE=str(out.parent/"cache"))
    r = subprocess.run(CLI + ["run", "--profile", "smoke", "--out", str(out), "--no-progress"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f"smoke study failed:\n{r.stderr[-4000:]}"
    return out, r

@pytest.fixture(scope="session")
def chexpert_two_csv_run(tmp_path_factory):
    "One run of every chapter at smoke on the standard CheXpert-v1.0-small layout: train.csv and valid.csv only (no test labels), 32 frontal validation images."
    from cxrstudy.sources import make_fake_chexpert
    base = tmp_path_factory.mktemp("chexpert")
    data = make_fake_chexpert(base, n_patients=200, n_valid=32, seed=3)
    out = base/"run"
    env = dict(os.environ, CXRSTUDY_CACHE=str(base/"cache"))
    r = subprocess.run(CLI + ["run", "--profile", "smoke", "--source", "chexpert", "--data-dir", str(data), "--out", str(out),
                              "--no-progress", "--site", "none"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=2400)
    return data, out, r
