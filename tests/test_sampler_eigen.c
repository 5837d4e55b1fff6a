/* Real trajectories for a prior given in its own eigenbasis (SPEC §7.6: images 1 × n, Σ = diag λ,
 * μ = m·1, identity operator; src/sampler.c eigen space, src/sampler_eigen.c):
 * - Monte Carlo moments (mean, variance per coordinate, power per frequency at a middle
 *   checkpoint and at the end, 2400 trajectories, 5 standard errors) against the exact law of
 *   the eigen-diagonal law backend (gds_law_moments) for DDPM, DDIM(η = 0, 1), DDRM and the VP
 *   SDE schemes (EM, EI, DDPM, Heun, RK4), normal and exact starts, on a spectrum with a zero;
 * - a replay: every step written out per coordinate from the SPEC (§1, §7.1–7.3) with the noise
 *   of gds_sampler_noise_pixels, compared with the sampler's output to 1e-12;
 * - the noise keys of docs/sampler.md: white noise of block b, coordinate j = normal j of block b
 *   of the stream (seed, sample) (gds_rng_normal_range, no transform);
 * - DDIM η = 0 and the ODE schemes: the output is an affine function of the start alone;
 * - bitwise determinism; errors (a non-identity operator, a Fourier backend). */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/law.h"
#include "gdsweep/operator.h"
#include "gdsweep/rng.h"
#include "gdsweep/sampler.h"
#include "gdsweep/schedule.h"
#include "testutil.h"
#include "testutil_sampler.h"

enum { N = 7, T = 40, NTRAJ = 2400 };
static const double LAM[N] = {0.0, 0.02, 0.1, 0.35, 0.8, 1.6, 3.0}; /* a zero: Σ singular */
static const double MEAN = 0.3, SIGMA = 0.08;

typedef struct {
  gds_prior *prior;
  gds_schedule *sc; /* discrete (T steps) or the VP SDE's */
  gds_operator *op;
  double v[N];
} problem;

/* The prior of SPEC §7.6 as gds_prior_create builds it from a 1-D spectrum (H = 1, W = n). */
static gds_prior *eigen_prior(void) {
  gds_prior *p = calloc(1, sizeof *p);
  p->H = 1;
  p->W = N;
  p->basis = GDS_PRIOR_BASIS_EIGEN;
  p->mean = MEAN;
  p->texton = calloc(N, sizeof(double));
  p->texture = calloc(N, sizeof(double));
  p->spectrum = calloc(N, sizeof(double));
  for (int i = 0; i < N; i++) {
    p->spectrum[i] = LAM[i];
    p->texton[i] = sqrt(LAM[i]);
    p->texture[i] = MEAN;
  }
  snprintf(p->name, sizeof p->name, "test-eigen");
  return p;
}

static void problem_make(problem *p, int vp) {
  p->prior = eigen_prior();
  if (vp) assert_int_equal(gds_schedule_create_vp_sde(0.1, 20, &p->sc), 0);
  else assert_int_equal(gds_schedule_create(T, 1e-3, 0.25, GDS_VARIANCE_BETA, &p->sc), 0);
  gds_operator_spec spec = {.type = GDS_OP_IDENTITY};
  assert_int_equal(gds_operator_create(&spec, 1, N, &p->op), 0);
  double x0[N];
  assert_int_equal(gds_prior_sample(p->prior, 4, x0), 0);
  assert_int_equal(gds_operator_measure(p->op, 0, x0, SIGMA, 9, p->v), 0);
}

static void problem_free(problem *p) {
  gds_operator_destroy(&p->op);
  gds_schedule_destroy(&p->sc);
  gds_test_prior_free(p->prior);
}

static gds_sampler *sampler_of(const problem *p, int vp) {
  gds_sampler *s;
  if (vp) assert_int_equal(gds_sampler_create_vp_sde(p->prior, 0.1, 20, p->op, SIGMA, NULL, &s), 0);
  else assert_int_equal(gds_sampler_create(p->prior, p->sc, p->op, SIGMA, &s), 0);
  assert_string_equal(gds_sampler_backend_name(s), "eigen-diagonal");
  return s;
}

