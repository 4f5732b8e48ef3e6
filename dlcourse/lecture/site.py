"""The course as a static site: the lecture notebooks executed and rendered to HTML, readable
offline.

``python -m dlcourse.lecture.site build/html notebooks/*.ipynb`` (``make html``) executes each
notebook in a fresh kernel (at the scale ``DLCOURSE_SCALE`` sets), renders it with nbconvert's
``lab`` template, and writes an ``index.html`` that lists the notebooks in their order.  Nothing
is fetched from a CDN: MathJax 2.7 is copied next to the pages from the ``jupyter-server-mathjax``
package, the template's require.js tag is dropped (no page needs it once widget state is left
out), and an ipywidgets explorer is replaced by a note, since it needs a live kernel.  Every
figure must carry alternative text (the ``alt`` key of its cell's metadata): the build reports
each image without one, and ``main`` fails when there is any.
"""

from __future__ import annotations

import argparse
import html
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: the MathJax configuration shipped with jupyter-server-mathjax (TeX in, HTML-CSS out)
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
#: what nbconvert writes into an <img> that has no alternative text of its own
NBCONVERT_DEFAULT_ALT = "No description has been provided for this image"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# nbconvert's lab template writes no alt attribute; this one takes it from the output's metadata
# or, for a figure cell, from the cell's "alt" metadata (what the classic template also reads).
_TEMPLATE = "dlcourse_site.html.j2"
_TEMPLATE_SOURCE = """{%- extends 'index.html.j2' -%}
{%- macro with_alt(html, alt) -%}
{%- if alt -%}{{ html | replace('<img ', '<img alt="' ~ (alt | escape_html) ~ '" ') }}{%- else -%}{{ html }}{%- endif -%}
{%- endmacro -%}
{% block data_png scoped %}{{ with_alt(super(), output | get_metadata('alt', 'image/png') or cell.metadata.get('alt')) }}{% endblock data_png %}
{% block data_jpg scoped %}{{ with_alt(super(), output | get_metadata('alt', 'image/jpeg') or cell.metadata.get('alt')) }}{% endblock data_jpg %}
{% block data_svg scoped %}{{ with_alt(super(), output | get_metadata('alt', 'image/svg+xml') or cell.metadata.get('alt')) }}{% endblock data_svg %}
"""
EXPLORER_NOTE = ("An interactive explorer is here: open this notebook in JupyterLab "
                 "(`make lab`) and run the cell to use it.")


@dataclass
class Page:
    """One rendered notebook."""

    source: Path
    html: Path
    title: str
    images: int
    missing_alt: int
    explorers: int


def mathjax_dir() -> Path:
    """The MathJax 2.7 tree installed by the ``jupyter-server-mathjax`` package."""
    try:
        import jupyter_server_mathjax
    except ImportError as exc:  # pragma: no cover - a dev dependency; the message says which
        raise RuntimeError("the site needs MathJax from the jupyter-server-mathjax package: "
                           "pip install jupyter-server-mathjax (it is in the dev extra)") from exc
    path = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (path / "MathJax.js").is_file():
        raise RuntimeError(f"no MathJax.js under {path}: reinstall jupyter-server-mathjax")
    return path


