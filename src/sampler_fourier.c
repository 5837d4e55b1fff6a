/* Fourier-diagonal backend of the sampler algebra (identity, blurs; sampler_impl.h): A is the
 * multiplier â(ξ) = DFT(kernel)(ξ) on the state space, Aᵀ its conjugate, so
 *   gls:  Aᵀ M⁻¹ (v + shift − A x) = conj(â) (V + Sh − â X) / (c0 + c1 |â|² + c2 |â|² λ/(dp λ + dq))
 * per frequency, and the real SVD is V = the real Fourier basis, s(ξ) = |â(ξ)| (SPEC §7.2),
 * U = the phase of â, so ȳ = V/â (the state of Uᵀv/s) per frequency. Every operation acts
 * frequency by frequency (diagonal backend). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "sampler_impl.h"
#include "simd.h"

typedef struct fd_data {
  double *are, *aim, *a2; /* â(ξ), |â(ξ)|² */
  double *sv;             /* singular value |â| (0 below 1e-12·max) */
  double *vs;             /* 2nf: V = state of v */
  double *ybar;           /* 2nf: ȳ = V/â where s > 0, 0 elsewhere */
  double *sh;             /* 2nf: scratch (V + state of a shift) */
} fd_data;

static void fd_destroy(gds_sampler *s) {
  fd_data *g = s->data;
  if (!g) return;
  free(g->are);
  free(g);
  s->data = NULL;
}

static int fd_setup(gds_sampler *s) {
  fd_data *g;
  const int nf = s->nf;
  GDS_CALL(GDS_ALLOC(g, 1));
  s->data = g;
  GDS_CALL(GDS_ALLOC(g->are, 10 * (size_t)nf));
  g->aim = g->are + nf;
  g->a2 = g->are + 2 * nf;
  g->sv = g->are + 3 * nf;
  g->vs = g->are + 4 * nf;
  g->ybar = g->are + 6 * nf;
  g->sh = g->are + 8 * nf;
  memcpy(s->pix, s->op->kernel, sizeof(double) * (size_t)s->d);
  fftw_execute_dft_r2c(s->fwd, s->pix, s->spec);
  double smax = 0;
  for (int f = 0; f < nf; f++) {
    g->are[f] = s->spec[f][0];
    g->aim[f] = s->spec[f][1];
    g->a2[f] = g->are[f] * g->are[f] + g->aim[f] * g->aim[f];
    g->sv[f] = sqrt(g->a2[f]);
    smax = fmax(smax, g->sv[f]);
  }
  for (int f = 0; f < nf; f++)
    if (g->sv[f] < GDS_DDRM_SV_RTOL * smax) g->sv[f] = 0; /* SPEC §7.2: counts as 0 */
  return GDS_SUCCESS;
}

static int fd_set_measurement(gds_sampler *s, const double *v) {
  fd_data *g = s->data;
  gds_sampler_to_state(s, v, g->vs);
  for (int fb = 0; fb < s->nf; fb += s->B) {
    const int n = gds_block_len(s, fb);
    const double *vr = g->vs + 2 * (size_t)fb, *vi = vr + n;
    double *br = g->ybar + 2 * (size_t)fb, *bi = br + n;
    for (int j = 0; j < n; j++) {
      int f = fb + j;
      double ar = g->are[f], ai = g->aim[f], ia = g->sv[f] > 0 ? 1.0 / g->a2[f] : 0.0; /* V/â = V conj(â)/|â|² */
      br[j] = (vr[j] * ar + vi[j] * ai) * ia;
      bi[j] = (vi[j] * ar - vr[j] * ai) * ia;
    }
  }
  return GDS_SUCCESS;
}

/* One block: out = conj(â) (V − â x) / M per frequency, 1/M = k/(k (c0 + c1|â|²) + c2 |â|² λ)
 * with k = dp λ + dq (one division; k = 1 when c2 = 0). */
GDS_SIMD_CLONES static void fd_gls_block(int n, const gds_gls *M, const double *restrict are, const double *restrict aim,
                         const double *restrict a2, const double *restrict lam, const double *restrict vr,
                         const double *restrict vi, const double *restrict xr, const double *restrict xi,
                         const double *restrict J, double *restrict outr, double *restrict outi) {
  const double c0 = M->c0, c1 = M->c1, c2 = M->c2, dp = c2 != 0 ? M->dp : 0.0, dq = c2 != 0 ? M->dq : 1.0;
  if (J) { /* accumulate J ⊙ result: the guidance term of the score */
    for (int j = 0; j < n; j++) {
      double k = dp * lam[j] + dq;
      double im = J[j] * k / (k * (c0 + c1 * a2[j]) + c2 * a2[j] * lam[j]);
      double ar = are[j], ai = aim[j];
      double rr = vr[j] - (ar * xr[j] - ai * xi[j]), ri = vi[j] - (ar * xi[j] + ai * xr[j]);
      outr[j] += im * (ar * rr + ai * ri);
      outi[j] += im * (ar * ri - ai * rr);
    }
    return;
  }
  for (int j = 0; j < n; j++) {
    double k = dp * lam[j] + dq;
    double im = k / (k * (c0 + c1 * a2[j]) + c2 * a2[j] * lam[j]);
    double ar = are[j], ai = aim[j];
    double rr = vr[j] - (ar * xr[j] - ai * xi[j]), ri = vi[j] - (ar * xi[j] + ai * xr[j]);
    outr[j] = im * (ar * rr + ai * ri);
    outi[j] = im * (ar * ri - ai * rr);
  }
}

static int fd_gls(gds_sampler *s, const gds_gls *M, const double *x, const double *shift, const double *J, double *out,
                  int f0, int f1) {
  fd_data *g = s->data;
  const double *vs = g->vs;
  if (shift) { /* V + state of the shift */
    gds_sampler_to_state(s, shift, g->sh);
    for (int i = 0; i < 2 * s->nf; i++) g->sh[i] += g->vs[i];
    vs = g->sh;
  }
  for (int fb = f0; fb < f1; fb += s->B) {
    const int n = gds_block_len(s, fb);
    const size_t o = 2 * (size_t)(fb - f0), ov = 2 * (size_t)fb;
    fd_gls_block(n, M, g->are + fb, g->aim + fb, g->a2 + fb, s->lam + fb, vs + ov, vs + ov + n, x + o, x + o + n,
                 J ? J + (fb - f0) : NULL, out + o, out + o + n);
  }
  return GDS_SUCCESS;
}

static int fd_ddrm(gds_sampler *s, const gds_ddrm_rule *rule, const double *x, const double *e, const double *z,
                   double *out, int f0, int f1) {
  fd_data *g = s->data;
  for (int fb = f0; fb < f1; fb += s->B) {
    const int n = gds_block_len(s, fb);
    const size_t o = 2 * (size_t)(fb - f0);
    const double *yb = g->ybar + 2 * (size_t)fb;
    for (int j = 0; j < n; j++) {
      double c[4];
      gds_ddrm_coefs(rule, g->sv[fb + j], c);
      for (size_t i = o + (size_t)j; i < o + 2 * (size_t)n; i += (size_t)n) /* re, then im */
        out[i] = c[0] * yb[i - o] + c[1] * x[i] + c[2] * e[i] + c[3] * z[i];
    }
  }
  return GDS_SUCCESS;
}

const gds_sampler_backend gds_sampler_fourier = {
    .name = "fourier",
    .diagonal = 1,
    .setup = fd_setup,
    .set_measurement = fd_set_measurement,
    .gls = fd_gls,
    .ddrm = fd_ddrm,
    .destroy = fd_destroy,
};
