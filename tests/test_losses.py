"""dlcourse.losses against torch.nn.functional in float64 (values and autograd gradients) and
finite differences, including extreme logits and the validation of bad input."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse import losses
from dlcourse.gradcheck import numerical_gradient, rel_error


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def torch_loss_and_grad(fn, inp, *args):
    """torch's loss and d loss / d input (reduction='mean', the default)."""
    x = t64(inp, grad=True)
    loss = fn(x, *args)
    loss.backward()
    return loss.item(), x.grad.numpy()


def strict():
    """Fail on any floating-point warning (underflow to 0 is harmless)."""
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("error")
    err = np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")
    err.__enter__()
    return ctx, err


@pytest.fixture
def no_fp_warnings():
    ctx, err = strict()
    yield
    err.__exit__(None, None, None)
    ctx.__exit__(None, None, None)


def assert_loss_equal(ours, ref, tol=1e-8):
    loss, grad = ours
    ref_loss, ref_grad = ref
    assert isinstance(loss, float)
    assert loss == pytest.approx(ref_loss, rel=tol, abs=1e-12)
    assert grad.shape == ref_grad.shape
    np.testing.assert_allclose(grad, ref_grad, rtol=tol, atol=1e-14)


# --- softmax / log_softmax --------------------------------------------------------------------


def test_softmax_and_log_softmax_equal_torch(no_fp_warnings):
    rng = np.random.default_rng(0)
    z = np.vstack([rng.normal(size=(4, 5)) * 3, [1e3, -1e3, 0, 5, 1e3], [-1e4] * 5])
    np.testing.assert_allclose(losses.softmax(z), torch.softmax(t64(z), dim=1).numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(losses.log_softmax(z), torch.log_softmax(t64(z), dim=1).numpy(), rtol=1e-12)
    np.testing.assert_allclose(losses.softmax(z).sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(losses.softmax(z, axis=0), torch.softmax(t64(z), dim=0).numpy(), rtol=1e-12, atol=1e-300)


# --- mse ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(7,), (7, 1), (5, 3), (2, 3, 4)])
def test_mse_equals_torch(shape):
    rng = np.random.default_rng(1)
    pred, target = rng.normal(size=shape), rng.normal(size=shape)
    ours = losses.mse_loss(pred, target)
    ref = torch_loss_and_grad(F.mse_loss, pred, t64(target))
    assert_loss_equal(ours, ref)
    num = numerical_gradient(lambda p: losses.mse_loss(p, target)[0], pred.copy())
    assert rel_error(ours[1], num) < 1e-6


def test_mse_is_mean_over_all_elements():
    # torch's mse_loss divides by numel, not by the batch size: a (2, 3) error of ones gives 1
    loss, grad = losses.mse_loss(np.ones((2, 3)), np.zeros((2, 3)))
    assert loss == 1.0
    np.testing.assert_array_equal(grad, np.full((2, 3), 2.0 / 6))


def test_mse_refuses_to_broadcast():
    with pytest.raises(ValueError) as exc:
        losses.mse_loss(np.zeros((4, 1)), np.zeros(4))
    assert "(4, 1)" in str(exc.value) and "(4,)" in str(exc.value)


# --- binary cross-entropy on probabilities -----------------------------------------------------


def test_bce_equals_torch_on_interior_probabilities():
    rng = np.random.default_rng(2)
    p = rng.uniform(0.02, 0.98, size=(8, 3))
    for target in (rng.integers(0, 2, size=(8, 3)).astype(float), rng.uniform(0, 1, size=(8, 3))):
        ours = losses.binary_cross_entropy(p, target)
        ref = torch_loss_and_grad(F.binary_cross_entropy, p, t64(target))
        assert_loss_equal(ours, ref)
        num = numerical_gradient(lambda q, target=target: losses.binary_cross_entropy(q, target)[0], p.copy())
        assert rel_error(ours[1], num) < 1e-6


def test_bce_at_exact_zero_and_one_matches_torch_clamp(no_fp_warnings):
    # log is clamped at −100 like torch, and the gradient's p(1−p) is floored at 1e-12 like torch
    p = np.array([0.0, 0.0, 1.0, 1.0, 0.5, 1e-300])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    loss, grad = losses.binary_cross_entropy(p, y)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss == pytest.approx((100 + 100 + np.log(2) + 100) / 6)
    assert_loss_equal((loss, grad), torch_loss_and_grad(F.binary_cross_entropy, p, t64(y)))


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan])
def test_bce_rejects_probabilities_outside_unit_interval(bad):
    with pytest.raises(ValueError, match=r"prob.*\[0, 1\]"):
        losses.binary_cross_entropy(np.array([0.2, bad]), np.array([0.0, 1.0]))


