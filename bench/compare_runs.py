"""Compare the result tables of two study runs column by column (the structure issue's check that a refactor changes no result).

Usage: python bench/compare_runs.py BEFORE_RUN AFTER_RUN [--label TEXT] [--out bench/results/structure_compare.md]

For every `results/*.csv` of either run: identical bytes, or the columns whose values differ (timing columns such as
`seconds` are expected to), or present in one run only. The runs themselves are made with `cxrstudy run` (see the report's
command lines); this script only reads them.
"""
import argparse, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))
from _timing import write_report

def compare(before:Path, after:Path)->list:
    "Rows (table, verdict) for the union of the two runs' result tables."
    import pandas as pd
    b, a = {p.name: p for p in (before/"results").glob("*.csv")}, {p.name: p for p in (after/"results").glob("*.csv")}
    rows = []
    for name in sorted(set(b) | set(a)):
        if name not in b or name not in a: rows.append((name[:-4], f"only in the {'after' if name in a else 'before'} run")); continue
        if b[name].read_bytes() == a[name].read_bytes(): rows.append((name[:-4], "byte-identical")); continue
        x, y = pd.read_csv(b[name]), pd.read_csv(a[name])
        if list(x.columns) != list(y.columns) or len(x) != len(y): rows.append((name[:-4], "different columns or rows")); continue
        rows.append((name[:-4], "differs only in " + ", ".join(f"`{c}`" for c in x.columns if not x[c].equals(y[c]))))
    return rows

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before"); ap.add_argument("after"); ap.add_argument("--label", default="")
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"structure_compare.md"))
    a = ap.parse_args(argv)
    rows = compare(Path(a.before), Path(a.after))
    same = [t for t, v in rows if v == "byte-identical"]
    lines = ["# Every result table of a study run before and after a refactor", "", a.label, "",
             f"Command: `python bench/compare_runs.py {a.before} {a.after}`", "",
             f"{len(same)} of {len(rows)} tables byte-identical: " + ", ".join(same) + ".", "",
             "| table | before vs after |", "|---|---|"] + [f"| {t} | {v} |" for t, v in rows if v != "byte-identical"]
    write_report(a.out, lines)

if __name__ == "__main__": main()
