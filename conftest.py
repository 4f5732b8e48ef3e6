"""Set-up shared by every test and by the kernels nbval starts for notebooks (they inherit os.environ)."""

import os

os.environ.setdefault("DLCOURSE_SCALE", "quick")
os.environ.setdefault("MPLBACKEND", "Agg")
# Keep BLAS to one thread per worker: the machine has 2 cores and pytest-xdist uses both.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
