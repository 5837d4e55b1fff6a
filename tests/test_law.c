/* Fourier-diagonal law backend against the independent dense reference (SPEC §2
 * "Accuracy"): every algorithm × operator × variance on a non-square 12×10 image (a
 * row/column mix-up shows), W2 curves at every t, m_0 and diag K_0, (m_t, K_t) at a middle
 * time, posterior mean/variance — within relative 1e-6 (absolute 2e-7 near zero).
 * Also limits: σ → ∞ gives the prior, `none` follows the prior path, cgdm converges ~1/T. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "gdsweep/law.h"
#include "gdsweep/prior.h"
#include "gdsweep/operator.h"
#include "gdsweep/schedule.h"
#include "gdsweep/scheme.h"
#include "reference/dense_ref.h"
#include "testutil.h"

enum { H = 12, W = 10, D = H * W };
#define RTOL 1e-6
#define ATOL 2e-7

typedef struct {
  gds_prior *prior;
  gds_schedule *sc;
  gds_operator *op;
  double *Sigma, *A, mu[D], v[D];
} fixture;

static void fixture_make(fixture *fx, gds_operator_type type, int T, gds_variance var, double sigma,
                         int white) {
  fx->prior = gds_test_prior_random(H, W, 0.4, 17);
  if (white) { /* Σ = s² I: λ = s² everywhere, texton s·δ */
    memset(fx->prior->texton, 0, sizeof(double) * D);
    fx->prior->texton[0] = 0.3;
    for (int i = 0; i < D; i++) fx->prior->spectrum[i] = 0.09;
  }
  assert_int_equal(gds_schedule_create(T, 2e-3, 0.35, var, &fx->sc), 0);
  gds_operator_spec spec = {.type = type, .std = 1.3, .length = 4.5, .angle = 35};
  assert_int_equal(gds_operator_create(&spec, H, W, &fx->op), 0);
  fx->Sigma = malloc(sizeof(double) * D * D);
  fx->A = calloc(D * D, sizeof(double));
  assert_int_equal(dref_adsn_covariance(H, W, fx->prior->texton, fx->Sigma), 0);
  double k[D] = {0};
  if (type == GDS_OP_GAUSSIAN_BLUR) assert_int_equal(dref_gaussian_blur_kernel(H, W, spec.std, k), 0);
  else if (type == GDS_OP_MOTION_BLUR) assert_int_equal(dref_motion_blur_kernel(H, W, spec.length, spec.angle, k), 0);
  else k[0] = 1;
  assert_int_equal(dref_circulant(H, W, k, fx->A), 0);
  double x0[D];
  for (int i = 0; i < D; i++) fx->mu[i] = fx->prior->mean;
  gds_test_fill_uniform(5, D, 0.1, 0.9, x0);
  assert_int_equal(gds_operator_measure(fx->op, 0, x0, sigma, 3, fx->v), 0);
}

static void fixture_free(fixture *fx) {
  gds_operator_destroy(&fx->op);
  gds_schedule_destroy(&fx->sc);
  gds_test_prior_free(fx->prior);
  free(fx->Sigma);
  free(fx->A);
}

static void compare_case(gds_algorithm alg, gds_operator_type type, gds_variance var, int white) {
  const int T = 25;
  const double sigma = 0.15, alpha = 0.4;
  fixture fx;
  fixture_make(&fx, type, T, var, sigma, white);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, sigma, &law), 0);
  gds_test_law_vs_reference(law, D, D, fx.mu, fx.Sigma, fx.A, sigma, fx.v, alg, alpha, fx.sc, RTOL, ATOL);
  gds_law_destroy(&law);
  fixture_free(&fx);
}

static void test_dense_all(void **st) {
  (void)st;
  const gds_operator_type ops[] = {GDS_OP_IDENTITY, GDS_OP_GAUSSIAN_BLUR, GDS_OP_MOTION_BLUR};
  for (int a = 0; a <= GDS_ALG_CGDM; a++)
    for (int o = 0; o < 3; o++)
      for (int v = 0; v < 2; v++) compare_case((gds_algorithm)a, ops[o], (gds_variance)v, 0);
}

static void test_dense_white_prior(void **st) {
  (void)st;
  for (int a = 0; a <= GDS_ALG_CGDM; a++) compare_case((gds_algorithm)a, GDS_OP_GAUSSIAN_BLUR, GDS_VARIANCE_BETA, 1);
}

/* w2 at t = 0 for one algorithm and T, with the default SPEC schedule. */
static double w2_at0(gds_algorithm alg, int T, double sigma, double *cov_part) {
  gds_prior *prior = gds_test_prior_random(H, W, 0.4, 23);
  gds_schedule *sc;
  double b0, b1;
  gds_schedule_default_betas(T, &b0, &b1);
  assert_int_equal(gds_schedule_create(T, b0, b1, GDS_VARIANCE_BETA, &sc), 0);
  gds_operator_spec spec = {.type = GDS_OP_GAUSSIAN_BLUR, .std = 1.5};
  gds_operator *op;
  assert_int_equal(gds_operator_create(&spec, H, W, &op), 0);
  double x0[D], v[D], *w2 = malloc(sizeof(double) * (T + 1)), *wc = malloc(sizeof(double) * (T + 1));
  gds_test_fill_uniform(9, D, 0.1, 0.9, x0);
  assert_int_equal(gds_operator_measure(op, 0, x0, sigma, 1, v), 0);
  gds_law *law;
  assert_int_equal(gds_law_create(prior, sc, op, sigma, &law), 0);
  double *w2p[1] = {w2}, *wm = malloc(sizeof(double) * (T + 1)), *wmp[1] = {wm};
  const double *vp[1] = {v};
  gds_law_request rq = {.cfg = {.alg = {.kind = alg}, .alpha_dps = 1.0}, .nseeds = 1, .v = vp};
  gds_law_result rs = {.w2_cov = wc, .w2 = w2p, .w2_mean = wmp};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  double r = w2[0];
  if (cov_part) *cov_part = wc[0];
  free(w2); free(wc); free(wm);
  gds_law_destroy(&law);
  gds_operator_destroy(&op);
  gds_schedule_destroy(&sc);
  gds_test_prior_free(prior);
  return r;
}

