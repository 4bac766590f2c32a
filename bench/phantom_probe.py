"""The phantom's difficulty probe at a profile's probe size, with the band check the phantom is tuned for.

Usage: .venv/bin/python bench/phantom_probe.py [--profile cpu] [--seed 0] [--out bench/results/phantom_probe.md]

Trains a pixel logistic regression and a tiny CNN on the phantom's train split (true labels) and reports
validation ROC AUC for Pneumothorax and Pleural Effusion; at the cpu profile it fails unless the logistic
regression's pneumothorax AUC lies in 0.60..0.95.
"""
import argparse, os, platform, sys, time
from pathlib import Path

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="cpu"); p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    p.add_argument("--pneumothorax", default="siim,procedural", help="renderers to probe, comma-separated (siim, procedural)")
    a = p.parse_args(argv)
    from cxrstudy.core import get_profile
    from cxrstudy.probe import difficulty_probe
    pp = get_profile(a.profile, "probe")
    t0 = time.perf_counter()
    import pandas as pd
    shapes = a.pneumothorax.split(",")
    res = pd.concat([difficulty_probe(a.seed, profile=a.profile, pneumothorax=s) for s in shapes], ignore_index=True)
    wall = time.perf_counter() - t0
    r = res.round(3)  # a markdown table without the optional `tabulate` package
    table = "\n".join(["| " + " | ".join(r.columns) + " |", "|" + "---|" * len(r.columns)]
                      + ["| " + " | ".join(map(str, row)) + " |" for row in r.to_numpy()])
    print(table); print(f"total {wall:.1f} s")
    ptx = res[(res.finding == "Pneumothorax") & (res.probe == "logistic regression") & (res.pneumothorax == shapes[0])]["auc"].item()
    ok = 0.60 <= ptx <= 0.95
    if a.out:
        cmd = ".venv/bin/python bench/phantom_probe.py " + " ".join(argv if argv is not None else sys.argv[1:])
        Path(a.out).write_text("\n".join([
            "# Phantom difficulty probe", "", f"Command: `{cmd}`", "",
            f"Profile `{a.profile}` probe section: {pp}. Seed {a.seed}. {os.cpu_count()} logical CPUs (shared), "
            f"Python {platform.python_version()}. Total {wall:.1f} s. Each model trains with one thread for a fixed number of epochs, so "
            "the numbers do not depend on the machine.", "",
            "Validation ROC AUC against the phantom's TRUE labels (train on the train split's true labels); "
            "`auc_no_devices`: the same models scored only on validation images without support devices "
            "(no chest-tube shortcut):", "",
            table, "", f"Band check (logistic regression, Pneumothorax, renderer {shapes[0]}, in 0.60..0.95): {'pass' if ok else 'FAIL'} ({ptx:.3f})", ""]))
    if a.profile == "cpu" and not ok: sys.exit(f"pneumothorax probe AUC {ptx:.3f} is outside 0.60..0.95")

if __name__ == "__main__": main()
