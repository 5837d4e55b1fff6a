/* Gaussian image prior (SPEC §1, "Prior"): ADSN model of a texture, or white noise. */
#include "gdsweep/prior.h"

#include "gdsweep/error.h"
#include "gdsweep/npy.h"
#include "gdsweep/rng.h"

#include <fftw3.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GDS_BUILTIN_PREFIX "builtin:"

/* Unnormalised 2-D DFT of a real H×W image (numpy fft2 convention), half spectrum
 * H×(W/2+1) as FFTW r2c returns it. `out` must hold H·(W/2+1) complex values. */
static int gds_prior_rfft2(int H, int W, const double *in, fftw_complex *out) {
  const size_t d = (size_t)H * W;
  double *x = fftw_alloc_real(d); /* FFTW may not read from a const, possibly unaligned array */
  if (!x) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (FFT %dx%d)", H, W);
  fftw_plan plan = fftw_plan_dft_r2c_2d(H, W, x, out, FFTW_ESTIMATE);
  if (!plan) {
    fftw_free(x);
    GDS_ERROR(GDS_ERR_RUNTIME, "FFTW planning failed (%dx%d)", H, W);
  }
  memcpy(x, in, sizeof(double) * d);
  fftw_execute(plan);
  fftw_destroy_plan(plan);
  fftw_free(x);
  return GDS_SUCCESS;
}

/* The texture u at H×W: built-in generated directly; a file loaded then centre-cropped. */
static int gds_prior_texture(const gds_prior_options *opt, double *u) {
  const char *tex = opt->texture;
  if (!strncmp(tex, GDS_BUILTIN_PREFIX, strlen(GDS_BUILTIN_PREFIX))) {
    GDS_CALL(gds_texture_builtin(tex + strlen(GDS_BUILTIN_PREFIX), opt->H, opt->W, u));
    return GDS_SUCCESS;
  }
  if (opt->data) { /* read by another rank */
    GDS_CALL(gds_texture_crop(opt->data, opt->data_h, opt->data_w, opt->H, opt->W, u, tex));
    return GDS_SUCCESS;
  }
  char *path = NULL;
  if (tex[0] != '/' && opt->base_dir && opt->base_dir[0]) {
    size_t n = strlen(opt->base_dir) + strlen(tex) + 2;
    GDS_CALL(GDS_ALLOC(path, n));
    snprintf(path, n, "%s/%s", opt->base_dir, tex);
  } else {
    path = gds_strdup(tex);
    if (!path) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory");
  }
  int h = 0, w = 0, ierr = GDS_SUCCESS;
  double *img = NULL;
  GDS_CALL_GOTO(ierr, cleanup, gds_texture_load(path, &h, &w, &img));
  GDS_CALL_GOTO(ierr, cleanup, gds_texture_crop(img, h, w, opt->H, opt->W, u, path));
cleanup:
  free(img);
  free(path);
  return ierr;
}

