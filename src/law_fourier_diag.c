/* Fourier-diagonal law backend (docs/maths.md §5.1): for identity and the blurs every matrix
 * of a step is a Fourier multiplier, so a step of any plan is, per frequency ξ,
 *   m̂ ← p(ξ) m̂ + cr(ξ) r̂(ξ) (+ cμ μ̂ at ξ = 0),   K(ξ) ← p(ξ)² K(ξ) + nz(ξ),
 * with r̂ = conj(â)(v̂ − â μ̂), and W2 is in closed form. p, cr come from the step program
 * evaluated on scalars (gds_step_scalar), or for DDRM from gds_ddrm_component with the
 * singular value s(ξ) = |â(ξ)|. Real-FFT symmetry: only the H×(W/2+1) half spectrum is
 * stored; a frequency whose conjugate is not stored counts twice in traces and norms
 * (weight wgt). The default sampler (one score stage at y, scalar noise) runs in a fused
 * loop that streams the arrays once per step. */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/w2.h"
#include "law_impl.h"

typedef struct fd_data {
  int H, W, Wh, nf, d;
  double *lam;       /* λ(ξ) */
  double *a2;        /* |â(ξ)|² */
  double *are, *aim; /* â(ξ) */
  double *wgt;       /* 1 or 2 (conjugate pair) */
  double *postvar;   /* Σ_post(ξ) = λσ²/(λ|â|² + σ²) */
  double *sv;        /* DDRM singular value |â(ξ)| (0 below GDS_DDRM_SV_RTOL·max) */
  double mu0;        /* μ̂(0) = m·d; μ̂(ξ) = 0 elsewhere */
  double *k, *p, *cr, *nz; /* state K(ξ); per step: gain, gain on r̂, added variance */
  double *real;      /* d, FFT work */
  fftw_complex *spec;
  fftw_plan fwd, bwd;
} fd_data;

/* Per-seed spectra of one measurement: r̂ = conj(â)(v̂ − â μ̂), the reference mean q̂
 * (μ_post or μ), and the state m̂. Split real/imaginary arrays so the loops vectorise. */
typedef struct fd_seed {
  double *rre, *rim, *qre, *qim, *mre, *mim;
} fd_seed;

typedef struct fd_eval {
  fd_seed *sd;
  double *buf;
  const double *refvar; /* Σ_ref(ξ): λ (prior path) or Σ_post(ξ) */
} fd_eval;

static void fd_destroy(gds_law *law) {
  fd_data *fd = law->data;
  if (!fd) return;
  if (fd->fwd) fftw_destroy_plan(fd->fwd);
  if (fd->bwd) fftw_destroy_plan(fd->bwd);
  fftw_free(fd->real);
  fftw_free(fd->spec);
  free(fd->lam); /* one block holds every per-frequency array */
  free(fd);
  law->data = NULL;
}

static int fd_setup(gds_law *law) {
  const gds_prior *pr = law->prior;
  gds_operator *op = law->op;
  fd_data *fd;
  GDS_CALL(GDS_ALLOC(fd, 1));
  law->data = fd;
  fd->H = pr->H;
  fd->W = pr->W;
  fd->Wh = pr->W / 2 + 1;
  fd->nf = fd->H * fd->Wh;
  fd->d = fd->H * fd->W;
  int nf = fd->nf;
  double *blk;
  GDS_CALL(gds_malloc_aligned(sizeof(double) * 12 * (size_t)nf, &blk));
  double **arrs[] = {&fd->lam, &fd->a2, &fd->are, &fd->aim, &fd->wgt, &fd->postvar,
                     &fd->sv,  &fd->k,  &fd->p,   &fd->cr,  &fd->nz};
  for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++) *arrs[i] = blk + i * (size_t)nf;
  fd->real = fftw_alloc_real((size_t)fd->d);
  fd->spec = fftw_alloc_complex((size_t)nf);
  if (!fd->real || !fd->spec) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (FFT buffers)");
  fd->fwd = fftw_plan_dft_r2c_2d(fd->H, fd->W, fd->real, fd->spec, FFTW_ESTIMATE);
  fd->bwd = fftw_plan_dft_c2r_2d(fd->H, fd->W, fd->spec, fd->real, FFTW_ESTIMATE);
  if (!fd->fwd || !fd->bwd) GDS_ERROR(GDS_ERR_RUNTIME, "FFTW planning failed");

  memcpy(fd->real, op->kernel, sizeof(double) * (size_t)fd->d);
  fftw_execute(fd->fwd);
  double s2 = law->sigma * law->sigma, smax = 0;
  for (int q = 0; q < fd->H; q++)
    for (int r = 0; r < fd->Wh; r++) {
      int f = q * fd->Wh + r;
      fd->are[f] = fd->spec[f][0];
      fd->aim[f] = fd->spec[f][1];
      fd->a2[f] = fd->are[f] * fd->are[f] + fd->aim[f] * fd->aim[f];
      fd->lam[f] = pr->spectrum[q * fd->W + r];
      fd->wgt[f] = (r == 0 || 2 * r == fd->W) ? 1.0 : 2.0;
      fd->postvar[f] = fd->lam[f] * s2 / (fd->lam[f] * fd->a2[f] + s2);
      fd->sv[f] = sqrt(fd->a2[f]);
      smax = fmax(smax, fd->sv[f]);
    }
  for (int f = 0; f < nf; f++)
    if (fd->sv[f] < GDS_DDRM_SV_RTOL * smax) fd->sv[f] = 0.0;
  fd->mu0 = pr->mean * fd->d;
  return GDS_SUCCESS;
}

