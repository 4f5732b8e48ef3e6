"""Print how long ``import dlcourse`` takes in a fresh interpreter (target: well under 0.5 s).

    .venv/bin/python benchmarks/import_time.py [--repeat 5]

Also prints which heavy libraries the import pulled in (it must pull in neither torch nor
matplotlib; tests/test_project.py asserts that part).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CODE = (
    "import sys, time; t = time.perf_counter(); import dlcourse; dt = time.perf_counter() - t; "
    "print(dt, *[m for m in ('numpy', 'torch', 'matplotlib', 'sklearn', 'scipy') if m in sys.modules])"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    times = []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout.split()
        times.append(float(out[0]))
        loaded = out[1:]
    print(f"import dlcourse: median {statistics.median(times) * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f} ms over {args.repeat} fresh interpreters; also loaded: {', '.join(loaded) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