/* Path of a file given relative to base_dir (malloc'ed). */
static char *gds_prior_path(const char *base_dir, const char *rel) {
  if (rel[0] != '/' && base_dir && base_dir[0]) {
    size_t n = strlen(base_dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", base_dir, rel);
    return p;
  }
  return gds_strdup(rel);
}

int gds_prior_spectrum_load(const char *path, int *H, int *W, gds_prior_basis *basis, double **lambda,
                            char *why, size_t len) {
  gds_npy a;
  *lambda = NULL;
  int ierr = gds_npy_read(path, &a, why, len);
  if (ierr) return ierr;
  if (a.ndim > 2 || (a.ndim == 2 && (a.shape[0] < 1 || a.shape[1] < 1))) {
    char shape[128] = "";
    for (int i = 0; i < a.ndim; i++)
      snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", i ? ", " : "", (long long)a.shape[i]);
    snprintf(why, len, "%s has shape (%s): expected a 1-D array of n eigenvalues or a 2-D [H, W] spectrum", path, shape);
    gds_npy_free(&a);
    return GDS_ERR_INPUT;
  }
  for (int64_t i = 0; i < a.n; i++) {
    const double x = a.data[i];
    const char *bad = isnan(x) ? "NaN" : !isfinite(x) ? "infinite" : x < 0 ? "negative" : x > 1e150 ? "too large" : NULL;
    if (bad) {
      snprintf(why, len, "%s: eigenvalue %lld is %s (%g); eigenvalues must be finite, >= 0%s", path, (long long)i,
               bad, x, x > 1e150 && isfinite(x) ? " and at most 1e150 (larger ones overflow)" : "");
      gds_npy_free(&a);
      return GDS_ERR_INPUT;
    }
    if (x == 0) a.data[i] = 0; /* −0 */
  }
  if (a.ndim == 2) {
    /* A real stationary field has λ(ξ) = λ(−ξ); rounding of a computed |fft2|² is forgiven. */
    const int64_t h = a.shape[0], w = a.shape[1];
    double mx = 0;
    for (int64_t i = 0; i < a.n; i++) mx = a.data[i] > mx ? a.data[i] : mx;
    for (int64_t q = 0; q < h; q++)
      for (int64_t r = 0; r < w; r++) {
        double *x = &a.data[q * w + r], *y = &a.data[((h - q) % h) * w + (w - r) % w];
        if (fabs(*x - *y) > 1e-9 * mx) {
          snprintf(why, len, "%s: not the spectrum of a real stationary field: λ[%lld, %lld] = %g but λ[%lld, %lld] = "
                   "%g (fft2 order: λ(ξ) must equal λ(−ξ))", path, (long long)q, (long long)r, *x,
                   (long long)((h - q) % h), (long long)((w - r) % w), *y);
          gds_npy_free(&a);
          return GDS_ERR_INPUT;
        }
        const double m = 0.5 * (*x + *y);
        *x = *y = m;
      }
    *H = (int)h;
    *W = (int)w;
    *basis = GDS_PRIOR_BASIS_FOURIER;
  } else {
    *H = 1;
    *W = (int)a.n;
    *basis = GDS_PRIOR_BASIS_EIGEN;
  }
  *lambda = a.data; /* ownership passes to the caller */
  return GDS_SUCCESS;
}

/* A prior given by its eigenvalues (SPEC §7.6). Fourier basis: the texton t with DFT(t) = sqrt(λ)
 * (real since λ is symmetric), t = IDFT(sqrt λ); eigenbasis: texton = sqrt(λ) per coordinate. */
static int gds_prior_from_spectrum(const gds_prior_options *opt, gds_prior *p) {
  char why[1024];
  int h = 0, w = 0, ierr = GDS_SUCCESS;
  gds_prior_basis basis;
  double *lam = NULL;
  snprintf(p->name, sizeof p->name, "spectrum:%s", opt->spectrum);
  if (opt->data) { /* read (and checked) by another rank */
    h = opt->data_h;
    w = opt->data_w;
    basis = opt->data_basis;
    if (h > 0 && w > 0 && h == p->H && w == p->W) {
      GDS_CALL(GDS_ALLOC(lam, (size_t)h * w));
      memcpy(lam, opt->data, sizeof(double) * (size_t)h * w);
    }
  } else {
    char *path = gds_prior_path(opt->base_dir, opt->spectrum);
    if (!path) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory");
    ierr = gds_prior_spectrum_load(path, &h, &w, &basis, &lam, why, sizeof why);
    free(path);
    if (ierr) GDS_ERROR(GDS_ERR_INPUT, "prior: %s", why);
  }
  if (h != p->H || w != p->W) {
    free(lam);
    GDS_ERROR(GDS_ERR_INPUT, "prior: the spectrum is %d x %d but the prior size is %d x %d", h, w, p->H, p->W);
  }
  if (!isfinite(opt->spectrum_mean) || fabs(opt->spectrum_mean) > 1e150) {
    free(lam);
    GDS_ERROR(GDS_ERR_INPUT, "prior: mean = %g must be finite with |mean| <= 1e150", opt->spectrum_mean);
  }
  const size_t d = (size_t)h * w, Wh = (size_t)w / 2 + 1;
  p->basis = basis;
  p->mean = opt->spectrum_mean;
  memcpy(p->spectrum, lam, sizeof(double) * d);
  free(lam);
  for (size_t k = 0; k < d; k++) p->texture[k] = p->mean;
  if (basis == GDS_PRIOR_BASIS_EIGEN) {
    for (size_t k = 0; k < d; k++) p->texton[k] = sqrt(p->spectrum[k]);
    return GDS_SUCCESS;
  }
  fftw_complex *half = fftw_alloc_complex((size_t)h * Wh);
  double *t = fftw_alloc_real(d);
  fftw_plan plan = NULL;
  if (!half || !t) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory (spectrum prior)");
    goto done;
  }
  plan = fftw_plan_dft_c2r_2d(h, w, half, t, FFTW_ESTIMATE);
  if (!plan) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "FFTW planning failed (%dx%d)", h, w);
    goto done;
  }
  for (size_t q = 0; q < (size_t)h; q++)
    for (size_t r = 0; r < Wh; r++) {
      half[q * Wh + r][0] = sqrt(p->spectrum[q * (size_t)w + r]);
      half[q * Wh + r][1] = 0;
    }
  fftw_execute(plan); /* unnormalised inverse: d·t */
  for (size_t k = 0; k < d; k++) p->texton[k] = t[k] / (double)d;
