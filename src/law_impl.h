/* Private: the law backend interface (docs/maths.md §4).
 *
 * src/law.c owns the one loop over a sampler's plan: start law, then one step at a time,
 * W2 at the points the mask selects, the stop poll, divergence (+inf) and the final W2
 * against the target. A backend implements the structured algebra of one operator
 * structure (gds_structure): its state is the law N(m_s, K) of the current point for every
 * seed s, and it knows how to
 *   begin   set the start law of the plan (N(0, I), the reference law, or DDRM's start),
 *   step    apply one step (a score program, or a DDRM update) to the law,
 *   record  W2 of the current law against a reference law N(√ᾱ μ_ref, ᾱ Σ_ref + (1 − ᾱ) I)
 *           (ᾱ = 1: the target itself),
 *   output  m and diag K of the current law, moments the dense matrices (tests).
 * src/law.c picks the backend from a table; adding a structure means adding a backend file
 * and a table entry, not an if chain. A new scheme or algorithm of an existing kind needs
 * no backend change: programs are interpreted (gds_step_apply / gds_step_scalar) and C_ᾱ
 * comes from the algorithm table. */
#ifndef GDSWEEP_LAW_IMPL_H
#define GDSWEEP_LAW_IMPL_H

#include "gdsweep/law.h"

/* Hot loops are multi-versioned in portable builds (GDS_LAW_CLONES = GDS_SIMD_CLONES of
 * src/simd.h: baseline x86-64, AVX2, AVX-512, picked at run time); a build for an AVX2 machine
 * (-march=native) has one version (a clone for a subset of the build's ISA could not inline
 * the loops' helpers). Element-wise work gives the same bits in every version (ISO C: no FMA
 * contraction); vector sums (W2) round in a width-dependent order. With
 * -DGDS_LAW_FIXED_SUMS=1 those sums use GDS_RED lanes in a fixed order (each lane sums the
 * indices ≡ lane mod GDS_RED in increasing order, lanes added pairwise) and every version
 * computes the same bits (checked: x86-64, -v3, -v4 builds of the Fourier-diagonal engine agree
 * bit for bit), at a cost of 5–15 % in the default sampler. It is off by default: FFTW's own
 * run-time choice of SIMD codelets already makes the last bits CPU-dependent. */
#include "simd.h"
#if defined(__AVX2__)
#define GDS_LAW_CLONES
#else
#define GDS_LAW_CLONES GDS_SIMD_CLONES
#endif
#ifndef GDS_LAW_FIXED_SUMS
#define GDS_LAW_FIXED_SUMS 0
#endif
enum { GDS_RED = 8 };
static inline double gds_red_sum(const double *part) {
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}
/* Σ x[i], i < n, in the fixed order above (vectorises for any SIMD width). */
static inline double gds_red_array(int n, const double *restrict x) {
  double part[GDS_RED] = {0};
  int i = 0;
  for (; i + GDS_RED <= n; i += GDS_RED)
#pragma omp simd
    for (int j = 0; j < GDS_RED; j++) part[j] += x[i + j];
  for (int j = 0; i + j < n; j++) part[j] += x[i + j];
  return gds_red_sum(part);
}

/* Σ x[i] y[i], i < n, in gds_red_array's fixed order. */
static inline double gds_red_dot(int n, const double *restrict x, const double *restrict y) {
  double part[GDS_RED] = {0};
  int i = 0;
  for (; i + GDS_RED <= n; i += GDS_RED)
#pragma omp simd
    for (int j = 0; j < GDS_RED; j++) part[j] += x[i + j] * y[i + j];
  for (int j = 0; i + j < n; j++) part[j] += x[i + j] * y[i + j];
  return gds_red_sum(part);
}

/* One evaluation (one sampler configuration, a bundle of ns measurements). */
typedef struct gds_law_eval {
  const gds_sampler_config *cfg;
  const gds_algorithm_info *alg;
  const gds_plan *plan;
  int ns;
  const double *const *v; /* [ns][m] */
  void *st;               /* backend state of this evaluation */
} gds_law_eval;

/* W2 of the current law against the reference law at ᾱ (SPEC §2 "W2 curves"). */
typedef struct gds_law_rec {
  double abar;  /* reference N(√ᾱ μ_ref, ᾱ Σ_ref + (1 − ᾱ) I); ᾱ = 1 is the target */
  int want;     /* 0: nothing to compute (a step skips the W2 work) */
  double cov;   /* out: covariance part (+inf when K is not finite) */
  double *mean; /* out: [ns] mean parts */
} gds_law_rec;

typedef struct gds_law_backend {
  const char *name;
  /* 0, or GDS_ERR_INPUT with a message naming the operator, when this backend cannot compute
   * the law of the algorithm on op (static: before any law exists). */
  int (*supports)(const gds_operator *op, const gds_algorithm_spec *alg);
  int (*setup)(gds_law *law);
  void (*destroy)(gds_law *law);
  int (*posterior)(gds_law *law, const double *v, double *mean, double *var);
  /* Bytes an evaluation keeps per seed (its spectra), streamed once per step: callers bound a
   * call's seeds by it to stay in cache. NULL: the shared work dominates (dense), one call per
   * seed block. */
  size_t (*seed_bytes)(const gds_law *law);
  int (*begin)(gds_law *law, gds_law_eval *ev);
  /* Step j of the plan (point j → j + 1), then W2 at point j + 1 when rec->want (fused when
   * that saves a pass over the state). */
  int (*step)(gds_law *law, gds_law_eval *ev, int j, gds_law_rec *rec);
  int (*record)(gds_law *law, gds_law_eval *ev, gds_law_rec *rec);
  /* mean[s] (d values, NULL entries or NULL array skipped), var = diag K (may be NULL). */
  int (*output)(gds_law *law, gds_law_eval *ev, double **mean, double *var);
  /* Dense d×d K (row-major) of the current law of seed 0 and of the reference at ᾱ; any
   * pointer may be NULL. */
  int (*moments)(gds_law *law, gds_law_eval *ev, double abar, double *mean, double *cov, double *ref_mean,
                 double *ref_cov);
  void (*end)(gds_law *law, gds_law_eval *ev);
} gds_law_backend;

struct gds_law {
  const gds_law_backend *backend;
  MPI_Comm group; /* ranks sharing this law (MPI_COMM_SELF for the Fourier backends) */
  int group_size;
  const gds_prior *prior;
  const gds_schedule *sched;
  gds_operator *op;
  double sigma;
  int singular; /* Σ has a zero eigenvalue: a score at ᾱ = 1 is infinite */
  void *data;   /* backend state */
};

extern const gds_law_backend gds_law_backend_fourier_diag;
extern const gds_law_backend gds_law_backend_fourier_block;
extern const gds_law_backend gds_law_backend_dense;
/* A prior in its own eigenbasis (SPEC §7.6), identity operator: the Fourier-diagonal engine on
 * coordinates. Chosen by name ("eigen-diagonal", "eigen"). */
extern const gds_law_backend gds_law_backend_eigen_diag;

#endif
