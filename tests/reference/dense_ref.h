/* Independent dense brute-force reference of SPEC §1–§2, for the tests only.
 *
 * Written directly from the SPEC with plain d×d row-major matrices (d ≤ 256), BLAS dgemm for
 * matrix products, LAPACKE for the linear solves / symmetric eigen-decompositions / SVD, and
 * long double accumulation in matrix-vector products and traces. It shares no code with src/ (no gdsweep prior, operator, schedule,
 * law or w2 function is called): it is the yard-stick the production Fourier/ScaLAPACK
 * backends are compared against. Simple and obviously correct, not fast.
 *
 * Conventions
 *  - Images are H×W, row-major, pixel (r, c) ↔ index r·W + c, d = H·W.
 *  - A "kernel" k is an H×W array indexed by the periodic offset: k[r·W + c] = k(p) with
 *    p ≡ (r, c) mod (H, W). Periodic convolution (k ⊛ x)(i) = Σ_j k(i − j) x(j).
 *  - Every function returning int returns DREF_OK (0) on success, a negative DREF_E* code on
 *    failure (bad input, allocation, LAPACK failure).
 */
#ifndef GDS_DENSE_REF_H
#define GDS_DENSE_REF_H

enum { DREF_OK = 0, DREF_EINPUT = -1, DREF_ENOMEM = -2, DREF_ELAPACK = -3 };

/* Schedule of SPEC §1: beta[t] for t = 0..T (beta[0] = 0 is ignored), every β_t (t ≥ 1) in
 * (0, 1). ᾱ_t = ∏_{s≤t} (1 − β_s), ᾱ_0 = 1. variance_tilde = 0: σ_t² = β_t ("beta");
 * = 1: σ_t² = β̃_t = β_t (1 − ᾱ_{t−1})/(1 − ᾱ_t) ("beta_tilde"). Always σ_1² = 0. */
typedef struct {
  int T;
  const double *beta;
  int variance_tilde;
} dref_schedule;

typedef enum { DREF_NONE, DREF_DPS, DREF_PIGDM, DREF_CGDM, DREF_DDRM } dref_alg;

/* Exact law of the conditional DDPM sampler (SPEC §2) by the dense recursion
 *   Σ_t = ᾱ_t Σ + (1 − ᾱ_t) I,  J_t = sqrt(ᾱ_t) Σ Σ_t⁻¹,
 *   C_t: dps σ²/α_dps I_m; pigdm (1 − ᾱ_t) A Aᵀ + σ² I_m; cgdm (1 − ᾱ_t) A Σ Σ_t⁻¹ Aᵀ + σ² I_m,
 *   H_t = Σ_t⁻¹ + J_t Aᵀ C_t⁻¹ A J_t            (none: H_t = Σ_t⁻¹),
 *   P_t = (I − β_t H_t)/sqrt(α_t),
 *   b_t = β_t/sqrt(α_t) [sqrt(ᾱ_t) H_t μ + J_t Aᵀ C_t⁻¹ (v − A μ)]   (none: no second term),
 *   m_{t−1} = P_t m_t + b_t,  K_{t−1} = P_t K_t P_tᵀ + σ_t² I,  m_T = 0, K_T = I,
 * and of the reference law at t: N(sqrt(ᾱ_t) μ_post, ᾱ_t Σ_post + (1 − ᾱ_t) I) (posterior path),
 * or for DREF_NONE the prior path N(sqrt(ᾱ_t) μ, Σ_t).
 *
 * Inputs: mu[d], Sigma[d*d] (symmetric PSD, may be singular), A[m*d] (m ≥ 1), sigma > 0, v[m],
 * alpha_dps > 0 (used by DREF_DPS only), schedule s. d ≤ 256 is the intended size.
 * Outputs (each may be NULL), indexed by t = 0..T:
 *   w2[T+1], w2_mean[T+1], w2_cov[T+1]      W2 curves of SPEC §2 (via dref_w2_gaussian);
 *   mean_snap[d], cov_snap[d*d]            sampler law (m_t, K_t) at t = t_snap;
 *   ref_mean_snap[d], ref_cov_snap[d*d]    reference law at t = t_snap;
 *   post_mean[d], post_cov[d*d]            posterior N(μ_post, Σ_post) (computed for every alg).
 * t_snap must lie in [0, T] when a snapshot output is non-NULL (ignored otherwise). */
int dref_law(int d, int m, const double *mu, const double *Sigma, const double *A, double sigma,
             const double *v, dref_alg alg, double alpha_dps, const dref_schedule *s, double *w2,
             double *w2_mean, double *w2_cov, int t_snap, double *mean_snap, double *cov_snap,
             double *ref_mean_snap, double *ref_cov_snap, double *post_mean, double *post_cov);

