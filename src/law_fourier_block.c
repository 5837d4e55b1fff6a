/* Fourier-block law backend (docs/maths.md §5.2): super-resolution by an s×s block
 * average. Derivation (DFT x̂(ξ) = Σ_p x(p) e^{−2πi ξ·p}, ξ·p = qi/H + rj/W):
 *  - A = S∘B with (Bx)(p) = s⁻² Σ_{a,b<s} x(p + (a,b)) (a correlation) and S the subsampling
 *    at multiples of s. B̂(ξ) = g_H(q) g_W(r), g_N(q) = s⁻¹ Σ_{a<s} e^{+2πi qa/N} (phase
 *    e^{+iπq(s−1)/N} from the offset of the block). Subsampling folds the s² frequencies
 *    ξ = (k + u·h, l + v·w), u,v < s (h = H/s, w = W/s) onto the low-res frequency κ = (k, l)
 *    with a factor s⁻².
 *  - In the unitary DFT bases (x̃ = x̂/√d, ṽ = v̂/√m) A is, per class κ, the row vector
 *    a_ξ = B̂(ξ)/s (Σ_class |a_ξ|² = s⁻², i.e. A Aᵀ = s⁻² I), and every prior-derived matrix
 *    (Σ, Σ_t, J_t) is diagonal: all matrices of SPEC §2 are block-diagonal with one s²×s²
 *    block per class.
 *  - A diagonal unitary change of basis x'_ξ = φ_ξ x̃_ξ, φ_ξ = a_ξ/|a_ξ| (1 where a_ξ = 0),
 *    makes the row real (|a_ξ|) and so every block REAL symmetric: H_t = D_t + C_t⁻¹ u uᵀ,
 *    P_t = diag(p) − γ u uᵀ (u = J_t |a|), Σ_post = Λ − w wᵀ/S (w = Λ|a|, S = Σ|a|²λ + σ²).
 *    K_t blocks stay real symmetric; means are complex vectors whose real and imaginary
 *    parts follow the same real recursion.
 *  - Real images: the block of class −κ is the complex conjugate of that of κ (same real
 *    block in the rotated basis), so only one class per conjugate pair is kept (weight 2;
 *    self-conjugate classes weight 1).
 *  - Algorithms with the exact score (none, cgdm: H_ᾱ = (K*_ᾱ)⁻¹ for every ᾱ): every step of
 *    every scheme, K and K* are functions of one fixed block (Λ, or Σ_post diagonalised
 *    once): per-eigenvalue scalar recursions and closed-form W2, O(d) per step.
 *  - Others (dps, pigdm, ddrm): the step's linear map P is applied to the K blocks. One score
 *    stage at y: P = diag(p) − γ u uᵀ and K ← P K Pᵀ + noise in O(s⁴) per block; programs
 *    with several stages and DDRM (P = diag + rank one in the block's SVD basis: the one
 *    singular value ‖a‖ = 1/s with v₁ = |a|/‖a‖, the rest of the block spans ker A) apply P
 *    to the rows of the block, transpose, and apply it again. W2:
 *    K*_t = Σ_t − (ᾱ/S) w wᵀ = R Rᵀ with R = Σ_t^{1/2}(I − κ z zᵀ), z = Σ_t^{−1/2} w (a
 *    square root of the diagonal-minus-rank-one (I − θ z zᵀ) is (I − κ z zᵀ)), and
 *    tr (K*^{1/2} K K*^{1/2})^{1/2} = Σ √eig(Rᵀ K R): one small symmetric eigenproblem per
 *    block and W2 time, solved 8 blocks at a time by vectorised Householder + QL kernels.
 *    This dominates: ~3 µs per 16×16 block, i.e. ~6 ms per W2 time at 256² with s = 4. */
#include <fftw3.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX__) || defined(__SSE2__)
#include <immintrin.h>
#endif

#include "gdsweep/error.h"
#include "gdsweep/w2.h"
#include "law_impl.h"

/* Batches of the W2 eigenvalue kernels: FB_NV vectors of FB_NL lanes, FB_NB = 8 blocks
 * (lanes: 4 with AVX, else 2 — the width the target passes in registers). */
#if defined(__AVX__)
#define FB_NL 4
#else
#define FB_NL 2
#endif
#define FB_NB 8
#define FB_NV (FB_NB / FB_NL)
typedef double fb_vd __attribute__((vector_size(FB_NL * sizeof(double))));
typedef int64_t fb_vi __attribute__((vector_size(FB_NL * sizeof(double))));

typedef struct fb_data {
  int H, W, s, h, w, n, d, m, nc; /* n = s² per block; nc kept classes */
  int *idx;                       /* [nc·n] full-spectrum index q·W + r of member e = u·s + v */
  int *kidx;                      /* [nc] low-res index k·w + l of the class */
  double *wgt;                    /* [nc] 1 (self-conjugate) or 2 */
  double *lam, *al, *phr, *phi;   /* [nc·n] λ(ξ), |a_ξ|, phase φ_ξ */
  double *wv;                     /* [nc·n] w = λ|a| */
  double *na2, *S;                /* [nc] Σ|a|², Σ|a|²λ + σ² */
  double mu0;                     /* μ' at class 0, member 0: √d·m (zero elsewhere) */
  double *K;                      /* [nc·n·n] state K_t (rotated basis, row-major blocks) */
  double *p, *u, *gam;            /* per step: [nc·n] diag of P_t, u; [nc] γ */
  double *sist, *su, *scinv;      /* per stage j of a step: [GDS_STAGE_MAX·nc·n] Σ_ᾱ⁻¹ and
                                     u = J_ᾱ|a|; [GDS_STAGE_MAX·nc] C_ᾱ⁻¹ */
  double *sv;                     /* [nc] DDRM singular value ‖a‖ of the class (0 if below
                                     GDS_DDRM_SV_RTOL·max) */
  double *kwork;                  /* (GDS_STAGE_MAX + 3)·n·n: block sandwich and programs */
  double *kd;                     /* [nc·n] commuting path: spectrum of K_t */
  const double *dref;             /*   its reference spectrum: λ (none) or pd (cgdm) */
  double *pd, *Q;                 /* cgdm: eigenvalues [nc·n] / vectors [nc·n·n] of Σ_post blocks (lazy) */
  int have_q;
  double *mwork, *eig, *vwork, *qs; /* n·n, n, 4n, 2n scratch */
  fb_vd *bm, *bd, *be, *bd0, *bv, *bp; /* batched eigen work, FB_NV vectors per entry: n·n, n, n, 2n, n, n */
  fftw_complex *cimg, *cmeas;     /* d, m */
  fftw_plan ifwd, ibwd, mfwd;
} fb_data;

/* Per-seed state (split re/im): ρ_c = ṽ(κ) − |a|·μ' [nc], reference mean q' and state m'
 * [nc·n]. */
typedef struct fb_seed {
  double *rre, *rim, *qre, *qim, *mre, *mim;
} fb_seed;

static void fb_destroy(gds_law *law) {
  fb_data *fb = law->data;
  if (!fb) return;
  if (fb->ifwd) fftw_destroy_plan(fb->ifwd);
  if (fb->ibwd) fftw_destroy_plan(fb->ibwd);
  if (fb->mfwd) fftw_destroy_plan(fb->mfwd);
  fftw_free(fb->cimg);
  fftw_free(fb->cmeas);
  free(fb->idx);
  free(fb->kidx);
  free(fb->lam); /* one block holds every per-class double array */
  free(fb->K);
  free(fb->kd);
  free(fb->Q);
  free(fb->mwork);
  free(fb->bm);
  free(fb->sist);
  free(fb->kwork);
  free(fb);
  law->data = NULL;
}

/* g_N(q) = s⁻¹ Σ_{a<s} e^{+2πi qa/N}, with the exact zeros at q ∈ (N/s)·{1..s−1}. */
static void fb_box_dft(int N, int s, int q, double *re, double *im) {
  double cr = 0, ci = 0;
  if (q != 0 && q % (N / s) == 0) {
    *re = *im = 0;
    return;
  }
  for (int a = 0; a < s; a++) {
    double th = 2 * M_PI * (double)(((long)q * a) % N) / N;
    cr += cos(th);
    ci += sin(th);
  }
  *re = cr / s;
  *im = ci / s;
}

/* Setup: classes (one per conjugate pair), |a_ξ| and phases, prior spectrum per block,
 * posterior pieces S and w (SPEC §2 "Target"). */
