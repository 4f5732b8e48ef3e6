"""Gradebooks: one row per student and assignment, exported for Canvas, Moodle and as a long table.

An *assignment* is a topic (``01_perceptron``).  Its maximum is fixed by the course, not by
what a student handed in: the sum of the points of every question of the trusted notebook
(graded functions and written answers).  A student's score on it is

    score = (automatic points + hand-graded points) − late penalty

and a student on the roster without a submission scores 0 with the reason ``no submission``.
Every score cell of every export is a number.

Exports (all UTF-8, comma separated):

* ``canvas.csv`` — Canvas's gradebook CSV: ``Student, ID, SIS User ID, SIS Login ID,
  Section``, then one column per assignment named ``<Assignment Name> (<assignment id>)``
  (a column without an id creates a new assignment on import), a ``Points Possible`` row
  first, as Canvas's own export has;
* ``moodle.csv`` — for Moodle's "Import grades → CSV file": an identifier (``Email address``,
  plus ``ID number`` and ``Full name``) and one grade column per assignment, mapped to grade
  items in Moodle's import form;
* ``grades_long.csv`` — one row per student × assignment, like ``nbgrader export``
  (``assignment, duedate, timestamp, student_id, ..., raw_score, late_submission_penalty,
  score, max_score``) with the status and its reason.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlcourse.autograde.late import LatePolicy
from dlcourse.autograde.roster import Roster, Student


class AssignmentsError(ValueError):
    """An assignments file that cannot be used."""


@dataclass
class Assignment:
    """How one topic is called in the LMS (and its deadline, for the late policy)."""

    topic: str
    canvas_name: str = ""
    canvas_id: str = ""
    moodle_name: str = ""
    deadline: str = ""

    @property
    def canvas_column(self) -> str:
        name = self.canvas_name or self.topic
        return f"{name} ({self.canvas_id})" if self.canvas_id else name


def read_assignments(path: str | Path) -> dict[str, Assignment]:
    """``topic,canvas_name,canvas_id,moodle_name,deadline`` (only ``topic`` required)."""
    path = Path(path)
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    except OSError as exc:
        raise AssignmentsError(f"the assignments file {path} cannot be read: {exc.strerror or exc}") from None
    out = {}
    for n, row in enumerate(rows, 2):
        clean = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if not clean.get("topic"):
            raise AssignmentsError(f"{path} line {n}: the 'topic' column is empty (columns: topic, canvas_name, "
                                   "canvas_id, moodle_name, deadline)")
        out[clean["topic"]] = Assignment(clean["topic"], clean.get("canvas_name", ""), clean.get("canvas_id", ""),
                                         clean.get("moodle_name", ""), clean.get("deadline", ""))
    return out


def number(x: float) -> float | int:
    """A score as it is written: rounded to 0.01, an integer without ``.0``."""
    x = round(float(x), 2)
    return int(x) if x == int(x) else x


def answer_sha(answer: str | None) -> str:
    """The fingerprint stored with a hand grade: the grade holds while the answer is unchanged."""
    return hashlib.sha256((answer or "").encode("utf-8", "surrogatepass")).hexdigest()[:16]


def manual_key(topic: str, qid: str) -> str:
    return f"{topic}:{qid}"


def apply_manual(records: list[dict], manual: dict[str, dict[str, dict]]) -> None:
    """Put the hand grades (``{"topic:qid": {student: {"points", "comment", "answer_sha"}}}``)
    into the records' written questions (pending ones keep ``points = None``).  A grade whose
    ``answer_sha`` is not the answer's now (the student was regraded with a new answer) is
    pending again."""
    for r in records:
        for q in r.get("questions", []):
            if q["kind"] != "manual":
                continue
            grade = manual.get(manual_key(str(r["topic"]), q["qid"]), {}).get(r["student"])
            if grade is not None and grade.get("answer_sha", answer_sha(q.get("answer"))) != answer_sha(q.get("answer")):
                grade = None  # a regraded submission changed this answer: its old points do not apply
            q["points"] = None if grade is None else float(grade["points"])
            q["comment"] = "" if grade is None else grade.get("comment", "")


def build_rows(records: list[dict], questions: dict[str, list[dict]], *, roster: Roster | None = None,
               students: list[str] | None = None, late: LatePolicy | None = None,
               topics: list[str] | None = None) -> list[dict]:
    """One row per (student, topic): the students of the roster (or of ``students``, a shard's),
    then any unknown submitter; the topics of ``questions`` (the trusted question lists)."""
    topics = topics or sorted(questions)
    # one record per (student, topic): not a superseded one, nor a refused duplicate of the winner
    active = [r for r in records if r.get("status") != "superseded" and "superseded_by" not in r
              and r.get("topic") in questions]
    by: dict[tuple[str, str], dict] = {(r["student"], r["topic"]): r for r in active}
    keys: list[str] = []
    if roster is not None:
        keys = [s for s in roster.ids if students is None or s in students]
    keys += sorted({r["student"] for r in records if r["student"] not in keys
                    and (students is None or r["student"] in students)})
    rows = []
    for key in keys:
        person = roster.get(key) if roster is not None else None
        for topic in topics:
            qs = questions[topic]
            r = by.get((key, topic))
            row: dict[str, Any] = {"student": key, "on_roster": person is not None, "topic": topic,
                   "max_points": number(sum(q["points"] for q in qs)), "auto_points": 0, "manual_points": 0,
                   "pending": [], "late_days": 0, "late_percent": 0, "late_penalty": 0, "raw_score": 0,
                   "score": 0, "status": "missing", "reason": "no submission", "submitted_at": "",
                   "deadline": "", "notebook": "", "questions": {q["qid"]: 0 for q in qs}}
            if r is not None:
                row["notebook"] = Path(r["notebook"]).name
                row["submitted_at"] = r.get("submitted_at") or ""
                if r.get("status") == "not graded":
                    row.update(status="not graded", reason="; ".join(r["problems"]) or "not graded")
                else:
                    auto = manual = 0.0
                    for q in r["questions"]:
                        if q["kind"] == "manual":
                            if q.get("points") is None:
                                row["pending"].append(q["qid"])
                            else:
                                manual += q["points"]
                                row["questions"][q["qid"]] = number(q["points"])
                        else:
                            auto += q["points"]
                            row["questions"][q["qid"]] = number(q["points"])
                    row.update(status="graded", reason="", auto_points=number(auto), manual_points=number(manual))
                    if row["pending"]:
                        row["reason"] = "written answers not graded yet: " + ", ".join(row["pending"])
                raw = float(row["auto_points"]) + float(row["manual_points"])
                row["raw_score"] = number(raw)
                if late is not None:
                    lp = late.apply(topic, r.get("submitted_at"), bool(r.get("late_marker")))
                    row.update(late_days=lp["days_late"], late_percent=lp["percent"], deadline=lp["deadline"] or "")
                    row["late_penalty"] = number(raw * lp["percent"] / 100)
                row["score"] = number(raw - float(row["late_penalty"]))
            elif late is not None:
                deadline = late.deadline(topic)
                row["deadline"] = deadline.isoformat() if deadline else ""
            rows.append(row)
    return rows


def _person(roster: Roster | None, key: str) -> Student:
    person = roster.get(key) if roster is not None else None
    return person or Student(id=key, name=key)


def write_canvas(path: Path, rows: list[dict], assignments: dict[str, Assignment], roster: Roster | None,
                 topics: list[str]) -> Path:
    """Canvas's gradebook CSV (see the module docstring); unknown submitters are left out."""
    columns = [(assignments.get(t) or Assignment(t)).canvas_column for t in topics]
    maxima = {r["topic"]: r["max_points"] for r in rows}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *columns])
        w.writerow(["    Points Possible", "", "", "", "", *[maxima.get(t, 0) for t in topics]])
        for key in dict.fromkeys(r["student"] for r in rows if r["on_roster"] or roster is None):
            p = _person(roster, key)
            score = {r["topic"]: r["score"] for r in rows if r["student"] == key}
            w.writerow([p.canvas_name, p.canvas_id, p.sis_user_id, p.sis_login_id, p.section,
                        *[score.get(t, 0) for t in topics]])
    return path


