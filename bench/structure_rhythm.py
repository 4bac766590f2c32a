"""Structure rhythm of the notebooks: how small the `#| export` cells are and whether a test follows each (issue #26).

Usage: python bench/structure_rhythm.py --label before|after [--nbs nbs] [--out bench/results/structure_rhythm.md]

Not a timed test: it only reads the notebooks. Per notebook and overall it counts the `#| export` cells, the median and
largest number of lines in one (non-blank lines, the `#|` directive lines left out), the share followed by a test cell
before the next export cell (a test cell: a code cell that is not an export cell and holds more than imports and
directives), the share that define two or more public top-level names (a `def`, `class` or assignment whose name does not
start with `_`), and lists the export cells over 60 lines. Issue #26's aim is scored as pass/fail rows: at least 80% of
the export cells in chapters 00-05 and 09-10 followed by a test, and a median export cell of at most 12 lines.
The report keeps one section per `--label`: a run replaces its own section and leaves the other as it was.
"""
import argparse, ast, json, re, statistics, sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _timing import command, write_report

ROOT = Path(__file__).resolve().parent.parent
DIRECTIVE = re.compile(r"^\s*#\s*\|")
AIM_CHAPTERS = re.compile(r"^(0[0-5]|09|10)[a-z]?_")  # chapters 00-05 (with their lettered inserts) and 09-10
AIM_TESTED, AIM_MEDIAN, LONG = 0.80, 12, 60
LABELS = ("before", "after")

def is_export(src:str)->bool:
    "Whether a code cell's source carries an `#| export` directive."
    return any(re.match(r"^\s*#\s*\|\s*export\s*$", l) for l in src.splitlines())

def code_lines(src:str)->list:
    "The cell's non-blank lines, directive lines left out."
    return [l for l in src.splitlines() if l.strip() and not DIRECTIVE.match(l)]

def parse(src:str):
    "The cell's module AST, or None where it is not plain Python (magics, shell lines)."
    try: return ast.parse("\n".join(l for l in src.splitlines() if not DIRECTIVE.match(l)))
    except SyntaxError: return None

def is_test(src:str)->bool:
    "A code cell, not an export, that holds more than imports and directives."
    if is_export(src) or not code_lines(src): return False
    tree = parse(src)
    return tree is None or not all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body)

def public_names(src:str)->list:
    "Public top-level names an export cell defines (functions, classes, assigned names)."
    tree, names = parse(src), []
    if tree is None: return names
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.append(n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign)):
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                names += [e.id for e in ast.walk(t) if isinstance(e, ast.Name)]
    return [s for s in names if not s.startswith("_")]

def notebook_cells(path:Path)->list:
    "One record per export cell of a notebook: id, lines, public names, followed by a test before the next export."
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    srcs = ["".join(c["source"]) for c in cells]
    out = []
    for i, (c, s) in enumerate(zip(cells, srcs)):
        if not is_export(s): continue
        tested = False
        for t in srcs[i + 1:]:
            if is_export(t): break
            if is_test(t): tested = True; break
        out.append(dict(id=c.get("id", f"#{i}"), lines=len(code_lines(s)), names=public_names(s), tested=tested))
    return out

def summary(recs:list)->dict:
    "The rhythm figures of a list of export-cell records."
    n = len(recs); lines = [r["lines"] for r in recs]
    return dict(n=n, median=statistics.median(lines) if n else 0, max=max(lines, default=0),
                tested=sum(r["tested"] for r in recs), multi=sum(len(r["names"]) >= 2 for r in recs),
                over40=sum(l > 40 for l in lines), over60=sum(l > LONG for l in lines))

def pct(k:int, n:int)->str: return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "-"

def row(name:str, s:dict)->str:
    return (f"| {name} | {s['n']} | {s['median']:g} | {s['max']} | {pct(s['tested'], s['n'])} | {pct(s['multi'], s['n'])} "
            f"| {s['over40']} | {s['over60']} |")

