"""What the operating-system sandbox costs: per case, and per sandbox start.

Runs the same small case through a fork server inside bubblewrap and through one on the host
(``isolated=False``), interleaved round by round so that a busy machine slows both alike, and
prints the median time per case of each, their difference, and the median time to start a
sandbox (bwrap + interpreter + numpy, until its first case answers).

    .venv/bin/python benchmarks/sandbox_cost.py --cases 200 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from dlcourse.autograde import sandbox
from dlcourse.autograde.spec import Case, Limits

CODE = "import numpy as np\n\ndef f(x, w):\n    return np.where(x @ w >= 0, 1, -1)\n"


def per_case(server: sandbox.ForkServer, case: Case, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        result = sandbox.run_case(CODE, "f", case, Limits(), server=server)
        if not result.ok:
            raise RuntimeError(result.reason)
    return (time.perf_counter() - start) / n


def start_time(isolated: bool, case: Case) -> float:
    start = time.perf_counter()
    with sandbox.ForkServer(isolated=isolated) as server:
        sandbox.run_case(CODE, "f", case, Limits(), server=server)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200, help="cases per round and mode")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    problem = sandbox.isolation_problem()
    if problem:
        raise SystemExit(problem)
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(100, 5)), rng.normal(size=5)
    case = Case("c", args=(x, w), expected=np.where(x @ w >= 0, 1, -1))
    times: dict[str, list[float]] = {"isolated": [], "host": []}
    starts: dict[str, list[float]] = {"isolated": [], "host": []}
    with sandbox.ForkServer(isolated=True) as boxed, sandbox.ForkServer(isolated=False) as host:
        per_case(boxed, case, 5), per_case(host, case, 5)  # warm both
        for _ in range(args.rounds):
            times["isolated"].append(per_case(boxed, case, args.cases))
            times["host"].append(per_case(host, case, args.cases))
            starts["isolated"].append(start_time(True, case))
            starts["host"].append(start_time(False, case))
    iso, plain = statistics.median(times["isolated"]), statistics.median(times["host"])
    print(f"{args.rounds} interleaved rounds of {args.cases} cases each")
    print(f"  per case, inside bubblewrap : {iso * 1e3:7.2f} ms")
    print(f"  per case, on the host       : {plain * 1e3:7.2f} ms")
    print(f"  isolation cost per case     : {(iso - plain) * 1e3:+7.2f} ms ({iso / plain:.2f}x)")
    print(f"  start a sandbox (first case): {statistics.median(starts['isolated']) * 1e3:7.1f} ms "
          f"(on the host: {statistics.median(starts['host']) * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