/* Real image (d) → half spectrum split into re/im. */
static void fd_forward(fd_data *fd, const double *x, double *re, double *im) {
  memcpy(fd->real, x, sizeof(double) * (size_t)fd->d);
  fftw_execute(fd->fwd);
  for (int f = 0; f < fd->nf; f++) {
    re[f] = fd->spec[f][0];
    im[f] = fd->spec[f][1];
  }
}

/* Half spectrum → real image (d), including the 1/d of the un-normalised inverse DFT. */
static void fd_inverse(fd_data *fd, const double *re, const double *im, double *x) {
  for (int f = 0; f < fd->nf; f++) {
    fd->spec[f][0] = re[f];
    fd->spec[f][1] = im ? im[f] : 0.0;
  }
  fftw_execute(fd->bwd);
  for (int i = 0; i < fd->d; i++) x[i] = fd->real[i] / fd->d;
}

/* r̂ = conj(â)(v̂ − âμ̂) and the reference mean q̂: μ_post = μ + Σ Aᵀ (AΣAᵀ + σ²I)⁻¹ (v − Aμ),
 * per frequency μ̂ + λ r̂/(λ|â|² + σ²) (posterior_ref), or μ̂. */
static void fd_measure(gds_law *law, const double *v, fd_seed *sd, int posterior_ref) {
  fd_data *fd = law->data;
  double s2 = law->sigma * law->sigma;
  fd_forward(fd, v, sd->rre, sd->rim);
  sd->rre[0] -= fd->are[0] * fd->mu0;
  sd->rim[0] -= fd->aim[0] * fd->mu0;
  for (int f = 0; f < fd->nf; f++) {
    double vr = sd->rre[f], vi = sd->rim[f];
    sd->rre[f] = fd->are[f] * vr + fd->aim[f] * vi; /* conj(â)·(v̂ − âμ̂) */
    sd->rim[f] = fd->are[f] * vi - fd->aim[f] * vr;
    double g = posterior_ref ? fd->lam[f] / (fd->lam[f] * fd->a2[f] + s2) : 0.0;
    sd->qre[f] = g * sd->rre[f];
    sd->qim[f] = g * sd->rim[f];
  }
  sd->qre[0] += fd->mu0;
}

static int fd_alloc_seeds(const fd_data *fd, int ns, fd_seed **out, double **buf) {
  *buf = NULL;
  GDS_CALL(GDS_ALLOC(*out, ns > 0 ? ns : 1));
  GDS_CALL(gds_malloc_aligned(sizeof(double) * 6 * (size_t)fd->nf * (ns > 0 ? ns : 1), buf));
  for (int s = 0; s < ns; s++) {
    double *b = *buf + 6 * (size_t)fd->nf * s;
    (*out)[s] = (fd_seed){b, b + fd->nf, b + 2 * fd->nf, b + 3 * fd->nf, b + 4 * fd->nf, b + 5 * fd->nf};
  }
  return GDS_SUCCESS;
}

