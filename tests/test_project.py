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
