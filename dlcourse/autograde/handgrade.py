"""Hand grading of the written answers: one sheet per question out, the filled sheet back in.

``write_sheets(out)`` writes, for every written question of every topic in an output folder,
``handgrading/<topic>.<qid>.csv`` (for a spreadsheet) and ``handgrading/<topic>.<qid>.html``
(the same answers, readable, offline).  Columns::

    topic, question, student, name, max_points, points, comment, answer

An answer that a spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-`` or
``@``) is written with a leading ``'``.  Fill ``points`` (a number from 0 to ``max_points``;
empty = not graded yet) and ``comment``,
then ``import_sheets(out, [sheet, ...])`` stores them in ``manual.json`` and rewrites every
report (totals, gradebooks, feedback).  Importing the same sheet again changes nothing, and a
new sheet is written pre-filled with the grades already imported.  Each grade keeps a
fingerprint of the answer it graded: a student regraded with a changed answer is pending again.
"""

from __future__ import annotations

import csv
import html
import math
from pathlib import Path

from dlcourse.autograde import results
from dlcourse.autograde.gradebook import answer_sha, manual_key

COLUMNS = ("topic", "question", "student", "name", "max_points", "points", "comment", "answer")


class SheetError(ValueError):
    """A filled sheet that cannot be imported: the file, the line and what is wrong."""


def _answers(state: dict) -> dict[tuple[str, str], list[tuple[str, str, float]]]:
    """``(topic, qid) -> [(student, answer, max_points)]`` of the graded notebooks."""
    out: dict[tuple[str, str], list[tuple[str, str, float]]] = {}
    for r in sorted(state["records"], key=lambda r: (r["student"], str(r["topic"]))):
        if r.get("status") != "graded":
            continue
        for q in r["questions"]:
            if q["kind"] == "manual":
                out.setdefault((r["topic"], q["qid"]), []).append((r["student"], q.get("answer") or "",
                                                                   q["max_points"]))
    return out


def _names(state: dict) -> dict[str, str]:
    return {row["id"]: row.get("name", "") for row in state.get("roster") or []}