static int fd_posterior(gds_law *law, const double *v, double *mean, double *var) {
  fd_data *fd = law->data;
  if (mean) {
    fd_seed *sd;
    double *buf;
    int ierr = fd_alloc_seeds(fd, 1, &sd, &buf);
    if (!ierr) {
      fd_measure(law, v, sd, 1);
      fd_inverse(fd, sd->qre, sd->qim, mean);
    }
    free(buf);
    free(sd);
    GDS_CALL(ierr);
  }
  if (var) { /* a stationary covariance has a constant diagonal: (1/d) tr Σ_post */
    double tr = 0;
    for (int f = 0; f < fd->nf; f++) tr += fd->wgt[f] * fd->postvar[f];
    for (int i = 0; i < fd->d; i++) var[i] = tr / fd->d;
  }
  return GDS_SUCCESS;
}

/* ---- evaluation ---- */

/* Start law (SPEC §7.4, §7.2): N(0, I); the reference law at ᾱ (K = ᾱ Σ_ref + 1 − ᾱ,
 * m̂ = √ᾱ q̂); or DDRM's start, per frequency K = nu, m̂ = cy ȳ with ȳ = v̂/â = r̂/|â|² + μ̂. */
static int fd_begin(gds_law *law, gds_law_eval *ev) {
  fd_data *fd = law->data;
  fd_eval *fe;
  GDS_CALL(GDS_ALLOC(fe, 1));
  ev->st = fe;
  const gds_plan *p = ev->plan;
  int ns = ev->ns, nf = fd->nf;
  GDS_CALL(fd_alloc_seeds(fd, ns, &fe->sd, &fe->buf));
  fe->refvar = ev->alg->target_posterior ? fd->postvar : fd->lam;
  for (int s = 0; s < ns; s++) fd_measure(law, ev->v[s], &fe->sd[s], ev->alg->target_posterior);
  double ab = p->abar[0], sab = sqrt(ab);
  for (int f = 0; f < nf; f++) {
    double kf = 1.0, gq = 0.0, gy = 0.0; /* K; gain of m̂ on q̂, on ȳ */
    if (p->start == GDS_START_EXACT) {
      kf = ab * fe->refvar[f] + 1 - ab;
      gq = sab;
    } else if (p->start == GDS_START_DDRM) {
      gds_ddrm_coef c = gds_ddrm_start_component(fd->sv[f], p->start_vs, law->sigma);
      kf = c.nu;
      gy = fd->sv[f] > 0 ? c.cy : 0.0;
    }
    fd->k[f] = kf;
    for (int s = 0; s < ns; s++) {
      fd_seed *sd = &fe->sd[s];
      double yr = gy != 0 ? sd->rre[f] / fd->a2[f] + (f == 0 ? fd->mu0 : 0.0) : 0.0;
      double yi = gy != 0 ? sd->rim[f] / fd->a2[f] : 0.0;
      sd->mre[f] = gq * sd->qre[f] + gy * yr;
      sd->mim[f] = gq * sd->qim[f] + gy * yi;
    }
  }
  return GDS_SUCCESS;
}

static void fd_end(gds_law *law, gds_law_eval *ev) {
  (void)law;
  fd_eval *fe = ev->st;
  if (!fe) return;
  free(fe->buf);
  free(fe->sd);
  free(fe);
  ev->st = NULL;
}

/* Score of stage j at one frequency (SPEC §1): s̃ = −h x + G r̂ + h √ᾱ μ̂ with
 * Σ_ᾱ = ᾱλ + 1 − ᾱ, J = √ᾱ λ/Σ_ᾱ, C = c0 + |â|²(c1 + c2 λ/Σ_ᾱ), h = 1/Σ_ᾱ + J²|â|²/C, G = J/C. */
static inline void fd_score_coef(double ab, gds_guidance g, double lam, double a2, double *h, double *G) {
  double ist = 1.0 / (ab * lam + 1 - ab), J = sqrt(ab) * lam * ist;
  double ic = g.on / (g.c0 + a2 * (g.c1 + g.c2 * lam * ist));
  *h = ist + J * J * a2 * ic;
  *G = J * ic;
}

/* The per-frequency body of the fused default step (see fd_step_fast). */
static inline void fd_step_freq(int f, double ab, double sab, double by, double bb, double scale, double sig2,
                                gds_guidance c, const double *restrict lam, const double *restrict a2,
                                double *restrict k, double *restrict p, double *restrict cr) {
  double ist = 1.0 / (ab * lam[f] + 1 - ab);
  double J = sab * lam[f] * ist;
  double ic = c.on / (c.c0 + a2[f] * (c.c1 + c.c2 * lam[f] * ist));
  double pf = (by - bb * (ist + J * J * a2[f] * ic)) * scale;
  p[f] = pf;
  cr[f] = bb * scale * J * ic;
  k[f] = pf * pf * k[f] + sig2;
}

