"""Grade submissions: find the questions, build the cases, run them sandboxed, score.

``grade_paths`` takes one notebook or a folder of submissions (``student/*.ipynb``
sub-folders or ``student.ipynb`` files), runs every (student, question, case) through
:func:`dlcourse.autograde.sandbox.run_case` on a small thread pool (each case is its own
process), and returns one record per student.  Questions and points come from the trusted
``exercises/NN_topic.ipynb`` of the course, cases from ``dlcourse.autograde.cases`` (public)
and ``grading/`` (hidden); the submission only contributes its graded cells' code.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import queue
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde.sandbox import ForkServer, run_case
from dlcourse.autograde.spec import Case, Limits, compare

PUBLIC_PACKAGE = "dlcourse.autograde.cases"


class GradingSetupError(RuntimeError):
    """The course is incomplete (no exercise notebook, no cases): the instructor's problem."""


def module_name(topic: str) -> str:
    return "c" + topic


def public_module(topic: str) -> ModuleType:
    try:
        return importlib.import_module(f"{PUBLIC_PACKAGE}.{module_name(topic)}")
    except ModuleNotFoundError as exc:
        raise GradingSetupError(f"no public cases for {topic}: {PUBLIC_PACKAGE}.{module_name(topic)}") from exc


def hidden_module(topic: str, hidden_dir: str | Path) -> ModuleType:
    path = Path(hidden_dir) / f"{module_name(topic)}.py"
    if not path.is_file():
        raise GradingSetupError(f"no hidden cases for {topic}: {path} does not exist")
    name = f"_dlcourse_hidden_{module_name(topic)}"
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def module_cases(mod: ModuleType, qid: str) -> list[Case]:
    fn = getattr(mod, f"cases_{qid}", None)
    if fn is None:
        raise GradingSetupError(f"{mod.__name__} has no cases_{qid}()")
    cases = list(fn())
    if not cases or not all(isinstance(c, Case) for c in cases):
        raise GradingSetupError(f"{mod.__name__}.cases_{qid}() must return a non-empty list of Case")
    return cases


def find_course_root(start: str | Path | None = None) -> Path:
    """The folder holding ``exercises/`` (and ``grading/``): from ``start`` upwards, else the
    checkout this package was installed from."""
    here = Path(start or os.getcwd()).resolve()
    for cand in (here, *here.parents):
        if (cand / "exercises").is_dir() and (cand / "solutions").is_dir():
            return cand
    pkg_root = Path(__file__).resolve().parents[2]
    if (pkg_root / "exercises").is_dir():
        return pkg_root
    return here


@dataclass
class TopicSpec:
    """Everything trusted about one topic: questions, points, cases, limits."""

    topic: str
    questions: list[nbmod.Question]
    cases: dict[str, list[tuple[str, Case]]]  # qid -> [(visibility, case)]
    limits: dict[str, Limits]
    hints: dict[str, str]


def load_topic(topic: str, course_root: str | Path, hidden_dir: str | Path | None) -> TopicSpec:
    """Questions from ``exercises/<topic>.ipynb``; public + hidden cases (hidden unless None)."""
    course_root = Path(course_root)
    ref = course_root / "exercises" / f"{topic}.ipynb"
    if not ref.is_file():
        ref = course_root / "solutions" / f"{topic}.ipynb"
    if not ref.is_file():
        raise GradingSetupError(f"unknown topic {topic!r}: no exercises/{topic}.ipynb in {course_root}")
    questions = nbmod.questions(nbmod.read(ref))
    pub = public_module(topic)
    hid = hidden_module(topic, hidden_dir) if hidden_dir is not None else None
    cases, limits = {}, {}
    for q in questions:
        if q.kind != "auto":
            continue
        cases[q.qid] = [("public", c) for c in module_cases(pub, q.qid)]
        if hid is not None:
            cases[q.qid] += [("hidden", c) for c in module_cases(hid, q.qid)]
            limits[q.qid] = getattr(hid, "LIMITS", {}).get(q.qid, Limits())
        else:
            limits[q.qid] = Limits()
    return TopicSpec(topic, questions, cases, limits, dict(getattr(pub, "HINTS", {})))


# --- submissions -------------------------------------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(name: str) -> str:
    return _SAFE.sub("_", name).strip("._") or "student"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def discover(path: str | Path) -> list[tuple[str, Path]]:
    """``(student, notebook)`` pairs: a notebook alone, or a folder of students.

    In a folder, each sub-folder is a student (all its ``*.ipynb``, checkpoints skipped) and
    each top-level ``*.ipynb`` is a student named after the file.
    """
    path = Path(path)
    if path.is_file():
        return [(path.stem, path)]
    if not path.is_dir():
        raise FileNotFoundError(f"no notebook or folder at {path}")
    out = []
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            for nb in sorted(entry.rglob("*.ipynb")):
                if ".ipynb_checkpoints" not in nb.parts:
                    out.append((entry.name, nb))
        elif entry.suffix == ".ipynb":
            out.append((entry.stem, entry))
    return out


@dataclass
class _Task:
    record: dict
    qid: str
    code: list
    visibility: str
    case: Case
    limits: Limits
    result: dict = field(default_factory=dict)


