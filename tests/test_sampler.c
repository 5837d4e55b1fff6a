/* Real trajectories of the samplers (SPEC §1, §7; src/sampler*.c):
 * - Monte Carlo against the exact law of the law backends (gds_law_moments: Fourier-diagonal,
 *   Fourier-block, dense distributed) for DDPM, DDIM(η) and DDRM(η, η_b) on blurs, inpainting
 *   and super-resolution, and against a dense brute-force law of SPEC §7 (testutil_sampler.c)
 *   for respaced DDPM, DDIM(η), DDRM(η, η_b) and the VP SDE schemes, normal and exact starts:
 *   ≥ 2000 trajectories, per-pixel mean and variance and power per frequency at a middle
 *   checkpoint and at t = 0 within 5 standard errors;
 * - the generic backend (operator in pixel space, CG) and the Fourier backend give the same
 *   path for every scheme, algorithm, start and respacing, on non-square images;
 * - DDIM with η = 0 is a function of y_T alone: y_0 equals the dense affine flow of y_T;
 * - noise keys (SPEC §3): the same (seed, sample) gives the same y_T to every configuration
 *   and operator; sampler_steps = T is the plain sampler bitwise;
 * - the VP SDE schemes (SPEC §7.3): Monte Carlo of EM, EI, DDPM, Heun and RK4 against the
 *   dense law, ODE schemes are the affine flow of their start, backends agree;
 * - errors: a checkpoint the plan never visits, bad parameters, a stop request. */
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/law.h"
#include "gdsweep/operator.h"
#include "gdsweep/sampler.h"
#include "gdsweep/schedule.h"
#include "testutil.h"
#include "testutil_sampler.h"

enum { H = 6, W = 5, D = H * W, T = 40, NTRAJ = 2400 };

static gds_sampler_config cfg_of(gds_algorithm a, double alpha, gds_scheme sch, double eta, int steps, gds_init init) {
  return (gds_sampler_config){.alg = {.kind = a}, .alpha_dps = alpha, .scheme = {sch, eta}, .steps = steps, .init = init};
}

static gds_sampler_config cfg_ddrm(double eta, double eta_b, int steps, gds_init init) {
  return (gds_sampler_config){.alg = {.kind = GDS_ALG_DDRM, .eta = eta, .eta_b = eta_b}, .steps = steps, .init = init};
}

/* ---- Monte Carlo against the law backends (default DDPM sampler of SPEC §1) ---- */

static void check_alg(gds_algorithm alg, gds_operator_type optype, gds_variance var) {
  gds_prior *prior = gds_test_prior_random(H, W, 0.45, 7);
  gds_schedule *sc;
  assert_int_equal(gds_schedule_create(T, 1e-3, 0.25, var, &sc), 0);
  gds_operator_spec spec = {.type = optype, .std = 1.2, .length = 3, .angle = 30};
  gds_operator *op;
  assert_int_equal(gds_operator_create(&spec, H, W, &op), 0);
  double sigma = 0.08, alpha = 0.7, x0[D], v[D];
  gds_test_fill_uniform(3, D, 0.2, 0.8, x0);
  assert_int_equal(gds_operator_measure(op, 0, x0, sigma, 5, v), 0);

  gds_law *law;
  gds_sampler *smp;
  assert_int_equal(gds_law_create(prior, sc, op, sigma, &law), 0);
  assert_int_equal(gds_sampler_create(prior, sc, op, sigma, &smp), 0);
  gds_test_mc_check(law, smp, alg, alpha, v, H, W, T / 2, NTRAJ);
  gds_sampler_destroy(&smp);
  gds_law_destroy(&law);
  gds_operator_destroy(&op);
  gds_schedule_destroy(&sc);
  gds_test_prior_free(prior);
}

static void test_mc_dps_gaussian(void **st) { (void)st; check_alg(GDS_ALG_DPS, GDS_OP_GAUSSIAN_BLUR, GDS_VARIANCE_BETA); }
static void test_mc_pigdm_motion(void **st) { (void)st; check_alg(GDS_ALG_PIGDM, GDS_OP_MOTION_BLUR, GDS_VARIANCE_BETA); }
static void test_mc_cgdm_gaussian_tilde(void **st) { (void)st; check_alg(GDS_ALG_CGDM, GDS_OP_GAUSSIAN_BLUR, GDS_VARIANCE_BETA_TILDE); }
static void test_mc_none_identity(void **st) { (void)st; check_alg(GDS_ALG_NONE, GDS_OP_IDENTITY, GDS_VARIANCE_BETA); }
static void test_mc_cgdm_identity(void **st) { (void)st; check_alg(GDS_ALG_CGDM, GDS_OP_IDENTITY, GDS_VARIANCE_BETA); }

/* ---- Monte Carlo against the dense law of SPEC §7 ---- */

typedef struct problem {
  int h, w;
  gds_prior *prior;
  gds_schedule *sc;
  gds_operator *op;
  double sigma;
  double *v;
  gds_ts_problem dense;
} problem;

