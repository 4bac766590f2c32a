"The rendered site opens in a real browser and shows the study's title."
import os, shutil, subprocess
import pytest
from cxrstudy.runner import STUDY_TITLE

def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe: return exe
    if os.environ.get("CI") == "true": pytest.fail("chromium is missing under CI=true; .ci/run installs it (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium); CI installs it and runs this test")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

def test_site_index_in_headless_chromium(smoke_run, tmp_path):
    exe = chromium()
    out, _ = smoke_run
    index = out/"site"/"index.html"
    url = index.resolve().as_uri()
    common = [exe, *FLAGS, f"--user-data-dir={tmp_path/'profile'}"]
    dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert STUDY_TITLE in dom.stdout, dom.stderr[-2000:]
    assert dom.stdout.count("<a href=") >= 5  # the chapter links are there
    shot = tmp_path/"index.png"
    subprocess.run(common + [f"--screenshot={shot}", "--window-size=1200,900", url], capture_output=True, timeout=120)
    assert shot.exists() and shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
    shutil.copy(shot, out/"site"/"index-screenshot.png")
