"Masks: symmetry, partition, coverage with a known answer, batch application, and bad input that names its fix."
import math, zipfile
import numpy as np
import pytest
import torch
from cxrstudy.core import ArtifactStore
from cxrstudy.masking import (LUNG_ARCHIVE, MASKS, MaskImage, apply_mask, atlas_polygons, coverage, coverage_region,
                              inverted, joint_mask, lung_atlas, lung_polygons, make_mask, real_lung_masks,
                              resize_mask, separate_mask, split_lungs, square_mask)

SHAPES = [(389, 320), (256, 256), (64, 64), (65, 63), (31, 40)]

@pytest.mark.parametrize("shape", SHAPES)
def test_joint_is_symmetric_and_partitions_with_its_inverse(shape):
    j = joint_mask(shape)
    assert j.dtype == np.uint8 and j.shape == shape
    np.testing.assert_array_equal(j, j[:, ::-1])
    inv = inverted(j)
    assert ((j == 1) ^ (inv == 1)).all()  # every pixel in exactly one of the two
    assert 0 < j.mean() < 1
    assert (separate_mask(shape) <= j).all()  # the joint region holds both lung regions

def test_square_is_the_thesis_square_at_389x320():
    m = square_mask((389, 320))
    rows, cols = np.nonzero(m)
    assert m.sum() == 300*300 and rows.max() - rows.min() + 1 == 300 and cols.max() - cols.min() + 1 == 300
    assert (rows.min(), 388 - rows.max(), cols.min(), 319 - cols.max()) == (44, 45, 10, 10)

def _ellipse(h=100, w=100, a=30, b=20):
    rr, cc = np.mgrid[:h, :w]
    return (rr - (h - 1)/2)**2/a**2 + (cc - (w - 1)/2)**2/b**2 <= 1

def test_coverage_on_an_ellipse_has_the_known_answer():
    ell = _ellipse()
    assert abs(ell.sum() - math.pi*600) < 20
    rect = np.zeros((100, 100), np.uint8); rect[10:90, 20:80] = 1  # holds the whole ellipse
    c = coverage(rect, ell)
    assert c["lung_kept"] == 1.0 and c["area"] == 0.48
    assert abs(c["nonlung_kept"] - (4800 - math.pi*600)/(1e4 - math.pi*600)) < 3e-3
    half = np.zeros((100, 100), np.uint8); half[:, :50] = 1  # the left half: half of the lung, half of the rest
    c = coverage(half, np.stack([ell, ell, ell]))
    assert (c["lung_kept"], c["nonlung_kept"], c["area"], c["lung_kept_p05"]) == (0.5, 0.5, 0.5, 0.5)
    top = np.zeros((100, 100), np.uint8); top[:50] = 1
    assert coverage(top, ell)["lung_kept"] == 0.5 and coverage(inverted(top), ell)["lung_kept"] == 0.5

def test_coverage_region_keeps_the_quantile_on_a_synthetic_population():
    # a population of ellipses shifted by up to 6 pixels: the region at q keeps at least q of the lung pixels
    pop = np.stack([np.roll(_ellipse(80, 80, 20, 12), s, axis=1) for s in range(-6, 7)])
    freq = pop.mean(0)
    prev = None
    for q in (0.5, 0.8, 0.95, 1.0):
        region, t, kept = coverage_region(freq, q)
        assert kept >= q and abs(coverage(region, pop)["lung_kept"] - kept) < 1e-12
        if prev is not None: assert (prev <= region).all()  # higher q, larger region
        prev = region
    np.testing.assert_array_equal(coverage_region(freq, 1.0)[0], pop.any(0))  # q = 1: the union

def test_split_lungs_handles_odd_masks():
    rr, cc = np.mgrid[:64, :64]
    disc = lambda r, c, rad: (rr - r)**2 + (cc - c)**2 <= rad**2
    l, r, s = split_lungs(disc(32, 46, 10) | disc(32, 18, 10))
    assert s == "two" and l[32, 18] and r[32, 46] and not l[32, 46]
    assert split_lungs(disc(32, 32, 20))[2] == "one part"
    assert split_lungs(np.zeros((9, 9)))[2] == "empty"
    assert split_lungs(disc(32, 18, 10) | disc(32, 46, 10) | disc(2, 2, 0))[2] == "specks dropped"
    atlas = lung_atlas(np.stack([disc(32, 18, 10) | disc(32, 46, 10), disc(32, 32, 20)]))
    assert atlas["n"] == 1 and atlas["status"] == {"two": 1, "one part": 1}

def test_real_atlas_and_polygons():
    masks = real_lung_masks()
    assert masks.ndim == 3 and len(masks) > 400 and set(np.unique(masks)) == {0, 1}
    p = lung_polygons(0.95)
    assert p["left_kept"] >= 0.95 and p["right_kept"] >= 0.95
    assert p["left"][:, 1].mean() < 0.5 < p["right"][:, 1].mean()
    c = coverage(separate_mask(256, 0.95), masks)
    assert 0.94 <= c["lung_kept"] <= 0.97 and c["nonlung_kept"] < 0.5
    # own atlas in, polygons out: same as the cached real one
    mine = atlas_polygons(lung_atlas(masks), 0.95)
    np.testing.assert_array_equal(separate_mask(64, polygons=mine), separate_mask(64, 0.95))