def write_sheets(out_dir: str | Path) -> list[Path]:
    """Write the sheets (CSV + HTML) of every written question; return their paths."""
    out = Path(out_dir)
    state = results.load_state(out)
    if state is None:
        raise SheetError(f"{out} holds no results (no {results.STATE}): run dlcourse grade first")
    manual = results.load_manual(out)
    names = _names(state)
    folder = out / "handgrading"
    folder.mkdir(exist_ok=True)
    written = []
    for (topic, qid), answers in sorted(_answers(state).items()):
        now = {student: answer_sha(answer) for student, answer, _ in answers}
        done = {student: g for student, g in manual.get(manual_key(topic, qid), {}).items()  # a grade for an
                if g.get("answer_sha", now.get(student)) == now.get(student)}  # answer since replaced is dropped
        sheet, page = folder / f"{topic}.{qid}.csv", folder / f"{topic}.{qid}.html"
        with open(sheet, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(COLUMNS)
            for student, answer, max_points in answers:
                g = done.get(student, {})
                w.writerow([topic, qid, student, names.get(student, ""), f"{max_points:g}",
                            "" if "points" not in g else f"{g['points']:g}", g.get("comment", ""),
                            spreadsheet_text(answer)])
        page.write_text(_sheet_html(topic, qid, answers, done, names), encoding="utf-8")
        written += [sheet, page]
    return written


def spreadsheet_text(text: str) -> str:
    """A student's text as a spreadsheet shows it, never as a formula: a cell starting with
    ``= + - @``, a tab or a carriage return is read by Excel and LibreOffice as a formula (one
    that can fetch a web address with the sheet's contents), so it gets a leading ``'``."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _sheet_html(topic: str, qid: str, answers, done: dict, names: dict[str, str]) -> str:
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(topic)} {e(qid)}</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
             "pre{white-space:pre-wrap;background:#f6f6f6;padding:.6em;border-left:3px solid #999}"
             "h2{font-size:1.05em;margin-top:1.6em}</style></head><body>",
             f"<h1>{e(topic)} — {e(qid)}</h1><p>{len(answers)} answer(s). Enter the points and comments in "
             f"<code>{e(topic)}.{e(qid)}.csv</code>, then run <code>dlcourse handgrade OUT --import "
             f"{e(topic)}.{e(qid)}.csv</code>.</p>"]
    for student, answer, max_points in answers:
        g = done.get(student)
        status = "not graded yet" if g is None else f"{g['points']:g} / {max_points:g}" + (
            f" — {e(g.get('comment', ''))}" if g.get("comment") else "")
        parts.append(f"<h2 id='{e(student)}'>{e(student)} {e(names.get(student, ''))} "
                     f"<small>({max_points:g} points; {status})</small></h2><pre>{e(answer) or '(no answer)'}</pre>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def read_sheet(path: str | Path, state: dict) -> dict[str, dict[str, dict | None]]:
    """``{"topic:qid": {student: {"points", "comment"} | None}}`` from a filled sheet (None:
    the points cell is empty, not graded).  Raises :class:`SheetError` on an unknown question
    or student, points that are not a number from 0 to the question's maximum, or one student
    graded twice differently."""
    path = Path(path)
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines(keepends=True)))
    except OSError as exc:
        raise SheetError(f"the sheet {path} cannot be read: {exc.strerror or exc}") from None
    if rows and not {"topic", "question", "student", "points"} <= set(rows[0]):
        raise SheetError(f"{path}: a sheet needs the columns topic, question, student, points (got {list(rows[0])})")
    answers = _answers(state)
    known = {(t, q): {s: m for s, _, m in ans} for (t, q), ans in answers.items()}
    shas = {(t, q, s): answer_sha(a) for (t, q), ans in answers.items() for s, a, _ in ans}
    out: dict[str, dict[str, dict | None]] = {}
    for n, row in enumerate(rows, 2):
        topic, qid, student = ((row.get(k, "") or "").strip() for k in ("topic", "question", "student"))
        if (topic, qid) not in known:
            raise SheetError(f"{path} line {n}: {topic}:{qid} is not a written question of these results")
        if student not in known[(topic, qid)]:
            raise SheetError(f"{path} line {n}: student {student!r} has no graded answer to {topic}:{qid}")
        text = (row.get("points") or "").strip()
        grade: dict | None = None
        if text:
            try:
                points = float(text.replace(",", "."))
            except ValueError:
                raise SheetError(f"{path} line {n}: points must be a number, got {text!r}") from None
            top = known[(topic, qid)][student]
            if not (math.isfinite(points) and 0 <= points <= top):
                raise SheetError(f"{path} line {n}: points must be from 0 to {top:g}, got {text!r}")
            grade = {"points": points, "comment": (row.get("comment") or "").strip(),
                     "answer_sha": shas[(topic, qid, student)]}
        graded = out.setdefault(manual_key(topic, qid), {})
        if student in graded and graded[student] != grade:  # two graders, or a pasted row: which one?
            raise SheetError(f"{path} line {n}: student {student!r} is graded twice for {topic}:{qid} "
                             f"with different points or comments; keep one row per student")
        graded[student] = grade
    return out


def import_sheets(out_dir: str | Path, sheets: list[str | Path]) -> int:
    """Merge filled sheets into ``manual.json`` and rewrite every report; the number of grades
    that changed (0 when the same sheets are imported again)."""
    from dlcourse.autograde.report import write_reports

    out = Path(out_dir)
    state = results.load_state(out)
    if state is None:
        raise SheetError(f"{out} holds no results (no {results.STATE}): run dlcourse grade first")
    manual = results.load_manual(out)
    parsed = [read_sheet(s, state) for s in sheets]  # every sheet checked before anything is stored
    changed = 0
    for sheet in parsed:
        for key, grades in sheet.items():
            current = manual.setdefault(key, {})
            for student, grade in grades.items():
                if grade is None:
                    changed += current.pop(student, None) is not None
                elif current.get(student) != grade:
                    current[student] = grade
                    changed += 1
    results.save_manual(out, {k: v for k, v in manual.items() if v})
    write_reports(state["records"], out, state=state)
    return changed