static gds_sampler_config cfg_of(gds_algorithm a, gds_scheme sch, double eta, int steps, double eps, gds_init init) {
  return (gds_sampler_config){.alg = {.kind = a}, .alpha_dps = 0.3, .scheme = {sch, eta}, .steps = steps, .eps = eps,
                              .init = init};
}

static gds_sampler_config cfg_ddrm(double eta, double eta_b, int steps, gds_init init) {
  return (gds_sampler_config){.alg = {.kind = GDS_ALG_DDRM, .eta = eta, .eta_b = eta_b}, .steps = steps, .init = init};
}

/* ---- Monte Carlo against the eigen-diagonal law backend ---- */

/* ck[0]: a middle time the sampler visits, ck[1]: the end (t = 0, or k = K). */
static void mc_law(int vp, gds_sampler_config cfg, const int ck[2]) {
  problem p;
  problem_make(&p, vp);
  gds_law *law;
  assert_int_equal(gds_law_create(p.prior, p.sc, p.op, SIGMA, &law), 0);
  assert_string_equal(gds_law_backend_name(law), "eigen-diagonal");
  gds_sampler *smp = sampler_of(&p, vp);
  double mean[2 * N], cov[2 * N * N];
  for (int c = 0; c < 2; c++)
    assert_int_equal(gds_law_moments(law, &cfg, p.v, ck[c], mean + c * N, cov + c * N * N, NULL, NULL), 0);
  gds_ts_mc_compare(smp, &cfg, p.v, 1, N, ck, mean, cov, NTRAJ);
  gds_sampler_destroy(&smp);
  gds_law_destroy(&law);
  problem_free(&p);
}

static void test_mc_ddpm(void **st) {
  (void)st;
  mc_law(0, cfg_of(GDS_ALG_NONE, GDS_SCHEME_DDPM, 0, 0, 0, GDS_INIT_NORMAL), (int[]){T / 2, 0});
  mc_law(0, cfg_of(GDS_ALG_DPS, GDS_SCHEME_DDPM, 0, 0, 0, GDS_INIT_EXACT), (int[]){T / 2, 0});
  mc_law(0, cfg_of(GDS_ALG_CGDM, GDS_SCHEME_DDPM, 0, 10, 0, GDS_INIT_NORMAL), (int[]){21, 0});
}
static void test_mc_ddim(void **st) {
  (void)st;
  mc_law(0, cfg_of(GDS_ALG_PIGDM, GDS_SCHEME_DDIM, 0.0, 10, 0, GDS_INIT_NORMAL), (int[]){21, 0});
  mc_law(0, cfg_of(GDS_ALG_CGDM, GDS_SCHEME_DDIM, 1.0, 13, 0, GDS_INIT_EXACT), (int[]){19, 0});
  mc_law(0, cfg_of(GDS_ALG_NONE, GDS_SCHEME_DDIM, 1.0, T, 0, GDS_INIT_NORMAL), (int[]){T / 2, 0});
}
static void test_mc_ddrm(void **st) {
  (void)st;
  mc_law(0, cfg_ddrm(0.85, 1.0, 10, GDS_INIT_NORMAL), (int[]){21, 0});
  mc_law(0, cfg_ddrm(0.5, 0.8, T, GDS_INIT_EXACT), (int[]){T / 2, 0});
}
static void test_mc_vp_em(void **st) {
  (void)st;
  mc_law(1, cfg_of(GDS_ALG_CGDM, GDS_SCHEME_EM, 0, 30, 0, GDS_INIT_NORMAL), (int[]){15, 30});
  mc_law(1, cfg_of(GDS_ALG_NONE, GDS_SCHEME_EM, 0, 20, 1e-3, GDS_INIT_EXACT), (int[]){10, 20});
}
static void test_mc_vp_ei_ddpm(void **st) {
  (void)st;
  mc_law(1, cfg_of(GDS_ALG_DPS, GDS_SCHEME_EI, 0, 20, 1e-2, GDS_INIT_NORMAL), (int[]){10, 20});
  mc_law(1, cfg_of(GDS_ALG_PIGDM, GDS_SCHEME_DDPM, 0, 40, 1e-3, GDS_INIT_EXACT), (int[]){20, 40});
}
static void test_mc_vp_heun_rk4(void **st) {
  (void)st;
  mc_law(1, cfg_of(GDS_ALG_CGDM, GDS_SCHEME_HEUN, 0, 10, 1e-3, GDS_INIT_NORMAL), (int[]){5, 10});
  mc_law(1, cfg_of(GDS_ALG_NONE, GDS_SCHEME_HEUN, 0, 10, 1e-2, GDS_INIT_EXACT), (int[]){5, 10});
  mc_law(1, cfg_of(GDS_ALG_PIGDM, GDS_SCHEME_RK4, 0, 8, 1e-3, GDS_INIT_NORMAL), (int[]){4, 8});
}

