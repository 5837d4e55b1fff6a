/* Real trajectories of the samplers of SPEC §1 and §7 (docs/sampler.md): the driver. It owns
 * the state spaces of sampler_impl.h (the real-FFT half spectrum of a stationary prior, where
 * white noise is drawn directly as white coefficients of the real orthonormal Fourier basis;
 * the coordinates of a prior given in its own eigenbasis), runs the plan of a
 * configuration (sampler_scheme.c) over the whole spectrum or, when the backend is diagonal,
 * chunk by chunk of frequencies (each frequency evolves on its own: a chunk runs every step
 * while it sits in cache), stores the checkpoints in the state space and transforms them to
 * pixels at the end. A (seed, sample) gives the same noise to every operator and backend. */
#include "gdsweep/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/rng.h"
#include "sampler_impl.h"
#include "sampler_scheme.h"
#include "simd.h"

/* Frequencies per chunk of a diagonal backend: a chunk's work vectors and the generator's tables
 * stay in L1 (128 measured ~5 % faster than 64 or 256 at 256²). */
enum { GDS_SAMPLER_CHUNK = 128 };
/* Frequency-steps between two polls of a chunked run (a few hundred microseconds of work);
 * a run on the whole spectrum polls after every step. */
enum { GDS_SAMPLER_POLL_WORK = 1 << 16 };

static const gds_sampler_backend *const gds_sampler_by_structure_[GDS_STRUCTURE_COUNT] = {
    [GDS_STRUCTURE_FOURIER_DIAGONAL] = &gds_sampler_fourier,
    [GDS_STRUCTURE_FOURIER_BLOCK] = &gds_sampler_fourier_block,
    [GDS_STRUCTURE_DENSE] = &gds_sampler_generic,
};

const char *gds_sampler_noise_description(void) {
  return "gdsweep-noise-2: stream (seed, sample); block t = training time of the step that "
         "adds the noise (y_T and every start: block 0; exact start: prior draw block "
         "0xffffffff, measurement noise 0xfffffffe); white noise drawn as coefficients of the "
         "real orthonormal Fourier basis of the H x W image (rfft2 half spectrum f = 0..nf-1, "
         "unitary scaling: Re = normal f / sqrt(2), Im = normal NA+f / sqrt(2) with NA = nf "
         "rounded up to a multiple of 16; on self-conjugate frequencies Re = normal f, Im = 0), "
         "pixel noise = its inverse real FFT; a prior given in its own eigenbasis (1-D "
         "spectrum, images 1 x n): coordinate j = normal j (j = 0..n-1), no transform; "
         "generator: "
         "Philox4x32-10 (Random123), key = seed, counter = (position, block, index, stream); "
         "normals: 1024-layer ziggurat on 64-bit words";
}

void gds_sampler_destroy(gds_sampler **sp) {
  if (!sp || !*sp) return;
  gds_sampler *s = *sp;
  if (s->backend && s->backend->destroy) s->backend->destroy(s);
  if (s->fwd) fftw_destroy_plan(s->fwd);
  if (s->bwd) fftw_destroy_plan(s->bwd);
  fftw_free(s->pix);
  fftw_free(s->spec);
  free(s->lam);
  fftw_free(s->y);
  fftw_free(s->work);
  free(s->meas);
  fftw_free(s->ck);
  free(s->plan_t);
  free(s->plan_ab);
  free(s);
  *sp = NULL;
}

/* sched: the discrete process, or NULL for the VP SDE with β_min, β_max. The state space and
 * the backend follow the prior's basis (a prior in its own eigenbasis: its coordinates and the
 * eigen backend), then the operator's structure. */