static void problem_make(problem *p, int h, int w, gds_operator_spec spec, gds_variance var, double sigma) {
  *p = (problem){.h = h, .w = w, .sigma = sigma};
  p->prior = gds_test_prior_random(h, w, 0.45, 7);
  assert_int_equal(gds_schedule_create(T, 1e-3, 0.25, var, &p->sc), 0);
  assert_int_equal(gds_operator_create(&spec, h, w, &p->op), 0);
  double *x0 = malloc(sizeof(double) * h * w);
  p->v = malloc(sizeof(double) * p->op->m);
  gds_test_fill_uniform(3, (size_t)h * w, 0.2, 0.8, x0);
  assert_int_equal(gds_operator_measure(p->op, 0, x0, sigma, 5, p->v), 0);
  free(x0);
  gds_ts_problem_make(p->prior, p->op, sigma, p->v, p->sc, &p->dense);
}

static void problem_free(problem *p) {
  gds_ts_problem_free(&p->dense);
  free(p->v);
  gds_operator_destroy(&p->op);
  gds_schedule_destroy(&p->sc);
  gds_test_prior_free(p->prior);
}

static const gds_operator_spec OP_BLUR = {.type = GDS_OP_GAUSSIAN_BLUR, .std = 1.2};
static const gds_operator_spec OP_MOTION = {.type = GDS_OP_MOTION_BLUR, .length = 3, .angle = 30};
static const gds_operator_spec OP_INPAINT = {.type = GDS_OP_INPAINTING, .mask = GDS_MASK_RANDOM, .keep = 0.6, .mask_seed = 4};
static const gds_operator_spec OP_SR = {.type = GDS_OP_SUPER_RESOLUTION, .factor = 2};

/* cfg on an h×w problem, checkpoint t_mid (a time the plan visits), against the dense law. */
static void mc_dense(gds_operator_spec spec, int h, int w, gds_variance var, gds_sampler_config cfg, int t_mid) {
  problem p;
  problem_make(&p, h, w, spec, var, 0.08);
  gds_sampler *smp;
  assert_int_equal(gds_sampler_create(p.prior, p.sc, p.op, p.sigma, &smp), 0);
  gds_ts_mc_check(smp, &p.dense, &cfg, t_mid, NTRAJ);
  gds_sampler_destroy(&smp);
  problem_free(&p);
}

/* S = 10 of T = 40: τ = 0, 1, 5, 9, ..., 37; S = 13: skip 3, τ = 1, 4, ..., 37. */
static void test_mc_ddim_blur(void **st) {
  (void)st;
  mc_dense(OP_BLUR, H, W, GDS_VARIANCE_BETA, cfg_of(GDS_ALG_CGDM, 1, GDS_SCHEME_DDIM, 0.5, 10, GDS_INIT_NORMAL), 21);
}
static void test_mc_ddim_inpainting_exact(void **st) {
  (void)st;
  mc_dense(OP_INPAINT, H, W, GDS_VARIANCE_BETA, cfg_of(GDS_ALG_PIGDM, 1, GDS_SCHEME_DDIM, 0.8, 10, GDS_INIT_EXACT), 21);
}
static void test_mc_ddim_inpainting_dps(void **st) {
  (void)st;
  mc_dense(OP_INPAINT, H, W, GDS_VARIANCE_BETA, cfg_of(GDS_ALG_DPS, 0.3, GDS_SCHEME_DDIM, 1.0, T, GDS_INIT_NORMAL), 20);
}
static void test_mc_ddpm_respaced_motion(void **st) {
  (void)st;
  mc_dense(OP_MOTION, H, W, GDS_VARIANCE_BETA_TILDE, cfg_of(GDS_ALG_DPS, 0.05, GDS_SCHEME_DDPM, 0, 13, GDS_INIT_NORMAL), 19);
}
static void test_mc_ddpm_none_exact(void **st) {
  (void)st;
  mc_dense(OP_BLUR, H, W, GDS_VARIANCE_BETA, cfg_of(GDS_ALG_NONE, 1, GDS_SCHEME_DDPM, 0, 10, GDS_INIT_EXACT), 21);
}
static void test_mc_ddrm_blur(void **st) {
  (void)st;
  mc_dense(OP_BLUR, H, W, GDS_VARIANCE_BETA, cfg_ddrm(0.85, 1.0, 10, GDS_INIT_NORMAL), 21);
}
static void test_mc_ddrm_blur_exact(void **st) {
  (void)st;
  mc_dense(OP_MOTION, H, W, GDS_VARIANCE_BETA, cfg_ddrm(0.5, 0.6, T, GDS_INIT_EXACT), 20);
}
static void test_mc_ddrm_inpainting(void **st) {
  (void)st;
  mc_dense(OP_INPAINT, H, W, GDS_VARIANCE_BETA, cfg_ddrm(0.85, 1.0, 10, GDS_INIT_NORMAL), 21);
}
static void test_mc_ddrm_inpainting_exact(void **st) {
  (void)st;
  mc_dense(OP_INPAINT, H, W, GDS_VARIANCE_BETA, cfg_ddrm(0.3, 0.5, 13, GDS_INIT_EXACT), 19);
}
static void test_mc_ddrm_sr(void **st) {
  (void)st;
  mc_dense(OP_SR, 6, 4, GDS_VARIANCE_BETA, cfg_ddrm(0.85, 0.9, 10, GDS_INIT_NORMAL), 21);
}
static void test_mc_cgdm_sr_exact(void **st) {
  (void)st;
  mc_dense(OP_SR, 6, 4, GDS_VARIANCE_BETA, cfg_of(GDS_ALG_CGDM, 1, GDS_SCHEME_DDPM, 0, T, GDS_INIT_EXACT), 20);
}

