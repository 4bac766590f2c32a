"Augment: each method fires and changes the image, p=0 is the identity, seeds determine outputs, shapes and dtypes are kept, noise has its stated variance, batch and single paths agree, bad input names its fix."
import numpy as np
import pandas as pd
import pytest
import torch
from skimage.transform import rotate as sk_rotate
from cxrstudy.core import ArtifactStore
from cxrstudy.augment import (COMBINED, METHODS, AugmentTransform, Blurring, Bilateral, Cropping, Flipping,
                              Noise, Rotation, Shearing, Translation, _affine, as_policy, augment_dataset, combined,
                              compose, make_transform, subseed)

def _image(h=48, w=56, seed=0):
    "An asymmetric test image: a ramp, a bright blob off-centre, a little texture."
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    img = 20 + 2.0 * xx + 1.0 * yy + 120 * np.exp(-((yy - h / 3) ** 2 + (xx - w / 4) ** 2) / 30) + rng.normal(0, 3, (h, w))
    return np.clip(img, 0, 255).astype(np.uint8)

IMG = _image()
ALL = [*METHODS, "combined"]
# a form of each method that always changes an image when it fires (flipping: force a flip)
FIRING = {n: make_transform(n) for n in METHODS}
FIRING["flipping"] = Flipping(p_horizontal=1.0)

@pytest.mark.parametrize("name", list(METHODS))
def test_each_method_changes_the_image_when_it_fires(name):
    t = FIRING[name]
    for s in range(5):
        out = t(IMG, s)
        assert out.shape == IMG.shape and out.dtype == np.uint8
        assert not np.array_equal(out, IMG), (name, s)

@pytest.mark.parametrize("name", ALL)
def test_p0_is_the_identity(name):
    t = combined(p=0) if name == "combined" else make_transform(name, p=0)
    for s in range(3):
        np.testing.assert_array_equal(t(IMG, s), IMG)
    x = torch.rand(3, 2, 20, 24)
    assert torch.equal(t.batch(x, seed=1), x)

@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_image_other_seed_other_image(name):
    t = as_policy(name)
    np.testing.assert_array_equal(t(IMG, 42), as_policy(name)(IMG, 42))
    if name in ("blurring", "bilateral"): return  # deterministic filters: the seed only decides whether they fire
    outs = {as_policy(name)(IMG, s).tobytes() for s in range(6)}
    assert len(outs) > 1

@pytest.mark.parametrize("name", ALL)
def test_batch_and_single_paths_agree(name):
    t = as_policy(name)
    stack = np.stack([_image(seed=i) for i in range(5)])
    seeds = [3, 1, 4, 1, 5]
    b = t.batch(stack, seeds=seeds)
    one = np.stack([t(im, s) for im, s in zip(stack, seeds)])
    assert b.shape == stack.shape and b.dtype == np.uint8
    assert np.abs(b.astype(int) - one).max() <= 1 and (b != one).mean() < 1e-3

@pytest.mark.parametrize("name", ALL)
def test_shape_dtype_and_device_are_kept(name):
    t = as_policy(name)
    for x in (torch.from_numpy(IMG), torch.from_numpy(IMG).double() / 255):
        y = t(x, 1)
        assert y.shape == x.shape and y.dtype == x.dtype and type(y) is torch.Tensor
    xb = torch.randint(0, 256, (4, 3, 32, 40), dtype=torch.uint8)
    yb = t.batch(xb, seed=0)
    assert yb.shape == xb.shape and yb.dtype == torch.uint8 and yb.device == xb.device
    xf = xb.float() / 255
    yf = t.batch(xf, seed=0)
    assert yf.dtype == torch.float32 and 0 <= yf.min() and yf.max() <= 1

def test_noise_has_the_stated_variance():
    grey = np.full((64, 64), 128, np.uint8)
    for amp in (10.0, 25.0):
        d = np.stack([Noise(amplitude=(amp, amp), p_gaussian=1)(grey, s).astype(float) - 128 for s in range(4)])
        assert abs(d.mean()) < 0.5
        assert abs(d.var() - 0.5 * amp ** 2) < 0.06 * 0.5 * amp ** 2
    # amplitude ~ U(0, 30): variance 0.5 * E[a^2] = 0.5 * 30^2 / 3 = 150 averaged over images
    v = np.mean([(Noise(p_gaussian=1)(grey[:24, :24], s).astype(float) - 128).var() for s in range(300)])
    assert abs(v - 150) < 0.15 * 150
    pepper = np.mean([(Noise(p_gaussian=0, pepper=0.1)(grey, s) == 0).mean() for s in range(3)])
    assert abs(pepper - 0.1) < 0.01
    kinds = [Noise().params(s, 4, 4)["kind"] for s in range(500)]
    assert abs(kinds.count("gaussian") / 500 - 0.5) < 0.07

