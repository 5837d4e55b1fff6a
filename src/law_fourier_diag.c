/* Fourier-diagonal law backend (docs/maths.md §5.1): for identity and the blurs every matrix
 * of a step is a Fourier multiplier, so a step of any plan is, per frequency ξ,
 *   m̂ ← p(ξ) m̂ + cr(ξ) r̂(ξ) (+ cμ μ̂ at ξ = 0),   K(ξ) ← p(ξ)² K(ξ) + nz(ξ),
 * with r̂ = conj(â)(v̂ − â μ̂), and W2 is in closed form. p, cr come from the step program
 * evaluated on scalars (gds_step_scalar), or for DDRM from gds_ddrm_component with the
 * singular value s(ξ) = |â(ξ)|. Real-FFT symmetry: only the H×(W/2+1) half spectrum is
 * stored; a frequency whose conjugate is not stored counts twice in traces and norms
 * (weight wgt). The default sampler (one score stage at y, scalar noise) runs in a fused
 * loop that streams the arrays once per step.
 *
 * The same engine serves a prior given in its own eigenbasis (SPEC §7.6, a 1-D spectrum, the
 * identity operator; backend "eigen-diagonal"): the components are then the n coordinates
 * themselves (no FFT, real, weight 1), with the prior mean in every coordinate. */
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
  int eigen;         /* components are coordinates (eigenbasis prior), not frequencies */
  double mu0;        /* μ̂(0) = m·d (Fourier; μ̂(ξ) = 0 elsewhere), or m (eigen: in every coordinate) */
  double *mu;        /* μ̂ per component */
  int mu_spread;     /* μ̂ ≠ 0 at some component other than 0 (eigen mode with m ≠ 0) */
  double pnorm;      /* Parseval: ‖x‖² = pnorm Σ wgt |x̂|² (1/d, or 1 in eigen mode) */
  double *k, *p, *cr, *nz, *cmu; /* state K(ξ); per step: gain, gain on r̂, added variance, gain on μ̂ */
  /* The mean is linear in the measurement: m̂ = A r̂ + E per component with seed-independent
   * real A, E (E ≠ 0 at ξ = 0 only unless μ̂ is spread), and the reference mean is
   * q̂ = g r̂ + μ̂. So a step updates A and E once for every seed, and a seed's W2 mean part
   * only reads its |r̂|² (fd_mean_parts): far less memory traffic per seed than carrying m̂. */
  double *A, *E, *g, *cw, *tm; /* tm: the terms of a seed's sum (GDS_LAW_FIXED_SUMS) */
  double *stg;       /* 5·GDS_STAGE_MAX·nf: per-stage h, G and the program's partial sums (lazy) */
  double *tw;        /* nf: the terms of a W2 sum (summed by gds_red_array) */
  double *real;      /* d, FFT work */
  fftw_complex *spec;
  fftw_plan fwd, bwd;
  /* per-seed spectra (r̂ and |r̂|²), kept from one evaluation (or posterior) to the next: every entry is
   * written before it is read, and allocating them per call dominated tiny problems. The
   * posterior's and the first seed's live in the setup block (one allocation per law: separate
   * buffers kept across calls made glibc return and re-fault memory when a sweep creates one law
   * per unit, 1.4x slower at 256², bench/RESULTS.md); seedbuf holds more seeds when needed. */
  double *seedbuf, *postbuf, *seed1;
  struct fd_seed *seeds;
  int seedcap;
} fd_data;

/* Per-seed spectra of one measurement: r̂ = conj(â)(v̂ − â μ̂) and u = |r̂|². Split
 * real/imaginary arrays so the loops vectorise. */
typedef struct fd_seed {
  double *rre, *rim, *u;
} fd_seed;
#define FD_SEED_ARRAYS 3

typedef struct fd_eval {
  fd_seed *sd; /* fd->seeds */
  const double *refvar; /* Σ_ref(ξ): λ (prior path) or Σ_post(ξ) */
  int mean_zero;        /* no guidance, μ = 0 and a zero start mean: m stays exactly 0 */
} fd_eval;

static void fd_destroy(gds_law *law) {
  fd_data *fd = law->data;
  if (!fd) return;
  if (fd->fwd) fftw_destroy_plan(fd->fwd);
  if (fd->bwd) fftw_destroy_plan(fd->bwd);
  fftw_free(fd->real);
  fftw_free(fd->spec);
  free(fd->stg);
  free(fd->seedbuf);
  free(fd->seeds);
  free(fd->lam); /* one block holds every per-frequency array */
  free(fd);
  law->data = NULL;
}

