"""The rendered site opens in a real browser: the runner's site shows the study's title; the Sphinx book (the site without
Quarto) shows a sidebar in the order of nbs/_quarto.yml, chapters without nbdev's or papermill's machinery, and a
visible figure and table. Screenshots are kept next to each rendered site (`<site>/screenshots/`) for a reader."""
import html, json, os, re, shutil, subprocess
import pytest
from bs4 import BeautifulSoup
from conftest import ROOT
from cxrstudy.site import STUDY_TITLE, book_parts, render_site

def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe: return exe
    if os.environ.get("CI") == "true": pytest.fail("chromium is missing under CI=true; .ci/run installs it (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium); CI installs it and runs this test")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

class Browser:
    "Headless Chromium with its own profile: the DOM after the page's scripts ran, and screenshots."
    def __init__(self, exe, profile): self.common = [exe, *FLAGS, f"--user-data-dir={profile}"]
    def dom(self, page)->str:
        r = subprocess.run(self.common + ["--virtual-time-budget=5000", "--dump-dom", page.resolve().as_uri()],
                           capture_output=True, text=True, timeout=120)
        assert r.stdout.strip(), r.stderr[-2000:]
        return r.stdout
    def shot(self, page, png, size="1300,1000"):
        png.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(self.common + [f"--screenshot={png}", f"--window-size={size}", page.resolve().as_uri()],
                       capture_output=True, timeout=120)
        assert png.exists() and png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000, png
        return png

# A copy of a page with this script reports, once its images are loaded, the size and folding of every figure and table of the chapter
# (so "visible" means laid out by the browser with a non-zero size, outside folded code).
PROBE = """<script>document.addEventListener('DOMContentLoaded', function report() {
  const imgs = [...document.querySelectorAll('article img')];
  if (!imgs.every(i => i.complete)) return setTimeout(report, 100);  // the page's own images, not the network's scripts
  const out = [...document.querySelectorAll('article img, article table')].map(el => {
    const b = el.getBoundingClientRect(), s = getComputedStyle(el);
    return {tag: el.tagName, w: b.width, h: b.height, y: b.top + window.scrollY, shown: s.visibility !== 'hidden' && s.display !== 'none',
            folded: !!el.closest('details:not([open])')};});
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});</script>"""

def probe(browser, page):
    "What the browser laid out of `page`'s figures and tables: [{tag, w, h, y, shown, folded}]."
    copy = page.with_name(f"_probe_{page.name}")
    copy.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    try: return json.loads(html.unescape(re.search(r'<pre id="probe"[^>]*>(.*?)</pre>', browser.dom(copy), re.S).group(1))), copy
    except AttributeError: pytest.fail(f"the probe script did not run on {copy}")

def sidebar(dom)->list:
    "The chapter pages the book's sidebar links to, in order (not the front page, not the page itself)."
    nav = BeautifulSoup(dom, "html.parser").select_one("nav.bd-docs-nav")
    assert nav is not None, "no sidebar (nav.bd-docs-nav) on the page"
    hrefs = [a["href"].split("#")[0] for a in nav.select("a.reference.internal")]
    return [h for h in hrefs if h not in ("", "index.html")]

def check_chapter(browser, page, shots):
    "A chapter page as a reader sees it: no directives, no tests or injected parameters in view, a figure and a table shown."
    soup = BeautifulSoup(browser.dom(page), "html.parser")
    art = soup.select_one("article")
    for cell in art.select("div.cell"):  # code cells, folded or not, and their outputs: no nbdev directive survives
        assert "#| " not in cell.get_text(), cell.get_text()[:300]
    for d in art.select("details"): d.decompose()  # what the reader sees without unfolding any code
    text = art.get_text()
    assert "test_eq(" not in text and "test_fail(" not in text
    assert "# Parameters" not in text  # papermill's injected cell is gone...
    box = [a for a in art.select("div.admonition") if "This run" in a.get_text()]
    assert box and "run_dir" in box[0].get_text()  # ...its values are in the box at the top
    seen, copy = probe(browser, page); copy.unlink()
    visible = [o for o in seen if o["shown"] and not o["folded"] and o["w"] > 50 and o["h"] > 20]
    assert any(o["tag"] == "IMG" for o in visible), seen
    assert any(o["tag"] == "TABLE" for o in visible), seen
    browser.shot(page, shots/f"{page.stem}.png")
    fig = next(o for o in visible if o["tag"] == "IMG")  # a page tall enough to hold the first figure
    png = browser.shot(page, shots/f"{page.stem}-figure.png", size=f"1300,{min(int(fig['y'] + fig['h']) + 300, 16000)}")
    from PIL import Image
    with Image.open(png) as im: crop = im.crop((0, max(0, int(fig["y"]) - 300), im.width, im.height))
    crop.save(png)  # just the figure and what is around it