/* cgdm is exact in continuous time: its discretisation error at t = 0 shrinks like 1/T. */
static void test_cgdm_converges_like_1_over_T(void **st) {
  (void)st;
  double e100 = w2_at0(GDS_ALG_CGDM, 100, 0.05, NULL);
  double e1000 = w2_at0(GDS_ALG_CGDM, 1000, 0.05, NULL);
  double e10000 = w2_at0(GDS_ALG_CGDM, 10000, 0.05, NULL);
  print_message("cgdm W2(t=0): T=100 %.3e, T=1000 %.3e, T=10000 %.3e\n", e100, e1000, e10000);
  assert_true(e1000 < e100 && e10000 < e1000);
  assert_in_range((long)(100 * e100 / e1000), 5 * 100 / 2, 20 * 100); /* ratio in [5, 20] */
  assert_in_range((long)(100 * e1000 / e10000), 5 * 100 / 2, 20 * 100);
}

/* `none` against the prior path: same law whatever σ or v, and W2 → 0 as T grows. */
static void test_none_is_unconditional(void **st) {
  (void)st;
  double c1, c2;
  double a = w2_at0(GDS_ALG_NONE, 200, 0.05, &c1), b = w2_at0(GDS_ALG_NONE, 200, 3.0, &c2);
  GDS_ASSERT_CLOSE(a, b, 1e-12, 0);
  assert_true(w2_at0(GDS_ALG_NONE, 2000, 0.05, NULL) < 0.2 * a);
}

/* σ → ∞: the measurement carries no information; posterior = prior, and every guided
 * algorithm reduces to the unconditional sampler (its W2 curve equals `none`'s). */
static void test_huge_sigma_gives_prior(void **st) {
  (void)st;
  fixture fx;
  const double sigma = 1e7;
  fixture_make(&fx, GDS_OP_GAUSSIAN_BLUR, 50, GDS_VARIANCE_BETA, sigma, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, sigma, &law), 0);
  double pm[D], pv[D];
  assert_int_equal(gds_law_posterior(law, fx.v, pm, pv), 0);
  double prior_var = 0;
  for (int i = 0; i < D; i++) prior_var += fx.Sigma[i * D + i] / D;
  for (int i = 0; i < D; i++) {
    GDS_ASSERT_CLOSE(pm[i], fx.prior->mean, 1e-6, 1e-6);
    GDS_ASSERT_CLOSE(pv[i], prior_var, 1e-6, 1e-9);
  }
  double none[51], *np[1] = {none}, g[51], *gp[1] = {g};
  const double *vp[1] = {fx.v};
  gds_law_request rq = {.cfg = {.alg = {.kind = GDS_ALG_NONE}, .alpha_dps = 1}, .nseeds = 1, .v = vp};
  gds_law_result rs = {.w2 = np, .w2_mean = gp};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  for (int a = GDS_ALG_PIGDM; a <= GDS_ALG_CGDM; a++) {
    double w[51], *wp[1] = {w};
    rq.cfg.alg.kind = (gds_algorithm)a;
    rs.w2 = wp;
    assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
    for (int t = 0; t <= 50; t++) GDS_ASSERT_CLOSE(w[t], none[t], 1e-6, 1e-9);
  }
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* w2_times: values at times not asked are NaN, the others unchanged. */
static void test_w2_mask(void **st) {
  (void)st;
  fixture fx;
  fixture_make(&fx, GDS_OP_MOTION_BLUR, 20, GDS_VARIANCE_BETA, 0.1, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.1, &law), 0);
  unsigned char mask[21] = {0};
  mask[0] = mask[7] = mask[20] = 1;
  double all[21], part[21], *ap[1] = {all}, *pp[1] = {part}, m1[21], m2[21], *m1p[1] = {m1}, *m2p[1] = {m2};
  const double *vp[1] = {fx.v};
  gds_law_request rq = {.cfg = {.alg = {.kind = GDS_ALG_PIGDM}, .alpha_dps = 1}, .nseeds = 1, .v = vp};
  gds_law_result rs = {.w2 = ap, .w2_mean = m1p};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  rq.w2_mask = mask;
  rs.w2 = pp;
  rs.w2_mean = m2p;
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  for (int t = 0; t <= 20; t++) {
    if (mask[t]) assert_true(part[t] == all[t]);
    else assert_true(isnan(part[t]));
  }
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* A bundle of seeds gives each seed the result it would get alone. */
static void test_bundle_equals_single(void **st) {
  (void)st;
  fixture fx;
  fixture_make(&fx, GDS_OP_GAUSSIAN_BLUR, 20, GDS_VARIANCE_BETA, 0.1, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.1, &law), 0);
  double v2[D], a[21], b[21], c[21], *ab[2] = {a, b}, *cp[1] = {c};
  gds_test_fill_uniform(77, D, 0, 1, v2);
  const double *vs[2] = {fx.v, v2}, *v1[1] = {v2};
  gds_law_request rq = {.cfg = {.alg = {.kind = GDS_ALG_DPS}, .alpha_dps = 0.5}, .nseeds = 2, .v = vs};
  gds_law_result rs = {.w2 = ab};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  rq.nseeds = 1;
  rq.v = v1;
  rs.w2 = cp;
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  assert_memory_equal(b, c, sizeof c);
  assert_memory_not_equal(a, c, sizeof c);
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* Every sampler of SPEC §7.1–7.4 (gds_test_sampler_configs) on every Fourier-diagonal operator
 * against the independent dense reference, on a non-square 4×6 image: W2 curves (NaN where
 * the sampler does not pass), w2_final, the output law, and the law at a middle time. */