/* One score stage at y with scalar noise (every discrete scheme): per frequency
 * p = scale (b_y − b₁ h), cr = scale b₁ G, K ← p² K + noise. Fused with the covariance part
 * of W2 at ᾱ_w against ᾱ_w Σ_ref + (1 − ᾱ_w) (returned squared in *w2c2 when want) so the
 * arrays are streamed once per step. Returns the gain of μ̂(0). */
static double fd_step_fast(fd_data *fd, const gds_step *st, gds_guidance c, const double *restrict refvar,
                           double abw, int want, double *w2c2) {
  double ab = st->stage[0].abar, sab = sqrt(ab), by = st->b_y, bb = st->b[0], scale = st->scale, sig2 = st->noise;
  const double *restrict lam = fd->lam, *restrict a2 = fd->a2, *restrict wgt = fd->wgt;
  double *restrict k = fd->k, *restrict p = fd->p, *restrict cr = fd->cr;
  double acc = 0;
  const int nf = fd->nf;
  /* Two copies of one loop body (fd_step_freq, inlined) so that the W2-free variant, used at
   * times w2_times leaves out, pays no square roots. */
  if (want) {
#pragma omp simd reduction(+ : acc)
    for (int f = 0; f < nf; f++) {
      fd_step_freq(f, ab, sab, by, bb, scale, sig2, c, lam, a2, k, p, cr);
      double dl = sqrt(k[f]) - sqrt(abw * refvar[f] + 1 - abw);
      acc += wgt[f] * dl * dl;
    }
  } else {
#pragma omp simd
    for (int f = 0; f < nf; f++) fd_step_freq(f, ab, sab, by, bb, scale, sig2, c, lam, a2, k, p, cr);
  }
  *w2c2 = acc;
  /* h at ξ = 0 (the only frequency where μ̂ ≠ 0), recomputed outside the vector loop. */
  double ist0 = 1.0 / (ab * lam[0] + 1 - ab), J0 = sab * lam[0] * ist0;
  double h0 = ist0 + J0 * J0 * a2[0] * c.on / (c.c0 + a2[0] * (c.c1 + c.c2 * lam[0] * ist0));
  return bb * scale * sab * h0;
}

/* Any score program: per frequency, the program on scalars (stage j: k = −h_j x + c_j) gives
 * p and, with c_j = G_j, the gain cr on r̂; with c_j = h_j √ᾱ_j at ξ = 0, the gain of μ̂(0).
 * nz = the program's noise. */
static double fd_coef_program(gds_law *law, const gds_law_eval *ev, const gds_step *st) {
  fd_data *fd = law->data;
  const int nf = fd->nf, ns = st->nstage;
  double s2 = law->sigma * law->sigma, h[GDS_STAGE_MAX], G[GDS_STAGE_MAX], q;
  gds_guidance g[GDS_STAGE_MAX];
  for (int j = 0; j < ns; j++) g[j] = ev->alg->guidance(st->stage[j].abar, s2, ev->cfg->alpha_dps);
  for (int f = 0; f < nf; f++) {
    for (int j = 0; j < ns; j++) fd_score_coef(st->stage[j].abar, g[j], fd->lam[f], fd->a2[f], &h[j], &G[j]);
    gds_step_scalar(st, h, G, &fd->p[f], &fd->cr[f]);
    fd->nz[f] = st->noise;
  }
  for (int j = 0; j < ns; j++) {
    fd_score_coef(st->stage[j].abar, g[j], fd->lam[0], fd->a2[0], &h[j], &G[j]);
    G[j] = h[j] * sqrt(st->stage[j].abar);
  }
  gds_step_scalar(st, h, G, &q, &q);
  return q;
}

/* DDRM step t → s (SPEC §7.2) per frequency, V = the Fourier basis, s(ξ) = |â(ξ)|:
 * x̂0 = J y + (1 − √ᾱ_t J) μ̂, ε̂ = (y − √ᾱ_t x̂0)/√(1 − ᾱ_t), ȳ = v̂/â = r̂/|â|² + μ̂,
 * y_s = √ᾱ_s (cx x̂0 + ce ε̂ + cy ȳ) + √(ᾱ_s nu) z. Returns the gain of μ̂(0). */
