"""Submissions as a learning-management system hands them out: one flat download folder.

* **Canvas** ("Download Submissions"): ``<login>_<user id>_<submission id>_<file name>``, with
  ``_LATE`` after the login for a submission Canvas marked late, e.g.
  ``doejane_12345_67890_01_perceptron.ipynb`` and ``doejane_LATE_12345_67890_01_perceptron.ipynb``;
  a resubmitted file may carry ``-1``, ``-2`` before its extension.  ``<login>`` is the
  student's sortable name, lower case, letters only (any script's letters and digits, and
  hyphens, are accepted: the user id, not the login, matches the roster); ``<user id>``
  Canvas's user id.
* **Moodle** ("Download all submissions"): ``<Full Name>_<participant id>_assignsubmission_file_<file name>``,
  or, with "download submissions in folders", a folder ``<Full Name>_<participant id>_assignsubmission_file_``
  holding the files under their own names.
* Anything else is a folder of students (``student/*.ipynb``) or of ``student.ipynb`` files,
  as :func:`dlcourse.autograde.engine.discover` reads it.

The submission time is the file's modification time (what ``unzip`` restores from the
archive), stored as ``submitted_at`` in UTC; a Canvas ``_LATE`` marker is kept as
``late_marker``.  With a roster each submission is matched to a student
(:meth:`dlcourse.autograde.roster.Roster.match`); the others are *unknown submitters*,
graded under the name the file gives and reported, never exported to an LMS gradebook.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from dlcourse.autograde.engine import Submission, discover
from dlcourse.autograde.roster import Roster

CANVAS = re.compile(r"^(?P<login>(?:[^\W_]|-)+?)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<name>.+)$")
MOODLE = re.compile(r"^(?P<fullname>.+?)_(?P<pid>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<name>.*)$")
_RESUBMITTED = re.compile(r"-\d+(\.[A-Za-z0-9]+)$")


def original_name(name: str) -> str:
    """The file name the student uploaded: an LMS's resubmission suffix (``-1``) dropped."""
    return _RESUBMITTED.sub(r"\1", name)


def submitted_at(path: Path) -> str | None:
    """The modification time of ``path`` in ISO 8601, UTC (None when it cannot be read)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc).isoformat(timespec="seconds")


def parse_name(top: str) -> dict | None:
    """What an LMS file (or Moodle folder) name says: ``lms``, the ids, the submitter, the
    original file name and Canvas's late marker; None for a name no LMS writes."""
    m = CANVAS.match(top)
    if m and Path(m["name"]).suffix:  # a file Canvas renamed (it makes no folders)
        return {"lms": "canvas", "submitter": m["login"], "lms_user_id": m["uid"], "lms_submission_id": m["sid"],
                "late_marker": bool(m["late"]), "original_name": original_name(m["name"])}
    m = MOODLE.match(top)
    if m:
        return {"lms": "moodle", "submitter": m["fullname"], "lms_user_id": m["pid"],
                "original_name": original_name(m["name"]) if m["name"] else None}
    return None


def collect(path: str | Path, roster: Roster | None = None,
            topics: frozenset[str] | None = None) -> tuple[list[Submission], list[dict]]:
    """The submissions under ``path`` and the unknown submitters (those the roster lacks).

    Each :class:`~dlcourse.autograde.engine.Submission` is keyed by the roster id when the
    submitter is on the roster, else by the name the file gives (a Canvas login, a Moodle full
    name, a folder or file name).  Symbolic links and other odd files are passed on as they are
    for the grader to refuse with a reason.
    """
    root = Path(path)
    subs: list[Submission] = []
    unknown: dict[str, dict] = {}
    for student, nb_path in discover(root, topics):
        rel = nb_path.relative_to(root).parts if root.is_dir() and nb_path != root else (nb_path.name,)
        top = rel[0]
        info = parse_name(top)
        name: str | None = None
        if info is not None and info["lms"] == "moodle" and len(rel) > 1:  # a Moodle submission folder
            info["original_name"] = original_name(nb_path.name)
        if info is None:
            info = {"lms": "folder" if len(rel) > 1 else "file", "submitter": student}
        else:
            name = info.get("original_name") or None
        info["submitted_at"] = submitted_at(nb_path)
        key = str(info["submitter"])
        if roster is not None:
            sid = roster.match(canvas_id=info.get("lms_user_id", "") if info["lms"] == "canvas" else "",
                               moodle_id=info.get("lms_user_id", "") if info["lms"] == "moodle" else "",
                               key=key if info["lms"] in ("folder", "file", "canvas") else "",
                               name=key if info["lms"] == "moodle" else "")
            info["on_roster"] = sid is not None
            if sid is None:
                unknown.setdefault(key, {"submitter": key, "lms": info["lms"], "files": []})["files"].append(
                    str(nb_path.relative_to(root)) if root.is_dir() and nb_path != root else nb_path.name)
            else:
                key = sid
        subs.append(Submission(key, nb_path, name, info))
    return subs, list(unknown.values())
