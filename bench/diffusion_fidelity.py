"""Benchmark: why the cpu model's class-fidelity table is inverted, and which training fixes it.

Usage: python bench/diffusion_fidelity.py [--variants natural,balanced] [--n 64] [--steps 50]
                                          [--weights 0,1,3] [--seed 0] [--threads 2] [--out bench/results/diffusion_fidelity.md]

For each variant of the cpu profile's main diffusion model (`natural`: training images drawn at their class frequencies; `balanced`:
class-balanced draws, the cpu profile's setting since this benchmark) (trained through the store, so the chapter reuses it), the
study classifier (the cpu profile's, from the store) scores `--n` DDIM samples per class at each guidance weight, drawn
**paired**: image i of the positive set and image i of the negative set start from the same noise x_T, so the label is
the only difference between them (the chapter's table drew them from different noise, which adds the variance of the
noise to the class effect). Per weight: the unpaired AUC (as in the chapter) with a bootstrap 95% interval, the paired
share of images whose positive-conditioned version scores higher, and the mean paired difference of P(finding). Beside
them: the same classifier on as many real training images of each class. A figure shows, per variant, the mean
positive-minus-negative image of real training images, of the paired samples, and the classifier's mean Grad-CAM on real
positives with the phantom's true pneumothorax region; `--out` gets a markdown report, the table beside it (csv, which
the diffusion chapter reads) and the figure (png).
"""
import argparse, os, platform, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _timing import command, load_note

VARIANTS = dict(natural=dict(balanced=False), balanced=dict(balanced=True), balanced_long=dict(balanced=True, epochs=14),
                natural_long=dict(balanced=False, epochs=14), v_balanced=dict(balanced=True, prediction_type="v_prediction", snr_gamma=5.0))