static int fd_setup_any(gds_law *law, int eigen) {
  const gds_prior *pr = law->prior;
  gds_operator *op = law->op;
  fd_data *fd;
  GDS_CALL(GDS_ALLOC(fd, 1));
  law->data = fd;
  fd->eigen = eigen;
  fd->H = pr->H;
  fd->W = pr->W;
  fd->Wh = pr->W / 2 + 1;
  fd->d = fd->H * fd->W;
  fd->nf = eigen ? fd->d : fd->H * fd->Wh;
  int nf = fd->nf;
  if (eigen && op->spec.type != GDS_OP_IDENTITY)
    GDS_ERROR(GDS_ERR_INPUT, "operator %s: a prior given in its eigenbasis works with the identity operator only",
              op->name);
  double *blk; /* 19 per-frequency arrays, the posterior's r̂ and q̂ (4), the first seed's spectra */
  double **arrs[] = {&fd->lam, &fd->a2, &fd->are, &fd->aim, &fd->wgt, &fd->postvar, &fd->sv, &fd->k, &fd->p,
                     &fd->cr,  &fd->nz, &fd->mu,  &fd->cmu, &fd->tw,  &fd->A,       &fd->E,  &fd->g, &fd->cw, &fd->tm};
  const size_t narr = sizeof arrs / sizeof *arrs;
  GDS_CALL(gds_malloc_aligned(sizeof(double) * (narr + 4 + FD_SEED_ARRAYS) * (size_t)nf, &blk)); /* zeroed */
  for (size_t i = 0; i < narr; i++) *arrs[i] = blk + i * (size_t)nf;
  fd->postbuf = blk + narr * (size_t)nf;
  fd->seed1 = fd->postbuf + 4 * (size_t)nf;
  double s2 = law->sigma * law->sigma;
  if (eigen) { /* Σ = diag(λ), A = I, μ = m·1 in the coordinates */
    for (int f = 0; f < nf; f++) {
      fd->lam[f] = pr->spectrum[f];
      fd->are[f] = fd->a2[f] = fd->wgt[f] = fd->sv[f] = 1.0;
      fd->postvar[f] = fd->lam[f] * s2 / (fd->lam[f] + s2);
      fd->mu[f] = pr->mean;
    }
    fd->mu0 = pr->mean;
    fd->mu_spread = pr->mean != 0 && nf > 1;
    fd->pnorm = 1.0;
    return GDS_SUCCESS;
  }
  fd->real = fftw_alloc_real((size_t)fd->d);
  fd->spec = fftw_alloc_complex((size_t)nf);
  if (!fd->real || !fd->spec) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (FFT buffers)");
  fd->fwd = fftw_plan_dft_r2c_2d(fd->H, fd->W, fd->real, fd->spec, FFTW_ESTIMATE);
  fd->bwd = fftw_plan_dft_c2r_2d(fd->H, fd->W, fd->spec, fd->real, FFTW_ESTIMATE);
  if (!fd->fwd || !fd->bwd) GDS_ERROR(GDS_ERR_RUNTIME, "FFTW planning failed");

  memcpy(fd->real, op->kernel, sizeof(double) * (size_t)fd->d);
  fftw_execute(fd->fwd);
  double smax = 0;
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
  fd->mu[0] = fd->mu0;
  fd->pnorm = 1.0 / fd->d;
  return GDS_SUCCESS;
}

static int fd_setup(gds_law *law) { return fd_setup_any(law, 0); }
static int fd_setup_eigen(gds_law *law) { return fd_setup_any(law, 1); }

/* Real image (d) → half spectrum split into re/im (eigen mode: the coordinates, im = 0). */
static void fd_forward(fd_data *fd, const double *x, double *re, double *im) {
  if (fd->eigen) {
    memcpy(re, x, sizeof(double) * (size_t)fd->d);
    memset(im, 0, sizeof(double) * (size_t)fd->d);
    return;
  }
  memcpy(fd->real, x, sizeof(double) * (size_t)fd->d);
  fftw_execute(fd->fwd);
  for (int f = 0; f < fd->nf; f++) {
    re[f] = fd->spec[f][0];
    im[f] = fd->spec[f][1];
  }
}

/* Half spectrum → real image (d), including the 1/d of the un-normalised inverse DFT. */
static void fd_inverse(fd_data *fd, const double *re, const double *im, double *x) {
  if (fd->eigen) {
    memcpy(x, re, sizeof(double) * (size_t)fd->d);
    return;
  }
  for (int f = 0; f < fd->nf; f++) {
    fd->spec[f][0] = re[f];
    fd->spec[f][1] = im ? im[f] : 0.0;
  }
  fftw_execute(fd->bwd);
  for (int i = 0; i < fd->d; i++) x[i] = fd->real[i] / fd->d;
}

/* r̂ = conj(â)(v̂ − âμ̂). */
static void fd_measure(gds_law *law, const double *v, double *rre, double *rim) {
  fd_data *fd = law->data;
  fd_forward(fd, v, rre, rim);
  for (int f = 0; f < fd->nf; f++) {
    double vr = rre[f] - fd->are[f] * fd->mu[f], vi = rim[f] - fd->aim[f] * fd->mu[f];
    rre[f] = fd->are[f] * vr + fd->aim[f] * vi; /* conj(â)·(v̂ − âμ̂) */
    rim[f] = fd->are[f] * vi - fd->aim[f] * vr;
  }
}

/* Gain of the reference mean on r̂: μ_post = μ + Σ Aᵀ (AΣAᵀ + σ²I)⁻¹ (v − Aμ) is per frequency
 * μ̂ + λ r̂/(λ|â|² + σ²) (posterior), else q̂ = μ̂ (gain 0). */
static double fd_ref_gain(const gds_law *law, const fd_data *fd, int posterior, int f) {
  return posterior ? fd->lam[f] / (fd->lam[f] * fd->a2[f] + law->sigma * law->sigma) : 0.0;
}

static fd_seed fd_seed_at(const fd_data *fd, double *b) { return (fd_seed){b, b + fd->nf, b + 2 * fd->nf}; }

static size_t fd_seed_bytes(const gds_law *law) {
  const fd_data *fd = law->data;
  return sizeof(double) * FD_SEED_ARRAYS * (size_t)fd->nf;
}