def write_moodle(path: Path, rows: list[dict], assignments: dict[str, Assignment], roster: Roster | None,
                 topics: list[str]) -> Path:
    """A CSV for Moodle's grade import: identifiers, then one numeric column per grade item."""
    columns = [(assignments.get(t) or Assignment(t)).moodle_name or t for t in topics]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["ID number", "Email address", "Full name", *columns])
        for key in dict.fromkeys(r["student"] for r in rows if r["on_roster"] or roster is None):
            p = _person(roster, key)
            score = {r["topic"]: r["score"] for r in rows if r["student"] == key}
            w.writerow([p.idnumber or p.id, p.email, p.name, *[score.get(t, 0) for t in topics]])
    return path


LONG_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "name", "email", "section", "on_roster",
                "auto_score", "manual_score", "raw_score", "days_late", "late_submission_penalty", "score",
                "max_score", "status", "reason", "notebook")


def write_long(path: Path, rows: list[dict], roster: Roster | None) -> Path:
    """One row per student × assignment (nbgrader ``export``'s columns and ours)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(LONG_COLUMNS)
        for r in rows:
            p = _person(roster, r["student"])
            w.writerow([r["topic"], r["deadline"], r["submitted_at"], r["student"], p.name, p.email, p.section,
                        "yes" if r["on_roster"] else "no", r["auto_points"], r["manual_points"], r["raw_score"],
                        r["late_days"], r["late_penalty"], r["score"], r["max_points"], r["status"], r["reason"],
                        r["notebook"]])
    return path
