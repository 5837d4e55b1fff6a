/* Measurement operators (SPEC §1, "Operators"). Convolutions are periodic and applied with
 * FFTW; inpainting is a restriction to observed pixels; super-resolution a block average. */
#include "gdsweep/operator.h"

#include <fftw3.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/prior.h"
#include "gdsweep/rng.h"

typedef struct gds_operator_impl {
  int nfreq;             /* H·(W/2+1) */
  double *work;          /* d */
  fftw_complex *khat;    /* DFT of the kernel (half spectrum) */
  fftw_complex *xhat;    /* work, nfreq */
  fftw_plan fwd, bwd;
} gds_operator_impl;

/* Longest motion blur: 10^8 kernel points take about a second to splat. */
#define GDS_OP_MOTION_MAX_LENGTH 1e7

static const char *const gds_operator_names_[] = {"identity", "gaussian_blur", "motion_blur",
                                                  "inpainting", "super_resolution"};

const char *gds_operator_type_name(gds_operator_type t) {
  return (t >= 0 && t <= GDS_OP_SUPER_RESOLUTION) ? gds_operator_names_[t] : "?";
}

int gds_operator_type_from_name(const char *name, gds_operator_type *t) {
  for (int i = 0; i <= GDS_OP_SUPER_RESOLUTION; i++)
    if (name && !strcmp(name, gds_operator_names_[i])) {
      *t = (gds_operator_type)i;
      return GDS_SUCCESS;
    }
  GDS_ERROR(GDS_ERR_INPUT, "unknown operator '%s' (valid: identity, gaussian_blur, motion_blur, inpainting, super_resolution)",
            name ? name : "");
}

void gds_format_double(double x, char *buf, int len) {
  if (x == floor(x) && fabs(x) < 1e15) { /* integers without an exponent: "30", not "3e+01" */
    snprintf(buf, (size_t)len, "%.0f", x);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, (size_t)len, "%.*g", prec, x);
    if (strtod(buf, NULL) == x) return;
  }
}

void gds_operator_spec_name(const gds_operator_spec *s, char *buf, int len) {
  char a[32], b[32], p[4200] = "";
  switch (s->type) {
  case GDS_OP_GAUSSIAN_BLUR:
    gds_format_double(s->std, a, sizeof a);
    snprintf(p, sizeof p, "std=%s", a);
    break;
  case GDS_OP_MOTION_BLUR:
    gds_format_double(s->length, a, sizeof a);
    gds_format_double(s->angle, b, sizeof b);
    snprintf(p, sizeof p, "length=%s,angle=%s", a, b);
    break;
  case GDS_OP_INPAINTING:
    if (s->mask == GDS_MASK_RANDOM) {
      gds_format_double(s->keep, a, sizeof a);
      snprintf(p, sizeof p, "mask=random,keep=%s,mask_seed=%llu", a, (unsigned long long)s->mask_seed);
    } else if (s->mask == GDS_MASK_BOX) {
      snprintf(p, sizeof p, "mask=box,box=[%d,%d,%d,%d]", s->box[0], s->box[1], s->box[2], s->box[3]);
    } else {
      const char *base = strrchr(s->mask_path, '/');
      snprintf(p, sizeof p, "mask=file,path=%s", base ? base + 1 : s->mask_path);
    }
    break;
  case GDS_OP_SUPER_RESOLUTION: snprintf(p, sizeof p, "factor=%d", s->factor); break;
  default: break;
  }
  if (s->dense) snprintf(p + strlen(p), sizeof p - strlen(p), "%sbackend=dense", p[0] ? "," : "");
  if (p[0]) snprintf(buf, (size_t)len, "%s(%s)", gds_operator_type_name(s->type), p);
  else snprintf(buf, (size_t)len, "%s", gds_operator_type_name(s->type));
}

/* Signed periodic offset of index i on a period n, wrapped to [−n/2, n/2). */
static double gds_wrap_offset(int i, int n) { return 2 * i < n ? i : i - n; }

/* k(p) ∝ exp(−(p_r² + p_c²)/(2 std²)), p the signed periodic offset; sum 1. */
static void gds_kernel_gaussian(int H, int W, double std, double *k) {
  double sum = 0;
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++) {
      double pr = gds_wrap_offset(i, H), pc = gds_wrap_offset(j, W);
      k[i * W + j] = exp(-(pr * pr + pc * pc) / (2 * std * std));
      sum += k[i * W + j];
    }
  for (int i = 0; i < H * W; i++) k[i] /= sum;
}