/* The per-seed spectra of ns seeds (fd->seeds), grown when needed. */
static int fd_alloc_seeds(fd_data *fd, int ns) {
  if (ns <= fd->seedcap) return GDS_SUCCESS;
  free(fd->seedbuf);
  free(fd->seeds);
  fd->seedbuf = NULL;
  fd->seeds = NULL;
  fd->seedcap = 0;
  GDS_CALL(GDS_ALLOC(fd->seeds, ns));
  const size_t per = FD_SEED_ARRAYS * (size_t)fd->nf;
  if (ns > 1) GDS_CALL(gds_malloc_aligned(sizeof(double) * per * ns, &fd->seedbuf));
  for (int s = 0; s < ns; s++) fd->seeds[s] = fd_seed_at(fd, ns > 1 ? fd->seedbuf + per * s : fd->seed1);
  fd->seedcap = ns;
  return GDS_SUCCESS;
}

static int fd_posterior(gds_law *law, const double *v, double *mean, double *var) {
  fd_data *fd = law->data;
  if (mean) {
    double *rre = fd->postbuf, *rim = rre + fd->nf, *qre = rim + fd->nf, *qim = qre + fd->nf;
    fd_measure(law, v, rre, rim);
    for (int f = 0; f < fd->nf; f++) {
      const double g = fd_ref_gain(law, fd, 1, f);
      qre[f] = g * rre[f] + fd->mu[f];
      qim[f] = g * rim[f];
    }
    fd_inverse(fd, qre, qim, mean);
  }
  if (var && fd->eigen) memcpy(var, fd->postvar, sizeof(double) * (size_t)fd->d);
  else if (var) { /* a stationary covariance has a constant diagonal: (1/d) tr Σ_post */
    double tr = 0;
    for (int f = 0; f < fd->nf; f++) tr += fd->wgt[f] * fd->postvar[f];
    for (int i = 0; i < fd->d; i++) var[i] = tr / fd->d;
  }
  return GDS_SUCCESS;
}

/* ---- evaluation ---- */

/* Start law (SPEC §7.4, §7.2): N(0, I); the reference law at ᾱ (K = ᾱ Σ_ref + 1 − ᾱ,
 * m̂ = √ᾱ q̂); or DDRM's start, per frequency K = nu, m̂ = cy ȳ with ȳ = v̂/â = r̂/|â|² + μ̂.
 * As m̂ = A r̂ + E: A = √ᾱ g + cy/|â|², E = (√ᾱ + cy) μ̂. */
static int fd_begin(gds_law *law, gds_law_eval *ev) {
  fd_data *fd = law->data;
  fd_eval *fe;
  GDS_CALL(GDS_ALLOC(fe, 1));
  ev->st = fe;
  const gds_plan *p = ev->plan;
  int ns = ev->ns, nf = fd->nf;
  GDS_CALL(fd_alloc_seeds(fd, ns));
  fe->sd = fd->seeds;
  fe->refvar = ev->alg->target_posterior ? fd->postvar : fd->lam;
  fe->mean_zero = ev->alg->family == GDS_FAMILY_SCORE && ev->alg->guidance(0.5, 1.0, 1.0).on == 0;
  for (int f = 0; f < nf && fe->mean_zero; f++) fe->mean_zero = fd->mu[f] == 0;
  for (int s = 0; s < ns; s++) {
    fd_seed *sd = &fe->sd[s];
    fd_measure(law, ev->v[s], sd->rre, sd->rim);
    for (int f = 0; f < nf; f++) sd->u[f] = sd->rre[f] * sd->rre[f] + sd->rim[f] * sd->rim[f];
  }
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
    fd->g[f] = fd_ref_gain(law, fd, ev->alg->target_posterior, f);
    fd->A[f] = gq * fd->g[f] + (gy != 0 ? gy / fd->a2[f] : 0.0);
    fd->E[f] = (gq + gy) * fd->mu[f];
  }
  return GDS_SUCCESS;
}