static int fb_setup(gds_law *law) {
  const gds_prior *pr = law->prior;
  gds_operator *op = law->op;
  fb_data *fb;
  GDS_CALL(GDS_ALLOC(fb, 1));
  law->data = fb;
  fb->H = pr->H;
  fb->W = pr->W;
  fb->s = op->spec.factor;
  fb->h = fb->H / fb->s;
  fb->w = fb->W / fb->s;
  fb->n = fb->s * fb->s;
  fb->d = fb->H * fb->W;
  fb->m = fb->h * fb->w;
  if (op->mh != fb->h || op->mw != fb->w) GDS_ERROR(GDS_ERR_RUNTIME, "operator %s: unexpected measurement shape", op->name);
  int h = fb->h, w = fb->w, n = fb->n, s = fb->s;
  /* keep κ when its index is ≤ that of −κ */
  int nc = 0;
  for (int k = 0; k < h; k++)
    for (int l = 0; l < w; l++) {
      int kc = (h - k) % h, lc = (w - l) % w;
      if (k * w + l <= kc * w + lc) nc++;
    }
  fb->nc = nc;
  GDS_CALL(GDS_ALLOC(fb->idx, (size_t)nc * n));
  GDS_CALL(GDS_ALLOC(fb->kidx, nc));
  double *blk;
  size_t cn = (size_t)nc * n;
  GDS_CALL(gds_malloc_aligned(sizeof(double) * (7 * cn + 4 * (size_t)nc), &blk));
  fb->lam = blk;
  fb->al = blk + cn;
  fb->phr = blk + 2 * cn;
  fb->phi = blk + 3 * cn;
  fb->wv = blk + 4 * cn;
  fb->p = blk + 5 * cn;
  fb->u = blk + 6 * cn;
  fb->wgt = blk + 7 * cn;
  fb->na2 = fb->wgt + nc;
  fb->S = fb->na2 + nc;
  fb->gam = fb->S + nc;
  GDS_CALL(gds_malloc_aligned(sizeof(double) * cn * n, &fb->K));
  GDS_CALL(gds_malloc_aligned(sizeof(double) * 2 * cn, &fb->kd));
  fb->pd = fb->kd + cn;
  GDS_CALL(gds_malloc_aligned(sizeof(double) * ((size_t)n * n + 7 * (size_t)n), &fb->mwork));
  fb->eig = fb->mwork + (size_t)n * n;
  fb->vwork = fb->eig + n;
  fb->qs = fb->vwork + 4 * n;
  GDS_CALL(gds_malloc_aligned(sizeof(fb_vd) * FB_NV * ((size_t)n * n + 6 * (size_t)n), &fb->bm));
  GDS_CALL(gds_malloc_aligned(sizeof(double) * GDS_STAGE_MAX * (2 * cn + (size_t)nc) + sizeof(double) * nc, &fb->sist));
  fb->su = fb->sist + GDS_STAGE_MAX * cn;
  fb->scinv = fb->su + GDS_STAGE_MAX * cn;
  fb->sv = fb->scinv + GDS_STAGE_MAX * (size_t)nc;
  GDS_CALL(gds_malloc_aligned(sizeof(double) * (GDS_STAGE_MAX + 3) * (size_t)n * n, &fb->kwork));
  fb->bd = fb->bm + (size_t)n * n * FB_NV;
  fb->be = fb->bd + n * FB_NV;
  fb->bd0 = fb->be + n * FB_NV;
  fb->bv = fb->bd0 + 2 * n * FB_NV;
  fb->bp = fb->bv + n * FB_NV;
  double s2 = law->sigma * law->sigma;
  int c = 0;
  for (int k = 0; k < h; k++)
    for (int l = 0; l < w; l++) {
      int kc = (h - k) % h, lc = (w - l) % w;
      if (k * w + l > kc * w + lc) continue;
      fb->kidx[c] = k * w + l;
      fb->wgt[c] = (k == kc && l == lc) ? 1.0 : 2.0;
      double na2 = 0, sa = s2;
      for (int u = 0; u < s; u++)
        for (int v = 0; v < s; v++) {
          int e = u * s + v, q = k + u * h, r = l + v * w;
          size_t ce = (size_t)c * n + e;
          double gr, gi, hr, hi;
          fb_box_dft(fb->H, s, q, &gr, &gi);
          fb_box_dft(fb->W, s, r, &hr, &hi);
          double ar = (gr * hr - gi * hi) / s, ai = (gr * hi + gi * hr) / s; /* a_ξ = B̂(ξ)/s */
          double aa = hypot(ar, ai);
          fb->idx[ce] = q * fb->W + r;
          fb->al[ce] = aa;
          fb->phr[ce] = aa > 0 ? ar / aa : 1.0;
          fb->phi[ce] = aa > 0 ? ai / aa : 0.0;
          fb->lam[ce] = pr->spectrum[q * fb->W + r];
          fb->wv[ce] = fb->lam[ce] * aa;
          na2 += aa * aa;
          sa += aa * aa * fb->lam[ce];
        }
      fb->na2[c] = na2;
      fb->S[c] = sa;
      fb->sv[c] = sqrt(na2);
      c++;
    }
  double smax = 0;
  for (c = 0; c < nc; c++) smax = fmax(smax, fb->sv[c]);
  for (c = 0; c < nc; c++)
    if (fb->sv[c] < GDS_DDRM_SV_RTOL * smax) fb->sv[c] = 0.0;
  fb->mu0 = pr->mean * sqrt((double)fb->d);
  fb->cimg = fftw_alloc_complex((size_t)fb->d);
  fb->cmeas = fftw_alloc_complex((size_t)fb->m);
  if (!fb->cimg || !fb->cmeas) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (FFT buffers)");
  fb->ifwd = fftw_plan_dft_2d(fb->H, fb->W, fb->cimg, fb->cimg, FFTW_FORWARD, FFTW_ESTIMATE);
  fb->ibwd = fftw_plan_dft_2d(fb->H, fb->W, fb->cimg, fb->cimg, FFTW_BACKWARD, FFTW_ESTIMATE);
  fb->mfwd = fftw_plan_dft_2d(fb->h, fb->w, fb->cmeas, fb->cmeas, FFTW_FORWARD, FFTW_ESTIMATE);
  if (!fb->ifwd || !fb->ibwd || !fb->mfwd) GDS_ERROR(GDS_ERR_RUNTIME, "FFTW planning failed");
  return GDS_SUCCESS;
}

/* Image (d real values) → rotated unitary coordinates x'_ξ = φ_ξ x̂(ξ)/√d of the kept classes. */
static void fb_forward(fb_data *fb, const double *x, double *re, double *im) {
  for (int i = 0; i < fb->d; i++) {
    fb->cimg[i][0] = x[i];
    fb->cimg[i][1] = 0;
  }
  fftw_execute(fb->ifwd);
  double sc = 1.0 / sqrt((double)fb->d);
  size_t cn = (size_t)fb->nc * fb->n;
  for (size_t ce = 0; ce < cn; ce++) {
    double xr = fb->cimg[fb->idx[ce]][0] * sc, xi = fb->cimg[fb->idx[ce]][1] * sc;
    re[ce] = fb->phr[ce] * xr - fb->phi[ce] * xi;
    im[ce] = fb->phr[ce] * xi + fb->phi[ce] * xr;
  }
}

/* Inverse of fb_forward: the classes not kept are the conjugates of the kept ones. */
static void fb_inverse(fb_data *fb, const double *re, const double *im, double *x) {
  memset(fb->cimg, 0, sizeof(fftw_complex) * (size_t)fb->d);
  int H = fb->H, W = fb->W;
  for (int c = 0; c < fb->nc; c++)
    for (int e = 0; e < fb->n; e++) {
      size_t ce = (size_t)c * fb->n + e;
      double xr = re[ce], xi = im ? im[ce] : 0.0;
      double yr = fb->phr[ce] * xr + fb->phi[ce] * xi, yi = fb->phr[ce] * xi - fb->phi[ce] * xr; /* conj(φ) x' */
      int f = fb->idx[ce], q = f / W, r = f % W, fc = ((H - q) % H) * W + (W - r) % W;
      fb->cimg[f][0] = yr;
      fb->cimg[f][1] = yi;
      if (fb->wgt[c] > 1) {
        fb->cimg[fc][0] = yr;
        fb->cimg[fc][1] = -yi;
      }
    }
  fftw_execute(fb->ibwd);
  double sc = 1.0 / sqrt((double)fb->d);
  for (int i = 0; i < fb->d; i++) x[i] = fb->cimg[i][0] * sc;
}

/* ρ_c = ṽ(κ) − |a|·μ' and the reference mean q' (SPEC §2 "Target"): per block
 * μ'_post = μ' + w ρ/S (posterior_ref), or μ' (prior path, `none`). m'_T = 0. */
static void fb_measure(gds_law *law, const double *v, fb_seed *sd, int posterior_ref) {
  fb_data *fb = law->data;
  int n = fb->n;
  for (int i = 0; i < fb->m; i++) {
    fb->cmeas[i][0] = v[i];
    fb->cmeas[i][1] = 0;
  }
  fftw_execute(fb->mfwd);
  double sc = 1.0 / sqrt((double)fb->m);
  for (int c = 0; c < fb->nc; c++) {
    double rr = fb->cmeas[fb->kidx[c]][0] * sc, ri = fb->cmeas[fb->kidx[c]][1] * sc;
    if (c == 0) rr -= fb->al[0] * fb->mu0; /* μ' lives at ξ = 0 (class 0, member 0) */
    sd->rre[c] = rr;
    sd->rim[c] = ri;
    double g = posterior_ref ? 1.0 / fb->S[c] : 0.0;
    for (int e = 0; e < n; e++) {
      size_t ce = (size_t)c * n + e;
      sd->qre[ce] = g * fb->wv[ce] * rr;
      sd->qim[ce] = g * fb->wv[ce] * ri;
      sd->mre[ce] = sd->mim[ce] = 0.0;
    }
  }
  sd->qre[0] += fb->mu0;
}