def boot_auc(neg, pos, n_boot=2000, seed=0):
    "AUC of pos above neg, and a percentile bootstrap 95% interval (resampling each class)."
    import numpy as np
    from sklearn.metrics import roc_auc_score
    rng, y = np.random.default_rng(seed), np.r_[np.zeros(len(neg)), np.ones(len(pos))]
    auc = roc_auc_score(y, np.r_[neg, pos])
    bs = [roc_auc_score(y, np.r_[rng.choice(neg, len(neg)), rng.choice(pos, len(pos))]) for _ in range(n_boot)]
    return auc, *np.percentile(bs, [2.5, 97.5])

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default="natural,balanced"); ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--steps", type=int, default=50); ap.add_argument("--weights", default="0,1,3")
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--threads", type=int, default=2)  # sampling and scoring threads
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"diffusion_fidelity.md"))
    a = ap.parse_args(argv)
    import numpy as np, pandas as pd, torch
    import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
    torch.set_num_threads(a.threads)
    import cxrstudy.phantom  # registers the phantom source
    from cxrstudy.sources import open_source
    from cxrstudy.classify import train_classifier, predict_images, grad_cam
    from cxrstudy.data import resize_gray
    from cxrstudy.diffusion_training import train_diffusions, training_data
    from cxrstudy.sampling import sample
    load0, t_start, finding = os.getloadavg()[0], time.perf_counter(), "Pneumothorax"
    src = open_source("phantom", profile="cpu", seed=a.seed)
    t0 = time.perf_counter(); clf = train_classifier(src, finding, profile="cpu", seed=a.seed, progress=False).learner
    clf_s, size = time.perf_counter() - t0, clf.cxr.image_size
    at_size = lambda imgs: imgs if imgs.shape[1:] == (size, size) else np.stack([resize_gray(im, size) for im in imgs])  # the classifier's resize
    weights = [float(w) for w in a.weights.split(",")]
    rows, maps = [], {}
    t0 = time.perf_counter()  # every variant trained at once, side by side (one thread each)
    trained = train_diffusions(src, finding, "cpu", a.seed, {n: VARIANTS[n] for n in a.variants.split(",")})
    train_s = time.perf_counter() - t0
    for name, tr in trained.items():
        m, cfg = tr.model, tr.model.config
        td = training_data(src, finding, cfg)
        real = {c: td.images[td.rows[td.labels == c]] for c in (0, 1)}
        score = lambda imgs: predict_images(clf, at_size(imgs))
        p_real = {c: score(real[c][:a.n]) for c in (0, 1)}
        auc, lo, hi = boot_auc(p_real[0], p_real[1])
        base = dict(variant=name, updates=int(tr.history.step.max()), positives=f"{td.labels.mean():.1%}", train_s_all=round(train_s) if not tr.loaded else np.nan,
                    trained="now" if not tr.loaded else "loaded from the store")
        rows.append(base | dict(samples="real", auc=auc, auc_lo=lo, auc_hi=hi, paired_pos_higher=np.nan,
                                mean_p_pos=p_real[1].mean(), mean_p_neg=p_real[0].mean()))
        diff_real = real[1].astype(np.float64).mean(0) - real[0].astype(np.float64).mean(0)
        for w in weights:
            t0 = time.perf_counter()
            neg = sample(m, a.n, label=0, guidance=w, sampler="ddim", steps=a.steps, seed=a.seed, batch_size=32, progress=False)
            pos = sample(m, a.n, label=1, guidance=w, sampler="ddim", steps=a.steps, seed=a.seed, batch_size=32, progress=False)
            pn, pp = score(neg), score(pos)
            auc, lo, hi = boot_auc(pn, pp)
            rows.append(base | dict(samples=f"w={w:g}", auc=auc, auc_lo=lo, auc_hi=hi, paired_pos_higher=(pp > pn).mean(),
                                    mean_p_pos=pp.mean(), mean_p_neg=pn.mean(), sample_s=round(time.perf_counter() - t0)))
            maps[name, w] = (pos.astype(np.float64) - neg.astype(np.float64)).mean(0)
            print(rows[-1], flush=True)
        maps[name, "real"] = diff_real
    # where the classifier looks on real positives, and where the phantom's pneumothorax truly is
    pos_rows = np.flatnonzero(td.labels == 1)[:a.n]
    finer = getattr(clf.model.body[0], "denseblock3", None)  # at 64 px the last block's map is 2 x 2 and its Grad-CAM is empty
    cams = grad_cam(clf, at_size(td.images[td.rows[pos_rows]]), layer=finer)
    anat = [src.anatomy("train", int(r), size=size) for r in td.rows[pos_rows]]
    truth = np.stack([x["pneumothorax"] for x in anat]).astype(np.float64)
    tube = np.stack([x["chest_tube"] for x in anat]).astype(np.float64)
    t = pd.DataFrame(rows)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    names = a.variants.split(",")
    fig, axes = plt.subplots(len(names), 2 + len(weights), figsize=(2.2 * (2 + len(weights)), 2.3 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        panels = [("real pos - neg", maps[name, "real"])] + [(f"samples pos - neg, w={w:g}", maps[name, w]) for w in weights]
        for ax, (title, img) in zip(axes[r], panels):
            v = np.abs(img).max() or 1; ax.imshow(img, cmap="RdBu_r", vmin=-v, vmax=v); ax.set_title(f"{name}: {title}", fontsize=6)
        axes[r, -1].imshow(cams.mean(0), cmap="magma"); axes[r, -1].contour(truth.mean(0), levels=[0.05, 0.2], colors="c", linewidths=0.6)
        axes[r, -1].set_title("classifier Grad-CAM (real pos, dense block 3),\ncyan: true pneumothorax", fontsize=6)
        for ax in axes[r]: ax.set_xticks([]); ax.set_yticks([])
    fig.suptitle(f"phantom, cpu profile, seed {a.seed}: mean positive-minus-negative images (grey levels) and saliency", fontsize=8)
    fig.tight_layout(); fig.savefig(out.with_suffix(".png"), dpi=110); plt.close(fig)
    settings = ", ".join(f"`{n}`: {VARIANTS[n] or 'as configured'}" for n in names)
    inside = float((cams * (truth > 0)).sum() / max(cams.sum(), 1e-9))
    lines = [f"# {__doc__.splitlines()[0]}", "", f"Command: `{command('diffusion_fidelity.py', a)}`", "",
             f"Machine: {platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}; CPU only, "
             f"{a.threads} torch threads; {load_note(load0)}. Total {time.perf_counter() - t_start:.0f} s (classifier {clf_s:.0f} s).", "",
             f"Data: phantom (cpu profile), {finding}, seed {a.seed}. Models: the cpu profile's main diffusion model with each "
             f"variant's settings ({settings}). Samples: DDIM "
             f"{a.steps} steps (eta 0), {a.n} per class, paired (image i of each class from the same x_T). Scores: the cpu "
             f"classifier `{clf.cxr.name}` at {size} px. `paired_pos_higher`: share of pairs whose positive-conditioned image "
             f"scores higher. AUC intervals: percentile bootstrap, 2000 resamples.", "",
             t.round(3).to_markdown(index=False), "",
             f"Share of the classifier's Grad-CAM mass (real positives) inside the true pneumothorax region: {inside:.2f} "
             f"(the region covers {float((truth > 0).mean()):.2f} of the image); inside the chest tubes: "
             f"{float((cams * (tube > 0)).sum() / max(cams.sum(), 1e-9)):.2f} (they cover {float((tube > 0).mean()):.3f}; "
             f"{float((tube.reshape(len(tube), -1).max(1) > 0).mean()):.0%} of these positives have one).", "",
             f"Figure: `{out.with_suffix('.png').name}`."]
    out.write_text("\n".join(lines) + "\n"); t.to_csv(out.with_suffix(".csv"), index=False); print("\n".join(lines))

if __name__ == "__main__":
    main()
