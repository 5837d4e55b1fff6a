/* Sampling schemes as step programs and plans (docs/maths.md §3; SPEC §7.1):
 *  - the default plan (ddpm, S = T, normal) is SPEC §1's sampler bit for bit: β_t, 1/√α_t and
 *    σ_t² of the schedule, every t visited; steps ≤ 0 means T;
 *  - respacing τ_k = 1 + (k − 1)⌊T/S⌋ and the respaced DDPM coefficients (α' = ᾱ_t/ᾱ_s);
 *  - DDIM's program against its formula, DDRM steps and start;
 *  - the interpreter (gds_step_apply) against the scalar evaluation (gds_step_scalar) on a
 *    multi-stage program with diagonal scores, and the path offsets;
 *  - invalid configurations are input errors; canonical names. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/schedule.h"
#include "gdsweep/scheme.h"
#include "testutil.h"

static gds_schedule *schedule(int T, gds_variance var) {
  gds_schedule *sc;
  double b0, b1;
  gds_schedule_default_betas(T, &b0, &b1);
  if (T <= 20) b1 = 0.3;
  assert_int_equal(gds_schedule_create(T, b0, b1, var, &sc), 0);
  return sc;
}

static void test_default_plan_is_spec1(void **st) {
  (void)st;
  for (int var = 0; var < 2; var++) {
    gds_schedule *sc = schedule(1000, (gds_variance)var);
    for (int steps = 0; steps <= 1000; steps += 1000) {
      gds_sampler_config cfg = gds_sampler_config_default((gds_algorithm_spec){GDS_ALG_PIGDM, 0, 0}, 1.0, 1000);
      cfg.steps = steps;
      gds_plan *p;
      assert_int_equal(gds_plan_create(sc, &cfg, &p), 0);
      assert_int_equal(p->nsteps, 1000);
      assert_int_equal(p->ncurve, 1001);
      assert_int_equal(p->start, GDS_START_NORMAL);
      for (int j = 0; j <= 1000; j++) {
        assert_int_equal(p->point[j], 1000 - j);
        assert_true(p->abar[j] == sc->alpha_bar[1000 - j]);
      }
      for (int j = 0; j < 1000; j++) {
        const gds_step *s = &p->step[j];
        int t = 1000 - j;
        assert_int_equal(s->kind, GDS_STEP_SCORE);
        assert_int_equal(s->nstage, 1);
        assert_true(s->stage[0].abar == sc->alpha_bar[t] && s->stage[0].a_y == 1.0);
        assert_true(s->scale == 1.0 / sqrt(sc->alpha[t])); /* bit for bit */
        assert_true(s->b_y == 1.0 && s->b[0] == sc->beta[t] && s->noise == sc->sigma2[t]);
        double delta[GDS_STAGE_MAX], dout;
        gds_step_path_offsets(s, delta, &dout);
        assert_true(delta[0] == 0.0 && dout == 0.0);
      }
      assert_true(p->step[999].noise == 0.0); /* σ_1 = 0 */
      gds_plan_destroy(&p);
    }
    gds_schedule_destroy(&sc);
  }
}

