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
    "One end-to-end study as a background process, one torch/OpenMP thread (the two studies share the cores side by side)."
    def __init__(self, name:str, base:Path):
        args, env, self.returns = _MAKE[name](base)
        self.log = {k: open(base/f"{k}.log", "w+") for k in ("stdout", "stderr")}
        self.proc = subprocess.Popen(args, cwd=ROOT, env=dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **env), text=True, **self.log)
    def result(self, timeout:float)->subprocess.CompletedProcess:
        try: self.proc.wait(timeout)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        text = {k: (f.seek(0), f.read())[1] for k, f in self.log.items()}
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, text["stdout"], text["stderr"])

@pytest.fixture(scope="session")
def _studies(request, tmp_path_factory):
    """The end-to-end studies the selected tests use, started together and awaited together: on two cores two single-threaded
    studies side by side finish sooner than one after the other, and no other test runs beside them."""
    wanted = [n for n in STUDIES if any(n in getattr(it, "fixturenames", ()) for it in request.session.items)]
    running = {n: _Study(n, tmp_path_factory.mktemp(n)) for n in wanted}
    done = {n: (s.result(timeout=2400), s.returns) for n, s in running.items()}
    return done

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