static int gds_sampler_new(const gds_prior *prior, const gds_schedule *sched, double beta_min, double beta_max,
                           gds_operator *op, double sigma, const char *backend, gds_sampler **out) {
  const int eigen = prior->basis == GDS_PRIOR_BASIS_EIGEN;
  const gds_sampler_space *sp = eigen ? &gds_sampler_space_eigen : &gds_sampler_space_fourier;
  const gds_sampler_backend *be = eigen ? &gds_sampler_eigen : gds_sampler_by_structure_[op->structure];
  if (eigen && (backend ? strcmp(backend, gds_sampler_eigen.name) : 0))
    GDS_ERROR(GDS_ERR_INPUT, "sampler backend '%s' cannot handle a prior given in its own eigenbasis (only '%s')",
              backend, gds_sampler_eigen.name);
  if (eigen && op->spec.type != GDS_OP_IDENTITY)
    GDS_ERROR(GDS_ERR_INPUT, "operator %s: a prior given in its own eigenbasis works with the identity operator only",
              op->name);
  if (backend && !eigen) {
    if (!strcmp(backend, gds_sampler_generic.name)) be = &gds_sampler_generic;
    else if (!strcmp(backend, gds_sampler_fourier.name) && op->structure == GDS_STRUCTURE_FOURIER_DIAGONAL)
      be = &gds_sampler_fourier;
    else if (!strcmp(backend, gds_sampler_fourier_block.name) && op->spec.type == GDS_OP_SUPER_RESOLUTION)
      be = &gds_sampler_fourier_block;
    else GDS_ERROR(GDS_ERR_INPUT, "sampler backend '%s' cannot handle operator %s", backend, op->name);
  }
  if (!(sigma > 0)) GDS_ERROR(GDS_ERR_INPUT, "sampler: sigma must be > 0, got %g", sigma);
  if (!sched && !(beta_min > 0 && beta_max > beta_min && isfinite(beta_max)))
    GDS_ERROR(GDS_ERR_INPUT, "sampler: vp_sde needs 0 < beta_min < beta_max, got %g and %g", beta_min, beta_max);
  gds_sampler *s;
  int ierr;
  GDS_CALL(GDS_ALLOC(s, 1));
  s->space = sp;
  s->backend = be;
  s->prior = prior;
  s->sched = sched;
  s->process = sched ? GDS_PROCESS_DDPM : GDS_PROCESS_VP_SDE;
  s->beta_min = beta_min;
  s->beta_max = beta_max;
  s->op = op;
  s->sigma = sigma;
  s->H = prior->H;
  s->W = prior->W;
  s->d = s->H * s->W;
  s->nr = sp->nr;
  s->sqd = sqrt((double)s->d);
  GDS_CALL_GOTO(ierr, fail, sp->setup(s));
  s->B = be->diagonal && GDS_SAMPLER_CHUNK < s->nf ? GDS_SAMPLER_CHUNK : s->nf;
  const size_t n2 = (size_t)s->nr * (size_t)s->nf;
  s->y = fftw_alloc_real(n2);
  s->work = fftw_alloc_real(GDS_W_COUNT * n2);
  GDS_CALL_GOTO(ierr, fail, GDS_ALLOC(s->meas, op->m));
  if (!s->y || !s->work) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory (sampler buffers)");
    goto fail;
  }
  GDS_CALL_GOTO(ierr, fail, be->setup(s));
  *out = s;
  return GDS_SUCCESS;
fail:
  gds_sampler_destroy(&s);
  return ierr;
}

int gds_sampler_create_with(const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                            double sigma, const char *backend, gds_sampler **out) {
  if (!sched) GDS_ERROR(GDS_ERR_INPUT, "sampler: no schedule (use gds_sampler_create_vp_sde for the VP SDE)");
  GDS_CALL(gds_sampler_new(prior, sched, 0, 0, op, sigma, backend, out));
  return GDS_SUCCESS;
}

int gds_sampler_create_vp_sde(const gds_prior *prior, double beta_min, double beta_max, gds_operator *op,
                              double sigma, const char *backend, gds_sampler **out) {
  GDS_CALL(gds_sampler_new(prior, NULL, beta_min, beta_max, op, sigma, backend, out));
  return GDS_SUCCESS;
}

int gds_sampler_create(const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                       double sigma, gds_sampler **out) {
  GDS_CALL(gds_sampler_create_with(prior, sched, op, sigma, NULL, out));
  return GDS_SUCCESS;
}

