"""The ``dlcourse`` command: the instructor's tools, and ``check`` for students.

    dlcourse generate [--check]                 solutions/ -> exercises/ (or exit 1 when stale)
    dlcourse grade SUBMISSIONS --out DIR        a notebook, a folder of students or an LMS download
         [--roster CSV] [--assignments CSV] [--deadline T --late-per-day P --late-max M]
         [--shard i/n] [--only ID,...] [--fresh]
                                                (exit 0: all graded, 1: some not, 2: setup error)
    dlcourse merge OUT SHARD_DIR...             one output folder from the shards' folders
    dlcourse export DIR [--roster ...]          rewrite every report of DIR (new roster, deadlines)
    dlcourse handgrade DIR [--import SHEET...]  written-answer sheets; import the filled ones
    dlcourse summary DIR                        summary.html + histogram.png
    dlcourse nbgrader-metadata [--check]        nbgrader cell metadata in solutions/
    dlcourse release OUT_DIR [--force]          the student bundle
    dlcourse check NOTEBOOK...                  (students) the public checks of a notebook

Run from the course root (or pass ``--course``). See docs/instructors.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _course(args) -> Path:
    from dlcourse.autograde.engine import find_course_root

    return Path(args.course).resolve() if args.course else find_course_root()


def cmd_generate(args) -> int:
    from dlcourse.autograde.notebook import NotebookFormatError, generate

    root = _course(args)
    try:
        changed = generate(root / "solutions", root / "exercises", check=args.check)
    except NotebookFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if changed:
            print("exercises/ is stale (run `dlcourse generate`): " + ", ".join(changed), file=sys.stderr)
            return 1
        print("exercises/ is up to date")
        return 0
    print(f"wrote {len(changed)} exercise notebook(s)" + (": " + ", ".join(changed) if changed else ""))
    return 0


#: ``dlcourse grade`` exit statuses (documented in docs/instructors.md)
EXIT_GRADED, EXIT_SOME_NOT_GRADED, EXIT_SETUP_ERROR = 0, 1, 2
_LIMIT_FLAGS = (("cpu_s", "--cpu-s"), ("wall_s", "--wall-s"), ("memory_mb", "--memory-mb"),
                ("file_mb", "--file-mb"), ("notebook_s", "--notebook-s"))


def _context(args, root: Path) -> dict:
    """The state fields the grade/export options set (roster, assignments, late policy);
    raises ValueError (a setup error) on a bad file or value."""
    from dlcourse.autograde.gradebook import read_assignments
    from dlcourse.autograde.late import LatePolicy
    from dlcourse.autograde.roster import read_roster

    fields: dict = {}
    if getattr(args, "roster", None):
        fields["roster"] = read_roster(args.roster).to_rows()
    assignments = read_assignments(args.assignments) if getattr(args, "assignments", None) else {}
    if assignments:
        fields["assignments"] = {t: vars(a) for t, a in assignments.items()}
    deadlines = {t: a.deadline for t, a in assignments.items() if a.deadline}
    if getattr(args, "deadline", None):
        deadlines.setdefault("*", args.deadline)
    if deadlines or getattr(args, "late_per_day", None) is not None:
        fields["late"] = LatePolicy(deadlines, float(args.late_per_day or 0.0),
                                    float(args.late_max if args.late_max is not None else 100.0),
                                    float(args.grace_min or 0.0)).as_dict()
    return fields


def _questions(root: Path, topics, records: list[dict]) -> dict:
    from dlcourse.autograde.results import course_questions, record_questions

    out = record_questions(records)
    for topic in topics:
        if topic and topic not in out:
            qs = course_questions(root, topic)
            if qs:
                out[topic] = qs
    return out


def cmd_grade(args) -> int:
    """Grade, write every report, then exit 0 (all graded), 1 (some submissions could not be
    graded: see their ``problems``) or 2 (nothing graded: the course, the options or the
    sandbox are wrong).  Into a folder that already holds results, only the students graded
    now are replaced (``--fresh`` starts over)."""
    from dlcourse.autograde import results
    from dlcourse.autograde.engine import (
        GradingSetupError,
        course_topics,
        exit_status,
        grade_submissions,
    )
    from dlcourse.autograde.lms import collect
    from dlcourse.autograde.report import NOT_ISOLATED, write_reports
    from dlcourse.autograde.roster import Roster
    from dlcourse.autograde.shards import parse_shard, shard_students
    from dlcourse.autograde.spec import limit_overrides

    root = _course(args)
    hidden = None if args.public_only else (Path(args.hidden) if args.hidden else root / "grading")
    if hidden is not None and not hidden.is_dir():
        print(f"error: no hidden cases at {hidden} (pass --hidden DIR, or --public-only)", file=sys.stderr)
        return EXIT_SETUP_ERROR
    given = {name: getattr(args, name) for name, _ in _LIMIT_FLAGS if getattr(args, name) is not None}
    try:
        overrides = limit_overrides(given, "command line")
    except ValueError as exc:
        flag = dict(_LIMIT_FLAGS)
        print(f"error: {exc} (flags: {', '.join(flag.values())})", file=sys.stderr)
        return EXIT_SETUP_ERROR
    try:
        old = None if args.fresh else results.load_state(args.out)
        fields = _context(args, root)
        shard = parse_shard(args.shard) if args.shard else None
        roster_rows = fields.get("roster", old.get("roster") if old else None)
        roster = Roster.from_rows(roster_rows) if roster_rows else None
        subs, unknown = collect(args.submission, roster, course_topics(root))
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SETUP_ERROR
    if args.only:
        wanted = {w.strip() for w in args.only.split(",") if w.strip()}
        subs = [s for s in subs if s.student in wanted]
        unknown = [u for u in unknown if u["submitter"] in wanted]
        missing = wanted - {s.student for s in subs}
        if missing:
            print(f"warning: no submission found for {', '.join(sorted(missing))}", file=sys.stderr)
    students = None
    if shard is not None:
        students = shard_students([*(roster.ids if roster else []), *(s.student for s in subs)], *shard)
        subs = [s for s in subs if s.student in students]
        unknown = [u for u in unknown if u["submitter"] in students]
    if args.no_isolation:
        print(f"warning: {NOT_ISOLATED}; student code runs on this machine with only the "
              "in-process guards (every report is marked)", file=sys.stderr)
    start = time.perf_counter()
    try:
        records = grade_submissions(subs, course_root=root, hidden_dir=hidden, jobs=args.jobs,
                                    progress=not args.quiet, fork_server=not args.no_fork_server,
                                    isolated=not args.no_isolation, limit_overrides=overrides or None)
    except (GradingSetupError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SETUP_ERROR
    topics = {r["topic"] for r in records} | set(fields.get("assignments", {}))
    state = results.new_state(records, unknown=unknown, students=students,
                              shard=args.shard if shard else None, **fields)
    state["questions"] = _questions(root, topics, records)
    updated: list[str] = []
    if old is not None:
        state, updated = results.update(old, state)
    paths = write_reports(state["records"], args.out, state=state)
    elapsed = time.perf_counter() - start
    graded_students = {r["student"] for r in records}
    print(f"graded {len(records)} notebook(s) of {len(graded_students)} student(s) in {elapsed:.1f} s"
          + (f" ({NOT_ISOLATED})" if args.no_isolation else "")
          + (f"; shard {args.shard}: {len(students or [])} student(s)" if shard else ""))
    for r in records:
        status = r.get("status", "graded")
        note = "" if status == "graded" else f"  ({status}: {r['problems'][0] if r['problems'] else '?'})"
        print(f"  {r['student']:<24} {r['topic'] or '?':<20} {r['points']:g} / {r['max_points']:g}"
              + ("" if r.get("unchanged", True) else "  (file changed during grading!)") + note)
    if old is not None:
        print(f"updated {len(updated)} student(s) in the existing results of {args.out} (the others are kept; "
              "--fresh starts over)")
    for u in unknown:
        print(f"unknown submitter (not on the roster): {u['submitter']} ({u['lms']}): {', '.join(u['files'])}",
              file=sys.stderr)
    print(f"wrote {paths['json']}, {paths['csv']}, {paths['canvas'].name}, {paths['moodle'].name}, "
          f"{paths['long'].name} and {paths['feedback']}/")
    code = exit_status(records)
    if code:
        bad = sum(r.get("status") == "not graded" for r in records)
        print(f"{bad} submission(s) could not be graded (exit status 1): see their problems above "
              f"and in {paths['json']}", file=sys.stderr)
    return code


def cmd_merge(args) -> int:
    from dlcourse.autograde import results
    from dlcourse.autograde.report import write_reports

    try:
        states = []
        for d in args.shards:
            st = results.load_state(d)
            if st is None:
                raise results.ResultsError(f"{d} holds no results (no {results.STATE})")
            states.append(st)
        merged = results.merge(states)
    except (results.ResultsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SETUP_ERROR
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    manual = results.merge_manual([results.load_manual(d) for d in args.shards] + [results.load_manual(out)])
    if manual:
        results.save_manual(out, manual)
    paths = write_reports(merged["records"], out, state=merged)
    print(f"merged {len(args.shards)} folder(s): {len({r['student'] for r in merged['records']})} student(s) "
          f"into {paths['json'].parent}")
    return 0


def cmd_export(args) -> int:
    from dlcourse.autograde import results
    from dlcourse.autograde.report import write_reports

    root = _course(args)
    try:
        state = results.load_state(args.dir)
        if state is None:
            raise results.ResultsError(f"{args.dir} holds no results (no {results.STATE}): run dlcourse grade first")
        fields = _context(args, root)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SETUP_ERROR
    state.update(fields)
    state["questions"] = {**state.get("questions", {}),
                          **_questions(root, set(fields.get("assignments", {})), state["records"])}
    paths = write_reports(state["records"], args.dir, state=state)
    print(f"wrote {paths['canvas']}, {paths['moodle']}, {paths['long']} and {paths['csv']}")
    return 0


def cmd_handgrade(args) -> int:
    from dlcourse.autograde import handgrade

    try:
        if args.import_sheets:
            changed = handgrade.import_sheets(args.dir, args.import_sheets)
            print(f"imported {len(args.import_sheets)} sheet(s): {changed} grade(s) changed; reports rewritten")
        else:
            written = handgrade.write_sheets(args.dir)
            for p in written:
                print(f"wrote {p}")
    except (handgrade.SheetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SETUP_ERROR
    return 0


def cmd_summary(args) -> int:
    from dlcourse.autograde import results
    from dlcourse.autograde.summary import write_summary

    state = results.load_state(args.dir)
    if state is None:
        print(f"error: {args.dir} holds no results (no {results.STATE})", file=sys.stderr)
        return EXIT_SETUP_ERROR
    paths = write_summary(args.dir)
    print(f"wrote {paths['html']} and {paths['png']}")
    return 0


def cmd_nbgrader(args) -> int:
    from dlcourse.autograde.nbgrader_interop import sync_solutions

    root = _course(args)
    folder = Path(args.folder) if args.folder else root / "solutions"
    changed = sync_solutions(folder, check=args.check)
    if args.check:
        if changed:
            print("nbgrader metadata is stale in: " + ", ".join(changed) + " (run `dlcourse nbgrader-metadata`)",
                  file=sys.stderr)
            return 1
        print("nbgrader metadata is up to date")
        return 0
    print(f"wrote nbgrader metadata into {len(changed)} notebook(s)" + (": " + ", ".join(changed) if changed else ""))
    return 0


def cmd_check(args) -> int:
    from dlcourse.autograde.selfcheck import check_notebooks

    return check_notebooks([Path(p) for p in args.notebooks])


def cmd_release(args) -> int:
    from dlcourse.autograde.release import build_release

    stripped: list[str] = []
    try:
        out = build_release(_course(args), args.out, force=args.force,
                            outputs="refuse" if args.refuse_outputs else "strip", stripped=stripped)
    except (RuntimeError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if stripped:
        print(f"cleared the outputs of {len(stripped)} notebook(s) in the bundle: {', '.join(stripped)}")
    print(f"student bundle written to {out}")
    return 0


def _late_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--deadline", help="deadline of every assignment, ISO 8601 (e.g. 2026-10-05T23:59:00+02:00); "
                                      "the assignments file's deadline column overrides it per topic")
    p.add_argument("--late-per-day", type=float, help="percent of the points lost per day (or part) late")
    p.add_argument("--late-max", type=float, help="largest late penalty, percent (default 100)")
    p.add_argument("--grace-min", type=float, help="minutes after the deadline that do not count")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dlcourse", description="dlcourse instructor tools")
    p.add_argument("--course", help="course root (default: found from the current folder)")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write exercises/ from solutions/")
    g.add_argument("--check", action="store_true", help="write nothing; exit 1 when exercises/ is stale")
    g.set_defaults(func=cmd_generate)

    r = sub.add_parser("grade", help="grade one notebook or a folder of submissions")
    r.add_argument("submission", help="a .ipynb, or a folder of student folders / .ipynb files")
    r.add_argument("--out", default="grading-out", help="output folder (default: grading-out)")
    r.add_argument("--hidden", help="hidden cases folder (default: <course>/grading)")
    r.add_argument("--public-only", action="store_true", help="grade with the public cases only")
    r.add_argument("--jobs", type=int, default=None, help="cases run at once (default: CPU count)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--no-fork-server", action="store_true",
                   help="start every case's interpreter from scratch instead of forking a numpy-ready template")
    r.add_argument("--no-isolation", action="store_true",
                   help="grade without the operating-system sandbox (bubblewrap) when it cannot run here; "
                        "every report is marked NOT ISOLATED")
    r.add_argument("--cpu-s", type=float, help="CPU seconds per case (overrides the assignment and LIMITS)")
    r.add_argument("--wall-s", type=float, help="wall-clock seconds per case")
    r.add_argument("--memory-mb", type=int, help="address space per case, MiB")
    r.add_argument("--file-mb", type=int, help="largest file a case may write (output included), MiB")
    r.add_argument("--notebook-s", type=float,
                   help="wall-clock seconds all the cases of one notebook may use together")
    r.add_argument("--roster", help="roster CSV (id, name, email, section, canvas_id, sis_user_id, ...)")
    r.add_argument("--assignments", help="assignments CSV (topic, canvas_name, canvas_id, moodle_name, deadline)")
    _late_flags(r)
    r.add_argument("--shard", help="grade slice i of n of the class (e.g. 2/5); join the slices with dlcourse merge")
    r.add_argument("--only", help="grade only these students (comma-separated ids) and update their rows")
    r.add_argument("--fresh", action="store_true", help="replace the results in --out instead of updating them")
    r.set_defaults(func=cmd_grade)

    m = sub.add_parser("merge", help="merge the output folders of shards into one")
    m.add_argument("out", help="the merged output folder")
    m.add_argument("shards", nargs="+", help="the shards' output folders")
    m.set_defaults(func=cmd_merge)

    e = sub.add_parser("export", help="rewrite the gradebooks of an output folder (new roster, deadlines, ...)")
    e.add_argument("dir", help="an output folder of dlcourse grade")
    e.add_argument("--roster")
    e.add_argument("--assignments")
    _late_flags(e)
    e.set_defaults(func=cmd_export)

    h = sub.add_parser("handgrade", help="write hand-grading sheets of the written answers, or import filled ones")
    h.add_argument("dir", help="an output folder of dlcourse grade")
    h.add_argument("--import", dest="import_sheets", nargs="+", metavar="SHEET",
                   help="filled sheets (CSV) to merge into totals, gradebooks and feedback")
    h.set_defaults(func=cmd_handgrade)

    y = sub.add_parser("summary", help="per-question statistics, a histogram and an offline HTML page")
    y.add_argument("dir", help="an output folder of dlcourse grade")
    y.set_defaults(func=cmd_summary)

    n = sub.add_parser("nbgrader-metadata", help="write nbgrader's cell metadata into the solution notebooks")
    n.add_argument("folder", nargs="?", help="folder of solution notebooks (default: <course>/solutions)")
    n.add_argument("--check", action="store_true", help="write nothing; exit 1 when a notebook is out of sync")
    n.set_defaults(func=cmd_nbgrader)

    c = sub.add_parser("check", help="(students) run the public checks of exercise notebooks")
    c.add_argument("notebooks", nargs="+", help="exercise notebooks, e.g. exercises/01_perceptron.ipynb")
    c.set_defaults(func=cmd_check)

    s = sub.add_parser("release", help="build the student bundle")
    s.add_argument("out", help="output folder, e.g. dist/student")
    s.add_argument("--force", action="store_true", help="replace an existing output folder")
    s.add_argument("--refuse-outputs", action="store_true",
                   help="refuse to release notebooks that carry outputs (default: ship them cleared)")
    s.set_defaults(func=cmd_release)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