/* 10·ceil(length)+1 points equally spaced on the centred segment of the given length,
 * direction `angle` degrees counter-clockwise from the column axis (rows grow downwards, so
 * the row offset is −s·sin θ), each splatted bilinearly onto the periodic grid; sum 1. */
static void gds_kernel_motion(int H, int W, double length, double angle, double *k) {
  int n = 10 * (int)ceil(length) + 1; /* fits: gds_operator_spec_check bounds length */
  /* angle reduced modulo 360 first (exact), so that no finite angle overflows angle·π */
  double th = fmod(angle, 360.0) * M_PI / 180.0, sum = 0;
  memset(k, 0, sizeof(double) * (size_t)H * W);
  for (int j = 0; j < n; j++) {
    double s = -0.5 * length + length * j / (double)(n - 1);
    double pr = -s * sin(th), pc = s * cos(th);
    double r0 = floor(pr), c0 = floor(pc), fr = pr - r0, fc = pc - c0;
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < 2; b++) {
        double w = (a ? fr : 1 - fr) * (b ? fc : 1 - fc);
        int r = (((int)r0 + a) % H + H) % H, c = (((int)c0 + b) % W + W) % W;
        k[r * W + c] += w;
      }
  }
  for (int i = 0; i < H * W; i++) sum += k[i];
  for (int i = 0; i < H * W; i++) k[i] /= sum;
}

/* The inpainting mask (1 = observed) of an H×W image into mask[d]; *observed = its count.
 * Errors (an unreadable or wrongly sized file) are described in `why`, not printed. */
static int gds_operator_mask_fill(const gds_operator_spec *s, int H, int W, unsigned char *mask,
                                  int *observed, char *why, int len) {
  const int d = H * W;
  if (s->mask == GDS_MASK_RANDOM) {
    double *u;
    GDS_CALL(GDS_ALLOC(u, d));
    gds_rng_uniform(gds_rng_key_make(GDS_STREAM_MASK, s->mask_seed, 0), 0, (size_t)d, u);
    for (int i = 0; i < d; i++) mask[i] = u[i] < s->keep;
    free(u);
  } else if (s->mask == GDS_MASK_BOX) {
    for (int i = 0; i < d; i++) mask[i] = 1;
    for (int64_t r = s->box[0]; r < (int64_t)s->box[0] + s->box[2] && r < H; r++)
      for (int64_t c = s->box[1]; c < (int64_t)s->box[1] + s->box[3] && c < W; c++) mask[r * W + c] = 0;
  } else if (s->mask_data) {
    for (int i = 0; i < d; i++) mask[i] = s->mask_data[i] != 0;
  } else {
    int h, w;
    double *img = NULL;
    int quiet = gds_error_set_quiet(1);
    int ierr = gds_texture_load(s->mask_path, &h, &w, &img);
    gds_error_set_quiet(quiet);
    if (ierr) {
      snprintf(why, (size_t)len, "mask file %s is not a readable 8/16-bit PNG or PGM image", s->mask_path);
      return GDS_ERR_INPUT;
    }
    if (h != H || w != W) {
      free(img);
      snprintf(why, (size_t)len, "mask file %s is %d x %d (rows x columns) but the image is %d x %d",
               s->mask_path, h, w, H, W);
      return GDS_ERR_INPUT;
    }
    for (int i = 0; i < d; i++) mask[i] = img[i] != 0.0;
    free(img);
  }
  int m = 0;
  for (int i = 0; i < d; i++) m += mask[i];
  *observed = m;
  return GDS_SUCCESS;
}

