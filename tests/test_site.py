"""`make html`: the lecture notebooks as a static site that renders offline.

The site is built once per module from every lecture notebook, executed in quick mode, then
opened in the system Chromium with every request that is not a local file refused: the maths
must be typeset by the bundled MathJax, every figure must be there and decoded, and every
figure must carry alternative text.
"""

from __future__ import annotations

import base64
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from dlcourse.lecture import site

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*.ipynb"))
# A 1×1 PNG, enough to stand for a figure in the synthetic notebooks below.
PIXEL = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")).decode()
TEX = re.compile(r"\\(frac|sum|mathbf|partial|sigma|theta|odot|top|left|right)\b")


def _figure_cell(alt: str | None = None):
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"})]
    if alt is not None:
        cell.metadata["alt"] = alt
    return cell


def test_alt_text_comes_from_the_cell_and_its_absence_is_counted():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T\n$x^2$"), _figure_cell(), _figure_cell('The "loss" falls')]
    html, images, missing = site.render(nb, "t", "mathjax/MathJax.js")
    assert (images, missing) == (2, 1)
    from bs4 import BeautifulSoup

    alts = [img.get("alt") for img in BeautifulSoup(html, "html.parser").find_all("img")]
    assert alts == [site.NBCONVERT_DEFAULT_ALT, 'The "loss" falls']
    # nothing loaded from a CDN (the chromium test below refuses every non-local request)
    assert [tag["src"] for tag in BeautifulSoup(html, "html.parser").find_all(src=True)
            if not tag["src"].startswith("data:")] == ["mathjax/MathJax.js"]