/* §7 samplers against the law backends themselves (gds_law_moments with the configuration). */
static void mc_law(gds_operator_spec spec, int h, int w, gds_sampler_config cfg, int t_mid) {
  problem p;
  problem_make(&p, h, w, spec, GDS_VARIANCE_BETA, 0.08);
  const int d = h * w, ck[2] = {t_mid, 0};
  gds_law *law;
  gds_sampler *smp;
  assert_int_equal(gds_law_create(p.prior, p.sc, p.op, p.sigma, &law), 0);
  assert_int_equal(gds_sampler_create(p.prior, p.sc, p.op, p.sigma, &smp), 0);
  double *mean = malloc(sizeof(double) * 2 * d), *cov = malloc(sizeof(double) * 2 * d * d);
  for (int c = 0; c < 2; c++)
    assert_int_equal(gds_law_moments(law, &cfg, p.v, ck[c], mean + c * d, cov + (size_t)c * d * d, NULL, NULL), 0);
  gds_ts_mc_compare(smp, &cfg, p.v, h, w, ck, mean, cov, NTRAJ);
  free(mean);
  free(cov);
  gds_sampler_destroy(&smp);
  gds_law_destroy(&law);
  problem_free(&p);
}

static void test_mc_law_ddim_blur(void **st) {
  (void)st;
  mc_law(OP_BLUR, H, W, cfg_of(GDS_ALG_PIGDM, 1, GDS_SCHEME_DDIM, 0.6, 10, GDS_INIT_NORMAL), 21);
}
static void test_mc_law_ddim_inpainting(void **st) {
  (void)st;
  mc_law(OP_INPAINT, H, W, cfg_of(GDS_ALG_CGDM, 1, GDS_SCHEME_DDIM, 1.0, 13, GDS_INIT_EXACT), 19);
}
static void test_mc_law_ddrm_blur(void **st) {
  (void)st;
  mc_law(OP_MOTION, H, W, cfg_ddrm(0.85, 1.0, 10, GDS_INIT_NORMAL), 21);
}
static void test_mc_law_ddrm_inpainting(void **st) {
  (void)st;
  mc_law(OP_INPAINT, H, W, cfg_ddrm(0.5, 0.8, T, GDS_INIT_NORMAL), 20);
}
static void test_mc_law_sr(void **st) {
  (void)st;
  mc_law(OP_SR, 6, 4, cfg_ddrm(0.85, 1.0, 10, GDS_INIT_EXACT), 21);
  mc_law(OP_SR, 6, 4, cfg_of(GDS_ALG_DPS, 0.05, GDS_SCHEME_DDIM, 0.3, 10, GDS_INIT_NORMAL), 21);
}

/* ---- the VP SDE (SPEC §7.3) ---- */

static gds_sampler_config cfg_vp(gds_algorithm a, double alpha, gds_scheme sch, int K, double eps, gds_init init) {
  return (gds_sampler_config){.alg = {.kind = a}, .alpha_dps = alpha, .scheme = {sch, 0}, .steps = K, .eps = eps, .init = init};
}

static void mc_vp(gds_operator_spec spec, int h, int w, gds_sampler_config cfg, const char *backend) {
  problem p;
  problem_make(&p, h, w, spec, GDS_VARIANCE_BETA, 0.08);
  p.dense.sched = NULL;
  p.dense.beta_min = 0.1;
  p.dense.beta_max = 20;
  gds_sampler *smp;
  assert_int_equal(gds_sampler_create_vp_sde(p.prior, 0.1, 20, p.op, p.sigma, backend, &smp), 0);
  gds_ts_mc_check(smp, &p.dense, &cfg, cfg.steps / 2, NTRAJ);
  gds_sampler_destroy(&smp);
  problem_free(&p);
}

static void test_mc_vp_em_blur(void **st) {
  (void)st;
  mc_vp(OP_BLUR, H, W, cfg_vp(GDS_ALG_CGDM, 1, GDS_SCHEME_EM, 30, 0, GDS_INIT_NORMAL), NULL);
}
static void test_mc_vp_em_inpainting_exact(void **st) {
  (void)st;
  mc_vp(OP_INPAINT, H, W, cfg_vp(GDS_ALG_PIGDM, 1, GDS_SCHEME_EM, 20, 1e-3, GDS_INIT_EXACT), NULL);
}
static void test_mc_vp_ei_ddpm(void **st) {
  (void)st;
  mc_vp(OP_MOTION, H, W, cfg_vp(GDS_ALG_DPS, 0.05, GDS_SCHEME_EI, 20, 1e-2, GDS_INIT_NORMAL), NULL);
  mc_vp(OP_BLUR, H, W, cfg_vp(GDS_ALG_NONE, 1, GDS_SCHEME_DDPM, 40, 1e-3, GDS_INIT_NORMAL), NULL);
}
static void test_mc_vp_heun(void **st) {
  (void)st;
  mc_vp(OP_BLUR, H, W, cfg_vp(GDS_ALG_CGDM, 1, GDS_SCHEME_HEUN, 10, 1e-3, GDS_INIT_NORMAL), NULL);
  mc_vp(OP_INPAINT, H, W, cfg_vp(GDS_ALG_CGDM, 1, GDS_SCHEME_HEUN, 10, 1e-2, GDS_INIT_EXACT), NULL);
}
static void test_mc_vp_rk4_euler_sr(void **st) {
  (void)st;
  mc_vp(OP_SR, 6, 4, cfg_vp(GDS_ALG_PIGDM, 1, GDS_SCHEME_RK4, 8, 1e-3, GDS_INIT_NORMAL), NULL);
  mc_vp(OP_SR, 6, 4, cfg_vp(GDS_ALG_CGDM, 1, GDS_SCHEME_EULER, 20, 1e-3, GDS_INIT_EXACT), "generic");
}