static void test_respacing(void **st) {
  (void)st;
  gds_schedule *sc = schedule(1000, GDS_VARIANCE_BETA_TILDE);
  const int S[] = {1, 3, 20, 7, 999};
  for (size_t q = 0; q < sizeof S / sizeof *S; q++) {
    gds_sampler_config cfg = gds_sampler_config_default((gds_algorithm_spec){GDS_ALG_DPS, 0, 0}, 0.5, 1000);
    cfg.steps = S[q];
    gds_plan *p;
    assert_int_equal(gds_plan_create(sc, &cfg, &p), 0);
    int skip = 1000 / S[q];
    assert_int_equal(p->nsteps, S[q]);
    assert_int_equal(p->point[S[q]], 0);
    for (int j = 0; j < S[q]; j++) {
      int k = S[q] - j, t = 1 + (k - 1) * skip, s = k == 1 ? 0 : 1 + (k - 2) * skip;
      assert_int_equal(p->point[j], t);
      assert_int_equal(gds_plan_find(p, t), j);
      /* α' = ᾱ_t/ᾱ_s, β' = 1 − α', σ'² = β'(1 − ᾱ_s)/(1 − ᾱ_t), 0 on the last step */
      double al = sc->alpha_bar[t] / sc->alpha_bar[s], be = 1 - al;
      const gds_step *stp = &p->step[j];
      GDS_ASSERT_CLOSE(stp->b[0], be, 1e-12, 0);
      GDS_ASSERT_CLOSE(stp->scale, 1 / sqrt(al), 1e-13, 0);
      GDS_ASSERT_CLOSE(stp->noise, s == 0 ? 0.0 : be * (1 - sc->alpha_bar[s]) / (1 - sc->alpha_bar[t]), 1e-12, 0);
      assert_true(stp->abar_from == sc->alpha_bar[t] && stp->abar_to == sc->alpha_bar[s]);
    }
    assert_int_equal(gds_plan_find(p, 2), skip == 1 ? S[q] - 2 : -1); /* τ_2 = 1 + skip */
    gds_plan_destroy(&p);
  }
  gds_schedule_destroy(&sc);
}

/* DDIM(η): y_s = √ᾱ_s x̂0 + √(1 − ᾱ_s − c²) ε̂ + c z with x̂0, ε̂ from one score k: checked on
 * scalars (k = −h y + g) against the formula; η = 1 gives the β̃ DDPM step; the last step
 * returns x̂0 without noise. */
static void test_ddim_program(void **st) {
  (void)st;
  gds_schedule *sc = schedule(50, GDS_VARIANCE_BETA_TILDE);
  for (int e = 0; e <= 2; e++) {
    double eta = 0.5 * e;
    gds_sampler_config cfg = {.alg = {GDS_ALG_CGDM, 0, 0}, .scheme = {GDS_SCHEME_DDIM, eta}, .steps = 7};
    gds_sampler_config ddpm = {.alg = {GDS_ALG_CGDM, 0, 0}, .scheme = {GDS_SCHEME_DDPM, 0}, .steps = 7};
    gds_plan *p, *q;
    assert_int_equal(gds_plan_create(sc, &cfg, &p), 0);
    assert_int_equal(gds_plan_create(sc, &ddpm, &q), 0);
    for (int j = 0; j < p->nsteps; j++) {
      double at = sc->alpha_bar[p->point[j]], as = sc->alpha_bar[p->point[j + 1]];
      double c = eta * sqrt((1 - as) / (1 - at)) * sqrt(1 - at / as), h = 0.7, g = 0.3, y = 1.9;
      double k = -h * y + g, x0 = (y + (1 - at) * k) / sqrt(at), eps = -sqrt(1 - at) * k;
      double expect = sqrt(as) * x0 + sqrt(fmax(0, 1 - as - c * c)) * eps, pp, qq;
      gds_step_scalar(&p->step[j], &h, &g, &pp, &qq);
      GDS_ASSERT_CLOSE(pp * y + qq, expect, 1e-13, 1e-15);
      GDS_ASSERT_CLOSE(p->step[j].noise, c * c, 1e-13, 1e-300);
      if (e == 2) { /* DDIM(1) = DDPM with β̃ */
        double pd, qd;
        gds_step_scalar(&q->step[j], &h, &g, &pd, &qd);
        GDS_ASSERT_CLOSE(pp, pd, 1e-12, 1e-14);
        GDS_ASSERT_CLOSE(qq, qd, 1e-12, 1e-14);
        GDS_ASSERT_CLOSE(p->step[j].noise, q->step[j].noise, 1e-12, 1e-300);
      }
      double delta[GDS_STAGE_MAX], dout;
      gds_step_path_offsets(&p->step[j], delta, &dout);
      assert_true(delta[0] == 0.0 && dout == 0.0); /* the exact score keeps its path */
    }
    const gds_step *last = &p->step[p->nsteps - 1];
    double h = 0.7, g = 0.3, pp, qq;
    gds_step_scalar(last, &h, &g, &pp, &qq);
    double at = sc->alpha_bar[1];
    GDS_ASSERT_CLOSE(pp, (1 - (1 - at) * h) / sqrt(at), 1e-13, 0); /* x̂0 */
    assert_true(last->noise == 0.0);
    gds_plan_destroy(&p);
    gds_plan_destroy(&q);
  }
  gds_schedule_destroy(&sc);
}

