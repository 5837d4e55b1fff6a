#!/usr/bin/python3
"""NumPy reference of gds_bench's cases, on the very problem gds_bench wrote with --dump DIR.

A straightforward but sensible vectorised NumPy implementation of the same computations:
- law_<alg>: the exact sampler law of SPEC §2 as per-frequency recursions on the rfft2 half
  spectrum (numpy arrays over frequencies, a Python loop over t), the W2 curves (w2, w2_mean,
  w2_cov) at every t, m_0, diag K_0 and the posterior;
- traj_<alg>: one T-step trajectory of the conditional DDPM sampler with numpy.fft
  rfft2/irfft2 and numpy's default_rng normals, 6 checkpoints stored as float32;
- rng: T draws of d normals (default_rng().standard_normal); fft: T rfft2 + irfft2 pairs.

Before timing it CHECKS that it does the same work as the C code: the W2 curves must agree
with gds_bench's to a relative 1e-8 (also m_0, K_0, posterior), and K trajectory steps replayed
with the C code's own pixel noise (gds_sampler_noise_pixels: its Fourier-basis white noise,
inverse-transformed) must give its y_{T-K} to float32 precision.
Run single-threaded: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/numpy_ref.py DIR
Output: 'BENCH name median_s min_s max_s reps cpu_median_s' per case (as gds_bench),
'CHECK name quantity max_rel_diff tol PASS|FAIL' per check; exit 1 if a check fails.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

ALGS = ("none", "dps", "pigdm", "cgdm")
W2_RTOL = 1e-8
DIVERGED = 1e10
DIVERGE_MARGIN = 50


class Problem:
    """The inputs gds_bench dumped (prior spectrum, kernel, v, schedule)."""

    def __init__(self, d):
        with open(os.path.join(d, "meta.json")) as f:
            self.meta = json.load(f)
        m = self.meta
        ld = lambda n: np.load(os.path.join(d, n + ".npy"))
        self.dir = d
        self.H, self.W, self.T = m["H"], m["W"], m["T"]
        self.sigma, self.alpha_dps, self.mean = m["sigma"], m["alpha_dps"], m["prior_mean"]
        self.spectrum, self.kernel, self.v = ld("spectrum"), ld("kernel"), ld("v")
        self.beta, self.alpha, self.abar, self.sigma2 = ld("beta"), ld("alpha"), ld("alpha_bar"), ld("sigma2")
        self.load = ld


class Law:
    """gds_law_create: half-spectrum arrays of one (prior, schedule, operator, sigma)."""

    def __init__(self, P):
        H, W = P.H, P.W
        Wh = W // 2 + 1
        self.P, self.H, self.W, self.Wh, self.d = P, H, W, Wh, H * W
        self.ah = np.fft.rfft2(P.kernel).ravel()  # â(ξ)
        self.a2 = self.ah.real ** 2 + self.ah.imag ** 2
        self.lam = np.ascontiguousarray(P.spectrum[:, :Wh]).ravel()  # λ(ξ), fft2 order
        w = np.full(Wh, 2.0)  # a frequency whose conjugate is not stored counts twice
        w[0] = 1.0
        if W % 2 == 0:
            w[-1] = 1.0
        self.wgt = np.tile(w, H)
        self.s2 = P.sigma ** 2
        self.postvar = self.lam * self.s2 / (self.lam * self.a2 + self.s2)
        self.mu0 = P.mean * self.d  # μ̂(0); μ̂ = 0 elsewhere

    def measure(self, v, posterior_ref):
        """r̂ = conj(â)(v̂ − â μ̂) and the reference mean q̂ (μ_post, or μ for `none`)."""
        vh = np.fft.rfft2(v).ravel()
        vh[0] -= self.ah[0] * self.mu0
        r = np.conj(self.ah) * vh
        q = r * (self.lam / (self.lam * self.a2 + self.s2)) if posterior_ref else np.zeros_like(r)
        q[0] += self.mu0
        return r, q

    def irfft(self, x):
        return np.fft.irfft2(x.reshape(self.H, self.Wh), s=(self.H, self.W))

    def posterior(self, v):
        _, q = self.measure(v, True)
        return self.irfft(q), np.full((self.H, self.W), np.dot(self.wgt, self.postvar) / self.d)

    def evaluate(self, alg, alpha_dps, v):
        """Recursion t = T..1 of SPEC §2 per frequency; W2 parts at every t."""
        P, T, d, lam, a2, wgt, s2 = self.P, self.P.T, self.d, self.lam, self.a2, self.wgt, self.s2
        r, q = self.measure(v, alg != "none")
        refvar = lam if alg == "none" else self.postvar
        np.seterr(over="ignore", invalid="ignore")  # dps at a large α diverges: inf/nan as in C
        k = np.ones_like(lam)  # K_T = I
        m = np.zeros_like(r)  # m_T = 0
        w2c, w2m = np.empty(T + 1), np.empty(T + 1)
        ab = P.abar[T]
        w2c[T] = np.sqrt(np.dot(wgt, (1.0 - np.sqrt(ab * refvar + 1 - ab)) ** 2))
        w2m[T] = np.sqrt(ab * np.dot(wgt, q.real ** 2 + q.imag ** 2) / d)
        for t in range(T, 0, -1):
            ab, beta, abm = P.abar[t], P.beta[t], P.abar[t - 1]
            sab, isa, sabm = np.sqrt(ab), 1.0 / np.sqrt(P.alpha[t]), np.sqrt(abm)
            ist = 1.0 / (ab * lam + (1 - ab))  # Σ_t⁻¹
            J = sab * lam * ist
            if alg == "none":
                ic = 0.0
            elif alg == "dps":
                ic = alpha_dps / s2
            elif alg == "pigdm":
                ic = 1.0 / ((1 - ab) * a2 + s2)
            else:
                ic = 1.0 / ((1 - ab) * a2 * lam * ist + s2)
            Hj = ist + J * J * a2 * ic  # H_t
            Pt = (1.0 - beta * Hj) * isa
            k = Pt * Pt * k + P.sigma2[t]
            m = Pt * m + (beta * isa) * (J * ic) * r
            m[0] += beta * isa * sab * Hj[0] * self.mu0
            w2c[t - 1] = np.sqrt(np.dot(wgt, (np.sqrt(k) - np.sqrt(abm * refvar + (1 - abm))) ** 2))
            dm = m - sabm * q
            w2m[t - 1] = np.sqrt(np.dot(wgt, dm.real ** 2 + dm.imag ** 2) / d)
        return {"w2": np.sqrt(w2m ** 2 + w2c ** 2), "w2_mean": w2m, "w2_cov": w2c,
                "mean0": self.irfft(m), "var0": np.full((self.H, self.W), np.dot(wgt, k) / d)}


def sampler_run(law, alg, alpha_dps, v, y, noise, t_stop, ckpt):
    """Conditional DDPM sampler y_T = y → y_{t_stop} as gds_sampler_run: per step rfft2, the
    score/Tweedie/guidance multipliers, irfft2, + σ_t z_t with z_t = noise(t).
    Returns {t: float32 y_t} at the checkpoint times."""
    P, H, W = law.P, law.H, law.W
    lam, ah, s2, mu0 = law.lam.reshape(H, -1), law.ah.reshape(H, -1), law.s2, law.mu0
    a2 = law.a2.reshape(H, -1)
    vh = np.fft.rfft2(v)
    out = {}
    if P.T in ckpt:
        out[P.T] = y.astype(np.float32)
    for t in range(P.T, t_stop, -1):
        ab, beta = P.abar[t], P.beta[t]
        sab, isa = np.sqrt(ab), 1.0 / np.sqrt(P.alpha[t])
        yh = np.fft.rfft2(y)
        st = ab * lam + (1 - ab)  # Σ_t(ξ)
        u = yh.copy()
        u[0, 0] -= sab * mu0  # y − √ᾱ μ
        s = -u / st  # s_t(y)
        if alg != "none":
            J = sab * lam / st
            x = J * u  # x̂0 = μ + J (y − √ᾱ μ)
            x[0, 0] += mu0
            if alg == "dps":
                c = s2 / alpha_dps
            elif alg == "pigdm":
                c = (1 - ab) * a2 + s2
            else:
                c = (1 - ab) * a2 * lam / st + s2
            s += J * (np.conj(ah) * (vh - ah * x) / c)  # J Aᵀ C⁻¹ (v − A x̂0)
        y = np.fft.irfft2((yh + beta * s) * isa, s=(H, W))
        if P.sigma2[t] > 0:
            y += np.sqrt(P.sigma2[t]) * noise(t)
        if t - 1 in ckpt:
            with np.errstate(over="ignore"):  # float32 storage of a diverging trajectory
                out[t - 1] = y.astype(np.float32)
    return out


def maxrel(a, b, scale=None):
    """max |a − b| / |b| elementwise (0/0 counts as 0), or max |a − b| / scale. Entries that are
    not finite (a diverging recursion: dps at a large α) must be so in both, with the same value
    (inf, -inf or nan); otherwise the result is inf."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb) or not np.array_equal(a[~fa], b[~fb], equal_nan=True):
        return float("inf")
    if not fa.any():
        return 0.0
    a, b = a[fa], b[fb]
    diff = np.abs(a - b)
    if scale is not None:
        return float(np.max(diff) / scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diff == 0, 0.0, diff / np.abs(b))
    return float(np.max(rel))


