"""Print how long each notebook takes to execute (quick scale unless told otherwise).

    .venv/bin/python benchmarks/notebook_times.py [--scale quick|full] [--repeat 2] [paths...]

Runs every notebook in a fresh kernel with nbclient, prints seconds per notebook, and with
--repeat 2 also checks that two runs print identical text outputs (determinism).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path) -> tuple[float, list[str]]:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.perf_counter() - start
    # Join each cell's stream chunks: where a flush splits the text is not deterministic.
    texts = ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
             for c in nb.cells if c.cell_type == "code"]
    return elapsed, texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--scale", choices=["quick", "full"], default="quick")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    os.environ["DLCOURSE_SCALE"] = args.scale
    os.environ.setdefault("MPLBACKEND", "Agg")
    paths = args.paths or sorted((ROOT / "notebooks").glob("*.ipynb"))
    ok = True
    diffs = []
    print(f"{'notebook':40s} {'scale':6s} " + " ".join(f"run{i + 1:>2d} (s)" for i in range(args.repeat)) + "  same output")
    for path in paths:
        results = [run(path) for _ in range(args.repeat)]
        same = all(r[1] == results[0][1] for r in results)
        if not same:
            diffs += [(path.name, a, b) for r in results[1:] for a, b in zip(results[0][1], r[1], strict=True) if a != b]
        ok &= same
        times = " ".join(f"{t:10.1f}" for t, _ in results)
        print(f"{path.name:40s} {args.scale:6s} {times}  {'yes' if same else 'NO'}", flush=True)
    for name, a, b in diffs:
        print(f"\n{name}: outputs differ between runs\n--- run 1\n{a}\n--- later run\n{b}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
