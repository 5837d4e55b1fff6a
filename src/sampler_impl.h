/* Private: the sampler's state space, its small algebra of structured operators, and the
 * backends that implement that algebra for an operator structure (docs/sampler.md).
 *
 * State space (gds_sampler_space, chosen by the prior's basis). A stationary prior's
 * trajectories live in the real-FFT half spectrum (below); a prior given in its own eigenbasis
 * (SPEC §7.6, images 1 × n) in its n coordinates: one real per component, blocks of B
 * coordinates stored as they are, white noise coordinate j = normal j of the step's block.
 *
 * Fourier space. A stationary prior's trajectory lives in the real-FFT half spectrum: a state vector holds
 * Y = DFT(y)/√d on the H × (W/2+1) half spectrum (nf frequencies f = q(W/2+1) + r), so
 * y = c2r(Y)/√d. Layout: blocks of B consecutive frequencies (B = the backend's chunk, or nf),
 * each stored as its n real parts then its n imaginary parts (planar within a block, so that
 * per-frequency loops are plain vector loops); a range [f0, f1) is a union of whole blocks and
 * its vectors start at double 2·f0. Entries (q, r) of the columns r = 0 and r = W/2 (W even)
 * whose mirror (−q, r) has a smaller row index are duplicates: made conj(mirror) before any
 * inverse transform (gds_sampler_hermitian), they carry nothing otherwise. White noise in
 * pixel space is white in the real orthonormal Fourier basis: Re Z(f) = N_f/√2 and
 * Im Z(f) = N_{NA+f}/√2 (NA = nf rounded up to a multiple of 16), and Z(f) = N_f (real) on
 * self-conjugate frequencies, with N the normals of the step's block (gds_sampler_noise).
 *
 * Algebra. The prior's Σ is diagonal in the state basis, so its score, Tweedie denoiser and
 * Σ_t, J_t are multipliers per component, applied by the space (sampler.c). What depends on the
 * operator is
 *   gls:  Aᵀ M⁻¹ (v + shift − A x),  M = c0 I + c1 A Aᵀ + c2 A Σ (dp Σ + dq I)⁻¹ Aᵀ
 *         (the guidance term of dps/pigdm/cgdm, and the posterior correction of an exact
 *         start), and
 *   ddrm: V · rule(s_i)(ȳ, Vᵀx, Vᵀe, Vᵀz), the per-singular-value update of DDRM,
 * which each backend implements for its structure. The schemes (sampler_scheme.c) are
 * written once on top of these, for every backend. */
#ifndef GDSWEEP_SAMPLER_IMPL_H
#define GDSWEEP_SAMPLER_IMPL_H

#include <fftw3.h>

#include "gdsweep/rng.h"
#include "gdsweep/sampler.h"

/* M = c0 I + c1 A Aᵀ + c2 A Σ (dp Σ + dq I)⁻¹ Aᵀ (SPEC §1 "Algorithms": C_t of dps, pigdm,
 * cgdm; A Σ Aᵀ + σ² I for the posterior). */
typedef struct gds_gls {
  double c0, c1, c2, dp, dq;
} gds_gls;

/* One DDRM update (SPEC §7.2) at level ς = vs: per singular value s, the coefficients of
 * (ȳ, x̄θ, ε̄, z̄) (gds_ddrm_coefs); init: the start rule instead (coefficients of ȳ and w̄,
 * 1/ς included). */
typedef struct gds_ddrm_rule {
  double vs, sigma;
  gds_algorithm_spec alg; /* η, η_b */
  int init;
} gds_ddrm_rule;
void gds_ddrm_coefs(const gds_ddrm_rule *rule, double s, double c[4]);

/* The state space of a trajectory: an orthonormal basis in which the prior's Σ is diagonal
 * (docs/sampler.md "State space and noise"). Vectors are blocks of B components, each block
 * stored as its n first reals, then (nr = 2) its n second reals; a range [f0, f1) starts at
 * double nr·f0. */
typedef struct gds_sampler_space {
  const char *name;
  int nr; /* reals per component: 2 (Fourier coefficient: re, im) or 1 (a real coordinate) */
  /* Sizes (nf, d), λ per component, the mean's state, transforms; called before the backend's. */
  int (*setup)(gds_sampler *s);
  /* Pixels → state and state → pixels (x may be NULL: only make Y consistent). Full vectors. */
  void (*to_state)(gds_sampler *s, const double *x, double *Y);
  void (*to_pixels)(gds_sampler *s, double *Y, double *x);
  /* Z[f0..f1) = white noise N(0, I) of block `block` of the stream `key`, in the state basis. */
  void (*noise)(const gds_sampler *s, gds_rng_key key, uint64_t block, int f0, int f1, double *Z);
  /* One block of n components starting at fb, at level ᾱ = ab (SPEC §1 "Score and Tweedie"):
   * J = √ᾱ Σ Σ_ᾱ⁻¹ (one real per component), x0 = μ + J (y − √ᾱ μ) and, when sc is not NULL,
   * sc = −Σ_ᾱ⁻¹ (y − √ᾱ μ). */
  void (*tweedie)(const gds_sampler *s, int n, int fb, double ab, const double *y, double *J, double *x0, double *sc);
  /* One block: x = μ + Σ^½ w (a prior draw). */
  void (*prior_draw)(const gds_sampler *s, int n, int fb, const double *w, double *x);
} gds_sampler_space;

