"""numpy's linalg.lstsq and X'X + Cholesky on the data set of bench/regress.sh.

    python3 regress.py FILE ROWS LSTSQ_REPS REPS OUTDIR

Run it with Debian's /usr/bin/python3 (python3-numpy). FILE: ROWS x 42 float64
row-major (1, x1..x40, y). Only the fit is timed, best of the repetitions after
one untimed call; prints "key value" lines, writes OUTDIR/coef-np-lstsq.txt
and OUTDIR/coef-np-chol.txt.
"""
import os
import sys
import time

import numpy as np

path, n, slow_reps, reps, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
a = np.fromfile(path, dtype="<f8", count=n * 42)
assert a.size == n * 42
a = a.reshape(n, 42)
X = np.ascontiguousarray(a[:, :41])
y = a[:, 41].copy()
del a


def best(fn, k):
    res = fn()  # untimed first call
    t = float("inf")
    for _ in range(k):
        t0 = time.perf_counter()
        res = fn()
        t = min(t, time.perf_counter() - t0)
    return t, res


def lstsq():
    return np.linalg.lstsq(X, y, rcond=None)[0]


def chol():
    g = X.T @ X  # numpy hands X.T @ X to BLAS dsyrk
    b = X.T @ y
    low = np.linalg.cholesky(g)
    return np.linalg.solve(low.T, np.linalg.solve(low, b))


def put_coef(name, b):
    with open(os.path.join(out, "coef-%s.txt" % name), "w") as f:
        f.write("".join("%.17g\n" % v for v in b))


t, b = best(lstsq, slow_reps)
print("np.lstsq %.6f" % t)
put_coef("np-lstsq", b)
t, b = best(chol, reps)
print("np.chol %.6f" % t)
put_coef("np-chol", b)
print("np.version %s" % np.__version__)
blas = sorted({line.split()[-1] for line in open("/proc/self/maps") if "blas" in line and line.split()[-1].startswith("/")})
print("np.blas %s" % ("/".join(os.path.realpath(blas[0]).split("/")[-2:]) if blas else "unknown"))
