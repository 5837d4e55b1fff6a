/* Dense ("dense-distributed") law backend (SPEC §2):
 *  - against the independent dense reference dref_law on non-square 12×8 and 8×12 images:
 *    inpainting (random mask, box), and gaussian_blur / super_resolution forced through the
 *    dense backend (generic operator path); every algorithm × variance; W2 curves at every
 *    t, m_0, diag K_0, posterior, (m_t, K_t) and the reference at a middle t — relative 1e-6,
 *    absolute 2e-7 (SPEC §2 "Accuracy");
 *  - against the Fourier-diagonal backend on blurs to 1e-10;
 *  - Monte Carlo: ≥ 2000 real trajectories of gds_sampler (generic CG guidance) on an
 *    inpainting problem against (m_t, K_t);
 *  - bad inputs (empty mask, mask file of the wrong size), w2 mask, seed bundles.
 * Extra modes (not cmocka), run under mpirun:
 *    test_law_dense --groups [--quick]   group sizes 1, 2, 4 (split MPI_COMM_WORLD) agree to 1e-10
 *                               (--quick: 1 and the whole world only, 2 problems × 3 samplers)
 *    test_law_dense --bench H W T NW2 [alg...]   timing and peak memory of one evaluation */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "gdsweep/error.h"
#include "gdsweep/law.h"
#include "gdsweep/operator.h"
#include "gdsweep/prior.h"
#include "gdsweep/sampler.h"
#include "gdsweep/schedule.h"
#include "gdsweep/scheme.h"
#include "reference/dense_ref.h"
#include "testutil.h"

#define RTOL 1e-6
#define ATOL 2e-7

typedef enum { OP_RANDOM, OP_BOX, OP_BLUR, OP_SR, OP_MOTION, OP_KINDS } op_kind;
static const char *const op_kind_name[] = {"inpaint-random", "inpaint-box", "gaussian_blur", "super_resolution", "motion_blur"};

static gds_operator_spec op_spec(op_kind k) {
  gds_operator_spec s = {0};
  switch (k) {
  case OP_RANDOM: s = (gds_operator_spec){.type = GDS_OP_INPAINTING, .mask = GDS_MASK_RANDOM, .keep = 0.6, .mask_seed = 4}; break;
  case OP_BOX: s = (gds_operator_spec){.type = GDS_OP_INPAINTING, .mask = GDS_MASK_BOX, .box = {1, 2, 2, 3}}; break;
  case OP_BLUR: s = (gds_operator_spec){.type = GDS_OP_GAUSSIAN_BLUR, .std = 1.3}; break;
  case OP_SR: s = (gds_operator_spec){.type = GDS_OP_SUPER_RESOLUTION, .factor = 2}; break;
  default: s = (gds_operator_spec){.type = GDS_OP_MOTION_BLUR, .length = 3.5, .angle = 35}; break;
  }
  return s;
}

/* The same, with a box that fits an H×W image (the box must lie inside the image). */
static gds_operator_spec op_spec_hw(op_kind k, int H, int W) {
  gds_operator_spec s = op_spec(k);
  if (k == OP_BOX && (s.box[0] + s.box[2] > H || s.box[1] + s.box[3] > W)) {
    s.box[0] = H / 4;
    s.box[1] = W / 3;
    s.box[2] = H / 2;
    s.box[3] = W / 2;
  }
  return s;
}

typedef struct {
  int H, W, d, m, T;
  gds_prior *prior;
  gds_schedule *sc;
  gds_operator *op;
  double *Sigma, *A, *mu, *v, *v2;
} fixture;

/* Dense A (m×d, row-major) built from the SPEC definitions, not from the operator code
 * (except the random mask itself, checked for a plausible keep rate). */
static void dense_operator(const fixture *fx, op_kind k, double *A) {
  int H = fx->H, W = fx->W, d = fx->d;
  gds_operator_spec s = op_spec_hw(k, H, W);
  if (k == OP_RANDOM || k == OP_BOX) {
    int row = 0, kept = 0;
    for (int i = 0; i < d; i++) {
      int r = i / W, c = i % W, obs;
      if (k == OP_BOX) obs = !(r >= s.box[0] && r < s.box[0] + s.box[2] && c >= s.box[1] && c < s.box[1] + s.box[3]);
      else obs = fx->op->mask[i];
      assert_int_equal(obs, fx->op->mask[i]);
      if (obs) A[(size_t)row++ * d + i] = 1.0;
      kept += obs;
    }
    assert_int_equal(row, fx->m);
    if (k == OP_RANDOM) assert_true(kept > 0.35 * d && kept < 0.85 * d);
  } else if (k == OP_SR) {
    int f = s.factor, mw = W / f;
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) A[(size_t)((i / f) * mw + j / f) * d + i * W + j] = 1.0 / (f * f);
  } else {
    double *ker = calloc((size_t)d, sizeof(double));
    if (k == OP_BLUR) assert_int_equal(dref_gaussian_blur_kernel(H, W, s.std, ker), 0);
    else assert_int_equal(dref_motion_blur_kernel(H, W, s.length, s.angle, ker), 0);
    assert_int_equal(dref_circulant(H, W, ker, A), 0);
    free(ker);
  }
}