/* ---- replay per coordinate (SPEC §1, §7.1–7.3 written out for Σ = diag λ, A = I) ---- */

/* Guided score of coordinate j at level ᾱ (SPEC §1): s̃ = −u/q + J (v − x̂0)/C, u = y − √ᾱ m,
 * q = ᾱλ + 1 − ᾱ, J = √ᾱ λ/q, x̂0 = m + J u; C = σ²/α (dps), 1 − ᾱ + σ² (pigdm),
 * (1 − ᾱ) λ/q + σ² (cgdm). */
static double score(gds_algorithm a, double ab, int j, double y, double v, double *x0) {
  double q = ab * LAM[j] + 1 - ab, J = sqrt(ab) * LAM[j] / q, u = y - sqrt(ab) * MEAN, s2 = SIGMA * SIGMA;
  double xh = MEAN + J * u, C = a == GDS_ALG_DPS ? s2 / 0.3 : a == GDS_ALG_PIGDM ? 1 - ab + s2 : (1 - ab) * LAM[j] / q + s2;
  if (x0) *x0 = xh;
  return -u / q + (a == GDS_ALG_NONE ? 0.0 : J * (v - xh) / C);
}

static void noise(gds_sampler *s, int64_t sample, uint64_t block, double *z) {
  assert_int_equal(gds_sampler_noise_pixels(s, 3, sample, block, z), 0);
}

