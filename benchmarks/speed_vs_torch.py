"""Print dlcourse's step time relative to torch's on the CPU: the ratio of the median times.

    .venv/bin/python benchmarks/speed_vs_torch.py [--repeat 30] [--quick] [--threads N]

Cases, each in float32 and float64, with the same weights and the same thread count for both
libraries (numpy's BLAS thread count unless ``--threads`` sets both):

* one training step — zero_grad, forward, ``cross_entropy``, backward, SGD step — of the MLPs
  64-256-256-10 (batch 128) and 784-1024-1024-10 (batch 256), ReLU between the layers,
  ``dlcourse.optim.SGD`` against ``torch.optim.SGD`` (same lr), the torch twin built by
  ``dlcourse.torch.to_torch_module``;
* BatchNorm1d(1024) forward + backward (dx, dγ, dβ) on a (256, 1024) batch in train mode.

The repetitions are interleaved (dlcourse, torch, torch, dlcourse, ...) in one run, so a
machine whose load changes affects both sides alike.  Targets: every MLP ratio ≤ 1.05 and
every BatchNorm ratio ≤ 1.5.  ``--quick`` runs a few repetitions only (a smoke test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

MLP_TARGET, BN_TARGET = 1.05, 1.5
MLP_CASES = (((64, 256, 256, 10), 128), ((784, 1024, 1024, 10), 256))
BN_SHAPE = (256, 1024)
LR = 0.01


def blas_threads() -> int:
    """The number of threads numpy's BLAS uses (threadpoolctl), or 1 when it cannot tell."""
    from threadpoolctl import threadpool_info

    counts = [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]
    return max(counts) if counts else 1


def _mlp_pair(sizes, batch, dtype, seed=0):
    import torch

    from dlcourse import nn, optim
    from dlcourse.losses import cross_entropy
    from dlcourse.torch import to_torch_module

    rng = np.random.default_rng(seed)
    layers = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(d_in, d_out, rng=rng, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    ours = nn.Sequential(*layers)
    twin = to_torch_module(ours, dtype=getattr(torch, np.dtype(dtype).name))
    X = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], size=batch)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    opt = optim.SGD(ours.parameters(), lr=LR)
    topt = torch.optim.SGD(twin.parameters(), lr=LR)
    tce = torch.nn.functional.cross_entropy

    def ours_step():
        opt.zero_grad()
        loss, dout = cross_entropy(ours(X), y)
        ours.backward(dout, input_grad=False)  # as train.fit: the input needs no gradient
        opt.step()

    def torch_step():
        topt.zero_grad()
        tce(twin(Xt), yt).backward()
        topt.step()

    return ours_step, torch_step


def _bn_pair(shape, dtype, seed=0):
    import torch

    from dlcourse import nn

    rng = np.random.default_rng(seed)
    ours = nn.BatchNorm1d(shape[1], dtype=dtype)
    twin = torch.nn.BatchNorm1d(shape[1], dtype=getattr(torch, np.dtype(dtype).name))
    x = (3.0 * rng.standard_normal(shape) + 1.0).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    dt = torch.from_numpy(dout)

    def ours_step():
        ours.zero_grad()
        ours(x)
        ours.backward(dout)  # dx, dγ, dβ

    def torch_step():
        twin.zero_grad()
        xt.grad = None
        twin(xt).backward(dt)

    return ours_step, torch_step


def interleaved(ours, theirs, repeat: int, warmup: int = 3) -> tuple[float, float]:
    """Median seconds of each, from alternating repetitions (the order flips every round)."""
    for _ in range(warmup):
        ours()
        theirs()
    times: dict[int, list[float]] = {0: [], 1: []}
    fns = (ours, theirs)
    for r in range(repeat):
        for k in ((0, 1) if r % 2 == 0 else (1, 0)):
            t = time.perf_counter()
            fns[k]()
            times[k].append(time.perf_counter() - t)
    return statistics.median(times[0]), statistics.median(times[1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed repetitions per case and library")
    parser.add_argument("--quick", action="store_true", help="3 repetitions per case: a smoke test, not a measurement")
    parser.add_argument("--threads", type=int, default=None, help="threads for both numpy's BLAS and torch")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else args.repeat

    import torch
    from threadpoolctl import threadpool_limits

    threads = args.threads or blas_threads()
    torch.set_num_threads(threads)
    rows = []
    with threadpool_limits(limits=threads, user_api="blas"):
        for sizes, batch in MLP_CASES:
            for dtype in (np.float32, np.float64):
                ours, theirs = _mlp_pair(sizes, batch, dtype)
                rows.append(("MLP " + "-".join(map(str, sizes)) + f" batch {batch}", np.dtype(dtype).name,
                             *interleaved(ours, theirs, repeat), MLP_TARGET))
        for dtype in (np.float32, np.float64):
            ours, theirs = _bn_pair(BN_SHAPE, dtype)
            rows.append((f"BatchNorm1d fwd+bwd {BN_SHAPE}", np.dtype(dtype).name,
                         *interleaved(ours, theirs, repeat), BN_TARGET))

    print(f"dlcourse vs torch {torch.__version__} on the CPU: median of {repeat} interleaved repetitions, "
          f"{threads} thread(s) for both (numpy BLAS and torch.set_num_threads)")
    print(f"{'case':<40} {'dtype':<8} {'dlcourse ms':>11} {'torch ms':>9} {'ratio':>6} {'target':>7}")
    ok = True
    for case, dtype, ours_t, torch_t, target in rows:
        ratio = ours_t / torch_t
        ok &= ratio <= target
        flag = "" if ratio <= target else "  over"
        print(f"{case:<40} {dtype:<8} {ours_t * 1e3:>11.2f} {torch_t * 1e3:>9.2f} {ratio:>6.2f} {'≤ ' + str(target):>7}{flag}")
    print(f"targets: every MLP ratio ≤ {MLP_TARGET}, every BatchNorm ratio ≤ {BN_TARGET}: "
          + ("all met" if ok else "not all met"))
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > cores - threads + 0.5:
        print(f"note: load average {load:.1f} on {cores} cores — other processes compete for the CPU, "
              "so these ratios are noisy; rerun on an idle machine")
    return 0


if __name__ == "__main__":
    sys.exit(main())