static void fd_end(gds_law *law, gds_law_eval *ev) {
  (void)law;
  fd_eval *fe = ev->st;
  if (!fe) return;
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

/* The per-frequency body of the fused default step (see fd_step_fast). `guided` is a
 * compile-time 0 or 1 at every call: without guidance (C⁻¹ = 0) there is no second division. */
static inline void fd_step_freq(int f, int guided, double ab, double sab, double by, double bb, double scale,
                                double sig2, gds_guidance c, const double *restrict lam, const double *restrict a2,
                                double *restrict k, double *restrict p, double *restrict cr) {
  double ist = 1.0 / (ab * lam[f] + 1 - ab);
  double pf;
  if (guided) {
    double J = sab * lam[f] * ist;
    double ic = c.on / (c.c0 + a2[f] * (c.c1 + c.c2 * lam[f] * ist));
    pf = (by - bb * (ist + J * J * a2[f] * ic)) * scale;
    cr[f] = bb * scale * J * ic;
  } else {
    pf = (by - bb * ist) * scale;
    cr[f] = 0.0;
  }
  p[f] = pf;
  k[f] = pf * pf * k[f] + sig2;
}

/* One score stage at y with scalar noise (every discrete scheme): per frequency
 * p = scale (b_y − b₁ h), cr = scale b₁ G, K ← p² K + noise. Fused with the covariance part
 * of W2 at ᾱ_w against ᾱ_w Σ_ref + (1 − ᾱ_w) (returned squared in *w2c2 when want) so the
 * arrays are streamed once per step. Returns the gain of μ̂(0). */
GDS_LAW_CLONES static double fd_step_fast(fd_data *fd, const gds_step *st, gds_guidance c, const double *restrict refvar,
                                           double abw, int want, double *w2c2) {
  double ab = st->stage[0].abar, sab = sqrt(ab), by = st->b_y, bb = st->b[0], scale = st->scale, sig2 = st->noise;
  const double *restrict lam = fd->lam, *restrict a2 = fd->a2, *restrict wgt = fd->wgt;
  double *restrict k = fd->k, *restrict p = fd->p, *restrict cr = fd->cr, *restrict tw = fd->tw;
  double acc = 0;
  const int nf = fd->nf;
  /* Copies of one loop body (fd_step_freq, inlined): the W2-free variant, used at times
   * w2_times leaves out, pays no square roots; the unguided one no second division. The W2
   * terms go through tw to a fixed-order sum (the same bits on every CPU). */
#if GDS_LAW_FIXED_SUMS
#define FD_FAST_W2(G)                                                                                            \
  {                                                                                                            \
    double part[GDS_RED] = {0};                                                                                \
    int f0 = 0;                                                                                                \
    for (; f0 + GDS_RED <= nf; f0 += GDS_RED)                                                                  \
      _Pragma("omp simd") for (int j = 0; j < GDS_RED; j++) {                                                  \
        fd_step_freq(f0 + j, G, ab, sab, by, bb, scale, sig2, c, lam, a2, k, p, cr);                           \
        double dl = sqrt(k[f0 + j]) - sqrt(abw * refvar[f0 + j] + 1 - abw);                                    \
        part[j] += wgt[f0 + j] * dl * dl;                                                                      \
      }                                                                                                        \
    for (int j = 0; f0 + j < nf; j++) {                                                                        \
      fd_step_freq(f0 + j, G, ab, sab, by, bb, scale, sig2, c, lam, a2, k, p, cr);                             \
      double dl = sqrt(k[f0 + j]) - sqrt(abw * refvar[f0 + j] + 1 - abw);                                      \
      part[j] += wgt[f0 + j] * dl * dl;                                                                        \
    }                                                                                                          \
    acc = gds_red_sum(part);                                                                                   \
  }
#else
#define FD_FAST_W2(G)                                                                                            \
  _Pragma("omp simd reduction(+ : acc)") for (int f = 0; f < nf; f++) {                                        \
    fd_step_freq(f, G, ab, sab, by, bb, scale, sig2, c, lam, a2, k, p, cr);                                    \
    double dl = sqrt(k[f]) - sqrt(abw * refvar[f] + 1 - abw);                                                  \
    acc += wgt[f] * dl * dl;                                                                                   \
  }
#endif
#define FD_FAST_LOOPS(G)                                                                                         \
  if (want) {                                                                                                  \
    FD_FAST_W2(G)                                                                                              \
  } else {                                                                                                     \
    _Pragma("omp simd") for (int f = 0; f < nf; f++) fd_step_freq(f, G, ab, sab, by, bb, scale, sig2, c, lam, \
                                                                  a2, k, p, cr);                               \
  }
  if (c.on != 0) {
    FD_FAST_LOOPS(1)
  } else {
    FD_FAST_LOOPS(0)
  }
#undef FD_FAST_LOOPS
#undef FD_FAST_W2
  (void)tw;
  *w2c2 = acc;
  /* h at ξ = 0 (the only frequency where μ̂ ≠ 0), recomputed outside the vector loop. */
  double ist0 = 1.0 / (ab * lam[0] + 1 - ab), J0 = sab * lam[0] * ist0;
  double h0 = ist0 + J0 * J0 * a2[0] * c.on / (c.c0 + a2[0] * (c.c1 + c.c2 * lam[0] * ist0));
  return bb * scale * sab * h0;
}

/* Any score program (docs/maths.md §3.2), vectorised over the frequencies: per stage j the
 * arrays h_j, G_j; then stage by stage the program on scalars with stage scores
 * k_j = −h_j x_j + c_j, carried as two parts — the gain on y (kp, c = 0) and the gain on r̂
 * (kq, c = G) — so that p = scale (b_y + Σ b_j kp_j), cr = scale Σ b_j kq_j. The gain of μ̂
 * (constants c_j = h_j √ᾱ_j) is needed at ξ = 0, or everywhere when μ̂ is spread (eigen
 * mode): a third part kc. nz = the program's noise. */
/* Stage j of the program on every frequency: x_j = a_y + Σ_{l<j} a_l k_l per part, then
 * kp_j = −h x_p, kq_j = −h x_q + G, kc_j = −h x_c + h √ᾱ_j. Written out per j (≤ 3 earlier
 * stages) so that every loop is a plain vector loop. */
GDS_LAW_CLONES static void fd_program_pass(int nf, int j, const gds_stage *sg, double sab, const double *restrict h,
                                           const double *restrict G, double *const *kp, double *const *kq,
                                           double *const *kc) {
  double *restrict pj = kp[j], *restrict qj = kq[j], *restrict cj = kc[j];
  const double ay = sg->a_y, a0 = sg->a[0], a1 = sg->a[1], a2 = sg->a[2];
  const double *restrict p0 = kp[0], *restrict p1 = kp[1], *restrict p2 = kp[2];
  const double *restrict q0 = kq[0], *restrict q1 = kq[1], *restrict q2 = kq[2];
  const double *restrict c0 = kc[0], *restrict c1 = kc[1], *restrict c2 = kc[2];
#define FD_PASS(XP, XQ, XC)                                                                                      \
  _Pragma("omp simd") for (int f = 0; f < nf; f++) {                                                           \
    double xp = XP, xq = XQ, xc = XC;                                                                          \
    pj[f] = -h[f] * xp;                                                                                        \
    qj[f] = -h[f] * xq + G[f];                                                                                 \
    cj[f] = -h[f] * xc + h[f] * sab;                                                                           \
  }
  switch (j) {
  case 0: FD_PASS(ay, 0.0, 0.0) break;
  case 1: FD_PASS(ay + a0 * p0[f], a0 * q0[f], a0 * c0[f]) break;
  case 2: FD_PASS(ay + a0 * p0[f] + a1 * p1[f], a0 * q0[f] + a1 * q1[f], a0 * c0[f] + a1 * c1[f]) break;
  default:
    FD_PASS(ay + a0 * p0[f] + a1 * p1[f] + a2 * p2[f], a0 * q0[f] + a1 * q1[f] + a2 * q2[f],
            a0 * c0[f] + a1 * c1[f] + a2 * c2[f])
    break;
  }
#undef FD_PASS
}

/* p = scale (b_y + Σ b_j kp_j), cr = scale Σ b_j kq_j, cmu = scale Σ b_j kc_j, nz = noise. */
GDS_LAW_CLONES static void fd_program_output(int nf, const gds_step *st, double *const *kp, double *const *kq,
                                             double *const *kc, double *restrict p, double *restrict cr,
                                             double *restrict cmu, double *restrict nz) {
  const double by = st->b_y, scale = st->scale, noise = st->noise;
  const double b0 = st->b[0], b1 = st->b[1], b2 = st->b[2], b3 = st->b[3];
  const double *restrict p0 = kp[0], *restrict p1 = kp[1], *restrict p2 = kp[2], *restrict p3 = kp[3];
  const double *restrict q0 = kq[0], *restrict q1 = kq[1], *restrict q2 = kq[2], *restrict q3 = kq[3];
  const double *restrict c0 = kc[0], *restrict c1 = kc[1], *restrict c2 = kc[2], *restrict c3 = kc[3];
#define FD_OUT(OP, OQ, OC)                                                                                       \
  _Pragma("omp simd") for (int f = 0; f < nf; f++) {                                                           \
    p[f] = scale * (OP);                                                                                       \
    cr[f] = scale * (OQ);                                                                                      \
    cmu[f] = scale * (OC);                                                                                     \
    nz[f] = noise;                                                                                             \
  }
  switch (st->nstage) {
  case 1: FD_OUT(by + b0 * p0[f], b0 * q0[f], b0 * c0[f]) break;
  case 2: FD_OUT(by + b0 * p0[f] + b1 * p1[f], b0 * q0[f] + b1 * q1[f], b0 * c0[f] + b1 * c1[f]) break;
  case 3:
    FD_OUT(by + b0 * p0[f] + b1 * p1[f] + b2 * p2[f], b0 * q0[f] + b1 * q1[f] + b2 * q2[f],
           b0 * c0[f] + b1 * c1[f] + b2 * c2[f])
    break;
  default:
    FD_OUT(by + b0 * p0[f] + b1 * p1[f] + b2 * p2[f] + b3 * p3[f], b0 * q0[f] + b1 * q1[f] + b2 * q2[f] + b3 * q3[f],
           b0 * c0[f] + b1 * c1[f] + b2 * c2[f] + b3 * c3[f])
    break;
  }
#undef FD_OUT
}

/* An unguided program (C⁻¹ = 0: stage scores −h_j x with h_j = 1/Σ_ᾱj) in one vector loop:
 * per frequency the stages in registers, p = scale (b_y + Σ b_j kp_j), K ← p² K + noise, fused
 * with the covariance part of W2 at ᾱ_w. NS (the stage count) is a constant at each call. */
__attribute__((always_inline)) static inline double fd_linear_ns(fd_data *fd, const gds_step *st, const int NS,
                                                                  const double *restrict refvar, double abw, int want) {
  const gds_stage *g = st->stage;
  /* stage j: x_j = a_y,j + Σ_{l<j} a_jl k_l, k_j = −x_j / (ᾱ_j λ + 1 − ᾱ_j); scalars so that the
   * loop vectorises (absent stages are removed at compile time) */
  const double ab0 = g[0].abar, ab1 = g[1].abar, ab2 = g[2].abar, ab3 = g[3].abar;
  const double y0 = g[0].a_y, y1 = g[1].a_y, y2 = g[2].a_y, y3 = g[3].a_y;
  const double a10 = g[1].a[0], a20 = g[2].a[0], a21 = g[2].a[1], a30 = g[3].a[0], a31 = g[3].a[1], a32 = g[3].a[2];
  const double b0 = st->b[0], b1 = st->b[1], b2 = st->b[2], b3 = st->b[3];
  const double by = st->b_y, scale = st->scale, noise = st->noise;
  const double *restrict lam = fd->lam, *restrict wgt = fd->wgt;
  double *restrict k = fd->k, *restrict p = fd->p, *restrict tw = fd->tw, acc = 0;
  const int nf = fd->nf;
#pragma omp simd reduction(+ : acc)
  for (int f = 0; f < nf; f++) {
    const double l = lam[f];
    double k0 = -y0 / (ab0 * l + 1 - ab0), k1 = 0, k2 = 0, k3 = 0;
    if (NS > 1) k1 = -(y1 + a10 * k0) / (ab1 * l + 1 - ab1);
    if (NS > 2) k2 = -(y2 + a20 * k0 + a21 * k1) / (ab2 * l + 1 - ab2);
    if (NS > 3) k3 = -(y3 + a30 * k0 + a31 * k1 + a32 * k2) / (ab3 * l + 1 - ab3);
    double op = by + b0 * k0;
    if (NS > 1) op += b1 * k1;
    if (NS > 2) op += b2 * k2;
    if (NS > 3) op += b3 * k3;
    double pf = scale * op;
    p[f] = pf;
    k[f] = pf * pf * k[f] + noise;
    double dl = sqrt(k[f]) - sqrt(abw * refvar[f] + 1 - abw);
    if (GDS_LAW_FIXED_SUMS) tw[f] = wgt[f] * dl * dl;
    else acc += wgt[f] * dl * dl;
  }
  if (!want) return 0.0;
  return GDS_LAW_FIXED_SUMS ? gds_red_array(nf, tw) : acc;
}

GDS_LAW_CLONES static double fd_linear_fused(fd_data *fd, const gds_step *st, const double *refvar, double abw, int want) {
  switch (st->nstage) {
  case 1: return fd_linear_ns(fd, st, 1, refvar, abw, want);
  case 2: return fd_linear_ns(fd, st, 2, refvar, abw, want);
  case 3: return fd_linear_ns(fd, st, 3, refvar, abw, want);
  default: return fd_linear_ns(fd, st, 4, refvar, abw, want);
  }
}

static int fd_coef_program(gds_law *law, const gds_law_eval *ev, const gds_step *st, double *mu_gain) {
  fd_data *fd = law->data;
  const int nf = fd->nf, ns = st->nstage;
  const size_t sn = (size_t)GDS_STAGE_MAX * nf;
  if (!fd->stg) GDS_CALL(gds_malloc_aligned(sizeof(double) * 5 * sn, &fd->stg));
  double *hs = fd->stg, *Gs = hs + sn, *kp[GDS_STAGE_MAX], *kq[GDS_STAGE_MAX], *kc[GDS_STAGE_MAX];
  for (int j = 0; j < GDS_STAGE_MAX; j++) {
    kp[j] = Gs + sn + (size_t)j * nf;
    kq[j] = Gs + 2 * sn + (size_t)j * nf;
    kc[j] = Gs + 3 * sn + (size_t)j * nf;
  }
  const double s2 = law->sigma * law->sigma, *restrict lam = fd->lam, *restrict a2 = fd->a2;
  for (int j = 0; j < ns; j++) {
    gds_guidance g = ev->alg->guidance(st->stage[j].abar, s2, ev->cfg->alpha_dps);
    double ab = st->stage[j].abar, sab = sqrt(ab), *restrict h = hs + (size_t)j * nf, *restrict G = Gs + (size_t)j * nf;
    if (g.on == 0) /* no guidance: h = 1/Σ_ᾱ, G = 0 */
#pragma omp simd
      for (int f = 0; f < nf; f++) {
        h[f] = 1.0 / (ab * lam[f] + 1 - ab);
        G[f] = 0.0;
      }
    else
#pragma omp simd
      for (int f = 0; f < nf; f++) {
        double ist = 1.0 / (ab * lam[f] + 1 - ab), J = sab * lam[f] * ist;
        double ic = g.on / (g.c0 + a2[f] * (g.c1 + g.c2 * lam[f] * ist));
        h[f] = ist + J * J * a2[f] * ic;
        G[f] = J * ic;
      }
    fd_program_pass(nf, j, &st->stage[j], sab, h, G, kp, kq, kc);
  }
  /* the μ̂ gains cmu are meaningful everywhere; only ξ = 0 is used unless μ̂ is spread */
  fd_program_output(nf, st, kp, kq, kc, fd->p, fd->cr, fd->cmu, fd->nz);
  *mu_gain = fd->cmu[0];
  return GDS_SUCCESS;
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
    if (f == 0 || fd->mu_spread)
      fd->cmu[f] = sas * ((c.cx - c.ce * sat * isq) * (1 - sat * J) + (fd->sv[f] > 0 ? c.cy : 0.0));
  }
  mu_gain = fd->cmu[0];
  return mu_gain;
}