static void fixture_make(fixture *fx, int H, int W, op_kind k, int T, gds_variance var, double sigma) {
  memset(fx, 0, sizeof *fx);
  fx->H = H;
  fx->W = W;
  fx->d = H * W;
  fx->T = T;
  int d = fx->d;
  fx->prior = gds_test_prior_random(H, W, 0.4, 17);
  assert_int_equal(gds_schedule_create(T, 2e-3, 0.35, var, &fx->sc), 0);
  gds_operator_spec spec = op_spec_hw(k, H, W);
  assert_int_equal(gds_operator_create(&spec, H, W, &fx->op), 0);
  fx->m = fx->op->m;
  fx->Sigma = malloc(sizeof(double) * d * d);
  fx->A = calloc((size_t)fx->m * d, sizeof(double));
  fx->mu = malloc(sizeof(double) * d);
  fx->v = malloc(sizeof(double) * fx->m);
  fx->v2 = malloc(sizeof(double) * fx->m);
  assert_int_equal(dref_adsn_covariance(H, W, fx->prior->texton, fx->Sigma), 0);
  dense_operator(fx, k, fx->A);
  double *x0 = malloc(sizeof(double) * d);
  for (int i = 0; i < d; i++) fx->mu[i] = fx->prior->mean;
  gds_test_fill_uniform(5, d, 0.1, 0.9, x0);
  assert_int_equal(gds_operator_measure(fx->op, 0, x0, sigma, 3, fx->v), 0);
  assert_int_equal(gds_operator_measure(fx->op, 0, x0, sigma, 8, fx->v2), 0);
  free(x0);
}

static void fixture_free(fixture *fx) {
  gds_operator_destroy(&fx->op);
  gds_schedule_destroy(&fx->sc);
  gds_test_prior_free(fx->prior);
  free(fx->Sigma);
  free(fx->A);
  free(fx->mu);
  free(fx->v);
  free(fx->v2);
}

/* Everything one law gives for one algorithm (heap arrays, compared between backends). */
typedef struct {
  int d, T;
  double *w2, *wm, *wc, *m0, *var0, *pm, *pv, *mm, *K, *refm, *Kr;
} outputs;

static void outputs_free(outputs *o) {
  free(o->w2); free(o->wm); free(o->wc); free(o->m0); free(o->var0);
  free(o->pm); free(o->pv); free(o->mm); free(o->K); free(o->refm); free(o->Kr);
}

static void outputs_alloc(outputs *o, int d, int T) {
  o->d = d;
  o->T = T;
  o->w2 = malloc(sizeof(double) * (T + 1));
  o->wm = malloc(sizeof(double) * (T + 1));
  o->wc = malloc(sizeof(double) * (T + 1));
  o->m0 = malloc(sizeof(double) * d);
  o->var0 = malloc(sizeof(double) * d);
  o->pm = malloc(sizeof(double) * d);
  o->pv = malloc(sizeof(double) * d);
  o->mm = malloc(sizeof(double) * d);
  o->refm = malloc(sizeof(double) * d);
  o->K = malloc(sizeof(double) * d * d);
  o->Kr = malloc(sizeof(double) * d * d);
}

static int outputs_compute_cfg(gds_law *law, const fixture *fx, const gds_sampler_config *cfg, int ts, outputs *o) {
  int d = fx->d, T = fx->T;
  outputs_alloc(o, d, T);
  double *w2p[1] = {o->w2}, *wmp[1] = {o->wm}, *m0p[1] = {o->m0};
  const double *vp[1] = {fx->v};
  gds_law_request rq = {.cfg = *cfg, .nseeds = 1, .v = vp};
  gds_law_result rs = {.w2_cov = o->wc, .var0 = o->var0, .w2_mean = wmp, .w2 = w2p, .mean0 = m0p};
  int e = gds_law_evaluate(law, &rq, &rs);
  if (!e) e = gds_law_posterior(law, fx->v, o->pm, o->pv);
  if (!e) e = gds_law_moments(law, &rq.cfg, fx->v, ts, o->mm, o->K, o->refm, o->Kr);
  return e;
}

static int outputs_compute(gds_law *law, const fixture *fx, gds_algorithm alg, double alpha, int ts, outputs *o) {
  gds_sampler_config cfg = {.alg = {.kind = alg}, .alpha_dps = alpha};
  return outputs_compute_cfg(law, fx, &cfg, ts, o);
}

/* Largest violation of |a − b| ≤ max(rtol·scale, atol) as a ratio (≤ 1 passes); scale = |b_i|
 * (pointwise: W2 curves) or max |b| (normwise: images and matrices, whose small entries
 * carry the rounding of the large ones — K_t grows to 1e12 when dps is unstable). */
static double vmax(int n, const double *a, const double *b, int normwise, double rtol, double atol, const char *what,
                   const char *tag) {
  double worst = 0, bmax = 0;
  int at = -1;
  for (int i = 0; i < n; i++) bmax = fmax(bmax, fabs(b[i]));
  for (int i = 0; i < n; i++) {
    if (isnan(a[i]) && isnan(b[i])) continue;
    double tol = fmax(rtol * (normwise ? bmax : fabs(b[i])), atol), r = fabs(a[i] - b[i]) / tol;
    if (!(r <= worst)) {
      worst = isnan(r) ? INFINITY : r;
      at = i;
    }
  }
  if (worst > (getenv("GDS_TEST_VERBOSE") ? 0.5 : 1)) fprintf(stderr, "  %s %s[%d]: %.17g vs %.17g (%.2f x tol)\n", tag, what, at, a[at], b[at], worst);
  return worst;
}