done:
  if (plan) fftw_destroy_plan(plan);
  fftw_free(half);
  fftw_free(t);
  return ierr;
}

/* SPEC §1: m = mean(u), t = (u − m)/sqrt(d), λ(ξ) = |DFT(t)(ξ)|², λ(0) = 0; white prior:
 * μ = mean·1, t = std·δ_0, λ ≡ std². */
int gds_prior_create(const gds_prior_options *opt, gds_prior **out) {
  if (!opt || !out) GDS_ERROR(GDS_ERR_RUNTIME, "gds_prior_create: NULL argument");
  *out = NULL;
  if (opt->H <= 0 || opt->W <= 0 || (size_t)opt->H * (size_t)opt->W > ((size_t)1 << 28))
    GDS_ERROR(GDS_ERR_INPUT, "prior: invalid image size %dx%d", opt->H, opt->W);
  if (opt->white) {
    if (!(opt->white_std > 0) || !isfinite(opt->white_std) || !isfinite(opt->white_mean))
      GDS_ERROR(GDS_ERR_INPUT, "prior white: std must be finite and > 0 and mean finite (got std=%g, mean=%g)",
                opt->white_std, opt->white_mean);
    /* Σ = std²·I must be a normal double; |mean|² must not overflow (W2 of the means). */
    const double v = opt->white_std * opt->white_std;
    if (v < DBL_MIN || !isfinite(v))
      GDS_ERROR(GDS_ERR_INPUT, "prior white: std = %g %s: std² = %g is not a normal double; std must lie in "
                "[1.5e-154, 1.3e154]", opt->white_std, v < DBL_MIN ? "underflows" : "overflows", v);
    if (fabs(opt->white_mean) > 1e150)
      GDS_ERROR(GDS_ERR_INPUT, "prior white: mean = %g overflows (its square exceeds the largest double); "
                "|mean| must be at most 1e150", opt->white_mean);
  } else if ((!opt->texture || !opt->texture[0]) && (!opt->spectrum || !opt->spectrum[0])) {
    GDS_ERROR(GDS_ERR_INPUT, "prior: no texture given (\"builtin:<name>\" or a PNG/PGM path)");
  }
  const int H = opt->H, W = opt->W;
  const size_t d = (size_t)H * W, Wh = (size_t)W / 2 + 1;
  gds_prior *p = NULL;
  fftw_complex *th = NULL;
  int ierr = GDS_SUCCESS;
  GDS_CALL(GDS_ALLOC(p, 1));
  p->H = H;
  p->W = W;
  p->white = opt->white != 0;
  GDS_CALL_GOTO(ierr, fail, GDS_ALLOC(p->texture, d));
  GDS_CALL_GOTO(ierr, fail, GDS_ALLOC(p->texton, d));
  GDS_CALL_GOTO(ierr, fail, GDS_ALLOC(p->spectrum, d));

  if (p->white) {
    p->mean = opt->white_mean;
    for (size_t k = 0; k < d; k++) {
      p->texture[k] = opt->white_mean;
      p->spectrum[k] = opt->white_std * opt->white_std;
    }
    p->texton[0] = opt->white_std; /* t ⊛ w = std·w */
    snprintf(p->name, sizeof p->name, "white(std=%g,mean=%g)", opt->white_std, opt->white_mean);
    *out = p;
    return GDS_SUCCESS;
  }

  if (opt->spectrum && opt->spectrum[0]) {
    GDS_CALL_GOTO(ierr, fail, gds_prior_from_spectrum(opt, p));
    *out = p;
    return GDS_SUCCESS;
  }
  snprintf(p->name, sizeof p->name, "%s", opt->texture);
  GDS_CALL_GOTO(ierr, fail, gds_prior_texture(opt, p->texture));
  if (opt->periodic) GDS_CALL_GOTO(ierr, fail, gds_texture_periodic_component(H, W, p->texture));
  double sum = 0.0;
  for (size_t k = 0; k < d; k++) sum += p->texture[k];
  p->mean = sum / (double)d;
  const double inv_sqrt_d = 1.0 / sqrt((double)d);
  for (size_t k = 0; k < d; k++) p->texton[k] = (p->texture[k] - p->mean) * inv_sqrt_d;

  th = fftw_alloc_complex((size_t)H * Wh);
  if (!th) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory (prior spectrum)");
    goto fail;
  }
  GDS_CALL_GOTO(ierr, fail, gds_prior_rfft2(H, W, p->texton, th));
  /* Full fft2 layout from the half spectrum: DFT(t)(q, r) = conj(DFT(t)(−q, −r)) for real t. */
  for (int q = 0; q < H; q++) {
    for (int r = 0; r < W; r++) {
      const fftw_complex *z = (size_t)r < Wh ? &th[(size_t)q * Wh + r] : &th[(size_t)((H - q) % H) * Wh + (W - r)];
      p->spectrum[(size_t)q * W + r] = (*z)[0] * (*z)[0] + (*z)[1] * (*z)[1];
    }
  }
  p->spectrum[0] = 0.0; /* Σ t = 0 exactly; rounding would leave ~1e-32 */
  fftw_free(th);
  *out = p;
  return GDS_SUCCESS;