def test_bce_rejects_targets_outside_unit_interval_and_shape_mismatch():
    with pytest.raises(ValueError, match=r"target.*\[0, 1\]"):
        losses.binary_cross_entropy(np.array([0.2, 0.3]), np.array([0.0, 2.0]))
    with pytest.raises(ValueError) as exc:
        losses.binary_cross_entropy(np.full((3,), 0.5), np.zeros((3, 1)))
    assert "(3,)" in str(exc.value) and "(3, 1)" in str(exc.value)


# --- binary cross-entropy on logits -----------------------------------------------------------


def test_binary_cross_entropy_with_logits_equals_torch_including_extreme_logits(no_fp_warnings):
    z = np.array([[-1e3, 1e3], [-40.0, 40.0], [0.0, 3.0], [-2.5, 1e-3], [1e3, -1e3]])
    y = np.array([[0.0, 1.0], [1.0, 0.0], [0.3, 1.0], [0.0, 0.7], [0.0, 1.0]])
    ours = losses.binary_cross_entropy_with_logits(z, y)
    assert np.isfinite(ours[0]) and np.all(np.isfinite(ours[1]))
    assert_loss_equal(ours, torch_loss_and_grad(F.binary_cross_entropy_with_logits, z, t64(y)))
    num = numerical_gradient(lambda q: losses.binary_cross_entropy_with_logits(q, y)[0], z.copy())
    assert rel_error(ours[1], num) < 1e-6


def test_binary_cross_entropy_with_logits_agrees_with_bce_on_sigmoid():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 2))
    y = rng.integers(0, 2, size=(6, 2)).astype(float)
    p = 1 / (1 + np.exp(-z))
    loss_logits, dz = losses.binary_cross_entropy_with_logits(z, y)
    loss_prob, dp = losses.binary_cross_entropy(p, y)
    assert loss_logits == pytest.approx(loss_prob, rel=1e-12)
    np.testing.assert_allclose(dz, dp * p * (1 - p), rtol=1e-10)  # chain rule through σ


def test_binary_cross_entropy_with_logits_validation():
    with pytest.raises(ValueError) as exc:
        losses.binary_cross_entropy_with_logits(np.zeros((5, 1)), np.zeros(5))
    assert "(5, 1)" in str(exc.value) and "(5,)" in str(exc.value)
    with pytest.raises(ValueError, match="empty"):
        losses.binary_cross_entropy_with_logits(np.zeros((0, 1)), np.zeros((0, 1)))


# --- softmax cross-entropy --------------------------------------------------------------------


def ce_ref(logits, y, eps):
    return torch_loss_and_grad(
        lambda x: F.cross_entropy(x, torch.tensor(y, dtype=torch.long), label_smoothing=eps), logits
    )


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3, 1.0])
def test_cross_entropy_equals_torch(eps):
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(9, 4)) * 2
    y = rng.integers(0, 4, size=9)
    ours = losses.cross_entropy(logits, y, label_smoothing=eps)
    assert_loss_equal(ours, ce_ref(logits, y, eps))
    num = numerical_gradient(lambda z: losses.cross_entropy(z, y, label_smoothing=eps)[0], logits.copy())
    assert rel_error(ours[1], num) < 1e-6


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_cross_entropy_extreme_logits(eps, no_fp_warnings):
    logits = np.array([[1e3, -1e3, 0.0], [-1e3, 1e3, 5.0], [1e3, 1e3, -1e3], [0.0, 0.0, 0.0]])
    y = np.array([1, 1, 2, 0])  # first and third rows are confidently wrong: loss ≈ 2000
    ours = losses.cross_entropy(logits, y, label_smoothing=eps)
    assert np.isfinite(ours[0]) and np.all(np.isfinite(ours[1]))
    assert_loss_equal(ours, ce_ref(logits, y, eps))
    num = numerical_gradient(lambda z: losses.cross_entropy(z, y, label_smoothing=eps)[0], logits.copy())
    assert rel_error(ours[1], num) < 1e-6


