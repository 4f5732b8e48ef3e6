"""The autograder: exercise generation, sandboxed grading and reports.

* :mod:`~dlcourse.autograde.spec` — ``Case``, ``Rng``, ``Limits`` and the comparison rules;
* :mod:`~dlcourse.autograde.notebook` — the notebook format, the generator, code extraction;
* :mod:`~dlcourse.autograde.sandbox` / :mod:`~dlcourse.autograde.sandbox_child` — one case in
  a fresh, resource-limited process;
* :mod:`~dlcourse.autograde.engine` — grading a notebook or a folder;
* :mod:`~dlcourse.autograde.report` — JSON, CSV gradebook, Markdown feedback;
* :mod:`~dlcourse.autograde.release` — the student bundle.

The authoring spec is ``grading/README.md`` in the course repository; the instructor's guide
is ``docs/instructors.md``.
"""