/* Curves pointwise with (rtol, atol); W2 curves may get their own absolute floor wtol. */
static double outputs_compare(const outputs *a, const outputs *b, double rtol, double atol, double wtol, const char *tag) {
  int d = a->d, T = a->T;
  double w = 0;
  w = fmax(w, vmax(T + 1, a->w2, b->w2, 0, rtol, wtol, "w2", tag));
  w = fmax(w, vmax(T + 1, a->wm, b->wm, 0, rtol, atol, "w2_mean", tag));
  w = fmax(w, vmax(T + 1, a->wc, b->wc, 0, rtol, wtol, "w2_cov", tag));
  w = fmax(w, vmax(d, a->m0, b->m0, 1, rtol, atol, "mean0", tag));
  w = fmax(w, vmax(d, a->var0, b->var0, 1, rtol, atol, "var0", tag));
  w = fmax(w, vmax(d, a->pm, b->pm, 1, rtol, atol, "post_mean", tag));
  w = fmax(w, vmax(d, a->pv, b->pv, 1, rtol, atol, "post_var", tag));
  w = fmax(w, vmax(d, a->mm, b->mm, 1, rtol, atol, "mean_t", tag));
  w = fmax(w, vmax(d, a->refm, b->refm, 1, rtol, atol, "ref_mean_t", tag));
  w = fmax(w, vmax(d * d, a->K, b->K, 1, rtol, atol, "K_t", tag));
  w = fmax(w, vmax(d * d, a->Kr, b->Kr, 1, rtol, atol, "Kref_t", tag));
  return w;
}

/* The same outputs from the dense reference. */
static void reference_outputs(const fixture *fx, gds_algorithm alg, double alpha, double sigma, int ts, outputs *o) {
  int d = fx->d, T = fx->T;
  dref_schedule ds = {T, fx->sc->beta, fx->sc->variance == GDS_VARIANCE_BETA_TILDE};
  outputs_alloc(o, d, T);
  double *K0 = malloc(sizeof(double) * d * d), *pc = malloc(sizeof(double) * d * d);
  assert_int_equal(dref_law(d, fx->m, fx->mu, fx->Sigma, fx->A, sigma, fx->v, (dref_alg)alg, alpha, &ds, o->w2, o->wm,
                            o->wc, 0, o->m0, K0, NULL, NULL, o->pm, pc),
                   0);
  for (int i = 0; i < d; i++) {
    o->var0[i] = K0[(size_t)i * d + i];
    o->pv[i] = pc[(size_t)i * d + i];
  }
  assert_int_equal(dref_law(d, fx->m, fx->mu, fx->Sigma, fx->A, sigma, fx->v, (dref_alg)alg, alpha, &ds, NULL, NULL,
                            NULL, ts, o->mm, o->K, o->refm, o->Kr, NULL, NULL),
                   0);
  free(K0);
  free(pc);
}

/* ---------------------------------------------------------------------------------------- */

static void compare_reference(int H, int W, op_kind k) {
  const int T = 25;
  const double sigma = 0.15, alpha = 0.4;
  for (int var = 0; var < 2; var++) {
    fixture fx;
    fixture_make(&fx, H, W, k, T, (gds_variance)var, sigma);
    gds_law *law;
    assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, "dense", fx.prior, fx.sc, fx.op, sigma, &law), 0);
    assert_string_equal(gds_law_backend_name(law), "dense-distributed");
    for (int a = 0; a <= GDS_ALG_CGDM; a++) {
      outputs got, ref;
      char tag[128];
      snprintf(tag, sizeof tag, "%dx%d %s %s %s", H, W, op_kind_name[k], gds_algorithm_name((gds_algorithm)a),
               gds_variance_name((gds_variance)var));
      assert_int_equal(outputs_compute(law, &fx, (gds_algorithm)a, alpha, T / 2, &got), 0);
      reference_outputs(&fx, (gds_algorithm)a, alpha, sigma, T / 2, &ref);
      double w = outputs_compare(&got, &ref, RTOL, ATOL, ATOL, tag);
      print_message("%-48s worst %.3f of tolerance\n", tag, w);
      assert_true(w <= 1.0);
      outputs_free(&got);
      outputs_free(&ref);
    }
    gds_law_destroy(&law);
    fixture_free(&fx);
  }
}

static void test_ref_inpaint_random_12x8(void **st) { (void)st; compare_reference(12, 8, OP_RANDOM); }
static void test_ref_inpaint_random_8x12(void **st) { (void)st; compare_reference(8, 12, OP_RANDOM); }
static void test_ref_inpaint_box_12x8(void **st) { (void)st; compare_reference(12, 8, OP_BOX); }
static void test_ref_inpaint_box_8x12(void **st) { (void)st; compare_reference(8, 12, OP_BOX); }
static void test_ref_blur_12x8(void **st) { (void)st; compare_reference(12, 8, OP_BLUR); }
static void test_ref_sr_8x12(void **st) { (void)st; compare_reference(8, 12, OP_SR); }

/* Every sampler of SPEC §7.1–7.4 (gds_test_sampler_configs) on the dense backend against the
 * independent dense reference, on a non-square 4×6 image: inpainting (random mask, box),
 * super-resolution and a Gaussian blur through the dense backend. ddrm on the blur is refused
 * (no SVD without A Aᵀ diagonal) by gds_law_supports and by the evaluation. */
