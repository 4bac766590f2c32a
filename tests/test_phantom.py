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

# ---- issue 25: twins (the same image without some layers) and per-layer truth ----
from scipy.ndimage import binary_dilation
from cxrstudy.radiograph import DEVICE_KINDS, LAYERS, P_CHEST_TUBE, film_blur_radius, layers_to_drop, render_twin

# sha256 of images rendered by the code before twins existed (commit 6cd3f24): PhantomSource seed 0 (image i does not depend
# on the split sizes), and render_phantom rows at other sizes and with the procedural pneumothorax
TODAY = {("train", 0): "5f586bdc83e0fa02bce17cea3382be64d0235210056ff212374f99957abc1176",
         ("train", 1): "b22907a8a82b127c4217167a9e6d6b960cb232422609fdacfe1875a17cdaaffe",
         ("train", 2): "aa70d1d16699fa5950669e213356d6d0cf6071e088964fadf25162ed637d71be",
         ("train", 3): "1a8ab1f091d11451eac135f27f53f65082073d5c1493ad953dea0d4bc4b663ca",
         ("train", 4): "ed904d925753bd838dcc517746afcf34e28927613d4b7c79d97511bbf1fee2fd",
         ("train", 20): "c285d9a03a9e33ba0261ee63d4890871a6e65f45cf1d3241ceb4215748e9a853",  # pneumothorax with a chest tube
         ("train", 25): "9a42187bb76a2ceed12b08b44632b0d7523af55278853059b94f9bab423fb763",
         ("valid", 3): "8f03127f4e8f26eb1f28913e26bcf30557f4c62078f9cdd1e4adaad085beac26",
         ("test", 7): "b9cb5503971fb7f75739f9da7d725d0ea209fd02c1926bdd7cb259274841f591"}
TODAY_RENDERS = [({"Support Devices": 1, "AP/PA": "AP"}, 1, 128, "siim", "b6aa315caff7cdc6b2034debd94e2b883916b7cf33a06e4faaa86725f909cfc6"),
                 ({"Pneumothorax": 1, "AP/PA": "AP"}, 0, 512, "siim", "17f955131aac00316b7c40936a780d286ee0ecfc296711f137be3b42620e6531"),
                 ({"Pneumothorax": 1, "Support Devices": 1}, 2, 256, "procedural", "6c926b5c6ab864489cbe07f676592669ecf82f20ebaa9ae7420acca9e15217db")]

@pytest.fixture(scope="module")
def src0(): return PhantomSource(seed=0, n_train=120, n_valid=40, n_test=10)

def grown(m, r): return binary_dilation(m, structure=np.ones((3, 3), bool), iterations=r) if r else m

def test_dropping_nothing_renders_todays_images_bit_for_bit(src0):
    for (sp, i), h in TODAY.items():
        assert digest(src0.image(sp, i)) == h and digest(src0.twin(sp, i, drop=()).image) == h, (sp, i)
    for row, s, size, ptx, h in TODAY_RENDERS:
        assert digest(render_phantom(row, np.random.default_rng(s), size, pneumothorax=ptx)) == h
        assert digest(render_phantom(row, np.random.default_rng(s), size, pneumothorax=ptx, drop=[])) == h
        assert digest(render_twin(row, np.random.default_rng(s), size, drop=["effusion"], pneumothorax=ptx).image) == h  # absent layer

def test_twin_without_devices_differs_only_inside_the_device_masks(src0):
    dev, n = src0.devices("train"), 0
    for i in np.flatnonzero(dev[list(DEVICE_KINDS)].to_numpy().any(1))[:15]:
        img, m = src0.image("train", i), src0.anatomy("train", i)
        t = src0.twin("train", i, drop="devices")
        diff = t.image != img
        assert not diff[~m["devices"]].any() and diff.any(), i  # exactly: not one pixel outside the union of the device masks
        assert np.array_equal(t.changed, m["devices"]) and t.dropped == tuple(k for k in DEVICE_KINDS if dev.loc[i, k])
        for k in t.dropped:  # one kind at a time: only inside that kind's mask
            one = src0.twin("train", i, drop=k)
            assert not (one.image != img)[~m[k]].any() and np.array_equal(one.changed, m[k]), (i, k)
        n += 1
    assert n >= 10

@pytest.mark.parametrize("finding,layer,ptx", [("Pneumothorax", "pneumothorax", "siim"), ("Pneumothorax", "pneumothorax", "procedural"),
                                               ("Pleural Effusion", "effusion", "siim"), ("Consolidation", "consolidation", "siim"),
                                               ("Edema", "edema", "siim"), ("Lung Lesion", "lung_lesion", "siim"), ("Atelectasis", "atelectasis", "siim"),
                                               ("Enlarged Cardiomediastinum", "mediastinum", "siim"), ("Fracture", "fracture", "siim")])
