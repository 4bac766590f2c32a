"""Benchmark: seconds per training update of the pixel model and of the latent model at one profile, and the latent epochs of equal compute.

Usage: python bench/latent_speed.py [--profile cpu] [--steps 8] [--warmup 2] [--out bench/results/latent_speed.md]

Both run the study's `fit_diffusion` (class-conditional, the profile's diffusion settings) on one torch thread, alternating in
this process: the pixel model on uint8 images at the diffusion chapter's size, the latent model (`latent.unet` widths) on float32
latents of the autoencoder's shape (image_size / factor, latent_channels). The median seconds per update after `warmup` updates
gives the ratio; equal compute is the latent chapter's pixel model's epochs (`latent.pixel_epochs`, or the diffusion
chapter's `diffusion.epochs` where that is None) times that ratio, rounded: the `latent.compute_epochs` a profile sets.
Seconds are the loop's own `seconds` column (what the latent chapter's table sums), so the two sides are counted alike.
"""
import argparse, os, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _timing import command, load_note, write_report

def per_update(cfg, images, labels, warmup):
    import numpy as np
    from cxrstudy.diffusion_training import TrainingData, fit_diffusion
    res = fit_diffusion(cfg, TrainingData(images, np.arange(len(images)), labels), seed=0, device="cpu", identity={"bench": 1})
    return float(np.median(res.history.seconds.to_numpy()[warmup:]))

def main(a):
    import numpy as np
    from cxrstudy.core import get_profile
    from cxrstudy.sampling import diffusion_config
    load0, lp, dp = os.getloadavg()[0], get_profile(a.profile, "latent"), get_profile(a.profile, "diffusion")
    ae = lp["ae"]; s, h, c = dp["image_size"], dp["image_size"] // ae["factor"], ae["latent_channels"]
    common = dict(epochs=1, checkpoint_every=10**9, grid_every=10**9, balanced=False)
    pcfg = diffusion_config(a.profile, **common); n = pcfg["batch_size"] * a.steps
    lcfg = diffusion_config(a.profile, image_size=h, in_channels=c, clip_sample=False, **lp["unet"], **common)
    rng = np.random.default_rng(0); labels = np.arange(n) % 2
    pix = rng.integers(0, 256, (n, s, s), dtype=np.uint8); lat = rng.normal(size=(n, c, h, h)).astype(np.float32)
    tp, tl = per_update(pcfg, pix, labels, a.warmup), per_update(lcfg, lat, labels, a.warmup)
    ratio = tp / tl
    ep = lp["pixel_epochs"] or dp["epochs"]
    src_ep = "latent.pixel_epochs" if lp["pixel_epochs"] else "the diffusion chapter's model, diffusion.epochs"
    lines = [f"# Pixel against latent diffusion: seconds per update ({a.profile} profile)", "",
             f"`{command('latent_speed.py', a)}`; {load_note(load0)}.", "",
             "| model | input | widths | s/update (median) |", "|---|---|---|---|",
             f"| pixel | {s}x{s}x1 | {list(pcfg['block_out_channels'])} | {tp:.3f} |",
             f"| latent | {h}x{h}x{c} | {list(lcfg['block_out_channels'])} | {tl:.3f} |", "",
             f"Ratio {ratio:.1f}: equal compute with the latent chapter's pixel model ({ep} epochs: {src_ep}) is about {ep * ratio:.0f} latent epochs "
             f"(the profile sets latent.compute_epochs = {lp['compute_epochs']})."]
    write_report(a.out, lines); print("\n".join(lines))

if __name__ == "__main__":
    p = argparse.ArgumentParser(); p.add_argument("--profile", default="cpu"); p.add_argument("--steps", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2); p.add_argument("--out", default="bench/results/latent_speed.md")
    main(p.parse_args())
