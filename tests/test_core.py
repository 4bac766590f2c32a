"The artifact store survives a killed writer and reuses finished work."
import json, signal, subprocess, sys, time, textwrap
import numpy as np
import pytest
from cxrstudy.core import ArtifactStore, HOST_TAG, config_key, get_profile, record_digest, RunManifest

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
    debris = [q.name for q in (tmp_path/"store"/"slow").iterdir() if ".tmp-" in q.name]
    assert debris and all(n.startswith(f".{config_key({'n': 1})}.tmp-{HOST_TAG}-{p.pid}-") for n in debris), debris
    assert not store.exists("slow", {"n": 1})  # only a hidden temporary folder is left, never the artifact
    assert not any(".tmp-" in q.name for q in (tmp_path/"store"/"slow").iterdir())  # opening the key swept the dead writer's
    built = []
    path = store.get_or_build("slow", {"n": 1}, lambda cfg, folder: (built.append(1), (folder/"a.npy").write_text("ok")))
    assert built == [1] and (path/"a.npy").read_text() == "ok"

class _Payload:
    "A pickle that runs code when loaded: what a planted `.pt` file in a shared cache could hold."
    def __init__(self, flag): self.flag = str(flag)
    def __reduce__(self): return (exec, (f"open({self.flag!r}, 'w').write('pwned')",))

def test_planted_pt_with_a_reduce_payload_is_refused(tmp_path):
    import torch
    store, flag = ArtifactStore(tmp_path/"store"), tmp_path/"pwned"
    store.put("model", {"m": 1}, {"w": torch.ones(2), "step": 3}, ".pt")
    got = store.get("model", {"m": 1}, ".pt")  # tensors and plain containers load as before
    assert torch.equal(got["w"], torch.ones(2)) and got["step"] == 3
    planted = store.path("model", {"m": 2}, ".pt"); planted.parent.mkdir(parents=True, exist_ok=True)
    with open(planted, "wb") as f: torch.save({"w": _Payload(flag)}, f)
    # planted without a digest: refused by `get`, rebuilt (never read) by `get_or_build`
    with pytest.raises(ValueError, match="has no content digest"): store.get("model", {"m": 2}, ".pt")
    with pytest.raises(ValueError, match="has no content digest"): ArtifactStore(tmp_path/"store", on_damage="raise").get_or_build("model", {"m": 2}, lambda cfg: {}, ".pt")
    assert not flag.exists()
    # planted together with a digest (someone who knows the format): still refused by the weights-only loader
    with open(planted, "wb") as f: torch.save({"w": _Payload(flag)}, f)
    record_digest(planted)
    with pytest.raises(ValueError, match="refusing to load"): store.get("model", {"m": 2}, ".pt")
    with pytest.raises(ValueError, match="refusing to load"): store.get_or_build("model", {"m": 2}, lambda cfg: {}, ".pt")
    assert not flag.exists()  # the payload never ran

def test_reuse_by_config_and_new_key_on_change(tmp_path):
    store, calls = ArtifactStore(tmp_path), []
    build = lambda cfg: (calls.append(cfg), np.full(3, cfg["v"]))[1]
    a = store.get_or_build("arr", {"v": 1}, build, ".npy")
    b = store.get_or_build("arr", {"v": 1}, build, ".npy")
    c = store.get_or_build("arr", {"v": 2}, build, ".npy")
    assert len(calls) == 2 and np.array_equal(a, b) and c[0] == 2
    assert json.loads((tmp_path/"arr"/f"{config_key({'v': 2})}.config.json").read_text()) == {"v": 2}

def test_unknown_profile_message():
    with pytest.raises(ValueError, match="valid profiles: smoke, cpu, gpu, full"): get_profile("tpu")

def test_manifest_survives_reload(tmp_path):
    m = RunManifest(tmp_path, "smoke", {"seed": 1}, "phantom", "abc", 1, "cpu").save()
    m.chapter("data", status="ok"); m.finish("ok")
    d = json.loads((tmp_path/"manifest.json").read_text())
    assert d["status"] == "ok" and d["finished"] and d["chapters"]["data"]["status"] == "ok"