/* Discrete process, normal start (or DDRM's), respaced times of SPEC §7.1. */
static void replay_discrete(const problem *p, gds_sampler *s, const gds_sampler_config *cfg, int64_t sample, double *y) {
  const gds_schedule *sc = p->sc;
  const int S = cfg->steps <= 0 ? T : cfg->steps, skip = T / S;
  double z[N];
  int tau[T + 1];
  tau[0] = 0;
  for (int k = 1; k <= S; k++) tau[k] = 1 + (k - 1) * skip;
  noise(s, sample, 0, z);
  const gds_algorithm_spec *al = &cfg->alg;
  for (int j = 0; j < N; j++) {
    y[j] = z[j];
    if (al->kind == GDS_ALG_DDRM) { /* SPEC §7.2 start, s_j = 1: x̄ = v + √(ς² − σ²) w or ς w; y = x̄/ς */
      double ab = sc->alpha_bar[tau[S]], vs = sqrt((1 - ab) / ab);
      y[j] = (vs > SIGMA ? p->v[j] + sqrt(vs * vs - SIGMA * SIGMA) * z[j] : vs * z[j]) / vs;
    }
  }
  for (int k = S; k >= 1; k--) {
    const int t = tau[k], s_ = tau[k - 1];
    const double ab = sc->alpha_bar[t], abs_ = sc->alpha_bar[s_];
    noise(s, sample, (uint64_t)t, z);
    for (int j = 0; j < N; j++) {
      double x0, sct = score(al->kind == GDS_ALG_DDRM ? GDS_ALG_NONE : al->kind, ab, j, y[j], p->v[j], &x0);
      if (al->kind == GDS_ALG_DDRM) { /* SPEC §7.2, s_j = 1 */
        double vs = s_ == 0 ? 0 : sqrt((1 - abs_) / abs_), xb; /* ς_s (ς_0 = 0: no noise) */
        double eta = al->eta, eb = al->eta_b, zz = s_ == 0 ? 0 : z[j];
        if (vs > SIGMA) xb = eb * p->v[j] + (1 - eb) * x0 + sqrt(vs * vs - eb * eb * SIGMA * SIGMA) * zz;
        else xb = x0 + sqrt(1 - eta * eta) * vs * (p->v[j] - x0) / SIGMA + eta * vs * zz;
        y[j] = sqrt(abs_) * xb;
      } else if (cfg->scheme.kind == GDS_SCHEME_DDPM) {
        double a1 = ab / abs_, b1 = 1 - a1, var = s_ == 0 ? 0 : b1; /* variance beta */
        y[j] = (y[j] + b1 * sct) / sqrt(a1) + sqrt(var) * z[j];
      } else { /* ddim(η) */
        double c = cfg->scheme.eta * sqrt((1 - abs_) / (1 - ab)) * sqrt(1 - ab / abs_);
        double xh = (y[j] + (1 - ab) * sct) / sqrt(ab), eh = -sqrt(1 - ab) * sct;
        y[j] = sqrt(abs_) * xh + sqrt(fmax(0, 1 - abs_ - c * c)) * eh + c * z[j];
      }
    }
  }
}

static double vpb(double u) { return 0.1 + u * (20 - 0.1); }
static double vpB(double u) { return 0.1 * u + 0.5 * (20 - 0.1) * u * u; }

/* F(y, u) = ½β(u)(y + s̃(y, u)) for coordinate j. */
static double flow(gds_algorithm a, double u, int j, double y, double v) {
  return 0.5 * vpb(u) * (y + score(a, exp(-vpB(u)), j, y, v, NULL));
}

/* VP SDE (SPEC §7.3), normal start; noise of step k is block K − k. */
static void replay_vp(const problem *p, gds_sampler *s, const gds_sampler_config *cfg, int64_t sample, double *y) {
  const int K = cfg->steps;
  const double dt = (1 - cfg->eps) / K;
  const gds_algorithm a = cfg->alg.kind;
  double z[N];
  noise(s, sample, 0, y);
  for (int k = 0; k < K; k++) {
    double u0 = 1 - k * dt, u1 = k + 1 == K ? cfg->eps : 1 - (k + 1) * dt, h = u0 - u1, b = vpb(u0);
    noise(s, sample, (uint64_t)(K - k), z);
    for (int j = 0; j < N; j++) {
      double v = p->v[j], yy = y[j], sc = score(a, exp(-vpB(u0)), j, yy, v, NULL);
      switch (cfg->scheme.kind) {
      case GDS_SCHEME_EM: y[j] = yy + h * (0.5 * b * yy + b * sc) + sqrt(h * b) * z[j]; break;
      case GDS_SCHEME_EI: {
        double dl = 0.5 * (vpB(u0) - vpB(u1));
        y[j] = exp(dl) * yy + 2 * (exp(dl) - 1) * sc + sqrt(exp(2 * dl) - 1) * z[j];
        break;
      }
      case GDS_SCHEME_DDPM: y[j] = (yy + h * b * sc) / sqrt(1 - h * b) + sqrt(h * b) * z[j]; break;
      case GDS_SCHEME_EULER: y[j] = yy + h * flow(a, u0, j, yy, v); break;
      case GDS_SCHEME_HEUN: {
        double f0 = flow(a, u0, j, yy, v), yt = yy + h * f0;
        y[j] = yy + 0.5 * h * (f0 + flow(a, u1, j, yt, v));
        break;
      }
      case GDS_SCHEME_RK4: {
        double um = u0 - 0.5 * h, k1 = flow(a, u0, j, yy, v), k2 = flow(a, um, j, yy + 0.5 * h * k1, v);
        double k3 = flow(a, um, j, yy + 0.5 * h * k2, v), k4 = flow(a, u1, j, yy + h * k3, v);
        y[j] = yy + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
        break;
      }
      default: fail();
      }
    }
  }
}

