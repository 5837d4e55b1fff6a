#!/usr/bin/env python3
"""NumPy per-eigenvalue evaluation of the VP SDE table (issue 10; SPEC 7.3, 7.5), the same work
as `gds_bench --cases vptable`: for a prior given by its eigenvalues (mean 0, identity,
algorithm none), 6 schemes x steps {9,19,49,99,199,499,999} x eps {0,1e-5,1e-4,1e-3} x
{normal, exact}: the law (variance per eigenvalue; the mean stays 0) at every step, W2 against
the reference at every u_k, and w2_final against the prior. Vectorised over the eigenvalues, a
Python loop over the steps. Prints `BENCH numpy_vptable median min max reps cpu`, and, given
the C dump (vptable.npy), `CHECK vptable w2_final max_rel_diff tol PASS|FAIL`.
    /usr/bin/python3 bench/numpy_vptable.py SPECTRUM.npy [DUMP_DIR] [--reps R]
"""
import argparse
import math
import os
import sys
import time

import numpy as np

BMIN, BMAX = 0.1, 20.0
SCHEMES = ["em", "ei", "ddpm", "euler", "heun", "rk4"]
STEPS = [9, 19, 49, 99, 199, 499, 999]
EPS = [0.0, 1e-5, 1e-4, 1e-3]


def beta(u):
    return BMIN + u * (BMAX - BMIN)


def B(u):
    return BMIN * u + 0.5 * u * u * (BMAX - BMIN)


def law_w2(lam, scheme, K, eps, exact):
    """w2_final of one sampler (and W2 at every step, computed and discarded: the same work)."""
    singular = bool(np.any(lam == 0))
    dt = (1 - eps) / K
    a0 = math.exp(-B(1.0))
    q = a0 * lam + 1 - a0 if exact else np.ones_like(lam)
    h = lambda u: 1.0 / (math.exp(-B(u)) * lam + 1 - math.exp(-B(u)))  # score = -h y (mean 0)
    for k in range(K):
        u = 1 - k * dt
        un = eps if k + 1 == K else 1 - (k + 1) * dt
        bk = beta(u)
        if scheme in ("heun", "rk4") and un == 0.0 and singular:
            return math.inf
        if scheme == "em":
            p, n = 1 + dt * (0.5 * bk - bk * h(u)), dt * bk
        elif scheme == "ei":
            dl = 0.5 * (B(u) - B(un))
            p, n = math.exp(dl) - 2 * math.expm1(dl) * h(u), math.expm1(2 * dl)
        elif scheme == "ddpm":
            b = dt * bk
            if b >= 1:
                return math.inf
            p, n = (1 - b * h(u)) / math.sqrt(1 - b), b
        elif scheme == "euler":
            p, n = 1 + dt * 0.5 * bk * (1 - h(u)), 0.0
        elif scheme == "heun":
            f1 = 0.5 * bk * (1 - h(u))
            f2 = 0.5 * beta(un) * (1 - h(un))
            p, n = 1 + 0.5 * dt * (f1 + f2 * (1 + dt * f1)), 0.0
        else:
            um = u - 0.5 * dt
            fs = [0.5 * beta(x) * (1 - h(x)) for x in (u, um, um, un)]
            k1 = fs[0]
            k2 = fs[1] * (1 + 0.5 * dt * k1)
            k3 = fs[2] * (1 + 0.5 * dt * k2)
            k4 = fs[3] * (1 + dt * k3)
            p, n = 1 + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), 0.0
        q = p * p * q + n
        a = math.exp(-B(un))  # W2 at u_{k+1} (the curve)
        _ = math.sqrt(np.sum((np.sqrt(q) - np.sqrt(a * lam + 1 - a)) ** 2))
    return math.sqrt(np.sum((np.sqrt(q) - np.sqrt(lam)) ** 2))


def table(lam):
    t = np.empty((6, 7, 4, 2))
    for a, s in enumerate(SCHEMES):
        for b, K in enumerate(STEPS):
            for c, e in enumerate(EPS):
                for i in range(2):
                    t[a, b, c, i] = law_w2(lam, s, K, e, i)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spectrum")
    ap.add_argument("dump", nargs="?")
    ap.add_argument("--reps", type=int, default=3)
    o = ap.parse_args()
    lam = np.load(o.spectrum).astype(np.float64)
    lam[lam == 0] = 0.0
    wall, cpu = [], []
    for _ in range(o.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        t = table(lam)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    w = sorted(wall)
    print(f"BENCH numpy_vptable          {np.median(w):.6f} {w[0]:.6f} {w[-1]:.6f} {o.reps} {np.median(cpu):.6f}")
    fail = 0
    if o.dump:
        c = np.load(os.path.join(o.dump, "vptable.npy"))
        fin = np.isfinite(t)
        same_inf = np.array_equal(np.isinf(c), np.isinf(t))
        rel = np.max(np.abs(c[fin] - t[fin]) / np.abs(t[fin]))
        ok = same_inf and rel <= 1e-9
        fail = not ok
        print(f"CHECK vptable w2_final {rel:.3g} 1e-09 {'PASS' if ok else 'FAIL'} (inf at the same entries: {same_inf})")
    sys.exit(1 if fail else 0)


if __name__ == "__main__":
    main()