static double fd_coef_ddrm(gds_law *law, const gds_law_eval *ev, const gds_step *st) {
  fd_data *fd = law->data;
  const double at = st->abar_t, sat = sqrt(at), isq = 1.0 / sqrt(1 - at), sas = sqrt(st->abar_s);
  const double vs = gds_ddrm_vs(st->abar_s);
  double mu_gain = 0;
  for (int f = 0; f < fd->nf; f++) {
    gds_ddrm_coef c = gds_ddrm_component(&ev->cfg->alg, fd->sv[f], vs, law->sigma);
    double J = sat * fd->lam[f] / (at * fd->lam[f] + 1 - at), e = (1 - sat * J) * isq;
    fd->p[f] = sas * (c.cx * J + c.ce * e);
    fd->cr[f] = fd->sv[f] > 0 ? sas * c.cy / fd->a2[f] : 0.0;
    fd->nz[f] = st->abar_s * c.nu;
    if (f == 0) mu_gain = sas * ((c.cx - c.ce * sat * isq) * (1 - sat * J) + (fd->sv[f] > 0 ? c.cy : 0.0));
  }
  return mu_gain;
}

/* K ← p² K + nz, fused with the covariance part of W2 (squared) at ᾱ_w when want. */
static double fd_cov_update(fd_data *fd, const double *restrict refvar, double abw, int want) {
  const double *restrict p = fd->p, *restrict nz = fd->nz, *restrict wgt = fd->wgt;
  double *restrict k = fd->k, acc = 0;
  const int nf = fd->nf;
#pragma omp simd reduction(+ : acc)
  for (int f = 0; f < nf; f++) {
    k[f] = p[f] * p[f] * k[f] + nz[f];
    if (want) {
      double dl = sqrt(k[f]) - sqrt(abw * refvar[f] + 1 - abw);
      acc += wgt[f] * dl * dl;
    }
  }
  return acc;
}

/* m̂ ← p m̂ + cr r̂ (+ gain_mu0 μ̂ at ξ = 0) for one seed, fused with ‖m − √ᾱ_w q‖² (returned). */
static double fd_step_mean(fd_data *fd, fd_seed *sd, double gain_mu0, double sabw, int want) {
  const double *restrict p = fd->p, *restrict cr = fd->cr, *restrict wgt = fd->wgt;
  double *restrict mre = sd->mre, *restrict mim = sd->mim;
  const double *restrict rre = sd->rre, *restrict rim = sd->rim;
  const double *restrict qre = sd->qre, *restrict qim = sd->qim;
  const int nf = fd->nf;
  double acc = 0;
#pragma omp simd
  for (int f = 0; f < nf; f++) {
    mre[f] = p[f] * mre[f] + cr[f] * rre[f];
    mim[f] = p[f] * mim[f] + cr[f] * rim[f];
  }
  mre[0] += gain_mu0 * fd->mu0;
  if (want) {
#pragma omp simd reduction(+ : acc)
    for (int f = 0; f < nf; f++) {
      double dr = mre[f] - sabw * qre[f], di = mim[f] - sabw * qim[f];
      acc += wgt[f] * (dr * dr + di * di);
    }
  }
  return acc;
}

static int fd_step(gds_law *law, gds_law_eval *ev, int j, gds_law_rec *rec) {
  fd_data *fd = law->data;
  fd_eval *fe = ev->st;
  const gds_step *st = &ev->plan->step[j];
  double abw = rec->abar, cov2, g0;
  int want = rec->want;
  if (st->kind == GDS_STEP_SCORE && st->nstage == 1 && st->stage[0].a_y == 1.0) {
    gds_guidance c = ev->alg->guidance(st->stage[0].abar, law->sigma * law->sigma, ev->cfg->alpha_dps);
    g0 = fd_step_fast(fd, st, c, fe->refvar, abw, want, &cov2);
  } else {
    g0 = st->kind == GDS_STEP_DDRM ? fd_coef_ddrm(law, ev, st) : fd_coef_program(law, ev, st);
    cov2 = fd_cov_update(fd, fe->refvar, abw, want);
  }
  rec->cov = want ? sqrt(cov2) : NAN;
  double sabw = sqrt(abw);
  for (int s = 0; s < ev->ns; s++) {
    double m2 = fd_step_mean(fd, &fe->sd[s], g0, sabw, want);
    rec->mean[s] = want ? sqrt(m2 / fd->d) : NAN;
  }
  return GDS_SUCCESS;
}

