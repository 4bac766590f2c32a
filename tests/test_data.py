"Bad input to the data layer: each failure names the problem and the fix; the image cache survives a killed build."
import json, pickle, signal, subprocess, sys, textwrap
import numpy as np
import pandas as pd
import pytest
from cxrstudy.core import ArtifactStore
from cxrstudy.data import FINDINGS, META_COLUMNS, BadImageError, pydicom_data_file, read_dicom, read_image, resolve_path
from cxrstudy.sources import ChexpertSource, LabelTableSource, make_fake_chexpert, open_source
from cxrstudy.cache import CXRDataset, bad_images_table, cache_config, cached_images, cached_split

@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    "A small CheXpert-shaped folder (real label rows, random JPEGs) with per-study test labels beside it."
    return make_fake_chexpert(tmp_path_factory.mktemp("cx"), n_patients=8, n_valid=3, n_test=3, seed=2)

def _copy(fake, tmp_path):
    "A private copy of the fake folder that a test may damage."
    import shutil
    dst = tmp_path/"CheXpert-v1.0-small"; shutil.copytree(fake, dst); return dst

# ---- layout and tables

def test_missing_dir_and_csv_name_the_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; expected a CheXpert-v1.0-small/.*data/README.md"):
        ChexpertSource(tmp_path/"nope")
    with pytest.raises(FileNotFoundError, match="has no train.csv; expected .*train.csv, valid.csv"):
        ChexpertSource(tmp_path)
    (tmp_path/"train.csv").write_text("Path\n")
    with pytest.raises(FileNotFoundError, match="has no valid.csv"):
        ChexpertSource(tmp_path)
    with pytest.raises(FileNotFoundError, match="needs data_dir"):
        open_source("chexpert", None)


def test_label_values_outside_the_vocabulary_name_rows(fake, tmp_path):
    d = _copy(fake, tmp_path)
    t = pd.read_csv(d/"valid.csv"); t["Edema"] = t["Edema"].astype(object)
    t.loc[0, "Edema"] = "maybe"; t.loc[2, "Edema"] = 0.5
    t.to_csv(d/"valid.csv", index=False)
    with pytest.raises(ValueError, match=r"2 label value\(s\) outside 1, 0, -1 or blank: row 0 \(file line 2\) Edema='maybe'; row 2"):
        ChexpertSource(d)

def test_raw_values_are_kept(fake):
    s = ChexpertSource(fake, view="both")
    raw = pd.read_csv(fake/"train.csv")
    both = pd.concat([s.labels("train"), s.labels("holdout")])
    got = both.sort_values("source_row")[FINDINGS].fillna(9).to_numpy()
    np.testing.assert_array_equal(got, raw[FINDINGS].fillna(9).to_numpy())
    assert set(np.unique(got)) <= {-1, 0, 1, 9}


def test_patient_split_and_views(fake):
    s = ChexpertSource(fake, view="both", seed=1)
    tr, ho = s.labels("train"), s.labels("holdout")
    assert not set(tr["patient"]) & set(ho["patient"])
    assert len(tr) + len(ho) == len(pd.read_csv(fake/"train.csv"))
    f = ChexpertSource(fake, view="frontal", seed=1)
    assert (f.labels("train")["Frontal/Lateral"] == "Frontal").all()
    assert set(f.labels("holdout")["patient"]) <= set(ho["patient"])  # the split is made before the view filter
    with pytest.raises(ValueError, match="valid views: frontal, lateral, both"):
        ChexpertSource(fake, view="oblique")

def test_ap_pa_filter(fake):
    both = ChexpertSource(fake, view="both")
    for v in ("AP", "PA"):
        s = ChexpertSource(fake, view="both", ap_pa=v)
        for split in ("train", "holdout"):
            assert set(s.labels(split)["AP/PA"]) <= {v}
            assert len(s.labels(split)) == int((both.labels(split)["AP/PA"] == v).sum())
    assert ChexpertSource(fake, ap_pa=["AP", "PA"]).fingerprint() != ChexpertSource(fake).fingerprint()
    with pytest.raises(ValueError, match="unknown AP/PA value.*valid: AP, PA, LL, RL"):
        ChexpertSource(fake, ap_pa="Frontal")

