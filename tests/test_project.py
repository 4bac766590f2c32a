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

def test_imports_run_one_way_down_the_chapter_order():
    "Each module, imported alone in a fresh interpreter, loads only modules of earlier chapters (so there is no cycle)."
    import subprocess
    order = chapter_modules()
    assert {"core", "data", "sources", "cache", "radiograph", "phantom", "probe", "runner"} <= set(order), order
    for k, mod in enumerate(order):
        code = f"import sys, cxrstudy.{mod}; print(' '.join(m[9:] for m in sys.modules if m.startswith('cxrstudy.')))"
        loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        later = [m for m in loaded if m in order and order.index(m) > k]
        assert not later, f"cxrstudy.{mod} imports later chapter(s) {later}"
