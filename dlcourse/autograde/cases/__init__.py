"""Public check cases of the exercises, one module per topic (``cNN_topic.py``).

They ship to students: ``dlcourse.autograde.checks.check`` runs them in the student's kernel, and the
autograder runs them (with the hidden cases kept in the course's ``grading/`` folder) in its
sandbox.  Format: ``grading/README.md`` in the course repository.
"""
