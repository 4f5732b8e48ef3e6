"""A term in miniature: 20 synthetic students through the instructor's whole loop.

Writes, under OUT (default /tmp/dlcourse_term_demo): a roster of 20 students, a Canvas
"Download Submissions" folder for assignments 01 and 02 (19 students hand in 01, 18 hand in 02; some complete,
some partial, some late, one with a graded cell that lost its tag, one submitter who is not on
the roster), grades it into OUT/grades with a deadline and a late policy, fills and imports the
hand-grading sheets, and writes the summary page.  Prints the first lines of the Canvas CSV,
the timings and the path of the HTML summary.

    .venv/bin/python benchmarks/term_demo.py [--out DIR] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shutil
import sys
import time
from pathlib import Path

import nbformat
import numpy as np

from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde.cli import main

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ("01_perceptron", "02_backprop")
FIRST = ["Jane", "Bob", "Ann", "Carol", "Dev", "Eva", "Farid", "Gita", "Hugo", "Ines",
         "Jon", "Kim", "Lea", "Marco", "Nora", "Omar", "Pia", "Quinn", "Rosa", "Sven"]
LAST = ["Doe", "Smith", "Lee", "King", "Patel", "Novak", "Haddad", "Rao", "Martin", "Silva",
        "Berg", "Park", "Roux", "Rossi", "Lind", "Aziz", "Kern", "Yates", "Diaz", "Olsen"]
DEADLINE = dt.datetime(2026, 10, 5, 23, 59, tzinfo=dt.timezone.utc)


def student_notebook(topic: str, done: set[str], lose_tag: str | None = None):
    """The exercise of ``topic`` with the questions in ``done`` answered as the solution does."""
    sol = nbmod.read(ROOT / "solutions" / f"{topic}.ipynb")
    ex = nbmod.read(ROOT / "exercises" / f"{topic}.ipynb")
    by_id = {c.get("id"): c for c in sol.cells}
    for i, cell in enumerate(ex.cells):
        if cell.get("id") in done:
            ex.cells[i] = by_id[cell["id"]]
    if lose_tag:
        cell = next(c for c in ex.cells if c.get("id") == lose_tag)
        cell.metadata = {}
        cell["id"] = "pasted-cell"
    return ex


def build(out: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(12)
    if out.exists():
        shutil.rmtree(out)
    dl = out / "canvas_download"
    dl.mkdir(parents=True)
    roster = out / "roster.csv"
    with open(roster, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "name", "email", "section", "canvas_id", "sis_user_id", "sis_login_id"])
        for i, (first, last) in enumerate(zip(FIRST, LAST, strict=True)):
            w.writerow([f"s{i + 1:02d}", f"{first} {last}", f"{first.lower()}.{last.lower()}@uni.example",
                        "AB"[i % 2], 10001 + i, 20260001 + i, f"{first[0].lower()}{last.lower()}"])
    for t, topic in enumerate(TOPICS):
        qids = [q.qid for q in nbmod.questions(nbmod.read(ROOT / "solutions" / f"{topic}.ipynb"))]
        auto = [q for q in qids if q in {c.get("id") for c in nbmod.read(ROOT / "solutions" / f"{topic}.ipynb").cells
                                         if "graded" in nbmod.tags(c)}]
        for i, (first, last) in enumerate(zip(FIRST, LAST, strict=True)):
            if i in (18, 19) and t == 1 or i == 19:  # two students skip 02, one hands in nothing at all
                continue
            level = rng.random()
            done = set(qids) if level > 0.35 or i == 2 else {q for q in qids if rng.random() < level * 2.5}
            lose = auto[0] if i == 2 else None
            nb = student_notebook(topic, done, lose)
            late = i % 6 == 1
            name = f"{last.lower()}{first.lower()}_{'LATE_' if late else ''}{10001 + i}_{50000 + 100 * t + i}_{topic}.ipynb"
            path = dl / name
            nbformat.write(nb, path)
            when = DEADLINE + dt.timedelta(hours=float(rng.uniform(2, 60)) if late else -float(rng.uniform(1, 48)))
            os.utime(path, (when.timestamp(), when.timestamp()))
        nbformat.write(student_notebook(topic, set(qids)), dl / f"visitorpat_99999_59999_{topic}.ipynb")
    return dl, roster


def fill_sheets(grades: Path) -> list[Path]:
    """Score every written answer: full points for the model answer, none for the stub."""
    filled = []
    for sheet in sorted((grades / "handgrading").glob("*.csv")):
        rows = list(csv.DictReader(sheet.open(encoding="utf-8")))
        for r in rows:
            answered = nbmod.ANSWER_STUB not in r["answer"]
            r["points"] = r["max_points"] if answered else "0"
            r["comment"] = "Clear and complete." if answered else "No answer."
        dst = grades.parent / f"filled_{sheet.name}"
        with open(dst, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        filled.append(dst)
    return filled


def run(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="/tmp/dlcourse_term_demo")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    out = Path(args.out)
    dl, roster = build(out)
    grades = out / "grades"
    t0 = time.perf_counter()
    code = main(["--course", str(ROOT), "grade", str(dl), "--out", str(grades), "--roster", str(roster),
                 "--deadline", DEADLINE.isoformat(), "--late-per-day", "10", "--late-max", "50",
                 "--jobs", str(args.jobs)])
    t_grade = time.perf_counter() - t0
    if code not in (0, 1):
        return code
    main(["handgrade", str(grades)])
    main(["handgrade", str(grades), "--import", *map(str, fill_sheets(grades))])
    main(["summary", str(grades)])
    print(f"\ngrading took {t_grade:.1f} s ({len(list(dl.iterdir()))} notebooks, --jobs {args.jobs})")
    print(f"\n{grades / 'canvas.csv'} (first lines):")
    for line in (grades / "canvas.csv").read_text().splitlines()[:6]:
        print("   ", line)
    print(f"\nsummary: {grades / 'summary.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