typedef struct gds_sampler_backend {
  const char *name;
  /* Non-zero: gls and ddrm act frequency by frequency, so callers may run them on any range
   * [f0, f1) of frequencies (vectors then start at f0); otherwise always [0, nf). */
  int diagonal;
  int (*setup)(gds_sampler *s);
  int (*set_measurement)(gds_sampler *s, const double *v);
  /* out = Aᵀ M⁻¹ (v + shift − A x), or out += J ⊙ Aᵀ M⁻¹ (v + shift − A x) when J (one real
   * per frequency of the range) is not NULL; shift: m measurement values or NULL (only with
   * the full range). */
  int (*gls)(gds_sampler *s, const gds_gls *M, const double *x, const double *shift, const double *J, double *out,
             int f0, int f1);
  /* out = V x̄' with x̄'_i = c0 ȳ_i + c1 (Vᵀx)_i + c2 (Vᵀe)_i + c3 (Vᵀz)_i, c = coefs(rule, s_i);
   * GDS_ERR_INPUT when the backend has no SVD of the operator. */
  int (*ddrm)(gds_sampler *s, const gds_ddrm_rule *rule, const double *x, const double *e, const double *z,
              double *out, int f0, int f1);
  void (*destroy)(gds_sampler *s);
} gds_sampler_backend;

struct gds_sampler {
  const gds_sampler_space *space;
  const gds_sampler_backend *backend;
  const gds_prior *prior;
  const gds_schedule *sched; /* the discrete process; NULL for the VP SDE */
  gds_process process;
  double beta_min, beta_max; /* VP SDE: β(u) = β_min + u (β_max − β_min) */
  gds_operator *op;
  double sigma;
  int H, W, Wh, nf, d; /* nf: components of the state (frequencies, or coordinates) */
  int nr;           /* reals per component (space->nr) */
  int B;            /* components per block of the state layout */
  double sqd;       /* √d */
  double mu0;       /* the prior mean's state: Fourier Y(0) = m·√d (0 elsewhere); eigen m in every coordinate */
  double *lam;      /* λ per component (half spectrum, or coordinates) */
  int singular;     /* some λ is 0: a score at ᾱ = 1 is infinite */
  int selfconj[4], nselfconj; /* the self-conjugate frequencies (q, r ∈ {0, H/2} × {0, W/2}) */
  double *pix;      /* d: pixel scratch (FFTW-aligned; Fourier space) */
  fftw_complex *spec; /* nf: spectrum scratch (Fourier space) */
  fftw_plan fwd, bwd; /* pix → spec (r2c), spec → pix (c2r) (Fourier space) */
  void *data;       /* backend state */
  /* run buffers, kept across runs */
  double *y;        /* nr·nf: the state */
  double *work;     /* GDS_W_COUNT × nr·nf (sampler_scheme.h) */
  double *meas;     /* m */
  double *ck;       /* ck_cap × nr·nf: checkpoint states */
  int ck_cap;
  int plan_cap;     /* room of the plan arrays (points) */
  int *plan_t;      /* plan_cap: curve index of each point (t, or k for the VP SDE) */
  int *slot;        /* plan_cap: checkpoint slot of each point, −1 if none */
  double *plan_ab;  /* plan_cap: ᾱ at each point */
  double *plan_u;   /* plan_cap: u at each point (VP SDE) */
};

extern const gds_sampler_backend gds_sampler_fourier;
extern const gds_sampler_backend gds_sampler_generic;
extern const gds_sampler_backend gds_sampler_fourier_block;
/* A prior in its own eigenbasis, identity operator (sampler_eigen.c). */
extern const gds_sampler_backend gds_sampler_eigen;
extern const gds_sampler_space gds_sampler_space_fourier, gds_sampler_space_eigen;
/* c with A Aᵀ = c I (identity, inpainting: 1; super-resolution ×s: 1/s²), 0 if not known. */
double gds_sampler_generic_aat(const gds_operator *op);

/* Length of the block that starts at frequency fb. */
static inline int gds_block_len(const gds_sampler *s, int fb) { return s->nf - fb < s->B ? s->nf - fb : s->B; }
/* Index of Re Y(f) in a full state vector (Im: + the block's length). */
static inline size_t gds_state_re(const gds_sampler *s, int f) {
  int fb = f / s->B * s->B;
  return (size_t)s->nr * (size_t)fb + (size_t)(f - fb);
}

/* The space's operations (s->space): pixels → state (Fourier: Y = DFT(x)/√d) and state →
 * pixels (Fourier: x = c2r(Y)/√d, duplicates fixed first; x may be NULL to fix the duplicates
 * of Y in place only), full vectors; white noise of a block on [f0, f1). */
static inline void gds_sampler_to_state(gds_sampler *s, const double *x, double *Y) { s->space->to_state(s, x, Y); }
static inline void gds_sampler_to_pixels(gds_sampler *s, double *Y, double *x) { s->space->to_pixels(s, Y, x); }
static inline void gds_sampler_noise(const gds_sampler *s, gds_rng_key key, uint64_t block, int f0, int f1, double *Z) {
  s->space->noise(s, key, block, f0, f1, Z);
}
/* Fourier space: duplicated entries := conj(their mirror), self-conjugate ones real. */
void gds_sampler_hermitian(const gds_sampler *s, double *Y);

#endif