static void test_samplers_vs_reference(void **st) {
  (void)st;
  enum { SH = 4, SW = 6, SD = SH * SW, ST = 16 };
  const gds_operator_type ops[] = {GDS_OP_IDENTITY, GDS_OP_GAUSSIAN_BLUR, GDS_OP_MOTION_BLUR};
  const double sigma = 0.12, alpha = 0.5;
  gds_sampler_config cfgs[64];
  int nc = gds_test_sampler_configs(ST, alpha, cfgs, 64);
  gds_prior *prior = gds_test_prior_random(SH, SW, 0.4, 29);
  double *Sigma = malloc(sizeof(double) * SD * SD), *A = malloc(sizeof(double) * SD * SD), mu[SD], x0[SD], v[SD];
  assert_int_equal(dref_adsn_covariance(SH, SW, prior->texton, Sigma), 0);
  for (int i = 0; i < SD; i++) mu[i] = prior->mean;
  gds_test_fill_uniform(6, SD, 0.1, 0.9, x0);
  double worst = 0;
  for (int var = 0; var < 2; var++) {
    gds_schedule *sc;
    assert_int_equal(gds_schedule_create(ST, 4e-3, 0.3, (gds_variance)var, &sc), 0);
    for (int o = 0; o < 3; o++) {
      gds_operator_spec spec = {.type = ops[o], .std = 1.1, .length = 3.5, .angle = 60};
      gds_operator *op;
      assert_int_equal(gds_operator_create(&spec, SH, SW, &op), 0);
      double k[SD] = {0};
      if (ops[o] == GDS_OP_GAUSSIAN_BLUR) assert_int_equal(dref_gaussian_blur_kernel(SH, SW, spec.std, k), 0);
      else if (ops[o] == GDS_OP_MOTION_BLUR) assert_int_equal(dref_motion_blur_kernel(SH, SW, spec.length, spec.angle, k), 0);
      else k[0] = 1;
      assert_int_equal(dref_circulant(SH, SW, k, A), 0);
      assert_int_equal(gds_operator_measure(op, 0, x0, sigma, 4, v), 0);
      gds_law *law;
      assert_int_equal(gds_law_create(prior, sc, op, sigma, &law), 0);
      for (int c = 0; c < nc; c++) {
        char tag[160], an[64], sn[64];
        gds_algorithm_spec_name(&cfgs[c].alg, an, sizeof an);
        gds_scheme_spec_name(&cfgs[c].scheme, sn, sizeof sn);
        snprintf(tag, sizeof tag, "%s %s %s S=%d %s %s", gds_operator_type_name(ops[o]), an, sn, cfgs[c].steps,
                 gds_init_name(cfgs[c].init), gds_variance_name((gds_variance)var));
        double w = gds_test_law_vs_reference_cfg(law, SD, SD, mu, Sigma, A, sigma, v, &cfgs[c], sc, RTOL, ATOL, 0, tag);
        if (w > 1) print_error("FAILED %s (%.3g x tol)\n", tag, w);
        worst = fmax(worst, w);
      }
      gds_law_destroy(&law);
      gds_operator_destroy(&op);
    }
    gds_schedule_destroy(&sc);
  }
  print_message("samplers vs reference: worst %.3f of tolerance over %d configurations\n", worst, 2 * 3 * nc);
  assert_true(worst <= 1.0);
  free(Sigma);
  free(A);
  gds_test_prior_free(prior);
}

/* Divergence and stop requests on the Fourier-diagonal backend (issue 8): a diverging dps is
 * +inf from its divergence on, never NaN; a stop poll ends the evaluation between steps. */
static void test_divergence_and_poll(void **st) {
  (void)st;
  fixture fx;
  fixture_make(&fx, GDS_OP_GAUSSIAN_BLUR, 60, GDS_VARIANCE_BETA, 0.01, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.01, &law), 0);
  gds_test_divergence(law, fx.v, D, 60);
  gds_test_poll(law, fx.v, 60);
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* Every VP SDE sampler of SPEC §7.3 (gds_test_vp_configs: 6 schemes × 4 algorithms × 2 inits
 * × ε ∈ {0, 1e-3}) on identity and the blurs against the independent dense reference, on a
 * non-square 4×6 image with a singular Σ: curves on k = 0..K, w2_final, output law, law at
 * k = K/2; heun and rk4 at ε = 0 evaluate the score at u = 0 and have no finite law (+inf). */
