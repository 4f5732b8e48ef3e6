"""The class roster: who the students are, and which submission is whose.

A roster is a CSV file with a header; ``id`` is required (the course's own student id, the key
of every gradebook row), the other columns are optional::

    id,name,email,section,canvas_id,sis_user_id,sis_login_id,moodle_id,sortable_name
    s001,Jane Doe,jane.doe@uni.example,A,12345,20260001,jdoe,88,"Doe, Jane"

``canvas_id`` is Canvas's user id (the first number in a Canvas download's file names and the
``ID`` column of its gradebook), ``sis_user_id`` / ``sis_login_id`` Canvas's SIS columns,
``moodle_id`` Moodle's participant id (the number in a Moodle download's file names) and
``idnumber`` Moodle's "ID number".  A submission is matched to a student by, in order: an LMS
id in its file name, then any of the student's ids, email or login, then the name written the
way the LMS writes it (Canvas: lower-case last name then first name, letters only).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

#: roster columns (``id`` required); any other column is kept in :attr:`Student.extra`
COLUMNS = ("id", "name", "email", "section", "canvas_id", "sis_user_id", "sis_login_id", "moodle_id",
           "idnumber", "sortable_name")


class RosterError(ValueError):
    """A roster file that cannot be used: what is wrong and where."""


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    email: str = ""
    section: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    moodle_id: str = ""
    idnumber: str = ""
    sortable_name: str = ""
    extra: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, str]:
        return {c: getattr(self, c) for c in COLUMNS}

    @property
    def canvas_name(self) -> str:
        """Canvas's "Student" column: "Last, First" (``sortable_name``, else made from ``name``)."""
        if self.sortable_name:
            return self.sortable_name
        parts = self.name.split()
        return f"{parts[-1]}, {' '.join(parts[:-1])}" if len(parts) > 1 else self.name


def squash(text: str) -> str:
    """Letters and digits only, lower case, accents dropped: how names are compared."""
    norm = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", "".join(ch for ch in norm if not unicodedata.combining(ch)).lower())


def canvas_login(name: str) -> str:
    """The name part of a Canvas download's file name: last name then first names, squashed
    (``Jane Doe`` → ``doejane``)."""
    parts = name.split()
    return squash("".join([parts[-1], *parts[:-1]])) if parts else ""


@dataclass
class Roster:
    students: list[Student]
    path: str = ""
    _index: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for s in self.students:
            if s.id in seen:
                raise RosterError(f"{self.path or 'roster'}: student id {s.id!r} appears twice")
            seen.add(s.id)
        idx: dict[str, dict[str, str]] = {k: {} for k in ("canvas", "moodle", "any", "name", "login")}
        for s in self.students:
            if s.canvas_id:
                idx["canvas"][s.canvas_id] = s.id
            if s.moodle_id:
                idx["moodle"][s.moodle_id] = s.id
            for key in (s.id, s.email, s.email.split("@")[0] if s.email else "", s.sis_login_id, s.sis_user_id,
                        s.idnumber, s.canvas_id):
                if key:
                    idx["any"].setdefault(key.lower(), s.id)
            if s.name:
                idx["name"].setdefault(squash(s.name), s.id)
                idx["login"].setdefault(canvas_login(s.name), s.id)
            if s.sortable_name:
                idx["login"].setdefault(squash(s.sortable_name), s.id)
        self._index = idx

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.students]

    def get(self, student_id: str) -> Student | None:
        return next((s for s in self.students if s.id == student_id), None)

    def match(self, *, canvas_id: str = "", moodle_id: str = "", key: str = "", name: str = "") -> str | None:
        """The roster id of a submitter, or None (an unknown submitter)."""
        idx = self._index
        if canvas_id and canvas_id in idx["canvas"]:
            return idx["canvas"][canvas_id]
        if moodle_id and moodle_id in idx["moodle"]:
            return idx["moodle"][moodle_id]
        if key and key.lower() in idx["any"]:
            return idx["any"][key.lower()]
        if name:
            return idx["name"].get(squash(name)) or idx["login"].get(squash(name))
        if key:
            return idx["login"].get(squash(key)) or idx["name"].get(squash(key))
        return None

    def to_rows(self) -> list[dict[str, str]]:
        return [{**s.as_dict(), **dict(s.extra)} for s in self.students]

    @classmethod
    def from_rows(cls, rows: list[dict[str, str]], path: str = "") -> Roster:
        students = []
        for n, row in enumerate(rows, 2):
            clean = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
            sid = clean.get("id", "")
            if not sid:
                raise RosterError(f"{path or 'roster'} line {n}: the 'id' column is empty")
            known = {c: clean.get(c, "") for c in COLUMNS}
            extra = tuple(sorted((k, v) for k, v in clean.items() if k not in COLUMNS))
            students.append(Student(**known, extra=extra))
        return cls(students, path)


def read_roster(path: str | Path) -> Roster:
    """Read a roster CSV (UTF-8, a spreadsheet's byte-order mark allowed)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RosterError(f"the roster {path} cannot be read: {exc.strerror or exc}") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "id" not in header:
        raise RosterError(f"{path}: the roster needs an 'id' column (got columns {header}); "
                          f"known columns: {', '.join(COLUMNS)}")
    rows = list(reader)
    if not rows:
        raise RosterError(f"{path}: the roster has no students")
    return Roster.from_rows(rows, str(path))