static void test_ddrm_plan(void **st) {
  (void)st;
  gds_schedule *sc = schedule(100, GDS_VARIANCE_BETA);
  for (int init = 0; init < 2; init++) {
    /* ddrm ignores the scheme: even one invalid for the process */
    gds_sampler_config cfg = {.alg = {GDS_ALG_DDRM, 0.85, 1}, .scheme = {GDS_SCHEME_RK4, 0}, .steps = 20, .init = (gds_init)init};
    gds_plan *p;
    assert_int_equal(gds_plan_create(sc, &cfg, &p), 0);
    assert_int_equal(p->start, init ? GDS_START_EXACT : GDS_START_DDRM);
    double a0 = sc->alpha_bar[p->point[0]];
    if (!init) GDS_ASSERT_CLOSE(p->start_vs, sqrt((1 - a0) / a0), 1e-15, 0);
    for (int j = 0; j < p->nsteps; j++) {
      assert_int_equal(p->step[j].kind, GDS_STEP_DDRM);
      assert_true(p->step[j].abar_t == sc->alpha_bar[p->point[j]] && p->step[j].abar_s == sc->alpha_bar[p->point[j + 1]]);
    }
    gds_plan_destroy(&p);
  }
  gds_schedule_destroy(&sc);
}

/* A two-stage program (Heun-like, stages at different ᾱ) with diagonal scores k = −h_j x + c_j
 * per component: the vector interpreter equals the scalar one. */
typedef struct {
  const double *h, *c; /* [stage][n] */
  size_t n;
} diag_ctx;

static int diag_score(void *ctx, int j, const double *x, double *k) {
  const diag_ctx *dc = ctx;
  for (size_t i = 0; i < dc->n; i++) k[i] = -dc->h[j * dc->n + i] * x[i] + dc->c[j * dc->n + i];
  return 0;
}

static void test_interpreter(void **st) {
  (void)st;
  enum { N = 9 };
  gds_step s = {.kind = GDS_STEP_SCORE, .nstage = 3, .scale = 0.9, .b_y = 1.1, .b = {0.2, 0.3, -0.1}, .noise = 0.01};
  s.stage[0] = (gds_stage){.abar = 0.5, .a_y = 1.0};
  s.stage[1] = (gds_stage){.abar = 0.6, .a_y = 1.2, .a = {0.4}};
  s.stage[2] = (gds_stage){.abar = 0.7, .a_y = 0.8, .a = {0.1, -0.5}};
  double h[3 * N], c[3 * N], y[N], out[N], work[4 * N];
  gds_test_fill_uniform(1, 3 * N, 0.1, 2, h);
  gds_test_fill_uniform(2, 3 * N, -1, 1, c);
  gds_test_fill_uniform(3, N, -1, 1, y);
  diag_ctx dc = {h, c, N};
  assert_int_equal(gds_step_apply(&s, N, y, out, work, diag_score, &dc), 0);
  for (int i = 0; i < N; i++) {
    double hh[3] = {h[i], h[N + i], h[2 * N + i]}, cc[3] = {c[i], c[N + i], c[2 * N + i]}, p, q;
    gds_step_scalar(&s, hh, cc, &p, &q);
    GDS_ASSERT_CLOSE(out[i], p * y[i] + q, 1e-14, 1e-15);
  }
  assert_int_equal(gds_step_apply(&s, N, y, y, work, diag_score, &dc), 0); /* out may alias y */
  assert_memory_equal(y, out, sizeof out);
}