static void check_replay(int vp, gds_sampler_config cfg) {
  problem p;
  problem_make(&p, vp);
  gds_sampler *s = sampler_of(&p, vp);
  for (int64_t sample = 0; sample < 3; sample++) {
    double y0[N], ref[N];
    assert_int_equal(gds_sampler_run(s, &cfg, p.v, 3, sample, 0, NULL, NULL, y0, NULL), 0);
    if (vp) replay_vp(&p, s, &cfg, sample, ref);
    else replay_discrete(&p, s, &cfg, sample, ref);
    for (int j = 0; j < N; j++) {
      assert_true(isfinite(ref[j]));
      GDS_ASSERT_CLOSE(y0[j], ref[j], 1e-10, 1e-12);
    }
  }
  gds_sampler_destroy(&s);
  problem_free(&p);
}

static void test_replay_discrete(void **st) {
  (void)st;
  check_replay(0, cfg_of(GDS_ALG_DPS, GDS_SCHEME_DDPM, 0, 0, 0, GDS_INIT_NORMAL));
  check_replay(0, cfg_of(GDS_ALG_CGDM, GDS_SCHEME_DDPM, 0, 9, 0, GDS_INIT_NORMAL));
  check_replay(0, cfg_of(GDS_ALG_PIGDM, GDS_SCHEME_DDIM, 0.6, 10, 0, GDS_INIT_NORMAL));
  check_replay(0, cfg_ddrm(0.85, 1.0, 10, GDS_INIT_NORMAL));
  check_replay(0, cfg_ddrm(0.4, 0.7, T, GDS_INIT_NORMAL));
}

static void test_replay_vp(void **st) {
  (void)st;
  const gds_scheme sch[6] = {GDS_SCHEME_EM, GDS_SCHEME_EI, GDS_SCHEME_DDPM, GDS_SCHEME_EULER, GDS_SCHEME_HEUN, GDS_SCHEME_RK4};
  const gds_algorithm al[4] = {GDS_ALG_NONE, GDS_ALG_DPS, GDS_ALG_PIGDM, GDS_ALG_CGDM};
  for (int k = 0; k < 6; k++) check_replay(1, cfg_of(al[k % 4], sch[k], 0, 40, k % 2 ? 1e-3 : 1e-2, GDS_INIT_NORMAL)); /* Δt β < 1 */
  /* one step: the closed form of a single update */
  check_replay(1, cfg_of(GDS_ALG_CGDM, GDS_SCHEME_EM, 0, 1, 0, GDS_INIT_NORMAL));
}

/* docs/sampler.md: white noise of block b in the eigen space is normal j of block b at
 * coordinate j (no transform, no scaling); and a trajectory's start (normal init) is block 0. */
static void test_noise_keys(void **st) {
  (void)st;
  problem p;
  problem_make(&p, 0);
  gds_sampler *s = sampler_of(&p, 0);
  const uint64_t blocks[3] = {0, 17, UINT64_C(0xffffffff)};
  for (int b = 0; b < 3; b++) {
    double z[N], ref[N];
    noise(s, 5, blocks[b], z);
    gds_rng_normal_range(gds_rng_key_make(GDS_STREAM_SAMPLER, 3, 5), blocks[b], 0, N, ref);
    assert_memory_equal(z, ref, sizeof z);
  }
  gds_sampler_config cfg = cfg_of(GDS_ALG_DPS, GDS_SCHEME_DDPM, 0, 0, 0, GDS_INIT_NORMAL);
  int ck = T;
  float start[N];
  double z[N];
  assert_int_equal(gds_sampler_run(s, &cfg, p.v, 3, 5, 1, &ck, start, NULL, NULL), 0);
  noise(s, 5, 0, z);
  for (int j = 0; j < N; j++) assert_true(start[j] == (float)z[j]);
  assert_true(strstr(gds_sampler_noise_description(), "eigenbasis") != NULL);
  gds_sampler_destroy(&s);
  problem_free(&p);
}