static void test_vp_sde_vs_reference(void **st) {
  (void)st;
  enum { SH = 4, SW = 6, SD = SH * SW, K = 7 };
  const gds_operator_type ops[] = {GDS_OP_IDENTITY, GDS_OP_GAUSSIAN_BLUR, GDS_OP_MOTION_BLUR};
  const double sigma = 0.12, alpha = 0.5;
  gds_sampler_config cfgs[128];
  int nc = gds_test_vp_configs(K, alpha, cfgs, 128);
  gds_prior *prior = gds_test_prior_random(SH, SW, 0.4, 29);
  double *Sigma = malloc(sizeof(double) * SD * SD), *A = malloc(sizeof(double) * SD * SD), mu[SD], x0[SD], v[SD];
  assert_int_equal(dref_adsn_covariance(SH, SW, prior->texton, Sigma), 0);
  for (int i = 0; i < SD; i++) mu[i] = prior->mean;
  gds_test_fill_uniform(6, SD, 0.1, 0.9, x0);
  gds_schedule *sc;
  assert_int_equal(gds_schedule_create_vp_sde(0.1, 20, &sc), 0);
  double worst = 0;
  for (int o = 0; o < 3; o++) {
    gds_operator_spec spec = {.type = ops[o], .std = 1.1, .length = 3.5, .angle = 60};
    gds_operator *op;
    assert_int_equal(gds_operator_create(&spec, SH, SW, &op), 0);
    double k[SD] = {0};
    if (ops[o] == GDS_OP_GAUSSIAN_BLUR) assert_int_equal(dref_gaussian_blur_kernel(SH, SW, spec.std, k), 0);
    else if (ops[o] == GDS_OP_MOTION_BLUR) assert_int_equal(dref_motion_blur_kernel(SH, SW, spec.length, spec.angle, k), 0);
    else k[0] = 1;
    assert_int_equal(dref_circulant(SH, SW, k, A), 0);
    assert_int_equal(gds_operator_measure(op, 0, x0, sigma, 4, v), 0);
    gds_law *law;
    assert_int_equal(gds_law_create(prior, sc, op, sigma, &law), 0);
    for (int c = 0; c < nc; c++) {
      char tag[160], an[64];
      gds_algorithm_spec_name(&cfgs[c].alg, an, sizeof an);
      snprintf(tag, sizeof tag, "vp_sde %s %s %s K=%d eps=%g %s", gds_operator_type_name(ops[o]), an,
               gds_scheme_name(cfgs[c].scheme.kind), cfgs[c].steps, cfgs[c].eps, gds_init_name(cfgs[c].init));
      double w = gds_test_law_vs_reference_cfg(law, SD, SD, mu, Sigma, A, sigma, v, &cfgs[c], sc, RTOL, ATOL, 0, tag);
      if (w > 1) print_error("FAILED %s (%.3g x tol)\n", tag, w);
      worst = fmax(worst, w);
    }
    gds_law_destroy(&law);
    gds_operator_destroy(&op);
  }
  print_message("vp_sde vs reference: worst %.3f of tolerance over %d configurations\n", worst, 3 * nc);
  assert_true(worst <= 1.0);
  gds_schedule_destroy(&sc);
  free(Sigma);
  free(A);
  gds_test_prior_free(prior);
}

/* A prior given in its own eigenbasis (SPEC §7.6): n coordinates, Σ = diag(λ), μ = m·1
 * (H = 1, W = n), some λ = 0 (singular). */
static gds_prior *eigen_prior(int n, double mean, const double *lam) {
  gds_prior *p = calloc(1, sizeof *p);
  p->H = 1;
  p->W = n;
  p->basis = GDS_PRIOR_BASIS_EIGEN;
  p->mean = mean;
  p->texton = calloc((size_t)n, sizeof(double));
  p->texture = calloc((size_t)n, sizeof(double));
  p->spectrum = calloc((size_t)n, sizeof(double));
  for (int i = 0; i < n; i++) {
    p->spectrum[i] = lam[i];
    p->texton[i] = sqrt(lam[i]);
    p->texture[i] = mean;
  }
  snprintf(p->name, sizeof p->name, "test-eigen");
  return p;
}

/* One eigenvalue λ of an unconditional VP SDE sampler (SPEC §7.3, `none`): the score is
 * s(y, u) = −(y − √ᾱ(u) m)/(ᾱ(u) λ + 1 − ᾱ(u)); every scheme written out on the law (mean,
 * variance) of y. Law at every k into mk[], vk[]; returns 0, or 1 if the law is not finite
 * (a score at u = 0 with λ = 0, or ddpm with Δt β ≥ 1) from some k on (mk = vk = inf there). */
typedef struct {
  double bmin, bmax;
} vpsched;
static double vpb(const vpsched *c, double u) { return c->bmin + u * (c->bmax - c->bmin); }
static double vpB(const vpsched *c, double u) { return c->bmin * u + 0.5 * u * u * (c->bmax - c->bmin); }