int gds_operator_spec_check(const gds_operator_spec *s, int H, int W, char *why, int len) {
  if (!s || H < 1 || W < 1 || (int64_t)H * W > INT_MAX) {
    snprintf(why, (size_t)len, "invalid image size %d x %d (H·W must fit an int)", H, W);
    return GDS_ERR_INPUT;
  }
  why[0] = '\0';
  switch (s->type) {
  case GDS_OP_IDENTITY: return GDS_SUCCESS;
  case GDS_OP_GAUSSIAN_BLUR: {
    /* k(p) = exp(−|p|²/(2 std²)): 2·std² must be a finite normal double */
    const double s2 = 2 * s->std * s->std;
    if (!(s->std > 0) || !isfinite(s->std))
      snprintf(why, (size_t)len, "std must be a finite number > 0, got %g", s->std);
    else if (s2 < DBL_MIN)
      snprintf(why, (size_t)len, "std = %g underflows: 2·std² = %g is below the smallest normal double "
               "(%g); std must be at least 1.1e-154 (any std below about 0.1 pixel already gives the "
               "identity kernel to machine precision: use identity)", s->std, s2, DBL_MIN);
    else if (!isfinite(s2))
      snprintf(why, (size_t)len, "std = %g overflows: 2·std² exceeds the largest double; std must be at "
               "most 1.3e154 (a std much larger than the %d x %d image gives a uniform kernel)", s->std, H, W);
    break;
  }
  case GDS_OP_MOTION_BLUR:
    if (!(s->length > 0) || !isfinite(s->length))
      snprintf(why, (size_t)len, "length must be a finite number > 0, got %g", s->length);
    else if (10.0 * ceil(s->length) + 1 > INT_MAX)
      snprintf(why, (size_t)len, "length = %g overflows: its kernel has 10·ceil(length)+1 = %.4g points, "
               "more than the int range allows (%d); length must be at most %d",
               s->length, 10.0 * ceil(s->length) + 1, INT_MAX, (INT_MAX - 1) / 10);
    else if (s->length > GDS_OP_MOTION_MAX_LENGTH)
      snprintf(why, (size_t)len, "length = %g is too long: at most %g pixels (its kernel would have %.4g "
               "points to splat, and a segment that long wraps around any image many times)", s->length,
               GDS_OP_MOTION_MAX_LENGTH, 10.0 * ceil(s->length) + 1);
    else if (!isfinite(s->angle))
      snprintf(why, (size_t)len, "angle must be a finite number, got %g", s->angle);
    break;
  case GDS_OP_INPAINTING:
    if (s->mask == GDS_MASK_RANDOM && !(s->keep > 0 && s->keep <= 1))
      snprintf(why, (size_t)len, "keep must be in (0, 1], got %g", s->keep);
    else if (s->mask == GDS_MASK_BOX &&
             (s->box[0] < 0 || s->box[1] < 0 || s->box[2] < 1 || s->box[3] < 1 ||
              (int64_t)s->box[0] + s->box[2] > H || (int64_t)s->box[1] + s->box[3] > W))
      snprintf(why, (size_t)len, "box [%d, %d, %d, %d] is not inside the %d x %d image", s->box[0], s->box[1],
               s->box[2], s->box[3], H, W);
    else if (s->mask != GDS_MASK_RANDOM && s->mask != GDS_MASK_BOX && s->mask != GDS_MASK_FILE)
      snprintf(why, (size_t)len, "unknown mask kind %d", (int)s->mask);
    else {
      int m = 0;
      if (s->mask == GDS_MASK_BOX) {
        m = H * W - s->box[2] * s->box[3]; /* the box is inside the image */
      } else if (s->mask == GDS_MASK_RANDOM) {
        /* Is some pixel kept? Prefixes of the mask's uniforms, doubling: almost always the
         * first one answers, without building a d-pixel mask. */
        const size_t d = (size_t)H * W;
        double *u = NULL;
        for (size_t n = d < 4096 ? d : 4096; !m; n = 2 * n < d ? 2 * n : d) {
          double *bigger = realloc(u, n * sizeof *u);
          if (!bigger) {
            free(u);
            GDS_ERROR(GDS_ERR_RUNTIME, "out of memory checking a random mask of %zu pixels", d);
          }
          u = bigger;
          gds_rng_uniform(gds_rng_key_make(GDS_STREAM_MASK, s->mask_seed, 0), 0, n, u);
          for (size_t i = 0; i < n && !m; i++) m = u[i] < s->keep;
          if (n == d) break;
        }
        free(u);
      } else {
        unsigned char *mask;
        GDS_CALL(GDS_ALLOC(mask, (size_t)H * W));
        int ierr = gds_operator_mask_fill(s, H, W, mask, &m, why, len);
        free(mask);
        if (ierr == GDS_ERR_INPUT) return ierr;
        GDS_CALL(ierr);
      }
      if (m == 0) {
        if (s->mask == GDS_MASK_RANDOM)
          snprintf(why, (size_t)len, "the mask is empty: keep = %g with mask_seed %llu observes none of the "
                   "%d pixels; give a larger keep or another mask_seed", s->keep,
                   (unsigned long long)s->mask_seed, H * W);
        else if (s->mask == GDS_MASK_FILE)
          snprintf(why, (size_t)len, "the mask is empty: every pixel of %s is 0 (non-zero = observed)",
                   s->mask_path);
        else snprintf(why, (size_t)len, "the mask is empty: the box hides every pixel");
      }
    }
    break;
  case GDS_OP_SUPER_RESOLUTION:
    if (s->factor < 1 || H % s->factor || W % s->factor)
      snprintf(why, (size_t)len, "factor %d must divide the image size %d x %d", s->factor, H, W);
    break;
  default: snprintf(why, (size_t)len, "unknown operator type %d", (int)s->type);
  }
  return why[0] ? GDS_ERR_INPUT : GDS_SUCCESS;
}

