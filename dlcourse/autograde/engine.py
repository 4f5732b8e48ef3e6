"""Grade submissions: find the questions, build the cases, run them sandboxed, score.

``grade_paths`` takes one notebook or a folder of submissions (``student/*.ipynb``
sub-folders or ``student.ipynb`` files), runs every (student, question, case) through
:func:`dlcourse.autograde.sandbox.run_case` on a small thread pool (each case is its own
process), and returns one record per notebook.  Questions, points and limits come from the
trusted ``exercises/NN_topic.ipynb`` of the course, cases from ``dlcourse.autograde.cases``
(public) and ``grading/`` (hidden); the submission only contributes its graded cells' code.

Submissions are untrusted input before any code runs, too: only regular files are read
(checked with ``lstat`` before and ``fstat`` after an ``O_NOFOLLOW | O_NONBLOCK`` open, so a
symbolic link, a FIFO, a device or a file that grows past the size cap is refused without
blocking), and a submission that cannot be graded gets a record with the reason instead of
stopping the batch.
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import importlib.util
import inspect
import os
import queue
import re
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde import sandbox
from dlcourse.autograde.spec import (
    BUDGET_REASON,
    Case,
    Limits,
    compare,
    copy_args,
    expected_plain,
    reason_category,
    to_plain,
    with_overrides,
)

PUBLIC_PACKAGE = "dlcourse.autograde.cases"


#: the largest submission that is read at all (a notebook with plots is a few MiB)
MAX_SUBMISSION_BYTES = 50 * 2**20


class GradingSetupError(RuntimeError):
    """The course is incomplete (no exercise notebook, no cases): the instructor's problem."""


class IsolationUnavailable(GradingSetupError):
    """The operating-system sandbox (bubblewrap) cannot run here, and isolation was asked for."""


class SubmissionRefused(ValueError):
    """A submission that is not a regular notebook file of a sane size: never opened or read."""


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
    if spec is None or spec.loader is None:
        raise GradingSetupError(f"the hidden cases {path} cannot be imported as a module")
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


def trivial_answer(case: Case) -> str | None:
    """Which trivial answer passes ``case``, if one does: ``"zeros"``, ``"ones"``, ``"NaN"``
    (shaped like the expected value, or for a ``check=`` case like the first argument) or
    ``"first argument"`` (the input handed back unchanged); else None.

    Edge cases often have such answers (p = 1 drops everything, a zero gradient stays zero,
    eval mode is the identity).  Computed in the grading process from the trusted case alone.
    """
    try:
        args, kwargs = copy_args(case.args, case.kwargs)
    except TypeError:
        return None
    first = args[0] if args else next(iter(kwargs.values()), None)
    try:
        first_plain = to_plain(first)
    except (TypeError, ValueError):
        first_plain = None
    if case.expected is not None:
        shape_of = expected_plain(case.expected)
    elif isinstance(first_plain, np.ndarray):
        shape_of = first_plain
    else:
        shape_of = None

    def like(make):
        if isinstance(shape_of, tuple):
            return tuple(make(np.shape(e)) for e in shape_of)
        return make(np.shape(shape_of) if shape_of is not None else ())  # None: a scalar

    candidates: list[tuple[str, object]] = []
    if shape_of is not None:
        candidates += [("zeros", like(np.zeros)), ("ones", like(np.ones)),
                       ("NaN", like(lambda shp: np.full(shp, np.nan)))]
    if first_plain is not None:
        candidates.append(("first argument", first_plain))
    for name, value in candidates:
        with np.errstate(all="ignore"):
            if compare(case, value) is None:
                return name
    return None


#: the reason of a passed case that does not count (see :func:`_score`)
TRIVIAL_REASON = ("passed, but a trivial answer ({answer}) passes this case too: it counts once a case of "
                  "this question whose answer is not trivial passes")