def _prepare(student: str, path: Path, course_root: Path, hidden_dir, topics: dict,
             qids: set[str] | None = None, limits: Limits | None = None) -> tuple[dict, list[_Task]]:
    """Read one submission (read-only) and build its tasks; problems become reasons."""
    record = {"student": student, "notebook": str(path), "topic": None, "points": 0.0,
              "max_points": 0.0, "manual_points": 0.0, "questions": [], "problems": []}
    try:
        record["sha256_before"] = sha256(path)
        raw = path.read_bytes()
        if len(raw) > 50 * 2**20:
            raise ValueError("the file is larger than 50 MiB")
        nb = nbmod.nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:
        record["problems"].append(f"the notebook could not be read ({type(exc).__name__}: {str(exc)[:200]})")
        nb = None
    topic = nbmod.topic_of(nb, path) if nb is not None else nbmod.topic_of({"metadata": {}}, path)
    record["topic"] = topic
    if topic is None:
        record["problems"].append("the topic is unknown (no metadata.dlcourse.topic and no NN_ file name)")
        return record, []
    if topic not in topics:
        topics[topic] = load_topic(topic, course_root, hidden_dir)
    spec: TopicSpec = topics[topic]
    auto = [q.qid for q in spec.questions if q.kind == "auto"]
    extracted, answers = None, {}
    if nb is not None:
        try:
            extracted = nbmod.extract_graded_code(nb, auto)
            answers = nbmod.cells_by_qid(nb)
        except Exception as exc:  # a malformed notebook structure
            record["problems"].append(f"the notebook's cells could not be read ({type(exc).__name__})")
    tasks = []
    for q in spec.questions:
        if qids is not None and q.qid not in qids:
            continue
        entry = {"qid": q.qid, "kind": q.kind, "max_points": q.points, "points": 0.0, "cases": [], "lost": []}
        record["questions"].append(entry)
        if q.kind == "manual":
            entry["points"] = None
            answer = answers.get(q.qid, "")
            entry["answer"] = answer[:5000]
            record["manual_points"] += q.points
            continue
        record["max_points"] += q.points
        problem = None
        if extracted is None:
            problem = "the notebook could not be read"
        elif q.qid in extracted.problems:
            problem = extracted.problems[q.qid]
        for vis, case in spec.cases[q.qid]:
            res = {"name": case.name, "visibility": vis, "weight": case.weight, "passed": False, "reason": problem}
            entry["cases"].append(res)
            if problem is None:
                tasks.append(_Task(entry, q.qid, extracted.cells, vis, case, limits or spec.limits[q.qid], res))
    return record, tasks


def _run(task: _Task, python: str | None, servers: queue.Queue | None) -> None:
    server = servers.get() if servers is not None else None
    try:
        run = run_case(task.code, task.qid, task.case, task.limits, python=python, server=server)
    finally:
        if server is not None:
            servers.put(server)
    if not run.ok:
        task.result["reason"] = run.reason
        return
    reason = compare(task.case, run.value)
    task.result["passed"] = reason is None
    task.result["reason"] = reason


def _score(record: dict, hints: dict[str, str], cases_by_q: dict[str, list[tuple[str, Case]]]) -> None:
    total = 0.0
    for entry in record["questions"]:
        if entry["kind"] != "auto":
            continue
        weights = sum(c["weight"] for c in entry["cases"])
        got = sum(c["weight"] for c in entry["cases"] if c["passed"])
        entry["points"] = round(entry["max_points"] * got / weights, 2) if weights else 0.0
        per_case = entry["max_points"] / weights if weights else 0.0
        case_hints = {c.name: c.hint for _, c in cases_by_q.get(entry["qid"], [])}
        for c in entry["cases"]:
            if not c["passed"]:
                lost = round(per_case * c["weight"], 2)
                entry["lost"].append({"points": lost, "case": f"{c['visibility']} case '{c['name']}'",
                                      "reason": c["reason"] or "failed"})
        hint = hints.get(entry["qid"], "")
        if entry["lost"]:
            hint = next((case_hints[c["name"]] for c in entry["cases"] if not c["passed"] and case_hints.get(c["name"])), hint)
            entry["hint"] = hint
        total += entry["points"]
    record["points"] = round(total, 2)


def grade_paths(path: str | Path, *, course_root: str | Path | None = None,
                hidden_dir: str | Path | None = "default", jobs: int | None = None,
                progress: bool = True, python: str | None = None, qids: set[str] | None = None,
                limits: Limits | None = None, fork_server: bool = True) -> list[dict]:
    """Grade one notebook or a folder; returns one record per (student, notebook).

    ``hidden_dir="default"`` means ``<course_root>/grading``; ``None`` grades with the public
    cases only.  ``qids`` restricts grading to some questions; ``limits`` replaces every
    question's limits.  With ``fork_server`` (default) case processes are forked from one
    numpy-ready template interpreter per worker (:class:`~dlcourse.autograde.sandbox.ForkServer`);
    without it each case starts ``python`` from scratch (slower, same isolation).  Never
    executes student code in this process.
    """
    course_root = Path(course_root) if course_root else find_course_root()
    if hidden_dir == "default":
        hidden_dir = course_root / "grading"
    subs = discover(path)
    topics: dict[str, TopicSpec] = {}
    records, tasks = [], []
    for student, nb_path in subs:
        record, t = _prepare(student, nb_path, course_root, hidden_dir, topics, qids, limits)
        records.append(record)
        tasks.extend(t)
    jobs = max(1, jobs or (os.cpu_count() or 1))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc=f"grading {len(records)} notebook(s)", unit="case")
    servers: queue.Queue | None = None
    if fork_server and tasks:
        servers = queue.Queue()
        for _ in range(jobs):
            servers.put(ForkServer(python))
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for _ in pool.map(lambda t: _run(t, python, servers), tasks):
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        while servers is not None and not servers.empty():
            servers.get().close()
    for record, (_, nb_path) in zip(records, subs, strict=True):
        spec = topics.get(record["topic"])
        _score(record, spec.hints if spec else {}, spec.cases if spec else {})
        try:
            record["sha256_after"] = sha256(nb_path)
        except OSError:
            record["sha256_after"] = None
        record["unchanged"] = record.get("sha256_before") == record["sha256_after"]
    return records