const char *gds_sampler_backend_name(const gds_sampler *s) { return s->backend->name; }

/* ---- state spaces (sampler_impl.h; docs/sampler.md "State space and noise") ------------- */

/* Fourier space: the real-FFT half spectrum of the H × W image, Y = DFT(y)/√d. */
static int gds_space_fourier_setup(gds_sampler *s) {
  const gds_prior *prior = s->prior;
  s->Wh = s->W / 2 + 1;
  s->nf = s->H * s->Wh;
  s->mu0 = prior->mean * s->sqd;
  s->pix = fftw_alloc_real((size_t)s->d);
  s->spec = fftw_alloc_complex((size_t)s->nf);
  if (!s->pix || !s->spec) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (sampler buffers)");
  GDS_CALL(GDS_ALLOC(s->lam, s->nf));
  /* FFTW_ESTIMATE: plans (hence rounding) must not depend on timing, for bitwise determinism. */
  s->fwd = fftw_plan_dft_r2c_2d(s->H, s->W, s->pix, s->spec, FFTW_ESTIMATE);
  s->bwd = fftw_plan_dft_c2r_2d(s->H, s->W, s->spec, s->pix, FFTW_ESTIMATE);
  if (!s->fwd || !s->bwd) GDS_ERROR(GDS_ERR_RUNTIME, "FFTW planning failed");
  for (int q = 0; q < s->H; q++)
    for (int r = 0; r < s->Wh; r++) {
      s->lam[q * s->Wh + r] = prior->spectrum[q * s->W + r];
      if (!(s->lam[q * s->Wh + r] > 0)) s->singular = 1;
      if ((2 * q) % s->H == 0 && (2 * r) % s->W == 0) s->selfconj[s->nselfconj++] = q * s->Wh + r;
    }
  return GDS_SUCCESS;
}

void gds_sampler_hermitian(const gds_sampler *s, double *Y) {
  const int H = s->H, Wh = s->Wh;
  const int cols[2] = {0, s->W / 2}, ncols = s->W % 2 == 0 ? 2 : 1; /* columns r with −r ≡ r */
  for (int c = 0; c < ncols; c++)
    for (int q = 0; q < H; q++) {
      int qm = (H - q) % H, f = q * Wh + cols[c], fm = qm * Wh + cols[c];
      size_t i = gds_state_re(s, f), n = (size_t)gds_block_len(s, f / s->B * s->B);
      size_t im = gds_state_re(s, fm), nm = (size_t)gds_block_len(s, fm / s->B * s->B);
      if (qm < q) {
        Y[i] = Y[im];
        Y[i + n] = -Y[im + nm];
      } else if (qm == q)
        Y[i + n] = 0;
    }
}

static void gds_space_fourier_to_state(gds_sampler *s, const double *x, double *Y) {
  memcpy(s->pix, x, sizeof(double) * (size_t)s->d);
  fftw_execute_dft_r2c(s->fwd, s->pix, s->spec);
  const double c = 1.0 / s->sqd;
  for (int fb = 0; fb < s->nf; fb += s->B) {
    int n = gds_block_len(s, fb);
    double *re = Y + 2 * (size_t)fb, *im = re + n;
    const fftw_complex *sp = s->spec + fb;
    for (int j = 0; j < n; j++) {
      re[j] = sp[j][0] * c;
      im[j] = sp[j][1] * c;
    }
  }
}

static void gds_space_fourier_to_pixels(gds_sampler *s, double *Y, double *x) {
  gds_sampler_hermitian(s, Y);
  if (!x) return;
  for (int fb = 0; fb < s->nf; fb += s->B) { /* c2r overwrites its input: a copy */
    int n = gds_block_len(s, fb);
    const double *re = Y + 2 * (size_t)fb, *im = re + n;
    fftw_complex *sp = s->spec + fb;
    for (int j = 0; j < n; j++) {
      sp[j][0] = re[j];
      sp[j][1] = im[j];
    }
  }
  fftw_execute_dft_c2r(s->bwd, s->spec, s->pix);
  const double c = 1.0 / s->sqd;
  for (int i = 0; i < s->d; i++) x[i] = s->pix[i] * c;
}

