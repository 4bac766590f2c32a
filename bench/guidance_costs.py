"""Benchmark: the per-item costs that size the guidance chapter's `guidance` profile section (issue 28).

Usage: python bench/guidance_costs.py [--profile cpu] [--n 32] [--repeat 2] [--out bench/results/guidance_costs.md]

With the profile's own models (the diffusion chapter's main model and the chapter's noisy-image classifier, from the
store; built there first when missing) and one torch thread, as the chapter runs them, it times:
  - one translation: `n` held-out images noised to strength x T and denoised with classifier guidance at the profile's
    scale and DDIM steps, batch 32, into a throw-away store so nothing is read back;
  - the noisy classifier's probabilities on `n` noised images (one noise level of the AP table);
  - training the noisy classifier, read from its stored record (seconds per epoch per noised copy).
From these it predicts the chapter's wall time at the profile's sizes (translations of the heatmap grid and of the
channel comparison, the AP table's four noise levels) and writes the report.
"""
import argparse, os, platform, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _timing import best, command, load_note, write_report

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu"); ap.add_argument("--n", type=int, default=32); ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default="bench/results/guidance_costs.md")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    import numpy as np, torch
    from cxrstudy.core import ArtifactStore, get_profile, fixed_threads
    from cxrstudy.sources import open_source
    from cxrstudy.cache import cached_split
    from cxrstudy.diffusion_training import train_diffusion
    from cxrstudy.guidance import guidance_targets, train_noisy_classifier, translate, noisy_probs
    gp, seed = get_profile(args.profile, "guidance"), 0
    src = open_source("phantom", None, profile=args.profile, seed=seed)
    dm = train_diffusion(src, "Pneumothorax", args.profile, seed).model
    S, T = dm.config["image_size"], dm.scheduler.config.num_train_timesteps
    def split(name, n):
        cs = cached_split(src, name, S); lab = cs.labels.iloc[:n]
        return np.asarray(cs.images[lab.index.to_numpy()]), guidance_targets(lab).to_numpy()
    X_tr, Y_tr = split("train", gp["n_noisy"]); X_va, Y_va = split("valid", gp["n_valid"]); X_te, _ = split("test", args.n)
    clf = train_noisy_classifier(dm, X_tr, Y_tr, valid=(X_va, Y_va), copies=gp["copies"], arch=gp["arch"], epochs=gp["epochs"], seed=seed, profile=args.profile)
    rec = clf.learner.cxr.record
    with fixed_threads(1), tempfile.TemporaryDirectory() as tmp:
        store = ArtifactStore(tmp)
        k = iter(range(10**6))  # a fresh seed each repeat, so the throw-away store never answers
        t_tr, _ = best(lambda: translate(dm, clf, X_te, "Pneumothorax", strength=gp["strength"], scale=gp["scale"], steps=gp["steps"],
                                          seed=next(k), batch_size=32, store=store), args.repeat)
        t_pr, _ = best(lambda: noisy_probs(clf, dm, X_te, T // 2, seed=seed), args.repeat)
    per_tr, per_pr = t_tr / args.n, t_pr / args.n
    per_fit = rec["seconds"] / max(rec["epochs_run"], 1) / rec["n_train"]
    guided = [s for s in gp["scales"] if s > 0]  # as the chapter: per strength the unguided floor, then toward and away at every guided
    per_image = sum(1 + 2 * (len(guided) if stg == gp["strength"] else 1) for stg in gp["strengths"])  # scale at the main strength, the largest at the others
    n_grid = 2 * gp["n_heat"] * per_image
    n_chan = 2 * (gp["n_channel_train"] + gp["n_channel_test"])
    n_test = gp["n_test"] or 0
    pred = {"heatmap grid": n_grid * per_tr, "channel translations": n_chan * per_tr,
            "AP table (4 levels)": 4 * n_test * per_pr, "noisy classifier (trained, not stored)": rec["seconds"]}
    lines = [f"# Guidance chapter: per-item costs ({args.profile} profile)", "",
             f"Command: `{command('guidance_costs.py', args)}`", "",
             f"Phantom data, seed 0, {S} px, T = {T}, {dm.config['prediction_type']}; one torch thread; best of {args.repeat}. "
             f"{platform.python_version()}, {load_note(load0)}.", "",
             "| item | seconds |", "|---|---|",
             f"| one translation (strength {gp['strength']}, {gp['steps']} DDIM steps, scale {gp['scale']}, classifier gradient, batch 32) | {per_tr:.3f} |",
             f"| one noisy-classifier probability row (t = T/2) | {per_pr:.4f} |",
             f"| noisy-classifier training, per noised copy per epoch (from its record: {rec['seconds']:.1f} s, {rec['epochs_run']} epochs, {rec['n_train']} copies) | {per_fit:.5f} |", "",
             f"Predicted chapter parts at the profile's sizes ({n_grid} grid translations: 2 findings x {gp['n_heat']} images x "
             f"{per_image} translations each; {n_chan} channel translations: 2 x ({gp['n_channel_train']} + {gp['n_channel_test']})):", "",
             "| part | predicted seconds |", "|---|---|", *[f"| {k} | {v:.0f} |" for k, v in pred.items()],
             f"| total of these | {sum(pred.values()):.0f} |", ""]
    write_report(args.out, lines)
    print("\n".join(lines))

if __name__ == "__main__": main()
