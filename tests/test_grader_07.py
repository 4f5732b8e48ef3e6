"""Assignment 07 (the PyTorch workflow): the solution scores full marks and the stub zero in the
real sandbox, where torch is importable for this assignment only; every usual mistake in a torch
training or evaluation loop loses a case; the drivers' oracles agree with torch's own loop."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dlcourse.autograde import checks, sandbox
from dlcourse.autograde import notebook as nbmod
from dlcourse.autograde.cases import c07_pytorch_workflow as pub
from dlcourse.autograde.engine import grade_paths, hidden_module, load_topic
from dlcourse.autograde.spec import compare, copy_args, to_plain

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "07_pytorch_workflow"
QIDS = ("train_one_epoch", "evaluate", "l2_penalty", "fit")


def _solution_namespace() -> dict:
    nb = nbmod.read(ROOT / "solutions" / f"{TOPIC}.ipynb")
    ns: dict = {"np": np}
    exec(nbmod.extract_graded_code(nb, list(QIDS)).code, ns)  # noqa: S102 - the course's own solution
    return ns


def _passes(qid: str, fn) -> list[bool]:
    """Pass/fail of every public and hidden case of ``qid`` for ``fn``, run here through its driver."""
    out = []
    for mod in (pub, hidden_module(TOPIC, ROOT / "grading")):
        for case in getattr(mod, f"cases_{qid}")():
            args, kwargs = copy_args(case.args, case.kwargs)
            try:
                reason = compare(case, to_plain(pub.DRIVERS[qid](fn, *args, **kwargs)))
            except Exception:  # noqa: BLE001 - a mistake that raises loses the case
                reason = "raised"
            out.append(reason is None)
    return out


def test_the_assignment_opts_into_torch_and_every_question_has_a_driver():
    spec = load_topic(TOPIC, ROOT, ROOT / "grading")
    assert spec.allow_imports == ("torch",)
    assert set(spec.drivers) == set(QIDS) == {q.qid for q in spec.questions if q.kind == "auto"}
    assert sum(q.kind == "manual" for q in spec.questions) == 2
    public_only = load_topic(TOPIC, ROOT, None)  # the limits come from the notebook, not only the hidden module
    for limits in (spec.limits, public_only.limits):
        assert all(limits[q].notebook_s >= 300 and limits[q].memory_mb >= 2048 for q in QIDS)  # room for torch


def test_the_solution_passes_every_case_and_the_public_check_in_the_kernel():
    ns = _solution_namespace()
    for qid in QIDS:
        assert all(_passes(qid, ns[qid])), qid
        reports = checks.run_checks(qid, ns[qid])
        assert reports and all(r.passed for r in reports), [r.reason for r in reports]


MISTAKES = {
    "mean of the batch means": ("train_one_epoch", """
        def f(model, loader, loss_fn, optimizer, device):
            model.train(); means = []
            for X, y in loader:
                optimizer.zero_grad(); loss = loss_fn(model(X), y); loss.backward(); optimizer.step()
                means.append(loss.item())
            return sum(means) / len(means)
    """),
    "no model.train()": ("train_one_epoch", """
        def f(model, loader, loss_fn, optimizer, device):
            total = 0.0
            for X, y in loader:
                optimizer.zero_grad(); loss = loss_fn(model(X), y); loss.backward(); optimizer.step()
                total += loss.item() * len(X)
            return total / len(loader.dataset)
    """),
    "no zero_grad": ("train_one_epoch", """
        def f(model, loader, loss_fn, optimizer, device):
            model.train(); total = 0.0
            for X, y in loader:
                loss = loss_fn(model(X), y); loss.backward(); optimizer.step()
                total += loss.item() * len(X)
            return total / len(loader.dataset)
    """),
    "evaluation left in training mode": ("evaluate", """
        def f(model, loader, loss_fn, device):
            total = 0.0
            with torch.no_grad():
                for X, y in loader:
                    total += loss_fn(model(X), y).item() * len(X)
            return total / len(loader.dataset)
    """),
    "evaluation without no_grad": ("evaluate", """
        def f(model, loader, loss_fn, device):
            model.eval(); total = 0.0
            for X, y in loader:
                total += loss_fn(model(X), y).item() * len(X)
            return total / len(loader.dataset)
    """),
    "a backward pass during evaluation": ("evaluate", """
        def f(model, loader, loss_fn, device):
            model.eval(); total = 0.0
            for X, y in loader:
                loss = loss_fn(model(X), y); loss.backward(); total += loss.item() * len(X)
            return total / len(loader.dataset)
    """),
    "the lecture notes' un-squared norm(2)": ("l2_penalty", """
        def f(model, alpha):
            return alpha / 2 * sum(m.weight.norm(2) for m in model.modules() if isinstance(m, torch.nn.Linear))
    """),
    "biases penalised": ("l2_penalty", """
        def f(model, alpha):
            return alpha / 2 * sum((p ** 2).sum() for p in model.parameters())
    """),
    "BatchNorm's gamma penalised (every 'weight' by name)": ("l2_penalty", """
        def f(model, alpha):
            return alpha / 2 * sum((p ** 2).sum() for n, p in model.named_parameters() if n.endswith("weight"))
    """),
    "a float instead of a tensor": ("l2_penalty", """
        def f(model, alpha):
            return float(alpha / 2 * sum((m.weight ** 2).sum() for m in model.modules() if isinstance(m, torch.nn.Linear)))
    """),
    "no scheduler step": ("fit", """
        def f(model, train_loader, val_loader, loss_fn, optimizer, scheduler, epochs, device):
            t = [train_one_epoch(model, train_loader, loss_fn, optimizer, device) for _ in range(epochs)]
            return np.array(t), np.array([evaluate(model, val_loader, loss_fn, device)] * epochs)
    """),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_usual_mistake_loses_a_case(mistake):
    qid, source = MISTAKES[mistake]
    ns = _solution_namespace()
    exec("import torch\n" + textwrap.dedent(source), ns)  # noqa: S102 - the test's own variants
    results = _passes(qid, ns["f"])
    assert not all(results), f"{mistake}: passes every case of {qid}"


def test_the_driver_loader_order_is_the_oracles():
    """The oracle replays the DataLoader's draws (a base seed, then randperm from its generator)."""
    import torch

    from dlcourse.autograde.cases import c07_pytorch_workflow_drivers as drv

    X, y = pub.regression_data(11, 2, seed=0)
    loader = drv.make_loader(X, y, 11, shuffle=True, seed=5)
    (xb, _), = list(loader)
    order = pub._order(11, True, 5)
    assert torch.equal(xb, torch.as_tensor(X)[order]) and sorted(order) == list(range(11)) and order != list(range(11))


@pytest.mark.skipif(sandbox.isolation_problem() is not None, reason="no sandbox here")
def test_in_the_real_sandbox_the_solution_gets_full_marks_and_the_stub_zero(tmp_path):
    for name, folder in (("solver", "solutions"), ("blank", "exercises")):
        (tmp_path / name).mkdir()
        shutil.copy(ROOT / folder / f"{TOPIC}.ipynb", tmp_path / name)
    records = {r["student"]: r for r in grade_paths(tmp_path, course_root=ROOT, progress=False, jobs=2)}
    solver, blank = records["solver"], records["blank"]
    lost = [(q["qid"], q["lost"]) for q in solver["questions"] if q["kind"] == "auto" and q["lost"]]
    assert solver["points"] == solver["max_points"] == 10, lost
    assert solver["isolated"] and solver["unchanged"]
    assert blank["points"] == 0
    for q in blank["questions"]:
        if q["kind"] == "auto":
            assert q["lost"] and all("NotImplementedError" in x["reason"] for x in q["lost"])