/* K ← p² K + nz, fused with the covariance part of W2 (squared) at ᾱ_w when want. */
GDS_LAW_CLONES static double fd_cov_update(fd_data *fd, const double *restrict refvar, double abw, int want) {
  const double *restrict p = fd->p, *restrict nz = fd->nz, *restrict wgt = fd->wgt;
  double *restrict k = fd->k, *restrict tw = fd->tw, acc = 0;
  const int nf = fd->nf;
#pragma omp simd reduction(+ : acc)
  for (int f = 0; f < nf; f++) {
    k[f] = p[f] * p[f] * k[f] + nz[f];
    double dl = sqrt(k[f]) - sqrt(abw * refvar[f] + 1 - abw);
    if (GDS_LAW_FIXED_SUMS) tw[f] = wgt[f] * dl * dl;
    else acc += wgt[f] * dl * dl;
  }
  if (!want) return 0.0;
  return GDS_LAW_FIXED_SUMS ? gds_red_array(nf, tw) : acc;
}

/* A ← p A + cr, and E ← p E + cmu μ̂ (spread μ̂) or E(0) ← p E(0) + gain_mu0 μ̂(0): the step of
 * every seed's m̂ = A r̂ + E. With `cw` (stationary μ̂ only), in the same pass the weights
 * cw = wgt X² of fd_mean_parts at √ᾱ = sab (X = A − √ᾱ g; 0 at ξ = 0, which is formed
 * apart). */