def test_parameters_stay_in_their_ranges():
    a = np.array([Rotation().params(s)["angle"] for s in range(300)])
    assert a.min() >= -90 and a.max() <= 90 and a.min() < -80 and a.max() > 80
    sh = np.array([Shearing().params(s)["shear"] for s in range(300)])
    assert np.abs(sh).max() <= 15 and np.abs(sh).max() > 14
    tr = pd.DataFrame([Translation().params(s, 50, 100) for s in range(300)])
    assert tr.dx.abs().max() <= 20 and tr.dy.abs().max() <= 10
    c = Cropping().params(0, 320, 320)
    assert (c["height"], c["width"]) == (256, 256)  # the thesis's 256 of 320

def test_rotation_is_nearest_fill():
    "Matches scikit-image's rotate with mode='edge' (Keras's fill_mode='nearest'), and the pad is wide enough."
    sq = IMG[:, :48]
    prm = Rotation().params(7, *sq.shape)
    ours = Rotation()(sq, 7).astype(float)
    theirs = sk_rotate(sq.astype(float), -prm["angle"], order=1, mode="edge", preserve_range=True)
    assert np.abs(ours - theirs).max() <= 0.51
    x = torch.from_numpy(IMG).float()[None, None]
    for ang, sh in ((90.0, (0.0, 0.0)), (-37.0, (15.0, 0.0)), (60.0, (-15.0, 15.0))):
        assert torch.allclose(_affine(x, ang, sh), _affine(x, ang, sh, margin=120), atol=1e-3)

def test_compose_by_name_and_combined_policy():
    assert combined().names == list(COMBINED) and all(t.p == 0.5 for t in combined().transforms)
    np.testing.assert_array_equal(compose(["shearing"])(IMG, 9), Shearing()(IMG, 9))
    fired = pd.DataFrame([{k: v["fired"] for k, v in combined().params(s, 8, 8).items()} for s in range(400)])
    assert (fired.mean() - 0.5).abs().max() < 0.08
    c = compose(["blurring", "blurring"])  # repeated methods get their own keys
    assert c.keys == ["blurring#0", "blurring#1"]

def test_augment_dataset_caches_and_indexes(tmp_path):
    store = ArtifactStore(tmp_path)
    src = np.stack([_image(32, 32, seed=i) for i in range(6)])
    imgs, index = augment_dataset(src, [4, 1, 2], n_per_image=3, seed=7, store=store, batch_size=4)
    assert imgs.shape == (9, 32, 32) and imgs.dtype == np.uint8
    assert index.source_row.tolist() == [4, 4, 4, 1, 1, 1, 2, 2, 2] and index["copy"].tolist() == [0, 1, 2] * 3
    for k in (0, 5, 8):
        r, c = index.source_row[k], index["copy"][k]
        np.testing.assert_array_equal(imgs[k], combined()(src[r], subseed(7, r, c)))
    again, _ = augment_dataset(src, [4, 1, 2], n_per_image=3, seed=7, store=store, batch_size=1)
    np.testing.assert_array_equal(again, imgs)
    assert len(list((tmp_path / "augmented").glob("*.config.json"))) == 1
    augment_dataset(src, [4, 1, 2], n_per_image=3, policy=["rotation"], seed=7, store=store)
    assert len(list((tmp_path / "augmented").glob("*.config.json"))) == 2

def test_fastai_transform_on_a_tensor():
    from fastai.torch_core import TensorImage, TensorCategory
    xb = TensorImage(torch.from_numpy(np.stack([_image(seed=i) for i in range(4)]))[:, None].clone())
    t = AugmentTransform("combined", seed=3)
    y = t(xb, split_idx=0)
    assert isinstance(y, TensorImage) and y.shape == xb.shape and y.dtype == torch.uint8 and not torch.equal(y, xb)
    assert torch.equal(AugmentTransform("combined", seed=3)(xb, split_idx=0), y)
    assert torch.equal(t(xb, split_idx=1), xb)
    lab = TensorCategory([0, 1, 1, 0])
    assert torch.equal(t(lab, split_idx=0), lab)

