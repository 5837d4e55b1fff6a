/* Fourier-block backend of the sampler algebra (super-resolution; sampler_impl.h). The s×s block
 * average is a convolution by the box ǩ (ǩ(p) = s⁻² on p ∈ (−s, 0]²) followed by subsampling,
 * so on the state space (Y = DFT(y)/√d, measurement V = DFT_m(v)/√m, m = d/s²) it maps the s²
 * aliased frequencies ξ ≡ η mod (H/s, W/s) of each low-resolution frequency η to one value:
 *   (A Y)(η) = Σ_ξ a(ξ) Y(ξ),  a(ξ) = ĥ(ξ)/s,  ĥ(ξ) = s⁻² Σ_{a,b<s} e^{2πi (ξ_r a/H + ξ_c b/W)},
 * and Aᵀ w (ξ) = conj(a(ξ)) w(η). Every matrix of the algebra is then block diagonal:
 *   gls:  w(η) = (V + Sh − A Y)(η) / (c0 + c1 N1(η) + c2 Σ_ξ |a(ξ)|² D(ξ)),  N1(η) = Σ_ξ |a(ξ)|²
 *         (= 1/s²: A Aᵀ = s⁻² I), out(ξ) = conj(a(ξ)) w(η);
 *   ddrm: singular value 1/s on the range of Aᵀ (one direction per η), 0 on the rest of the
 *         block: V x̄' = w_ker + P (w_range − w_ker) + c_y Aᵀv/N1, P = AᵀA/N1 (as in the generic
 *         backend, no explicit basis).
 * O(d) per operation, no FFT per step. Frequencies ξ outside the stored half spectrum are the
 * conjugates of stored ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "sampler_impl.h"

typedef struct fb_data {
  int s, Hl, Wl, m;          /* factor, low-resolution shape, m = Hl·Wl */
  /* per full-grid frequency ξ (d entries, row-major): stored index, conjugated?, class η, a(ξ) */
  int *f, *e;
  unsigned char *cj;
  double *are, *aim;
  double *n1;                /* [m] N1(η) */
  double *vre, *vim;         /* [m] V(η) (full low-resolution grid) */
  double *sre, *sim, *n2;    /* [m] scratch: class sums */
  double *wre, *wim;         /* [m] scratch */
  double *diff;              /* [2nf] scratch */
  fftw_complex *lo;          /* [m] low-resolution transform buffer */
  fftw_plan plo;             /* c2c forward on Hl × Wl */
} fb_data;

static void fb_destroy(gds_sampler *s) {
  fb_data *g = s->data;
  if (!g) return;
  if (g->plo) fftw_destroy_plan(g->plo);
  fftw_free(g->lo);
  free(g->f);
  free(g->cj);
  free(g->are);
  free(g->n1);
  free(g->diff);
  free(g);
  s->data = NULL;
}