static void test_samplers_vs_reference(void **st) {
  (void)st;
  enum { ST = 16 };
  const op_kind kinds[] = {OP_RANDOM, OP_BOX, OP_SR, OP_BLUR};
  const double sigma = 0.12, alpha = 0.5;
  gds_sampler_config cfgs[64];
  int nc = gds_test_sampler_configs(ST, alpha, cfgs, 64), ncmp = 0;
  double worst = 0;
  for (int o = 0; o < 4; o++)
    for (int var = 0; var < 2; var++) {
      fixture fx;
      fixture_make(&fx, 4, 6, kinds[o], ST, (gds_variance)var, sigma);
      gds_law *law;
      assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, "dense", fx.prior, fx.sc, fx.op, sigma, &law), 0);
      for (int c = 0; c < nc; c++) {
        char tag[160], an[64], sn[64];
        gds_algorithm_spec_name(&cfgs[c].alg, an, sizeof an);
        gds_scheme_spec_name(&cfgs[c].scheme, sn, sizeof sn);
        snprintf(tag, sizeof tag, "%s %s %s S=%d %s %s", op_kind_name[kinds[o]], an, sn, cfgs[c].steps,
                 gds_init_name(cfgs[c].init), gds_variance_name((gds_variance)var));
        if (kinds[o] == OP_BLUR && cfgs[c].alg.kind == GDS_ALG_DDRM) {
          fx.op->spec.dense = 1;
          int q = gds_error_set_quiet(1);
          assert_int_equal(gds_law_supports(fx.op, &cfgs[c].alg), GDS_ERR_INPUT);
          const double *vp[1] = {fx.v};
          gds_law_request rq = {.cfg = cfgs[c], .nseeds = 1, .v = vp};
          gds_law_result rs = {0};
          assert_int_equal(gds_law_evaluate(law, &rq, &rs), GDS_ERR_INPUT);
          gds_error_set_quiet(q);
          fx.op->spec.dense = 0;
          assert_int_equal(gds_law_supports(fx.op, &cfgs[c].alg), 0); /* the Fourier backend has the SVD */
          continue;
        }
        double w = gds_test_law_vs_reference_cfg(law, fx.d, fx.m, fx.mu, fx.Sigma, fx.A, sigma, fx.v, &cfgs[c], fx.sc, RTOL,
                                                 ATOL, 0, tag);
        if (w > 1) print_error("FAILED %s (%.3g x tol)\n", tag, w);
        worst = fmax(worst, w);
        ncmp++;
      }
      gds_law_destroy(&law);
      fixture_free(&fx);
    }
  print_message("samplers vs reference: worst %.3f of tolerance over %d configurations\n", worst, ncmp);
  assert_true(worst <= 1.0);
}

/* Every VP SDE sampler of SPEC §7.3 (gds_test_vp_configs) on the dense backend (inpainting with
 * a random mask and a box, a blur through this backend) against the independent reference. */
static void test_vp_sde_vs_reference(void **st) {
  (void)st;
  enum { K = 6 };
  const op_kind kinds[] = {OP_RANDOM, OP_BOX, OP_BLUR};
  const double sigma = 0.12, alpha = 0.5;
  gds_sampler_config cfgs[128];
  int nc = gds_test_vp_configs(K, alpha, cfgs, 128);
  double worst = 0;
  gds_schedule *vp;
  assert_int_equal(gds_schedule_create_vp_sde(0.1, 20, &vp), 0);
  for (int o = 0; o < 3; o++) {
    fixture fx;
    fixture_make(&fx, 4, 6, kinds[o], 10, GDS_VARIANCE_BETA, sigma);
    gds_law *law;
    assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, "dense", fx.prior, vp, fx.op, sigma, &law), 0);
    for (int c = 0; c < nc; c++) {
      char tag[160], an[64];
      gds_algorithm_spec_name(&cfgs[c].alg, an, sizeof an);
      snprintf(tag, sizeof tag, "vp_sde %s %s %s K=%d eps=%g %s", op_kind_name[kinds[o]], an,
               gds_scheme_name(cfgs[c].scheme.kind), cfgs[c].steps, cfgs[c].eps, gds_init_name(cfgs[c].init));
      double w = gds_test_law_vs_reference_cfg(law, fx.d, fx.m, fx.mu, fx.Sigma, fx.A, sigma, fx.v, &cfgs[c], vp, RTOL,
                                               ATOL, 0, tag);
      if (w > 1) print_error("FAILED %s (%.3g x tol)\n", tag, w);
      worst = fmax(worst, w);
    }
    gds_law_destroy(&law);
    fixture_free(&fx);
  }
  print_message("vp_sde vs reference: worst %.3f of tolerance over %d configurations\n", worst, 3 * nc);
  assert_true(worst <= 1.0);
  gds_schedule_destroy(&vp);
}

/* Divergence and stop requests on the dense backend (issue 8: a diverging dps gave NaN on
 * inpainting; the eigen-solvers must never see inf/NaN). */