static void eigen_vp_law(const vpsched *c, gds_scheme sch, int K, double eps, int exact, double lam, double m, double *mk,
                         double *vk) {
  double dt = (1 - eps) / K, a0 = exp(-vpB(c, 1));
  double y = exact ? sqrt(a0) * m : 0.0, q = exact ? a0 * lam + 1 - a0 : 1.0; /* mean, variance */
  int inf = 0;
  mk[0] = y;
  vk[0] = q;
  for (int k = 0; k < K; k++) {
    double u = 1 - k * dt, un = k + 1 == K ? eps : 1 - (k + 1) * dt;
    /* s(y, u) = −h(u) y + g(u): h = 1/(ᾱλ + 1 − ᾱ), g = h √ᾱ m; F = ½β (y + s) */
#define H_(uu) (1.0 / (exp(-vpB(c, uu)) * lam + 1 - exp(-vpB(c, uu))))
#define G_(uu) (H_(uu) * exp(-0.5 * vpB(c, uu)) * m)
    double P = 0, b = 0, n = 0, bk = vpb(c, u);
    if ((sch == GDS_SCHEME_HEUN || sch == GDS_SCHEME_RK4) && un == 0.0 && lam == 0) inf = 1;
    if (sch == GDS_SCHEME_DDPM && !(dt * bk < 1)) inf = 1;
    if (inf) {
      mk[k + 1] = vk[k + 1] = INFINITY;
      continue;
    }
    switch (sch) {
    case GDS_SCHEME_EM: /* y + Δt (½β y + β s) + √(Δt β) z */
      P = 1 + dt * (0.5 * bk - bk * H_(u));
      b = dt * bk * G_(u);
      n = dt * bk;
      break;
    case GDS_SCHEME_EI: { /* e^δ y + 2(e^δ − 1) s + √(e^{2δ} − 1) z */
      double dl = 0.5 * (vpB(c, u) - vpB(c, un));
      P = exp(dl) - 2 * (exp(dl) - 1) * H_(u);
      b = 2 * (exp(dl) - 1) * G_(u);
      n = exp(2 * dl) - 1;
      break;
    }
    case GDS_SCHEME_DDPM: { /* (y + β̄ s)/√(1 − β̄) + √β̄ z, β̄ = Δt β */
      double bb = dt * bk;
      P = (1 - bb * H_(u)) / sqrt(1 - bb);
      b = bb * G_(u) / sqrt(1 - bb);
      n = bb;
      break;
    }
    case GDS_SCHEME_EULER: /* y + Δt ½β (y − h y + g) */
      P = 1 + dt * 0.5 * bk * (1 - H_(u));
      b = dt * 0.5 * bk * G_(u);
      break;
    case GDS_SCHEME_HEUN: { /* ỹ = y + Δt F(y, u); y + Δt/2 (F(y, u) + F(ỹ, un)) */
      double f1 = 0.5 * bk * (1 - H_(u)), c1 = 0.5 * bk * G_(u), bn = vpb(c, un);
      double f2 = 0.5 * bn * (1 - H_(un)), c2 = 0.5 * bn * G_(un);
      double pt = 1 + dt * f1, bt = dt * c1;
      P = 1 + 0.5 * dt * (f1 + f2 * pt);
      b = 0.5 * dt * (c1 + f2 * bt + c2);
      break;
    }
    default: { /* rk4 on F(y, u) = f(u) y + c(u) */
      double um = u - 0.5 * dt, us[4] = {u, um, um, un}, hs[4] = {0, 0.5 * dt, 0.5 * dt, dt}, w[4] = {1, 2, 2, 1};
      double kp = 0, kb = 0; /* k_{j−1} = kp y + kb */
      for (int j = 0; j < 4; j++) {
        double f = 0.5 * vpb(c, us[j]) * (1 - H_(us[j])), cc = 0.5 * vpb(c, us[j]) * G_(us[j]);
        double xp = 1 + hs[j] * kp, xb = hs[j] * kb;
        kp = f * xp;
        kb = f * xb + cc;
        P += dt / 6 * w[j] * kp;
        b += dt / 6 * w[j] * kb;
      }
      P += 1;
      break;
    }
    }
#undef H_
#undef G_
    y = P * y + b;
    q = P * P * q + n;
    mk[k + 1] = y;
    vk[k + 1] = q;
  }
}

/* The unconditional VP SDE schemes on a prior given by a 1-D spectrum (eigen-diagonal backend)
 * against the per-eigenvalue recursions above: W2 at every k, w2_final, the output law — every
 * scheme × init × ε ∈ {0, 1e-3}, prior mean 0 and 0.3; then guided samplers (discrete and VP)
 * against the dense reference with Σ = diag(λ), A = I. */
