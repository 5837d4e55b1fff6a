#!/usr/bin/env python3
"""Dense-matrix NumPy evaluation of the exact law for inpainting (SPEC §2), the d^3-per-step
baseline the dense distributed backend is compared with (bench/dense.sh).

Same problem size as `test_law_dense --bench H W T NW2 dps`: an ADSN-like stationary prior,
a random mask keeping ~60 % of the pixels, dps (C_t = sigma^2/alpha I), T steps, W2 at NW2
times. Per step the straightforward dense evaluation forms Sigma_t^-1 and J_t from the
eigen-decomposition of Sigma (two d^3 products), H_t = Sigma_t^-1 + J_t A^T C_t^-1 A J_t (one
product), P_t, and K <- P K P^T (two products); W2 needs a symmetric eigen-decomposition per
requested time. Timing all T steps would take minutes, so `--steps-timed` steps are timed and
the per-step median is multiplied by T (printed as such), plus the measured W2 cost x NW2.
Single-threaded BLAS (OPENBLAS_NUM_THREADS=1), as the C side runs one BLAS thread per rank.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("H", type=int)
    ap.add_argument("W", type=int)
    ap.add_argument("T", type=int)
    ap.add_argument("NW2", type=int)
    ap.add_argument("--steps-timed", type=int, default=5)
    a = ap.parse_args()
    H, W, T, d = a.H, a.W, a.T, a.H * a.W
    rng = np.random.default_rng(0)
    t = rng.standard_normal((H, W)) * 0.05
    t -= t.mean()
    lam = np.abs(np.fft.fft2(t)) ** 2                      # eigenvalues of Sigma
    F = np.fft.fft2(np.eye(d).reshape(d, H, W)).reshape(d, d) / np.sqrt(d)
    U = np.real(F) + np.imag(F)                            # real orthonormal (Hartley) basis
    lam_r = lam.reshape(d)                                 # Hartley basis diagonalises Sigma too
    mask = rng.random(d) < 0.6
    A = np.eye(d)[mask]                                    # m x d restriction
    sigma, alpha = 0.05, 1.0
    beta = np.linspace(0.1 / T, 20 / T, T)
    abar = np.cumprod(1 - beta)
    K = np.eye(d)
    times = []
    for k in range(a.steps_timed):
        step = T - 1 - k
        t0 = time.perf_counter()
        ab = abar[step]
        st = ab * lam_r + 1 - ab
        Sti = (U * (1 / st)) @ U.T                         # Sigma_t^-1
        J = (U * (np.sqrt(ab) * lam_r / st)) @ U.T         # J_t
        AJ = A @ J
        Hm = Sti + AJ.T @ AJ * (alpha / sigma**2)          # H_t (dps)
        P = (np.eye(d) - beta[step] * Hm) / np.sqrt(1 - beta[step])
        K = P @ K @ P.T + beta[step] * np.eye(d)
        times.append(time.perf_counter() - t0)
    step_s = float(np.median(times))
    t0 = time.perf_counter()
    np.linalg.eigvalsh(K)                                  # the W2 eigen-problem, once
    w2_s = time.perf_counter() - t0
    total = step_s * T + w2_s * a.NW2
    print(f"numpy-dense: {H}x{W} (d = {d}) one step {step_s:.4f} s (median of {a.steps_timed}), "
          f"one W2 eigen-problem {w2_s:.3f} s")
    print(f"NUMPY_DENSE total_s {total:.2f} (= {T} steps x {step_s:.4f} + {a.NW2} x {w2_s:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
