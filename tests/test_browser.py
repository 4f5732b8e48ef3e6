"""`make lab` in a real browser: a newcomer who opens the URL the server prints gets JupyterLab
with the course notebooks, a working kernel, and ipywidgets explorers that render and respond.

Drives the system Chromium through Playwright (``pip install playwright``; never
``playwright install``: no browser is downloaded).  Skipped only when Chromium itself is absent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path

import nbformat
import pytest
from _lab_server import ROOT, TOKEN, LabDidNotStart, lab_server

KERNEL_TIMEOUT_MS = 120_000  # 2 shared cores: starting a kernel and importing matplotlib can be slow
UI_TIMEOUT_MS = 60_000
PNG = re.compile(r"^data:image/png;base64,")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these Chromium phones home at start-up, which a closed network refuses.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
NOTEBOOKS = ROOT / "notebooks"
# A newcomer's settings differ in two ways only: no autosave (the test types into notebook 01 and
# must never write it back) and no "fetch Jupyter news?" pop-up over the page.
# The third keeps every cell in the page (no windowing), so the test sees every output.
USER_SETTINGS = {
    "docmanager-extension/plugin": {"autosave": False},
    "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "notebook-extension/tracker": {"windowingMode": "none"},
}
RUN_ALL_TIMEOUT_MS = 600_000  # one lecture notebook, quick mode, on 2 shared cores
# How JupyterLab 4 shows a kernel error: the traceback is rendered as an output with the mime type
# application/vnd.jupyter.stderr (like any stderr text), so the error is recognised by its text:
# IPython's "Traceback (most recent call last)" header or a line that names an exception.
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^(\w+\.)*\w*(Error|Exception|Interrupt)\b",
                       re.MULTILINE)
BUILD = ROOT / "build" / "browser-test"


def _chromium() -> str | None:
    """$DLCOURSE_CHROMIUM, else /usr/bin/chromium, else `chromium` on PATH; None if none exists."""
    explicit = os.environ.get("DLCOURSE_CHROMIUM")
    if explicit:
        if not Path(explicit).is_file():
            pytest.fail(f"DLCOURSE_CHROMIUM={explicit!r} is not a file")
        return explicit
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _title(notebook: Path) -> str:
    """The notebook's title: the first line of its first cell, without the leading '# '."""
    first = nbformat.read(notebook, as_version=4).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), notebook
    return first.source.splitlines()[0][2:].strip()


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = _chromium()
    if path is None:
        pytest.skip("Chromium not found (/usr/bin/chromium, `chromium` on PATH or $DLCOURSE_CHROMIUM); "
                    "install it with `apt-get install chromium` to run the browser test")
    return path


@pytest.fixture(scope="module")
def lab(chromium_path, tmp_path_factory):
    home = tmp_path_factory.mktemp("lab-home")
    for name, values in USER_SETTINGS.items():
        target = home / "config" / "lab" / "user-settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    # Checkpoints go to the scratch home, not notebooks/.ipynb_checkpoints in the repository.
    try:
        with lab_server(home, extra_args=(f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}",)) as base:
            yield base
    except LabDidNotStart as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    page.errors = []  # uncaught JavaScript exceptions: none are expected
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()


def _wait_for_idle_kernel(page) -> None:
    """The open notebook's kernel has started and is idle (toolbar indicator and status bar)."""
    from playwright.sync_api import expect

    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
        "data-status", "idle", timeout=KERNEL_TIMEOUT_MS)
    expect(page.locator(".jp-StatusBar-Widget").filter(has_text="Python 3")).to_contain_text(
        "Idle", timeout=KERNEL_TIMEOUT_MS)


def kernel_errors(page) -> list[str]:
    """The text of every output in the open notebook that is a Python error's traceback."""
    panel = page.locator(".jp-NotebookPanel:visible")
    texts = panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_inner_texts()
    return [t for t in texts if TRACEBACK.search(t)]