static void test_eigen_prior(void **st) {
  (void)st;
  enum { N = 7, K = 30 };
  const double lam[N] = {2.5, 0.0, 0.7, 1e-3, 4.0, 0.0, 0.2};
  const gds_scheme kinds[] = {GDS_SCHEME_EM, GDS_SCHEME_EI, GDS_SCHEME_DDPM, GDS_SCHEME_EULER, GDS_SCHEME_HEUN, GDS_SCHEME_RK4};
  const vpsched c = {0.1, 20};
  gds_schedule *vp;
  assert_int_equal(gds_schedule_create_vp_sde(c.bmin, c.bmax, &vp), 0);
  gds_operator_spec ispec = {.type = GDS_OP_IDENTITY};
  gds_operator *op;
  assert_int_equal(gds_operator_create(&ispec, 1, N, &op), 0);
  for (int mm = 0; mm < 2; mm++) {
    double mean = mm ? 0.3 : 0.0, v[N];
    gds_prior *prior = eigen_prior(N, mean, lam);
    gds_test_fill_uniform(3, N, -1, 1, v);
    gds_law *law;
    assert_int_equal(gds_law_create(prior, vp, op, 0.1, &law), 0); /* picked by the prior's basis */
    assert_string_equal(gds_law_backend_name(law), "eigen-diagonal");
    assert_string_equal(gds_law_backend_for_prior(prior, op), "eigen-diagonal");
    for (int s = 0; s < 6; s++)
      for (int init = 0; init < 2; init++)
        for (int e = 0; e < 2; e++) {
          double eps = e ? 1e-3 : 0.0;
          gds_sampler_config cfg = {.alg = {GDS_ALG_NONE}, .scheme = {kinds[s], 0}, .steps = K, .eps = eps, .init = (gds_init)init};
          double w2[K + 1], wm[K + 1], wc[K + 1], m0[N], var0[N], fin, fm, fc, *w2p[1] = {w2}, *wmp[1] = {wm}, *m0p[1] = {m0};
          const double *vp1[1] = {v};
          gds_law_request rq = {.cfg = cfg, .nseeds = 1, .v = vp1};
          gds_law_result rs = {.w2 = w2p, .w2_mean = wmp, .w2_cov = wc, .mean0 = m0p, .var0 = var0, .w2_final = &fin,
                               .w2_final_mean = &fm, .w2_final_cov = &fc};
          assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
          double mk[N][K + 1], vk[N][K + 1];
          for (int i = 0; i < N; i++) eigen_vp_law(&c, kinds[s], K, eps, init, lam[i], mean, mk[i], vk[i]);
          for (int k = 0; k <= K; k++) {
            double u = k == K ? eps : 1 - k * (1 - eps) / K, a = exp(-vpB(&c, u)), c2 = 0, m2 = 0;
            for (int i = 0; i < N; i++) {
              double dl = sqrt(vk[i][k]) - sqrt(a * lam[i] + 1 - a), dm = mk[i][k] - sqrt(a) * mean;
              c2 += dl * dl;
              m2 += dm * dm;
            }
            int inf = 0; /* one eigenvalue without finite law: the law has none */
            for (int i = 0; i < N; i++) inf |= isinf(vk[i][k]);
            if (inf) {
              assert_true(isinf(wc[k]) && isinf(wm[k]) && isinf(w2[k]));
              continue;
            }
            GDS_ASSERT_CLOSE(wc[k], sqrt(c2), 1e-10, 1e-13);
            GDS_ASSERT_CLOSE(wm[k], sqrt(m2), 1e-10, 1e-13);
          }
          int inf = 0;
          for (int i = 0; i < N; i++) inf |= isinf(vk[i][K]);
          if (inf) {
            assert_true(isinf(fin) && isinf(fc) && isinf(fm));
            for (int i = 0; i < N; i++) assert_true(isinf(var0[i]) && !isnan(m0[i]));
            continue;
          }
          double c2 = 0, m2 = 0; /* against the prior itself */
          for (int i = 0; i < N; i++) {
            double dl = sqrt(vk[i][K]) - sqrt(lam[i]), dm = mk[i][K] - mean;
            c2 += dl * dl;
            m2 += dm * dm;
            GDS_ASSERT_CLOSE(m0[i], mk[i][K], 1e-10, 1e-13);
            GDS_ASSERT_CLOSE(var0[i], vk[i][K], 1e-10, 1e-13);
          }
          GDS_ASSERT_CLOSE(fc, sqrt(c2), 1e-10, 1e-13);
          GDS_ASSERT_CLOSE(fm, sqrt(m2), 1e-10, 1e-13);
        }
    /* guided samplers against the dense reference (Σ = diag(λ), A = I) */
    double Sigma[N * N] = {0}, A[N * N] = {0}, mu[N];
    for (int i = 0; i < N; i++) {
      Sigma[i * N + i] = lam[i];
      A[i * N + i] = 1;
      mu[i] = mean;
    }
    gds_sampler_config cfgs[128];
    int nc = gds_test_vp_configs(6, 0.5, cfgs, 128);
    double worst = 0;
    for (int q = 0; q < nc; q++) {
      char tag[128];
      snprintf(tag, sizeof tag, "eigen m=%g vp %s %s eps=%g %s", mean, gds_algorithm_name(cfgs[q].alg.kind),
               gds_scheme_name(cfgs[q].scheme.kind), cfgs[q].eps, gds_init_name(cfgs[q].init));
      worst = fmax(worst, gds_test_law_vs_reference_cfg(law, N, N, mu, Sigma, A, 0.1, v, &cfgs[q], vp, RTOL, ATOL, 0, tag));
    }
    gds_law_destroy(&law);
    gds_schedule *sc;
    assert_int_equal(gds_schedule_create(16, 4e-3, 0.3, GDS_VARIANCE_BETA, &sc), 0);
    assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, "eigen", prior, sc, op, 0.1, &law), 0);
    nc = gds_test_sampler_configs(16, 0.5, cfgs, 128);
    for (int q = 0; q < nc; q++) {
      char tag[192], an[64], sn[64];
      gds_algorithm_spec_name(&cfgs[q].alg, an, sizeof an);
      gds_scheme_spec_name(&cfgs[q].scheme, sn, sizeof sn);
      snprintf(tag, sizeof tag, "eigen m=%g %s %s S=%d %s", mean, an, sn, cfgs[q].steps, gds_init_name(cfgs[q].init));
      worst = fmax(worst, gds_test_law_vs_reference_cfg(law, N, N, mu, Sigma, A, 0.1, v, &cfgs[q], sc, RTOL, ATOL, 0, tag));
    }
    print_message("eigen prior (mean %g) vs reference: worst %.3f of tolerance\n", mean, worst);
    assert_true(worst <= 1.0);
    gds_law_destroy(&law);
    gds_schedule_destroy(&sc);
    gds_test_prior_free(prior);
  }
  /* a non-identity operator is refused */
  gds_operator_spec bspec = {.type = GDS_OP_GAUSSIAN_BLUR, .std = 1};
  gds_operator *blur;
  assert_int_equal(gds_operator_create(&bspec, 1, N, &blur), 0);
  gds_prior *prior = eigen_prior(N, 0, lam);
  gds_law *law = NULL;
  int qq = gds_error_set_quiet(1);
  assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, "eigen", prior, vp, blur, 0.1, &law), GDS_ERR_INPUT);
  assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, "dense", prior, vp, op, 0.1, &law), GDS_ERR_INPUT);
  assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, "fourier-diagonal", prior, vp, op, 0.1, &law), GDS_ERR_INPUT);
  gds_prior *stat = gds_test_prior_random(1, N, 0.2, 3); /* a stationary prior refuses the eigen backend */
  assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, "eigen", stat, vp, op, 0.1, &law), GDS_ERR_INPUT);
  gds_test_prior_free(stat);
  gds_error_set_quiet(qq);
  assert_null(law);
  gds_test_prior_free(prior);
  gds_operator_destroy(&blur);
  gds_operator_destroy(&op);
  gds_schedule_destroy(&vp);
}