def test_cross_entropy_gradient_rows_sum_to_zero():
    # Σ_c (softmax_c − q_c) = 1 − 1 = 0 for every sample, with or without smoothing
    rng = np.random.default_rng(5)
    logits, y = rng.normal(size=(6, 3)), rng.integers(0, 3, size=6)
    for eps in (0.0, 0.2):
        _, d = losses.cross_entropy(logits, y, label_smoothing=eps)
        np.testing.assert_allclose(d.sum(axis=1), 0.0, atol=1e-15)


def test_uniform_logits_give_log_c():
    loss, _ = losses.cross_entropy(np.zeros((3, 10)), np.array([0, 4, 9]))
    assert loss == pytest.approx(np.log(10), rel=1e-14)


def test_cross_entropy_accepts_integral_float_labels():
    logits = np.random.default_rng(6).normal(size=(3, 4))
    a = losses.cross_entropy(logits, np.array([0, 3, 1]))
    b = losses.cross_entropy(logits, np.array([0.0, 3.0, 1.0]))
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize(
    ("y", "pattern"),
    [
        (np.array([0, 1, 3]), r"\[0, 3\).*\[3\]"),  # out of range
        (np.array([0, -1, 2]), r"\[0, 3\)"),
        (np.array([0.0, 1.5, 2.0]), "integer"),
        (np.array([True, False, True]), "integer"),
        (np.array(["a", "b", "c"]), "integer"),
        (np.array([[0], [1], [2]]), r"\(3,\).*\(3, 1\)"),  # (N, 1) instead of (N,)
        (np.array([0, 1]), r"\(3,\).*\(2,\)"),
    ],
)
def test_cross_entropy_rejects_bad_labels(y, pattern):
    with pytest.raises(ValueError, match=pattern):
        losses.cross_entropy(np.zeros((3, 3)), y)


@pytest.mark.parametrize("eps", [-0.1, 1.1])
def test_cross_entropy_rejects_bad_label_smoothing(eps):
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=eps)


def test_cross_entropy_needs_2d_logits():
    with pytest.raises(ValueError, match=r"2-D.*\(3,\)"):
        losses.cross_entropy(np.zeros(3), np.array([0]))


def test_losses_do_not_modify_inputs():
    rng = np.random.default_rng(7)
    logits, y = rng.normal(size=(4, 3)), rng.integers(0, 3, size=4)
    before = logits.copy()
    losses.cross_entropy(logits, y, label_smoothing=0.1)
    losses.mse_loss(logits, before)
    np.testing.assert_array_equal(logits, before)


# --- which argument an error names, degenerate shapes, defaults --------------------------------


def _names(exc: pytest.ExceptionInfo, *names: str) -> bool:
    """Each of ``names`` appears in the message as a word of its own (``pred``, not ``PRED``)."""
    import re

    return all(re.search(rf"(?<![\w]){re.escape(n)}(?![\w])", str(exc.value)) for n in names)