/* Diagonal (pixel basis) of the real block-diagonal matrix B (rotated basis, blocks B'_c):
 * B_pix = Uᴴ Φᴴ B' Φ U, so diag(p) = d⁻¹ Re Σ_c wgt_c Σ_{e,f} conj(φ_e) B'_ef φ_f
 * ω^{(u_e−u_f) i + (v_e−v_f) j}, ω = e^{2πi/s}: periodic in p with period s. The sum is
 * aggregated by the offsets (u_e − u_f, v_e − v_f) mod s first. `blk(c, B)` fills B'_c. */
typedef void (*fb_block_fn)(const fb_data *fb, int c, const void *ctx, double *B);

static int fb_diag_pixel(fb_data *fb, fb_block_fn blk, const void *ctx, double *diag) {
  int s = fb->s, n = fb->n;
  double *gr, *gi, *B;
  GDS_CALL(GDS_ALLOC(gr, 2 * (size_t)n + (size_t)n * n));
  gi = gr + n;
  B = gr + 2 * n;
  for (int c = 0; c < fb->nc; c++) {
    blk(fb, c, ctx, B);
    const double *pr = fb->phr + (size_t)c * n, *pi = fb->phi + (size_t)c * n;
    for (int e = 0; e < n; e++)
      for (int f = 0; f < n; f++) {
        int du = ((e / s - f / s) % s + s) % s, dv = ((e % s - f % s) % s + s) % s;
        double b = fb->wgt[c] * B[e * n + f];
        /* conj(φ_e) φ_f */
        double zr = pr[e] * pr[f] + pi[e] * pi[f], zi = pr[e] * pi[f] - pi[e] * pr[f];
        gr[du * s + dv] += b * zr;
        gi[du * s + dv] += b * zi;
      }
  }
  for (int i0 = 0; i0 < s; i0++)
    for (int j0 = 0; j0 < s; j0++) {
      double acc = 0;
      for (int du = 0; du < s; du++)
        for (int dv = 0; dv < s; dv++) {
          double th = 2 * M_PI * (double)((du * i0 + dv * j0) % s) / s;
          acc += gr[du * s + dv] * cos(th) - gi[du * s + dv] * sin(th);
        }
      for (int i = i0; i < fb->H; i += s)
        for (int j = j0; j < fb->W; j += s) diag[i * fb->W + j] = acc / fb->d;
    }
  free(gr);
  return GDS_SUCCESS;
}

/* Block of Σ_post = Λ − w wᵀ/S (SPEC §2 "Target"). */
static void fb_block_post(const fb_data *fb, int c, const void *ctx, double *B) {
  (void)ctx;
  int n = fb->n;
  const double *lam = fb->lam + (size_t)c * n, *wv = fb->wv + (size_t)c * n;
  for (int e = 0; e < n; e++)
    for (int f = 0; f < n; f++) B[e * n + f] = (e == f ? lam[e] : 0.0) - wv[e] * wv[f] / fb->S[c];
}

/* Block of the state K_t. */
static void fb_block_state(const fb_data *fb, int c, const void *ctx, double *B) {
  (void)ctx;
  memcpy(B, fb->K + (size_t)c * fb->n * fb->n, sizeof(double) * (size_t)fb->n * fb->n);
}

/* Block of the reference K*_t = ᾱ Σ_ref + (1 − ᾱ) I (Σ_ref = Σ_post, or Λ for `none`). */
typedef struct fb_ref_ctx {
  double ab;
  int prior_path;
} fb_ref_ctx;

static void fb_block_ref(const fb_data *fb, int c, const void *ctx, double *B) {
  const fb_ref_ctx *rc = ctx;
  int n = fb->n;
  const double *lam = fb->lam + (size_t)c * n, *wv = fb->wv + (size_t)c * n;
  for (int e = 0; e < n; e++)
    for (int f = 0; f < n; f++) {
      double sp = (e == f ? lam[e] : 0.0) - (rc->prior_path ? 0.0 : wv[e] * wv[f] / fb->S[c]);
      B[e * n + f] = rc->ab * sp + (e == f ? 1 - rc->ab : 0.0);
    }
}

/* Doubles per seed of fb_alloc_seeds. */
static size_t fb_seed_doubles(const fb_data *fb) { return 4 * (size_t)fb->nc * fb->n + 2 * (size_t)fb->nc; }

static size_t fb_seed_bytes(const gds_law *law) { return sizeof(double) * fb_seed_doubles(law->data); }

static int fb_alloc_seeds(const fb_data *fb, int ns, fb_seed **out, double **buf) {
  size_t cn = (size_t)fb->nc * fb->n;
  int nb = ns > 0 ? ns : 1;
  GDS_CALL(GDS_ALLOC(*out, nb));
  int ierr = gds_malloc_aligned(sizeof(double) * fb_seed_doubles(fb) * nb, buf);
  if (ierr) {
    free(*out);
    *out = NULL;
    GDS_CALL(ierr);
  }
  for (int s = 0; s < ns; s++) {
    double *b = *buf + (4 * cn + 2 * (size_t)fb->nc) * s;
    (*out)[s] = (fb_seed){b, b + fb->nc, b + 2 * fb->nc, b + 2 * fb->nc + cn, b + 2 * fb->nc + 2 * cn,
                          b + 2 * fb->nc + 3 * cn};
  }
  return GDS_SUCCESS;
}

/* μ_post (SPEC §2 "Target") through the blocks; diag Σ_post is s-periodic (fb_diag_pixel). */
static int fb_posterior(gds_law *law, const double *v, double *mean, double *var) {
  fb_data *fb = law->data;
  if (mean) {
    fb_seed *sd;
    double *buf;
    GDS_CALL(fb_alloc_seeds(fb, 1, &sd, &buf));
    fb_measure(law, v, sd, 1);
    fb_inverse(fb, sd->qre, sd->qim, mean);
    free(buf);
    free(sd);
  }
  if (var) GDS_CALL(fb_diag_pixel(fb, fb_block_post, NULL, var));
  return GDS_SUCCESS;
}

/* C_ᾱ⁻¹ per class (SPEC §1 "Algorithms"; docs/maths.md §2.1): C is a scalar on each low-res
 * frequency, C = c0 + c1 Σ|a|² + c2 Σ|a|²λ/Σ_ᾱ; `none`: 0. */
static double fb_cinv(const fb_data *fb, int c, gds_guidance g, double ab) {
  if (g.on == 0) return 0.0;
  double C = g.c0 + g.c1 * fb->na2[c];
  if (g.c2 != 0) {
    const int n = fb->n;
    const double *lam = fb->lam + (size_t)c * n, *al = fb->al + (size_t)c * n;
    double acc = 0;
    for (int e = 0; e < n; e++) acc += al[e] * al[e] * lam[e] / (ab * lam[e] + 1 - ab);
    C += g.c2 * acc;
  }
  return g.on / C;
}

/* Coefficients of a step with one score stage at y (docs/maths.md §3): P = scale (b_y I −
 * b₁ H) = diag(p) − γ u uᵀ with p = scale (b_y − b₁/Σ_ᾱ), u = J_ᾱ|a|, γ = scale b₁ C⁻¹
 * (H_ᾱ = Σ_ᾱ⁻¹ + C⁻¹ u uᵀ). */
static void fb_coef_fast(fb_data *fb, const gds_step *st, gds_guidance g) {
  double ab = st->stage[0].abar, sab = sqrt(ab), by = st->b_y, bb = st->b[0], scale = st->scale;
  const int n = fb->n;
  for (int c = 0; c < fb->nc; c++) {
    const double *restrict lam = fb->lam + (size_t)c * n, *restrict al = fb->al + (size_t)c * n;
    double *restrict p = fb->p + (size_t)c * n, *restrict u = fb->u + (size_t)c * n;
    fb->gam[c] = bb * scale * fb_cinv(fb, c, g, ab);
#pragma omp simd
    for (int e = 0; e < n; e++) {
      double ist = 1.0 / (ab * lam[e] + 1 - ab);
      p[e] = (by - bb * ist) * scale;
      u[e] = sab * lam[e] * ist * al[e];
    }
  }
}

/* Σ_ᾱ⁻¹, u = J_ᾱ|a| and C_ᾱ⁻¹ of every stage of a program (slots sist/su/scinv). */
static void fb_coef_stages(fb_data *fb, const gds_law_eval *ev, const gds_step *st, double s2) {
  const int n = fb->n;
  const size_t cn = (size_t)fb->nc * n;
  for (int j = 0; j < st->nstage; j++) {
    double ab = st->stage[j].abar, sab = sqrt(ab);
    gds_guidance g = ev->alg->guidance(ab, s2, ev->cfg->alpha_dps);
    double *ist = fb->sist + j * cn, *u = fb->su + j * cn;
    for (int c = 0; c < fb->nc; c++) fb->scinv[(size_t)j * fb->nc + c] = fb_cinv(fb, c, g, ab);
    for (size_t ce = 0; ce < cn; ce++) {
      ist[ce] = 1.0 / (ab * fb->lam[ce] + 1 - ab);
      u[ce] = sab * fb->lam[ce] * ist[ce] * fb->al[ce];
    }
  }
}