static void test_divergence_and_poll(void **st) {
  (void)st;
  fixture fx;
  fixture_make(&fx, 8, 6, OP_RANDOM, 60, GDS_VARIANCE_BETA, 0.01);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.01, &law), 0);
  gds_test_divergence(law, fx.v, fx.d, 60);
  gds_test_poll(law, fx.v, 60);
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* Inpainting goes to the dense backend by default; the Fourier backend refuses it. */
static void test_backend_choice(void **st) {
  (void)st;
  fixture fx;
  fixture_make(&fx, 6, 5, OP_RANDOM, 10, GDS_VARIANCE_BETA, 0.1);
  gds_law *law = NULL;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.1, &law), 0);
  assert_string_equal(gds_law_backend_name(law), "dense-distributed");
  gds_law_destroy(&law);
  int q = gds_error_set_quiet(1);
  assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, "fourier-diagonal", fx.prior, fx.sc, fx.op, 0.1, &law), GDS_ERR_INPUT);
  assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, "nonsense", fx.prior, fx.sc, fx.op, 0.1, &law), GDS_ERR_INPUT);
  gds_error_set_quiet(q);
  assert_null(law);
  fixture_free(&fx);
}

/* Dense backend vs Fourier-diagonal backend on blurs: two exact evaluations, 1e-10. */
static void test_dense_equals_fourier(void **st) {
  (void)st;
  const op_kind kinds[] = {OP_BLUR, OP_MOTION};
  const double sigma = 0.05, alpha = 0.8;
  for (int o = 0; o < 2; o++)
    for (int var = 0; var < 2; var++) {
      fixture fx;
      fixture_make(&fx, 10, 8, kinds[o], 60, (gds_variance)var, sigma);
      gds_law *ld, *lf;
      assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, "dense-distributed", fx.prior, fx.sc, fx.op, sigma, &ld), 0);
      assert_int_equal(gds_law_create_backend(MPI_COMM_SELF, NULL, fx.prior, fx.sc, fx.op, sigma, &lf), 0);
      assert_string_equal(gds_law_backend_name(lf), "fourier-diagonal");
      for (int a = 0; a <= GDS_ALG_CGDM; a++) {
        outputs od, of;
        char tag[128];
        snprintf(tag, sizeof tag, "dense/fourier %s %s %s", op_kind_name[kinds[o]], gds_algorithm_name((gds_algorithm)a),
                 gds_variance_name((gds_variance)var));
        assert_int_equal(outputs_compute(ld, &fx, (gds_algorithm)a, alpha, 30, &od), 0);
        assert_int_equal(outputs_compute(lf, &fx, (gds_algorithm)a, alpha, 30, &of), 0);
        double w = outputs_compare(&od, &of, 1e-10, 1e-14, 1e-14, tag);
        print_message("%-48s worst %.3f of tolerance\n", tag, w);
        assert_true(w <= 1.0);
        outputs_free(&od);
        outputs_free(&of);
      }
      gds_law_destroy(&ld);
      gds_law_destroy(&lf);
      fixture_free(&fx);
    }
}

/* w2_times: NaN where not asked, unchanged elsewhere; a bundle of seeds gives each seed its
 * single-seed result. */
static void test_mask_and_bundle(void **st) {
  (void)st;
  fixture fx;
  const int T = 20;
  fixture_make(&fx, 8, 6, OP_RANDOM, T, GDS_VARIANCE_BETA, 0.1);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.1, &law), 0);
  unsigned char mask[T + 1];
  memset(mask, 0, sizeof mask);
  mask[0] = mask[7] = mask[T] = 1;
  for (int a = 0; a <= GDS_ALG_CGDM; a++) {
    double all[T + 1], part[T + 1], c1[T + 1], c2[T + 1], b1[T + 1], b2[T + 1];
    double *ap[1] = {all}, *pp[1] = {part}, *bp[2] = {b1, b2};
    const double *vp[1] = {fx.v}, *vs[2] = {fx.v2, fx.v};
    gds_law_request rq = {.cfg = {.alg = {.kind = (gds_algorithm)a}, .alpha_dps = 0.5}, .nseeds = 1, .v = vp};
    gds_law_result rs = {.w2 = ap, .w2_cov = c1};
    assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
    rq.w2_mask = mask;
    rs.w2 = pp;
    rs.w2_cov = c2;
    assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
    for (int t = 0; t <= T; t++) {
      if (mask[t]) {
        assert_true(part[t] == all[t]);
        assert_true(c2[t] == c1[t]);
      } else {
        assert_true(isnan(part[t]) && isnan(c2[t]));
      }
    }
    rq.w2_mask = NULL;
    rq.nseeds = 2;
    rq.v = vs;
    rs = (gds_law_result){.w2 = bp};
    assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
    for (int t = 0; t <= T; t++) GDS_ASSERT_CLOSE(b2[t], all[t], 1e-13, 1e-15);
    if (a != GDS_ALG_NONE) assert_memory_not_equal(b1, b2, sizeof b1); /* none ignores v */
  }
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* Monte Carlo (SPEC §2 "Accuracy"): the real sampler (generic guidance, C_t⁻¹ by CG) on an
 * inpainting problem; per-pixel mean and variance and per-frequency power at t = T/2 and 0
 * within 5 standard errors of the exact law. */
enum { MH = 6, MW = 5, MD = MH * MW, MT = 40, NTRAJ = 2400 };