static int gds_operator_make_mask(gds_operator *op) {
  char why[512];
  int m = 0;
  GDS_CALL(GDS_ALLOC(op->mask, op->d));
  int ierr = gds_operator_mask_fill(&op->spec, op->H, op->W, op->mask, &m, why, sizeof why);
  if (ierr == GDS_ERR_INPUT) GDS_ERROR(GDS_ERR_INPUT, "operator %s: %s", op->name, why);
  GDS_CALL(ierr);
  if (m == 0) GDS_ERROR(GDS_ERR_INPUT, "operator %s observes no pixel: the mask is empty", op->name);
  op->m = m;
  op->mh = 1;
  op->mw = m;
  return GDS_SUCCESS;
}

static int gds_operator_setup_convolution(gds_operator *op) {
  gds_operator_impl *im;
  int H = op->H, W = op->W;
  GDS_CALL(GDS_ALLOC(im, 1));
  op->impl = im;
  im->nfreq = H * (W / 2 + 1);
  im->work = fftw_alloc_real((size_t)op->d);
  im->khat = fftw_alloc_complex((size_t)im->nfreq);
  im->xhat = fftw_alloc_complex((size_t)im->nfreq);
  if (!im->work || !im->khat || !im->xhat) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (FFT buffers)");
  im->fwd = fftw_plan_dft_r2c_2d(H, W, im->work, im->xhat, FFTW_ESTIMATE);
  im->bwd = fftw_plan_dft_c2r_2d(H, W, im->xhat, im->work, FFTW_ESTIMATE);
  if (!im->fwd || !im->bwd) GDS_ERROR(GDS_ERR_RUNTIME, "FFTW planning failed for %dx%d", H, W);
  memcpy(im->work, op->kernel, sizeof(double) * (size_t)op->d);
  fftw_execute_dft_r2c(im->fwd, im->work, im->khat);
  return GDS_SUCCESS;
}

static gds_structure gds_operator_structure_of(const gds_operator_spec *spec) {
  switch (spec->type) {
  case GDS_OP_INPAINTING: return GDS_STRUCTURE_DENSE;
  case GDS_OP_SUPER_RESOLUTION: return GDS_STRUCTURE_FOURIER_BLOCK;
  default: return GDS_STRUCTURE_FOURIER_DIAGONAL;
  }
}

void gds_operator_describe(const gds_operator_spec *spec, int H, int W, gds_operator *out) {
  memset(out, 0, sizeof *out);
  out->spec = *spec;
  out->structure = gds_operator_structure_of(spec);
  out->H = H;
  out->W = W;
  out->d = out->m = H * W;
  out->mh = H;
  out->mw = W;
  if (spec->type == GDS_OP_SUPER_RESOLUTION && spec->factor > 0) {
    out->mh = H / spec->factor;
    out->mw = W / spec->factor;
    out->m = out->mh * out->mw;
  } else if (spec->type == GDS_OP_INPAINTING) {
    out->m = -1; /* not counted */
  }
  gds_operator_spec_name(spec, out->name, sizeof out->name);
}

int gds_operator_create(const gds_operator_spec *spec, int H, int W, gds_operator **out) {
  gds_operator *op;
  int ierr;
  char why[768], name[256];
  if (!spec || !out) GDS_ERROR(GDS_ERR_RUNTIME, "gds_operator_create: NULL argument");
  *out = NULL;
  ierr = gds_operator_spec_check(spec, H, W, why, sizeof why);
  if (ierr == GDS_ERR_INPUT) {
    gds_operator_spec_name(spec, name, sizeof name);
    GDS_ERROR(GDS_ERR_INPUT, "operator %s: %s", name, why);
  }
  GDS_CALL(ierr);
  GDS_CALL(GDS_ALLOC(op, 1));
  op->spec = *spec;
  op->H = H;
  op->W = W;
  op->d = op->m = H * W;
  op->mh = H;
  op->mw = W;
  gds_operator_spec_name(spec, op->name, sizeof op->name);
  switch (spec->type) {
  case GDS_OP_IDENTITY:
  case GDS_OP_GAUSSIAN_BLUR:
  case GDS_OP_MOTION_BLUR:
    op->structure = GDS_STRUCTURE_FOURIER_DIAGONAL;
    GDS_CALL_GOTO(ierr, fail, GDS_ALLOC(op->kernel, op->d));
    if (spec->type == GDS_OP_IDENTITY) op->kernel[0] = 1.0;
    else if (spec->type == GDS_OP_GAUSSIAN_BLUR) gds_kernel_gaussian(H, W, spec->std, op->kernel);
    else gds_kernel_motion(H, W, spec->length, spec->angle, op->kernel);
    GDS_CALL_GOTO(ierr, fail, gds_operator_setup_convolution(op));
    break;
  case GDS_OP_INPAINTING:
    op->structure = gds_operator_structure_of(spec);
    GDS_CALL_GOTO(ierr, fail, gds_operator_make_mask(op));
    op->spec.mask_data = NULL; /* the caller's: copied into op->mask */
    break;
  case GDS_OP_SUPER_RESOLUTION:
    if (spec->factor < 1 || H % spec->factor || W % spec->factor) {
      ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                             "super_resolution factor %d must divide the image size %dx%d", spec->factor, H, W);
      goto fail;
    }
    op->structure = GDS_STRUCTURE_FOURIER_BLOCK;
    op->mh = H / spec->factor;
    op->mw = W / spec->factor;
    op->m = op->mh * op->mw;
    break;
  }
  *out = op;
  return GDS_SUCCESS;