@pytest.mark.parametrize("q", [0, -0.5, 1.0001, float("nan"), "most"])
def test_quantile_outside_0_1_is_refused(q):
    with pytest.raises(ValueError, match=r"pass e\.g\. 0\.95"):
        separate_mask((64, 64), q)
    with pytest.raises(ValueError, match=r"pass e\.g\. 0\.95"):
        joint_mask((64, 64), q)

def test_apply_mask_on_numpy_and_torch_batches():
    m = joint_mask((48, 40))
    x = np.random.default_rng(1).integers(1, 256, (6, 48, 40), dtype=np.uint8)
    y = apply_mask(x, m)
    assert y.dtype == np.uint8 and y.shape == x.shape
    assert (y[:, m == 0] == 0).all() and (y[:, m == 1] == x[:, m == 1]).all()
    np.testing.assert_array_equal(apply_mask(x[2], m), y[2])  # one image = one item of the batch
    t = torch.tensor(x, dtype=torch.float32).unsqueeze(1)  # (B, 1, H, W)
    tt = apply_mask(t, torch.from_numpy(m))
    assert tt.dtype == torch.float32 and tt.shape == t.shape
    np.testing.assert_array_equal(tt[:, 0].numpy(), y.astype(np.float32))
    u = apply_mask(torch.from_numpy(x), m, fill=255)
    assert u.dtype == torch.uint8 and (u[:, torch.from_numpy(m) == 0] == 255).all()
    if torch.cuda.is_available():
        assert apply_mask(t.cuda(), m).device.type == "cuda"

def test_size_mismatch_and_bad_masks_are_refused():
    with pytest.raises(ValueError, match=r"images are \(48, 40\).*mask is \(64, 64\).*make_mask\('joint', \(48, 40\)\)"):
        apply_mask(np.zeros((2, 48, 40), np.uint8), joint_mask(64))
    with pytest.raises(ValueError, match="only 0 and 1"):
        apply_mask(np.zeros((4, 4)), np.full((4, 4), 0.3))
    with pytest.raises(ValueError, match="build the mask at the lungs' size"):
        coverage(joint_mask(64), np.zeros((2, 32, 32)))
    with pytest.raises(ValueError, match="valid masks: none, square, separate, joint"):
        make_mask("lungs", 64)
    assert resize_mask(joint_mask(32), 64).shape == (64, 64)

def test_fastai_transform_masks_images_not_labels():
    from fastai.torch_core import TensorImage
    from fastai.vision.core import PILImage
    tfm = MaskImage("joint")
    x = TensorImage(torch.rand(3, 1, 32, 32)); lab = torch.tensor([0, 1, 1])
    xm, lm = tfm((x, lab))
    assert isinstance(xm, TensorImage) and torch.equal(lm, lab)
    assert torch.equal(xm, apply_mask(x, joint_mask(32)))
    img = PILImage.create(np.full((50, 40), 200, np.uint8))
    np.testing.assert_array_equal(np.asarray(tfm(img)), joint_mask((50, 40))*200)

def test_masks_by_name_and_from_another_atlas():
    assert set(MASKS) == {"none", "square", "separate", "joint", "inverted_joint"}
    # an atlas of shifted ellipse pairs, as a source's own lung fields would give
    rr, cc = np.mgrid[:96, :96]
    pair = lambda s: (((rr - 50)/30)**2 + ((cc - 28 - s)/14)**2 <= 1) | (((rr - 50)/30)**2 + ((cc - 68 - s)/14)**2 <= 1)
    own = atlas_polygons(lung_atlas(np.stack([pair(s) for s in range(-4, 5)])), 1.0)
    j = make_mask("joint", (96, 96), polygons=own)
    np.testing.assert_array_equal(j, j[:, ::-1])
    assert coverage(make_mask("separate", (96, 96), polygons=own), pair(0))["lung_kept"] == 1.0
    assert coverage(make_mask("inverted_separate", (96, 96), polygons=own), pair(0))["lung_kept"] == 0.0
    tfm = MaskImage("joint", polygons=own)
    np.testing.assert_array_equal(tfm.mask_for((96, 96)), j.astype(bool))
    # coverage reads any nonzero value as lung
    assert coverage(j, pair(0).astype(np.uint8)*255) == coverage(j, pair(0))

@pytest.mark.parametrize("content", [None, b"not a zip archive"])
def test_empty_or_unreadable_archive_names_the_package_file(tmp_path, monkeypatch, content):
    import cxrstudy.data as data
    bad = tmp_path/LUNG_ARCHIVE
    if content is None: zipfile.ZipFile(bad, "w").close()
    else: bad.write_bytes(content)
    monkeypatch.setattr(data, "package_data_file", lambda name: bad)
    with pytest.raises((ValueError, OSError), match=f"torchxrayvision's data/{LUNG_ARCHIVE}.*[Rr]einstall torchxrayvision"):
        real_lung_masks(store=ArtifactStore(tmp_path/"store"))
