import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = [str(Path(sys.executable).parent/"cxrstudy")]
STUDIES = ("smoke_run", "chexpert_two_csv_run")  # the end-to-end studies: each runs every chapter in a fresh store

@pytest.fixture(scope="session")
def root(): return ROOT

def _smoke_study(base:Path):
    "The whole study at the smoke profile on the phantom: (command, environment, what the fixture returns besides the result)."
    out = base/"run"
    return CLI + ["run", "--profile", "smoke", "--out", str(out), "--no-progress"], dict(CXRSTUDY_CACHE=str(base/"cache")), (out,)

def _chexpert_study(base:Path):
    "Every chapter at smoke on the standard CheXpert-v1.0-small layout: train.csv and valid.csv only (no test labels), 32 frontal validation images."
    from cxrstudy.sources import make_fake_chexpert
    data, out = make_fake_chexpert(base, n_patients=200, n_valid=32, seed=3), base/"run"
    return (CLI + ["run", "--profile", "smoke", "--source", "chexpert", "--data-dir", str(data), "--out", str(out), "--no-progress", "--site", "none"],
            dict(CXRSTUDY_CACHE=str(base/"cache")), (data, out))

_MAKE = dict(smoke_run=_smoke_study, chexpert_two_csv_run=_chexpert_study)

class _Study:
    "One end-to-end study as a background process, one torch/OpenMP thread (the two studies and the other tests share the cores)."
    def __init__(self, name:str, base:Path):
        args, env, self.returns = _MAKE[name](base)
        self.log = {k: open(base/f"{k}.log", "w+") for k in ("stdout", "stderr")}
        self.proc = subprocess.Popen(args, cwd=ROOT, env=dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **env), text=True, **self.log)
    def result(self, timeout:float)->subprocess.CompletedProcess:
        try: self.proc.wait(timeout)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        text = {k: (f.seek(0), f.read())[1] for k, f in self.log.items()}
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, text["stdout"], text["stderr"])

_RUNNING = {}  # study name -> _Study, started when collection ends

def pytest_collection_finish(session):
    """Start the end-to-end studies the selected tests use as soon as the tests are collected: each runs on one thread for about
    18 minutes, and most other tests use one core, so the studies run beside them instead of after them (the test that reads a
    study waits for it)."""
    if session.config.option.collectonly: return
    wanted = [n for n in STUDIES if any(n in getattr(it, "fixturenames", ()) for it in session.items)]
    factory = session.config._tmp_path_factory  # pytest's own tmp_path_factory (the fixture is not available in a hook)
    _RUNNING.update({n: _Study(n, factory.mktemp(n)) for n in wanted if n not in _RUNNING})

def pytest_sessionfinish(session, exitstatus):
    "A study still running when the session ends (its tests deselected by -x or a failure) is stopped, not left behind."
    for s in _RUNNING.values():
        if s.proc.poll() is None: s.proc.kill(); s.proc.wait()

@pytest.fixture(scope="session")
def _studies(request, tmp_path_factory):
    "The end-to-end studies the selected tests use, started when collection ended (see `pytest_collection_finish`), awaited together."
    wanted = [n for n in STUDIES if any(n in getattr(it, "fixturenames", ()) for it in request.session.items)]
    for n in wanted:
        if n not in _RUNNING: _RUNNING[n] = _Study(n, tmp_path_factory.mktemp(n))
    return {n: (_RUNNING[n].result(timeout=2400), _RUNNING[n].returns) for n in wanted}

@pytest.fixture(scope="session")
def smoke_run(_studies):
    "One end-to-end run of the whole study at the smoke profile, shared by the tests that inspect it."
    r, (out,) = _studies["smoke_run"]
    assert r.returncode == 0, f"smoke study failed:\n{r.stderr[-4000:]}"
    return out, r

@pytest.fixture(scope="session")
def chexpert_two_csv_run(_studies):
    "One run of every chapter at smoke on the standard CheXpert-v1.0-small layout: train.csv and valid.csv only (no test labels), 32 frontal validation images."
    r, (data, out) = _studies["chexpert_two_csv_run"]
    return data, out, r