/* ODE schemes add no noise after the start: y_K is the dense affine flow of y_0 (the start, as
 * stored); every backend; SDE schemes differ between samples with the same start. */
static void test_vp_ode_flow(void **st) {
  (void)st;
  const gds_operator_spec specs[3] = {OP_BLUR, OP_INPAINT, OP_SR};
  const gds_scheme odes[3] = {GDS_SCHEME_EULER, GDS_SCHEME_HEUN, GDS_SCHEME_RK4};
  for (int o = 0; o < 3; o++)
    for (int sc = 0; sc < 3; sc++) {
      problem p;
      problem_make(&p, H, o == 2 ? 4 : W, specs[o], GDS_VARIANCE_BETA, 0.1);
      p.dense.sched = NULL;
      p.dense.beta_min = 0.1;
      p.dense.beta_max = 20;
      const int D_ = p.h * p.w, K = 7;
      gds_sampler *smp;
      assert_int_equal(gds_sampler_create_vp_sde(p.prior, 0.1, 20, p.op, p.sigma, NULL, &smp), 0);
      gds_sampler_config cfg = cfg_vp((gds_algorithm)(1 + (o + sc) % 3), 0.1, odes[sc], K, 2e-3, GDS_INIT_NORMAL);
      double P[D * D], c[D], yK[D], pred[D];
      float f0[D];
      int k0 = 0;
      gds_ts_flow(&p.dense, &cfg, P, c);
      double sP = 0;
      for (int i = 0; i < D_ * D_; i++) sP = fmax(sP, fabs(P[i]));
      for (int n = 0; n < 2; n++) {
        assert_int_equal(gds_sampler_run(smp, &cfg, p.v, 4, n, 1, &k0, f0, yK, NULL), 0);
        for (int i = 0; i < D_; i++) {
          long double acc = c[i];
          for (int j = 0; j < D_; j++) acc += (long double)P[i * D_ + j] * f0[j];
          pred[i] = (double)acc;
        }
        for (int i = 0; i < D_; i++) GDS_ASSERT_CLOSE(yK[i], pred[i], 0, 1e-6 * (1 + D_ * sP));
      }
      gds_sampler_destroy(&smp);
      problem_free(&p);
    }
}