static void mc_check(gds_algorithm alg, gds_variance var) {
  gds_prior *prior = gds_test_prior_random(MH, MW, 0.45, 7);
  gds_schedule *sc;
  assert_int_equal(gds_schedule_create(MT, 1e-3, 0.25, var, &sc), 0);
  gds_operator_spec spec = op_spec(OP_RANDOM);
  gds_operator *op;
  assert_int_equal(gds_operator_create(&spec, MH, MW, &op), 0);
  double sigma = 0.08, alpha = 0.15, x0[MD], v[MD]; /* dps is unstable here for alpha > 0.3 */
  gds_test_fill_uniform(3, MD, 0.2, 0.8, x0);
  assert_int_equal(gds_operator_measure(op, 0, x0, sigma, 5, v), 0);
  gds_law *law;
  gds_sampler *smp;
  assert_int_equal(gds_law_create(prior, sc, op, sigma, &law), 0);
  assert_int_equal(gds_sampler_create(prior, sc, op, sigma, &smp), 0);
  assert_string_equal(gds_sampler_backend_name(smp), "generic");
  gds_test_mc_check(law, smp, alg, alpha, v, MH, MW, MT / 2, NTRAJ);
  gds_sampler_destroy(&smp);
  gds_law_destroy(&law);
  gds_operator_destroy(&op);
  gds_schedule_destroy(&sc);
  gds_test_prior_free(prior);
}

static void test_mc_dps(void **st) { (void)st; mc_check(GDS_ALG_DPS, GDS_VARIANCE_BETA); }
static void test_mc_pigdm(void **st) { (void)st; mc_check(GDS_ALG_PIGDM, GDS_VARIANCE_BETA); }
static void test_mc_cgdm_tilde(void **st) { (void)st; mc_check(GDS_ALG_CGDM, GDS_VARIANCE_BETA_TILDE); }
static void test_mc_none(void **st) { (void)st; mc_check(GDS_ALG_NONE, GDS_VARIANCE_BETA); }

/* Bad input: a mask observing no pixel; a mask file of the wrong size. A right-size file works. */
static void test_bad_masks(void **st) {
  (void)st;
  gds_operator *op = NULL;
  int q = gds_error_set_quiet(1);
  gds_operator_spec box = {.type = GDS_OP_INPAINTING, .mask = GDS_MASK_BOX, .box = {0, 0, 6, 5}};
  assert_int_equal(gds_operator_create(&box, 6, 5, &op), GDS_ERR_INPUT);
  gds_operator_spec rnd = {.type = GDS_OP_INPAINTING, .mask = GDS_MASK_RANDOM, .keep = 1e-9, .mask_seed = 1};
  assert_int_equal(gds_operator_create(&rnd, 6, 5, &op), GDS_ERR_INPUT);
  char *bad = gds_test_write_temp(".pgm", "P2\n4 3\n255\n0 1 1 1\n1 1 1 1\n1 1 0 1\n");
  assert_non_null(bad);
  gds_operator_spec file = {.type = GDS_OP_INPAINTING, .mask = GDS_MASK_FILE};
  snprintf(file.mask_path, sizeof file.mask_path, "%s", bad);
  assert_int_equal(gds_operator_create(&file, 6, 5, &op), GDS_ERR_INPUT);
  assert_int_equal(gds_operator_create(&file, 4, 3, &op), GDS_ERR_INPUT); /* rows × columns swapped */
  assert_null(op);
  gds_error_set_quiet(q);
  assert_int_equal(gds_operator_create(&file, 3, 4, &op), 0);
  assert_int_equal(op->m, 10);
  assert_int_equal(op->mask[0], 0);
  assert_int_equal(op->mask[10], 0);
  gds_operator_destroy(&op);
  unlink(bad);
  free(bad);
}

/* ---------------------------------------------------------------------------------------- */
/* --groups: group sizes 1, 2, 4 of MPI_COMM_WORLD give the same numbers (1e-10)            */
/* ---------------------------------------------------------------------------------------- */

static int groups_poll_stop(void *ctx) { return ++*(int *)ctx >= 3; }

/* quick: only the group of the whole world against one rank, on two problems (an inpainting
 * and a super-resolution, the 2-D process grid when the world has 4 ranks) and three samplers:
 * what an oversubscribed run can afford (it_law_dense_mpi runs the full set on 2 ranks). */