GDS_SIMD_CLONES static void gds_scale(int n, double a, double *restrict x) {
  for (int i = 0; i < n; i++) x[i] *= a;
}

/* Re Z(f) = N_f/√2, Im Z(f) = N_{NA+f}/√2 (NA = nf rounded up to a multiple of 16), Z(f) = N_f
 * on self-conjugate frequencies. */
static void gds_space_fourier_noise(const gds_sampler *s, gds_rng_key key, uint64_t block, int f0, int f1, double *Z) {
  const size_t NA = ((size_t)s->nf + 15) / 16 * 16;
  const double h = sqrt(0.5);
  for (int fb = f0; fb < f1; fb += s->B) {
    int n = gds_block_len(s, fb);
    double *re = Z + 2 * (size_t)(fb - f0), *im = re + n;
    gds_rng_normal_range(key, block, (size_t)fb, (size_t)n, re);
    gds_rng_normal_range(key, block, NA + (size_t)fb, (size_t)n, im);
    gds_scale(2 * n, h, re);
    for (int k = 0; k < s->nselfconj; k++) {
      int j = s->selfconj[k] - fb;
      if (j >= 0 && j < n) { /* a real coefficient of variance 1 */
        re[j] /= h;
        im[j] = 0;
      }
    }
  }
}

/* Per frequency: J, x̂0 and, if sr is not NULL, the prior score; the mean lives at ξ = 0. */
GDS_SIMD_CLONES static void gds_score_block(int n, int fb, double ab, double mu0, const double *restrict lam,
                            const double *restrict yr, const double *restrict yi, double *restrict J,
                            double *restrict xr, double *restrict xi, double *restrict sr, double *restrict si) {
  const double sab = sqrt(ab);
  for (int j = 0; j < n; j++) {
    double ist = 1.0 / (ab * lam[j] + 1.0 - ab), jj = sab * lam[j] * ist;
    J[j] = jj;
    xr[j] = jj * yr[j];
    xi[j] = jj * yi[j];
    if (sr) {
      sr[j] = -ist * yr[j];
      si[j] = -ist * yi[j];
    }
  }
  if (fb == 0) { /* the mean lives at ξ = 0: u = y − √ᾱ μ there */
    double ist = 1.0 / (ab * lam[0] + 1.0 - ab), u = yr[0] - sab * mu0;
    xr[0] = mu0 + J[0] * u;
    if (sr) sr[0] = -ist * u;
  }
}

static void gds_space_fourier_tweedie(const gds_sampler *s, int n, int fb, double ab, const double *y, double *J,
                                      double *x0, double *sc) {
  gds_score_block(n, fb, ab, s->mu0, s->lam + fb, y, y + n, J, x0, x0 + n, sc, sc ? sc + n : NULL);
}

static void gds_space_fourier_prior_draw(const gds_sampler *s, int n, int fb, const double *w, double *x) {
  double *xr = x, *xi = x + n;
  const double *wr = w, *wi = w + n;
  for (int j = 0; j < n; j++) {
    double r = sqrt(s->lam[fb + j]);
    xr[j] = r * wr[j] + (fb + j == 0 ? s->mu0 : 0.0);
    xi[j] = r * wi[j];
  }
}

const gds_sampler_space gds_sampler_space_fourier = {
    .name = "fourier",
    .nr = 2,
    .setup = gds_space_fourier_setup,
    .to_state = gds_space_fourier_to_state,
    .to_pixels = gds_space_fourier_to_pixels,
    .noise = gds_space_fourier_noise,
    .tweedie = gds_space_fourier_tweedie,
    .prior_draw = gds_space_fourier_prior_draw,
};

/* Eigen space (SPEC §7.6): the state is the image itself, y = its n coordinates in the prior's
 * eigenbasis (Σ = diag λ, μ = m·1); no transform. */