/* K ← P K Pᵀ + σ² I for block c in O(n²), P = diag(p) − γ u uᵀ: with z = K u, ω = uᵀz,
 * y = γ p∘z − ½γ²ω u, (PKPᵀ)_ef = p_e p_f K_ef − y_e u_f − u_e y_f. */
static void fb_block_step(fb_data *fb, int c, double sig2) {
  const int n = fb->n;
  const double *restrict p = fb->p + (size_t)c * n, *restrict u = fb->u + (size_t)c * n;
  double *restrict K = fb->K + (size_t)c * n * n, *restrict z = fb->vwork, *restrict y = fb->vwork + n;
  double g = fb->gam[c], om = 0;
  for (int e = 0; e < n; e++) {
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int f = 0; f < n; f++) acc += K[e * n + f] * u[f];
    z[e] = acc;
    om += u[e] * acc;
  }
  for (int e = 0; e < n; e++) y[e] = g * p[e] * z[e] - 0.5 * g * g * om * u[e];
  for (int e = 0; e < n; e++) {
    double pe = p[e], ye = y[e], ue = u[e];
#pragma omp simd
    for (int f = 0; f < n; f++) K[e * n + f] = pe * p[f] * K[e * n + f] - ye * u[f] - ue * y[f];
    K[e * n + e] += sig2;
  }
}

/* ---- W2 eigenvalue kernels, FB_NB blocks at a time -------------------------------------
 * Σ √eig of n×n symmetric PSD matrices: Householder tridiagonalisation, then implicit QL
 * with Wilkinson shifts (eigenvalues only). A QL sweep is a chain of dependent sqrt and
 * divisions, so it runs in lockstep over FB_NB independent blocks: FB_NV vectors of FB_NL
 * lanes, interleaved to hide the latency (lane L = h·FB_NL + j is vector h, element j;
 * batch arrays are indexed [i·FB_NV + h]). A batch where some lane meets QL's r = 0 exit
 * (underflow) or the iteration cap is redone in scalar. */
static inline fb_vd fb_vsel(fb_vi m, fb_vd a, fb_vd b) { return (fb_vd)(((fb_vi)a & m) | ((fb_vi)b & ~m)); }

static inline fb_vd fb_vsqrt(fb_vd x) {
#if defined(__AVX__) && FB_NL == 4
  return (fb_vd)_mm256_sqrt_pd((__m256d)x);
#elif defined(__SSE2__) && FB_NL == 2
  return (fb_vd)_mm_sqrt_pd((__m128d)x);
#else
  fb_vd r;
  for (int j = 0; j < FB_NL; j++) r[j] = sqrt(x[j]);
  return r;
#endif
}

/* A (n×n per lane, [(i·n + j)·FB_NV + h], destroyed) → diagonal dg, off-diagonal od
 * (od[n−1] = 0). Step k: x = A[k+1.., k], v = x − α e_1 (α = −sign(x_0)‖x‖), τ = 2/vᵀv,
 * p = τ B v, w = p − ½τ(pᵀv) v, B ← B − v wᵀ − w vᵀ on the trailing block B. */
static void fb_tridiag_batch(int n, fb_vd *restrict A, fb_vd *restrict dg, fb_vd *restrict od, fb_vd *restrict v,
                             fb_vd *restrict pw) {
  const fb_vd zero = {0}, one = zero + 1.0;
  enum { V = FB_NV };
  for (int k = 0; k < n - 2; k++) {
    int m = n - k - 1;
    fb_vd *B = A + ((k + 1) * n + (k + 1)) * V, tau[V], pv[V], x2[V];
    for (int h = 0; h < V; h++) {
      x2[h] = zero;
      pv[h] = zero;
    }
    for (int i = 1; i < m; i++)
      for (int h = 0; h < V; h++) {
        v[i * V + h] = A[((k + 1 + i) * n + k) * V + h];
        x2[h] += v[i * V + h] * v[i * V + h];
      }
    for (int h = 0; h < V; h++) {
      fb_vd x0 = A[((k + 1) * n + k) * V + h], nrm = fb_vsqrt(x0 * x0 + x2[h]);
      fb_vd al = fb_vsel(x0 < zero, nrm, -nrm);
      fb_vi triv = x2[h] == zero; /* column already reduced: no reflection */
      dg[k * V + h] = A[(k * n + k) * V + h];
      v[h] = x0 - al;
      tau[h] = fb_vsel(triv, zero, 2.0 / fb_vsel(triv, one, v[h] * v[h] + x2[h]));
      od[k * V + h] = fb_vsel(triv, x0, al);
    }
    for (int i = 0; i < m; i++) {
      fb_vd a[V];
      for (int h = 0; h < V; h++) a[h] = zero;
      for (int f = 0; f < m; f++)
        for (int h = 0; h < V; h++) a[h] += B[(i * n + f) * V + h] * v[f * V + h];
      for (int h = 0; h < V; h++) {
        pw[i * V + h] = tau[h] * a[h];
        pv[h] += pw[i * V + h] * v[i * V + h];
      }
    }
    for (int h = 0; h < V; h++) pv[h] *= 0.5 * tau[h];
    for (int i = 0; i < m; i++)
      for (int h = 0; h < V; h++) pw[i * V + h] -= pv[h] * v[i * V + h];
    for (int i = 0; i < m; i++)
      for (int f = 0; f < m; f++)
        for (int h = 0; h < V; h++)
          B[(i * n + f) * V + h] -= v[i * V + h] * pw[f * V + h] + pw[i * V + h] * v[f * V + h];
  }
  for (int h = 0; h < V; h++) {
    if (n >= 2) {
      dg[(n - 2) * V + h] = A[((n - 2) * n + n - 2) * V + h];
      od[(n - 2) * V + h] = A[((n - 1) * n + n - 2) * V + h];
    }
    dg[(n - 1) * V + h] = A[((n - 1) * n + n - 1) * V + h];
    od[(n - 1) * V + h] = zero;
  }
}

/* Split test of QL: e_m negligible next to its diagonal neighbours (or to the whole matrix). */
static inline int fb_ql_small(double e, double d0, double d1, double floor) {
  return fabs(e) <= 0x1p-53 * (fabs(d0) + fabs(d1)) + floor;
}

