"""The ``dlcourse`` command: ``generate``, ``grade`` and ``release`` (instructor tools).

    dlcourse generate [--check]                 solutions/ -> exercises/ (or exit 1 when stale)
    dlcourse grade SUBMISSION --out DIR         one notebook or a folder of students
                                                (exit 0: all graded, 1: some not, 2: setup error)
    dlcourse release OUT_DIR [--force]          the student bundle

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


def cmd_grade(args) -> int:
    """Grade, write every report, then exit 0 (all graded), 1 (some submissions could not be
    graded: see their ``problems``) or 2 (nothing graded: the course, the options or the
    sandbox are wrong)."""
    from dlcourse.autograde.engine import GradingSetupError, exit_status, grade_paths
    from dlcourse.autograde.report import NOT_ISOLATED, write_reports
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
    if args.no_isolation:
        print(f"warning: {NOT_ISOLATED}; student code runs on this machine with only the "
              "in-process guards (every report is marked)", file=sys.stderr)
    start = time.perf_counter()
    try:
        records = grade_paths(args.submission, course_root=root, hidden_dir=hidden, jobs=args.jobs,
                              progress=not args.quiet, fork_server=not args.no_fork_server,
                              isolated=not args.no_isolation, limit_overrides=overrides or None)
    except (GradingSetupError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SETUP_ERROR
    paths = write_reports(records, args.out)
    elapsed = time.perf_counter() - start
    students = {r["student"] for r in records}
    print(f"graded {len(records)} notebook(s) of {len(students)} student(s) in {elapsed:.1f} s"
          + (f" ({NOT_ISOLATED})" if args.no_isolation else ""))
    for r in records:
        status = r.get("status", "graded")
        note = "" if status == "graded" else f"  ({status}: {r['problems'][0] if r['problems'] else '?'})"
        print(f"  {r['student']:<24} {r['topic'] or '?':<20} {r['points']:g} / {r['max_points']:g}"
              + ("" if r.get("unchanged", True) else "  (file changed during grading!)") + note)
    print(f"wrote {paths['json']}, {paths['csv']} and {paths['feedback']}/")
    code = exit_status(records)
    if code:
        bad = sum(r.get("status") == "not graded" for r in records)
        print(f"{bad} submission(s) could not be graded (exit status 1): see their problems above "
              f"and in {paths['json']}", file=sys.stderr)
    return code


def cmd_release(args) -> int:
    from dlcourse.autograde.release import build_release

    try:
        out = build_release(_course(args), args.out, force=args.force)
    except (RuntimeError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"student bundle written to {out}")
    return 0


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
    r.set_defaults(func=cmd_grade)

    s = sub.add_parser("release", help="build the student bundle")
    s.add_argument("out", help="output folder, e.g. dist/student")
    s.add_argument("--force", action="store_true", help="replace an existing output folder")
    s.set_defaults(func=cmd_release)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