GDS_LAW_CLONES static void fd_step_coef(fd_data *fd, double gain_mu0, double *restrict cw, double sab) {
  const double *restrict p = fd->p, *restrict cr = fd->cr, *restrict g = fd->g, *restrict wgt = fd->wgt;
  double *restrict A = fd->A, *restrict E = fd->E;
  const int nf = fd->nf;
  A[0] = p[0] * A[0] + cr[0];
  if (cw) {
    cw[0] = 0.0;
#pragma omp simd
    for (int f = 1; f < nf; f++) {
      const double a = p[f] * A[f] + cr[f], X = a - sab * g[f];
      A[f] = a;
      cw[f] = wgt[f] * X * X;
    }
  } else {
#pragma omp simd
    for (int f = 1; f < nf; f++) A[f] = p[f] * A[f] + cr[f];
  }
  if (fd->mu_spread) {
    const double *restrict cmu = fd->cmu, *restrict mu = fd->mu;
#pragma omp simd
    for (int f = 0; f < nf; f++) E[f] = p[f] * E[f] + cmu[f] * mu[f];
  } else
    E[0] = p[0] * E[0] + gain_mu0 * fd->mu0; /* μ̂ = 0 elsewhere: E stays 0 there */
}

/* fd_mean_parts' ξ = 0 term of a seed (stationary μ̂): wgt |X r̂ + Y|² formed unexpanded. */
static inline double fd_mean_term0(const fd_data *fd, const fd_seed *sd, double sab) {
  const double X0 = fd->A[0] - sab * fd->g[0], Y0 = fd->E[0] - sab * fd->mu[0];
  const double dr = X0 * sd->rre[0] + Y0, di = X0 * sd->rim[0];
  return fd->wgt[0] * (dr * dr + di * di);
}