/* The generic backend agrees with the structured ones on every VP SDE scheme and start. */
static void test_vp_backends_agree(void **st) {
  (void)st;
  const gds_operator_spec specs[2] = {OP_MOTION, OP_SR};
  const char *names[2] = {"fourier", "fourier-block"};
  for (int o = 0; o < 2; o++) {
    problem p;
    problem_make(&p, o ? 4 : H, o ? 6 : W, specs[o], GDS_VARIANCE_BETA, 0.07);
    int d = p.h * p.w;
    gds_sampler *ss, *sg;
    assert_int_equal(gds_sampler_create_vp_sde(p.prior, 0.1, 20, p.op, 0.07, NULL, &ss), 0);
    assert_int_equal(gds_sampler_create_vp_sde(p.prior, 0.1, 20, p.op, 0.07, "generic", &sg), 0);
    assert_string_equal(gds_sampler_backend_name(ss), names[o]);
    double *ys = malloc(sizeof(double) * d), *yg = malloc(sizeof(double) * d);
    for (int sch = GDS_SCHEME_EM; sch <= GDS_SCHEME_RK4; sch++)
      for (int init = 0; init < GDS_INIT_COUNT; init++) {
        gds_sampler_config cfg = cfg_vp((gds_algorithm)((sch + init) % 4), 0.2, (gds_scheme)sch, 9, 1e-3, (gds_init)init);
        assert_int_equal(gds_sampler_run(ss, &cfg, p.v, 2, 3, 0, NULL, NULL, ys, NULL), 0);
        assert_int_equal(gds_sampler_run(sg, &cfg, p.v, 2, 3, 0, NULL, NULL, yg, NULL), 0);
        for (int i = 0; i < d; i++) GDS_ASSERT_CLOSE(yg[i], ys[i], 1e-9, 1e-10);
      }
    gds_sampler_config c = cfg_vp(GDS_ALG_CGDM, 1, GDS_SCHEME_DDPM, 40, 1e-3, GDS_INIT_NORMAL); /* Δt β < 1 */
    assert_int_equal(gds_sampler_run(ss, &c, p.v, 2, 3, 0, NULL, NULL, ys, NULL), 0);
    assert_int_equal(gds_sampler_run(sg, &c, p.v, 2, 3, 0, NULL, NULL, yg, NULL), 0);
    for (int i = 0; i < d; i++) GDS_ASSERT_CLOSE(yg[i], ys[i], 1e-9, 1e-10);
    /* A ddpm step with Δt β(u) ≥ 1 has no real value: the output is +inf (as its law is, SPEC
     * §7.3), on both backends, the start (checkpoint 0) stays finite. */
    c.steps = 9;
    int ck[2] = {0, 9};
    float *tr = malloc(sizeof(float) * 2 * d);
    for (int b = 0; b < 2; b++) {
      assert_int_equal(gds_sampler_run(b ? sg : ss, &c, p.v, 2, 3, 2, ck, tr, ys, NULL), 0);
      for (int i = 0; i < d; i++) {
        assert_true(isfinite(tr[i]));
        assert_true(isinf(tr[d + i]) && tr[d + i] > 0);
        assert_true(isinf(ys[i]) && ys[i] > 0);
      }
    }
    /* heun and rk4 at eps = 0 evaluate the score at u = 0 with a singular Σ (λ(0) = 0) on the
     * last step only: +inf there, finite before */
    for (int sch = GDS_SCHEME_HEUN; sch <= GDS_SCHEME_RK4; sch++) {
      gds_sampler_config h = cfg_vp(GDS_ALG_PIGDM, 1, (gds_scheme)sch, 9, 0, GDS_INIT_NORMAL);
      int ck2[2] = {8, 9};
      for (int b = 0; b < 2; b++) {
        assert_int_equal(gds_sampler_run(b ? sg : ss, &h, p.v, 2, 3, 2, ck2, tr, NULL, NULL), 0);
        for (int i = 0; i < d; i++) {
          assert_true(isfinite(tr[i]));
          assert_true(isinf(tr[d + i]) && tr[d + i] > 0);
        }
      }
    }
    free(tr);
    /* vp_sde refuses the discrete-only configurations */
    int q = gds_error_set_quiet(1);
    gds_sampler_config bad[] = {cfg_vp(GDS_ALG_CGDM, 1, GDS_SCHEME_DDIM, 9, 0, GDS_INIT_NORMAL),
                                cfg_ddrm(0.85, 1, 9, GDS_INIT_NORMAL),
                                cfg_vp(GDS_ALG_CGDM, 1, GDS_SCHEME_EM, 0, 0, GDS_INIT_NORMAL),
                                cfg_vp(GDS_ALG_CGDM, 1, GDS_SCHEME_EM, 9, 1.0, GDS_INIT_NORMAL)};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
      assert_int_equal(gds_sampler_run(ss, &bad[i], p.v, 2, 3, 0, NULL, NULL, ys, NULL), GDS_ERR_INPUT);
      assert_int_equal(gds_sampler_check(p.op, NULL, &bad[i]), GDS_ERR_INPUT);
    }
    gds_error_set_quiet(q);
    free(ys);
    free(yg);
    gds_sampler_destroy(&ss);
    gds_sampler_destroy(&sg);
    problem_free(&p);
  }
}

/* ---- backends agree ---- */

/* Every scheme × algorithm × start × respacing: the generic backend (operator in pixel space,
 * C⁻¹ by CG) and the Fourier backend evaluate the same formulas on the same noise. */
static void test_generic_equals_fourier(void **st) {
  (void)st;
  const int shapes[2][2] = {{H, W}, {4, 6}}; /* odd and even widths (self-conjugate columns) */
  const gds_operator_spec specs[3] = {{.type = GDS_OP_IDENTITY}, OP_BLUR, OP_MOTION};
  for (int sh = 0; sh < 2; sh++)
    for (int o = 0; o < 3; o++) {
      int h = shapes[sh][0], w = shapes[sh][1], d = h * w;
      problem p;
      problem_make(&p, h, w, specs[o], GDS_VARIANCE_BETA, 0.07);
      gds_sampler *sf, *sg;
      assert_int_equal(gds_sampler_create_with(p.prior, p.sc, p.op, 0.07, "fourier", &sf), 0);
      assert_int_equal(gds_sampler_create_with(p.prior, p.sc, p.op, 0.07, "generic", &sg), 0);
      assert_string_equal(gds_sampler_backend_name(sf), "fourier");
      assert_string_equal(gds_sampler_backend_name(sg), "generic");
      double *yf = malloc(sizeof(double) * d), *yg = malloc(sizeof(double) * d);
      gds_sampler_config cfgs[64];
      int n = 0;
      for (int a = 0; a <= GDS_ALG_CGDM; a++)
        for (int init = 0; init < GDS_INIT_COUNT; init++) {
          cfgs[n++] = cfg_of((gds_algorithm)a, 0.6, GDS_SCHEME_DDPM, 0, 0, (gds_init)init);
          cfgs[n++] = cfg_of((gds_algorithm)a, 0.6, GDS_SCHEME_DDPM, 0, 7, (gds_init)init);
          cfgs[n++] = cfg_of((gds_algorithm)a, 0.6, GDS_SCHEME_DDIM, 0.0, 10, (gds_init)init);
          cfgs[n++] = cfg_of((gds_algorithm)a, 0.6, GDS_SCHEME_DDIM, 0.7, T, (gds_init)init);
        }
      if (o == 0) /* ddrm in the generic backend: operators with A Aᵀ = c I */
        for (int init = 0; init < GDS_INIT_COUNT; init++) {
          cfgs[n++] = cfg_ddrm(0.85, 1.0, 10, (gds_init)init);
          cfgs[n++] = cfg_ddrm(0.2, 0.5, T, (gds_init)init);
        }
      for (int c = 0; c < n; c++) {
        assert_int_equal(gds_sampler_run(sf, &cfgs[c], p.v, 2, 5, 0, NULL, NULL, yf, NULL), 0);
        assert_int_equal(gds_sampler_run(sg, &cfgs[c], p.v, 2, 5, 0, NULL, NULL, yg, NULL), 0);
        for (int i = 0; i < d; i++) GDS_ASSERT_CLOSE(yg[i], yf[i], 1e-9, 1e-10);
      }
      if (o > 0) { /* the generic backend has no SVD of a blur */
        gds_sampler_config dd = cfg_ddrm(0.85, 1.0, 10, GDS_INIT_NORMAL);
        int q = gds_error_set_quiet(1);
        assert_int_equal(gds_sampler_run(sg, &dd, p.v, 2, 5, 0, NULL, NULL, yg, NULL), GDS_ERR_INPUT);
        gds_error_set_quiet(q);
        assert_int_equal(gds_sampler_check(p.op, p.sc, &dd), 0); /* the default (Fourier) one has */
      }
      free(yf);
      free(yg);
      gds_sampler_destroy(&sf);
      gds_sampler_destroy(&sg);
      problem_free(&p);
    }
}