static int groups_mode(int quick) {
  int rank, size, fails = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  struct { int H, W; op_kind k; } cases[] = {{12, 8, OP_RANDOM}, {8, 12, OP_BOX}, {12, 8, OP_SR}, {10, 8, OP_BLUR}, {16, 14, OP_RANDOM}};
  const double sigma = 0.1, alpha = 0.6;
  /* the default sampler of each algorithm, then samplers of SPEC §7 (the time t = 1 is always visited) */
  const gds_sampler_config more[] = {
      {.alg = {GDS_ALG_DDRM, 0.85, 1.0}, .steps = 6},
      {.alg = {GDS_ALG_PIGDM}, .scheme = {GDS_SCHEME_DDIM, 0.5}, .steps = 7, .init = GDS_INIT_EXACT},
      {.alg = {GDS_ALG_CGDM}, .scheme = {GDS_SCHEME_DDIM, 0.0}, .steps = 5},
      {.alg = {GDS_ALG_DPS}, .alpha_dps = alpha, .steps = 10, .init = GDS_INIT_EXACT},
  };
  const int nmore = sizeof more / sizeof *more;
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
    for (int a = 0; a <= GDS_ALG_CGDM + nmore; a++) {
      gds_sampler_config cfg = a <= GDS_ALG_CGDM ? (gds_sampler_config){.alg = {(gds_algorithm)a}, .alpha_dps = alpha}
                                                 : more[a - GDS_ALG_CGDM - 1];
      if (cases[c].k == OP_BLUR && cfg.alg.kind == GDS_ALG_DDRM) continue; /* no SVD on this backend */
      if (a > GDS_ALG_CGDM && cases[c].H * cases[c].W > 96) continue;      /* keep the run short */
      if (quick && (c == 1 || c > 2 || !(a == GDS_ALG_PIGDM || a == GDS_ALG_CGDM || a == GDS_ALG_CGDM + 1))) continue;
      fixture fx;
      fixture_make(&fx, cases[c].H, cases[c].W, cases[c].k, 20, a % 2 ? GDS_VARIANCE_BETA_TILDE : GDS_VARIANCE_BETA, sigma);
      outputs base = {0};
      for (int g = 1; g <= size; g *= 2) {
        if (size % g || (quick && g > 1 && g < size)) continue;
        MPI_Comm grp;
        MPI_Comm_split(MPI_COMM_WORLD, rank / g, rank, &grp);
        gds_law *law;
        outputs o = {0};
        int e = gds_law_create_backend(grp, "dense", fx.prior, fx.sc, fx.op, sigma, &law);
        if (!e) e = outputs_compute_cfg(law, &fx, &cfg, a <= GDS_ALG_CGDM ? 9 : 1, &o);
        if (!e) gds_law_destroy(&law);
        MPI_Comm_free(&grp);
        if (e) {
          fprintf(stderr, "rank %d: group size %d failed (%d)\n", rank, g, e);
          fails++;
        } else if (g == 1) {
          base = o;
          continue;
        } else {
          char tag[256];
          char an[64], sn[64];
          gds_algorithm_spec_name(&cfg.alg, an, sizeof an);
          gds_scheme_spec_name(&cfg.scheme, sn, sizeof sn);
          snprintf(tag, sizeof tag, "rank %d group %d %dx%d %s %s %s S=%d %s", rank, g, fx.H, fx.W,
                   op_kind_name[cases[c].k], an, sn, cfg.steps, gds_init_name(cfg.init));
          double w = outputs_compare(&o, &base, 1e-10, 1e-14, 1e-14, tag);
          if (rank == 0) printf("%-80s worst %.3f of tolerance\n", tag, w);
          fails += !(w <= 1.0);
        }
        outputs_free(&o);
      }
      outputs_free(&base);
      fixture_free(&fx);
    }
  /* A stop request seen by one rank of a group only (its poll says stop at the 3rd step, the
   * others never): every rank of the group returns GDS_ERR_INTERRUPTED, none is left waiting
   * in a collective (the test would hang). */
  {
    fixture fx;
    fixture_make(&fx, 12, 8, OP_RANDOM, 20, GDS_VARIANCE_BETA, sigma);
    gds_law *law;
    int calls = 0;
    gds_poll poll = {groups_poll_stop, &calls};
    const double *vp[1] = {fx.v};
    double w2[21], *w2p[1] = {w2};
    gds_law_request rq = {.cfg = {.alg = {.kind = GDS_ALG_DPS}, .alpha_dps = alpha}, .nseeds = 1, .v = vp,
                          .poll = rank == size - 1 ? &poll : NULL};
    gds_law_result rs = {.w2 = w2p};
    int e = gds_law_create_backend(MPI_COMM_WORLD, "dense", fx.prior, fx.sc, fx.op, sigma, &law);
    if (!e) {
      int q = gds_error_set_quiet(1);
      e = gds_law_evaluate(law, &rq, &rs);
      gds_error_set_quiet(q);
      gds_law_destroy(&law);
    }
    if (e != GDS_ERR_INTERRUPTED) {
      fprintf(stderr, "rank %d: a stop seen by rank %d only gave %d, expected %d\n", rank, size - 1, e, GDS_ERR_INTERRUPTED);
      fails++;
    }
    fixture_free(&fx);
  }
  MPI_Allreduce(MPI_IN_PLACE, &fails, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) printf("groups: %s (%d failures over %d ranks)\n", fails ? "FAILED" : "ok", fails, size);
  return fails ? 1 : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* --bench H W T NW2 [alg...]: one evaluation per algorithm on MPI_COMM_WORLD               */
/* ---------------------------------------------------------------------------------------- */

void dgemm_(const char *, const char *, const int *, const int *, const int *, const double *, const double *,
            const int *, const double *, const int *, const double *, double *, const int *, size_t, size_t);

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int bench_mode(int argc, char **argv) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int H = argc > 2 ? atoi(argv[2]) : 32, W = argc > 3 ? atoi(argv[3]) : 32, T = argc > 4 ? atoi(argv[4]) : 1000;
  int nw2 = argc > 5 ? atoi(argv[5]) : 11, d = H * W;
  gds_prior_options po = {.texture = "builtin:fabric", .H = H, .W = W, .periodic = 1};
  gds_prior *prior;
  gds_schedule *sc;
  gds_operator *op;
  double b0, b1;
  gds_schedule_default_betas(T, &b0, &b1);
  gds_operator_spec spec = op_spec(OP_RANDOM);
  if (gds_prior_create(&po, &prior) || gds_schedule_create(T, b0, b1, GDS_VARIANCE_BETA, &sc) ||
      gds_operator_create(&spec, H, W, &op))
    return 1;
  double *x0 = malloc(sizeof(double) * d), *v = malloc(sizeof(double) * op->m);
  gds_prior_sample(prior, 0, x0);
  gds_operator_measure(op, 0, x0, 0.05, 0, v);
  unsigned char *mask = calloc((size_t)T + 1, 1);
  for (int i = 0; i < nw2; i++) mask[nw2 > 1 ? (int)((double)T * i / (nw2 - 1) + 0.5) : 0] = 1;
  double t0 = MPI_Wtime();
  gds_law *law;
  if (gds_law_create_group(MPI_COMM_WORLD, prior, sc, op, 0.05, &law)) return 1;
  double tsetup = MPI_Wtime() - t0;
  if (rank == 0)
    printf("bench: %dx%d (d = %d, m = %d) T = %d, W2 at %d times, %d ranks: setup (posterior, pdsyevd) %.2f s\n", H, W,
           d, op->m, T, nw2, size, tsetup);
  double *w2 = malloc(sizeof(double) * (T + 1)), *w2p[1] = {w2}, *m0 = malloc(sizeof(double) * d), *m0p[1] = {m0};
  const double *vp[1] = {v};
  const char *defaults[] = {"dps", "pigdm", "cgdm", "none"};
  int nalg = argc > 6 ? argc - 6 : 4;
  for (int a = 0; a < nalg; a++) {
    gds_algorithm alg;
    if (gds_algorithm_from_name(argc > 6 ? argv[6 + a] : defaults[a], &alg)) return 1;
    gds_law_request rq = {.cfg = {.alg = {.kind = alg}, .alpha_dps = 1.0}, .nseeds = 1, .v = vp, .w2_mask = mask};
    gds_law_result rs = {.w2 = w2p, .mean0 = m0p};
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    double c0 = cpu_seconds();
    if (gds_law_evaluate(law, &rq, &rs)) return 1;
    double te = MPI_Wtime() - t0, tc = cpu_seconds() - c0, tcmax;
    MPI_Reduce(&tc, &tcmax, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0)
      printf("bench: %-6s evaluate %.2f s wall (max CPU per rank %.2f s), w2[0] = %.6g, w2[T] = %.6g\n",
             gds_algorithm_name(alg), te, tcmax, w2[0], w2[T]);
  }
  /* the dense alternative: two d×d products per step (P K, then (P K) Pᵀ), one rank */
  if (rank == 0 && d <= 2048) {
    double *A = calloc((size_t)d * d, sizeof(double)), *B = calloc((size_t)d * d, sizeof(double));
    double *C = calloc((size_t)d * d, sizeof(double)), one = 1, zero = 0;
    for (size_t i = 0; i < (size_t)d * d; i++) A[i] = B[i] = 1.0 / (1 + i % 7);
    t0 = MPI_Wtime();
    dgemm_("N", "N", &d, &d, &d, &one, A, &d, B, &d, &zero, C, &d, 1, 1);
    dgemm_("N", "T", &d, &d, &d, &one, C, &d, A, &d, &zero, B, &d, 1, 1);
    double tg = MPI_Wtime() - t0;
    printf("bench: dense d^3 step (2 dgemm, 1 rank) %.3f s -> T steps ~ %.0f s on 1 rank\n", tg, tg * T);
    free(A);
    free(B);
    free(C);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long rss = ru.ru_maxrss, mx;
  MPI_Reduce(&rss, &mx, 1, MPI_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("bench: peak memory per rank (ru_maxrss, max over ranks) %.1f MB\n", mx / 1024.0);
  gds_law_destroy(&law);
  gds_operator_destroy(&op);
  gds_schedule_destroy(&sc);
  gds_prior_destroy(&prior);
  free(x0); free(v); free(mask); free(w2); free(m0);
  return 0;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rc;
  if (argc > 1 && !strcmp(argv[1], "--groups")) rc = groups_mode(argc > 2 && !strcmp(argv[2], "--quick"));
  else if (argc > 1 && !strcmp(argv[1], "--bench")) rc = bench_mode(argc, argv);
  else {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samplers_vs_reference),
        cmocka_unit_test(test_vp_sde_vs_reference),
        cmocka_unit_test(test_divergence_and_poll),
        cmocka_unit_test(test_backend_choice),
        cmocka_unit_test(test_bad_masks),
        cmocka_unit_test(test_ref_inpaint_random_12x8),
        cmocka_unit_test(test_ref_inpaint_random_8x12),
        cmocka_unit_test(test_ref_inpaint_box_12x8),
        cmocka_unit_test(test_ref_inpaint_box_8x12),
        cmocka_unit_test(test_ref_blur_12x8),
        cmocka_unit_test(test_ref_sr_8x12),
        cmocka_unit_test(test_dense_equals_fourier),
        cmocka_unit_test(test_mask_and_bundle),
        cmocka_unit_test(test_mc_dps),
        cmocka_unit_test(test_mc_pigdm),
        cmocka_unit_test(test_mc_cgdm_tilde),
        cmocka_unit_test(test_mc_none),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
  }
  MPI_Finalize();
  return rc;
}