/* DDIM η = 0 and the ODE schemes add no noise after the start: per coordinate the output is an
 * affine function P y_start + c of the start (y_start = block 0 for the normal init). P and c
 * from two samples predict the output of three others. */
static void check_affine(int vp, gds_sampler_config cfg) {
  problem p;
  problem_make(&p, vp);
  gds_sampler *s = sampler_of(&p, vp);
  double ys[5][N], ye[5][N];
  for (int k = 0; k < 5; k++) {
    noise(s, k, 0, ys[k]);
    assert_int_equal(gds_sampler_run(s, &cfg, p.v, 3, k, 0, NULL, NULL, ye[k], NULL), 0);
  }
  for (int j = 0; j < N; j++) {
    double P = (ye[0][j] - ye[1][j]) / (ys[0][j] - ys[1][j]), c = ye[0][j] - P * ys[0][j];
    for (int k = 2; k < 5; k++) GDS_ASSERT_CLOSE(ye[k][j], P * ys[k][j] + c, 1e-9, 1e-11);
  }
  gds_sampler_destroy(&s);
  problem_free(&p);
}

static void test_ode_function_of_start(void **st) {
  (void)st;
  check_affine(0, cfg_of(GDS_ALG_CGDM, GDS_SCHEME_DDIM, 0.0, 10, 0, GDS_INIT_NORMAL));
  check_affine(0, cfg_of(GDS_ALG_NONE, GDS_SCHEME_DDIM, 0.0, T, 0, GDS_INIT_NORMAL));
  check_affine(1, cfg_of(GDS_ALG_PIGDM, GDS_SCHEME_EULER, 0, 15, 1e-3, GDS_INIT_NORMAL));
  check_affine(1, cfg_of(GDS_ALG_DPS, GDS_SCHEME_HEUN, 0, 10, 1e-3, GDS_INIT_NORMAL));
  check_affine(1, cfg_of(GDS_ALG_CGDM, GDS_SCHEME_RK4, 0, 6, 1e-2, GDS_INIT_NORMAL));
}

/* The check above fails for a scheme that adds noise after the start. */
static void test_sde_not_function_of_start(void **st) {
  (void)st;
  problem p;
  problem_make(&p, 1);
  gds_sampler *s = sampler_of(&p, 1);
  gds_sampler_config cfg = cfg_of(GDS_ALG_CGDM, GDS_SCHEME_EM, 0, 10, 1e-3, GDS_INIT_NORMAL);
  double ys[3][N], ye[3][N], worst = 0;
  for (int k = 0; k < 3; k++) {
    noise(s, k, 0, ys[k]);
    assert_int_equal(gds_sampler_run(s, &cfg, p.v, 3, k, 0, NULL, NULL, ye[k], NULL), 0);
  }
  for (int j = 1; j < N; j++) {
    double P = (ye[0][j] - ye[1][j]) / (ys[0][j] - ys[1][j]), c = ye[0][j] - P * ys[0][j];
    worst = fmax(worst, fabs(ye[2][j] - (P * ys[2][j] + c)));
  }
  assert_true(worst > 1e-3);
  gds_sampler_destroy(&s);
  problem_free(&p);
}

/* Same (seed, sample) → the same bits, from a fresh sampler or after other runs; exact starts
 * and trajectories included; another sample differs. */