/* W2 at t = 0 of a sampler configuration on the blur problem of w2_at0. */
static double w2_at0_cfg(const gds_sampler_config *cfg, int T, double sigma) {
  gds_prior *prior = gds_test_prior_random(H, W, 0.4, 23);
  gds_schedule *sc;
  double b0, b1;
  gds_schedule_default_betas(T, &b0, &b1);
  assert_int_equal(gds_schedule_create(T, b0, b1, GDS_VARIANCE_BETA, &sc), 0);
  gds_operator_spec spec = {.type = GDS_OP_GAUSSIAN_BLUR, .std = 1.5};
  gds_operator *op;
  assert_int_equal(gds_operator_create(&spec, H, W, &op), 0);
  double x0[D], v[D], w2[T + 1], *w2p[1] = {w2}, fin;
  gds_test_fill_uniform(9, D, 0.1, 0.9, x0);
  assert_int_equal(gds_operator_measure(op, 0, x0, sigma, 1, v), 0);
  gds_law *law;
  assert_int_equal(gds_law_create(prior, sc, op, sigma, &law), 0);
  const double *vp[1] = {v};
  gds_law_request rq = {.cfg = *cfg, .nseeds = 1, .v = vp};
  gds_law_result rs = {.w2 = w2p, .w2_final = &fin};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  GDS_ASSERT_CLOSE(fin, w2[0], 1e-15, 0); /* the discrete process ends at the target */
  gds_law_destroy(&law);
  gds_operator_destroy(&op);
  gds_schedule_destroy(&sc);
  gds_test_prior_free(prior);
  return w2[0];
}

/* Limits that hold for the samplers of SPEC §7 too: cgdm (the exact score) reaches the
 * posterior as DDIM(η = 0) and respaced DDPM get more steps (error ~1/S); `none` does not see
 * v or σ; σ → ∞ makes every guided algorithm the unconditional sampler. */
static void test_limits_new_schemes(void **st) {
  (void)st;
  const gds_scheme_spec schemes[] = {{GDS_SCHEME_DDIM, 0.0}, {GDS_SCHEME_DDPM, 0}, {GDS_SCHEME_DDIM, 0.7}};
  for (int k = 0; k < 3; k++) {
    double e[3];
    const int S[3] = {20, 100, 500};
    for (int q = 0; q < 3; q++) {
      gds_sampler_config cfg = {.alg = {GDS_ALG_CGDM}, .scheme = schemes[k], .steps = S[q]};
      e[q] = w2_at0_cfg(&cfg, 1000, 0.05);
    }
    print_message("cgdm %s W2(t=0): S=20 %.3e, S=100 %.3e, S=500 %.3e\n", gds_scheme_name(schemes[k].kind), e[0], e[1], e[2]);
    assert_true(e[1] < e[0] / 2.5 && e[2] < e[1] / 2.5);
    gds_sampler_config none = {.alg = {GDS_ALG_NONE}, .scheme = schemes[k], .steps = 50, .init = (gds_init)(k == 2)};
    GDS_ASSERT_CLOSE(w2_at0_cfg(&none, 1000, 0.05), w2_at0_cfg(&none, 1000, 3.0), 1e-12, 0);
  }
  /* σ → ∞: the W2 curves of dps, pigdm, cgdm equal none's, for DDIM respaced and exact init */
  fixture fx;
  const double sigma = 1e7;
  fixture_make(&fx, GDS_OP_MOTION_BLUR, 40, GDS_VARIANCE_BETA, sigma, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, sigma, &law), 0);
  for (int init = 0; init < 2; init++) {
    double none[41], *np[1] = {none};
    const double *vp[1] = {fx.v};
    gds_law_request rq = {.cfg = {.alg = {GDS_ALG_NONE}, .scheme = {GDS_SCHEME_DDIM, 0.4}, .steps = 9, .init = (gds_init)init},
                          .nseeds = 1, .v = vp};
    gds_law_result rs = {.w2 = np};
    assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
    for (int a = GDS_ALG_DPS; a <= GDS_ALG_CGDM; a++) {
      double w[41], *wp[1] = {w};
      rq.cfg.alg.kind = (gds_algorithm)a;
      rq.cfg.alpha_dps = 1.0;
      rs.w2 = wp;
      assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
      for (int t = 0; t <= 40; t++) {
        assert_true(isnan(w[t]) == isnan(none[t]));
        if (!isnan(w[t])) GDS_ASSERT_CLOSE(w[t], none[t], 1e-6, 1e-9);
      }
    }
  }
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* The default sampler (SPEC §1) equals, to 1e-12, the recursion of SPEC §2 written out per
 * frequency in long double from brute-force DFTs (no FFTW, no law code): W2 curves, m_0 and
 * diag K_0, every algorithm, both variances. */