static int gds_space_eigen_setup(gds_sampler *s) {
  s->Wh = s->W;
  s->nf = s->d;
  s->mu0 = s->prior->mean;
  GDS_CALL(GDS_ALLOC(s->lam, s->nf));
  for (int j = 0; j < s->nf; j++) {
    s->lam[j] = s->prior->spectrum[j];
    if (!(s->lam[j] > 0)) s->singular = 1;
  }
  return GDS_SUCCESS;
}

static void gds_space_eigen_to_state(gds_sampler *s, const double *x, double *Y) {
  memcpy(Y, x, sizeof(double) * (size_t)s->d);
}

static void gds_space_eigen_to_pixels(gds_sampler *s, double *Y, double *x) {
  if (x) memcpy(x, Y, sizeof(double) * (size_t)s->d);
}

/* Z(j) = N_j: coordinate j is normal j of the block (white in any orthonormal basis). */
static void gds_space_eigen_noise(const gds_sampler *s, gds_rng_key key, uint64_t block, int f0, int f1, double *Z) {
  (void)s;
  gds_rng_normal_range(key, block, (size_t)f0, (size_t)(f1 - f0), Z);
}

/* Per coordinate: u = y − √ᾱ m, J = √ᾱ λ/(ᾱ λ + 1 − ᾱ), x̂0 = m + J u, score −u/(ᾱ λ + 1 − ᾱ). */
GDS_SIMD_CLONES static void gds_score_block_eigen(int n, double ab, double mu, const double *restrict lam,
                                                  const double *restrict y, double *restrict J, double *restrict x0,
                                                  double *restrict sc) {
  const double sab = sqrt(ab), smu = sab * mu;
  for (int j = 0; j < n; j++) {
    double ist = 1.0 / (ab * lam[j] + 1.0 - ab), jj = sab * lam[j] * ist, u = y[j] - smu;
    J[j] = jj;
    x0[j] = mu + jj * u;
    if (sc) sc[j] = -ist * u;
  }
}

static void gds_space_eigen_tweedie(const gds_sampler *s, int n, int fb, double ab, const double *y, double *J,
                                    double *x0, double *sc) {
  gds_score_block_eigen(n, ab, s->mu0, s->lam + fb, y, J, x0, sc);
}

static void gds_space_eigen_prior_draw(const gds_sampler *s, int n, int fb, const double *w, double *x) {
  for (int j = 0; j < n; j++) x[j] = s->mu0 + sqrt(s->lam[fb + j]) * w[j];
}

const gds_sampler_space gds_sampler_space_eigen = {
    .name = "eigen",
    .nr = 1,
    .setup = gds_space_eigen_setup,
    .to_state = gds_space_eigen_to_state,
    .to_pixels = gds_space_eigen_to_pixels,
    .noise = gds_space_eigen_noise,
    .tweedie = gds_space_eigen_tweedie,
    .prior_draw = gds_space_eigen_prior_draw,
};

int gds_sampler_noise_pixels(gds_sampler *s, int64_t seed, int64_t sample, uint64_t block, double *z) {
  double *Z = s->work; /* first work vector: free between runs */
  gds_sampler_noise(s, gds_rng_key_make(GDS_STREAM_SAMPLER, (uint64_t)seed, (uint64_t)sample), block, 0, s->nf, Z);
  gds_sampler_to_pixels(s, Z, z);
  return GDS_SUCCESS;
}

/* ---- configurations ---------------------------------------------------------------------- */

