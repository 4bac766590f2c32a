"The project's shape: nbdev 3 settings, the Quarto book, the console script."
import re, sys, tomllib
from pathlib import Path
from conftest import ROOT
from cxrstudy.runner import discover_chapters

def test_nbdev3_settings():
    cfg = tomllib.loads((ROOT/"pyproject.toml").read_text())
    nb = cfg["tool"]["nbdev"]
    assert nb["allowed_cell_metadata_keys"] == ["tags"]  # keeps papermill's `parameters` tag through nbdev-clean
    assert {"notest", "slow"} <= set(nb["tst_flags"].split())
    assert not (ROOT/"settings.ini").exists()

def test_quarto_book_lists_every_chapter_once():
    text = (ROOT/"nbs"/"_quarto.yml").read_text()
    listed = re.findall(r"^\s*- ([\w.]+\.ipynb)\s*$", text, flags=re.M)
    assert sorted(listed) == sorted(p.name for p in discover_chapters(ROOT/"nbs").values())
    assert len(listed) == len(set(listed))

def test_console_script_installed():
    assert (Path(sys.executable).parent/"cxrstudy").exists()

def test_lock_pins_the_torch_pair():
    lock = (ROOT/"requirements-lock.txt").read_text().split()
    assert "torch==2.14.1" in lock and "torchvision==0.29.1" in lock

def chapter_modules()->list:
    "The exported module of each numbered notebook, in chapter order (its `#| default_exp` line)."
    import json
    mods = []
    for nb in sorted((ROOT/"nbs").glob("[0-9]*.ipynb")):
        for c in json.loads(nb.read_text())["cells"]:
            m = re.match(r"#\|\s*default_exp\s+(\S+)", "".join(c["source"]))
            if m: mods.append(m.group(1)); break
    return mods

def import_time_imports(path:Path, modules:set)->set:
    "The cxrstudy modules that `path` imports when it is imported: every import statement outside function bodies (class bodies run at import)."
    import ast
    found, todo = set(), list(ast.parse(path.read_text()).body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)): continue  # runs when called, not when imported
        if isinstance(n, ast.ImportFrom):
            if (n.level == 1 and not n.module) or (n.level == 0 and n.module == "cxrstudy"): found |= {a.name for a in n.names}
            elif n.level == 1: found.add(n.module.split(".")[0])
            elif n.level == 0 and n.module and n.module.startswith("cxrstudy."): found.add(n.module.split(".")[1])
        elif isinstance(n, ast.Import): found |= {a.name.split(".")[1] for a in n.names if a.name.startswith("cxrstudy.")}
        todo += list(ast.iter_child_nodes(n))
    return found & modules

def test_import_time_imports_finds_each_form(tmp_path):
    f = tmp_path/"m.py"
    f.write_text("from .core import x\nfrom cxrstudy.data import y\nimport cxrstudy.sources as s\nfrom . import cache\n"
                 "try:\n    from .labels import z\nexcept ImportError: pass\nclass C:\n    from .metrics import w\n"
                 "def f():\n    from .runner import r\n")
    assert import_time_imports(f, {"core", "data", "sources", "cache", "labels", "metrics", "runner"}) == {"core", "data", "sources", "cache", "labels", "metrics"}

def test_imports_run_one_way_down_the_chapter_order():
    """Each module's import-time imports name only modules of earlier chapters, so by induction importing any module loads only
    earlier ones and there is no cycle (imports inside functions may look up the chapter order: they run when called)."""
    order = chapter_modules()
    assert {"core", "data", "sources", "cache", "radiograph", "phantom", "probe", "runner"} <= set(order), order
    for k, mod in enumerate(order):
        later = sorted(m for m in import_time_imports(ROOT/"cxrstudy"/f"{mod}.py", set(order)) if order.index(m) > k)
        assert not later, f"cxrstudy.{mod} imports later chapter(s) {later} when it is imported"

def test_a_late_chapter_imported_alone_loads_only_earlier_ones():
    "The static check above, confirmed at run time on the last chapter before the runner: a fresh interpreter imports it alone."
    import subprocess
    order = chapter_modules(); mod = order[order.index("runner") - 1]
    code = f"import sys, cxrstudy.{mod}; print(' '.join(m[9:] for m in sys.modules if m.startswith('cxrstudy.')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert mod in loaded and not [m for m in loaded if m in order and order.index(m) > order.index(mod)], loaded

def private_imports(path:Path, modules:set)->list:
    "('<module> <how> <other module>._<name>', line) for each use in `path` of another cxrstudy module's underscore name."
    import ast
    me, tree, found, alias = path.stem, ast.parse(path.read_text()), [], {}
    def other(mod:str|None, level:int)->str|None:
        "The cxrstudy module an import names (relative `.x` or absolute `cxrstudy.x`), if it is another one."
        name = mod if level == 1 else mod[len("cxrstudy."):] if level == 0 and mod and mod.startswith("cxrstudy.") else None
        return name if name in modules and name != me else None
    for n in ast.walk(tree):
        if isinstance(n, ast.ImportFrom):
            if (n.level == 1 and not n.module) or (n.level == 0 and n.module == "cxrstudy"):  # from . import x / from cxrstudy import x
                alias.update({a.asname or a.name: a.name for a in n.names if a.name in modules and a.name != me})
            elif m := other(n.module, n.level):
                found += [(f"{me} imports {m}.{a.name}", n.lineno) for a in n.names if a.name.startswith("_")]
        elif isinstance(n, ast.Import):  # import cxrstudy.x as y
            alias.update({a.asname: other(a.name, 0) for a in n.names if a.asname and other(a.name, 0)})
    for n in ast.walk(tree):
        if isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.startswith("__"):
            v = n.value
            if isinstance(v, ast.Name) and v.id in alias: found.append((f"{me} uses {alias[v.id]}.{n.attr}", n.lineno))
            elif (isinstance(v, ast.Attribute) and isinstance(v.value, ast.Name) and v.value.id == "cxrstudy"
                  and v.attr in modules and v.attr != me): found.append((f"{me} uses {v.attr}.{n.attr}", n.lineno))
    return found

def test_private_imports_finds_each_form(tmp_path):
    f = tmp_path/"results.py"
    f.write_text("from .metrics import _paired, SCORES\nfrom cxrstudy.core import _save\nfrom . import metrics as m\n"
                 "import cxrstudy.labels as lb\nimport cxrstudy\nm._x; lb._y; cxrstudy.core._z; m.SCORES; lb.__name__\nfrom .results import _own\n")
    got = [w for w, _ in private_imports(f, {"metrics", "core", "labels", "results"})]
    assert sorted(got) == sorted(["results imports metrics._paired", "results imports core._save", "results uses metrics._x",
                                  "results uses labels._y", "results uses core._z"]), got

def test_no_module_imports_another_modules_underscore_name():
    "A module takes only public names from another: its private ones may change without notice."
    files = [p for p in sorted((ROOT/"cxrstudy").glob("*.py")) if not p.stem.startswith("_")]
    modules = {p.stem for p in files}
    found = [f"{w} (line {line})" for p in files for w, line in private_imports(p, modules)]
    assert not found, "use only public names of other modules:\n" + "\n".join(found)
