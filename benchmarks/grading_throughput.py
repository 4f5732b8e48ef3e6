"""Time ``dlcourse grade`` on N students × the six solution notebooks.

    .venv/bin/python benchmarks/grading_throughput.py [--students 5] [--jobs 2] [--repeat 1]
                                                      [--no-isolation] [--no-fork-server]

Builds the submissions folder in a temporary directory (one sub-folder per student holding a
copy of every ``solutions/*.ipynb``), runs the real command line (``python -m
dlcourse.autograde.cli grade``) as a subprocess, checks that it exited 0 and gave every
student full marks, and prints wall time, submissions per second per core (cores = the
``--jobs`` used) and seconds per case.  The time includes computing the hidden expected
values once per topic (torch import); ``--students 1`` shows that fixed cost.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(folder: Path, students: int) -> int:
    """Write the submissions; return how many notebooks there are."""
    notebooks = sorted((ROOT / "solutions").glob("*.ipynb"))
    for i in range(students):
        student = folder / f"student{i:03d}"
        student.mkdir(parents=True)
        for nb in notebooks:
            shutil.copy(nb, student / nb.name)
    return students * len(notebooks)


def grade_once(subs: Path, out: Path, args) -> tuple[float, list[dict]]:
    cmd = [sys.executable, "-m", "dlcourse.autograde.cli", "--course", str(ROOT), "grade", str(subs),
           "--out", str(out), "--jobs", str(args.jobs), "--quiet"]
    if args.no_isolation:
        cmd.append("--no-isolation")
    if args.no_fork_server:
        cmd.append("--no-fork-server")
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"dlcourse grade exited {done.returncode}, expected 0:\n{done.stderr[-2000:]}")
    return elapsed, json.loads((out / "grades.json").read_text(encoding="utf-8"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="runs to time (the best is reported too)")
    parser.add_argument("--no-isolation", action="store_true", help="pass --no-isolation (host, no bubblewrap)")
    parser.add_argument("--no-fork-server", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlcourse-bench-") as tmp:
        subs = Path(tmp) / "subs"
        n_notebooks = build(subs, args.students)
        times = []
        for r in range(args.repeat):
            elapsed, summary = grade_once(subs, Path(tmp) / f"out{r}", args)
            times.append(elapsed)
        bad = [s["student"] for s in summary if s["points"] != s["max_points"]]
        if bad:
            sys.exit(f"solutions without full marks: {bad}")
        n_cases = sum(len(q["cases"]) for s in summary for nb in s["notebooks"] for q in nb["questions"])
    best = min(times)
    mode = ("not isolated" if args.no_isolation else "isolated") + (", no fork server" if args.no_fork_server else "")
    print(f"{args.students} student(s) × 6 notebooks = {n_notebooks} submissions, {n_cases} cases, "
          f"--jobs {args.jobs}, {mode}")
    for r, t in enumerate(times):
        print(f"  run {r + 1}: {t:.2f} s")
    print(f"best {best:.2f} s: {n_notebooks / best / args.jobs:.3f} submissions/s per core, "
          f"{best / n_cases * 1000:.1f} ms per case ({best * args.jobs / n_cases * 1000:.1f} core-ms per case)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