def title_of(nb, fallback: str) -> str:
    """The text of the notebook's first level-1 heading, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def replace_explorers(nb) -> int:
    """Replace every widget view in the outputs by a short note; drop the saved widget state.

    A static page cannot run an explorer's callback, and rendering its saved state would need
    the widget manager from a CDN.  Returns how many views were replaced.
    """
    import nbformat

    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for k, output in enumerate(cell.get("outputs", [])):
            if WIDGET_MIME in output.get("data", {}):
                cell.outputs[k] = nbformat.v4.new_output(
                    "display_data", data={"text/markdown": f"*{EXPLORER_NOTE}*"})
                count += 1
    nb.metadata.pop("widgets", None)
    return count


#: nbconvert (through nbclient) sometimes waits for a kernel message that has already arrived, the
#: kernel idle and the client asleep, until its timeout fires (jupyter/nbclient#312, with
#: ipywidgets' messages).  Seen here on notebook 07, and on 04 in a CI run where it went on after
#: the 600 s of the old timeout.  Hence the short quick-mode timeout, and a notebook whose run
#: times out is run again from scratch, up to this many times in all.
ATTEMPTS = 3


def default_timeout() -> int:
    """Seconds a cell may run: 120 in quick mode (where a whole notebook takes under a minute, so
    a cell that runs longer is the hang above), 600 in full mode."""
    from dlcourse.lecture import config

    return 600 if config.scale() == "full" else 120


def execute(path: Path, timeout: int | None = None, attempts: int = ATTEMPTS, notebook_timeout: int | None = None):
    """The notebook at ``path`` with every cell run, in a fresh ``python3`` kernel started in its
    folder, by ``nbconvert --execute`` in a process of its own (errors stop the build).

    ``timeout``: seconds a cell may run (default :func:`default_timeout`); ``notebook_timeout``:
    seconds the whole run may take, start-up included (default 4 × ``timeout`` + 60).  A run that
    times out is killed and started again, up to ``attempts`` runs in all, each retry announced
    on stderr; an error in a cell is not retried.  nbconvert is killed with its process group;
    its kernel, which jupyter_client starts in a session of its own, exits when it sees its
    parent gone (ipykernel's parent poller).  An interrupt (Ctrl-C) kills the run too.
    One process per notebook, as nbval and JupyterLab do.  The kernel gets this process's
    environment without ``MPLBACKEND``: a non-interactive backend (the tests set Agg) would make
    ``plt.show()`` draw nothing instead of an inline image.
    """
    import os
    import signal
    import subprocess
    import sys
    import tempfile

    import nbformat

    timeout = default_timeout() if timeout is None else int(timeout)
    whole = 4 * timeout + 60 if notebook_timeout is None else int(notebook_timeout)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    why = ""
    for attempt in range(1, int(attempts) + 1):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", "--output-dir", tmp,
                   f"--ExecutePreprocessor.timeout={timeout}", "--ExecutePreprocessor.kernel_name=python3",
                   str(path)]
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)  # a group of its own, killed as one
            try:
                _, stderr = proc.communicate(timeout=whole)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                why = f"the whole notebook ran past {whole} s"
            except BaseException:  # Ctrl-C: the new session no longer gets the terminal's SIGINT
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise
            else:
                if proc.returncode == 0:
                    return nbformat.read(Path(tmp) / path.name, as_version=4)
                if "CellTimeoutError" not in stderr:
                    raise RuntimeError(f"executing {path} failed (exit {proc.returncode}):\n{stderr[-4000:]}")
                why = f"a cell ran past {timeout} s"
        if attempt < attempts:
            print(f"site: {path.name}: {why}; running it again ({attempt + 1} of {attempts}; see "
                  "jupyter/nbclient#312)", file=sys.stderr)
    raise RuntimeError(f"executing {path} timed out in {attempts} run(s) ({why}); raise --timeout if a cell "
                       "really needs longer")


def render(nb, name: str, mathjax_url: str) -> tuple[str, int, int]:
    """HTML of an executed notebook; also the number of images and of images without alt text."""
    from bs4 import BeautifulSoup
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", template_file=_TEMPLATE, mathjax_url=mathjax_url,
                            extra_loaders=[DictLoader({_TEMPLATE: _TEMPLATE_SOURCE})])
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    soup = BeautifulSoup(body, features="html.parser")
    for script in soup.find_all("script", src=True):
        src = str(script["src"])
        if "require" in src:  # the template's unconditional require.js, from a CDN
            script.decompose()
        elif src.startswith("mathjax/"):
            script.insert_before(_mathjax_fonts(soup))
    images = soup.find_all("img")
    missing = sum(img.get("alt") in (None, "", NBCONVERT_DEFAULT_ALT) for img in images)
    return str(soup), len(images), missing


def _mathjax_fonts(soup):
    """A MathJax configuration block: the STIX-Web fonts, the only ones the package ships.

    MathJax's default TeX web fonts are not in jupyter-server-mathjax; without this, a formula that
    needs one (a prime, a script letter) is shown as "[Math Processing Error]".
    """
    tag = soup.new_tag("script", type="text/x-mathjax-config")
    tag.string = ('MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null, '
                  'webFont: "STIX-Web", imageFont: null}, SVG: {font: "STIX-Web"}});')
    return tag


def build_site(notebooks: Sequence[str | Path], out_dir: str | Path, *, run: bool = True,
               timeout: int | None = None) -> list[Page]:
    """Execute (when ``run``) and render ``notebooks`` into ``out_dir``, with an index page.

    The notebooks appear in the index in the order given (``make html`` passes them sorted by
    their number).  Returns one :class:`Page` per notebook.
    """
    import nbformat

    paths = [Path(p) for p in notebooks]
    if not paths:
        raise ValueError("build_site needs at least one notebook; got none")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no such notebook(s): {missing}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / "mathjax"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(mathjax_dir(), target)
    mathjax_url = f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"

    pages = []
    for path in paths:
        nb = execute(path.resolve(), timeout=timeout) if run else nbformat.read(path, as_version=4)
        explorers = replace_explorers(nb)
        text, images, missing_alt = render(nb, path.stem, mathjax_url)
        page = out / f"{path.stem}.html"
        page.write_text(text, encoding="utf-8")
        pages.append(Page(path, page, title_of(nb, path.stem), images, missing_alt, explorers))
    (out / "index.html").write_text(index_html(pages), encoding="utf-8")
    return pages


def index_html(pages: Sequence[Page]) -> str:
    """The front page: the notebooks in course order, each linked by its title."""
    items = "\n".join(f'    <li><a href="{html.escape(p.html.name)}">{html.escape(p.title)}</a></li>'
                      for p in pages)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>dlcourse: foundations of deep learning</title>
<style>body {{ font-family: sans-serif; max-width: 46em; margin: 2em auto; line-height: 1.5; }}</style>
</head>
<body>
<h1>dlcourse: foundations of deep learning</h1>
<p>The lecture notebooks, executed. Open them in JupyterLab (<code>make lab</code>) to run the
code and use the explorers.</p>
<ol id="notebooks">
{items}
</ol>
</body>
</html>
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.lecture.site", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="output folder (e.g. build/html)")
    parser.add_argument("notebooks", nargs="+", help="notebooks, in course order")
    parser.add_argument("--no-execute", action="store_true", help="render the notebooks as they are")
    parser.add_argument("--timeout", type=int, default=None,
                        help="seconds a cell may run (default 120 in quick mode, 600 in full mode)")
    args = parser.parse_args(argv)
    pages = build_site(args.notebooks, args.out, run=not args.no_execute, timeout=args.timeout)
    for p in pages:
        print(f"{p.html}: {p.images} figure(s), {p.missing_alt} without alt text, {p.explorers} explorer(s)")
    bad = [p for p in pages if p.missing_alt]
    if bad:
        print(f"error: {sum(p.missing_alt for p in bad)} figure(s) lack alternative text; give each "
              "figure cell an 'alt' key in its metadata", file=sys.stderr)
        return 1
    print(f"site: {Path(args.out) / 'index.html'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
