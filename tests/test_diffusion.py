"""Diffusion training killed as a process (SIGKILL, no clean-up) resumes from its last checkpoint to the same weights as a run
that was never interrupted: what the notebook's in-process `stop_after` check cannot show."""
import json, signal, subprocess, sys, time, textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent('''
    import sys, torch, numpy as np
    from cxrstudy.diffusion_training import TrainingData, fit_diffusion
    from cxrstudy.sampling import diffusion_config
    ckpt, out = sys.argv[1], sys.argv[2]
    cfg = diffusion_config("smoke", n_train=64, epochs=3, batch_size=4, checkpoint_every=1, grid_every=1000)
    rng = np.random.default_rng(0)
    data = TrainingData(rng.integers(0, 256, (64, 32, 32), dtype=np.uint8), np.arange(64), rng.integers(0, 2, 64))
    res = fit_diffusion(cfg, data, seed=3, ckpt_dir=ckpt, device="cpu")
    torch.save({k: v for k, v in res.raw_unet.state_dict().items()}, out + ".raw.pt")
    torch.save({k: v for k, v in res.model.unet.state_dict().items()}, out + ".ema.pt")
''')

def _run(tmp:Path, name:str, kill_after_checkpoint:int|None=None):
    "Run the training script; optionally SIGKILL it once `kill_after_checkpoint` checkpoints exist. Returns whether it was killed."
    script = tmp/"train.py"; script.write_text(SCRIPT)
    p = subprocess.Popen([sys.executable, str(script), str(tmp/f"ck-{name}"), str(tmp/name)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after_checkpoint is None:
        assert p.wait(timeout=600) == 0; return False
    deadline = time.time() + 600
    while time.time() < deadline and p.poll() is None:
        if len(list((tmp/f"ck-{name}").glob("checkpoint-*"))) and \
           max(int(c.name.split("-")[1]) for c in (tmp/f"ck-{name}").glob("checkpoint-*")) >= kill_after_checkpoint:
            p.send_signal(signal.SIGKILL); p.wait(); return True
        time.sleep(0.02)
    p.wait(); return False

def test_killed_run_resumes_to_the_same_weights(tmp_path):
    import torch
    _run(tmp_path, "whole")
    killed = _run(tmp_path, "cut", kill_after_checkpoint=3)
    if not killed: pytest.fail("the training finished before it could be killed; make the run longer")
    assert not (tmp_path/"cut.raw.pt").exists()
    _run(tmp_path, "cut")  # the same command again: resumes from the newest checkpoint
    for part in ("raw", "ema"):
        a, b = torch.load(tmp_path/f"whole.{part}.pt"), torch.load(tmp_path/f"cut.{part}.pt")
        assert a.keys() == b.keys()
        for k in a: assert torch.allclose(a[k], b[k], atol=1e-6, rtol=0), (part, k)