def run_papermill(nb, out, run_dir):
    "Execute a chapter as the runner does."
    import papermill as pm
    pm.execute_notebook(str(nb), str(out), parameters=dict(profile="smoke", run_dir=str(run_dir)), kernel_name="python3",
                        cwd=str(nb.parent), progress_bar=False, log_output=False)

@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    "A small run: the labels chapter (a figure and tables) and the front page executed by papermill, and a manifest."
    run = tmp_path_factory.mktemp("small")/"run"; (run/"notebooks").mkdir(parents=True)
    os.environ.setdefault("CXRSTUDY_CACHE", str(run.parent/"cache"))
    for name in ("02_labels.ipynb", "index.ipynb"): run_papermill(ROOT/"nbs"/name, run/"notebooks"/name, run)
    (run/"manifest.json").write_text(json.dumps(dict(profile="smoke", status="ok", seed=0,
        chapters={"labels": {"status": "ok", "seconds": 15.0}, "index": {"status": "ok", "seconds": 1.0}})))
    return run

def test_book_of_a_small_run(small_run, tmp_path):
    browser = Browser(chromium(), tmp_path/"profile")
    index = render_site(small_run, renderer="book")
    assert index == small_run/"site"/"index.html"
    dom = browser.dom(index)
    assert STUDY_TITLE in dom
    assert sidebar(dom) == ["02_labels.html"]
    assert "Data and labels" in BeautifulSoup(dom, "html.parser").select_one("nav.bd-docs-nav").get_text()  # the part
    shots = small_run/"site"/"screenshots"
    browser.shot(index, shots/"index.png")
    check_chapter(browser, small_run/"site"/"02_labels.html", shots)
    print(f"screenshots: {shots}")

def test_book_of_the_smoke_study(smoke_run, tmp_path):
    "The book of a whole smoke run: the sidebar lists every chapter of nbs/_quarto.yml, in its order."
    browser = Browser(chromium(), tmp_path/"profile")
    out, _ = smoke_run
    run = tmp_path/"run"  # a copy, so the book is tested whichever renderer the runner picked for its own site
    shutil.copytree(out/"notebooks", run/"notebooks"); shutil.copy(out/"manifest.json", run)
    index = render_site(run, renderer="book")
    dom = browser.dom(index)
    assert STUDY_TITLE in dom
    listed = [f for _, fs in book_parts(ROOT/"nbs"/"_quarto.yml") for f in fs if f != "index.ipynb"]
    assert sidebar(dom) == [f.replace(".ipynb", ".html") for f in listed]
    shots = out/"site"/"book-screenshots"
    browser.shot(index, shots/"index.png")
    check_chapter(browser, run/"site"/"02_labels.html", shots)

def test_site_index_in_headless_chromium(smoke_run, tmp_path):
    "The runner's own site, whichever renderer made it, opens and shows the study's title."
    exe = chromium()
    out, _ = smoke_run
    index = out/"site"/"index.html"
    url = index.resolve().as_uri()
    common = [exe, *FLAGS, f"--user-data-dir={tmp_path/'profile'}"]
    dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert STUDY_TITLE in dom.stdout, dom.stderr[-2000:]
    assert dom.stdout.count("<a href=") >= 5 or dom.stdout.count('class="reference internal"') >= 5  # the chapter links
    shot = tmp_path/"index.png"
    subprocess.run(common + [f"--screenshot={shot}", "--window-size=1200,900", url], capture_output=True, timeout=120)
    assert shot.exists() and shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
    shutil.copy(shot, out/"site"/"index-screenshot.png")

def test_quarto_renders_the_book_when_installed(tmp_path, monkeypatch):
    "With `quarto` on PATH, auto means Quarto (a stand-in quarto records the call); asking for it without one is an error."
    fake = tmp_path/"bin"/"quarto"; fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\nmkdir -p "$4"\necho "<h1>quarto book</h1>" > "$4/index.html"\n')
    fake.chmod(0o755)
    run = tmp_path/"run"; (run/"notebooks").mkdir(parents=True)
    shutil.copy(ROOT/"nbs"/"00_core.ipynb", run/"notebooks")
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    index = render_site(run, {"core": ROOT/"nbs"/"00_core.ipynb"})
    assert index.read_text().strip() == "<h1>quarto book</h1>"
    assert (run/"notebooks"/"_quarto.yml").read_text() == (ROOT/"nbs"/"_quarto.yml").read_text()
    args = (fake.parent/"args").read_text().split()
    assert args[:2] == ["render", str(run/"notebooks")] and "--no-execute" in args
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ValueError, match="install Quarto"): render_site(run, renderer="quarto")
    assert render_site(run, renderer="none") is None