fail:
  fftw_free(th);
  gds_prior_destroy(&p);
  return ierr;
}

void gds_prior_destroy(gds_prior **p) {
  if (!p || !*p) return;
  free((*p)->texture);
  free((*p)->texton);
  free((*p)->spectrum);
  free(*p);
  *p = NULL;
}

/* SPEC §1 sampling and §3 keying: x0 = μ + t ⊛ w, w ~ N(0, I) from stream X0 keyed by seed;
 * the periodic convolution is DFT⁻¹(DFT(t)·DFT(w)). */
int gds_prior_sample(const gds_prior *p, int64_t seed, double *x0) {
  GDS_CALL(gds_prior_sample_seeds(p, 1, &seed, x0));
  return GDS_SUCCESS;
}

/* The same for n seeds, with the FFTs planned once (on buffers of their own, so the plans, hence
 * the values, do not depend on where x0 lies in memory or on n). */
int gds_prior_sample_seeds(const gds_prior *p, int n, const int64_t *seeds, double *x0) {
  if (!p || !x0 || (n > 0 && !seeds)) GDS_ERROR(GDS_ERR_RUNTIME, "gds_prior_sample: NULL argument");
  const int H = p->H, W = p->W;
  const size_t d = (size_t)H * W, Wh = (size_t)W / 2 + 1;
  for (int e = 0; e < n; e++)
    gds_rng_normal(gds_rng_key_make(GDS_STREAM_X0, (uint64_t)seeds[e], 0), 0, d, x0 + (size_t)e * d);
  if (p->basis == GDS_PRIOR_BASIS_EIGEN || p->white) {
    /* eigenbasis: Σ = diag(λ), x0 = μ + sqrt(λ) ⊙ w; white: t = std·δ_0, so t ⊛ w = std·w
     * exactly (no FFT rounding) */
    for (int e = 0; e < n; e++) {
      double *x = x0 + (size_t)e * d;
      for (size_t k = 0; k < d; k++) x[k] = p->mean + (p->white ? p->texton[0] : p->texton[k]) * x[k];
    }
    return GDS_SUCCESS;
  }
  fftw_complex *th = fftw_alloc_complex((size_t)H * Wh), *wh = fftw_alloc_complex((size_t)H * Wh);
  double *y = fftw_alloc_real(d), *w = fftw_alloc_real(d);
  fftw_plan fwd = NULL, bwd = NULL;
  int ierr = GDS_SUCCESS;
  if (!th || !wh || !y || !w) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory (prior sample)");
    goto cleanup;
  }
  GDS_CALL_GOTO(ierr, cleanup, gds_prior_rfft2(H, W, p->texton, th));
  fwd = fftw_plan_dft_r2c_2d(H, W, w, wh, FFTW_ESTIMATE);
  bwd = fftw_plan_dft_c2r_2d(H, W, wh, y, FFTW_ESTIMATE);
  if (!fwd || !bwd) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "FFTW planning failed (%dx%d)", H, W);
    goto cleanup;
  }
  for (int e = 0; e < n; e++) {
    double *x = x0 + (size_t)e * d;
    memcpy(w, x, sizeof(double) * d);
    fftw_execute(fwd);
    for (size_t k = 0; k < (size_t)H * Wh; k++) {
      const double a = th[k][0], b = th[k][1], c = wh[k][0], f = wh[k][1];
      wh[k][0] = a * c - b * f;
      wh[k][1] = a * f + b * c;
    }
    fftw_execute(bwd); /* unnormalised inverse: y = d·(t ⊛ w) */
    for (size_t k = 0; k < d; k++) x[k] = p->mean + y[k] / (double)d;
  }
cleanup:
  if (fwd) fftw_destroy_plan(fwd);
  if (bwd) fftw_destroy_plan(bwd);
  fftw_free(th);
  fftw_free(wh);
  fftw_free(y);
  fftw_free(w);
  return ierr;
}