@pytest.mark.parametrize("make, msg", [
    (lambda: make_transform("elastic"), "valid methods: rotation, flipping, translation, shearing, cropping, noise, blurring, colouring, bilateral"),
    (lambda: compose(["rotation", "zoom"]), "valid methods"),
    (lambda: as_policy(3), "policy must be"),
    (lambda: Blurring(sigma=-2.0), "sigma must be > 0"),
    (lambda: Blurring(kernel_size=4), "positive odd integer"),
    (lambda: Rotation(p=-0.1), "probability in [0, 1]"),
    (lambda: combined(p=1.5), "probability in [0, 1]"),
    (lambda: Flipping(p_vertical=2), "p_vertical must be a probability"),
    (lambda: Noise(pepper=1.5), "pepper must be a probability"),
    (lambda: Noise(var=-0.5), "var must be >= 0"),
    (lambda: Bilateral(sigma_spatial=-1), "sigma_spatial must be > 0"),
    (lambda: Rotation(interpolation="cubic"), "use 'nearest' or 'bilinear'"),
    (lambda: Cropping(fraction=1.5), "fraction must be in (0, 1]"),
    (lambda: Rotation()(np.zeros((2, 16, 16), np.uint8)), "got shape (2, 16, 16)"),
    (lambda: Noise()(torch.zeros(1, 1, 16, 16)), "got shape (1, 1, 16, 16)"),
    (lambda: Noise()(np.zeros((16, 16), np.float32)), "expects uint8"),
    (lambda: Rotation().batch(torch.zeros(2, 16, 16)), "(B, C, H, W)"),
    (lambda: Cropping(size=100)(IMG), "exceeds the image"),
])
def test_bad_input_names_the_problem(make, msg):
    with pytest.raises(ValueError, match=None) as e: make()
    assert msg in str(e.value), str(e.value)

def test_fastai_training_loader_augments_and_validation_loader_does_not():
    from fastai.data.core import Datasets
    from fastai.torch_core import TensorImage, TensorCategory
    raw = torch.from_numpy(np.stack([_image(seed=i) for i in range(8)]))[:, None]
    dsets = Datasets(list(range(8)), tfms=[[lambda i: TensorImage(raw[i])], [lambda i: TensorCategory(i % 2)]],
                     splits=[[0, 1, 2, 3], [4, 5, 6, 7]])
    dls = dsets.dataloaders(bs=4, after_batch=[AugmentTransform("combined", seed=0)], shuffle=False, device="cpu")
    xt, _ = dls.train.one_batch(); xv, _ = dls.valid.one_batch()
    assert not torch.equal(xt, raw[:4]) and torch.equal(xv, raw[4:])

def test_augment_dataset_reads_a_source_through_the_data_cache(tmp_path):
    "A CheXpert-shaped source is augmented from its preprocessing cache; a bad image's row is refused by number."
    import warnings
    from cxrstudy.sources import ChexpertSource, make_fake_chexpert
    from cxrstudy.cache import cached_images
    make_fake_chexpert(tmp_path/"cx", n_patients=4, n_valid=2, seed=1)
    s = ChexpertSource(tmp_path/"cx"/"CheXpert-v1.0-small", view="both")
    s.path("valid", 1).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    store = ArtifactStore(tmp_path/"store")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imgs, index = augment_dataset(s, [0], n_per_image=2, policy="flipping", seed=3, size=32, split="valid", store=store)
        assert len(list((tmp_path/"store"/"image_cache").glob("*.config.json"))) == 1  # augmenting built the data cache
        cached = cached_images(s, "valid", 32, store=store)
    assert len(list((tmp_path/"store"/"image_cache").glob("*.config.json"))) == 1  # ...which training then reuses
    np.testing.assert_array_equal(imgs[1], make_transform("flipping")(np.asarray(cached[0]), subseed(3, 0, 1)))
    with pytest.raises(ValueError, match="row 1 of split 'valid' is a bad image"):
        augment_dataset(s, [1], policy="flipping", size=32, split="valid", store=store)
