"""Benchmark: which training option brings few-step samplers closest to DDPM soonest (prediction type, min-SNR, balanced sampling)?

Usage: python bench/diffusion_ablation.py [--updates 600] [--n 64] [--batch-size 32] [--seed 0] [--timesteps 1000]
                                          [--variants base,v,minsnr,v_minsnr,balanced] [--out bench/results/diffusion_ablation.md]

Trains the smoke profile's small UNet (32 px, T = 1000, cosine schedule, class-conditional) on the cpu profile's phantom
training images once per variant, each changing the diffusion chapter's default (epsilon target, plain MSE, natural class
frequencies) in one or two settings: `v` (prediction_type="v_prediction"), `minsnr` (snr_gamma=5), `v_minsnr` (both),
`balanced` (class-balanced sampling). Every variant trains for the same number of updates on the same seed; then `--n`
images (half per class, w = 0, the same starting noise) are drawn with DDPM at all 1000 steps and with the registry's
few-step samplers (DDIM 25 and 10, DPM-Solver++ 20 and 10, UniPC 10), each scored by the chapter's `sample_quality` (8-feature random CNN) against
512 real training images. The report gives, per variant, every sampler's FD relative to the variant's own DDPM, and the
best sampler with at most 25 model evaluations. Class fidelity per variant: the diffusion chapter's `class_fidelity`
(`--n-fidelity` pairs per class, DDIM 25 steps, w = 0 and 2) scored by the cpu profile's study classifier (64 px; the 32 px
samples are resized as the chapter resizes them). CPU only, one torch thread throughout.
"""
import argparse, os, platform, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _timing import command, load_note

VARIANTS = dict(base={}, v=dict(prediction_type="v_prediction"), minsnr=dict(snr_gamma=5.0),
                v_minsnr=dict(prediction_type="v_prediction", snr_gamma=5.0), balanced=dict(balanced=True))
FEW_STEP = (("ddim", 25), ("ddim", 10), ("dpmsolver++", 20), ("dpmsolver++", 10), ("unipc", 10))

def randcnn8_fd():
    "fd(real, fake): the Fréchet distance in the diffusion chapter's 8-feature random-CNN space (`cxrstudy.features`), without its interval."
    from cxrstudy.features import extract_features, frechet_distance, get_extractor
    ex = get_extractor("randcnn", width=8, seed=0)
    return lambda real, fake: frechet_distance(extract_features(real, ex), extract_features(fake, ex))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=600); ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timesteps", type=int, default=1000)  # T; a small T only checks that the script runs
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--n-fidelity", type=int, default=32)  # pairs per class for the class-fidelity AUC
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"diffusion_ablation.md"))
    a = ap.parse_args(argv)
    import cxrstudy.phantom  # registers the phantom source
    from cxrstudy.sources import open_source
    from cxrstudy.sampling import diffusion_config, sample
    from cxrstudy.diffusion_training import fit_diffusion, training_data
    from cxrstudy.diffusion import class_fidelity
    from cxrstudy.classify import train_classifier
    import torch
    torch.set_num_threads(1)
    sampler_fd = randcnn8_fd()
    load0, rows = os.getloadavg()[0], []
    src = open_source("phantom", profile="cpu", seed=a.seed)
    clf = train_classifier(src, "Pneumothorax", profile="cpu", seed=a.seed, progress=False).learner  # from the store when the chapter ran
    labels = [0] * (a.n // 2) + [1] * (a.n // 2)
    for name in a.variants.split(","):
        probe = diffusion_config("smoke", timesteps=a.timesteps, beta_schedule="squaredcos_cap_v2", n_train=None, batch_size=a.batch_size)
        td = training_data(src, "Pneumothorax", probe)
        per_epoch = len(td.rows) // a.batch_size
        cfg = diffusion_config("smoke", timesteps=a.timesteps, beta_schedule="squaredcos_cap_v2", n_train=None, batch_size=a.batch_size,
                               epochs=-(-a.updates // per_epoch), warmup_steps=50, ema_decay=0.999, checkpoint_every=10**6,
                               grid_every=10**6, lr=1e-3, cpu_threads=1, **VARIANTS[name])
        ref = td.images[td.rows[a.n:a.n + 512]]
        t0 = time.perf_counter(); r = fit_diffusion(cfg, td, seed=a.seed, device="cpu", stop_after=a.updates); t_fit = time.perf_counter() - t0
        fd = {}
        for sampler, steps in (("ddpm", a.timesteps),) + tuple((s_, min(k_, a.timesteps)) for s_, k_ in FEW_STEP):
            imgs = sample(r.model, a.n, label=labels, sampler=sampler, steps=steps, seed=a.seed, batch_size=a.n, progress=False)
            fd["ddpm" if sampler == "ddpm" else f"{sampler} {steps}"] = sampler_fd(ref, imgs)
        row = dict(variant=name, updates=a.updates, loss=float(r.history.loss.tail(50).mean()), FD_ddpm=fd["ddpm"])
        row.update({f"{k} / ddpm": v / fd["ddpm"] for k, v in fd.items() if k != "ddpm"})
        best = min((k for k in fd if k != "ddpm"), key=fd.get)
        row.update(best_few_step=best, best_ratio=fd[best] / fd["ddpm"])
        fid = class_fidelity(r.model, clf, a.n_fidelity, (0.0, 2.0), steps=25, seed=a.seed)
        for _, f in fid.iterrows():
            row[f"AUC {f.name}"] = f"{f.auc:.3f} [{f.auc_lo:.3f}, {f.auc_hi:.3f}]"; row[f"pos_higher {f.name}"] = f.pos_higher
        row.update(train_s=t_fit)
        rows.append(row); print(row, flush=True)
        report(rows, a, load0, len(td.rows))  # after every variant: a stopped run keeps its rows

def report(rows:list, a, load0:float, n_train:int):
    "Write the markdown report of the variants measured so far to `a.out`."
    import pandas as pd, torch, diffusers
    t = pd.DataFrame(rows)
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)
    lines = ["# Training ablation: FD of few-step samplers relative to DDPM, per training option", "",
             f"Command: `{command('diffusion_ablation.py', a)}`", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}, diffusers {diffusers.__version__}; "
             f"CPU only, 1 torch thread, {load_note(load0)}.", "",
             f"Data: phantom (cpu profile), Pneumothorax, {n_train} training images at 32 px; seed {a.seed}. Model: the smoke profile's UNet, "
             f"class-conditional, T = {a.timesteps}, cosine betas, batch {a.batch_size}, lr 1e-3 (warm-up 50), EMA 0.999, {a.updates} updates per variant. "
             f"n = {a.n} images per sampler (half per class, w = 0, the same starting noise); FD in the features chapter's fixed random CNN "
             "(`randcnn`, 8 features, not FID) against 512 real training images. Columns `<sampler> <steps> / ddpm`: that sampler's FD over the variant's own "
             "DDPM (all T steps) FD; `best_few_step`: the sampler with at most 25 model evaluations nearest DDPM. "
             f"`AUC w=…`: the class-fidelity AUC with its 95% bootstrap interval ({a.n_fidelity} pairs per class, DDIM 25 steps), "
             "`pos_higher`: the share of pairs whose positive-conditioned sample scores higher.", "",
             "| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in r_.values()) + " |" for r_ in rows]
    lines += ["", "Target of the diffusion issue: the best sampler with at most 25 model evaluations within 1.5x of DDPM's FD "
              "(the DDIM paper's CIFAR-10 ratio at 50 steps is 1.47)."]
    Path(a.out).write_text("\n".join(lines) + "\n")

if __name__ == "__main__": main()