static void test_invalid(void **st) {
  (void)st;
  gds_schedule *sc = schedule(50, GDS_VARIANCE_BETA);
  gds_plan *p = NULL;
  int q = gds_error_set_quiet(1);
  gds_sampler_config bad[] = {
      {.alg = {GDS_ALG_PIGDM}, .steps = 51},
      {.alg = {GDS_ALG_PIGDM}, .scheme = {GDS_SCHEME_DDIM, 1.5}, .steps = 10},
      {.alg = {GDS_ALG_PIGDM}, .scheme = {GDS_SCHEME_DDIM, -0.1}, .steps = 10},
      {.alg = {GDS_ALG_PIGDM}, .scheme = {GDS_SCHEME_EM, 0}, .steps = 10},
      {.alg = {GDS_ALG_DPS}, .alpha_dps = 0, .steps = 10},
      {.alg = {GDS_ALG_DPS}, .alpha_dps = INFINITY, .steps = 10},
      {.alg = {GDS_ALG_DDRM, 1.2, 1}, .steps = 10},
      {.alg = {GDS_ALG_DDRM, 0.5, -1}, .steps = 10},
      {.alg = {(gds_algorithm)17}, .steps = 10},
      {.alg = {GDS_ALG_NONE}, .steps = 10, .init = (gds_init)5},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(gds_plan_create(sc, &bad[i], &p), GDS_ERR_INPUT);
    assert_null(p);
  }
  gds_error_set_quiet(q);
  gds_schedule_destroy(&sc);
}

static void test_names(void **st) {
  (void)st;
  char b[64];
  gds_scheme_spec_name(&(gds_scheme_spec){GDS_SCHEME_DDIM, 0}, b, sizeof b);
  assert_string_equal(b, "ddim(eta=0)");
  gds_scheme_spec_name(&(gds_scheme_spec){GDS_SCHEME_DDIM, 0.25}, b, sizeof b);
  assert_string_equal(b, "ddim(eta=0.25)");
  gds_scheme_spec_name(&(gds_scheme_spec){GDS_SCHEME_HEUN, 0.3}, b, sizeof b);
  assert_string_equal(b, "heun");
  assert_true(gds_scheme_valid_for(GDS_SCHEME_DDPM, GDS_PROCESS_VP_SDE) && gds_scheme_valid_for(GDS_SCHEME_DDPM, GDS_PROCESS_DDPM));
  assert_true(!gds_scheme_valid_for(GDS_SCHEME_DDIM, GDS_PROCESS_VP_SDE) && !gds_scheme_valid_for(GDS_SCHEME_RK4, GDS_PROCESS_DDPM));
  assert_true(gds_scheme_spec_same(&(gds_scheme_spec){GDS_SCHEME_EM, 1}, &(gds_scheme_spec){GDS_SCHEME_EM, 2}));
  assert_false(gds_scheme_spec_same(&(gds_scheme_spec){GDS_SCHEME_DDIM, 1}, &(gds_scheme_spec){GDS_SCHEME_DDIM, 0}));
  const char *const *n = gds_scheme_names();
  for (int i = 0; i < GDS_SCHEME_COUNT; i++) assert_string_equal(n[i], gds_scheme_name((gds_scheme)i));
  assert_null(n[GDS_SCHEME_COUNT]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_plan_is_spec1), cmocka_unit_test(test_respacing),
      cmocka_unit_test(test_ddim_program),          cmocka_unit_test(test_ddrm_plan),
      cmocka_unit_test(test_interpreter),           cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
