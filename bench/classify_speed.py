"""Benchmark: training images per second and peak memory of each classifier at the cpu profile, fastai vs a plain PyTorch loop, and the data loader alone.

Usage: python bench/classify_speed.py [--profile cpu] [--n 512] [--repeat 2] [--out bench/results/classify_speed.md]

For each of the profile's three networks (`classify.variant`: the small family at cpu), in its own subprocess (so its peak
memory is its own), on the phantom's cached training images at the profile's image size and the network's batch size:
  fastai - `train_classifier`'s Learner (Adam, the validation-AUC metric, the divergence guard, no progress bar),
           `fit` for 2 epochs over `n` images; the second epoch's training phase is timed (the first warms up);
  plain  - the same model initialisation, batch size, loss (`PolicyLoss`) and items in a bare loop
           (torch DataLoader, torch.optim.Adam, forward, backward, step), timed the same way;
  loader - fastai's training DataLoader alone, one pass (no model).
Both training paths run with one torch thread (`single_threaded`, as the chapter trains); they alternate `repeat` times and
the best pass of each is kept. Peak memory is the subprocess's maximum resident set size (ru_maxrss), and its growth
over the RSS measured just before the first training step.
"""
import argparse, json, os, platform, resource, subprocess, sys, time
from pathlib import Path

def rss_mb()->float:
    "Current resident set size in MiB (Linux /proc)."
    with open("/proc/self/statm") as f: return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def one(arch:str, profile:str, n:int, repeat:int)->dict:
    "Measure one network (run in a subprocess)."
    import numpy as np, torch
    from fastai.callback.core import Callback
    from cxrstudy.classify import (ClassifyItems, PolicyLoss, _dls, _learner, make_model, policy_targets, read_split, train_options)
    from cxrstudy.core import seed_everything
    from cxrstudy.core import single_threaded
    from cxrstudy.sources import open_source
    src = open_source("phantom", profile=profile, seed=0)
    o = train_options(profile, arch)
    tr = read_split(src, "train", o["image_size"])
    rows = np.arange(min(n, len(tr)))
    y = policy_targets(tr.labels["Pneumothorax"], "FillNM(0) U-Ones")[rows]
    items, vitems = ClassifyItems(tr, rows, y, 0), ClassifyItems(tr, rows[:o["batch_size"]], y[:o["batch_size"]], 1)
    loss = PolicyLoss(False)
    class Clock(Callback):
        def before_train(self): self.t0 = time.perf_counter()
        def after_train(self): self.times = getattr(self, "times", []) + [time.perf_counter() - self.t0]
    def fastai_pass():
        seed_everything(0)
        learn = _learner(_dls(items, vitems, o, augment=None, seed=0, device="cpu"), make_model(arch, 1), loss, o, path=Path("/tmp"), precision="fp32")
        clock = Clock()
        with learn.no_bar(), single_threaded(): learn.fit(2, lr=o["lr"], cbs=[clock])
        return clock.times[-1]
    def plain_pass():
        seed_everything(0)
        model = make_model(arch, 1); opt = torch.optim.Adam(model.parameters(), lr=o["lr"])
        dl = torch.utils.data.DataLoader(items, batch_size=o["batch_size"], shuffle=True, drop_last=True, num_workers=0)
        times = []
        with single_threaded():
            for _ in range(2):
                model.train(); t0 = time.perf_counter()
                for x, yb in dl:
                    l = loss(model(x.as_subclass(torch.Tensor)), yb); opt.zero_grad(); l.backward(); opt.step()
                times.append(time.perf_counter() - t0)
        return times[-1]
    def loader_pass():
        dls = _dls(items, vitems, o, augment=None, seed=0, device="cpu"); t0 = time.perf_counter()
        for _ in dls.train: pass
        return time.perf_counter() - t0
    rss0 = rss_mb()
    fa = pl = ld = float("inf")
    for _ in range(repeat):
        fa, pl, ld = min(fa, fastai_pass()), min(pl, plain_pass()), min(ld, loader_pass())
    n_used = (len(rows) // o["batch_size"]) * o["batch_size"]  # both drop the last partial batch
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(arch=arch, batch_size=o["batch_size"], image_size=o["image_size"], n=n_used, fastai=n_used / fa, plain=n_used / pl,
                loader=n_used / ld, peak_rss_mb=peak, rss_before_mb=rss0)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu"); ap.add_argument("--n", type=int, default=512, help="training images per epoch")
    ap.add_argument("--repeat", type=int, default=2, help="alternating passes per path (best kept)")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"classify_speed.md"))
    a = ap.parse_args(argv)
    if a.one:
        print("RESULT " + json.dumps(one(a.one, a.profile, a.n, a.repeat))); return
    import torch, fastai
    from cxrstudy.classify import network_name, NETWORKS
    from cxrstudy.core import get_profile
    variant = get_profile(a.profile, "classify")["variant"]
    rows, load0, t_all = [], os.getloadavg()[0], time.perf_counter()
    for net in NETWORKS:
        arch = network_name(net, variant)
        out = subprocess.run([sys.executable, __file__, "--one", arch, "--profile", a.profile, "--n", str(a.n), "--repeat", str(a.repeat)],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(next(l for l in out.splitlines() if l.startswith("RESULT "))[7:]); rows.append(r)
        print(f"{arch:28s} fastai {r['fastai']:7.1f} img/s  plain {r['plain']:7.1f} img/s  ratio {r['fastai'] / r['plain']:.2f}  "
              f"loader {r['loader']:8.0f} img/s ({r['loader'] / r['fastai']:.0f}x)  peak RSS {r['peak_rss_mb']:.0f} MiB")
    ok_ratio = all(r["fastai"] >= 0.9 * r["plain"] for r in rows); ok_loader = all(r["loader"] >= 10 * r["fastai"] for r in rows)
    cmd = f"python bench/classify_speed.py --profile {a.profile} --n {a.n} --repeat {a.repeat}"
    lines = ["# Classifier training speed: fastai vs a plain PyTorch loop, and the data loader", "",
             f"Command: `{cmd}` (from the project root, with the project's virtual environment); {time.perf_counter() - t_all:.0f} s in all.", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}, fastai {fastai.__version__}; "
             f"CPU only, one torch thread per training (as the chapter trains), on a shared {os.cpu_count()}-core machine "
             f"(1-minute load average {load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the end), so the numbers are rough.", "",
             f"Profile `{a.profile}` (variant `{variant}`): the phantom's cached training images, {a.n} per epoch, the network's own batch size; "
             f"the second of 2 epochs timed, best of {a.repeat} alternating passes. Peak memory: the measuring subprocess's maximum RSS "
             "(Python, torch and the model together) and its RSS before the first step.", "",
             "| network | image size | batch | fastai (img/s) | plain loop (img/s) | fastai / plain | loader alone (img/s) | loader / fastai | peak RSS (MiB) | RSS before (MiB) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['arch']} | {r['image_size']} | {r['batch_size']} | {r['fastai']:.1f} | {r['plain']:.1f} | {r['fastai'] / r['plain']:.2f} | "
              f"{r['loader']:.0f} | {r['loader'] / r['fastai']:.0f}x | {r['peak_rss_mb']:.0f} | {r['rss_before_mb']:.0f} |" for r in rows]
    lines += ["", f"Targets: fastai at least 0.9 of the plain loop: {'pass' if ok_ratio else 'FAIL'}; loader at least 10x training: "
              f"{'pass' if ok_loader else 'FAIL'}."]
    Path(a.out).write_text("\n".join(lines) + "\n"); print(f"wrote {a.out}")

if __name__ == "__main__": main()
