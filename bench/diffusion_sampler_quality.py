"""Benchmark: does DDIM at 50 steps reach DDPM's Frechet distance once the model is trained long enough?

Usage: python bench/diffusion_sampler_quality.py [--updates 500,1500,3000] [--schedules linear,squaredcos_cap_v2] [--n 64]
                                                [--batch-size 32] [--seed 0] [--out bench/results/diffusion_sampler_quality.md]

The diffusion chapter's cpu profile affords a few hundred updates of its 3 M-parameter, 64 px UNet, too few for a
deterministic sampler (its table shows it). This script trains the smoke profile's small UNet (0.28 M parameters, 32 px)
with T = 1000 training timesteps on the cpu profile's phantom training images, long enough to approach convergence on the
CPU, and after each number of updates in `--updates` (one run, resumed from its checkpoints, so the points lie on one
learning-rate schedule whose length is the last number) samples `--n` images (half per class, class-conditional, w = 0)
with DDPM's ancestral sampler at all 1000 steps and with DDIM at 50 steps (eta 0), from the same starting noise. Each set
is scored with the chapter's `sample_quality` (8-feature random CNN) against real training images disjoint from a floor set of the same size.
CPU only; two torch threads (the chapter's `cpu_threads`).
"""
import argparse, os, platform, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _timing import command, load_note

def randcnn8_fd():
    "fd(real, fake): the Fréchet distance in the diffusion chapter's 8-feature random-CNN space (`cxrstudy.features`), without its interval."
    from cxrstudy.features import extract_features, frechet_distance, get_extractor
    ex = get_extractor("randcnn", width=8, seed=0)
    return lambda real, fake: frechet_distance(extract_features(real, ex), extract_features(fake, ex))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", default="500,1500,3000"); ap.add_argument("--schedules", default="linear,squaredcos_cap_v2")
    ap.add_argument("--n", type=int, default=64); ap.add_argument("--batch-size", type=int, default=32); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"diffusion_sampler_quality.md"))
    a = ap.parse_args(argv)
    import numpy as np, pandas as pd, torch
    import cxrstudy.phantom  # registers the phantom source
    from cxrstudy.sources import open_source
    from cxrstudy.diffusion import roughness
    from cxrstudy.diffusion_training import fit_diffusion, training_data
    from cxrstudy.sampling import diffusion_config, n_params, sample
    sampler_fd = randcnn8_fd()
    load0, updates = os.getloadavg()[0], sorted(int(u) for u in a.updates.split(","))
    src = open_source("phantom", profile="cpu", seed=a.seed)
    labels, rows = [0] * (a.n // 2) + [1] * (a.n // 2), []
    for schedule in a.schedules.split(","):
        probe = diffusion_config("smoke", timesteps=1000, beta_schedule=schedule, n_train=None, batch_size=a.batch_size)
        td = training_data(src, "Pneumothorax", probe)
        per_epoch = len(td.rows) // a.batch_size
        cfg = diffusion_config("smoke", timesteps=1000, beta_schedule=schedule, n_train=None, batch_size=a.batch_size,
                               epochs=-(-updates[-1] // per_epoch), warmup_steps=50, ema_decay=0.999, checkpoint_every=250, lr=1e-3)
        ref, floor = td.images[td.rows[a.n:a.n + 512]], td.images[td.rows[:a.n]]
        fd_floor = sampler_fd(ref, floor)
        with tempfile.TemporaryDirectory() as ck:
            for u in updates:
                t0 = time.perf_counter(); r = fit_diffusion(cfg, td, seed=a.seed, ckpt_dir=ck, device="cpu", stop_after=u); t_fit = time.perf_counter() - t0
                out = {}
                for name, kw in (("ddpm", dict(sampler="ddpm")), ("ddim", dict(sampler="ddim", steps=50))):
                    t0 = time.perf_counter(); out[name] = sample(r.model, a.n, label=labels, seed=a.seed, batch_size=a.n, progress=False, **kw)
                    out[name + "_s"] = (time.perf_counter() - t0) / a.n
                fd_p, fd_i = sampler_fd(ref, out["ddpm"]), sampler_fd(ref, out["ddim"])
                rows.append(dict(schedule=schedule, updates=u, loss=float(r.history.loss.tail(50).mean()), FD_ddpm_1000=fd_p, FD_ddim_50=fd_i,
                                 ratio=fd_i / fd_p, FD_real_floor=fd_floor, roughness_ddpm=roughness(out["ddpm"]), roughness_ddim=roughness(out["ddim"]),
                                 roughness_real=roughness(floor), speedup=out["ddpm_s"] / out["ddim_s"], train_s=t_fit))
                print(rows[-1], flush=True)
                report(rows, a, load0, len(td.rows), n_params(r.model.unet), updates)  # after every point: a stopped run keeps its rows
    print(Path(a.out).read_text())

def report(rows:list, a, load0:float, n_train:int, n_par:int, updates:list):
    "Write the markdown report of the points measured so far to `a.out`."
    import pandas as pd, torch, diffusers
    t = pd.DataFrame(rows)
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)
    lines = ["# DDIM (50 steps) against DDPM (1000 steps) as training goes on", "",
             f"Command: `{command('diffusion_sampler_quality.py', a)}`", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}, diffusers {diffusers.__version__}; "
             f"CPU only, 2 torch threads, {load_note(load0)}.", "",
             f"Data: phantom (cpu profile), Pneumothorax, {n_train} training images at 32 px; seed {a.seed}. Model: the smoke profile's UNet "
             f"({n_par / 1e6:.2f} M parameters), class-conditional, T = 1000, batch {a.batch_size}, lr 1e-3 (warm-up 50, cosine to "
             f"update {updates[-1]}), EMA 0.999. n = {a.n} images per sampler (half per class, w = 0, the same starting noise); "
             "FD in the chapter's 8-feature random-CNN space (`sample_quality`, not FID) against 512 real training images; the floor is as many real images as each "
             "sampler drew. `roughness`: mean absolute difference of neighbouring pixels, grey levels. `speedup`: DDPM's seconds per image "
             "over DDIM's, same batch. `train_s`: seconds of training since the previous point.", "",
             "| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in r_.values()) + " |" for r_ in rows]
    lines += ["", "Target of the diffusion issue: DDIM at 50 steps at least 15x faster than DDPM at all training steps, at an FD within 20% of "
              "DDPM's (ratio <= 1.2)."]
    Path(a.out).write_text("\n".join(lines) + "\n")

if __name__ == "__main__": main()
