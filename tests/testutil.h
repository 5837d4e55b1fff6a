/* Small helpers shared by the tests (not a reference implementation of anything). */
#ifndef GDS_TESTUTIL_H
#define GDS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Assert |a − b| ≤ max(rtol·|b|, atol) with a readable message. */
#define GDS_ASSERT_CLOSE(a, b, rtol, atol) gds_test_assert_close((a), (b), (rtol), (atol), #a, __FILE__, __LINE__)
void gds_test_assert_close(double a, double b, double rtol, double atol, const char *what,
                           const char *file, int line);
/* Deterministic test vectors (splitmix64-based, independent of the code under test). */
void gds_test_fill_uniform(uint64_t seed, size_t n, double lo, double hi, double *out);
void gds_test_fill_normal(uint64_t seed, size_t n, double *out);
/* Write text to a fresh temporary file; returns a malloc'ed path (caller frees, unlinks). */
char *gds_test_write_temp(const char *suffix, const char *text);
/* Write a NumPy .npy file (version 1.0) of n doubles with the given header dict text, e.g.
 * "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 6), }"; 0 on success. */
int gds_test_write_npy(const char *path, const char *dict, const double *data, size_t n);

#endif

/* A prior built by hand (without the prior module): a random zero-mean texton t (so λ(0) = 0),
 * mean m, λ = |DFT t|² by a brute-force O(d²) DFT. Free with gds_test_prior_free. */
struct gds_prior;
struct gds_prior *gds_test_prior_random(int H, int W, double mean, uint64_t seed);
void gds_test_prior_free(struct gds_prior *p);
/* Brute-force un-normalised 2-D DFT coefficient (row frequency q, column frequency r) of a
 * real H×W image: X = Σ x(i,j) e^{−2πi(qi/H + rj/W)}. */
void gds_test_dft_coef(int H, int W, const double *x, int q, int r, double *re, double *im);

/* Monte Carlo check of a sampler against an exact law (SPEC §2 "Accuracy"): ntraj real
 * trajectories (noise key (11, sample)) of an H×W problem; at t_mid and t = 0, the empirical
 * mean per pixel, the variance per pixel and the power per frequency E|DFT(y − m_t)(ξ)|² =
 * Σ_ij K_ij e^{−2πi ξ·(p_i − p_j)} (brute force over the dense K_t of gds_law_moments) agree
 * with N(m_t, K_t) within 5 standard errors (|ŷ|² of a complex Gaussian, circular or not, and
 * (y − m)² have standard deviation ≤ √2 times their mean). */
struct gds_law;
struct gds_sampler;
void gds_test_mc_check(struct gds_law *law, struct gds_sampler *smp, int alg, double alpha,
                       const double *v, int H, int W, int t_mid, int ntraj);

/* An exact-law backend against the independent dense reference (tests/reference/dense_ref.h)
 * on one problem (prior N(mu, Sigma), A m×d, σ, v, schedule): W2 curves at every t, m_0,
 * diag K_0, posterior mean and variance, and the full (m_t, K_t) and reference law at T/2,
 * each within max(rtol·|ref|, atol) (SPEC §2 "Accuracy"). */
struct gds_schedule;
struct gds_sampler_config;
void gds_test_law_vs_reference(struct gds_law *law, int d, int m, const double *mu, const double *Sigma,
                               const double *A, double sigma, const double *v, int alg, double alpha,
                               const struct gds_schedule *sc, double rtol, double atol);

/* The same for any sampler configuration (SPEC §7.1–7.5) against dref_sampler_law: W2 curves
 * at every visited time and NaN at the others, w2_final and its parts, m and diag K of the
 * output, and the full laws (m, K) and reference at the visited time nearest T/2 (VP SDE schedule:
 * curves on k = 0..K, the output at k = K; a law without finite value must be +inf where
 * the reference says so). Returns the
 * worst violation as a fraction of the tolerance (≤ 1 passes; the caller asserts), printing
 * the first offending value with `tag`. ddrm_basis_seed is passed to the reference. */
double gds_test_law_vs_reference_cfg(struct gds_law *law, int d, int m, const double *mu, const double *Sigma,
                                     const double *A, double sigma, const double *v,
                                     const struct gds_sampler_config *cfg, const struct gds_schedule *sc,
                                     double rtol, double atol, unsigned long ddrm_basis_seed, const char *tag);

/* The sampler configurations every backend is compared with the reference on (SPEC §7.1–7.4):
 * none, dps, pigdm, cgdm × {ddpm, ddim(η=0), ddim(η=0.6)} × {normal, exact} × {S = T, S = 5}
 * and ddrm(0.85, 1), ddrm(0.3, 0.5) × {normal, exact} × {T, 5}; α_dps = alpha. Fills up to
 * max entries of out and returns the count. */
int gds_test_sampler_configs(int T, double alpha, struct gds_sampler_config *out, int max);

/* SPEC/issue 8 "honest numbers": a dps sampler that diverges (C = σ²/α_dps tiny: every step
 * multiplies K by ~1e10) evaluated with W2 at every time and at `mask`-selected times: no NaN
 * at a wanted time, finite from T down to some t*, +inf from t* on (sampling order) for
 * w2_cov, w2_mean and w2; NaN exactly where the mask says no; w2_final and its parts +inf;
 * mean0 and var0 without NaN and var0 +inf. */
void gds_test_divergence(struct gds_law *law, const double *v, int d, int T);

/* Stop requests (issue 8): a poll that says stop at its k-th call makes gds_law_evaluate
 * return GDS_ERR_INTERRUPTED for k ≤ the number of steps, and the evaluation succeeds when the
 * poll never says stop; the poll is asked about once per step. */
void gds_test_poll(struct gds_law *law, const double *v, int T);

/* VP SDE configurations (SPEC §7.3): none, dps, pigdm, cgdm × {em, ei, ddpm, euler, heun, rk4}
 * × {normal, exact} × ε ∈ {0, 1e-3}, K steps (4K for ddpm, whose Δt β(u) must be < 1; ε = 0:
 * heun and rk4 evaluate the score at u = 0, +inf with a singular Σ), and pigdm with ddpm at K
 * steps (Δt β ≥ 1: +inf) for both inits. */
int gds_test_vp_configs(int K, double alpha, struct gds_sampler_config *out, int max);