/* T: steps of the discrete process, or 0 for the VP SDE. */
static int gds_sampler_check_cfg(int T, const gds_sampler_config *cfg) {
  const gds_algorithm a = cfg->alg.kind;
  const gds_process proc = T > 0 ? GDS_PROCESS_DDPM : GDS_PROCESS_VP_SDE;
  if (a < 0 || a >= GDS_ALG_COUNT) GDS_ERROR(GDS_ERR_INPUT, "sampler: invalid algorithm index %d", (int)a);
  if (a == GDS_ALG_DPS && !(cfg->alpha_dps > 0)) GDS_ERROR(GDS_ERR_INPUT, "sampler: alpha_dps must be > 0, got %g", cfg->alpha_dps);
  if (a == GDS_ALG_DDRM) {
    if (proc == GDS_PROCESS_VP_SDE) GDS_ERROR(GDS_ERR_INPUT, "sampler: ddrm runs on the discrete process only, not vp_sde");
    if (!(cfg->alg.eta >= 0 && cfg->alg.eta <= 1) || !(cfg->alg.eta_b >= 0 && cfg->alg.eta_b <= 1))
      GDS_ERROR(GDS_ERR_INPUT, "sampler: ddrm needs eta and eta_b in [0, 1], got %g and %g", cfg->alg.eta, cfg->alg.eta_b);
  } else if (cfg->scheme.kind < 0 || cfg->scheme.kind >= GDS_SCHEME_COUNT || !gds_scheme_valid_for(cfg->scheme.kind, proc)) {
    GDS_ERROR(GDS_ERR_INPUT, "sampler: scheme %s is not a scheme of the %s process", gds_scheme_name(cfg->scheme.kind),
              gds_process_name(proc));
  } else if (cfg->scheme.kind == GDS_SCHEME_DDIM && !(cfg->scheme.eta >= 0 && cfg->scheme.eta <= 1))
    GDS_ERROR(GDS_ERR_INPUT, "sampler: ddim needs eta in [0, 1], got %g", cfg->scheme.eta);
  if (cfg->init < 0 || cfg->init >= GDS_INIT_COUNT) GDS_ERROR(GDS_ERR_INPUT, "sampler: invalid init index %d", (int)cfg->init);
  if (proc == GDS_PROCESS_DDPM) {
    if (cfg->steps > T) GDS_ERROR(GDS_ERR_INPUT, "sampler: sampler_steps %d outside 1..%d", cfg->steps, T);
    if (cfg->eps != 0) GDS_ERROR(GDS_ERR_INPUT, "sampler: eps %g needs the vp_sde process", cfg->eps);
  } else {
    if (cfg->steps < 1) GDS_ERROR(GDS_ERR_INPUT, "sampler: vp_sde needs sampler_steps >= 1, got %d", cfg->steps);
    if (!(cfg->eps >= 0 && cfg->eps < 1)) GDS_ERROR(GDS_ERR_INPUT, "sampler: eps must be in [0, 1), got %g", cfg->eps);
  }
  return GDS_SUCCESS;
}

int gds_sampler_check(const gds_operator *op, const gds_schedule *sched, const gds_sampler_config *cfg) {
  GDS_CALL(gds_sampler_check_cfg(sched ? sched->T : 0, cfg));
  if (cfg->alg.kind == GDS_ALG_DDRM && op->structure != GDS_STRUCTURE_FOURIER_DIAGONAL && !(gds_sampler_generic_aat(op) > 0))
    GDS_ERROR(GDS_ERR_INPUT, "sampler: no SVD of operator %s for ddrm", op->name);
  return GDS_SUCCESS;
}

/* ---- trajectories --------------------------------------------------------------------------- */