static void test_bitwise(void **st) {
  (void)st;
  for (int vp = 0; vp < 2; vp++) {
    problem p;
    problem_make(&p, vp);
    gds_sampler_config cfg = vp ? cfg_of(GDS_ALG_PIGDM, GDS_SCHEME_EM, 0, 20, 1e-3, GDS_INIT_EXACT)
                                : cfg_of(GDS_ALG_DPS, GDS_SCHEME_DDPM, 0, 0, 0, GDS_INIT_EXACT);
    gds_sampler_config other = vp ? cfg_of(GDS_ALG_NONE, GDS_SCHEME_RK4, 0, 5, 0.01, GDS_INIT_NORMAL)
                                  : cfg_ddrm(0.85, 1, 10, GDS_INIT_NORMAL);
    const int ck[2] = {vp ? 7 : 13, 0};
    float a[2 * N], b[2 * N], c[2 * N], o[2 * N];
    double ya[N], yb[N];
    gds_sampler *s1 = sampler_of(&p, vp), *s2 = sampler_of(&p, vp);
    assert_int_equal(gds_sampler_run(s1, &cfg, p.v, 8, 2, 2, ck, a, ya, NULL), 0);
    assert_int_equal(gds_sampler_run(s1, &other, p.v, 8, 2, 0, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(gds_sampler_run(s1, &cfg, p.v, 8, 2, 2, ck, b, yb, NULL), 0);
    assert_int_equal(gds_sampler_run(s2, &cfg, p.v, 8, 2, 2, ck, c, NULL, NULL), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(a, c, sizeof a);
    assert_memory_equal(ya, yb, sizeof ya);
    assert_int_equal(gds_sampler_run(s2, &cfg, p.v, 8, 3, 2, ck, o, NULL, NULL), 0);
    assert_memory_not_equal(a, o, sizeof a);
    gds_sampler_destroy(&s1);
    gds_sampler_destroy(&s2);
    problem_free(&p);
  }
}

static void test_errors(void **st) {
  (void)st;
  problem p;
  problem_make(&p, 0);
  gds_sampler *s = NULL;
  int q = gds_error_set_quiet(1);
  gds_operator_spec blur = {.type = GDS_OP_GAUSSIAN_BLUR, .std = 1.0};
  gds_operator *op;
  assert_int_equal(gds_operator_create(&blur, 1, N, &op), 0);
  assert_int_equal(gds_sampler_create(p.prior, p.sc, op, SIGMA, &s), GDS_ERR_INPUT);
  assert_null(s);
  assert_int_equal(gds_sampler_create_with(p.prior, p.sc, p.op, SIGMA, "fourier", &s), GDS_ERR_INPUT);
  assert_int_equal(gds_sampler_create_with(p.prior, p.sc, p.op, SIGMA, "generic", &s), GDS_ERR_INPUT);
  assert_null(s);
  /* a stationary prior does not take the eigen backend */
  gds_prior *fp = gds_test_prior_random(1, N, 0.3, 2);
  assert_int_equal(gds_sampler_create_with(fp, p.sc, p.op, SIGMA, "eigen-diagonal", &s), GDS_ERR_INPUT);
  assert_null(s);
  gds_error_set_quiet(q);
  gds_test_prior_free(fp);
  gds_operator_destroy(&op);
  problem_free(&p);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_noise_keys),
      cmocka_unit_test(test_replay_discrete),
      cmocka_unit_test(test_replay_vp),
      cmocka_unit_test(test_ode_function_of_start),
      cmocka_unit_test(test_sde_not_function_of_start),
      cmocka_unit_test(test_bitwise),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_mc_ddpm),
      cmocka_unit_test(test_mc_ddim),
      cmocka_unit_test(test_mc_ddrm),
      cmocka_unit_test(test_mc_vp_em),
      cmocka_unit_test(test_mc_vp_ei_ddpm),
      cmocka_unit_test(test_mc_vp_heun_rk4),
  };
  int r = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Finalize();
  return r;
}