fail:
  gds_operator_destroy(&op);
  return ierr;
}

void gds_operator_destroy(gds_operator **opp) {
  if (!opp || !*opp) return;
  gds_operator *op = *opp;
  gds_operator_impl *im = op->impl;
  if (im) {
    if (im->fwd) fftw_destroy_plan(im->fwd);
    if (im->bwd) fftw_destroy_plan(im->bwd);
    fftw_free(im->work);
    fftw_free(im->khat);
    fftw_free(im->xhat);
    free(im);
  }
  free(op->kernel);
  free(op->mask);
  free(op);
  *opp = NULL;
}

/* y = k ⊛ x (adjoint: conj(k̂)), as a Fourier multiplier. */
static void gds_operator_convolve(gds_operator *op, const double *x, double *y, int adjoint) {
  gds_operator_impl *im = op->impl;
  memcpy(im->work, x, sizeof(double) * (size_t)op->d);
  fftw_execute_dft_r2c(im->fwd, im->work, im->xhat);
  double scale = 1.0 / op->d;
  for (int f = 0; f < im->nfreq; f++) {
    double kr = im->khat[f][0], ki = adjoint ? -im->khat[f][1] : im->khat[f][1];
    double xr = im->xhat[f][0], xi = im->xhat[f][1];
    im->xhat[f][0] = (kr * xr - ki * xi) * scale;
    im->xhat[f][1] = (kr * xi + ki * xr) * scale;
  }
  fftw_execute_dft_c2r(im->bwd, im->xhat, im->work);
  memcpy(y, im->work, sizeof(double) * (size_t)op->d);
}

int gds_operator_apply(gds_operator *op, const double *x, double *y) {
  switch (op->spec.type) {
  case GDS_OP_INPAINTING:
    for (int i = 0, k = 0; i < op->d; i++)
      if (op->mask[i]) y[k++] = x[i];
    break;
  case GDS_OP_SUPER_RESOLUTION: {
    int s = op->spec.factor;
    for (int i = 0; i < op->mh; i++)
      for (int j = 0; j < op->mw; j++) {
        double acc = 0;
        for (int a = 0; a < s; a++)
          for (int b = 0; b < s; b++) acc += x[(i * s + a) * op->W + j * s + b];
        y[i * op->mw + j] = acc / (s * s);
      }
    break;
  }
  default: gds_operator_convolve(op, x, y, 0);
  }
  return GDS_SUCCESS;
}

int gds_operator_apply_adjoint(gds_operator *op, const double *y, double *x) {
  switch (op->spec.type) {
  case GDS_OP_INPAINTING:
    for (int i = 0, k = 0; i < op->d; i++) x[i] = op->mask[i] ? y[k++] : 0.0;
    break;
  case GDS_OP_SUPER_RESOLUTION: {
    int s = op->spec.factor;
    for (int i = 0; i < op->H; i++)
      for (int j = 0; j < op->W; j++) x[i * op->W + j] = y[(i / s) * op->mw + j / s] / (s * s);
    break;
  }
  default: gds_operator_convolve(op, y, x, 1);
  }
  return GDS_SUCCESS;
}

int gds_operator_measure(gds_operator *op, int op_index, const double *x0, double sigma,
                         int64_t seed, double *v) {
  double *n;
  GDS_CALL(gds_operator_apply(op, x0, v));
  GDS_CALL(GDS_ALLOC(n, op->m));
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_NOISE, (uint64_t)seed, (uint64_t)op_index), 0, (size_t)op->m, n);
  for (int i = 0; i < op->m; i++) v[i] += sigma * n[i];
  free(n);
  return GDS_SUCCESS;
}