@dataclass
class TopicSpec:
    """Everything trusted about one topic: questions, points, cases, limits.

    ``trivial`` maps a qid to ``{(visibility, case name): trivial answer}`` for its cases that
    a trivial answer passes (:func:`trivial_answer`).
    """

    topic: str
    questions: list[nbmod.Question]
    cases: dict[str, list[tuple[str, Case]]]  # qid -> [(visibility, case)]
    limits: dict[str, Limits]
    hints: dict[str, str]
    trivial: dict[str, dict[tuple[str, str], str]] = field(default_factory=dict)
    #: modules the trusted notebook's ``metadata.dlcourse.allow_imports`` opts into (torch)
    allow_imports: tuple[str, ...] = ()
    #: qid -> (source, name) of the public module's ``DRIVERS[qid]`` (see sandbox.run_case)
    drivers: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def notebook_s(self) -> float:
        """The wall-clock budget of one notebook of this topic (the largest of its questions')."""
        return max((lim.notebook_s for lim in self.limits.values()), default=Limits().notebook_s)


def load_topic(topic: str, course_root: str | Path, hidden_dir: str | Path | None,
               overrides: dict | None = None) -> TopicSpec:
    """Questions from ``exercises/<topic>.ipynb``; public + hidden cases (hidden unless None).

    Each question's limits: the hidden module's ``LIMITS[qid]`` (else the defaults), with the
    fields named in the exercise notebook's ``metadata.dlcourse.limits`` replaced, then those
    named in ``overrides`` (the command line's).
    """
    course_root = Path(course_root)
    ref = course_root / "exercises" / f"{topic}.ipynb"
    if not ref.is_file():
        ref = course_root / "solutions" / f"{topic}.ipynb"
    if not ref.is_file():
        raise GradingSetupError(f"unknown topic {topic!r}: there is no exercises/{topic}.ipynb in {course_root} "
                                "(check the notebook's metadata.dlcourse.topic or its NN_topic file name)")
    ref_nb = nbmod.read(ref)
    questions = nbmod.questions(ref_nb)
    try:
        assignment = nbmod.assignment_limits(ref_nb, str(ref))
    except nbmod.NotebookFormatError as exc:
        raise GradingSetupError(str(exc)) from None
    pub = public_module(topic)
    hid = hidden_module(topic, hidden_dir) if hidden_dir is not None else None
    hidden_limits = getattr(hid, "LIMITS", {}) if hid is not None else {}
    cases, limits = {}, {}
    for q in questions:
        if q.kind != "auto":
            continue
        cases[q.qid] = [("public", c) for c in module_cases(pub, q.qid)]
        if hid is not None:
            cases[q.qid] += [("hidden", c) for c in module_cases(hid, q.qid)]
        base = hidden_limits.get(q.qid, Limits())
        if not isinstance(base, Limits):
            where = f"{hid.__name__}." if hid is not None else ""
            raise GradingSetupError(f"{where}LIMITS[{q.qid!r}] must be a Limits(...), "
                                    f"got {type(base).__name__}")
        try:
            limits[q.qid] = with_overrides(with_overrides(base, assignment), overrides)
        except ValueError as exc:
            raise GradingSetupError(str(exc)) from None
    trivial = {qid: {(vis, c.name): why for vis, c in qcases if (why := trivial_answer(c))}
               for qid, qcases in cases.items()}
    meta = ref_nb.get("metadata", {}).get("dlcourse", {})
    try:  # from the trusted copy only: a submission's metadata never grants an import
        allow = tuple(sorted(sandbox.allowed_imports(meta.get("allow_imports") if isinstance(meta, dict) else None)))
    except ValueError as exc:
        raise GradingSetupError(f"{ref}: metadata.dlcourse.{exc}") from None
    drivers = {qid: (inspect.getsource(sys.modules[fn.__module__]), fn.__name__)
               for qid, fn in getattr(pub, "DRIVERS", {}).items()}
    return TopicSpec(topic, questions, cases, limits, dict(getattr(pub, "HINTS", {})), trivial, allow, drivers)


