"The phantom: deterministic images, labels that are real CheXpert rows, a truth that follows its documented rules."
import hashlib, subprocess, sys
import numpy as np
import pandas as pd
import pytest
from cxrstudy.core import get_profile
from cxrstudy.data import FINDINGS, META_COLUMNS
from cxrstudy.radiograph import ANATOMY_KEYS, render_phantom
from cxrstudy.phantom import PhantomSource, decide_truth, patient_pools, _frontal_table, SPLITS, TRUTH_DEFAULTS, PATHOLOGIES

@pytest.fixture(scope="module")
def src(): return PhantomSource(seed=3, n_train=300, n_valid=60, n_test=60)

def digest(a): return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()

def test_images_are_identical_in_a_fresh_process(src):
    code = ("import hashlib, numpy as np; from cxrstudy.phantom import PhantomSource; s = PhantomSource(seed=3, n_train=300, "
            "n_valid=60, n_test=60); print(*[hashlib.sha256(np.ascontiguousarray(s.image(sp, i)).tobytes()).hexdigest() "
            "for sp, i in (('train', 2), ('valid', 7), ('test', 59))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [digest(src.image(sp, i)) for sp, i in (("train", 2), ("valid", 7), ("test", 59))]

def test_same_seed_same_data_other_seed_other_data(src):
    again = PhantomSource(seed=3, n_train=300, n_valid=60, n_test=60)
    pd.testing.assert_frame_equal(again.labels("train"), src.labels("train"))
    assert np.array_equal(again.image("train", 11), src.image("train", 11))
    other = PhantomSource(seed=4, n_train=300, n_valid=60, n_test=60)
    assert not np.array_equal(other.image("train", 11), src.image("train", 11))
    assert other.fingerprint() != src.fingerprint() == again.fingerprint()
    assert PhantomSource(seed=3, p_true_given_uncertain=0.1).fingerprint() != PhantomSource(seed=3).fingerprint()
    # image i is the same image whatever the split's size
    assert np.array_equal(PhantomSource(seed=3, n_train=20).image("train", 11), src.image("train", 11))

def test_labels_are_the_real_rows_they_came_from(src):
    table = _frontal_table()
    for split in SPLITS:
        rep = src.labels(split)
        assert list(rep.columns) == META_COLUMNS + FINDINGS + ["patient", "source_row"]
        real = table.loc[rep["source_row"]]
        for c in ("Sex", "Age", "AP/PA", "Frontal/Lateral", "patient"): assert (rep[c].to_numpy() == real[c].to_numpy()).all(), c
        if split == "train": np.testing.assert_array_equal(rep[FINDINGS].to_numpy(), real[FINDINGS].to_numpy())
    assert set(src.labels("train")["AP/PA"]) <= {"AP", "PA"}

def test_reported_and_true_labels(src):
    rep, true = src.labels("train")[FINDINGS].to_numpy(), src.true_labels("train").to_numpy()
    assert set(np.unique(true)) <= {0, 1} and true.shape == rep.shape
    assert (true[rep == 1] == 1).all() and (true[rep == 0] == 0).all()
    for split in ("valid", "test"):  # expert-labelled: the report is the truth, 0/1 only
        r = src.labels(split)[FINDINGS].to_numpy()
        assert not np.isnan(r).any() and set(np.unique(r)) <= {0.0, 1.0}
        np.testing.assert_array_equal(r, src.true_labels(split).to_numpy())
    nf = FINDINGS.index("No Finding")
    assert (true[:, nf] == (true[:, [FINDINGS.index(f) for f in PATHOLOGIES]].sum(1) == 0)).all()

@pytest.mark.parametrize("p_unc,p_nm", [(0.3, 0.1), ({"Pneumothorax": 0.95}, 0.0)])
def test_truth_frequencies_follow_the_documented_probabilities(p_unc, p_nm):
    s = PhantomSource(seed=1, n_train=20_000, p_true_given_uncertain=p_unc, p_true_given_not_mentioned=p_nm)
    r, t = s.labels("train")[FINDINGS].to_numpy(), s.true_labels("train").to_numpy()
    open_ = (r[:, FINDINGS.index("No Finding")] != 1)[:, None]
    for k, f in enumerate(FINDINGS):
        if f == "No Finding": continue
        pu = p_unc.get(f, TRUTH_DEFAULTS["p_true_given_uncertain"]) if isinstance(p_unc, dict) else p_unc
        for mask, p in (((r[:, k] == -1), pu), (np.isnan(r[:, k]) & open_[:, 0], p_nm)):
            n = mask.sum()
            if n < 100: continue
            tol = 4 * np.sqrt(p * (1 - p) / n) + 0.005
            assert abs(t[mask, k].mean() - p) <= tol, (f, p, t[mask, k].mean(), n)
    said_normal = ~open_[:, 0]
    assert t[said_normal][:, [FINDINGS.index(f) for f in PATHOLOGIES]].sum() == 0

def test_no_patient_in_two_splits(src):
    pats = {s: set(src.labels(s)["patient"]) for s in SPLITS}
    assert not (pats["train"] & pats["valid"]) and not (pats["train"] & pats["test"]) and not (pats["valid"] & pats["test"])
    pools, table = patient_pools(3), _frontal_table()
    pp = [set(table.loc[pools[s], "patient"]) for s in SPLITS]
    assert not (pp[0] & pp[1]) and not (pp[0] & pp[2]) and not (pp[1] & pp[2])
    assert sum(len(v) for v in pools.values()) == len(table)

def test_image_dtype_shape_range(src):
    for size in (None, 64, 200):
        img = src.image("valid", 3, size)
        assert img.dtype == np.uint8 and img.shape == ((256, 256) if size is None else (size, size))
        assert img.max() > 150 and img.min() < 60 and img.std() > 20  # a radiograph, not a flat frame
    assert src.images("test", 32, idx=[0, 1, 2]).shape == (3, 32, 32)

def test_anatomy_masks(src):
    inside, total = 0, 0
    for i in range(30):
        m = src.anatomy("train", i, 128)
        assert set(m) == set(ANATOMY_KEYS)
        assert all(v.shape == (128, 128) and v.dtype == bool for v in m.values())
        assert 0.1 < m["lungs"].mean() < 0.6 and m["markers"].any()
        inside += (m["markers"] & m["lungs"]).sum(); total += m["markers"].sum()
        img = src.image("train", i, 128)
        assert img[m["lungs"] & ~m["heart"]].mean() < img[m["heart"] & ~m["lungs"]].mean()
    assert inside <= 0.05 * total  # burned-in markers sit outside the lung fields

def test_findings_render_where_they_should():
    for f, key in (("Pneumothorax", "pneumothorax"), ("Pleural Effusion", "effusion"), ("Support Devices", "devices"),
                   ("Consolidation", "opacity")):
        for s in range(5):
            _, with_ = render_phantom({f: 1}, np.random.default_rng(s), anatomy=True)
            _, without = render_phantom({f: 0}, np.random.default_rng(s), anatomy=True)
            assert with_[key].any() and not without[key].any(), (f, s)
            if key in ("pneumothorax", "effusion"): assert (with_[key] & ~with_["lungs"]).sum() <= 0.05 * with_[key].sum()

def test_portable_text_only_on_ap_films():
    ap = [render_phantom({"AP/PA": "AP"}, np.random.default_rng(s), anatomy=True)[1]["markers"].sum() for s in range(20)]
    pa = [render_phantom({"AP/PA": "PA"}, np.random.default_rng(s), anatomy=True)[1]["markers"].sum() for s in range(20)]
    assert np.mean(ap) > 1.5 * np.mean(pa)  # PA films carry only the laterality letter

def test_from_profile_and_bad_input():
    for prof in ("smoke", "cpu"):
        d = get_profile(prof, "data")
        assert PhantomSource.from_profile(prof).sizes() == dict(train=d["n_train"], valid=d["n_valid"], test=d["n_test"])
    with pytest.raises(ValueError, match="splits are: train, valid, test"): PhantomSource().labels("holdout")
    with pytest.raises(IndexError, match="out of range"): PhantomSource().image("train", 384)
    with pytest.raises(ValueError, match="valid truth options"): PhantomSource(p_true=0.5)
    with pytest.raises(ValueError, match="valid findings"): PhantomSource(p_true_given_uncertain={"Pneumonia ": 0.5})
    with pytest.raises(ValueError, match=r"in \[0, 1\]"): PhantomSource(p_true_given_not_mentioned=-0.1)
    with pytest.raises(ValueError, match="exceeds"): PhantomSource(n_test=10**6).labels("test")
    with pytest.raises(ValueError, match="outside 64..2048"): PhantomSource(native_size=16)

def test_decide_truth_rules():
    nan = np.nan
    raw = np.array([[nan] + [nan] * 8 + [-1, nan, nan, nan, 1], [1.0] + [nan] * 13])
    t = decide_truth(raw, np.zeros_like(raw), np.full(14, 0.5), np.full(14, 0.5))
    assert t[0, FINDINGS.index("Pneumothorax")] == 1 and t[0, FINDINGS.index("No Finding")] == 0
    assert t[1, 1:13].sum() == 0 and t[1, 0] == 1 and t[1, 13] == 1  # reported normal; devices are not a pathology
    t = decide_truth(raw, np.full_like(raw, 0.999), np.full(14, 0.5), np.full(14, 0.5))
    assert t[0, FINDINGS.index("Pneumothorax")] == 0 and t[0, FINDINGS.index("No Finding")] == 1

def test_probe_chapter_same_tables_on_one_core_and_all(tmp_path):
    "Issue 11.5: the probe chapter at smoke writes identical results/*.csv pinned to one core and free."
    import os, shutil
    from conftest import CLI, ROOT
    if not shutil.which("taskset"): pytest.skip("taskset (util-linux) is not installed")
    outs = []
    for k, pin in enumerate((["taskset", "-c", "0"], [])):
        out = tmp_path/f"run{k}"
        env = dict(os.environ, CXRSTUDY_CACHE=str(tmp_path/"cache"))
        r = subprocess.run(pin + CLI + ["run", "--profile", "smoke", "--only", "probe", "--no-progress", "--out", str(out)],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
        outs.append({p.name: p.read_bytes() for p in sorted((out/"results").glob("*.csv"))})
    assert outs[0] and outs[0] == outs[1]