/* W2 of the current law against ᾱ: Σ wgt (√K − √(ᾱ Σ_ref + 1 − ᾱ))² (gds_w2_cov_commuting
 * without its cancellation) and ‖m − √ᾱ q‖² = Σ wgt |m̂ − √ᾱ q̂|²/d (Parseval). */
static int fd_record(gds_law *law, gds_law_eval *ev, gds_law_rec *rec) {
  fd_data *fd = law->data;
  fd_eval *fe = ev->st;
  double ab = rec->abar, sab = sqrt(ab), acc = 0;
  for (int f = 0; f < fd->nf; f++) {
    double dl = sqrt(fd->k[f]) - sqrt(ab * fe->refvar[f] + 1 - ab);
    acc += fd->wgt[f] * dl * dl;
  }
  rec->cov = sqrt(acc);
  for (int s = 0; s < ev->ns; s++) {
    const fd_seed *sd = &fe->sd[s];
    double m2 = 0;
    for (int f = 0; f < fd->nf; f++) {
      double dr = sd->mre[f] - sab * sd->qre[f], di = sd->mim[f] - sab * sd->qim[f];
      m2 += fd->wgt[f] * (dr * dr + di * di);
    }
    rec->mean[s] = sqrt(m2 / fd->d);
  }
  return GDS_SUCCESS;
}

static int fd_output(gds_law *law, gds_law_eval *ev, double **mean, double *var) {
  fd_data *fd = law->data;
  fd_eval *fe = ev->st;
  for (int s = 0; s < ev->ns && mean; s++)
    if (mean[s]) fd_inverse(fd, fe->sd[s].mre, fe->sd[s].mim, mean[s]);
  if (var) {
    double tr = 0;
    for (int f = 0; f < fd->nf; f++) tr += fd->wgt[f] * fd->k[f];
    for (int i = 0; i < fd->d; i++) var[i] = tr / fd->d;
  }
  return GDS_SUCCESS;
}

/* Dense covariance of a stationary law with spectrum k: K[i][j] = c(p_i − p_j), c = IDFT(k). */
static int fd_dense_cov(fd_data *fd, const double *k, double *K) {
  double *c;
  GDS_CALL(GDS_ALLOC(c, fd->d));
  fd_inverse(fd, k, NULL, c);
  int H = fd->H, W = fd->W;
  for (int i = 0; i < fd->d; i++)
    for (int j = 0; j < fd->d; j++) {
      int dr = ((i / W - j / W) % H + H) % H, dc = ((i % W - j % W) % W + W) % W;
      K[(size_t)i * fd->d + j] = c[dr * W + dc];
    }
  free(c);
  return GDS_SUCCESS;
}

static int fd_moments(gds_law *law, gds_law_eval *ev, double abar, double *mean, double *cov, double *ref_mean,
                      double *ref_cov) {
  fd_data *fd = law->data;
  fd_eval *fe = ev->st;
  fd_seed *sd = &fe->sd[0];
  double sab = sqrt(abar);
  if (mean) fd_inverse(fd, sd->mre, sd->mim, mean);
  if (ref_mean) {
    for (int f = 0; f < fd->nf; f++) {
      sd->qre[f] *= sab;
      sd->qim[f] *= sab;
    }
    fd_inverse(fd, sd->qre, sd->qim, ref_mean);
  }
  if (cov) GDS_CALL(fd_dense_cov(fd, fd->k, cov));
  if (ref_cov) {
    for (int f = 0; f < fd->nf; f++) fd->nz[f] = abar * fe->refvar[f] + 1 - abar;
    GDS_CALL(fd_dense_cov(fd, fd->nz, ref_cov));
  }
  return GDS_SUCCESS;
}

const gds_law_backend gds_law_backend_fourier_diag = {
    .name = "fourier-diagonal",
    .setup = fd_setup,
    .destroy = fd_destroy,
    .posterior = fd_posterior,
    .begin = fd_begin,
    .step = fd_step,
    .record = fd_record,
    .output = fd_output,
    .moments = fd_moments,
    .end = fd_end,
};