class Reporter:
    def __init__(self):
        self.failed = 0

    def check(self, name, what, err, tol):
        ok = err <= tol
        self.failed += not ok
        print(f"CHECK {name:<16} {what:<10} {err:.3e} {tol:.0e} {'PASS' if ok else 'FAIL'}", flush=True)

    @staticmethod
    def bench(name, wall, cpu):
        print(f"BENCH {name:<22} {np.median(wall):.6f} {min(wall):.6f} {max(wall):.6f} {len(wall)} "
              f"{np.median(cpu):.6f}", flush=True)


def timed(reps, warmup, fn):
    """Runs fn warmup + reps times; returns (wall[], cpu[], result of the first run)."""
    wall, cpu, first = [], [], None
    for i in range(warmup + reps):
        t0, c0 = time.perf_counter(), time.process_time()
        res = fn()
        t1, c1 = time.perf_counter(), time.process_time()
        if first is None:
            first = res
        if i >= warmup:
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
    return wall, cpu, first


def law_case(P, alg):
    """What gds_bench times for law_<alg>: create + posterior + evaluate, by phase."""
    ph = {}
    t = [time.perf_counter(), time.process_time()]

    def lap(name):
        now = [time.perf_counter(), time.process_time()]
        ph[name] = (now[0] - t[0], now[1] - t[1])
        t[:] = now

    law = Law(P)
    lap("create")
    pm, pv = law.posterior(P.v)
    lap("posterior")
    res = law.evaluate(alg, P.alpha_dps, P.v)
    lap("evaluate")
    res["post_mean"], res["post_var"] = pm, pv
    return res, ph


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dump", help="directory written by gds_bench --dump")
    ap.add_argument("--reps", type=int, help="timed repetitions (default: gds_bench's)")
    ap.add_argument("--warmup", type=int, help="untimed runs first (default: gds_bench's)")
    ap.add_argument("--cases", default="law,traj,rng,fft")
    a = ap.parse_args()
    P = Problem(a.dump)
    reps = a.reps or P.meta["reps"]
    warmup = P.meta["warmup"] if a.warmup is None else a.warmup
    cases = a.cases.split(",")
    H, W, T, d = P.H, P.W, P.T, P.H * P.W
    print(f"# numpy_ref numpy {np.__version__} python {sys.version.split()[0]}: {H}x{W} T={T} reps={reps} "
          f"warmup={warmup} OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}", flush=True)
    rep = Reporter()

    if "law" in cases:
        for alg in [x for x in P.meta["algs"].split(",") if x]:
            phases = []

            def one():
                res, ph = law_case(P, alg)
                phases.append(ph)
                return res

            wall, cpu, res = timed(reps, warmup, one)
            # Equal work: the curves must be the C code's (to rounding), else the timing is moot.
            # A diverging law (dps at a large α: |P_t| > 1) amplifies rounding differences
            # (FFTW vs pocketfft, ~1e-16) about 2x per step, so only the times more than
            # DIVERGE_MARGIN steps before W2 exceeds DIVERGED are compared (the NOTE says which).
            w2c = P.load(f"w2_{alg}")
            sane = np.isfinite(w2c) & (np.abs(w2c) < DIVERGED)
            if not sane.all():
                sane[: np.flatnonzero(~sane).max() + DIVERGE_MARGIN + 1] = False
            for q in ("w2", "w2_mean", "w2_cov", "mean0", "var0", "post_mean", "post_var"):
                c, x = P.load(f"{q}_{alg}"), res[q]
                if q.startswith("w2"):
                    c, x = c[sane], x[sane]
                elif not sane[0] and q in ("mean0", "var0"):
                    continue  # m_0, K_0 of a diverged law: nothing meaningful to compare
                fin = np.abs(c[np.isfinite(c)])  # images: relative to their largest entry
                err = maxrel(x, c, None if q.startswith("w2") else (fin.max() if fin.size else 1.0))
                rep.check(f"law_{alg}", q, err, W2_RTOL)
            if not sane.all():
                print(f"NOTE law_{alg}: the law diverges (W2 > {DIVERGED:g} or not finite for t <= "
                      f"{np.flatnonzero(~sane).max() - DIVERGE_MARGIN}; W2 compared at t > "
                      f"{np.flatnonzero(~sane).max()}, m_0 and K_0 not compared)", flush=True)
            rep.bench(f"law_{alg}", wall, cpu)
            for ph in ("create", "posterior", "evaluate"):
                rep.bench(f"law_{alg}.{ph}", [p[ph][0] for p in phases[warmup:]], [p[ph][1] for p in phases[warmup:]])

    if "traj" in cases:
        law = Law(P)
        ck = [T, 4 * T // 5, 3 * T // 5, 2 * T // 5, T // 5, 0]
        for alg in [x for x in P.meta["traj_algs"].split(",") if x]:
            # Replay the first K steps with the C code's normals: same y_{T-K} to float32 precision.
            z = P.load(f"trajcheck_noise_{alg}")
            K = z.shape[0] - 1
            y = sampler_run(law, alg, P.alpha_dps, P.v, z[0].copy(), lambda t: z[T - t + 1], T - K, {T - K})[T - K]
            yc = P.load(f"trajcheck_y_{alg}")
            rep.check(f"traj_{alg}", f"y_{T - K}", float(np.max(np.abs(y - yc)) / np.max(np.abs(yc))), 1e-6)

            def one(sample=[0]):
                rng = np.random.default_rng([P.meta["seed"], sample[0]])
                sample[0] += 1
                y = rng.standard_normal((H, W))
                return sampler_run(law, alg, P.alpha_dps, P.v, y, lambda t: rng.standard_normal((H, W)), 0, set(ck))

            wall, cpu, res = timed(reps, warmup, one)
            if not all(np.isfinite(x).all() for x in res.values()):  # a property of the problem, not a mismatch
                print(f"NOTE traj_{alg}: non-finite values (the sampler diverges for these parameters)", flush=True)
            rep.bench(f"traj_{alg}", wall, cpu)

    if "rng" in cases:
        rng = np.random.default_rng(12345)

        def draws():
            s = 0.0
            for t in range(T):
                s += rng.standard_normal((H, W))[0, t % W]
            return s

        wall, cpu, _ = timed(reps, warmup, draws)
        rep.bench("rng", wall, cpu)

    if "fft" in cases:
        x = np.sin(0.1 * np.arange(d)).reshape(H, W)

        def pairs():
            for _ in range(T):
                y = np.fft.irfft2(np.fft.rfft2(x), s=(H, W))
            return y

        wall, cpu, _ = timed(reps, warmup, pairs)
        rep.bench("fft", wall, cpu)

    if rep.failed:
        print(f"numpy_ref: {rep.failed} check(s) FAILED: the NumPy and C computations differ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