/* Samplers of SPEC §7.1, §7.2, §7.4 (respacing, DDIM(η), DDRM(η, η_b), exact init) and
 * w2_final of §7.5, by the same dense brute force, written from the SPEC formulas:
 *  - times τ_0 = 0, τ_k = 1 + (k − 1)·⌊T/S⌋ (k = 1..S), start at τ_S;
 *  - guided score s̃(y) = −H_t y + h_t at t = τ_k (H_t, h_t as in dref_law);
 *  - ddpm: α' = ᾱ_t/ᾱ_s, β' = 1 − α', y_s = (y + β' s̃)/√α' + σ' z, σ'² = β' or
 *    β'(1 − ᾱ_s)/(1 − ᾱ_t), σ'_1 = 0;
 *  - ddim(η): x̂0 = (y + (1 − ᾱ_t) s̃)/√ᾱ_t, ε̂ = −√(1 − ᾱ_t) s̃,
 *    c = η √((1 − ᾱ_s)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_s), y_s = √ᾱ_s x̂0 + √(1 − ᾱ_s − c²) ε̂ + c z;
 *  - ddrm(η, η_b): in an explicit SVD A = U S Vᵀ (LAPACKE_dgesvd; singular values below
 *    1e-12·max are 0), the three cases of §7.2 per spectral coordinate, and its start;
 *  - init exact: the reference law at τ_S.
 * Each step is assembled as y_s = P y + c + noise N(0, N) with d×d matrices P, N.
 * Outputs (each may be NULL): curves [T+1] at the visited times (NaN elsewhere; vp_sde: [K+1]
 * indexed by the step k); w2_final[3]
 * = {w2, mean part, cov part} of the output law against the target N(μ_ref, Σ_ref); the
 * laws at t_snap (must be a visited time when a snapshot is wanted). */
typedef enum {
  DREF_SCHEME_DDPM, /* discrete, or the vp_sde ddpm scheme */
  DREF_SCHEME_DDIM,
  DREF_SCHEME_EM, /* vp_sde (SPEC §7.3) */
  DREF_SCHEME_EI,
  DREF_SCHEME_EULER,
  DREF_SCHEME_HEUN,
  DREF_SCHEME_RK4
} dref_scheme;

typedef struct {
  dref_alg alg;
  double alpha_dps;   /* dps */
  double eta, eta_b;  /* ddrm */
  dref_scheme scheme; /* ignored by ddrm */
  double scheme_eta;  /* ddim */
  int steps;          /* S; ≤ 0: T */
  int init_exact;
  /* ddrm: when non-zero, the SVD basis is replaced by another valid one — inside every group
   * of equal singular values (the kernel included), V's columns (and U's, for non-zero
   * values) are rotated by a random orthogonal matrix of that seed. The law must not change. */
  unsigned long basis_seed;
  /* VP SDE (SPEC §7.3): when vp_sde != 0 the schedule argument is ignored; β(u) = β_min +
   * u(β_max − β_min), ᾱ(u) = e^{−B(u)}, K = steps, Δt = (1 − ε)/K, u_k = 1 − kΔt; the curves
   * are indexed by k = 0..K; schemes em, ei, ddpm, euler, heun, rk4 with
   * D = ½β y + β s̃, F = ½β (y + s̃). A score needed at u = 0 with a singular Σ, or a ddpm
   * step with Δt β(u) ≥ 1 (1/√(1 − Δt β) is not real), makes every later value (and w2_final)
   * +inf. */
  int vp_sde;
  double beta_min, beta_max, eps;
} dref_sampler;

int dref_sampler_law(int d, int m, const double *mu, const double *Sigma, const double *A, double sigma,
                     const double *v, const dref_sampler *cfg, const dref_schedule *s, double *w2,
                     double *w2_mean, double *w2_cov, double *w2_final, int t_snap, double *mean_snap,
                     double *cov_snap, double *ref_mean_snap, double *ref_cov_snap);

/* Posterior of SPEC §2 ("Target"), by a dense solve with S = A Σ Aᵀ + σ² I_m:
 * μ_post = μ + Σ Aᵀ S⁻¹ (v − A μ), Σ_post = Σ − Σ Aᵀ S⁻¹ A Σ (symmetrised). */
int dref_posterior(int d, int m, const double *mu, const double *Sigma, const double *A,
                   double sigma, const double *v, double *post_mean, double *post_cov);

/* C[d*d] (d = H·W) with C x = k ⊛ x periodic: C[i, j] = k(i − j mod (H, W)). */
int dref_circulant(int H, int W, const double *kernel, double *C);

/* ADSN covariance Σ = t ⊛ ť ⊛ (ť(p) = t(−p)), i.e. Σ = T Tᵀ with T = circulant(t):
 * Σ[i, j] = g(i − j), g(p) = Σ_q t(q) t(q − p) (periodic autocorrelation of the texton). */
int dref_adsn_covariance(int H, int W, const double *texton, double *Sigma);

/* W2 between N(m1, K1) (the sampler law) and N(m2, K2) (the reference, the K* of SPEC §2):
 *   mean_part = ‖m1 − m2‖₂,
 *   cov_part  = sqrt(max(0, tr K1 + tr K2 − 2 tr (K2^{1/2} K1 K2^{1/2})^{1/2})),
 * matrix square roots by LAPACKE_dsyevd (eigenvalues < 0 from rounding clipped to 0).
 * Returns sqrt(mean_part² + cov_part²), NaN on failure. mean_part/cov_part may be NULL. */
double dref_w2_gaussian(int d, const double *m1, const double *K1, const double *m2,
                        const double *K2, double *mean_part, double *cov_part);

/* SPEC §1 operator kernels (H×W, indexed by periodic offset as above, sum 1). */
/* k(p) ∝ exp(−(p_r² + p_c²)/(2 std²)), p the signed offset wrapped to [−H/2, H/2) × [−W/2, W/2). */
int dref_gaussian_blur_kernel(int H, int W, double std, double *k);
/* Segment of the given length (pixels) through the origin, direction angle_deg counter-clockwise
 * from the column axis; 10·ceil(length)+1 equally spaced points, bilinear periodic splat. */
int dref_motion_blur_kernel(int H, int W, double length, double angle_deg, double *k);

#endif