# --- submissions -------------------------------------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(name: str) -> str:
    return _SAFE.sub("_", name).strip("._") or "student"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def read_submission(path: str | Path, max_bytes: int = MAX_SUBMISSION_BYTES) -> tuple[bytes, os.stat_result]:
    """The bytes of a submission that is a regular file of at most ``max_bytes``, and its stat.

    Checked with ``lstat`` before anything is opened: a symbolic link (whatever it points to,
    a solution notebook included), a FIFO, a socket, a device or a folder is refused, as is a
    file whose size (sparse or not) is over the cap.  The file is then opened with
    ``O_NOFOLLOW | O_NONBLOCK`` (a link or a FIFO swapped in after the check neither is
    followed nor blocks) and ``fstat`` must show the very file that was checked.  Raises
    :class:`SubmissionRefused` with the reason, or OSError when the file cannot be read.
    """
    path = os.fspath(path)
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        extra = ""
        if stat.S_ISLNK(st.st_mode):
            try:
                extra = f" to {os.readlink(path)!r}"
            except OSError:
                pass
        raise SubmissionRefused(f"the submission is {_kind(st.st_mode)}{extra}, not a regular notebook file: "
                                "only the .ipynb file itself is graded (hand in a copy, not a link)")
    if st.st_size > max_bytes:
        raise SubmissionRefused(f"the submission is {st.st_size / 2**20:,.0f} MiB; at most "
                                f"{max_bytes / 2**20:g} MiB is read (clear the notebook's outputs and hand it in again)")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SubmissionRefused("the submission became a symbolic link while it was being read") from None
        raise
    try:
        fst = os.fstat(fd)
        if not stat.S_ISREG(fst.st_mode) or (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            raise SubmissionRefused("the submission was replaced while it was being read (it is now "
                                    f"{_kind(fst.st_mode) if not stat.S_ISREG(fst.st_mode) else 'another file'})")
        if fst.st_size > max_bytes:
            raise SubmissionRefused(f"the submission grew past {max_bytes / 2**20:g} MiB while it was being read")
        chunks, size = [], 0
        while size <= max_bytes:
            block = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not block:
                break
            chunks.append(block)
            size += len(block)
        if size > max_bytes:
            raise SubmissionRefused(f"the submission grew past {max_bytes / 2**20:g} MiB while it was being read")
        return b"".join(chunks), fst
    finally:
        os.close(fd)


def sha256(path: str | Path) -> str:
    """SHA-256 of a submission, read as :func:`read_submission` reads it."""
    return hashlib.sha256(read_submission(path)[0]).hexdigest()


def _walk_student(folder: Path, topics: frozenset[str] | None = None) -> list[Path]:
    """A student folder's notebooks and other handed-in files (:func:`is_handed_in`), and
    symbolic links to folders: each gets a record; never following a link."""
    out = []
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return [folder]
    for entry in entries:
        if entry.name == ".ipynb_checkpoints":
            continue
        if entry.is_dir(follow_symlinks=False):
            out.extend(_walk_student(Path(entry.path), topics))
        elif is_handed_in(entry.name, topics) or (entry.is_symlink() and os.path.isdir(entry.path)):
            out.append(Path(entry.path))
    return out


def is_notebook_name(name: str) -> bool:
    """``*.ipynb``, in any case (``01_perceptron.IPYNB`` is a notebook)."""
    return name.lower().endswith(".ipynb")


def course_topics(course_root: str | Path) -> frozenset[str]:
    """The topics of a course: the ``NN_topic`` names of its ``exercises/`` and ``solutions/`` notebooks."""
    root = Path(course_root)
    return frozenset(p.stem for folder in ("exercises", "solutions") for p in (root / folder).glob("*.ipynb")
                     if nbmod.topic_of({"metadata": {}}, p) is not None)


def handed_in_topic(name: str, topics: frozenset[str] | set[str]) -> str | None:
    """The topic a file that is not a notebook was handed in for: its name is a course topic with
    an extension (``01_perceptron.py``), perhaps after an LMS prefix (``doejane_12_34_01_perceptron.pdf``)
    and with a resubmission number (``-1``); None for any other name (``notes.txt``,
    ``fig_03_loss.png``, ``01_perceptron.ipynb.bak``, ``01_perceptron.ipynb~``)."""
    for topic in sorted(topics):
        if re.fullmatch(rf"(?:.*_)?{re.escape(topic)}(?:-\d+)?\.[A-Za-z0-9]+", name):
            return topic
    return None


def is_handed_in(name: str, topics: frozenset[str] | set[str] | None = None) -> bool:
    """A file that is graded or refused with a reason: a notebook, or (with the course's
    ``topics``) a file named after one of them, which the student meant as the notebook
    (:func:`handed_in_topic`).  Anything else in a submission folder is not work and is passed over."""
    return is_notebook_name(name) or (topics is not None and not name.startswith(".")
                                      and handed_in_topic(name, topics) is not None)


def is_one_student(folder: Path) -> bool:
    """True for a folder that holds one student's work: no sub-folder, and every notebook in it
    named after a topic (``NN_topic.ipynb``), as in ``dlcourse grade subs/carol``."""
    try:
        entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
    except OSError:
        return False
    notebooks = [e for e in entries if is_notebook_name(e.name)]
    return bool(notebooks) and not any(e.is_dir(follow_symlinks=False) for e in entries) and all(
        nbmod.topic_of({"metadata": {}}, e.name) is not None for e in notebooks)


@dataclass
class Submission:
    """One notebook to grade and who handed it in.

    ``name`` is the file name the topic is read from when the notebook's metadata does not say
    (an LMS download renames ``01_perceptron.ipynb`` to ``doejane_123_456_01_perceptron.ipynb``);
    ``info`` is copied into the record (``lms``, ``submitted_at``, ``late_marker``, ...).
    """

    student: str
    path: Path
    name: str | None = None
    info: dict = field(default_factory=dict)


def discover(path: str | Path, topics: frozenset[str] | None = None) -> list[tuple[str, Path]]:
    """``(student, notebook)`` pairs: a notebook alone, or a folder of students.

    In a folder, each sub-folder is a student (all its ``*.ipynb``, checkpoints skipped) and
    each top-level ``*.ipynb`` is a student named after the file; with the course's ``topics``
    (:func:`course_topics`), a file that is not a notebook but is named after a topic
    (:func:`handed_in_topic`) counts as one, so that grading reports it instead of passing over it.  Symbolic links are never
    followed inside the folder: a link named like a notebook, or a link to a folder, is
    returned as it is so that grading refuses it with a reason.  Nothing is opened here.
    A folder whose notebooks are all named after topics (``01_perceptron.ipynb``) and that has
    no sub-folder is one student's (:func:`is_one_student`), named after the folder, and so is a
    topic-named notebook given alone.
    """
    path = Path(path)
    if not os.path.lexists(path):
        raise FileNotFoundError(f"no notebook or folder at {path}")
    if not path.is_dir():  # one submission, whatever it is: grading checks what it is
        # ``subs/carol/01_perceptron.ipynb`` is carol's, not a student named after the topic
        named_after_topic = nbmod.topic_of({"metadata": {}}, path) is not None and path.parent.name
        return [(path.parent.name if named_after_topic else path.stem, path)]
    if is_one_student(path):  # ``subs/carol`` holding 01_perceptron.ipynb, 02_backprop.ipynb, ...
        return [(path.name, nb) for nb in _walk_student(path, topics)]
    out: list[tuple[str, Path]] = []
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        p = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            out.extend((entry.name, nb) for nb in _walk_student(p, topics))
        elif is_handed_in(entry.name, topics):
            out.append((p.stem, p))
        elif entry.is_symlink():
            out.append((entry.name, p))
    return out


class _Budget:
    """The wall-clock time one notebook's cases may still use, shared by worker threads.

    A case reserves up to its own wall limit before it starts and gives back what it did not
    use, so that cases running in parallel never use more than the budget together.  When what is
    left is less than a case's limit while other cases hold reservations, the case waits for them
    to settle (they usually give most of it back) instead of failing: only time actually used can
    exhaust the budget, however many workers run.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self._left = float(seconds)
        self._holders = 0
        self._cond = threading.Condition()

    def reserve(self, want: float) -> float:
        """Seconds granted to a case that may run ``want`` (0.0 once the budget is spent)."""
        with self._cond:
            while self._left < want and self._holders > 0:
                self._cond.wait()
            if self._left <= 0:
                return 0.0
            got = min(float(want), self._left)
            self._left -= got
            self._holders += 1
            return got

    def settle(self, reserved: float, used: float) -> None:
        """Give back what a case granted ``reserved`` seconds did not use."""
        with self._cond:
            self._left += reserved - used
            self._holders -= 1
            self._cond.notify_all()


@dataclass
class _Task:
    record: dict
    qid: str
    code: list
    visibility: str
    case: Case
    limits: Limits
    budget: _Budget
    result: dict = field(default_factory=dict)
    allow_imports: tuple[str, ...] = ()
    driver: tuple[str, str] | None = None


def _new_record(student: str, path: Path, isolated: bool) -> dict:
    return {"student": student, "notebook": str(path), "topic": None, "status": "graded", "isolated": isolated,
            "points": 0.0, "max_points": 0.0, "manual_points": 0.0, "questions": [], "problems": []}


def _not_graded(record: dict, why: str) -> None:
    record["status"] = "not graded"
    record["problems"].append(why)


def _read(student: str, path: Path, isolated: bool, name: str | None = None) -> tuple[dict, object | None]:
    """Read one submission (read-only): its record, its notebook (None when unreadable).
    ``name``: the file name the topic is read from when the metadata does not say (else the path's)."""
    record = _new_record(student, path, isolated)
    nb = None
    try:
        raw, st = read_submission(path)
    except SubmissionRefused as exc:
        _not_graded(record, str(exc))
        record["refused"] = True
        raw = None
    except OSError as exc:
        _not_graded(record, f"the notebook could not be read ({type(exc).__name__}: {exc.strerror or exc}); "
                            "check its permissions")
        raw = None
    if raw is not None:
        record["sha256_before"] = hashlib.sha256(raw).hexdigest()
        record["mtime_ns"] = st.st_mtime_ns
        try:
            nb = nbmod.nbformat.reads(raw.decode("utf-8"), as_version=4)
            if not isinstance(nb.get("cells"), list) or not isinstance(nb.get("metadata", {}), dict):
                raise ValueError("no list of cells")
        except Exception as exc:
            _not_graded(record, f"the notebook could not be read ({type(exc).__name__}: {str(exc)[:200]}); "
                                "hand in the .ipynb file saved by Jupyter")
            nb = None
    named = name or path
    try:
        record["topic"] = nbmod.topic_of(nb if nb is not None else {"metadata": {}}, named)
    except Exception:  # metadata of the wrong type
        record["topic"] = nbmod.topic_of({"metadata": {}}, named)
    if record["topic"] is None and record["status"] == "graded":
        _not_graded(record, "the topic is unknown (no metadata.dlcourse.topic and no NN_topic file name)")
    return record, nb


def _supersede(records: list[dict], notebooks: list) -> None:
    """One graded notebook per (student, topic): the newest readable one by modification time
    (ties: the last file name; the newest file when none is readable); the others get
    ``superseded_by``, no questions, and the status ``"superseded"`` with the reason — except a
    file the grader refused (a link, a FIFO), which stays ``"not graded"``."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(records):
        if r["topic"] is not None:
            groups.setdefault((r["student"], r["topic"]), []).append(i)
    for idx in groups.values():
        if len(idx) < 2:
            continue
        readable = [i for i in idx if notebooks[i] is not None]
        winner = max(readable or idx, key=lambda i: (records[i].get("mtime_ns", -1), records[i]["notebook"]))
        for i in idx:
            if i == winner:
                continue
            # A loser that could not be read as a notebook (a stray 01_perceptron.py beside it) is
            # superseded, keeping its own problem: the gradebook shows the winner, never a 0 for it.
            # One the grader refused (a link to a solution, a FIFO) stays "not graded": the run's
            # exit status must still alert the instructor.
            winner_name = Path(records[winner]["notebook"]).name
            if records[i].get("refused"):
                records[i]["problems"].append(f"(besides, {winner_name} of the same topic was graded)")
            else:
                was = "" if notebooks[i] is not None else " (it could not be graded either)"
                records[i]["status"] = "superseded"
                records[i]["problems"].append(
                    f"superseded by {winner_name}{was}: of several files of one topic, "
                    "only the newest readable notebook (by modification time) is graded")
            notebooks[i] = None
            records[i]["superseded_by"] = records[winner]["notebook"]


def _build(record: dict, nb, spec: TopicSpec, qids: set[str] | None, limits: Limits | None) -> list[_Task]:
    """The record's questions and the tasks that grade them; problems become reasons."""
    auto = [q.qid for q in spec.questions if q.kind == "auto"]
    extracted: nbmod.Extracted | None = None
    answers: dict[str, str] = {}
    if nb is not None:
        try:
            extracted = nbmod.extract_graded_code(nb, auto)
            answers = nbmod.cells_by_qid(nb)
        except Exception as exc:  # a malformed notebook structure
            _not_graded(record, f"the notebook's cells could not be read ({type(exc).__name__})")
            extracted = None
    graded = [q for q in spec.questions if qids is None or q.qid in qids]
    budget = _Budget(limits.notebook_s if limits is not None else
                     max((spec.limits[q.qid].notebook_s for q in graded if q.kind == "auto"), default=spec.notebook_s))
    record["time_budget_s"] = budget.seconds
    tasks = []
    for q in graded:
        entry: dict[str, Any] = {"qid": q.qid, "kind": q.kind, "max_points": q.points, "points": 0.0,
                                 "cases": [], "lost": []}
        record["questions"].append(entry)
        if q.kind == "manual":
            entry["points"] = None
            answer = answers.get(q.qid, "")
            entry["answer"] = answer[:5000]
            record["manual_points"] += q.points
            continue
        record["max_points"] += q.points
        q_limits = limits or spec.limits[q.qid]
        entry["limits"] = asdict(q_limits)
        problem = None
        if extracted is None:
            problem = "the notebook could not be read"
        elif q.qid in extracted.problems:
            problem = extracted.problems[q.qid]
        elif q.qid in extracted.warnings:
            entry["warning"] = extracted.warnings[q.qid]
        trivial = spec.trivial.get(q.qid, {})
        for vis, case in spec.cases[q.qid]:
            res = {"name": case.name, "visibility": vis, "weight": case.weight, "passed": False,
                   "reason": problem, "stage": "prepare"}
            if (vis, case.name) in trivial:
                res["trivial"] = trivial[(vis, case.name)]
            entry["cases"].append(res)
            if problem is None and extracted is not None:  # no problem: the code was extracted
                tasks.append(_Task(entry, q.qid, extracted.cells, vis, case, q_limits, budget, res,
                                   spec.allow_imports, spec.drivers.get(q.qid)))
    return tasks


def _run(task: _Task, python: str | None, servers: queue.Queue | None, isolated: bool) -> None:
    # The server first: a case waiting for one must not hold a share of the notebook's budget.
    server = servers.get() if servers is not None else None
    reserved = task.budget.reserve(task.limits.wall_s)
    if reserved <= 0:
        if server is not None and servers is not None:
            servers.put(server)
        task.result.update(reason=BUDGET_REASON.format(seconds=task.budget.seconds), stage="budget")
        return
    limits = task.limits if reserved >= task.limits.wall_s else replace(task.limits, wall_s=reserved)
    start = time.monotonic()
    try:
        run = sandbox.run_case(task.code, task.qid, task.case, limits, python=python, server=server, isolated=isolated,
                               allow_imports=task.allow_imports, driver=task.driver)
    finally:
        used = time.monotonic() - start
        task.budget.settle(reserved, used)
        if server is not None and servers is not None:
            servers.put(server)
    task.result["seconds"] = round(used, 3)
    if not run.ok:
        if reserved < task.limits.wall_s and used >= reserved:  # cut short by the budget
            task.result.update(reason=BUDGET_REASON.format(seconds=task.budget.seconds), stage="budget")
        else:
            task.result.update(reason=run.reason, stage="run")
        if run.output_tail:
            task.result["output_tail"] = run.output_tail[-1500:]
        return
    reason = compare(task.case, run.value)
    task.result.update(passed=reason is None, reason=reason, stage="compare")


def _score(record: dict, hints: dict[str, str], cases_by_q: dict[str, list[tuple[str, Case]]]) -> None:
    """Points per question and in total; one ``lost`` entry per failed case.

    A case that a trivial answer passes (:func:`trivial_answer`) counts only when the same
    submission passes at least one case of the question that no trivial answer passes, so
    returning zeros, ones, NaN or the input earns nothing; a question whose every case is
    trivial is scored as it is.  Each ``lost`` entry keeps the full reason (for the instructor's JSON) and a ``category``
    (:func:`~dlcourse.autograde.spec.reason_category`), which is all the student's feedback
    shows of a hidden case.  The hint is the first failed case's ``hint`` (written by the
    instructor, so a hidden case's may be shown unless it names the case), else the question's.
    """
    total = 0.0
    for entry in record["questions"]:
        if entry["kind"] != "auto":
            continue
        substantive = [c for c in entry["cases"] if not c.get("trivial")]
        if substantive and not any(c["passed"] for c in substantive):
            for c in entry["cases"]:
                if c["passed"]:  # only edge cases a constant or the input itself passes: not counted
                    c.update(passed=False, reason=TRIVIAL_REASON.format(answer=c["trivial"]), stage="gate")
        weights = sum(c["weight"] for c in entry["cases"])
        got = sum(c["weight"] for c in entry["cases"] if c["passed"])
        entry["points"] = round(entry["max_points"] * got / weights, 2) if weights else 0.0
        per_case = entry["max_points"] / weights if weights else 0.0
        case_hints = {(vis, c.name): c.hint for vis, c in cases_by_q.get(entry["qid"], [])}
        count = {vis: sum(c["visibility"] == vis for c in entry["cases"]) for vis in ("public", "hidden")}
        seen = {"public": 0, "hidden": 0}
        hint = None
        for c in entry["cases"]:
            vis = c["visibility"]
            seen[vis] = seen.get(vis, 0) + 1
            c["category"] = None if c["passed"] else reason_category(c["reason"], c.get("stage", "run"))
            if c["passed"]:
                continue
            entry["lost"].append({"points": round(per_case * c["weight"], 2), "case": f"{vis} case '{c['name']}'",
                                  "name": c["name"], "visibility": vis, "index": seen[vis], "of": count.get(vis, 0),
                                  "reason": c["reason"] or "failed", "category": c["category"]})
            case_hint = case_hints.get((vis, c["name"]))
            if hint is None and case_hint and not (vis == "hidden" and c["name"] in case_hint):
                hint = case_hint
        if entry["lost"]:
            entry["hint"] = hint or hints.get(entry["qid"], "")
        total += entry["points"]
    record["points"] = round(total, 2)


def grade_paths(path: str | Path, *, course_root: str | Path | None = None,
                hidden_dir: str | Path | None = "default", jobs: int | None = None,
                progress: bool = True, python: str | None = None, qids: set[str] | None = None,
                limits: Limits | None = None, fork_server: bool = True, isolated: bool = True,
                limit_overrides: dict | None = None) -> list[dict]:
    """Grade one notebook or a folder; returns one record per (student, notebook).

    ``hidden_dir="default"`` means ``<course_root>/grading``; ``None`` grades with the public
    cases only.  ``qids`` restricts grading to some questions; ``limits`` replaces every
    question's limits; ``limit_overrides`` (``{"cpu_s": 10}``, the command line's) replaces
    only the fields it names, over the assignment's and the hidden module's.  With
    ``fork_server`` (default) case processes are forked from one numpy-ready template
    interpreter per worker (:class:`~dlcourse.autograde.sandbox.ForkServer`); without it each
    case starts its own.  ``isolated`` (default) runs every case under the operating-system
    sandbox and raises :class:`IsolationUnavailable` when it cannot run here; ``False`` (the
    instructor's explicit ``--no-isolation``) grades without it and marks every record
    ``"isolated": false``.  A submission that cannot be graded (refused, unreadable, unknown
    topic) gets a record with ``"status": "not graded"`` and its reason in ``problems``; a
    notebook replaced by a newer one of the same topic ``"status": "superseded"``.  Never
    executes student code in this process.
    """
    topics = course_topics(Path(course_root) if course_root else find_course_root())
    subs = [Submission(student, nb_path) for student, nb_path in discover(path, topics)]
    return grade_submissions(subs, course_root=course_root, hidden_dir=hidden_dir, jobs=jobs, progress=progress,
                             python=python, qids=qids, limits=limits, fork_server=fork_server, isolated=isolated,
                             limit_overrides=limit_overrides)


def grade_submissions(subs: list[Submission], *, course_root: str | Path | None = None,
                      hidden_dir: str | Path | None = "default", jobs: int | None = None,
                      progress: bool = True, python: str | None = None, qids: set[str] | None = None,
                      limits: Limits | None = None, fork_server: bool = True, isolated: bool = True,
                      limit_overrides: dict | None = None) -> list[dict]:
    """Grade the given submissions (:class:`Submission`: who, which file); the options are
    :func:`grade_paths`'s, which calls this on what :func:`discover` finds."""
    course_root = Path(course_root) if course_root else find_course_root()
    if hidden_dir == "default":
        hidden_dir = course_root / "grading"
    if isolated:
        problem = sandbox.isolation_problem(python)
        if problem:
            raise IsolationUnavailable(problem)
    isolated_flag = bool(isolated)
    if limit_overrides:
        with_overrides(Limits(), limit_overrides)  # a bad override is the instructor's error, before any work
    records, notebooks = [], []
    for sub in subs:
        record, nb = _read(sub.student, sub.path, isolated_flag, sub.name)
        record.update(sub.info)
        records.append(record)
        notebooks.append(nb)
    _supersede(records, notebooks)
    topics: dict[str, TopicSpec | str] = {}
    tasks = []
    for record, nb in zip(records, notebooks, strict=True):
        topic = record["topic"]
        if topic is None or "superseded_by" in record:
            continue
        if topic not in topics:
            try:
                topics[topic] = load_topic(topic, course_root, hidden_dir, limit_overrides)
            except Exception as exc:  # this topic's problem, not the batch's
                topics[topic] = f"{exc}" if isinstance(exc, GradingSetupError) else \
                    f"the cases of topic {topic!r} could not be loaded ({type(exc).__name__}: {exc})"
        spec = topics[topic]
        if isinstance(spec, str):
            _not_graded(record, spec)
            continue
        tasks.extend(_build(record, nb, spec, qids, limits))
    jobs = max(1, jobs or (os.cpu_count() or 1))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc=f"grading {len(records)} notebook(s)", unit="case")
    servers: queue.Queue | None = None
    try:
        if fork_server and tasks:
            servers = queue.Queue()
            for _ in range(jobs):
                servers.put(sandbox.ForkServer(python, isolated=isolated_flag))
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for _ in pool.map(lambda t: _run(t, python, servers, isolated_flag), tasks):
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        while servers is not None and not servers.empty():
            servers.get().close()
    for record, nb_path in zip(records, [sub.path for sub in subs], strict=True):
        loaded = topics.get(record["topic"])
        topic_spec = loaded if isinstance(loaded, TopicSpec) else None  # a str: the topic's problem
        _score(record, topic_spec.hints if topic_spec else {}, topic_spec.cases if topic_spec else {})
        if "sha256_before" in record:
            try:
                record["sha256_after"] = sha256(nb_path)
            except (OSError, SubmissionRefused):
                record["sha256_after"] = None
            record["unchanged"] = record["sha256_before"] == record["sha256_after"]
    return records


def exit_status(records: list[dict]) -> int:
    """0 when every submission was graded (superseded duplicates included), 1 when some could not be."""
    return 1 if any(r.get("status") == "not graded" for r in records) else 0
