"""Notebook 01: what one hidden layer can represent (universal approximation) and what depth is.

* :func:`staircase_network` builds, by hand, a one-hidden-layer sigmoid network that
  approximates a function on an interval: the construction behind Cybenko (1989) and Hornik
  (1991) that the PyTorch lecture notes sketch (see docs/references.md) — neighbouring steepened
  sigmoids subtract into bumps, and weighted bumps add up to the function.
* :func:`depth_definitions` computes the depth of an MLP in the three lectures' senses; the
  Sharif lecture's (the longest path of the network's DAG) comes from :func:`dag_depth`.
* :func:`sawtooth_network` and :func:`count_linear_pieces`: why depth pays (the PyTorch lecture
  notes cite Håstad, 1986 and Montúfar et al., 2014) — composing a two-unit ReLU layer L times
  makes 2^L linear pieces, where one hidden layer of n ReLU units makes at most n + 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from dlcourse import nn
from dlcourse.validation import as_float_array, as_rng, check_count, check_positive

__all__ = ["staircase_network", "network_as_mlp", "staircase_forward", "staircase_error_bound",
           "max_error", "dag_depth", "mlp_edges", "depth_definitions", "sawtooth_network",
           "shallow_relu_network", "count_linear_pieces", "plot_construction",
           "plot_error_vs_width", "construction_update", "construction_explorer"]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # σ(z) = 1/(1 + e^{−z}) written to stay finite for large |z|
    out = np.empty_like(z, dtype=float)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def staircase_network(f: Callable[[np.ndarray], np.ndarray], width: int, lo: float, hi: float,
                      steepness: float = 20.0) -> dict[str, np.ndarray]:
    """Weights of a 1-``width``-1 sigmoid network approximating ``f`` on [lo, hi].

    Cut [lo, hi] into n = width + 1 bins of width h = (hi − lo)/n with centres c_j and inner
    edges a_j = lo + j h (j = 1..width).  Hidden unit j computes σ(k (x − a_j)), a smoothed step
    at a_j with k = steepness / h; the output adds the steps with the jumps of f between bins:

        f̂(x) = f(c_0) + Σ_{j=1}^{width} (f(c_j) − f(c_{j−1})) σ(k (x − a_j)).

    Units j and j+1 subtract into a bump of height 1 over bin j, so f̂ is also Σ_j f(c_j)·bump_j:
    the bump picture of the lecture notes.  Returns row-major weights ``W1`` (width, 1), ``b1``
    (width,), ``W2`` (1, width), ``b2`` (1,), as in ``nn.Linear``.
    """
    width = check_count(width, "width")
    lo, hi = float(lo), float(hi)
    if not hi > lo:
        raise ValueError(f"the interval must have hi > lo, got lo={lo}, hi={hi}")
    steepness = check_positive(steepness, "steepness")
    n = width + 1
    h = (hi - lo) / n
    centres = lo + h * (np.arange(n) + 0.5)
    values = np.asarray(f(centres), dtype=float).reshape(-1)
    if values.shape != (n,) or not np.all(np.isfinite(values)):
        raise ValueError(f"f must map {n} points to {n} finite values, got shape {values.shape}")
    edges = lo + h * np.arange(1, n)
    k = steepness / h
    return {"W1": np.full((width, 1), k), "b1": -k * edges,  # z_j = k x − k a_j
            "W2": np.diff(values).reshape(1, width), "b2": values[:1].copy()}


def staircase_forward(params: dict[str, np.ndarray], x) -> np.ndarray:
    """f̂(x) for the weights of :func:`staircase_network`, x of shape (N,) → (N,)."""
    x = as_float_array(x, "x", ndim=1)
    hidden = _sigmoid(x[:, None] @ params["W1"].T + params["b1"])
    return (hidden @ params["W2"].T + params["b2"]).ravel()


def network_as_mlp(params: dict[str, np.ndarray]) -> nn.Sequential:
    """The same network as a ``dlcourse.nn`` model: Linear(1, width) → Sigmoid → Linear(width, 1)."""
    width = params["W1"].shape[0]
    model = nn.Sequential(nn.Linear(1, width), nn.Sigmoid(), nn.Linear(width, 1))
    model[0].weight.data, model[0].bias.data = params["W1"].copy(), params["b1"].copy()
    model[2].weight.data, model[2].bias.data = params["W2"].copy(), params["b2"].copy()
    return model


def staircase_error_bound(lipschitz: float, width: int, lo: float, hi: float, steepness: float = 20.0) -> float:
    """An upper bound of sup |f̂ − f| on [lo, hi] for an L-Lipschitz f.

    In bin j, |f(x) − f(c_j)| ≤ L h/2; each smoothed step differs from a true step by
    σ(−k d) at distance d from its edge, each weighted by a jump |f(c_j) − f(c_{j−1})| ≤ L h.
    The two edges of x's bin contribute σ(−kd) + σ(−k(h − d)) ≤ ½ + σ(−s) (a convex function of
    d, largest at d = 0), the m-th next edges on either side at most e^{−s m} each.  Hence

        sup |f̂ − f| ≤ L h (1 + e^{−s} + 2 e^{−s}/(1 − e^{−s})),   s = steepness,  h = (hi − lo)/(width + 1):

    O(1/width).
    """
    width = check_count(width, "width")
    h = (float(hi) - float(lo)) / (width + 1)
    q = np.exp(-check_positive(steepness, "steepness"))
    return float(check_positive(lipschitz, "lipschitz") * h * (1.0 + q + 2.0 * q / (1.0 - q)))


def max_error(f: Callable[[np.ndarray], np.ndarray], width: int, lo: float, hi: float,
              steepness: float = 20.0, n_grid: int = 20_001) -> float:
    """sup |f̂ − f| of :func:`staircase_network`, measured on ``n_grid`` evenly spaced points."""
    x = np.linspace(lo, hi, check_count(n_grid, "n_grid"))
    params = staircase_network(f, width, lo, hi, steepness)
    return float(np.max(np.abs(staircase_forward(params, x) - np.asarray(f(x), dtype=float))))


# ---------------------------------------------------------------------------------------------
# What depth is
# ---------------------------------------------------------------------------------------------


def dag_depth(edges: Iterable[tuple[object, object]]) -> int:
    """The length (in edges) of the longest path from a source to a sink of a directed acyclic graph.

    The Sharif lecture's definition of depth.  Longest paths by dynamic programming over a
    topological order (Kahn's algorithm); a cycle is refused.
    """
    succ: dict[object, list[object]] = {}
    indeg: dict[object, int] = {}
    for u, v in edges:
        succ.setdefault(u, []).append(v)
        succ.setdefault(v, [])
        indeg[v] = indeg.get(v, 0) + 1
        indeg.setdefault(u, 0)
    if not succ:
        raise ValueError("the graph has no edge")
    longest = dict.fromkeys(succ, 0)  # the longest path ending at each node
    ready = [u for u, d in indeg.items() if d == 0]
    seen = 0
    while ready:
        u = ready.pop()
        seen += 1
        for v in succ[u]:
            longest[v] = max(longest[v], longest[u] + 1)
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
    if seen != len(succ):
        raise ValueError("the graph has a cycle: depth is defined for a directed acyclic graph")
    return max(longest.values())


def mlp_edges(sizes: Sequence[int], skips: Iterable[tuple[int, int]] = ()) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The unit-level DAG of a fully connected network: node (l, i) is unit i of layer l
    (layer 0 = the inputs); every unit of layer l feeds every unit of layer l + 1, and each
    ``(l, m)`` in ``skips`` (l + 1 < m) connects all of layer l to all of layer m as well."""
    sizes = [check_count(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
    pairs = [(l, l + 1) for l in range(len(sizes) - 1)]
    for l, m in skips:
        if not 0 <= l < m < len(sizes) or m == l + 1:
            raise ValueError(f"a skip connection must join layer l to a later layer m > l + 1, got {(l, m)}")
        pairs.append((l, m))
    return [((l, i), (m, j)) for l, m in pairs for i in range(sizes[l]) for j in range(sizes[m])]


def depth_definitions(sizes: Sequence[int], skips: Iterable[tuple[int, int]] = ()) -> dict[str, int]:
    """The depth of a fully connected network ``sizes`` (input first) in the three lectures' senses.

    * ``"longest path"`` (Sharif lecture): of the unit-level DAG, in edges;
    * ``"weight layers"`` (PyTorch lecture notes): the number of Linear layers — the ESIR
      lecture's L, which counts the layers without the input (a^[0] = x, a^[L] = ŷ);
    * ``"hidden layers"`` (ESIR lecture, "depth refers to the number of hidden layers"): L − 1.
    """
    skips = list(skips)
    n_weight = len(sizes) - 1
    return {"longest path": dag_depth(mlp_edges(sizes, skips)), "weight layers": n_weight,
            "hidden layers": n_weight - 1}


# ---------------------------------------------------------------------------------------------
# Why depth: composition multiplies linear pieces
# ---------------------------------------------------------------------------------------------


def sawtooth_network(depth: int) -> nn.Sequential:
    """The tent map t(x) = 2 relu(x) − 4 relu(x − ½) (t = 2x on [0, ½], 2 − 2x on [½, 1])
    composed ``depth`` times, as a ReLU MLP 1-2-2-…-2-1 with ``depth`` hidden layers of 2 units.

    On [0, 1], t∘…∘t (L times) is a sawtooth of 2^{L−1} teeth: 2^L linear pieces, with its
    breakpoints at the multiples of 2^{−L} (each composition folds [0, 1] onto itself once more;
    Montúfar et al., 2014, count linear regions this way).  Hidden layer l computes
    h_l = relu(w a + c) with w = (1, 1)ᵀ, c = (0, −½) on a = t^{l−1}(x) = (2, −4)·h_{l−1}.
    """
    depth = check_count(depth, "depth")
    fold = np.array([[2.0, -4.0]])  # t(a) = 2 relu(a) − 4 relu(a − ½)
    split_w, split_b = np.array([[1.0], [1.0]]), np.array([0.0, -0.5])  # (relu(a), relu(a − ½))
    layers: list[nn.Module] = []
    for l in range(depth):
        layers += [_linear(split_w if l == 0 else split_w @ fold, split_b), nn.ReLU()]  # a = fold · h_{l−1}
    return nn.Sequential(*layers, _linear(fold, np.zeros(1)))


def _linear(W: np.ndarray, b: np.ndarray) -> nn.Linear:
    """An ``nn.Linear`` holding copies of the given W (out, in) and b (out,)."""
    lin = nn.Linear(W.shape[1], W.shape[0])
    lin.weight.data = np.array(W, dtype=float)
    assert lin.bias is not None  # nn.Linear has a bias unless bias=False
    lin.bias.data = np.array(b, dtype=float)
    return lin


def shallow_relu_network(width: int, rng: np.random.Generator | int | None = 0) -> nn.Sequential:
    """A random 1-``width``-1 ReLU network whose ``width`` kinks all lie inside (0, 1):
    unit j is relu(s_j (x − k_j)) with k_j ~ U(0, 1), s_j = ±1, and output weights ~ N(0, 1).

    A sum of ``width`` functions with one kink each has at most ``width`` + 1 linear pieces on
    any interval: the most one hidden layer of that many ReLU units can make.
    """
    width = check_count(width, "width")
    rng = as_rng(rng)
    kinks, signs = rng.uniform(0.0, 1.0, width), rng.choice([-1.0, 1.0], width)
    return nn.Sequential(_linear(signs[:, None], -signs * kinks), nn.ReLU(),
                         _linear(rng.normal(size=(1, width)), np.zeros(1)))


def count_linear_pieces(model: nn.Module, lo: float = 0.0, hi: float = 1.0, n_grid: int = 2**16 + 1,
                        rtol: float = 1e-6) -> int:
    """The number of linear pieces of a scalar function of one input on [lo, hi], measured:
    the slope between neighbouring points of an ``n_grid``-point grid changes where a piece ends.

    A kink inside a grid cell changes the slope on both sides of the cell and counts once; two
    kinks less than three grid steps apart may count as one, so the count is exact when the
    breakpoints are further apart (for :func:`sawtooth_network` of depth L ≤ 14 on [0, 1], the
    default dyadic grid puts them on grid points, 2^{16−L} ≥ 4 steps apart).
    """
    n_grid = check_count(n_grid, "n_grid")
    if n_grid < 3 or not hi > lo:
        raise ValueError(f"need hi > lo and n_grid ≥ 3, got lo={lo}, hi={hi}, n_grid={n_grid}")
    x = np.linspace(lo, hi, n_grid)
    y = np.asarray(model(x[:, None]), dtype=float).ravel()
    slopes = np.diff(y) / np.diff(x)
    scale = max(float(np.max(np.abs(slopes))), 1.0)
    changed = np.abs(np.diff(slopes)) > rtol * scale
    # a kink inside a grid cell changes the slope twice (into the cell and out of it): one kink
    return 1 + int(np.count_nonzero(changed[1:] & ~changed[:-1]) + changed[0])


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def plot_construction(f: Callable[[np.ndarray], np.ndarray], width: int, lo: float, hi: float,
                      steepness: float = 20.0, ax=None, n_grid: int = 1000):
    """The weighted bumps f(c_j)·bump_j (thin), their sum f̂ (thick) and f (dashed)."""
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.subplots(figsize=(6, 4))[1]
    params = staircase_network(f, width, lo, hi, steepness)
    x = np.linspace(lo, hi, n_grid)
    steps = _sigmoid(x[:, None] @ params["W1"].T + params["b1"])  # (N, width)
    ones, zeros = np.ones((len(x), 1)), np.zeros((len(x), 1))
    bumps = np.hstack([ones, steps]) - np.hstack([steps, zeros])  # bump_j = step_j − step_{j+1}
    n = width + 1
    h = (hi - lo) / n
    heights = np.asarray(f(lo + h * (np.arange(n) + 0.5)), dtype=float)
    for j in range(n):
        ax.plot(x, heights[j] * bumps[:, j], lw=0.8, alpha=0.7, color="C0")
    ax.plot(x, staircase_forward(params, x), lw=2.2, color="C1", label=f"network, {width} hidden units")
    ax.plot(x, f(x), "k--", lw=1.2, label="target f(x)")
    ax.set_xlabel("x")
    ax.set_ylabel("output")
    ax.set_title(f"{n} weighted sigmoid bumps (thin) add up to f̂")
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_error_vs_width(widths, errors, bounds=None, ax=None):
    """sup |f̂ − f| against the number of hidden units, log-log, with the O(1/width) bound."""
    import matplotlib.pyplot as plt

    ax = ax if ax is not None else plt.subplots(figsize=(5, 4))[1]
    ax.loglog(widths, errors, "o-", label="measured sup |f̂ − f|")
    if bounds is not None:
        ax.loglog(widths, bounds, "k--", lw=1, label="proved bound, O(1/width)")
    ax.set_xlabel("hidden units (width)")
    ax.set_ylabel("max error on [lo, hi]")
    ax.set_title("error falls like 1/width")
    ax.legend(loc="lower left", fontsize=8)
    return ax


def construction_update(width: int = 9, steepness: float = 10.0, ax=None) -> dict[str, float]:
    """The explorer's callback: draw :func:`plot_construction` for f(x) = sin(2x) + 0.3x on
    [0, 2π] and return the measured sup error and the proved bound (Lipschitz constant 2.3)."""
    f = _explorer_target
    plot_construction(f, width, 0.0, 2 * np.pi, steepness=steepness, ax=ax)
    err = max_error(f, width, 0.0, 2 * np.pi, steepness=steepness, n_grid=4001)
    bound = staircase_error_bound(2.3, width, 0.0, 2 * np.pi, steepness=steepness)
    if ax is not None:
        ax.set_title(f"{width} hidden units, steepness {steepness:g}: max error {err:.3f} (bound {bound:.3f})")
    return {"error": err, "bound": bound}


def _explorer_target(x):
    return np.sin(2 * x) + 0.3 * x


def construction_explorer():
    """Sliders for the width and the steepness s = k h; redraws on release."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(width, steepness):
        fig, ax = plt.subplots(figsize=(7, 4))
        construction_update(width, steepness, ax=ax)
        plt.show()
        plt.close(fig)

    return widgets.interactive(
        show,
        width=widgets.IntSlider(value=9, min=1, max=60, description="hidden units", continuous_update=False),
        steepness=widgets.FloatLogSlider(value=10.0, base=10, min=-0.5, max=2, description="steepness s",
                                         continuous_update=False))