_TEXT = np.array(["a", "b"])
_BAD_ARGUMENTS = [
    # (loss, args, exception, names the message must contain)
    (losses.mse_loss, (_TEXT, np.zeros(2)), TypeError, ("pred",)),
    (losses.mse_loss, (np.zeros(2), _TEXT), TypeError, ("target",)),
    (losses.mse_loss, (np.zeros(2), np.zeros(3)), ValueError, ("pred", "target")),
    (losses.mse_loss, (np.zeros(0), np.zeros(0)), ValueError, ("pred",)),
    (losses.binary_cross_entropy, (_TEXT, np.zeros(2)), TypeError, ("prob",)),
    (losses.binary_cross_entropy, (np.zeros(2), _TEXT), TypeError, ("target",)),
    (losses.binary_cross_entropy, (np.zeros(2), np.zeros(3)), ValueError, ("prob", "target")),
    (losses.binary_cross_entropy, (np.zeros(0), np.zeros(0)), ValueError, ("prob",)),
    (losses.binary_cross_entropy, (np.array([1.5]), np.zeros(1)), ValueError, ("prob",)),
    (losses.binary_cross_entropy, (np.array([0.5]), np.array([2.0])), ValueError, ("target",)),
    (losses.binary_cross_entropy_with_logits, (_TEXT, np.zeros(2)), TypeError, ("logits",)),
    (losses.binary_cross_entropy_with_logits, (np.zeros(2), _TEXT), TypeError, ("target",)),
    (losses.binary_cross_entropy_with_logits, (np.zeros(2), np.zeros(3)), ValueError, ("logits", "target")),
    (losses.binary_cross_entropy_with_logits, (np.zeros(0), np.zeros(0)), ValueError, ("logits",)),
    (losses.binary_cross_entropy_with_logits, (np.zeros(1), np.array([-0.5])), ValueError, ("target",)),
    (losses.cross_entropy, (np.array([["a", "b"]]), [0]), TypeError, ("logits",)),
    (losses.cross_entropy, (np.zeros(3), [0]), ValueError, ("logits",)),
    (losses.cross_entropy, (np.zeros((0, 3)), np.zeros(0, dtype=int)), ValueError, ("logits",)),
    (losses.cross_entropy, (np.zeros((2, 0)), [0, 0]), ValueError, ("logits",)),
    (losses.cross_entropy, (np.zeros((2, 3)), [0, 3]), ValueError, ("y",)),
    (losses.cross_entropy, (np.zeros((2, 3)), [0, 1], 1.5), ValueError, ("label_smoothing",)),
    (losses.softmax, (_TEXT,), TypeError, ("z",)),
    (losses.log_softmax, (_TEXT,), TypeError, ("z",)),
]


@pytest.mark.parametrize(("loss", "args", "error", "names"), _BAD_ARGUMENTS,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(_BAD_ARGUMENTS)])
def test_a_bad_argument_is_refused_with_a_message_that_names_it(loss, args, error, names):
    with pytest.raises(error) as exc:
        loss(*args)
    assert _names(exc, *names), str(exc.value)


def test_empty_logits_say_what_shape_cross_entropy_needs():
    with pytest.raises(ValueError, match=r"N, C ≥ 1"):
        losses.cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int))


@pytest.mark.parametrize("shape", [(1, 4), (3, 1), (1, 1)])
def test_cross_entropy_of_a_single_sample_or_a_single_class_equals_torch(shape):
    # N = 1 and C = 1 are valid batches (C = 1: the loss and its gradient are exactly 0)
    rng = np.random.default_rng(1)
    z = rng.normal(size=shape)
    y = rng.integers(0, shape[1], size=shape[0])
    tz = torch.tensor(z, requires_grad=True)
    ref = F.cross_entropy(tz, torch.tensor(y))
    ref.backward()
    loss, dz = losses.cross_entropy(z, y)
    assert loss == pytest.approx(ref.item(), abs=1e-12)
    np.testing.assert_allclose(dz, tz.grad.numpy(), atol=1e-12)


def test_cross_entropy_default_has_no_label_smoothing_like_torch():
    import inspect

    torch_default = inspect.signature(F.cross_entropy).parameters["label_smoothing"].default
    rng = np.random.default_rng(2)
    z, y = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    tz = torch.tensor(z, requires_grad=True)
    ref = F.cross_entropy(tz, torch.tensor(y))  # torch's default
    ref.backward()
    loss, dz = losses.cross_entropy(z, y)  # ours
    assert torch_default == 0.0
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dz, tz.grad.numpy(), rtol=1e-10, atol=1e-14)