/* Super-resolution: the Fourier-block backend (aliased blocks, no FFT per step) and the generic
 * one agree on every configuration, ddrm included; factors 2 and 3, odd and even widths. */
static void test_generic_equals_fourier_block(void **st) {
  (void)st;
  const int cases[3][3] = {{6, 4, 2}, {4, 8, 2}, {6, 9, 3}}; /* h, w, factor */
  for (int k = 0; k < 3; k++) {
    int h = cases[k][0], w = cases[k][1], d = h * w;
    gds_operator_spec spec = {.type = GDS_OP_SUPER_RESOLUTION, .factor = cases[k][2]};
    problem p;
    problem_make(&p, h, w, spec, GDS_VARIANCE_BETA_TILDE, 0.07);
    gds_sampler *sb, *sg;
    assert_int_equal(gds_sampler_create(p.prior, p.sc, p.op, 0.07, &sb), 0);
    assert_int_equal(gds_sampler_create_with(p.prior, p.sc, p.op, 0.07, "generic", &sg), 0);
    assert_string_equal(gds_sampler_backend_name(sb), "fourier-block");
    double *yb = malloc(sizeof(double) * d), *yg = malloc(sizeof(double) * d);
    for (int init = 0; init < GDS_INIT_COUNT; init++) {
      gds_sampler_config cfgs[] = {
          cfg_of(GDS_ALG_NONE, 1, GDS_SCHEME_DDPM, 0, 0, (gds_init)init),
          cfg_of(GDS_ALG_PIGDM, 1, GDS_SCHEME_DDIM, 0.0, 10, (gds_init)init),
          cfg_of(GDS_ALG_CGDM, 1, GDS_SCHEME_DDIM, 0.6, T, (gds_init)init),
          cfg_of(GDS_ALG_CGDM, 1, GDS_SCHEME_DDPM, 0, 13, (gds_init)init),
          cfg_ddrm(0.85, 1.0, 10, (gds_init)init),
          cfg_ddrm(0.3, 0.4, T, (gds_init)init),
          cfg_of(GDS_ALG_DPS, 0.3, GDS_SCHEME_DDPM, 0, 7, (gds_init)init),
      };
      for (size_t c = 0; c < sizeof cfgs / sizeof *cfgs; c++) {
        assert_int_equal(gds_sampler_run(sb, &cfgs[c], p.v, 2, 5, 0, NULL, NULL, yb, NULL), 0);
        assert_int_equal(gds_sampler_run(sg, &cfgs[c], p.v, 2, 5, 0, NULL, NULL, yg, NULL), 0);
        for (int i = 0; i < d; i++)
          if (!(fabs(yg[i] - yb[i]) <= fmax(1e-9 * fabs(yb[i]), 1e-10))) {
            print_error("case %d, init %d, configuration %zu\n", k, init, c);
            break;
          }
        for (int i = 0; i < d; i++) GDS_ASSERT_CLOSE(yg[i], yb[i], 1e-9, 1e-10);
      }
    }
    free(yb);
    free(yg);
    gds_sampler_destroy(&sb);
    gds_sampler_destroy(&sg);
    problem_free(&p);
  }
}

/* ---- DDIM η = 0: a function of y_T alone ---- */