def unexecuted_cells(page) -> list[int]:
    """Indices of the code cells that show no execution count ("[ ]:" or "[*]:")."""
    prompts = page.locator(".jp-NotebookPanel:visible .jp-CodeCell .jp-InputPrompt").all_inner_texts()
    return [i for i, p in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", p.strip())]


def run_all_cells(page, notebook_url: str) -> None:
    """Open a notebook, Run > Run All Cells, and wait until the kernel has nothing left to run."""
    from playwright.sync_api import expect

    page.goto(notebook_url)
    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel.locator(".jp-MarkdownOutput h1").first).to_be_visible()
    _wait_for_idle_kernel(page)
    # Like Shift+Enter in the explorer test, Run All can land before the session has wired the
    # kernel to the notebook: then it is a no-op that leaves every prompt "[ ]:".  Ask again until
    # a cell is queued ("[*]:") or has run.  (The notebook just opened is the current one, which
    # the Run menu acts on; clicking a cell first is flaky while JupyterLab lays the cells out.)
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    prompts = "[...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]"
    for _attempt in range(10):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.locator('li[data-command="runmenu:run-all"]').click()
        try:
            page.wait_for_function(f"() => {prompts}.some(p => /\\[(\\d+|\\*)\\]/.test(p.textContent))",
                                   timeout=10_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")  # close the menu if the click left it open
    else:
        current = page.get_by_role("main").locator(".lm-TabBar-tab.lm-mod-current").all_inner_texts()
        shown = page.evaluate(f"() => {prompts}.map(p => p.textContent)")
        pytest.fail(f"Run > Run All Cells never started a cell of {notebook_url} in 10 tries "
                    f"(current tab {current}, prompts {shown})")
    # Run All marks every code cell "[*]:" at once; an error clears the queue (the rest go back to
    # "[ ]:"); done when the first code cell has an execution count and no cell is queued or running.
    page.wait_for_function(
        f"""() => {{ const ps = {prompts};
                    return ps.length > 0 && /\\[\\d+\\]/.test(ps[0].textContent)
                           && !ps.some(p => p.textContent.includes('*')); }}""",
        timeout=RUN_ALL_TIMEOUT_MS)
    _wait_for_idle_kernel(page)


def _assert_no_kernel_error(page) -> None:
    from playwright.sync_api import expect

    expect(page.locator(".jp-Dialog")).to_have_count(0)  # e.g. "Kernel Restarting" / "Kernel died"
    assert kernel_errors(page) == []
    expect(page.get_by_text("Error displaying widget")).to_have_count(0)
    expect(page.get_by_text("Error rendering view")).to_have_count(0)
    status = page.locator(".jp-StatusBar-Widget").filter(has_text="Python 3").inner_text()
    assert "Dead" not in status and "Unknown" not in status, status
    assert page.errors == []


def test_default_url_lists_the_notebooks_and_opens_one(lab, page):
    from playwright.sync_api import expect

    # What `make lab` opens: the server root, which redirects to the default URL /lab/tree/notebooks.
    page.goto(f"{lab}/?token={TOKEN}")
    expect(page).to_have_url(f"{lab}/lab/tree/notebooks", timeout=UI_TIMEOUT_MS)
    listing = page.locator(".jp-FileBrowser .jp-DirListing-content .jp-DirListing-itemText")
    expect(listing.filter(has_text="02_backprop.ipynb")).to_be_visible()
    on_disk = {p.name for p in NOTEBOOKS.glob("*.ipynb")}
    shown = set(listing.all_inner_texts())
    assert {"01_perceptron_limits.ipynb", "02_backprop.ipynb"} <= on_disk <= shown, (on_disk, shown)

    listing.filter(has_text="02_backprop.ipynb").dblclick()
    current_tab = page.get_by_role("main").locator(".lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
    expect(current_tab).to_have_text("02_backprop.ipynb")
    title = page.locator(".jp-NotebookPanel:visible .jp-MarkdownOutput h1").first
    expect(title).to_contain_text(_title(NOTEBOOKS / "02_backprop.ipynb"))
    _wait_for_idle_kernel(page)
    _assert_no_kernel_error(page)


def test_explorer_renders_and_responds_in_notebook_01(lab, page):
    from playwright.sync_api import expect

    notebook = NOTEBOOKS / "01_perceptron_limits.ipynb"
    page.goto(f"{lab}/lab/tree/notebooks/{notebook.name}?token={TOKEN}")
    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel.locator(".jp-MarkdownOutput h1").first).to_contain_text(_title(notebook))
    _wait_for_idle_kernel(page)

    # Insert one cell below the title and run it (not the whole notebook: fast and focused).
    marker = f"e2e-{uuid.uuid4().hex[:8]}"
    code = f"from dlcourse.lecture import widgets; w = widgets.activation_explorer(); w  # {marker}"
    panel.locator(".jp-Cell").first.click()
    page.keyboard.press("Escape")  # command mode
    page.keyboard.press("b")  # insert a cell below
    page.keyboard.press("Enter")  # edit mode
    page.keyboard.insert_text(code)
    cell = panel.locator(".jp-CodeCell").filter(has_text=marker)
    expect(cell.locator(".cm-content")).to_have_text(code)
    prompt = cell.locator(".jp-InputPrompt")
    # Shift+Enter can land before the session has wired the kernel to the notebook; then it is
    # a no-op that leaves "[ ]:".  Run again until the cell is queued or has run.
    for _attempt in range(10):
        cell.locator(".cm-content").click()
        page.keyboard.press("Shift+Enter")
        try:
            expect(prompt).not_to_have_text("[ ]:", timeout=5_000)
            break
        except AssertionError:
            continue
    expect(prompt).to_have_text(re.compile(r"^\[\d+\]:$"), timeout=KERNEL_TIMEOUT_MS)  # "[*]:" until it ran

    # The explorer: a dropdown, a z slider at 0.00, and the matplotlib figure as an inline PNG.
    output = cell.locator(".jp-OutputArea-output")
    expect(output.locator(".widget-interact .widget-dropdown select")).to_have_value("sigmoid",
                                                                                      timeout=KERNEL_TIMEOUT_MS)
    slider = output.locator(".widget-slider")
    expect(slider).to_be_visible()
    readout = slider.locator(".widget-readout")
    expect(readout).to_have_text("0.00")
    image = output.locator(".widget-output img")
    expect(image).to_have_attribute("src", PNG, timeout=KERNEL_TIMEOUT_MS)
    expect(image).to_have_count(1)
    assert image.evaluate("img => img.naturalWidth") > 100
    before = image.get_attribute("src")

    # One keyboard step on the slider: z goes 0 -> 0.5 (step 0.5) and the figure is redrawn.
    slider.locator(".noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    expect(readout).to_have_text("0.50")
    expect(image).not_to_have_attribute("src", before, timeout=KERNEL_TIMEOUT_MS)
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("src", PNG)
    _wait_for_idle_kernel(page)
    _assert_no_kernel_error(page)
    # Autosave is off and nothing was saved: the cell typed here never reached the file.
    assert marker not in notebook.read_text()


def _probe_notebook(name: str, cells: list[str]) -> Path:
    """A notebook under build/ (ignored by git) that the lab server can open."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}")] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    BUILD.mkdir(parents=True, exist_ok=True)
    path = BUILD / f"{name}-{uuid.uuid4().hex[:6]}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("cells, stops", [
    (["x = 1", "1 / 0", "print('never')"], True),  # Run All stops at the error
    (["x = 1", "import numpy as np", "raise ValueError('last cell')"], False),  # nothing left to stop
    (["x = 1", "def f(:\n    pass"], False),  # a SyntaxError has no "Traceback" header
])
def test_the_error_checks_catch_a_notebook_that_raises(lab, page, cells, stops):
    path = _probe_notebook("raises", cells)
    try:
        run_all_cells(page, f"{lab}/lab/tree/{path.relative_to(ROOT)}?token={TOKEN}")
        assert len(kernel_errors(page)) == 1
        assert bool(unexecuted_cells(page)) is stops
        with pytest.raises(AssertionError):
            _assert_no_kernel_error(page)
    finally:
        path.unlink()


LECTURES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("notebook", LECTURES, ids=[p.stem for p in LECTURES])
def test_every_lecture_notebook_runs_all_cells_in_the_browser(lab, page, notebook):
    run_all_cells(page, f"{lab}/lab/tree/notebooks/{notebook.name}?token={TOKEN}")
    _assert_no_kernel_error(page)
    assert unexecuted_cells(page) == []
    from playwright.sync_api import expect

    expect(page.get_by_text("Error displaying widget")).to_have_count(0)
    assert page.errors == []