/* ‖m − √ᾱ q‖ per seed (Parseval) with m̂ − √ᾱ q̂ = X r̂ + Y, X = A − √ᾱ g, Y = E − √ᾱ μ̂ real:
 * Σ wgt |X r̂ + Y|² = Σ wgt X² u where Y = 0. Where Y ≠ 0 (ξ = 0, or everywhere when μ̂ is
 * spread) the square is formed from X r̂ + Y itself, never expanded: the two parts can be
 * large and nearly cancel. cw_ready: cw already holds wgt X² (fd_step_coef). out[s] = the mean
 * part of seed s. */
GDS_LAW_CLONES static void fd_mean_parts(fd_data *fd, const fd_seed *sd, int ns, double sab, int cw_ready,
                                         double *out) {
  const double *restrict A = fd->A, *restrict E = fd->E, *restrict g = fd->g, *restrict mu = fd->mu;
  const double *restrict wgt = fd->wgt;
  double *restrict cw = fd->cw, *restrict Y = fd->tw;
  const int nf = fd->nf;
  const double pnorm = fd->pnorm;
  if (fd->mu_spread) { /* eigen mode: every coordinate has Y */
#pragma omp simd
    for (int f = 0; f < nf; f++) {
      cw[f] = A[f] - sab * g[f]; /* X */
      Y[f] = E[f] - sab * mu[f];
    }
    for (int s = 0; s < ns; s++) {
      const double *restrict rre = sd[s].rre, *restrict rim = sd[s].rim;
      double acc = 0;
#if GDS_LAW_FIXED_SUMS
      double *restrict tm = fd->tm;
#pragma omp simd
      for (int f = 0; f < nf; f++) {
        double dr = cw[f] * rre[f] + Y[f], di = cw[f] * rim[f];
        tm[f] = wgt[f] * (dr * dr + di * di);
      }
      acc = gds_red_array(nf, tm);
#else
#pragma omp simd reduction(+ : acc)
      for (int f = 0; f < nf; f++) {
        double dr = cw[f] * rre[f] + Y[f], di = cw[f] * rim[f];
        acc += wgt[f] * (dr * dr + di * di);
      }
#endif
      out[s] = sqrt(acc * pnorm);
    }
    return;
  }
  if (!cw_ready) {
    cw[0] = 0.0;
#pragma omp simd
    for (int f = 1; f < nf; f++) {
      const double X = A[f] - sab * g[f];
      cw[f] = wgt[f] * X * X;
    }
  }
  for (int s = 0; s < ns; s++) {
    const double *restrict u = sd[s].u;
    double acc = 0;
#if GDS_LAW_FIXED_SUMS
    acc = gds_red_dot(nf, cw, u);
#else
#pragma omp simd reduction(+ : acc)
    for (int f = 0; f < nf; f++) acc += cw[f] * u[f];
#endif
    out[s] = sqrt((acc + fd_mean_term0(fd, &sd[s], sab)) * pnorm);
  }
}