def test_explorers_become_a_note_and_widget_state_is_dropped():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("explorer()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        site.WIDGET_MIME: {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "interactive(children=(...))"})]
    nb.cells = [cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    assert site.replace_explorers(nb) == 1
    assert "widgets" not in nb.metadata
    html, _, _ = site.render(nb, "t", "mathjax/MathJax.js")
    assert "make lab" in html and "unpkg" not in html


def test_main_fails_when_a_figure_lacks_alt_text(tmp_path, capsys):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# No alt"), _figure_cell()]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    assert site.main([str(tmp_path / "out"), str(path), "--no-execute"]) == 1
    assert "lack alternative text" in capsys.readouterr().err
    nb.cells[1].metadata["alt"] = "a figure"
    nbformat.write(nb, path)
    assert site.main([str(tmp_path / "out"), str(path), "--no-execute"]) == 0


def test_build_site_refuses_missing_notebooks(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.ipynb"):
        site.build_site([tmp_path / "nope.ipynb"], tmp_path / "out")
    with pytest.raises(ValueError, match="at least one notebook"):
        site.build_site([], tmp_path / "out")


def test_makefile_html_target_builds_the_lecture_notebooks_with_this_module():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nhtml:", 1)[1].split("\n\n", 1)[0]
    assert "-m dlcourse.lecture.site build/html notebooks/[0-9]*.ipynb" in recipe


def _sleepy_notebook(tmp_path, first_runs: int) -> Path:
    """A notebook whose cell sleeps 60 s in its first ``first_runs`` runs (counted in a file beside
    it), then returns at once: a stand-in for nbclient's hang, which the next run does not repeat."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import time\nfrom pathlib import Path\n"
        "runs = Path('runs.txt')\nn = int(runs.read_text()) if runs.exists() else 0\n"
        f"runs.write_text(str(n + 1))\nif n < {first_runs}:\n    time.sleep(60)\nprint('ran', n + 1)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "sleepy.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_run_that_times_out_is_run_again(tmp_path, capsys):
    path = _sleepy_notebook(tmp_path, first_runs=1)
    nb = site.execute(path, timeout=5)
    assert "ran 2" in nb.cells[0].outputs[0]["text"]
    assert "a cell ran past 5 s; running it again (2 of 3" in capsys.readouterr().err


def test_a_notebook_that_always_times_out_fails_after_the_attempts(tmp_path):
    path = _sleepy_notebook(tmp_path, first_runs=5)
    with pytest.raises(RuntimeError, match=r"timed out in 2 run\(s\) \(a cell ran past 5 s\)"):
        site.execute(path, timeout=5, attempts=2)
    assert (tmp_path / "runs.txt").read_text() == "2"


def test_a_notebook_past_its_whole_timeout_is_killed_with_its_kernel(tmp_path):
    nb = nbformat.v4.new_notebook()  # ten cells of 4 s: each under the 5 s limit, together past 30 s
    nb.cells = [nbformat.v4.new_code_cell("import os, time\nopen('kernel.pid', 'w').write(str(os.getpid()))")]
    nb.cells += [nbformat.v4.new_code_cell("time.sleep(4)") for _ in range(10)]
    path = tmp_path / "slow.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(RuntimeError, match=r"timed out in 1 run\(s\) \(the whole notebook ran past 30 s\)"):
        site.execute(path, timeout=5, attempts=1, notebook_timeout=30)  # start-up may take 10 s under load
    kernel = Path(f"/proc/{int((tmp_path / 'kernel.pid').read_text())}")

    def kernel_gone() -> bool:
        try:
            return "zombie" in (kernel / "status").read_text()
        except FileNotFoundError:
            return True

    deadline = time.monotonic() + 15  # the kernel polls for its parent about once a second
    while not kernel_gone() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert kernel_gone()


def test_an_error_in_a_cell_is_not_retried(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from pathlib import Path\nruns = Path('runs.txt')\n"
                                          "runs.write_text(runs.read_text() + 'x' if runs.exists() else 'x')\n1 / 0")]
    path = tmp_path / "raises.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        site.execute(path, timeout=30)
    assert (tmp_path / "runs.txt").read_text() == "x"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    return out, site.build_site(NOTEBOOKS, out)


def test_every_lecture_notebook_is_a_page_and_every_figure_has_alt_text(built):
    out, pages = built
    assert [p.source for p in pages] == NOTEBOOKS and len(NOTEBOOKS) >= 6
    assert {p.source.name: p.missing_alt for p in pages if p.missing_alt} == {}
    assert all(p.images > 0 for p in pages), {p.source.name: p.images for p in pages}
    assert (out / "mathjax" / "MathJax.js").is_file()


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None)
    if path is None:
        pytest.skip("Chromium not found; install it with `apt-get install chromium`")
    return path


def test_pages_render_offline_in_chromium(built):
    from playwright.sync_api import sync_playwright

    out, pages = built
    refused: list[str] = []

    def only_local(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.route("**/*", only_local)
            page.goto((out / "index.html").as_uri())
            links = page.locator("#notebooks a")
            assert links.all_inner_texts() == [p.title for p in pages]
            assert [a.get_attribute("href") for a in links.all()] == [p.html.name for p in pages]
            for p in pages:
                page.goto(p.html.as_uri())
                page.wait_for_function("() => window.MathJax && MathJax.Hub", timeout=30_000)
                page.evaluate("() => new Promise(done => MathJax.Hub.Queue(done))")  # typesetting finished
                typeset = page.locator(".MathJax, .MathJax_Display").count()
                assert typeset > 0, f"{p.html.name}: no formula was typeset"
                assert page.locator(".MathJax_Error, merror").count() == 0, p.html.name
                prose = " ".join(page.locator(".jp-MarkdownOutput").all_inner_texts())
                assert not TEX.search(prose), f"{p.html.name}: raw TeX left: {TEX.search(prose).group(0)}"
                images = page.locator(".jp-RenderedImage img")
                assert images.count() == p.images, (p.html.name, images.count(), p.images)
                widths = images.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
                assert all(w > 0 for w in widths), (p.html.name, widths)
        finally:
            browser.close()
    assert refused == []
