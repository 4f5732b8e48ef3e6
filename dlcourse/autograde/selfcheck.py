"""``dlcourse check NOTEBOOK``: a student runs the public checks of a notebook from a terminal.

The same checks as the notebook's check cells (:func:`dlcourse.autograde.checks.check`), on
the functions the graded cells define.  This runs the student's own code on the student's
own machine, in this process, like Jupyter does: it is a convenience, not the grader (which
runs hidden cases too, in a sandbox).  Exit status 0 when every public case passes.
"""

from __future__ import annotations

from pathlib import Path


def check_notebooks(paths: list[Path]) -> int:
    import numpy as np

    from dlcourse.autograde import checks
    from dlcourse.autograde import notebook as nbmod

    failed = 0
    for path in paths:
        nb = nbmod.read(path)
        qids = [q.qid for q in nbmod.questions(nb) if q.kind == "auto"]
        extracted = nbmod.extract_graded_code(nb, qids)
        print(f"== {path}")
        namespace: dict = {"np": np, "__name__": "__dlcourse_check__"}
        try:
            exec(compile(extracted.code, str(path), "exec"), namespace)  # the student's own code, as Jupyter would
        except Exception as exc:
            print(f"the graded cells could not be run: {type(exc).__name__}: {exc}")
            failed += len(qids)
            continue
        for qid in qids:
            fn = namespace.get(qid)
            if not callable(fn):
                print(f"{qid}: {extracted.problems.get(qid, 'not defined')}")
                failed += 1
                continue
            checks.check(qid, fn)
            failed += not all(r.passed for r in checks.run_checks(qid, fn))
    return 1 if failed else 0
