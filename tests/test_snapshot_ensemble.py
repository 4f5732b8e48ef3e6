"""Snapshot ensembles (Huang et al., 2017): a snapshot per cycle, the mean of their softmax outputs."""

import numpy as np
import pytest

from dlcourse import data, losses, train
from dlcourse.models.mlp import build_mlp
from dlcourse.optim import SGD
from dlcourse.optim.schedules import CosineAnnealingWarmRestarts


def _fit(epochs=12, cycle=4, keep=None):
    X, y = data.spirals(60, 3, noise=0.2, rng=0)
    model = build_mlp([2, 32, 3], "relu", rng=0)
    opt = SGD(model.parameters(), lr=0.2, momentum=0.9)
    snaps = train.SnapshotEnsemble(cycle, keep=keep)
    hist = train.fit(model, losses.cross_entropy, opt, (X, y), epochs=epochs, batch_size=30, rng=0,
                     scheduler=CosineAnnealingWarmRestarts(opt, T_0=cycle), callbacks=[snaps], progress=False)
    return X, y, model, snaps, hist


def test_one_snapshot_per_cycle_at_the_cycles_low_rate():
    X, y, model, snaps, hist = _fit()
    assert snaps.epochs == [3, 7, 11]
    assert all(hist.lr[e] < 0.2 * hist.lr[0] for e in snaps.epochs)  # the cycle's last, smallest rate: (1 + cos 3π/4)/2 ≈ 0.15
    # the last snapshot is the trained model itself; the earlier ones differ from it
    np.testing.assert_array_equal(train.predict(snaps.snapshots[-1], X), train.predict(model, X))
    assert not np.allclose(train.predict(snaps.snapshots[0], X), train.predict(model, X))


def test_the_ensemble_averages_its_members_probabilities():
    X, y, model, snaps, _ = _fit(keep=2)
    members = snaps.members()
    assert len(members) == 2 and members[-1] is snaps.snapshots[-1]
    by_hand = (train.predict_proba(members[0], X) + train.predict_proba(members[1], X)) / 2
    np.testing.assert_allclose(snaps.predict_proba(X), by_hand, rtol=1e-14)
    np.testing.assert_allclose(snaps.predict_proba(X).sum(1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(snaps.predict_classes(X), by_hand.argmax(1))


def test_an_empty_ensemble_and_a_bad_cycle_are_refused():
    with pytest.raises(ValueError, match="no snapshot yet"):
        train.SnapshotEnsemble(5).predict_proba(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="cycle"):
        train.SnapshotEnsemble(0)
