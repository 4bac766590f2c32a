"The artifact store survives a killed writer and reuses finished work."
import json, signal, subprocess, sys, time, textwrap
import numpy as np
import pytest
from cxrstudy.core import ArtifactStore, config_key, get_profile, RunManifest

WRITER = textwrap.dedent("""
    import sys, time, numpy as np
    from pathlib import Path
    from cxrstudy.core import ArtifactStore
    def build(cfg, folder):
        (folder/"a.npy").write_bytes(b"x" * 1000)
        Path(sys.argv[2]).write_text("started")
        time.sleep(60)  # killed here, mid-build
    ArtifactStore(sys.argv[1]).get_or_build("slow", {"n": 1}, build)
""")

def test_killed_build_leaves_no_artifact_and_rebuilds(tmp_path):
    flag = tmp_path/"started"
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path/"store"), str(flag)])
    for _ in range(600):
        if flag.exists(): break
        time.sleep(0.05)
    assert flag.exists(), "the writer never started"
    p.send_signal(signal.SIGKILL); p.wait()
    store = ArtifactStore(tmp_path/"store")
    assert not store.exists("slow", {"n": 1})  # only a hidden temporary folder is left, never the artifact
    built = []
    path = store.get_or_build("slow", {"n": 1}, lambda cfg, folder: (built.append(1), (folder/"a.npy").write_text("ok")))
    assert built == [1] and (path/"a.npy").read_text() == "ok"

def test_reuse_by_config_and_new_key_on_change(tmp_path):
    store, calls = ArtifactStore(tmp_path), []
    build = lambda cfg: (calls.append(cfg), np.full(3, cfg["v"]))[1]
    a = store.get_or_build("arr", {"v": 1}, build, ".npy")
    b = store.get_or_build("arr", {"v": 1}, build, ".npy")
    c = store.get_or_build("arr", {"v": 2}, build, ".npy")
    assert len(calls) == 2 and np.array_equal(a, b) and c[0] == 2
    assert json.loads((tmp_path/"arr"/f"{config_key({'v': 2})}.config.json").read_text()) == {"v": 2}

def test_unknown_profile_message():
    with pytest.raises(ValueError, match="valid profiles: smoke, cpu, full"): get_profile("gpu")

def test_manifest_survives_reload(tmp_path):
    m = RunManifest(tmp_path, "smoke", {"seed": 1}, "phantom", "abc", 1, "cpu").save()
    m.chapter("data", status="ok"); m.finish("ok")
    d = json.loads((tmp_path/"manifest.json").read_text())
    assert d["status"] == "ok" and d["finished"] and d["chapters"]["data"]["status"] == "ok"