def test_test_labels_per_study_expand_to_images(fake):
    s = ChexpertSource(fake, test_labels_csv=fake.parent/"groundtruth.csv", view="both")
    t = s.labels("test")
    assert len(t) == sum(1 for _ in (fake/"test").rglob("*.jpg"))
    assert t["Path"].str.startswith("CheXpert-v1.0/test/patient647").all()
    assert s.image("test", 0, 16).shape == (16, 16)


def test_label_source_has_the_real_table_and_no_images():
    s = LabelTableSource()
    assert len(s.labels("train")) + len(s.labels("holdout")) == 223_414
    with pytest.raises(ValueError, match="no images"):
        s.image("train", 0)

# ---- images

def test_missing_and_corrupt_images_are_skipped_and_counted(fake, tmp_path):
    d = _copy(fake, tmp_path)
    s = ChexpertSource(d, view="both")
    s.path("valid", 0).unlink(); s.path("valid", 1).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(BadImageError, match="does not exist"): s.image("valid", 0)
    with pytest.raises(BadImageError, match="does not decode"): s.image("valid", 1)
    with pytest.warns(UserWarning, match="skipping bad image"):
        arr = cached_images(s, "valid", 16, store=ArtifactStore(tmp_path/"store"))
    assert len(s.bad_images) == 2 and {b["row"] for b in s.bad_images} == {0, 1}
    assert arr.shape[0] == len(s.labels("valid")) and arr[0].max() == 0 and arr[1].max() == 0
    _, lab = cached_split(s, "valid", 16, store=ArtifactStore(tmp_path/"store"))
    assert list(lab.index) == list(range(2, len(s.labels("valid"))))
    ds = CXRDataset(s, "valid", 16, store=ArtifactStore(tmp_path/"store"))
    assert len(ds) == len(s.labels("valid")) - 2 and ds[0][2]["row"] == 2
    r = ChexpertSource(d, view="both", on_bad_image="raise")
    with pytest.raises(BadImageError):
        cached_images(r, "valid", 16, store=ArtifactStore(tmp_path/"store2"))

def test_a_1x1_image_is_skipped_with_its_reason_not_trained_on_as_a_flat_image(fake, tmp_path):
    from PIL import Image
    d = _copy(fake, tmp_path)
    s = ChexpertSource(d, view="both")
    Image.fromarray(np.full((1, 1), 200, np.uint8)).save(s.path("valid", 0), format="JPEG")
    with pytest.warns(UserWarning, match="skipping bad image: .* is 1x1 pixels, under the 16 px a radiograph needs"):
        _, lab = cached_split(s, "valid", 16, store=ArtifactStore(tmp_path/"store"))
    assert 0 not in lab.index and [b["row"] for b in s.bad_images] == [0]
    assert "1x1 pixels" in bad_images_table(s)["reason"].iloc[0]

def test_bad_images_reach_the_run_manifest_count(fake, tmp_path):
    "The chapter saves `bad_images_table` as results/bad_images.csv; the runner's manifest count reads that file."
    from cxrstudy.core import save_table
    from cxrstudy.runner import count_bad_images
    d = _copy(fake, tmp_path)
    s = ChexpertSource(d, view="both")
    s.path("valid", 1).unlink()
    with pytest.warns(UserWarning, match="skipping bad image"):
        cached_images(s, "valid", 16, store=ArtifactStore(tmp_path/"store"))
    run = tmp_path/"run"
    assert count_bad_images(run) == 0
    save_table(bad_images_table(s), "bad_images", run_dir=run, source="chexpert", profile="smoke")
    assert count_bad_images(run) == 1

def test_image_sizes(fake):
    p = ChexpertSource(fake).path("train", 0)
    assert read_image(p).shape == (390, 320)
    assert read_image(p, 64).shape == (64, 64) and read_image(p, (389, 320)).shape == (389, 320)
    assert read_image(p, 64).dtype == np.uint8