static void test_ddim_eta0_flow(void **st) {
  (void)st;
  const gds_operator_spec specs[4] = {OP_BLUR, OP_INPAINT, OP_SR, OP_SR};
  const char *backends[4] = {NULL, NULL, NULL, "generic"};
  for (int o = 0; o < 4; o++)
    for (int a = GDS_ALG_NONE; a <= GDS_ALG_CGDM; a++) {
      problem p;
      problem_make(&p, H, o >= 2 ? 4 : W, specs[o], GDS_VARIANCE_BETA, 0.1);
      gds_sampler *smp;
      assert_int_equal(gds_sampler_create_with(p.prior, p.sc, p.op, p.sigma, backends[o], &smp), 0);
      gds_sampler_config cfg = cfg_of((gds_algorithm)a, 0.4, GDS_SCHEME_DDIM, 0.0, 10, GDS_INIT_NORMAL);
      int tS = 1 + 9 * (T / 10); /* τ_S */
      const int D_ = p.h * p.w;
      double P[D * D], c[D], y0[D], yT[D], pred[D];
      float fT[D];
      gds_ts_flow(&p.dense, &cfg, P, c);
      for (int smp_i = 0; smp_i < 3; smp_i++) {
        assert_int_equal(gds_sampler_run(smp, &cfg, p.v, 4, smp_i, 1, &tS, fT, y0, NULL), 0);
        /* y_T as stored (float32): its rounding, carried by P, bounds the tolerance */
        for (int i = 0; i < D_; i++) yT[i] = fT[i];
        for (int i = 0; i < D_; i++) {
          long double acc = c[i];
          for (int j = 0; j < D_; j++) acc += (long double)P[i * D_ + j] * yT[j];
          pred[i] = (double)acc;
        }
        double sP = 0;
        for (int i = 0; i < D_ * D_; i++) sP = fmax(sP, fabs(P[i]));
        for (int i = 0; i < D_; i++) {
          if (!(fabs(y0[i] - pred[i]) <= 1e-6 * (1 + D_ * sP))) print_error("operator %d, algorithm %d\n", o, a);
          GDS_ASSERT_CLOSE(y0[i], pred[i], 0, 1e-6 * (1 + D_ * sP));
        }
      }
      gds_sampler_destroy(&smp);
      problem_free(&p);
    }
}

/* ---- noise keys ---- */

/* The same (seed, sample) gives every configuration and operator the same y_T (block 0);
 * another sample another one; steps = T is the default (steps ≤ 0) bitwise. */
static void test_common_noise(void **st) {
  (void)st;
  problem pb, pi;
  problem_make(&pb, H, W, OP_BLUR, GDS_VARIANCE_BETA, 0.1);
  problem_make(&pi, H, W, OP_INPAINT, GDS_VARIANCE_BETA, 0.1);
  gds_sampler *sb, *si;
  assert_int_equal(gds_sampler_create(pb.prior, pb.sc, pb.op, 0.1, &sb), 0);
  assert_int_equal(gds_sampler_create(pi.prior, pi.sc, pi.op, 0.1, &si), 0);
  float a[D], b[D], c[D];
  int ckT = T;
  gds_sampler_config c1 = cfg_of(GDS_ALG_DPS, 1, GDS_SCHEME_DDPM, 0, 0, GDS_INIT_NORMAL);
  gds_sampler_config c2 = cfg_of(GDS_ALG_CGDM, 1, GDS_SCHEME_DDIM, 0.3, T, GDS_INIT_NORMAL);
  assert_int_equal(gds_sampler_run(sb, &c1, pb.v, 3, 1, 1, &ckT, a, NULL, NULL), 0);
  assert_int_equal(gds_sampler_run(si, &c2, pi.v, 3, 1, 1, &ckT, b, NULL, NULL), 0);
  assert_memory_equal(a, b, sizeof a);
  assert_int_equal(gds_sampler_run(sb, &c2, pb.v, 3, 2, 1, &ckT, c, NULL, NULL), 0);
  assert_memory_not_equal(a, c, sizeof a);
  /* steps = T vs the default, every checkpoint */
  int ck[5] = {T, 30, 17, 1, 0};
  float t1[5 * D], t2[5 * D];
  gds_sampler_config c3 = c1;
  c3.steps = T;
  assert_int_equal(gds_sampler_run(sb, &c1, pb.v, 3, 1, 5, ck, t1, NULL, NULL), 0);
  assert_int_equal(gds_sampler_run(sb, &c3, pb.v, 3, 1, 5, ck, t2, NULL, NULL), 0);
  assert_memory_equal(t1, t2, sizeof t1);
  /* y_T is the white noise of block 0: its DFT has the variances of white noise */
  gds_sampler_destroy(&sb);
  gds_sampler_destroy(&si);
  problem_free(&pb);
  problem_free(&pi);
}

/* The start y_T ~ N(0, I) in pixel space: per-pixel and cross moments over many samples. */
static void test_start_is_white(void **st) {
  (void)st;
  problem p;
  problem_make(&p, 4, 6, OP_BLUR, GDS_VARIANCE_BETA, 0.1);
  gds_sampler *s;
  assert_int_equal(gds_sampler_create(p.prior, p.sc, p.op, 0.1, &s), 0);
  enum { N = 20000, d = 24 };
  double m[d] = {0}, c[d][d] = {{0}};
  float y[d];
  int ckT = T;
  gds_sampler_config cfg = cfg_of(GDS_ALG_NONE, 1, GDS_SCHEME_DDPM, 0, 0, GDS_INIT_NORMAL);
  for (int n = 0; n < N; n++) {
    assert_int_equal(gds_sampler_run(s, &cfg, p.v, 9, n, 1, &ckT, y, NULL, NULL), 0);
    for (int i = 0; i < d; i++) {
      m[i] += y[i];
      for (int j = 0; j < d; j++) c[i][j] += (double)y[i] * y[j];
    }
  }
  for (int i = 0; i < d; i++) {
    GDS_ASSERT_CLOSE(m[i] / N, 0, 0, 5 / sqrt((double)N));
    for (int j = 0; j < d; j++) GDS_ASSERT_CLOSE(c[i][j] / N, i == j, 0, 5 * sqrt((1.0 + (i == j)) / N));
  }
  gds_sampler_destroy(&s);
  problem_free(&p);
}