int gds_sampler_run(gds_sampler *s, const gds_sampler_config *cfg, const double *v, int64_t seed,
                    int64_t sample, int n_ckpt, const int *ckpt, float *traj, double *y0,
                    const gds_poll *poll) {
  const int nf = s->nf, d = s->d;
  const size_t nr = (size_t)s->nr, n2 = nr * (size_t)nf;
  GDS_CALL(gds_sampler_check_cfg(s->sched ? s->sched->T : 0, cfg));
  const int np = gds_scheme_npoints(s, cfg);
  if (np > s->plan_cap) {
    free(s->plan_t);
    free(s->plan_ab);
    s->plan_cap = 0;
    s->plan_ab = NULL;
    GDS_CALL(GDS_ALLOC(s->plan_t, 2 * (size_t)np));
    GDS_CALL(GDS_ALLOC(s->plan_ab, 2 * (size_t)np));
    s->slot = s->plan_t + np;
    s->plan_u = s->plan_ab + np;
    s->plan_cap = np;
  }
  gds_sampler_plan p = {.t = s->plan_t, .ab = s->plan_ab, .u = s->plan_u};
  GDS_CALL(gds_scheme_plan(s, cfg, &p));
  for (int k = 0; k <= p.n; k++) s->slot[k] = -1;
  for (int c = 0; c < n_ckpt; c++) {
    int k = 0;
    while (k <= p.n && p.t[k] != ckpt[c]) k++;
    if (k > p.n)
      GDS_ERROR(GDS_ERR_INPUT, "checkpoint %d is not a time this sampler visits (%d steps: %d, %d, ..., %d)", ckpt[c], p.n,
                p.t[0], p.n > 0 ? p.t[1] : 0, p.t[p.n]);
    if (s->slot[k] >= 0) GDS_ERROR(GDS_ERR_INPUT, "checkpoint %d is listed twice", ckpt[c]);
    s->slot[k] = c;
  }
  if (n_ckpt > s->ck_cap) {
    fftw_free(s->ck);
    s->ck = fftw_alloc_real((size_t)n_ckpt * n2);
    s->ck_cap = s->ck ? n_ckpt : 0;
    if (!s->ck) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (%d checkpoints of %dx%d)", n_ckpt, s->H, s->W);
  }
  GDS_CALL(s->backend->set_measurement(s, v));
  GDS_POLL(poll);

  gds_traj tr = {.s = s, .cfg = cfg, .key = gds_rng_key_make(GDS_STREAM_SAMPLER, (uint64_t)seed, (uint64_t)sample),
                 .f0 = 0, .f1 = nf, .y = s->y, .meas = s->meas};
  for (int w = 0; w < GDS_W_COUNT; w++) tr.w[w] = s->work + w * n2;
  GDS_CALL(gds_scheme_start(&tr, &p));
  if (s->slot[0] >= 0) memcpy(s->ck + s->slot[0] * n2, s->y, n2 * sizeof(double));
  const int chunk = s->B; /* one block at a time: the whole spectrum unless diagonal */
  long work = 0;
  for (int f0 = 0; f0 < nf; f0 += chunk) {
    tr.f0 = f0;
    tr.f1 = f0 + chunk < nf ? f0 + chunk : nf;
    tr.y = s->y + nr * (size_t)f0;
    tr.novalue = 0;
    for (int k = 0; k < p.n; k++) {
      if (!tr.novalue) {
        GDS_CALL(gds_scheme_step(&tr, &p, k));
        if (tr.novalue) /* this step and every later one have no finite value */
          for (size_t i = 0; i < nr * (size_t)(tr.f1 - f0); i++) tr.y[i] = INFINITY;
      }
      if (s->slot[k + 1] >= 0)
        memcpy(s->ck + s->slot[k + 1] * n2 + nr * (size_t)f0, tr.y, nr * (size_t)(tr.f1 - f0) * sizeof(double));
      work += tr.f1 - f0;
      if (work >= GDS_SAMPLER_POLL_WORK || chunk == nf) { /* whole-spectrum steps: after each */
        work = 0;
        GDS_POLL(poll);
      }
    }
  }
  double *px = tr.w[GDS_W_X0]; /* d ≤ nr·nf doubles of scratch for the pixels */
  for (int c = 0; c < n_ckpt && traj; c++) {
    gds_sampler_to_pixels(s, s->ck + (size_t)c * n2, px);
    for (int i = 0; i < d; i++) traj[(size_t)c * d + i] = isfinite(px[i]) ? (float)px[i] : INFINITY;
  }
  if (y0) {
    gds_sampler_to_pixels(s, s->y, y0);
    for (int i = 0; i < d; i++)
      if (!isfinite(y0[i])) y0[i] = INFINITY; /* no finite value (inf − inf in the transform) */
  }
  return GDS_SUCCESS;
}
