"What the classification chapter's notebook cannot test well: the public API later chapters import, and that a training run gives the same model with any number of torch threads (separate processes)."
import hashlib, inspect, json, os, subprocess, sys, textwrap
from pathlib import Path

import pytest

from cxrstudy import classify

def test_public_api_is_the_issue_s():
    "The signatures strategies, genmetrics and diffusion import (parameter names and order) stay as documented."
    names = lambda f: [p for p in inspect.signature(f).parameters][:len(want[f.__name__])]
    want = dict(make_model=["arch", "n_out", "in_chans", "pretrained"],
                train_classifier=["source", "finding", "arch", "policy", "mask", "augment", "extra_images", "seed", "profile"],
                predict=["learner", "source", "split"], features=["learner", "source", "split"])
    for n in want: assert names(getattr(classify, n)) == want[n], n
    assert classify.Trained._fields == ("learner", "key")
    assert classify.DEFAULT_POLICY in classify.POLICIES and len(classify.POLICIES) == 7

_TRAIN = textwrap.dedent("""
    import hashlib, sys, torch
    torch.set_num_threads(int(sys.argv[1]))
    from cxrstudy.phantom import PhantomSource
    from cxrstudy.classify import train_classifier, predict
    src = PhantomSource(0, n_train=96, n_valid=32, n_test=32)
    t = train_classifier(src, "Pleural Effusion", arch="thesis_densenet_tiny", profile="smoke", progress=False, seed=3)
    w = (t.learner.cxr.folder + "/weights.safetensors")
    print("KEY", t.key, hashlib.sha256(open(w, "rb").read()).hexdigest(), float(predict(t.learner, src, "test")["prob"].sum()))
""")

@pytest.mark.parametrize("threads", [(1, 2)])
def test_same_model_on_any_thread_count(tmp_path, threads):
    "Two processes with different torch thread counts and separate stores train bit-identical weights."
    outs = []
    for k, n in enumerate(threads):
        env = dict(os.environ, CXRSTUDY_CACHE=str(tmp_path/f"store{k}"), OMP_NUM_THREADS=str(n))
        r = subprocess.run([sys.executable, "-c", _TRAIN, str(n)], capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append(next(l for l in r.stdout.splitlines() if l.startswith("KEY ")))
    assert outs[0] == outs[1], outs

def test_toolkit_options_are_keyword_only():
    "Issue #24: every option of train_classifier (arch included) and of train_on_arrays is keyword-only; heads and families are registries."
    kinds = lambda f: {n: p.kind for n, p in inspect.signature(f).parameters.items()}
    tc, ta = kinds(classify.train_classifier), kinds(classify.train_on_arrays)
    assert all(tc[n] == inspect.Parameter.KEYWORD_ONLY for n in ("arch", "policy", "mask", "augment", "extra_images", "seed", "profile", "store"))
    assert [n for n, k in tc.items() if k == inspect.Parameter.POSITIONAL_OR_KEYWORD] == ["source", "finding"]
    assert ta["augment"] == inspect.Parameter.KEYWORD_ONLY
    assert [n for n, k in ta.items() if k == inspect.Parameter.POSITIONAL_OR_KEYWORD] == ["images", "targets"]
    assert set(classify.HEADS) >= {"multilabel", "softmax"}
    assert {v["family"] for v in classify.ARCHS.values()} <= set(classify.FAMILIES)
    assert all(classify.arch_label(a) for a in classify.ARCHS)  # every network has a label for tables

def test_internal_records_are_named():
    "Issue #24: the training internals take one named record, not long positional lists."
    assert "job" in inspect.signature(classify._train_or_load).parameters and len(classify.TrainJob._fields) == 14
    assert list(inspect.signature(classify._train_or_load_arrays).parameters) == ["cfg", "job"]
    kinds = {n: p.kind for n, p in inspect.signature(classify.classifier_config).parameters.items()}
    assert [n for n, k in kinds.items() if k == inspect.Parameter.POSITIONAL_OR_KEYWORD] == ["source", "finding"]