static int fd_step(gds_law *law, gds_law_eval *ev, int j, gds_law_rec *rec) {
  fd_data *fd = law->data;
  fd_eval *fe = ev->st;
  const gds_step *st = &ev->plan->step[j];
  double abw = rec->abar, cov2, g0;
  int want = rec->want;
  int unguided = st->kind == GDS_STEP_SCORE && ev->alg->guidance(0.5, 1.0, 1.0).on == 0;
  if (st->kind == GDS_STEP_SCORE && st->nstage == 1 && st->stage[0].a_y == 1.0 && !fd->mu_spread) {
    gds_guidance c = ev->alg->guidance(st->stage[0].abar, law->sigma * law->sigma, ev->cfg->alpha_dps);
    g0 = fd_step_fast(fd, st, c, fe->refvar, abw, want, &cov2);
  } else if (unguided && !fd->mu_spread) { /* several stages, no guidance: one fused loop */
    cov2 = fd_linear_fused(fd, st, fe->refvar, abw, want);
    memset(fd->cr, 0, sizeof(double) * (size_t)fd->nf);
    double h0[GDS_STAGE_MAX], c0[GDS_STAGE_MAX], q; /* gain of μ̂(0): constants h_j √ᾱ_j */
    for (int j = 0; j < st->nstage; j++) {
      h0[j] = 1.0 / (st->stage[j].abar * fd->lam[0] + 1 - st->stage[j].abar);
      c0[j] = h0[j] * sqrt(st->stage[j].abar);
    }
    gds_step_scalar(st, h0, c0, &q, &g0);
  } else {
    if (st->kind == GDS_STEP_DDRM) g0 = fd_coef_ddrm(law, ev, st);
    else GDS_CALL(fd_coef_program(law, ev, st, &g0));
    cov2 = fd_cov_update(fd, fe->refvar, abw, want);
  }
  rec->cov = want ? sqrt(cov2) : NAN;
  const double sabw = sqrt(abw);
  /* The W2 weights in the coefficient pass. A seed's sum is never fused into it: a seed's bits
   * must not depend on the seeds evaluated with it (test_law: bundle = single). */
  const int fused = want && !fe->mean_zero && !fd->mu_spread;
  if (!fe->mean_zero) fd_step_coef(fd, g0, fused ? fd->cw : NULL, sabw);
  if (want && !fe->mean_zero) fd_mean_parts(fd, fe->sd, ev->ns, sabw, fused, rec->mean);
  else
    for (int s = 0; s < ev->ns; s++) rec->mean[s] = want ? 0.0 : NAN; /* m ≡ 0 = the reference mean */
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
  if (fe->mean_zero)
    for (int s = 0; s < ev->ns; s++) rec->mean[s] = 0.0;
  else fd_mean_parts(fd, fe->sd, ev->ns, sab, 0, rec->mean);
  return GDS_SUCCESS;
}

/* x = the image of the spectrum a r̂ + e (a, e real per component) of seed sd. */
static void fd_affine_inverse(fd_data *fd, const double *a, const double *e, const fd_seed *sd, double *x) {
  double *re = fd->cw, *im = fd->tw; /* scratch between W2 evaluations */
  for (int f = 0; f < fd->nf; f++) {
    re[f] = a[f] * sd->rre[f] + e[f];
    im[f] = a[f] * sd->rim[f];
  }
  fd_inverse(fd, re, im, x);
}

static int fd_output(gds_law *law, gds_law_eval *ev, double **mean, double *var) {
  fd_data *fd = law->data;
  fd_eval *fe = ev->st;
  for (int s = 0; s < ev->ns && mean; s++)
    if (mean[s]) fd_affine_inverse(fd, fd->A, fd->E, &fe->sd[s], mean[s]);
  if (var && fd->eigen) memcpy(var, fd->k, sizeof(double) * (size_t)fd->d);
  else if (var) {
    double tr = 0;
    for (int f = 0; f < fd->nf; f++) tr += fd->wgt[f] * fd->k[f];
    for (int i = 0; i < fd->d; i++) var[i] = tr / fd->d;
  }
  return GDS_SUCCESS;
}

/* Dense covariance of a stationary law with spectrum k: K[i][j] = c(p_i − p_j), c = IDFT(k)
 * (eigen mode: diag(k)). */
static int fd_dense_cov(fd_data *fd, const double *k, double *K) {
  if (fd->eigen) {
    memset(K, 0, sizeof(double) * (size_t)fd->d * fd->d);
    for (int i = 0; i < fd->d; i++) K[(size_t)i * fd->d + i] = k[i];
    return GDS_SUCCESS;
  }
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
  const fd_seed *sd = &fe->sd[0];
  double sab = sqrt(abar);
  if (mean) fd_affine_inverse(fd, fd->A, fd->E, sd, mean);
  if (ref_mean) { /* √ᾱ q̂ = √ᾱ g r̂ + √ᾱ μ̂; nz and cmu as scratch (a step recomputes them) */
    for (int f = 0; f < fd->nf; f++) {
      fd->nz[f] = sab * fd->g[f];
      fd->cmu[f] = sab * fd->mu[f];
    }
    fd_affine_inverse(fd, fd->nz, fd->cmu, sd, ref_mean);
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
    .seed_bytes = fd_seed_bytes,
    .begin = fd_begin,
    .step = fd_step,
    .record = fd_record,
    .output = fd_output,
    .moments = fd_moments,
    .end = fd_end,
};

const gds_law_backend gds_law_backend_eigen_diag = {
    .name = "eigen-diagonal",
    .setup = fd_setup_eigen,
    .destroy = fd_destroy,
    .posterior = fd_posterior,
    .seed_bytes = fd_seed_bytes,
    .begin = fd_begin,
    .step = fd_step,
    .record = fd_record,
    .output = fd_output,
    .moments = fd_moments,
    .end = fd_end,
};