def test_dicom_monochrome1_is_inverted():
    img = read_dicom(pydicom_data_file("RG1_UNCI.dcm"))
    assert img.shape == (1955, 1841) and img.dtype == np.uint8
    h, w = img.shape
    spine = img[h//4:h//2, w//2 - 90:w//2 + 90].mean()
    lung = img[h//4:h//2, int(0.3*w) - 90:int(0.3*w) + 90].mean()
    corner = img[:h//20, :w//20].mean()
    assert corner < lung < spine  # black = air, as in a CheXpert JPEG

# ---- the cache

KILLER = textwrap.dedent("""
    import os, signal, sys
    from cxrstudy.core import ArtifactStore
    from cxrstudy.sources import ChexpertSource
    from cxrstudy.cache import cached_images
    src = ChexpertSource(sys.argv[1], view="both", seed=5)
    real = src.image
    def dying(split, i, size=None):
        if i == 5: os.kill(os.getpid(), signal.SIGKILL)  # killed mid-build, no cleanup runs
        return real(split, i, size)
    src.image = dying
    cached_images(src, "train", 20, store=ArtifactStore(sys.argv[2]), chunk=2)
""")

def test_killed_cache_build_resumes_and_never_serves_half(fake, tmp_path):
    store = ArtifactStore(tmp_path/"store")
    r = subprocess.run([sys.executable, "-c", KILLER, str(fake), str(store.root)], capture_output=True, text=True)
    assert r.returncode == -signal.SIGKILL, r.stderr
    src = ChexpertSource(fake, view="both", seed=5)
    n = len(src.labels("train"))
    final = store.path("image_cache", cache_config(src, "train", 20))
    partial = final.with_name(f".{final.name}.partial")
    assert not final.exists()  # no half array where readers look
    assert json.loads((partial/"progress.json").read_text())["done"] == 4
    calls, real = [], src.image
    src.image = lambda split, i, size=None: (calls.append(i), real(split, i, size))[1]
    arr = cached_images(src, "train", 20, store=store, chunk=2)
    assert calls == list(range(4, n))  # resumed after the last finished chunk
    np.testing.assert_array_equal(np.asarray(arr), np.stack([real("train", i, 20) for i in range(n)]))
    assert not partial.exists() and sorted(p.name for p in final.iterdir()) == [".digest.json", "bad.json", "images.npy"]
    calls.clear(); cached_images(src, "train", 20, store=store)
    assert calls == []  # a finished cache is reused

LOGGER = textwrap.dedent("""
    import sys, time
    from cxrstudy.core import ArtifactStore
    from cxrstudy.sources import ChexpertSource
    from cxrstudy.cache import cached_images
    src = ChexpertSource(sys.argv[1], view="both", seed=5)
    real = src.image
    def logged(split, i, size=None):
        with open(sys.argv[3], "a") as f: f.write(f"{i}\\n")
        time.sleep(0.1)  # slow enough that the two builds overlap
        return real(split, i, size)
    src.image = logged
    print(cached_images(src, "train", 20, store=ArtifactStore(sys.argv[2]), chunk=4).filename)
""")

def test_concurrent_builds_decode_each_image_once(fake, tmp_path):
    "Two processes asking for the same cache at once: the file lock lets one build it and the other reuse it."
    log = tmp_path/"decoded.txt"
    args = [sys.executable, "-c", LOGGER, str(fake), str(tmp_path/"store"), str(log)]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    n = len(ChexpertSource(fake, view="both", seed=5).labels("train"))
    decoded = log.read_text().split()
    assert sorted(map(int, decoded)) == list(range(n))  # every row once, not twice
    assert outs[0][0] == outs[1][0]  # both were served the same finished file

def test_threaded_build_equals_serial_build(fake, tmp_path):
    s = ChexpertSource(fake, view="both")
    one = cached_images(s, "train", 24, store=ArtifactStore(tmp_path/"a"), workers=1)
    two = cached_images(s, "train", 24, store=ArtifactStore(tmp_path/"b"), workers=3, chunk=5)
    np.testing.assert_array_equal(np.asarray(one), np.asarray(two))

def test_dataset_batches_and_pickles(fake, tmp_path):
    import torch
    from torch.utils.data import DataLoader
    s = ChexpertSource(fake, view="both")
    ds = CXRDataset(s, "train", 24, store=ArtifactStore(tmp_path))
    x, y, meta = next(iter(DataLoader(ds, batch_size=3)))
    assert x.shape == (3, 1, 24, 24) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert y.shape == (3, 14) and len(meta["path"]) == 3
    assert len(pickle.dumps(ds)) < 50_000
    back = pickle.loads(pickle.dumps(ds))
    assert torch.equal(back[1][0], ds[1][0])

def test_test_labels_found_in_folder_and_missing_studies_counted(fake, tmp_path):
    d = _copy(fake, tmp_path)
    gt = pd.read_csv(fake.parent/"groundtruth.csv")
    extra = gt.iloc[:1].copy(); extra["Study"] = "CheXpert-v1.0/test/patient69999/study1"  # labelled, but no images
    pd.concat([gt, extra]).to_csv(d/"groundtruth.csv", index=False)
    with pytest.warns(UserWarning, match="patient69999/study1 has no images"):
        s = ChexpertSource(d, view="both")
    assert "test" in s.splits and len(s.labels("test")) == sum(1 for _ in (d/"test").rglob("*.jpg"))
    assert [b["path"] for b in s.bad_images] == ["CheXpert-v1.0/test/patient69999/study1"]
    assert "test" not in ChexpertSource(d, test_labels_csv=False).splits

def test_phantom_through_open_source_and_the_cache(tmp_path):
    ph = open_source("phantom", profile="smoke", seed=1, n_valid=6)
    assert ph.name == "phantom" and len(ph.labels("valid")) == 6
    assert list(ph.labels("valid").columns[:19]) == META_COLUMNS + FINDINGS
    ds = CXRDataset(ph, "valid", 32, store=ArtifactStore(tmp_path))
    x, y, meta = ds[5]
    assert x.shape == (1, 32, 32) and meta["row"] == 5
    np.testing.assert_array_equal((x[0].numpy() * 255).round().astype(np.uint8), ph.image("valid", 5, 32))

# ---- issue 11: the cache key sees the images; every reader skips bad images

def test_same_csvs_other_pixels_get_their_own_cache(fake, tmp_path):
    "Two folders with identical CSVs, one with a truncated image: the second is not served the first's pixels."
    a, b = _copy(fake, tmp_path/"a"), _copy(fake, tmp_path/"b")
    sb = ChexpertSource(b, view="both"); p = sb.path("valid", 0); p.write_bytes(p.read_bytes()[:100])
    store = ArtifactStore(tmp_path/"store")
    cached_images(ChexpertSource(a, view="both"), "valid", 16, store=store)
    sb = ChexpertSource(b, view="both")
    with pytest.warns(UserWarning, match="skipping bad image"):
        cached_images(sb, "valid", 16, store=store)
    assert len(sb.bad_images) == 1 and sb.fingerprint() != ChexpertSource(a, view="both").fingerprint()

def _run(args, tmp_path):
    import os
    from conftest import CLI, ROOT
    env = dict(os.environ, CXRSTUDY_CACHE=str(tmp_path/"cache"))
    return subprocess.run(CLI + ["run", "--profile", "smoke", "--no-progress", "--out", str(tmp_path/"run"), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)

def test_chapters_that_read_images_skip_bad_ones(fake, tmp_path):
    "A truncated image in train and one in valid: the masking and augmentation chapters still run, and skip them."
    d = _copy(fake, tmp_path)
    s = ChexpertSource(d, view="both")
    for split in ("train", "valid"): p = s.path(split, 0); p.write_bytes(p.read_bytes()[:100])
    r = _run(["--source", "chexpert", "--data-dir", str(d), "--only", "masking", "augment"], tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]

def test_an_empty_split_is_one_line_before_any_chapter(fake, tmp_path):
    d = _copy(fake, tmp_path)
    pd.read_csv(d/"valid.csv").iloc[:0].to_csv(d/"valid.csv", index=False)
    r = _run(["--source", "chexpert", "--data-dir", str(d), "--only", "cache"], tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    assert "split 'valid'" in r.stderr and "has no rows" in r.stderr and "Traceback" not in r.stderr
