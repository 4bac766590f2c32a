"""The rendered site opens in a real browser: the runner's site shows the study's title; the Sphinx book (the site without
Quarto) shows a sidebar in the order of nbs/_quarto.yml, chapters without nbdev's or papermill's machinery, and a
visible figure and table. Screenshots are kept next to each rendered site (`<site>/screenshots/`) for a reader."""
import html, json, os, re, shutil, subprocess
import pytest
from bs4 import BeautifulSoup
from conftest import ROOT
import pandas as pd
from cxrstudy.site import STUDY_TITLE, book_parts, format_value, render_site

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
    assert not (small_run/"jupyter_execute").exists(), "the site renderer must not leave jupyter_execute/ in the run folder"
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

# --- The site as a reader meets it (issue 27): the answer in prose, numbers formatted, no machine noise, every result linked ---
NOISE_PATH = re.compile(r"/\.venv/|/tmp/|site-packages")
P_COLUMN = re.compile(r"(?:^|[\s_(])p(?:$|[\s_)(])|p[-_ ]?values?", re.I)
NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?![\w.])")

def reader_text(page)->BeautifulSoup:
    "A page's article without the 'This run' box and without the code a reader has to unfold (what the page says in prose and outputs)."
    art = BeautifulSoup(page.read_text(), "html.parser").select_one("article")
    for a in art.select("div.admonition"):
        if "This run" in a.get_text(): a.decompose()
    for c in art.select("div.cell_input, details"): c.decompose()
    return art

def site_pages(site)->list:
    return [p for p in sorted(site.glob("*.html")) if p.name not in ("genindex.html", "search.html") and not p.name.startswith("_probe")]

def test_site_as_a_reader_meets_it(smoke_run, tmp_path):
    "The smoke run's own site: no warning or machine path on any page, every table links to a CSV that resolves, p-values without exponents, callouts equal to their CSVs, the answer in wrapped prose."
    out, _ = smoke_run
    site = out/"site"
    assert not (out/"jupyter_execute").exists(), "the site renderer left jupyter_execute/ in the run folder"
    if not (site/"_static"/"cxrstudy.css").exists(): pytest.skip("the runner rendered this site with Quarto; these checks read the Sphinx book")
    problems, callouts = [], 0
    for page in site_pages(site):
        art = reader_text(page)
        for o in art.select("div.cell_output"):
            problems += [f"{page.name}: warning text: {m.group(0)}" for m in re.finditer(r".{0,60}\b[A-Z]\w*Warning\b.{0,60}", o.get_text())]
        problems += [f"{page.name}: machine path: {m.group(0)}" for m in re.finditer(rf".{{0,60}}(?:{NOISE_PATH.pattern}).{{0,40}}", art.get_text())]
        for tab in art.select("div.cell_output table"):
            note = tab.find_parent("div", class_="cell").find_next_sibling()
            links = [a["href"] for a in note.select("a.cxr-data")] if note is not None else []
            cap = tab.caption.get_text()[:60] if tab.caption else str(tab)[:80]
            if not links: problems.append(f"{page.name}: a table without a link to its CSV: {cap}")
            problems += [f"{page.name}: the link {h} does not resolve" for h in links if not (site/h).is_file()]
            heads = [th.get_text(strip=True) for th in tab.select("thead tr:last-child th")]
            for tr in tab.select("tbody tr"):
                for h, c in zip(heads, tr.find_all(["th", "td"])):
                    if P_COLUMN.search(h) and re.search(r"\de[-+]?\d", c.get_text()): problems.append(f"{page.name}: p-value {c.get_text()} in {h}")
        for box in [a for a in art.select("div.admonition") if "What this run found" in a.get_text()]:
            callouts += 1
            csv = site/box.select_one("a.cxr-data")["href"]
            t = pd.read_csv(csv, index_col=0)
            shown = {format_value(v, c) for c in t.columns for v in t[c]}
            text = box.get_text().replace(csv.name, "")
            for label in sorted(map(str, t.index), key=len, reverse=True): text = text.replace(label, "")  # row names may hold numbers
            problems += [f"{page.name}: callout number {n} is not in {csv.name}" for n in NUMBER.findall(text) if n not in shown]
    assert not problems, "\n".join(problems[:40])
    assert callouts >= 4, f"only {callouts} chapter callouts on the site"
    # every figure the run saved is shown on its chapter's page and linked there (a figure drawn but never displayed fails)
    linked = {a["href"] for page in site_pages(site) for a in reader_text(page).select("a.cxr-data")}
    missing = sorted(f"figures/{p.name}" for p in (out/"figures").glob("*.png") if f"figures/{p.name}" not in linked)
    assert not missing, f"saved figures not shown and linked on any page: {missing}"
    # the front page: each headline arm links to its row of the strategies chapter; the answer is wrapped prose, never <pre>
    front = BeautifulSoup((site/"index.html").read_text(), "html.parser")
    hrefs = [a["href"] for a in front.select("article div.cell_output table tbody th a")]
    arms = [h for h in hrefs if h.startswith("09_strategies.html")]  # the headline's arms (the results index links CSVs)
    strategies = (site/"09_strategies.html").read_text()
    assert arms and all("#" in h and f'id="{h.split("#")[1]}"' in strategies for h in arms), arms
    assert all((site/h).is_file() for h in hrefs if h not in arms), [h for h in hrefs if h not in arms and not (site/h).is_file()]
    browser = Browser(chromium(), tmp_path/"profile")
    copy = site/"_probe_answer.html"
    copy.write_text((site/"index.html").read_text().replace("</body>", ANSWER_PROBE + "</body>"))
    try: seen = json.loads(html.unescape(re.search(r'<pre id="probe"[^>]*>(.*?)</pre>', browser.dom(copy), re.S).group(1)))
    finally: copy.unlink()
    assert seen, "no answer sentence on the front page"
    assert not [s for s in seen if s["pre"] or s["clipped"]], [s for s in seen if s["pre"] or s["clipped"]][:3]
    shots = site/"screenshots"
    browser.shot(site/"index.html", shots/"index.png", size="1300,2400")
    browser.shot(site/"09_strategies.html", shots/"09_strategies.png", size="1300,2400")

# Reports, for each sentence of the front page's answer ("... so this run supports it."), whether it sits in a <pre> and whether any of it is cut off.
ANSWER_PROBE = """<script>document.addEventListener('DOMContentLoaded', function () {
  const els = [...document.querySelectorAll('article li, article p, article pre')].filter(e => /so this run|this run cannot decide/.test(e.textContent) && !e.querySelector('li, p'));
  const art = document.querySelector('article').getBoundingClientRect();
  const out = els.map(e => { const b = e.getBoundingClientRect();
    return {text: e.textContent.slice(0, 80), pre: !!e.closest('pre'), clipped: e.scrollWidth > e.clientWidth + 1 || b.right > art.right + 1}; });
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});</script>"""
