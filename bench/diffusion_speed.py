"""Benchmark: diffusion training throughput (images/s) and peak memory, ours vs the loop of diffusers' train_unconditional.py.

Usage: python bench/diffusion_speed.py [--profile cpu] [--steps 12] [--warmup 3] [--rounds 3] [--threads 2]
                                       [--out bench/results/diffusion_speed.md]

For the profile's UNet, batch size and DDPMScheduler (unconditional, so both loops run the same network):
  ours       - `cxrstudy.diffusion_training.fit_diffusion` (seeded per-step draws, NaN check, EMA, clipping, accelerate; fused AdamW and
               foreach EMA kernels, where the example keeps PyTorch's per-tensor loops), timed per update, at `--threads` torch threads
  reference  - the inner loop of diffusers' examples/unconditional_image_generation/train_unconditional.py, copied
               (global-RNG noise and timesteps, accelerator.accumulate, clip_grad_norm_, AdamW, cosine schedule, EMAModel.step),
               fed by a DataLoader over the same in-memory images
Each measurement runs in its own subprocess (so peak RSS is its own); the two alternate for `rounds` rounds and the
median seconds per update after `warmup` updates is kept, best round of each. CPU only here: no GPU was lent to this run.
"""
import argparse, json, os, platform, resource, subprocess, sys, time
from pathlib import Path

def worker(kind:str, profile:str, steps:int, warmup:int, threads:int)->dict:
    "Time `steps` updates of one loop in this process; returns seconds per update and peak RSS."
    import numpy as np, torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    from cxrstudy.diffusion_training import TrainingData, fit_diffusion
    from cxrstudy.sampling import diffusion_config, make_scheduler, new_diffusion
    cfg = diffusion_config(profile, conditioning="none", balanced=False, checkpoint_every=10**9, grid_every=10**9, warmup_steps=0, cpu_threads=threads)
    bs = cfg["batch_size"]; n = bs * steps
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (n, cfg["image_size"], cfg["image_size"]), dtype=np.uint8)
    cfg["epochs"] = 1; cfg["n_train"] = n
    if kind == "ours":
        data = TrainingData(imgs, np.arange(n), np.zeros(n, np.int64))
        res = fit_diffusion(cfg, data, seed=0, device="cpu", identity={"bench": 1})
        secs = res.history.seconds.to_numpy()[warmup:]
    else:
        from accelerate import Accelerator
        from diffusers import UNet2DModel
        from diffusers.optimization import get_cosine_schedule_with_warmup
        from diffusers.training_utils import EMAModel
        torch.manual_seed(0)
        acc = Accelerator(cpu=True, mixed_precision="no", gradient_accumulation_steps=1)
        model = new_diffusion(cfg).unet; noise_scheduler = make_scheduler(cfg)
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], betas=(0.95, 0.999), weight_decay=1e-6, eps=1e-8)
        ds = torch.utils.data.TensorDataset(torch.from_numpy(imgs))
        train_dataloader = torch.utils.data.DataLoader(ds, batch_size=bs, shuffle=True, num_workers=0)
        lr_scheduler = get_cosine_schedule_with_warmup(optimizer, num_warmup_steps=0, num_training_steps=steps)
        model, optimizer, train_dataloader, lr_scheduler = acc.prepare(model, optimizer, train_dataloader, lr_scheduler)
        ema_model = EMAModel(model.parameters(), decay=cfg["ema_decay"], use_ema_warmup=True, inv_gamma=1.0, power=0.75,
                             model_cls=UNet2DModel, model_config=model.config)
        secs, t0 = [], time.perf_counter()
        for (batch,) in train_dataloader:  # --- from train_unconditional.py (its transform: Normalize([0.5], [0.5])) ---
            clean_images = (batch.float() / 127.5 - 1)[:, None]
            noise = torch.randn(clean_images.shape, dtype=clean_images.dtype, device=clean_images.device)
            bsz = clean_images.shape[0]
            timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (bsz,), device=clean_images.device).long()
            noisy_images = noise_scheduler.add_noise(clean_images, noise, timesteps)
            with acc.accumulate(model):
                model_output = model(noisy_images, timesteps).sample
                loss = F.mse_loss(model_output.float(), noise.float())
                acc.backward(loss)
                if acc.sync_gradients: acc.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step(); lr_scheduler.step(); optimizer.zero_grad()
            if acc.sync_gradients: ema_model.step(model.parameters())
            loss.detach().item()  # the example logs loss.detach().item() every step
            secs.append(time.perf_counter() - t0); t0 = time.perf_counter()
        secs = np.array(secs[warmup:])
    return dict(kind=kind, profile=profile, batch_size=bs, seconds_per_update=float(np.median(secs)),
                images_per_s=float(bs / np.median(secs)), peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu"); ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--warmup", type=int, default=3); ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="torch threads of both loops (the chapter trains with cpu_threads=2)")
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"diffusion_speed.md"))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print("RESULT " + json.dumps(worker(a.worker, a.profile, a.steps, a.warmup, a.threads))); return
    load0, runs = os.getloadavg()[0], {"ours": [], "reference": []}
    for _ in range(a.rounds):
        for kind in ("reference", "ours"):
            out = subprocess.run([sys.executable, __file__, "--worker", kind, "--profile", a.profile, "--steps", str(a.steps),
                                  "--warmup", str(a.warmup), "--threads", str(a.threads)], capture_output=True, text=True, check=True).stdout
            runs[kind].append(json.loads(out.split("RESULT ", 1)[1]))
    best = {k: max(v, key=lambda r: r["images_per_s"]) for k, v in runs.items()}
    ratio = best["ours"]["images_per_s"] / best["reference"]["images_per_s"]
    import torch, diffusers, accelerate
    lines = [f"# Diffusion training throughput: ours vs diffusers' train_unconditional.py loop ({a.profile} profile)", "",
             f"Command: `python bench/diffusion_speed.py --profile {a.profile} --steps {a.steps} --warmup {a.warmup} --rounds {a.rounds} --threads {a.threads}`", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}, diffusers {diffusers.__version__}, "
             f"accelerate {accelerate.__version__}; CPU only, {a.threads} torch thread(s), shared 2-core machine (1-minute load average "
             f"{load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the end), so treat absolute numbers as rough; the ratio is what counts.", "",
             "Same UNet (the profile's, unconditional), batch, DDPMScheduler, AdamW, cosine schedule, clipping and EMA in both (ours: fused AdamW and foreach EMA); random uint8 images "
             "(the pixels do not change the cost). Median seconds per update after the warm-up, best of the rounds; peak RSS of each measuring process.", "",
             "| loop | images/s | s/update | peak RSS (MiB) | rounds (images/s) |", "|---|---:|---:|---:|---|"]
    for k in ("reference", "ours"):
        b = best[k]
        lines.append(f"| {k} | {b['images_per_s']:.2f} | {b['seconds_per_update']:.3f} | {b['peak_rss_mib']:.0f} | "
                     + ", ".join(f"{r['images_per_s']:.2f}" for r in runs[k]) + " |")
    lines += ["", f"**Ratio ours / reference: {ratio:.2f}x** (target: at least 1.0x on the CPU)."]
    Path(a.out).write_text("\n".join(lines) + "\n"); print("\n".join(lines))

if __name__ == "__main__": main()
