"""Write grading results: ``grades.json``, ``gradebook.csv`` and ``feedback/<student>.md``.

The JSON is the instructor's and keeps every detail (case names, full reasons, output tails).
The feedback files are the students': public cases are named with their full reason, hidden
cases only as "hidden case k of n: <category>" (:func:`~dlcourse.autograde.spec.reason_category`),
so that neither the hidden inputs and expected values nor anything the student's code printed
or raised while running them (a way to smuggle the inputs out) reaches a student.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

from dlcourse.autograde.engine import safe_name
from dlcourse.autograde.spec import reason_category

#: the first line of every feedback file graded with ``--no-isolation``
NOT_ISOLATED = "NOT ISOLATED: graded without the operating-system sandbox"


def by_student(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        out[r["student"]].append(r)
    return dict(out)


def _isolated(recs: list[dict]) -> bool:
    return all(r.get("isolated", True) for r in recs)


def write_reports(records: list[dict], out_dir: str | Path) -> dict[str, Path]:
    """Write the three outputs; return their paths (``feedback`` is a folder)."""
    out = Path(out_dir)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    students = by_student(records)
    summary = []
    for student, recs in students.items():
        summary.append({
            "student": student,
            "points": round(sum(r["points"] for r in recs), 2),
            "max_points": round(sum(r["max_points"] for r in recs), 2),
            "manual_points_pending": round(sum(r["manual_points"] for r in recs), 2),
            "isolated": _isolated(recs),
            "graded": all(r.get("status", "graded") != "not graded" for r in recs),
            "notebooks": recs,
        })
    paths = {"json": out / "grades.json", "csv": out / "gradebook.csv", "feedback": out / "feedback"}
    paths["json"].write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")

    columns: list[str] = []
    for r in records:
        for q in r["questions"]:
            col = f"{r['topic']}:{q['qid']}"
            if col not in columns:
                columns.append(col)
    with open(paths["csv"], "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "points", "max_points", *columns, "isolated", "problems"])
        for s in summary:
            cells = {f"{r['topic']}:{q['qid']}": ("manual" if q["points"] is None else q["points"])
                     for r in s["notebooks"] for q in r["questions"]}
            problems = "; ".join(f"{Path(r['notebook']).name}: {p}" for r in s["notebooks"] for p in r["problems"])
            w.writerow([s["student"], s["points"], s["max_points"], *[cells.get(c, "") for c in columns],
                        "yes" if s["isolated"] else "no", problems])

    for s in summary:
        (paths["feedback"] / f"{safe_name(s['student'])}.md").write_text(feedback_markdown(s), encoding="utf-8")
    return paths


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def lost_line(lost: dict) -> str:
    """How a student's feedback shows one lost case: a public one in full, a hidden one as a category."""
    if lost.get("visibility") == "hidden" or str(lost.get("case", "")).startswith("hidden"):
        category = lost.get("category") or reason_category(lost.get("reason"), "run")
        return f"hidden case {lost.get('index', '?')} of {lost.get('of', '?')}: {category}"
    return f"{lost['case']}: {_md(lost['reason'])}"


def feedback_markdown(s: dict) -> str:
    lines = [NOT_ISOLATED, ""] if not s.get("isolated", _isolated(s["notebooks"])) else []
    lines += [f"# Feedback for {s['student']}", "",
              f"**Automatic score: {s['points']:g} / {s['max_points']:g}**"
              + (f" (+ up to {s['manual_points_pending']:g} for written answers, graded by hand)"
                 if s["manual_points_pending"] else ""), ""]
    for r in s["notebooks"]:
        lines += [f"## {r['topic'] or 'unknown topic'} — {r['points']:g} / {r['max_points']:g}", "",
                  f"Notebook: `{_md(Path(r['notebook']).name)}`", ""]
        if r.get("status") == "not graded":
            lines.append("- **Not graded**: this notebook could not be graded; the reason is below.")
        for p in r["problems"]:
            lines.append(f"- Problem: {_md(p)}")
        if r["problems"]:
            lines.append("")
        if r["questions"]:
            lines += ["| question | points | cases passed |", "|---|---|---|"]
        for q in r["questions"]:
            if q["kind"] == "manual":
                lines.append(f"| {q['qid']} | pending / {q['max_points']:g} (written) | — |")
            else:
                passed = sum(c["passed"] for c in q["cases"])
                lines.append(f"| {q['qid']} | {q['points']:g} / {q['max_points']:g} | {passed} / {len(q['cases'])} |")
        lines.append("")
        for q in r["questions"]:
            if q["kind"] == "auto" and q["lost"]:
                lines.append(f"### {q['qid']}: points lost")
                for lost in q["lost"]:
                    lines.append(f"- −{lost['points']:g}: {lost_line(lost)}")
                if q.get("hint"):
                    lines.append(f"- Hint: {_md(q['hint'])}")
                lines.append("")
        for q in r["questions"]:
            if q["kind"] == "manual":
                lines += [f"### {q['qid']} (written answer, {q['max_points']:g} points, graded by hand)", "",
                          *(("> " + line) for line in (q.get("answer") or "(no answer)").split("\n")), ""]
        if not r.get("unchanged", True):
            lines.append("- Note: the submission file changed while it was being graded.")
    return "\n".join(lines) + "\n"