def test_twin_without_a_finding_differs_only_inside_its_extent_grown_by_the_blur(finding, layer, ptx):
    mask_of = dict(pneumothorax="pneumothorax", effusion="effusion", consolidation="opacity", edema="opacity", lung_lesion="opacity",
                   mediastinum="mediastinum")
    for s in range(6):
        row = {finding: 1, "Support Devices": 1, "AP/PA": ("AP", "PA")[s % 2]}
        img, m = render_phantom(row, np.random.default_rng(s), anatomy=True, pneumothorax=ptx)
        t, tm = render_twin(row, np.random.default_rng(s), drop=[layer], pneumothorax=ptx, anatomy=True)
        diff = t.image != img
        assert t.dropped == (layer,) and diff.any(), (s, t.note)
        assert not diff[~grown(t.extent, film_blur_radius(256))].any(), s  # the renderer's stated blur radius
        assert not diff[~t.changed].any() and (t.changed <= grown(t.extent, film_blur_radius(256))).all()
        if layer in mask_of:  # the finding's drawn mask lies inside its extent, and the twin has none
            key = mask_of[layer]; assert m[key].any() and (m[key] <= t.extent).all() and not tm[key].any(), s
        for k in DEVICE_KINDS: assert np.array_equal(tm[k], m[k])  # devices untouched, the chest tube stays on its side

def test_twin_without_markers_and_several_layers(src0):
    for i in range(5):
        img, m = src0.image("test", i), src0.anatomy("test", i)
        t = src0.twin("test", i, drop="markers")
        assert t.dropped == ("markers",) and not (t.image != img)[~m["markers"]].any() and (t.image != img).any()
        both = src0.twin("test", i, drop=["markers", "devices", "opacity", "pneumothorax", "effusion"])
        assert not (both.image != img)[~both.changed].any()

def test_device_table_agrees_with_device_masks(src0):
    for split in ("valid", "test"):
        dev, truth = src0.devices(split), src0.true_labels(split)
        assert list(dev.columns) == list(DEVICE_KINDS) + ["chest_tube_side"] and len(dev) == src0.sizes()[split]
        assert set(dev["chest_tube_side"]) <= {"right", "left", "none"}
        for i in range(len(dev)):
            m = src0.anatomy(split, i)
            assert {k for k in DEVICE_KINDS if dev.loc[i, k]} == {k for k in DEVICE_KINDS if m[k].any()}, (split, i)
            assert bool(dev.loc[i, list(DEVICE_KINDS)].any()) == bool(truth.loc[i, "Support Devices"] == 1)
            if dev.loc[i, "chest_tube"]:  # the patient's right is the image's left
                xs = np.nonzero(m["chest_tube"])[1]; assert (xs.mean() < 128) == (dev.loc[i, "chest_tube_side"] == "right"), (split, i)
    assert src0.devices("valid") is not src0.devices("valid")  # a copy of the cached table
    pd.testing.assert_frame_equal(src0.devices("valid"), PhantomSource(seed=0, n_train=5, n_valid=40, n_test=10).devices("valid"))

def test_chest_tubes_follow_pneumothorax_as_designed():
    s = PhantomSource(seed=2, n_train=1500, n_valid=0, n_test=0)
    dev, t = s.devices("train"), s.true_labels("train")
    sd, ptx, tube = t["Support Devices"] == 1, t["Pneumothorax"] == 1, dev["chest_tube"] == 1
    for cond, p in ((sd & ptx, P_CHEST_TUBE[0]), (sd & ~ptx, P_CHEST_TUBE[1])):
        n = int(cond.sum()); assert n >= 40
        assert abs(tube[cond].mean() - p) <= 4 * np.sqrt(p * (1 - p) / n), (p, tube[cond].mean(), n)
    assert not tube[~sd].any()

def test_same_seed_same_twin_and_bad_input(src0):
    again = PhantomSource(seed=0, n_train=120, n_valid=40, n_test=10)
    for drop in ("devices", ["pneumothorax", "markers"]):
        a, b = src0.twin("train", 20, drop=drop), again.twin("train", 20, drop=drop)
        assert np.array_equal(a.image, b.image) and np.array_equal(a.changed, b.changed) and a.dropped == b.dropped
    with pytest.raises(ValueError, match="unknown layer.*the renderer draws the layers mediastinum, pneumothorax.*markers"):
        src0.twin("train", 0, drop=["chest tube"])
    with pytest.raises(ValueError, match="knows the groups devices"): layers_to_drop(("device",))
    assert set(LAYERS) >= set(DEVICE_KINDS) | {"pneumothorax", "effusion", "markers"}
    no_ptx = [i for i in range(40) if src0.true_labels("train").loc[i, "Pneumothorax"] == 0][:5]
    for i in no_ptx:  # a batch over images that lack the layer: no error, the image itself, and the record says so
        t = src0.twin("train", i, drop="pneumothorax")
        assert t.identical and t.absent == ("pneumothorax",) and not t.changed.any() and "the twin is the image itself" in t.note
        assert np.array_equal(t.image, src0.image("train", i))
    with pytest.raises(IndexError, match="out of range"): src0.twin("valid", 40, drop="devices")
