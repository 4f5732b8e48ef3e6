"""The statistical ``check=`` validators of the graded cases: each accepts honest draws and names
what is wrong with the usual wrong ones (a uniform, a wrong scale, one noise value broadcast)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse.autograde.cases.c03_initialization import he_normal_validator
from dlcourse.autograde.cases.c05_regularization import noise_validator
from dlcourse.autograde.spec import normal_sample_problem

SHAPE = (64, 400)
STD = math.sqrt(2.0 / SHAPE[1])


@pytest.mark.parametrize("seed", range(5))
def test_honest_normal_draws_pass(seed):
    rng = np.random.default_rng(seed)
    assert he_normal_validator(SHAPE, STD)(rng.normal(0.0, STD, SHAPE)) is None
    x = rng.normal(size=(50, 40))
    assert noise_validator(x, 0.3)(x + rng.normal(0.0, 0.3, x.shape)) is None


@pytest.mark.parametrize("draw, says", [
    (lambda rng: rng.uniform(-STD * math.sqrt(3), STD * math.sqrt(3), SHAPE), "kurtosis"),  # same std
    (lambda rng: rng.normal(0.0, math.sqrt(1.0 / SHAPE[1]), SHAPE), "standard deviation"),  # LeCun's
    (lambda rng: rng.normal(0.1 * STD, STD, SHAPE), "mean"),
    (lambda rng: rng.normal(0.0, STD, SHAPE).astype(np.int64), "dtype"),
    (lambda rng: rng.normal(0.0, STD, SHAPE[::-1]), "shape"),
    (lambda rng: np.full(SHAPE, np.nan), "NaN"),
])
def test_he_normal_validator_names_the_mistake(draw, says):
    problem = he_normal_validator(SHAPE, STD)(draw(np.random.default_rng(0)))
    assert problem is not None and says in problem, problem


def _normal_quantiles(rng, k: int) -> np.ndarray:
    from scipy.stats import norm

    q = norm.ppf((np.arange(k) + 0.5) / k)
    rng.shuffle(q)
    return q / q.std()


@pytest.mark.parametrize("noise, says", [
    # One row of noise for every row, with a normal's exact quantiles so that only the correlation
    # gives it away (mean, std and kurtosis are a normal's).
    (lambda rng, x: 0.3 * _normal_quantiles(rng, x.shape[1]), "first axis are correlated"),
    (lambda rng, x: rng.uniform(-0.3 * math.sqrt(3), 0.3 * math.sqrt(3), x.shape), "kurtosis"),
    (lambda rng, x: rng.normal(0.0, 0.09, x.shape), "standard deviation"),  # variance given as std
])
def test_noise_validator_names_the_mistake(noise, says):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 40))
    problem = noise_validator(x, 0.3)(x + noise(rng, x))
    assert problem is not None and says in problem, problem


def test_kurtosis_is_tested_only_from_kurtosis_from_draws():
    u = np.random.default_rng(2).uniform(-math.sqrt(3), math.sqrt(3), 900)
    assert "kurtosis" in normal_sample_problem(u, 1.0, 4.0, "u")
    assert normal_sample_problem(u, 1.0, 4.0, "u", kurtosis_from=1000) is None
