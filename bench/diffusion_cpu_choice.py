"""Benchmark: the cpu profile's prediction type, measured at the cpu model's own size (epsilon against v-prediction).

Usage: python bench/diffusion_cpu_choice.py [--variants eps,v] [--n 32] [--n-fidelity 40] [--seed 0]
                                            [--out bench/results/diffusion_cpu_choice.md]

The training ablation (`diffusion_ablation.py`) compares training options on the smoke profile's small UNet at 32 px, because
DDPM at all 1000 steps on the cpu model costs about a minute per image at one thread. This script answers the question that
ablation leaves for the cpu profile itself: with the cpu model (64 px, the profile's widths, cosine betas, T = 1000,
class-balanced draws, the profile's batch, learning rate and updates), does v-prediction beat the epsilon target? Each
variant is `train_diffusion(source, "Pneumothorax", "cpu", seed, **overrides)`: the chapter's own function and store key, so
a variant the chapter later adopts is already stored. Per variant, without DDPM (too slow here; the chapter's sampler table
gives the DDPM ratio of the adopted model): the Fréchet distance to 256 real training images of `--n` samples (half per
class, w = 0, the same x_T) from DDIM 25 and 10 steps and UniPC 10, in the chapter's two feature spaces (`randcnn8` and the
study classifier's features), with bootstrap intervals; and the class-fidelity table exactly as the chapter computes it
(`class_fidelity`, `--n-fidelity` pairs per class, DDIM at the profile's `fidelity_steps`, the profile's guidance weights).
CPU only, one torch thread throughout.
"""
import argparse, os, platform, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _timing import command, load_note, write_report

VARIANTS = dict(eps={}, v=dict(prediction_type="v_prediction"), v_minsnr=dict(prediction_type="v_prediction", snr_gamma=5.0))
SAMPLERS = (("ddim", 25), ("ddim", 10), ("unipc", 10))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="eps,v"); ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--n-fidelity", type=int, default=40); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"diffusion_cpu_choice.md"))
    a = ap.parse_args(argv)
    import numpy as np, pandas as pd, torch
    import cxrstudy.phantom  # registers the phantom source
    from cxrstudy.core import get_profile
    from cxrstudy.sources import open_source
    from cxrstudy.sampling import diffusion_config, sample
    from cxrstudy.diffusion_training import train_diffusion, training_data
    from cxrstudy.diffusion import class_fidelity, sample_quality
    from cxrstudy.features import extract_features, get_extractor
    from cxrstudy.classify import train_classifier
    torch.set_num_threads(1)
    load0, prof, finding = os.getloadavg()[0], get_profile("cpu", "diffusion"), "Pneumothorax"
    src = open_source("phantom", profile="cpu", seed=a.seed)
    clf = train_classifier(src, finding, profile="cpu", seed=a.seed, progress=False).learner  # from the store when the chapter ran
    td = training_data(src, finding, diffusion_config("cpu"))
    ref = td.images[td.rows[a.n:a.n + 256]]  # as the chapter: real training images after the first n
    spaces = {"randcnn8": get_extractor("randcnn", width=8, seed=a.seed), "classifier": get_extractor("classifier", learner=clf)}
    reference = {k: (ex, extract_features(ref, ex)) for k, ex in spaces.items()}
    # FD needs more images than features (else a singular covariance): a space too wide for n samples is left out, and the report says so
    left_out = {k: f.shape[1] for k, (_, f) in reference.items() if a.n <= f.shape[1]}
    reference = {k: v for k, v in reference.items() if k not in left_out}
    labels, quality_rows, fidelity_rows = [0] * (a.n // 2) + [1] * (a.n // 2), [], []
    for name in a.variants.split(","):
        t0 = time.perf_counter(); tr = train_diffusion(src, finding, "cpu", a.seed, device="cpu", **VARIANTS[name])  # one thread: the profile's cpu_threads
        t_fit = time.perf_counter() - t0
        for sampler, steps in SAMPLERS:
            t0 = time.perf_counter()
            imgs = sample(tr.model, a.n, label=labels, sampler=sampler, steps=steps, seed=a.seed, batch_size=16, progress=False)
            q = sample_quality(imgs, reference, seed=a.seed)
            quality_rows.append(dict(variant=name, sampler=f"{sampler} {steps}", s_per_image=(time.perf_counter() - t0) / a.n, **q))
        fid = class_fidelity(tr.model, clf, a.n_fidelity, prof["guidance_weights"], steps=prof["fidelity_steps"], seed=a.seed)
        for w, f in fid.iterrows():
            fidelity_rows.append(dict(variant=name, samples=w, auc=f.auc, auc_lo=f.auc_lo, auc_hi=f.auc_hi, pos_higher=f.pos_higher,
                                      p_pos_cond=f.p_pos_cond, p_neg_cond=f.p_neg_cond, chosen=bool(f.chosen)))
        for r_ in quality_rows[-len(SAMPLERS):]: r_["model"] = "from the store" if tr.loaded else f"trained here in {t_fit:.0f} s"
        print(pd.DataFrame(quality_rows).tail(len(SAMPLERS)).to_string(), pd.DataFrame(fidelity_rows).tail(len(fid)).to_string(), sep="\n", flush=True)
        report(pd.DataFrame(quality_rows), pd.DataFrame(fidelity_rows), a, load0, len(td.rows), prof, left_out)  # after every variant

def report(quality, fidelity, a, load0:float, n_train:int, prof:dict, left_out:dict):
    "Write the markdown report of the variants measured so far to `a.out`, and the two tables beside it as CSV."
    import torch, diffusers
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)
    table = lambda t: ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)] + \
                      ["| " + " | ".join(fmt(v) for v in r_) + " |" for r_ in t.itertuples(index=False)]
    overrides = ", ".join(f"{k}: {VARIANTS[k] or 'none'}" for k in a.variants.split(","))
    lines = ["# The cpu profile's prediction type, measured at the cpu model's size", "",
             f"Command: `{command('diffusion_cpu_choice.py', a)}`", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}, diffusers {diffusers.__version__}; "
             f"CPU only, 1 torch thread, {load_note(load0)}.", "",
             f"Data: phantom (cpu profile), Pneumothorax, {n_train} training images (class-balanced draws), 64 px; seed {a.seed}. "
             f"Models: the cpu profile's diffusion model (`train_diffusion(..., 'cpu', seed)`), one per variant, each the profile with "
             f"the variant's overrides ({overrides}). Sample quality: "
             f"n = {a.n} images per sampler (half per class, w = 0, the same x_T), Fréchet distance (not FID) to 256 real training "
             "images with 95% bootstrap intervals, in the diffusion chapter's feature spaces"
             + "".join(f" ({k}: {d} features, left out: FD needs more than {d} images per set)" for k, d in left_out.items()) + ". Class fidelity: the chapter's "
             f"`class_fidelity`, {a.n_fidelity} pairs per class, DDIM {prof['fidelity_steps']} steps, AUC with its 95% bootstrap interval.", "",
             "## Sample quality", ""] + table(quality) + ["", "## Class fidelity", ""] + table(fidelity) + \
            ["", "Targets of the diffusion issue: class-fidelity AUC ≥ 0.65 with the interval above 0.5 for at least one guidance weight."]
    write_report(a.out, lines)
    quality.to_csv(Path(a.out).with_suffix(".quality.csv"), index=False); fidelity.to_csv(Path(a.out).with_suffix(".fidelity.csv"), index=False)

if __name__ == "__main__": main()