def section(label:str, nbs:Path, args)->list:
    "The markdown section of one run."
    per = {p.stem: notebook_cells(p) for p in sorted(nbs.glob("*.ipynb"))}
    per = {k: v for k, v in per.items() if v}
    allrecs = [r for v in per.values() for r in v]
    aim = [r for k, v in per.items() if AIM_CHAPTERS.match(k) for r in v]
    s_all, s_aim = summary(allrecs), summary(aim)
    lines = [f"<!-- section:{label} -->", f"## {label}", "",
             f"Run {date.today().isoformat()}: `{command('structure_rhythm.py', args)}`.", "",
             "| notebook | export cells | median lines | max lines | followed by a test | two or more public names | over 40 lines | over 60 lines |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [row(k, summary(v)) for k, v in per.items()]
    lines += [row("**chapters 00-05, 09-10**", s_aim), row("**all**", s_all), "",
              "| aim (issue #26) | measured | result |", "|---|---|---|",
              f"| >= {AIM_TESTED:.0%} of export cells in chapters 00-05, 09-10 followed by a test | {pct(s_aim['tested'], s_aim['n'])} "
              f"| {'pass' if s_aim['n'] and s_aim['tested'] / s_aim['n'] >= AIM_TESTED else 'FAIL'} |",
              f"| median export cell <= {AIM_MEDIAN} lines (all notebooks) | {s_all['median']:g} | {'pass' if s_all['median'] <= AIM_MEDIAN else 'FAIL'} |",
              f"| median export cell <= {AIM_MEDIAN} lines (chapters 00-05, 09-10) | {s_aim['median']:g} | {'pass' if s_aim['median'] <= AIM_MEDIAN else 'FAIL'} |",
              "", f"Export cells over {LONG} lines:", ""]
    long = [(k, r) for k, v in per.items() for r in v if r["lines"] > LONG]
    lines += [f"- `{k}` cell `{r['id']}`: {r['lines']} lines ({', '.join(r['names']) or 'no public name'})" for k, r in long] or ["- none"]
    return lines + ["", f"<!-- end:{label} -->"]

def merge(old:str, label:str, new:list)->list:
    "The report with `label`'s section replaced by `new` and the other labels' sections kept, in `LABELS` order."
    keep = {}
    for l in LABELS:
        m = re.search(rf"<!-- section:{l} -->.*?<!-- end:{l} -->", old, re.S)
        if m: keep[l] = m.group(0).splitlines()
    keep[label] = new
    head = ["# Structure rhythm of the notebooks (issue #26)", "",
            "How the chapters keep fastai's rhythm (a sentence of why, one small `#| export` cell, a test right under it). "
            "Lines: non-blank lines of an export cell, its `#|` directives left out. Followed by a test: a code cell that is "
            "neither an export nor imports alone comes before the next export cell. Public names: top-level `def`, `class` "
            "and assigned names not starting with `_`. Read from the notebooks, not timed; `before` is the tree before "
            "issue #26's structure pass, `after` the tree after it.", ""]
    body = []
    for l in LABELS:
        if l in keep: body += keep[l] + [""]
    return head + body

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", choices=LABELS, required=True, help="which section of the report this run writes")
    ap.add_argument("--nbs", default=str(ROOT/"nbs"), help="the notebooks' folder")
    ap.add_argument("--out", default=str(ROOT/"bench"/"results"/"structure_rhythm.md"))
    a = ap.parse_args(argv)
    shown = argparse.Namespace(label=a.label)  # the command line shown in the report: the defaults are the project's
    new = section(a.label, Path(a.nbs), shown)
    out = Path(a.out)
    lines = merge(out.read_text() if out.exists() else "", a.label, new)
    print("\n".join(new)); write_report(out, lines[:-1] if lines[-1] == "" else lines)

if __name__ == "__main__": main()
