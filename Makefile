# Two commands for a newcomer: `make lab` (open the course) and `make test` (check it).
# Both create .venv on first use and reuse it afterwards.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch pin: 2.13.0 resolves to a local CPU wheel on the course machines.  For a CUDA build
# on a GPU machine, see README ("GPU"): e.g. make lab TORCH_INDEX=https://download.pytorch.org/whl/cu126
TORCH_SPEC  ?= torch==2.13.0
TORCH_INDEX ?=
PYTEST_ARGS ?=
JOBS ?= auto

.PHONY: lab test setup system-packages exercises release grade html bench mutation clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(BIN)/.installed system-packages

# bubblewrap is the grader's sandbox (docs/instructors.md): installed here when we may (root
# with apt-get); otherwise `dlcourse grade` says how to install it.
system-packages:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null) \
		|| echo "note: bubblewrap is not installed; grading needs it (sudo apt-get install bubblewrap)"; }

lab: setup
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks --ContentsManager.pre_save_hook=dlcourse.lecture.lab.strip_course_outputs $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

test: setup
	DLCOURSE_SCALE=quick $(BIN)/python -m pytest -n $(JOBS) --dist loadfile $(PYTEST_ARGS)

exercises: setup
	$(BIN)/dlcourse generate

release: setup
	$(BIN)/dlcourse release dist/student $(RELEASE_ARGS)

# e.g. make grade SUBMISSIONS=canvas_download ROSTER=roster.csv GRADE_ARGS="--deadline 2026-10-05T23:59:00Z --late-per-day 10"
# (docs/instructors.md: a term, step by step); the summary page follows the gradebooks.
SUBMISSIONS ?= submissions
GRADE_OUT ?= grading-out
ROSTER ?=
GRADE_ARGS ?=
grade: setup
	$(BIN)/dlcourse grade $(SUBMISSIONS) --out $(GRADE_OUT) $(if $(ROSTER),--roster $(ROSTER)) $(GRADE_ARGS)
	$(BIN)/dlcourse summary $(GRADE_OUT)

# The course as a static site (build/html/index.html), readable offline: MathJax is bundled.
# Full scale by default, as a student runs the notebooks; `make html SCALE=quick` is faster.
SCALE ?= full
html: setup
	DLCOURSE_SCALE=$(SCALE) $(BIN)/python -m dlcourse.lecture.site build/html notebooks/[0-9]*.ipynb

bench: setup
	$(BIN)/python benchmarks/import_time.py
	DLCOURSE_SCALE=quick $(BIN)/python benchmarks/notebook_times.py --repeat 2
	$(BIN)/python benchmarks/speed_vs_torch.py --repeat 30

# Mutation testing of the core maths (docs/mutation.md): about 10 minutes on one core, so not
# part of `make test`.  A fresh mutants/ each time: mutmut reuses the copies and the test map of
# an earlier run, which go stale when the sources change.  CI=1 fixes the hypothesis examples.
MUTATION_JOBS ?= 1
mutation: setup
	rm -rf mutants && mkdir mutants
	CI=1 $(BIN)/mutmut run --max-children $(MUTATION_JOBS) > mutants/run.log 2>&1 || { tail -c 3000 mutants/run.log; exit 1; }
	$(BIN)/python benchmarks/mutation_score.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