/* ---- errors ---- */

static int stop_now(void *ctx) {
  (*(int *)ctx)++;
  return 1;
}

static void test_errors(void **st) {
  (void)st;
  problem p;
  problem_make(&p, H, W, OP_BLUR, GDS_VARIANCE_BETA, 0.1);
  gds_sampler *s;
  assert_int_equal(gds_sampler_create(p.prior, p.sc, p.op, 0.1, &s), 0);
  int q = gds_error_set_quiet(1);
  double y0[D];
  int ck = 20; /* S = 10: τ = 0, 1, 5, ..., 37 */
  gds_sampler_config cfg = cfg_of(GDS_ALG_PIGDM, 1, GDS_SCHEME_DDPM, 0, 10, GDS_INIT_NORMAL);
  float tr[D];
  assert_int_equal(gds_sampler_run(s, &cfg, p.v, 1, 0, 1, &ck, tr, y0, NULL), GDS_ERR_INPUT);
  ck = 21;
  assert_int_equal(gds_sampler_run(s, &cfg, p.v, 1, 0, 1, &ck, tr, y0, NULL), 0);
  gds_sampler_config bad[] = {
      cfg_of(GDS_ALG_DPS, 0, GDS_SCHEME_DDPM, 0, 0, GDS_INIT_NORMAL),     /* α_dps = 0 */
      cfg_of(GDS_ALG_CGDM, 1, GDS_SCHEME_DDIM, 1.5, 0, GDS_INIT_NORMAL),  /* η > 1 */
      cfg_of(GDS_ALG_CGDM, 1, GDS_SCHEME_DDPM, 0, T + 1, GDS_INIT_NORMAL), /* S > T */
      cfg_of(GDS_ALG_CGDM, 1, GDS_SCHEME_HEUN, 0, 0, GDS_INIT_NORMAL),    /* a vp_sde scheme */
      cfg_ddrm(-0.1, 1, 10, GDS_INIT_NORMAL),
      cfg_ddrm(0.5, 1.01, 10, GDS_INIT_NORMAL),
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(gds_sampler_run(s, &bad[i], p.v, 1, 0, 0, NULL, NULL, y0, NULL), GDS_ERR_INPUT);
    assert_int_equal(gds_sampler_check(p.op, p.sc, &bad[i]), GDS_ERR_INPUT);
  }
  /* a stop request ends the run with GDS_ERR_INTERRUPTED, after the first poll */
  int calls = 0;
  gds_poll poll = {stop_now, &calls};
  cfg.steps = 0;
  assert_int_equal(gds_sampler_run(s, &cfg, p.v, 1, 0, 0, NULL, NULL, y0, &poll), GDS_ERR_INTERRUPTED);
  assert_int_equal(calls, 1);
  gds_error_set_quiet(q);
  gds_sampler_destroy(&s);
  problem_free(&p);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv); /* the dense law backend (inpainting) runs on MPI_COMM_SELF */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mc_dps_gaussian),          cmocka_unit_test(test_mc_pigdm_motion),
      cmocka_unit_test(test_mc_cgdm_gaussian_tilde),   cmocka_unit_test(test_mc_none_identity),
      cmocka_unit_test(test_mc_cgdm_identity),         cmocka_unit_test(test_mc_ddim_blur),
      cmocka_unit_test(test_mc_ddim_inpainting_exact), cmocka_unit_test(test_mc_ddim_inpainting_dps),
      cmocka_unit_test(test_mc_ddpm_respaced_motion),  cmocka_unit_test(test_mc_ddpm_none_exact),
      cmocka_unit_test(test_mc_ddrm_blur),             cmocka_unit_test(test_mc_ddrm_blur_exact),
      cmocka_unit_test(test_mc_ddrm_inpainting),       cmocka_unit_test(test_mc_ddrm_inpainting_exact),
      cmocka_unit_test(test_mc_ddrm_sr),               cmocka_unit_test(test_mc_cgdm_sr_exact),
      cmocka_unit_test(test_mc_law_ddim_blur),         cmocka_unit_test(test_mc_law_ddim_inpainting),
      cmocka_unit_test(test_mc_law_ddrm_blur),         cmocka_unit_test(test_mc_law_ddrm_inpainting),
      cmocka_unit_test(test_mc_law_sr),
      cmocka_unit_test(test_generic_equals_fourier),   cmocka_unit_test(test_generic_equals_fourier_block),
      cmocka_unit_test(test_ddim_eta0_flow),
      cmocka_unit_test(test_common_noise),             cmocka_unit_test(test_start_is_white),
      cmocka_unit_test(test_errors),                   cmocka_unit_test(test_mc_vp_em_blur),
      cmocka_unit_test(test_mc_vp_em_inpainting_exact), cmocka_unit_test(test_mc_vp_ei_ddpm),
      cmocka_unit_test(test_mc_vp_heun),               cmocka_unit_test(test_mc_vp_rk4_euler_sr),
      cmocka_unit_test(test_vp_ode_flow),              cmocka_unit_test(test_vp_backends_agree),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Finalize();
  return rc;
}