static void test_default_is_spec2_per_frequency(void **st) {
  (void)st;
  enum { T = 40 };
  for (int var = 0; var < 2; var++) {
    fixture fx;
    const double sigma = 0.1, alpha = 0.4, s2 = sigma * sigma;
    fixture_make(&fx, GDS_OP_MOTION_BLUR, T, (gds_variance)var, sigma, 0);
    gds_law *law;
    assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, sigma, &law), 0);
    /* per frequency: λ, â, v̂, μ̂ (brute-force DFTs) */
    static double lam[D], ar[D], ai[D], vr[D], vi[D];
    for (int q = 0; q < H; q++)
      for (int r = 0; r < W; r++) {
        double tr, ti;
        gds_test_dft_coef(H, W, fx.prior->texton, q, r, &tr, &ti);
        lam[q * W + r] = q + r == 0 ? 0.0 : tr * tr + ti * ti;
        gds_test_dft_coef(H, W, fx.op->kernel, q, r, &ar[q * W + r], &ai[q * W + r]);
        gds_test_dft_coef(H, W, fx.v, q, r, &vr[q * W + r], &vi[q * W + r]);
      }
    const long double mu0 = (long double)fx.prior->mean * D;
    for (int a = 0; a < 4; a++) {
      /* the law under test */
      double w2[T + 1], wm[T + 1], wc[T + 1], m0[D], var0[D], *w2p[1] = {w2}, *wmp[1] = {wm}, *m0p[1] = {m0};
      const double *vp[1] = {fx.v};
      gds_law_request rq = {.cfg = {.alg = {.kind = (gds_algorithm)a}, .alpha_dps = alpha}, .nseeds = 1, .v = vp};
      gds_law_result rs = {.w2_cov = wc, .var0 = var0, .w2_mean = wmp, .w2 = w2p, .mean0 = m0p};
      assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
      /* SPEC §2 per frequency: m, K complex/real scalars; W2 by Parseval */
      long double cov2[T + 1] = {0}, mean2[T + 1] = {0}, ksum = 0;
      static long double complex_m_re[D], complex_m_im[D];
      for (int f = 0; f < D; f++) {
        long double l = lam[f], a2 = (long double)ar[f] * ar[f] + (long double)ai[f] * ai[f];
        long double mur = f == 0 ? mu0 : 0, rr = vr[f] - (ar[f] * mur), ri = vi[f] - (ai[f] * mur);
        long double gr = ar[f] * rr + ai[f] * ri, gi = ar[f] * ri - ai[f] * rr; /* conj(â)(v̂ − âμ̂) */
        long double S = l * a2 + s2, kpost = l * s2 / S;
        long double qr = mur + l * gr / S, qi = l * gi / S; /* μ̂_post */
        if (a == GDS_ALG_NONE) {
          kpost = l;
          qr = mur;
          qi = 0;
        }
        long double mr = 0, mi = 0, k = 1;
        for (int t = T;; t--) {
          long double ab = fx.sc->alpha_bar[t], kr = ab * kpost + 1 - ab;
          long double dr = mr - sqrtl(ab) * qr, di = mi - sqrtl(ab) * qi, dk = sqrtl(k) - sqrtl(kr);
          cov2[t] += dk * dk;
          mean2[t] += (dr * dr + di * di) / D;
          if (t == 0) break;
          long double be = fx.sc->beta[t], al = fx.sc->alpha[t], st = ab * l + 1 - ab, J = sqrtl(ab) * l / st;
          long double C = a == GDS_ALG_DPS ? s2 / alpha : a == GDS_ALG_PIGDM ? (1 - ab) * a2 + s2 : (1 - ab) * a2 * l / st + s2;
          long double ic = a == GDS_ALG_NONE ? 0 : 1 / C, Hh = 1 / st + J * J * a2 * ic;
          long double P = (1 - be * Hh) / sqrtl(al);
          long double br = be / sqrtl(al) * (sqrtl(ab) * Hh * mur + J * ic * gr), bi = be / sqrtl(al) * (J * ic * gi);
          mr = P * mr + br;
          mi = P * mi + bi;
          k = P * P * k + fx.sc->sigma2[t];
        }
        complex_m_re[f] = mr;
        complex_m_im[f] = mi;
        ksum += k;
      }
      /* 1e-12 relative, or absolute for the parts that are differences of O(1) vectors
       * (‖m‖ ≈ |μ|√d ≈ 4 here) and come close to 0 */
      for (int t = 0; t <= T; t++) {
        GDS_ASSERT_CLOSE(wc[t], (double)sqrtl(cov2[t]), 1e-12, 1e-12);
        GDS_ASSERT_CLOSE(wm[t], (double)sqrtl(mean2[t]), 1e-12, 1e-12);
        GDS_ASSERT_CLOSE(w2[t], (double)sqrtl(cov2[t] + mean2[t]), 1e-12, 1e-12);
      }
      for (int i = 0; i < D; i++) { /* m_0 = IDFT(m̂), diag K_0 = (1/d) Σ K(ξ) */
        long double acc = 0;
        for (int f = 0; f < D; f++) {
          long double ph = 2.0L * 3.14159265358979323846264338327950288L *
                           ((long double)(f / W) * (i / W) / H + (long double)(f % W) * (i % W) / W);
          acc += complex_m_re[f] * cosl(ph) - complex_m_im[f] * sinl(ph);
        }
        GDS_ASSERT_CLOSE(m0[i], (double)(acc / D), 1e-12, 1e-14);
        GDS_ASSERT_CLOSE(var0[i], (double)(ksum / D), 1e-12, 1e-15);
      }
    }
    gds_law_destroy(&law);
    fixture_free(&fx);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_samplers_vs_reference),
      cmocka_unit_test(test_vp_sde_vs_reference),
      cmocka_unit_test(test_eigen_prior),
      cmocka_unit_test(test_divergence_and_poll),
      cmocka_unit_test(test_limits_new_schemes),
      cmocka_unit_test(test_default_is_spec2_per_frequency),
      cmocka_unit_test(test_dense_all),
      cmocka_unit_test(test_dense_white_prior),
      cmocka_unit_test(test_cgdm_converges_like_1_over_T),
      cmocka_unit_test(test_none_is_unconditional),
      cmocka_unit_test(test_huge_sigma_gives_prior),
      cmocka_unit_test(test_w2_mask),
      cmocka_unit_test(test_bundle_equals_single),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
