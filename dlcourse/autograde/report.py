"""Write grading results: ``grades.json``, the gradebooks and ``feedback/<student>.md``.

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

from dlcourse.autograde import gradebook as gb
from dlcourse.autograde import results
from dlcourse.autograde.engine import safe_name
from dlcourse.autograde.late import LatePolicy
from dlcourse.autograde.roster import Roster
from dlcourse.autograde.spec import reason_category

#: the first line of every feedback file graded with ``--no-isolation``
NOT_ISOLATED = "NOT ISOLATED: graded without the operating-system sandbox"


def by_student(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r["student"], str(r["topic"]), r["notebook"])):
        out[r["student"]].append(r)
    return dict(out)


def _isolated(recs: list[dict]) -> bool:
    return all(r.get("isolated", True) for r in recs)


def write_reports(records: list[dict], out_dir: str | Path, *, state: dict | None = None) -> dict[str, Path]:
    """Write every output from ``records`` (and ``state``: roster, assignments, late policy,
    question lists; :mod:`~dlcourse.autograde.results`), merging the folder's hand grades
    (``manual.json``); return the paths (``feedback`` is a folder).

    ``grades.json``, ``gradebook.csv``, ``feedback/<student>.md``, ``canvas.csv``,
    ``moodle.csv``, ``grades_long.csv`` and ``state.json`` (plus ``unknown_submitters.csv``
    when some submitters are not on the roster) are rewritten from scratch each time.
    """
    out = Path(out_dir)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    state = results.new_state(records) if state is None else state
    state["records"] = records
    for topic, qs in results.record_questions(records).items():
        state["questions"].setdefault(topic, qs)
    manual = results.load_manual(out)
    gb.apply_manual(records, manual)
    roster = Roster.from_rows(state["roster"]) if state.get("roster") else None
    late = LatePolicy.from_dict(state.get("late"))
    assignments = {t: gb.Assignment(**a) for t, a in state.get("assignments", {}).items()}
    topics = sorted(state["questions"])
    rows = gb.build_rows(records, state["questions"], roster=roster, students=state.get("students"), late=late,
                         topics=topics)
    students = by_student(records)
    summary = []
    for key in dict.fromkeys([*(r["student"] for r in rows), *students]):
        recs = students.get(key, [])
        mine = [r for r in rows if r["student"] == key]
        person = roster.get(key) if roster is not None else None
        summary.append({
            "student": key,
            "name": person.name if person else "",
            "on_roster": person is not None if roster is not None else None,
            "points": round(sum(r["points"] for r in recs), 2),
            "max_points": round(sum(r["max_points"] for r in recs), 2),
            "manual_points_pending": round(sum(q["max_points"] for r in recs for q in r["questions"]
                                               if q["kind"] == "manual" and q.get("points") is None), 2),
            "score": round(sum(float(r["score"]) for r in mine), 2),
            "max_score": round(sum(float(r["max_points"]) for r in mine), 2),
            "isolated": _isolated(recs),
            "graded": all(r.get("status", "graded") != "not graded" for r in recs),
            "assignments": [{k: v for k, v in r.items() if k != "questions"} for r in mine],
            "notebooks": recs,
        })
    paths = {"json": out / "grades.json", "csv": out / "gradebook.csv", "feedback": out / "feedback",
             "canvas": out / "canvas.csv", "moodle": out / "moodle.csv", "long": out / "grades_long.csv"}
    paths["json"].write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    _write_gradebook(paths["csv"], summary, rows, state["questions"], topics)
    gb.write_canvas(paths["canvas"], rows, assignments, roster, topics)
    gb.write_moodle(paths["moodle"], rows, assignments, roster, topics)
    gb.write_long(paths["long"], rows, roster)
    unknown = out / "unknown_submitters.csv"
    if state.get("unknown"):
        with open(unknown, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["submitter", "lms", "files"])
            for u in state["unknown"]:
                w.writerow([u["submitter"], u["lms"], "; ".join(u["files"])])
        paths["unknown"] = unknown
    elif unknown.exists():
        unknown.unlink()
    feedback = paths["feedback"]
    wanted = {f"{safe_name(s['student'])}.md" for s in summary if s["notebooks"]}
    for old in feedback.glob("*.md"):
        if old.name not in wanted:
            old.unlink()
    for s in summary:
        if s["notebooks"]:
            (feedback / f"{safe_name(s['student'])}.md").write_text(feedback_markdown(s), encoding="utf-8")
    paths["state"] = results.save_state(out, state)
    return paths


def _write_gradebook(path: Path, summary: list[dict], rows: list[dict], questions: dict[str, list[dict]],
                     topics: list[str]) -> None:
    """The course's own gradebook: one row per student, a number in every score cell (a written
    answer not graded yet counts 0 and is named in ``pending``)."""
    columns = [f"{t}:{q['qid']}" for t in topics for q in questions[t]]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "name", "points", "max_points", *columns, "late_penalty", "pending", "isolated",
                    "problems"])
        for s in summary:
            mine = [r for r in rows if r["student"] == s["student"]]
            cells = {f"{r['topic']}:{qid}": v for r in mine for qid, v in r["questions"].items()}
            problems = [f"{Path(r['notebook']).name}: {p}" for r in s["notebooks"] for p in r["problems"]]
            problems += [f"{r['topic']}: no submission" for r in mine if r["status"] == "missing"]
            pending = [f"{r['topic']}:{q}" for r in mine for q in r["pending"]]
            w.writerow([s["student"], s["name"], gb.number(s["score"]), gb.number(s["max_score"]),
                        *[cells.get(c, 0) for c in columns],
                        gb.number(sum(float(r["late_penalty"]) for r in mine)), " ".join(pending),
                        "yes" if s["isolated"] else "no", "; ".join(problems)])


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def lost_line(lost: dict) -> str:
    """How a student's feedback shows one lost case: a public one in full, a hidden one as a category."""
    if lost.get("visibility") == "hidden" or str(lost.get("case", "")).startswith("hidden"):
        category = lost.get("category") or reason_category(lost.get("reason"), "run")
        return f"hidden case {lost.get('index', '?')} of {lost.get('of', '?')}: {category}"
    return f"{lost['case']}: {_md(lost['reason'])}"