/* Scalar implicit QL (eigenvalues of the tridiagonal d, e in d); −1 if it does not converge. */
static int fb_ql_scalar(int n, double *d, double *e, double floor) {
  for (int l = 0; l < n; l++) {
    for (int iter = 0;; iter++) {
      int m;
      for (m = l; m < n - 1; m++)
        if (fb_ql_small(e[m], d[m], d[m + 1], floor)) break;
      if (m == l) break;
      if (iter == 60) return -1;
      double g = (d[l + 1] - d[l]) / (2.0 * e[l]), r = sqrt(g * g + 1.0);
      g = d[m] - d[l] + e[l] / (g + copysign(r, g));
      double s = 1, c = 1, p = 0;
      int i;
      for (i = m - 1; i >= l; i--) {
        double f = s * e[i], b = c * e[i];
        e[i + 1] = (r = sqrt(f * f + g * g));
        if (r == 0) { /* underflow: deflate and restart the sweep */
          d[i + 1] -= p;
          e[m] = 0;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2.0 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (r == 0 && i >= l) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  return 0;
}

/* The scalar QL above in lockstep over the FB_NB lanes: lane L rotates at i only while
 * l ≤ i < m_L (its own split point), others keep their state. 0, or −1 when some lane needs
 * the scalar path. */
static int fb_ql_batch(int n, fb_vd *restrict d, fb_vd *restrict e, const fb_vd *floor) {
  const fb_vd zero = {0}, one = zero + 1.0;
  const fb_vi absmask = (fb_vi){0} + INT64_MAX;
  enum { V = FB_NV };
  for (int l = 0; l < n; l++) {
    for (int iter = 0;; iter++) {
      fb_vi mv[V], alive[V], bad = {0};
      fb_vd g[V], s[V], c[V], p[V];
      int mmax = l;
      for (int h = 0; h < V; h++) { /* split points m_L: first m ≥ l with e_m negligible */
        fb_vi found = {0};
        mv[h] = found + (n - 1);
        for (int m = l; m < n - 1; m++) {
          fb_vd ae = (fb_vd)((fb_vi)e[m * V + h] & absmask), a0 = (fb_vd)((fb_vi)d[m * V + h] & absmask);
          fb_vd a1 = (fb_vd)((fb_vi)d[(m + 1) * V + h] & absmask);
          fb_vi now = (ae <= 0x1p-53 * (a0 + a1) + floor[h]) & ~found;
          mv[h] = (now & m) | (~now & mv[h]);
          found |= now;
          int all = 1;
          for (int j = 0; j < FB_NL; j++) all &= found[j] != 0;
          if (all) break;
        }
        for (int j = 0; j < FB_NL; j++) mmax = mv[h][j] > mmax ? (int)mv[h][j] : mmax;
      }
      if (mmax == l) break;
      if (iter == 60) return -1;
      for (int h = 0; h < V; h++) { /* Wilkinson shift g, per lane */
        fb_vi lv = {0};
        lv += l;
        alive[h] = mv[h] > lv;
        fb_vd el = fb_vsel(alive[h], e[l * V + h], one), dm;
        for (int j = 0; j < FB_NL; j++) dm[j] = d[mv[h][j] * V + h][j];
        fb_vd gg = (d[(l + 1) * V + h] - d[l * V + h]) / (2.0 * el), r = fb_vsqrt(gg * gg + 1.0);
        g[h] = dm - d[l * V + h] + el / (gg + fb_vsel(gg < zero, -r, r));
        s[h] = c[h] = one;
        p[h] = zero;
      }
      for (int i = mmax - 1; i >= l; i--) {
        fb_vi iv = {0};
        iv += i;
        for (int h = 0; h < V; h++) {
          fb_vi act = alive[h] & (iv < mv[h]);
          fb_vd ei = e[i * V + h], f = s[h] * ei, b = c[h] * ei, x = f * f + g[h] * g[h];
          fb_vd r = fb_vsqrt(x), ix = one / x; /* s = f/r = f·r/x: sqrt and division in parallel */
          bad |= act & (x == zero);
          fb_vd sn = f * r * ix, cn = g[h] * r * ix, gg = d[(i + 1) * V + h] - p[h];
          fb_vd rr = (d[i * V + h] - gg) * sn + 2.0 * cn * b, pn = sn * rr;
          e[(i + 1) * V + h] = fb_vsel(act, r, e[(i + 1) * V + h]);
          d[(i + 1) * V + h] = fb_vsel(act, gg + pn, d[(i + 1) * V + h]);
          s[h] = fb_vsel(act, sn, s[h]);
          c[h] = fb_vsel(act, cn, c[h]);
          p[h] = fb_vsel(act, pn, p[h]);
          g[h] = fb_vsel(act, cn * rr - b, g[h]);
        }
      }
      for (int j = 0; j < FB_NL; j++)
        if (bad[j]) return -1;
      for (int h = 0; h < V; h++) {
        d[l * V + h] = fb_vsel(alive[h], d[l * V + h] - p[h], d[l * V + h]);
        e[l * V + h] = fb_vsel(alive[h], g[h], e[l * V + h]);
        for (int j = 0; j < FB_NL; j++)
          if (alive[h][j]) e[mv[h][j] * V + h][j] = 0;
      }
    }
  }
  return 0;
}

/* Σ √max(μ, 0) over the eigenvalues of each lane's matrix in fb->bm (destroyed) → out[lane]. */
static void fb_sqrt_trace_batch(fb_data *fb, double *out) {
  const int n = fb->n, V = FB_NV;
  fb_vd *d = fb->bd, *e = fb->be;
  fb_vd floor[FB_NV];
  fb_tridiag_batch(n, fb->bm, d, e, fb->bv, fb->bp);
  for (int L = 0; L < FB_NB; L++) { /* scale of each matrix, for the split test's floor */
    int h = L / FB_NL, j = L % FB_NL;
    double a = 0;
    for (int i = 0; i < n; i++) {
      double x = fabs(d[i * V + h][j]) + fabs(e[i * V + h][j]);
      a = x > a ? x : a;
    }
    floor[h][j] = 0x1p-60 * a;
  }
  memcpy(fb->bd0, d, sizeof(fb_vd) * (size_t)n * V * 2); /* bd, be are contiguous */
  int ok = fb_ql_batch(n, d, e, floor) == 0;
  for (int L = 0; L < FB_NB; L++) {
    int h = L / FB_NL, j = L % FB_NL;
    double acc = 0, *ds = fb->qs, *es = fb->qs + n;
    for (int i = 0; i < n; i++) {
      ds[i] = ok ? d[i * V + h][j] : fb->bd0[i * V + h][j];
      es[i] = fb->bd0[(n + i) * V + h][j];
    }
    if (!ok && fb_ql_scalar(n, ds, es, floor[h][j])) {
      out[L] = NAN;
      continue;
    }
    for (int i = 0; i < n; i++) acc += ds[i] > 0 ? sqrt(ds[i]) : 0.0;
    out[L] = acc;
  }
}

/* W2 pieces of block c at time t into lane j (SPEC §2 "W2 curves"): builds
 * M = Rᵀ K R in fb->bm, K* = R Rᵀ with R = Σ_t^{1/2}(I − κ z zᵀ), z = Σ_t^{−1/2} w, θ = ᾱ/S,
 * τ = θ‖z‖², κ‖z‖² = 1 − √(1 − τ) (so (I − κzzᵀ)² = I − θzzᵀ); eig(M) = eig(K K*). Returns
 * tr K + tr K*. With G = diag(√Σ_t) K diag(√Σ_t), g = G z, ω = zᵀg, y = κ g − ½κ²ω z:
 * M = G − y zᵀ − z yᵀ. */
static double fb_block_w2_matrix(fb_data *fb, int c, double ab, int lane) {
  const int n = fb->n;
  const double *restrict lam = fb->lam + (size_t)c * n, *restrict wv = fb->wv + (size_t)c * n;
  const double *restrict K = fb->K + (size_t)c * n * n;
  double *restrict rs = fb->vwork, *restrict zz = fb->vwork + n, *restrict g = fb->vwork + 2 * n;
  double *restrict y = fb->vwork + 3 * n;
  double trk = 0, trs = 0, z2 = 0, w2s = 0, om = 0;
  for (int e = 0; e < n; e++) {
    double st = ab * lam[e] + 1 - ab;
    rs[e] = sqrt(st);
    zz[e] = st > 0 ? wv[e] / rs[e] : 0.0;
    z2 += zz[e] * zz[e];
    w2s += wv[e] * wv[e];
    trk += K[e * n + e];
    trs += st;
  }
  trs -= ab * w2s / fb->S[c];
  double tau = fmin(ab / fb->S[c] * z2, 1.0);
  double kap = z2 > 0 ? tau / (1 + sqrt(1 - tau)) / z2 : 0.0;
  for (int e = 0; e < n; e++) {
    double a = 0;
#pragma omp simd reduction(+ : a)
    for (int f = 0; f < n; f++) a += K[e * n + f] * rs[f] * zz[f];
    g[e] = rs[e] * a;
    om += zz[e] * g[e];
  }
  for (int e = 0; e < n; e++) y[e] = kap * g[e] - 0.5 * kap * kap * om * zz[e];
  double *restrict row = fb->qs;
  for (int e = 0; e < n; e++) {
    double re = rs[e], ye = y[e], ze = zz[e];
    /* plain double stores into lane `lane` of entry (e, f) of the batch */
    double *dst = (double *)(fb->bm + (size_t)e * n * FB_NV + lane / FB_NL) + lane % FB_NL;
#pragma omp simd
    for (int f = 0; f < n; f++) row[f] = re * rs[f] * K[e * n + f] - ye * zz[f] - ze * y[f];
    for (int f = 0; f < n; f++) dst[(size_t)f * FB_NV * FB_NL] = row[f];
  }
  return trk + trs;
}

/* Whether every entry of the K blocks is finite (W2 of a diverged law is +inf; the eigen
 * kernels are not run on inf/NaN). */
static int fb_K_finite(const fb_data *fb) {
  size_t n = (size_t)fb->nc * fb->n * fb->n;
  double acc = 0;
  for (size_t i = 0; i < n; i++) acc += fb->K[i] * 0.0; /* NaN iff some entry is inf or NaN */
  return acc == 0.0;
}

/* General path (the law does not commute with the reference): the fast one-stage step of
 * every block (when step; else only evaluates), fused per batch of FB_NB blocks with the
 * squared covariance part of W2 at ᾱ_w (returned when want):
 * Σ_c wgt_c [tr K + tr K* − 2 Σ √eig]. */
static double fb_general_pass(fb_data *fb, int step, double sig2, int want, double abw) {
  double total = 0, tr[FB_NB], sq[FB_NB];
  if (!step && want && !fb_K_finite(fb)) return INFINITY;
  for (int c0 = 0; c0 < fb->nc; c0 += FB_NB) {
    int nl = fb->nc - c0 < FB_NB ? fb->nc - c0 : FB_NB;
    for (int j = 0; j < nl; j++)
      if (step) fb_block_step(fb, c0 + j, sig2);
    if (!want) continue;
    if (step) { /* a block may have overflowed in this step */
      double acc = 0;
      for (size_t i = (size_t)c0 * fb->n * fb->n; i < (size_t)(c0 + nl) * fb->n * fb->n; i++) acc += fb->K[i] * 0.0;
      if (acc != 0.0) {
        want = 0;
        total = INFINITY;
        continue;
      }
    }
    if (nl < FB_NB) memset(fb->bm, 0, sizeof(fb_vd) * FB_NV * (size_t)fb->n * fb->n); /* idle lanes: zero matrices */
    for (int j = 0; j < nl; j++) tr[j] = fb_block_w2_matrix(fb, c0 + j, abw, j);
    fb_sqrt_trace_batch(fb, sq);
    for (int j = 0; j < nl; j++) total += fb->wgt[c0 + j] * (tr[j] - 2 * sq[j]);
  }
  return total;
}

/* Closed-form W2² of the commuting path at ᾱ_w: Σ wgt (√k − √(ᾱ_w dref + 1 − ᾱ_w))².
 * (Functions with sums over a block are not multi-versioned: compiled once, their vector sums
 * round the same on every CPU.) */
static double fb_commuting_w2(const fb_data *fb, double abw) {
  const int n = fb->n;
  const double *restrict dref = fb->dref, *restrict k = fb->kd;
  double total = 0;
  for (int c = 0; c < fb->nc; c++) {
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int e = 0; e < n; e++) {
      double ks = abw * dref[c * n + e] + 1 - abw; /* ≥ 0 up to the rounding of dsyev at ᾱ = 1 */
      double dl = sqrt(k[c * n + e]) - (ks > 0 ? sqrt(ks) : 0.0);
      acc += dl * dl;
    }
    total += fb->wgt[c] * acc;
  }
  return total;
}

/* Commuting path (exact-score algorithms: H_ᾱ = (ᾱ Σ_ref + (1 − ᾱ) I)⁻¹): every step is, per
 * eigenvalue dref of Σ_ref, the program on scalars with h_j = 1/(ᾱ_j dref + 1 − ᾱ_j):
 * k ← p² k + noise (one stage at y: p = scale (b_y − b₁ h)). */
GDS_LAW_CLONES static void fb_commuting_step(fb_data *fb, const gds_step *st) {
  const double *restrict dref = fb->dref;
  double *restrict k = fb->kd;
  const int cn = fb->nc * fb->n;
  const double sig2 = st->noise;
  if (st->nstage == 1 && st->stage[0].a_y == 1.0) {
    double ab = st->stage[0].abar, by = st->b_y, bb = st->b[0], scale = st->scale;
#pragma omp simd
    for (int i = 0; i < cn; i++) {
      double pf = (by - bb / (ab * dref[i] + 1 - ab)) * scale;
      k[i] = pf * pf * k[i] + sig2;
    }
    return;
  }
  double h[GDS_STAGE_MAX], pf, q;
  for (int i = 0; i < cn; i++) {
    for (int j = 0; j < st->nstage; j++) h[j] = 1.0 / (st->stage[j].abar * dref[i] + 1 - st->stage[j].abar);
    gds_step_scalar(st, h, NULL, &pf, &q);
    k[i] = pf * pf * k[i] + sig2;
  }
}

/* Σ_post blocks' eigen-decomposition, once per law (Q_c diag(pd) Q_cᵀ). */
static int fb_prepare_posterior_basis(fb_data *fb) {
  if (fb->have_q) return GDS_SUCCESS;
  const int n = fb->n;
  double q;
  if (!fb->Q) GDS_CALL(gds_malloc_aligned(sizeof(double) * (size_t)fb->nc * n * n, &fb->Q));
  if (LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'U', n, fb->mwork, n, fb->eig, &q, -1))
    GDS_ERROR(GDS_ERR_RUNTIME, "dsyev workspace query failed");
  int lw = (int)q + 1;
  double *work;
  GDS_CALL(GDS_ALLOC(work, lw));
  for (int c = 0; c < fb->nc; c++) {
    double *Qc = fb->Q + (size_t)c * n * n; /* column-major: eigenvector j at Qc[j·n ..] */
    fb_block_post(fb, c, NULL, Qc);
    int info = LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'U', n, Qc, n, fb->pd + (size_t)c * n, work, lw);
    if (info) {
      free(work);
      GDS_ERROR(GDS_ERR_RUNTIME, "eigen-decomposition of a posterior block failed (dsyev info %d)", info);
    }
  }
  free(work);
  fb->have_q = 1;
  return GDS_SUCCESS;
}

/* K blocks from the commuting state: diag(k) (prior basis) or Q diag(k) Qᵀ (posterior). */
static void fb_commuting_to_K(fb_data *fb, int posterior_basis) {
  const int n = fb->n;
  memset(fb->K, 0, sizeof(double) * (size_t)fb->nc * n * n);
  for (int c = 0; c < fb->nc; c++) {
    double *K = fb->K + (size_t)c * n * n;
    const double *k = fb->kd + (size_t)c * n, *Qc = fb->Q + (size_t)c * n * n;
    if (!posterior_basis) {
      for (int e = 0; e < n; e++) K[e * n + e] = k[e];
      continue;
    }
    for (int j = 0; j < n; j++)
      for (int e = 0; e < n; e++) {
        double a = k[j] * Qc[j * n + e];
        for (int f = 0; f < n; f++) K[e * n + f] += a * Qc[j * n + f];
      }
  }
}

/* Mean step with one score stage at y, for one seed (docs/maths.md §5.2), per block:
 * m ← p∘m + γ u (ρ − uᵀm), plus at class 0 the prior-mean terms scale b₁ √ᾱ (μ'/Σ_ᾱ +
 * C⁻¹ u uᵀμ'). Fused with ‖m − √ᾱ_w q'‖² (returned). */
static double fb_step_mean_fast(fb_data *fb, const gds_step *st, fb_seed *sd, double sabw, int want_w2) {
  const int n = fb->n;
  double ab = st->stage[0].abar, sab = sqrt(ab), acc = 0;
  for (int c = 0; c < fb->nc; c++) {
    const double *restrict p = fb->p + (size_t)c * n, *restrict u = fb->u + (size_t)c * n;
    double *restrict mr = sd->mre + (size_t)c * n, *restrict mi = sd->mim + (size_t)c * n;
    double g = fb->gam[c], rr = sd->rre[c], ri = sd->rim[c], umr = 0, umi = 0;
    if (c == 0) rr += sab * u[0] * fb->mu0; /* C⁻¹ u uᵀ(√ᾱ μ') part of H μ */
#pragma omp simd reduction(+ : umr, umi)
    for (int e = 0; e < n; e++) {
      umr += u[e] * mr[e];
      umi += u[e] * mi[e];
    }
    double cr = g * (rr - umr), ci = g * (ri - umi);
#pragma omp simd
    for (int e = 0; e < n; e++) {
      mr[e] = p[e] * mr[e] + cr * u[e];
      mi[e] = p[e] * mi[e] + ci * u[e];
    }
    if (c == 0) mr[0] += st->b[0] * st->scale * sab * fb->mu0 / (ab * fb->lam[0] + 1 - ab);
    if (want_w2) {
      const double *restrict qr = sd->qre + (size_t)c * n, *restrict qi = sd->qim + (size_t)c * n;
      double a = 0;
#pragma omp simd reduction(+ : a)
      for (int e = 0; e < n; e++) {
        double dr = mr[e] - sabw * qr[e], di = mi[e] - sabw * qi[e];
        a += dr * dr + di * di;
      }
      acc += fb->wgt[c] * a;
    }
  }
  return acc;
}

/* ‖m − √ᾱ q'‖² of one seed. */
static double fb_mean2(const fb_data *fb, const fb_seed *sd, double sab) {
  double acc = 0;
  size_t n = fb->n;
  for (int c = 0; c < fb->nc; c++) {
    double a = 0;
    for (size_t e = 0; e < n; e++) {
      size_t ce = c * n + e;
      double dr = sd->mre[ce] - sab * sd->qre[ce], di = sd->mim[ce] - sab * sd->qim[ce];
      a += dr * dr + di * di;
    }
    acc += fb->wgt[c] * a;
  }
  return acc;
}

/* ---- general steps: linear maps applied to vectors of the block coordinates ---- */

/* Score of a program stage on vectors (docs/maths.md §5.2): per class c,
 * k = −Σ_ᾱ⁻¹∘x' + C⁻¹ (ρ_c − uᵀx') u with x' = x − √ᾱ μ' (μ' at class 0, member 0).
 * Covariance rows (c ≥ 0: nvec rows of block c) take the linear part only (ρ = 0, μ' = 0);
 * means (c < 0: one whole state vector) the real or imaginary part of ρ. */
typedef struct fb_score_ctx {
  fb_data *fb;
  const gds_step *st;
  int c, nvec;
  const double *rho; /* [nc] or NULL */
  int with_mu;
} fb_score_ctx;

static int fb_score(void *ctx, int j, const double *x, double *k) {
  const fb_score_ctx *sc = ctx;
  const fb_data *fb = sc->fb;
  const int n = fb->n;
  const size_t cn = (size_t)fb->nc * n;
  int c0 = sc->c >= 0 ? sc->c : 0, c1 = sc->c >= 0 ? sc->c + 1 : fb->nc, nv = sc->c >= 0 ? sc->nvec : 1;
  double mu = sc->with_mu ? sqrt(sc->st->stage[j].abar) * fb->mu0 : 0.0;
  for (int c = c0; c < c1; c++) {
    const double *ist = fb->sist + j * cn + (size_t)c * n, *u = fb->su + j * cn + (size_t)c * n;
    double ci = fb->scinv[(size_t)j * fb->nc + c], rho = sc->rho ? sc->rho[c] : 0.0;
    for (int v = 0; v < nv; v++) {
      size_t off = sc->c >= 0 ? (size_t)v * n : (size_t)c * n;
      const double *xv = x + off;
      double *kv = k + off, ux = 0;
      for (int e = 0; e < n; e++) ux += u[e] * xv[e];
      if (c == 0) ux -= u[0] * mu;
      double g = ci * (rho - ux);
      for (int e = 0; e < n; e++) kv[e] = -ist[e] * xv[e] + g * u[e];
      if (c == 0) kv[0] += ist[0] * mu;
    }
  }
  return GDS_SUCCESS;
}

/* DDRM step (SPEC §7.2) on vectors of the block coordinates: per class the one row-space
 * coordinate v₁ = |a|/‖a‖ (singular value sv = ‖a‖) and ker A (the rest of the block):
 * with X = J∘x + (1 − √ᾱ_t J)∘μ', E = (x − √ᾱ_t X)/√(1 − ᾱ_t),
 * out = √ᾱ_s [X + ce_K E + v₁((cx₁ − 1) v₁ᵀX + (ce₁ − ce_K) v₁ᵀE + cy₁ ȳ)],
 * ȳ = ṽ(κ)/‖a‖ (ce_K: the kernel's coefficients, cx_K = 1, cy_K = 0). Covariance rows take the
 * linear part (μ' = 0, ȳ = 0). */
typedef struct fb_ddrm_ctx {
  fb_data *fb;
  const gds_step *st;
  gds_ddrm_coef ck, *c1; /* kernel; row coordinate per class [nc] */
  const double *rho;     /* [nc] re or im part of ρ for means, NULL for covariances */
  int with_mu;
} fb_ddrm_ctx;

static void fb_ddrm_apply(const fb_ddrm_ctx *dc, int c, int nvec, const double *x, double *out) {
  const fb_data *fb = dc->fb;
  const int n = fb->n;
  const double at = dc->st->abar_t, sat = sqrt(at), isq = 1.0 / sqrt(1 - at), sas = sqrt(dc->st->abar_s);
  const double *lam = fb->lam + (size_t)c * n, *al = fb->al + (size_t)c * n;
  const double s = fb->sv[c];
  const gds_ddrm_coef k1 = s > 0 ? dc->c1[c] : dc->ck;
  double *X = fb->vwork, *E = fb->vwork + n;
  for (int v = 0; v < nvec; v++) {
    const double *xv = x + (size_t)v * n;
    double *ov = out + (size_t)v * n, vx = 0, ve = 0;
    for (int e = 0; e < n; e++) {
      double J = sat * lam[e] / (at * lam[e] + 1 - at), mu = (dc->with_mu && c == 0 && e == 0) ? fb->mu0 : 0.0;
      X[e] = J * xv[e] + (1 - sat * J) * mu;
      E[e] = (xv[e] - sat * X[e]) * isq;
      if (s > 0) {
        vx += al[e] / s * X[e];
        ve += al[e] / s * E[e];
      }
    }
    double ybar = 0;
    if (dc->rho && s > 0) ybar = (dc->rho[c] + (dc->with_mu && c == 0 ? al[0] * fb->mu0 : 0.0)) / s;
    double g = (k1.cx - 1) * vx + (k1.ce - dc->ck.ce) * ve + k1.cy * ybar;
    for (int e = 0; e < n; e++) ov[e] = sas * (X[e] + dc->ck.ce * E[e] + (s > 0 ? g * al[e] / s : 0.0));
  }
}

/* A linear map applied to the n rows of block c: rows in, rows out (n·n values each). */
typedef int (*fb_rows_fn)(fb_data *fb, void *ctx, int c, const double *in, double *out);

static int fb_rows_program(fb_data *fb, void *ctx, int c, const double *in, double *out) {
  const gds_step *st = ctx;
  fb_score_ctx sc = {fb, st, c, fb->n, NULL, 0};
  size_t nn = (size_t)fb->n * fb->n;
  GDS_CALL(gds_step_apply(st, nn, in, out, fb->kwork + 2 * nn, fb_score, &sc));
  return GDS_SUCCESS;
}

static int fb_rows_ddrm(fb_data *fb, void *ctx, int c, const double *in, double *out) {
  fb_ddrm_apply(ctx, c, fb->n, in, out);
  return GDS_SUCCESS;
}

/* K_c ← P K_c Pᵀ for every block (K symmetric: P applied to the rows gives (P K)ᵀ; transposed,
 * P applied again gives P K Pᵀ), symmetrised against rounding drift. */
static int fb_sandwich(fb_data *fb, fb_rows_fn fn, void *ctx) {
  const int n = fb->n;
  const size_t nn = (size_t)n * n;
  double *T1 = fb->kwork, *T2 = fb->kwork + nn;
  for (int c = 0; c < fb->nc; c++) {
    double *K = fb->K + (size_t)c * nn;
    GDS_CALL(fn(fb, ctx, c, K, T1));
    for (int e = 0; e < n; e++)
      for (int f = 0; f < n; f++) T2[e * n + f] = T1[f * n + e];
    GDS_CALL(fn(fb, ctx, c, T2, T1));
    for (int e = 0; e < n; e++)
      for (int f = 0; f <= e; f++) K[e * n + f] = K[f * n + e] = 0.5 * (T1[e * n + f] + T1[f * n + e]);
  }
  return GDS_SUCCESS;
}

/* ---- evaluation ---- */

typedef struct fb_eval {
  fb_seed *sd;
  double *buf, *tmp; /* seeds; one state vector (nc·n) of work */
  int commuting;
  gds_ddrm_coef *c1; /* [nc] DDRM row coefficients of the current step */
} fb_eval;

static void fb_end(gds_law *law, gds_law_eval *ev) {
  (void)law;
  fb_eval *fe = ev->st;
  if (!fe) return;
  free(fe->buf);
  free(fe->sd);
  free(fe->tmp);
  free(fe->c1);
  free(fe);
  ev->st = NULL;
}

/* Start law (SPEC §7.4, §7.2): N(0, I); the reference law at ᾱ; or DDRM's start, per class
 * K = I + (nu₁ − 1) v₁v₁ᵀ, m = cy₁ ȳ v₁. */
static int fb_begin(gds_law *law, gds_law_eval *ev) {
  fb_data *fb = law->data;
  fb_eval *fe;
  GDS_CALL(GDS_ALLOC(fe, 1));
  ev->st = fe;
  const gds_plan *pl = ev->plan;
  const int n = fb->n, ns = ev->ns, post = ev->alg->target_posterior;
  const size_t cn = (size_t)fb->nc * n, nn = (size_t)n * n;
  fe->commuting = ev->alg->exact_score;
  if (fe->commuting && post) GDS_CALL(fb_prepare_posterior_basis(fb));
  fb->dref = post ? fb->pd : fb->lam;
  GDS_CALL(fb_alloc_seeds(fb, ns, &fe->sd, &fe->buf));
  GDS_CALL(GDS_ALLOC(fe->tmp, 2 * (GDS_STAGE_MAX + 2) * cn));
  GDS_CALL(GDS_ALLOC(fe->c1, fb->nc));
  for (int s = 0; s < ns; s++) fb_measure(law, ev->v[s], &fe->sd[s], post);
  double ab = pl->abar[0], sab = sqrt(ab);
  if (fe->commuting) {
    for (size_t i = 0; i < cn; i++) fb->kd[i] = pl->start == GDS_START_EXACT ? ab * fb->dref[i] + 1 - ab : 1.0;
  } else {
    memset(fb->K, 0, sizeof(double) * cn * n);
    for (int c = 0; c < fb->nc; c++) {
      double *K = fb->K + (size_t)c * nn;
      if (pl->start == GDS_START_EXACT) {
        fb_ref_ctx rc = {ab, !post};
        fb_block_ref(fb, c, &rc, K);
        continue;
      }
      for (int e = 0; e < n; e++) K[e * n + e] = 1.0;
      if (pl->start == GDS_START_DDRM && fb->sv[c] > 0) {
        gds_ddrm_coef c1 = gds_ddrm_start_component(fb->sv[c], pl->start_vs, law->sigma);
        const double *al = fb->al + (size_t)c * n, s2 = fb->sv[c] * fb->sv[c];
        for (int e = 0; e < n; e++)
          for (int f = 0; f < n; f++) K[e * n + f] += (c1.nu - 1) * al[e] * al[f] / s2;
      }
    }
  }
  for (int s = 0; s < ns; s++) {
    fb_seed *sd = &fe->sd[s];
    for (size_t ce = 0; ce < cn; ce++) {
      sd->mre[ce] = pl->start == GDS_START_EXACT ? sab * sd->qre[ce] : 0.0;
      sd->mim[ce] = pl->start == GDS_START_EXACT ? sab * sd->qim[ce] : 0.0;
    }
    if (pl->start != GDS_START_DDRM) continue;
    for (int c = 0; c < fb->nc; c++) {
      double sv = fb->sv[c];
      if (!(sv > 0)) continue;
      gds_ddrm_coef c1 = gds_ddrm_start_component(sv, pl->start_vs, law->sigma);
      const double *al = fb->al + (size_t)c * n;
      double yr = (sd->rre[c] + (c == 0 ? al[0] * fb->mu0 : 0.0)) / sv, yi = sd->rim[c] / sv; /* ȳ = ṽ(κ)/‖a‖ */
      for (int e = 0; e < n; e++) {
        sd->mre[(size_t)c * n + e] = c1.cy * yr * al[e] / sv;
        sd->mim[(size_t)c * n + e] = c1.cy * yi * al[e] / sv;
      }
    }
  }
  return GDS_SUCCESS;
}

static int fb_record(gds_law *law, gds_law_eval *ev, gds_law_rec *rec) {
  fb_data *fb = law->data;
  fb_eval *fe = ev->st;
  double c2 = fe->commuting ? fb_commuting_w2(fb, rec->abar) : fb_general_pass(fb, 0, 0, 1, rec->abar);
  rec->cov = sqrt(fmax(0.0, c2));
  for (int s = 0; s < ev->ns; s++) rec->mean[s] = sqrt(fb_mean2(fb, &fe->sd[s], sqrt(rec->abar)));
  return GDS_SUCCESS;
}

/* Means of every seed through a general program (re and im parts follow the same real map). */
static int fb_means_program(gds_law *law, gds_law_eval *ev, const gds_step *st) {
  fb_data *fb = law->data;
  fb_eval *fe = ev->st;
  const size_t cn = (size_t)fb->nc * fb->n;
  for (int s = 0; s < ev->ns; s++) {
    fb_seed *sd = &fe->sd[s];
    fb_score_ctx re = {fb, st, -1, 1, sd->rre, 1}, im = {fb, st, -1, 1, sd->rim, 0};
    GDS_CALL(gds_step_apply(st, cn, sd->mre, sd->mre, fe->tmp, fb_score, &re));
    GDS_CALL(gds_step_apply(st, cn, sd->mim, sd->mim, fe->tmp, fb_score, &im));
  }
  return GDS_SUCCESS;
}

static int fb_step(gds_law *law, gds_law_eval *ev, int j, gds_law_rec *rec) {
  fb_data *fb = law->data;
  fb_eval *fe = ev->st;
  const gds_step *st = &ev->plan->step[j];
  const double s2 = law->sigma * law->sigma, sabw = sqrt(rec->abar);
  const int n = fb->n, fast = st->kind == GDS_STEP_SCORE && st->nstage == 1 && st->stage[0].a_y == 1.0;
  double c2 = 0;
  if (st->kind == GDS_STEP_DDRM) {
    const double vs = gds_ddrm_vs(st->abar_s);
    fb_ddrm_ctx dc = {fb, st, gds_ddrm_component(&ev->cfg->alg, 0.0, vs, law->sigma), fe->c1, NULL, 0};
    for (int c = 0; c < fb->nc; c++) fe->c1[c] = gds_ddrm_component(&ev->cfg->alg, fb->sv[c], vs, law->sigma);
    GDS_CALL(fb_sandwich(fb, fb_rows_ddrm, &dc));
    for (int c = 0; c < fb->nc; c++) { /* noise ᾱ_s (nu_K I + (nu₁ − nu_K) v₁v₁ᵀ) */
      double *K = fb->K + (size_t)c * n * n, sv = fb->sv[c];
      const double *al = fb->al + (size_t)c * n, d1 = sv > 0 ? fe->c1[c].nu - dc.ck.nu : 0.0;
      for (int e = 0; e < n; e++) {
        K[e * n + e] += st->abar_s * dc.ck.nu;
        if (d1 != 0)
          for (int f = 0; f < n; f++) K[e * n + f] += st->abar_s * d1 * al[e] * al[f] / (sv * sv);
      }
    }
    if (rec->want) c2 = fb_general_pass(fb, 0, 0, 1, rec->abar);
    for (int s = 0; s < ev->ns; s++) {
      fb_seed *sd = &fe->sd[s];
      fb_ddrm_ctx re = dc, im = dc;
      re.rho = sd->rre;
      re.with_mu = 1;
      im.rho = sd->rim;
      for (int c = 0; c < fb->nc; c++) {
        double *xr = sd->mre + (size_t)c * n, *xi = sd->mim + (size_t)c * n;
        fb_ddrm_apply(&re, c, 1, xr, fe->tmp);
        memcpy(xr, fe->tmp, sizeof(double) * n);
        fb_ddrm_apply(&im, c, 1, xi, fe->tmp);
        memcpy(xi, fe->tmp, sizeof(double) * n);
      }
    }
  } else if (fast) {
    gds_guidance g = ev->alg->guidance(st->stage[0].abar, s2, ev->cfg->alpha_dps);
    fb_coef_fast(fb, st, g);
    if (fe->commuting) {
      fb_commuting_step(fb, st);
      if (rec->want) c2 = fb_commuting_w2(fb, rec->abar);
    } else c2 = fb_general_pass(fb, 1, st->noise, rec->want, rec->abar);
    for (int s = 0; s < ev->ns; s++) {
      double m2 = fb_step_mean_fast(fb, st, &fe->sd[s], sabw, rec->want);
      rec->mean[s] = rec->want ? sqrt(m2) : NAN;
    }
    rec->cov = rec->want ? sqrt(fmax(0.0, c2)) : NAN;
    return GDS_SUCCESS;
  } else {
    fb_coef_stages(fb, ev, st, s2);
    if (fe->commuting) fb_commuting_step(fb, st);
    else {
      GDS_CALL(fb_sandwich(fb, fb_rows_program, (void *)st));
      for (size_t c = 0; c < (size_t)fb->nc; c++)
        for (int e = 0; e < n; e++) fb->K[c * n * n + (size_t)e * (n + 1)] += st->noise;
    }
    if (rec->want) c2 = fe->commuting ? fb_commuting_w2(fb, rec->abar) : fb_general_pass(fb, 0, 0, 1, rec->abar);
    GDS_CALL(fb_means_program(law, ev, st));
  }
  rec->cov = rec->want ? sqrt(fmax(0.0, c2)) : NAN;
  for (int s = 0; s < ev->ns; s++) rec->mean[s] = rec->want ? sqrt(fb_mean2(fb, &fe->sd[s], sabw)) : NAN;
  return GDS_SUCCESS;
}

static int fb_output(gds_law *law, gds_law_eval *ev, double **mean, double *var) {
  fb_data *fb = law->data;
  fb_eval *fe = ev->st;
  for (int s = 0; s < ev->ns && mean; s++)
    if (mean[s]) fb_inverse(fb, fe->sd[s].mre, fe->sd[s].mim, mean[s]);
  if (var) {
    if (fe->commuting) fb_commuting_to_K(fb, ev->alg->target_posterior);
    GDS_CALL(fb_diag_pixel(fb, fb_block_state, NULL, var));
  }
  return GDS_SUCCESS;
}

/* Dense pixel-basis matrix of a block-diagonal operator, column by column: B e_j by
 * forward transform, block products, inverse transform (d ≤ a few hundred: tests). */
static int fb_dense(fb_data *fb, fb_block_fn blk, const void *ctx, double *out) {
  int d = fb->d, n = fb->n;
  size_t cn = (size_t)fb->nc * n;
  double *x, *xr, *xi, *yr, *yi, *B, *col;
  GDS_CALL(GDS_ALLOC(x, 2 * (size_t)d + 4 * cn + (size_t)fb->nc * n * n));
  col = x + d;
  xr = col + d;
  xi = xr + cn;
  yr = xi + cn;
  yi = yr + cn;
  B = yi + cn;
  for (int c = 0; c < fb->nc; c++) blk(fb, c, ctx, B + (size_t)c * n * n);
  for (int j = 0; j < d; j++) {
    memset(x, 0, sizeof(double) * (size_t)d);
    x[j] = 1;
    fb_forward(fb, x, xr, xi);
    for (int c = 0; c < fb->nc; c++)
      for (int e = 0; e < n; e++) {
        double ar = 0, ai = 0;
        for (int f = 0; f < n; f++) {
          double b = B[(size_t)c * n * n + e * n + f];
          ar += b * xr[(size_t)c * n + f];
          ai += b * xi[(size_t)c * n + f];
        }
        yr[(size_t)c * n + e] = ar;
        yi[(size_t)c * n + e] = ai;
      }
    fb_inverse(fb, yr, yi, col);
    for (int i = 0; i < d; i++) out[(size_t)i * d + j] = col[i];
  }
  free(x);
  return GDS_SUCCESS;
}

static int fb_moments(gds_law *law, gds_law_eval *ev, double abar, double *mean, double *cov, double *ref_mean,
                      double *ref_cov) {
  fb_data *fb = law->data;
  fb_eval *fe = ev->st;
  fb_seed *sd = &fe->sd[0];
  double sab = sqrt(abar);
  if (mean) fb_inverse(fb, sd->mre, sd->mim, mean);
  if (ref_mean) {
    size_t cn = (size_t)fb->nc * fb->n;
    for (size_t ce = 0; ce < cn; ce++) {
      sd->qre[ce] *= sab;
      sd->qim[ce] *= sab;
    }
    fb_inverse(fb, sd->qre, sd->qim, ref_mean);
  }
  if (cov) {
    if (fe->commuting) fb_commuting_to_K(fb, ev->alg->target_posterior);
    GDS_CALL(fb_dense(fb, fb_block_state, NULL, cov));
  }
  fb_ref_ctx rc = {abar, !ev->alg->target_posterior};
  if (ref_cov) GDS_CALL(fb_dense(fb, fb_block_ref, &rc, ref_cov));
  return GDS_SUCCESS;
}

const gds_law_backend gds_law_backend_fourier_block = {
    .name = "fourier-block",
    .setup = fb_setup,
    .destroy = fb_destroy,
    .posterior = fb_posterior,
    .seed_bytes = fb_seed_bytes,
    .begin = fb_begin,
    .step = fb_step,
    .record = fb_record,
    .output = fb_output,
    .moments = fb_moments,
    .end = fb_end,
};
