"""The output folder of ``dlcourse grade`` as a state that can be updated, sharded and merged.

``state.json`` holds everything the reports are made from: every notebook's record, the
roster, the assignments (LMS names, deadlines), the late policy, the trusted question list of
each topic (which fixes each assignment's maximum), the unknown submitters and, for a shard,
which students it holds.  ``manual.json`` holds the hand grades
(``{"topic:qid": {student: {"points", "comment"}}}``).  Every report in the folder is
rewritten from these two files (:func:`dlcourse.autograde.report.write_reports`), so
regrading a student, importing a hand-grading sheet or merging shards never edits a report
in place, and doing it twice gives the same files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dlcourse.autograde import notebook as nbmod

STATE, MANUAL = "state.json", "manual.json"
VERSION = 1


class ResultsError(ValueError):
    """An output folder that cannot be updated or merged."""


def course_questions(course_root: str | Path, topic: str, qids: set[str] | None = None) -> list[dict] | None:
    """The questions of ``topic`` from the course's trusted notebook (``solutions/``, else
    ``exercises/``), restricted to ``qids``; None when the course has no such notebook."""
    for folder in ("solutions", "exercises"):
        path = Path(course_root) / folder / f"{topic}.ipynb"
        if path.is_file():
            qs = nbmod.questions(nbmod.read(path))
            return [{"qid": q.qid, "kind": q.kind, "points": q.points} for q in qs if qids is None or q.qid in qids]
    return None


def record_questions(records: list[dict]) -> dict[str, list[dict]]:
    """The question list of each topic as the graded records carry it (from the trusted notebook)."""
    out: dict[str, list[dict]] = {}
    for r in records:
        if r.get("topic") and r.get("questions") and r["topic"] not in out:
            out[r["topic"]] = [{"qid": q["qid"], "kind": q["kind"], "points": q["max_points"]} for q in r["questions"]]
    return out


def new_state(records: list[dict], **fields) -> dict:
    state: dict[str, Any] = {"version": VERSION, "records": records, "roster": None, "assignments": {}, "late": None,
             "questions": {}, "unknown": [], "students": None, "shard": None}
    state.update(fields)
    for topic, qs in record_questions(records).items():
        state["questions"].setdefault(topic, qs)
    return state


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def save_state(out_dir: str | Path, state: dict) -> Path:
    path = Path(out_dir) / STATE
    _write_json(path, state)
    return path


def load_state(out_dir: str | Path) -> dict | None:
    path = Path(out_dir) / STATE
    if not path.is_file():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise ResultsError(f"{path} is not a dlcourse {VERSION} state file")
    return state


def load_manual(out_dir: str | Path) -> dict[str, dict[str, dict]]:
    path = Path(out_dir) / MANUAL
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def save_manual(out_dir: str | Path, manual: dict) -> Path:
    path = Path(out_dir) / MANUAL
    _write_json(path, {k: dict(sorted(v.items())) for k, v in sorted(manual.items())})
    return path


def update(old: dict, new: dict) -> tuple[dict, list[str]]:
    """``old`` with the records of the students graded in ``new`` replaced (for the topics
    ``new`` graded them on; their other topics and every other student are kept).  The
    roster, assignments and late policy of ``new`` win where it sets them.  Returns the state
    and the students updated."""
    regraded = {(r["student"], r["topic"]) for r in new["records"]}
    students = sorted({r["student"] for r in new["records"]})
    kept = [r for r in old["records"] if (r["student"], r["topic"]) not in regraded]
    merged = dict(old)
    merged["records"] = kept + new["records"]
    for key in ("roster", "late"):
        if new.get(key) is not None:
            merged[key] = new[key]
    merged["assignments"] = {**old.get("assignments", {}), **new.get("assignments", {})}
    merged["questions"] = {**old.get("questions", {}), **new.get("questions", {})}
    seen = {u["submitter"] for u in new.get("unknown", [])}
    merged["unknown"] = [u for u in old.get("unknown", []) if u["submitter"] not in seen] + new.get("unknown", [])
    if old.get("students") is not None:
        merged["students"] = sorted(set(old["students"]) | set(students))
    return merged, students


def merge(states: list[dict]) -> dict:
    """One state from the shards' (each student in at most one shard; the same roster)."""
    if not states:
        raise ResultsError("nothing to merge")
    owner: dict[str, int] = {}
    for i, st in enumerate(states):
        for r in st["records"]:
            if owner.setdefault(r["student"], i) != i:
                raise ResultsError(f"student {r['student']!r} was graded in two shards ({owner[r['student']] + 1} "
                                   f"and {i + 1}): merge shards of one split (--shard i/n with the same n)")
    rosters = {json.dumps(st.get("roster"), sort_keys=True) for st in states}
    if len(rosters) > 1:
        raise ResultsError("the shards were graded with different rosters")
    _check_split(states)
    for key, what in (("late", "late policies"), ("questions", "question lists (a course version changed?)")):
        seen: dict[str, tuple[int, str]] = {}
        for i, st in enumerate(states):
            items = st.get(key) or {}
            for topic, value in (items.items() if key == "questions" else [("", items)]):
                text = json.dumps(value, sort_keys=True)
                j, first = seen.setdefault(topic, (i, text))
                if first != text:
                    raise ResultsError(f"the shards {j + 1} and {i + 1} were graded with different {what}"
                                       + (f" for {topic}" if topic else "") + ": grade every shard with one course")
    merged = new_state([r for st in states for r in st["records"]], roster=states[0].get("roster"),
                       late=states[0].get("late"))
    for st in states:
        merged["assignments"].update(st.get("assignments", {}))
        merged["questions"].update(st.get("questions", {}))
        merged["unknown"] += st.get("unknown", [])
    merged["records"].sort(key=lambda r: (r["student"], str(r["topic"]), r["notebook"]))
    return merged


def _check_split(states: list[dict]) -> None:
    """Shards of one split, all of them: a missing shard would export its students as
    "no submission" (zero) to the LMS."""
    shards = [st.get("shard") for st in states]
    if all(sh is None for sh in shards):
        return
    if any(sh is None for sh in shards):
        raise ResultsError("some folders are shards (--shard i/n) and some are not: merge the shards of one split")
    from dlcourse.autograde.shards import parse_shard

    names = [str(sh) for sh in shards]
    parsed = [parse_shard(sh) for sh in names]
    counts = {n for _, n in parsed}
    if len(counts) > 1:
        raise ResultsError(f"the folders come from different splits ({', '.join(sorted(set(names)))}): "
                           "merge the shards of one split (--shard i/n with the same n)")
    n = counts.pop()
    missing = sorted(set(range(1, n + 1)) - {i for i, _ in parsed})
    if missing:
        raise ResultsError(f"shard(s) {', '.join(f'{i}/{n}' for i in missing)} missing: their students would be "
                           "exported with no submission; merge all n shards")


def merge_manual(manuals: list[dict]) -> dict:
    out: dict[str, dict] = {}
    for m in manuals:
        for key, grades in m.items():
            out.setdefault(key, {}).update(grades)
    return out