def feedback_markdown(s: dict) -> str:
    """A student's feedback: the score, per notebook a table, every lost point (public cases in
    full, hidden ones as a category only), the hand grades with their comments, the late
    penalty and any warning about the notebook (a graded cell found by its name)."""
    lines = [NOT_ISOLATED, ""] if not s.get("isolated", _isolated(s["notebooks"])) else []
    pending = s["manual_points_pending"]
    rows = {a["topic"]: a for a in s.get("assignments", [])}
    lines += [f"# Feedback for {s['student']}", "",
              f"**Automatic score: {s['points']:g} / {s['max_points']:g}**"
              + (f" (+ up to {pending:g} for written answers, graded by hand)" if pending else ""), ""]
    if rows:
        lines += [f"**Score: {s['score']:g} / {s['max_score']:g}** (automatic + hand-graded points, "
                  "minus any late penalty" + (", written answers still pending" if pending else "") + ")", ""]
    for r in s["notebooks"]:
        lines += [f"## {r['topic'] or 'unknown topic'} — {r['points']:g} / {r['max_points']:g}", "",
                  f"Notebook: `{_md(Path(r['notebook']).name)}`", ""]
        row = rows.get(r["topic"])
        if row and r.get("status") == "graded" and row.get("notebook") == Path(r["notebook"]).name:
            lines.append(f"- Assignment score: {row['score']:g} / {row['max_points']:g}")
            if row.get("late_days"):
                lines.append(f"- Late: {row['late_days']} day(s) after the deadline {row['deadline'] or ''}: "
                             f"−{row['late_percent']:g} % = −{row['late_penalty']:g} points")
            lines.append("")
        if r.get("status") == "not graded":
            lines.append("- **Not graded**: this notebook could not be graded; the reason is below.")
        for p in r["problems"]:
            lines.append(f"- Problem: {_md(p)}")
        if r["problems"]:
            lines.append("")
        for q in r["questions"]:
            if q.get("warning"):
                lines.append(f"- Warning: {_md(q['warning'])}")
        if any(q.get("warning") for q in r["questions"]):
            lines.append("")
        if r["questions"]:
            lines += ["| question | points | cases passed |", "|---|---|---|"]
        for q in r["questions"]:
            if q["kind"] == "manual":
                got = "pending" if q.get("points") is None else f"{q['points']:g}"
                lines.append(f"| {q['qid']} | {got} / {q['max_points']:g} (written) | — |")
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
                graded = q.get("points") is not None
                title = (f"{q['points']:g} / {q['max_points']:g} points, graded by hand" if graded
                         else f"{q['max_points']:g} points, graded by hand")
                lines += [f"### {q['qid']} (written answer, {title})", "",
                          *(("> " + line) for line in (q.get("answer") or "(no answer)").split("\n")), ""]
                if graded and q.get("comment"):
                    lines += [f"Comment: {_md(q['comment'])}", ""]
        if not r.get("unchanged", True):
            lines.append("- Note: the submission file changed while it was being graded.")
    return "\n".join(lines) + "\n"