static int fb_setup(gds_sampler *s) {
  fb_data *g;
  const int H = s->H, W = s->W, d = s->d;
  if (s->op->spec.type != GDS_OP_SUPER_RESOLUTION)
    GDS_ERROR(GDS_ERR_INPUT, "sampler: the fourier-block backend handles super_resolution, not %s", s->op->name);
  if (s->B != s->nf) GDS_ERROR(GDS_ERR_RUNTIME, "sampler: the fourier-block backend needs the state in one block");
  GDS_CALL(GDS_ALLOC(g, 1));
  s->data = g;
  g->s = s->op->spec.factor;
  g->Hl = H / g->s;
  g->Wl = W / g->s;
  g->m = g->Hl * g->Wl;
  const int m = g->m;
  GDS_CALL(GDS_ALLOC(g->f, 2 * (size_t)d));
  g->e = g->f + d;
  GDS_CALL(GDS_ALLOC(g->cj, d));
  GDS_CALL(GDS_ALLOC(g->are, 2 * (size_t)d));
  g->aim = g->are + d;
  GDS_CALL(GDS_ALLOC(g->n1, 8 * (size_t)m));
  g->vre = g->n1 + m;
  g->vim = g->n1 + 2 * m;
  g->sre = g->n1 + 3 * m;
  g->sim = g->n1 + 4 * m;
  g->n2 = g->n1 + 5 * m;
  g->wre = g->n1 + 6 * m;
  g->wim = g->n1 + 7 * m;
  GDS_CALL(GDS_ALLOC(g->diff, 2 * (size_t)s->nf));
  g->lo = fftw_alloc_complex((size_t)m);
  if (!g->lo) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (sampler buffers)");
  g->plo = fftw_plan_dft_2d(g->Hl, g->Wl, g->lo, g->lo, FFTW_FORWARD, FFTW_ESTIMATE);
  if (!g->plo) GDS_ERROR(GDS_ERR_RUNTIME, "FFTW planning failed");
  const double two_pi = 6.283185307179586476925286766559, is2 = 1.0 / ((double)g->s * g->s);
  for (int q = 0; q < H; q++)
    for (int c = 0; c < W; c++) {
      int i = q * W + c;
      /* read from the stored half, never from a duplicate (columns 0 and W/2, whose entries
       * with a smaller mirror row carry nothing: sampler_impl.h) */
      int qm = (H - q) % H, cm = (W - c) % W;
      int canon = c < s->Wh && !((c == 0 || 2 * c == W) && qm < q);
      g->f[i] = canon ? q * s->Wh + c : qm * s->Wh + cm;
      g->cj[i] = !canon;
      g->e[i] = (q % g->Hl) * g->Wl + c % g->Wl;
      double hrr = 0, hri = 0, hcr = 0, hci = 0;
      for (int a = 0; a < g->s; a++) {
        double pr = two_pi * (double)((long)q * a % H) / H, pc = two_pi * (double)((long)c * a % W) / W;
        hrr += cos(pr), hri += sin(pr), hcr += cos(pc), hci += sin(pc);
      }
      double k = is2 / g->s; /* a(ξ) = ĥ(ξ)/s */
      g->are[i] = (hrr * hcr - hri * hci) * k;
      g->aim[i] = (hrr * hci + hri * hcr) * k;
      g->n1[g->e[i]] += g->are[i] * g->are[i] + g->aim[i] * g->aim[i];
    }
  return GDS_SUCCESS;
}

/* (re, im)[η] = DFT_m(x)/√m on the full low-resolution grid (x: m pixels). */
static void fb_lowres(fb_data *g, const double *x, double *re, double *im) {
  for (int i = 0; i < g->m; i++) {
    g->lo[i][0] = x[i];
    g->lo[i][1] = 0;
  }
  fftw_execute(g->plo);
  const double c = 1.0 / sqrt((double)g->m);
  for (int i = 0; i < g->m; i++) {
    re[i] = g->lo[i][0] * c;
    im[i] = g->lo[i][1] * c;
  }
}

static int fb_set_measurement(gds_sampler *s, const double *v) {
  fb_data *g = s->data;
  fb_lowres(g, v, g->vre, g->vim);
  return GDS_SUCCESS;
}

/* (sre, sim)[η] = (A X)(η) = Σ_ξ a(ξ) X(ξ) over the full grid (X in the one-block layout). */
static void fb_apply(gds_sampler *s, const double *X) {
  fb_data *g = s->data;
  const int nf = s->nf;
  memset(g->sre, 0, sizeof(double) * 2 * (size_t)g->m); /* sre, sim */
  for (int i = 0; i < s->d; i++) {
    double xr = X[g->f[i]], xi = g->cj[i] ? -X[nf + g->f[i]] : X[nf + g->f[i]], ar = g->are[i], ai = g->aim[i];
    g->sre[g->e[i]] += ar * xr - ai * xi;
    g->sim[g->e[i]] += ar * xi + ai * xr;
  }
}

/* out(ξ) = conj(a(ξ)) w(η) on the stored half spectrum; += J(ξ)·(that) when J, += when add. */
static void fb_adjoint(gds_sampler *s, const double *wre, const double *wim, const double *J, double *out, int add) {
  fb_data *g = s->data;
  const int nf = s->nf, W = s->W;
  for (int f = 0; f < nf; f++) {
    int q = f / s->Wh, c = f % s->Wh, i = q * W + c, e = g->e[i];
    double ar = g->are[i], ai = g->aim[i], k = J ? J[f] : 1.0;
    double r = k * (ar * wre[e] + ai * wim[e]), im = k * (ar * wim[e] - ai * wre[e]);
    out[f] = add || J ? out[f] + r : r;
    out[nf + f] = add || J ? out[nf + f] + im : im;
  }
}

static int fb_gls(gds_sampler *s, const gds_gls *M, const double *x, const double *shift, const double *J, double *out,
                  int f0, int f1) {
  fb_data *g = s->data;
  const int m = g->m;
  if (f0 != 0 || f1 != s->nf) GDS_ERROR(GDS_ERR_RUNTIME, "sampler: the fourier-block backend works on whole spectra");
  fb_apply(s, x);
  if (M->c2 != 0) { /* N2(η) = Σ_ξ |a(ξ)|² D(ξ), D = λ/(dp λ + dq) */
    memset(g->n2, 0, sizeof(double) * (size_t)m);
    for (int i = 0; i < s->d; i++) {
      double lam = s->lam[g->f[i]];
      g->n2[g->e[i]] += (g->are[i] * g->are[i] + g->aim[i] * g->aim[i]) * lam / (M->dp * lam + M->dq);
    }
  }
  double *shr = g->wre, *shi = g->wim; /* the shift's transform, then w in place */
  if (shift) fb_lowres(g, shift, shr, shi);
  for (int e = 0; e < m; e++) {
    double den = M->c0 + M->c1 * g->n1[e] + (M->c2 != 0 ? M->c2 * g->n2[e] : 0.0);
    double br = g->vre[e] + (shift ? shr[e] : 0.0) - g->sre[e], bi = g->vim[e] + (shift ? shi[e] : 0.0) - g->sim[e];
    g->wre[e] = br / den;
    g->wim[e] = bi / den;
  }
  fb_adjoint(s, g->wre, g->wim, J, out, 0);
  return GDS_SUCCESS;
}

static int fb_ddrm(gds_sampler *s, const gds_ddrm_rule *rule, const double *x, const double *e, const double *z,
                   double *out, int f0, int f1) {
  fb_data *g = s->data;
  const int n2 = 2 * s->nf, m = g->m;
  if (f0 != 0 || f1 != s->nf) GDS_ERROR(GDS_ERR_RUNTIME, "sampler: the fourier-block backend works on whole spectra");
  double ck[4], cr[4];
  gds_ddrm_coefs(rule, 0.0, ck);
  gds_ddrm_coefs(rule, 1.0 / g->s, cr); /* SPEC §7.2: every s_i = 1/factor */
  double *diff = g->diff;
  for (int i = 0; i < n2; i++) {
    double wk = ck[1] * x[i] + ck[2] * e[i] + ck[3] * z[i], wr = cr[1] * x[i] + cr[2] * e[i] + cr[3] * z[i];
    out[i] = wk;
    diff[i] = wr - wk;
  }
  fb_apply(s, diff); /* P diff = Aᵀ (A diff)/N1, plus c_y Aᵀ V / N1 */
  for (int k = 0; k < m; k++) {
    g->wre[k] = (g->sre[k] + cr[0] * g->vre[k]) / g->n1[k];
    g->wim[k] = (g->sim[k] + cr[0] * g->vim[k]) / g->n1[k];
  }
  fb_adjoint(s, g->wre, g->wim, NULL, out, 1);
  return GDS_SUCCESS;
}

const gds_sampler_backend gds_sampler_fourier_block = {
    .name = "fourier-block",
    .diagonal = 0,
    .setup = fb_setup,
    .set_measurement = fb_set_measurement,
    .gls = fb_gls,
    .ddrm = fb_ddrm,
    .destroy = fb_destroy,
};
