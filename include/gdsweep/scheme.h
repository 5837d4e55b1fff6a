/* Sampling schemes and the sampler configuration of one grid point (SPEC §7): the `scheme`,
 * `sampler_steps`, `eps` and `init` axes, for the discrete DDPM process (§1, §7.1) and the
 * continuous VP SDE (§7.3).
 *
 * Every scheme is described once, as a step program (docs/maths.md §3): a step evaluates the
 * guided score s̃ (SPEC §1) at a few stage points, each a linear combination of the current
 * state and the previous stages' scores, and returns a linear combination of them plus white
 * noise. A gds_plan is the whole sampler of one configuration: the visited times, the start
 * law and one program per step. The exact-law backends and the samplers interpret plans;
 * they never switch on the scheme. A new scheme is one table row and one step builder. */
#ifndef GDSWEEP_SCHEME_H
#define GDSWEEP_SCHEME_H

#include <stddef.h>

#include "gdsweep/algorithm.h"

struct gds_schedule;

/* Diffusion process of a sweep: discrete DDPM (SPEC §1) or continuous VP SDE (§7.3). */
typedef enum { GDS_PROCESS_DDPM = 0, GDS_PROCESS_VP_SDE, GDS_PROCESS_COUNT } gds_process;

typedef enum {
  GDS_SCHEME_DDPM = 0, /* discrete: respaced DDPM (§7.1); vp_sde: the `ddpm` scheme of §7.3 */
  GDS_SCHEME_DDIM,     /* discrete only (§7.1), parameter η */
  GDS_SCHEME_EM,       /* vp_sde only (§7.3): Euler–Maruyama */
  GDS_SCHEME_EI,       /*   exponential integrator */
  GDS_SCHEME_EULER,    /*   probability-flow ODE: Euler */
  GDS_SCHEME_HEUN,     /*   Heun */
  GDS_SCHEME_RK4,      /*   Runge–Kutta 4 */
  GDS_SCHEME_COUNT
} gds_scheme;

/* One entry of the scheme axis. */
typedef struct gds_scheme_spec {
  gds_scheme kind;
  double eta; /* ddim only; 0 otherwise */
} gds_scheme_spec;

/* Initialisation (§7.4): y ~ N(0, I), or the reference law at the first time. */
typedef enum { GDS_INIT_NORMAL = 0, GDS_INIT_EXACT, GDS_INIT_COUNT } gds_init;

/* Everything that defines one sampler, i.e. one point of the algorithm .. init axes. */
typedef struct gds_sampler_config {
  gds_algorithm_spec alg;
  double alpha_dps;       /* used by dps only */
  gds_scheme_spec scheme; /* ignored by ddrm */
  int steps;              /* sampler_steps: S in 1..T (discrete, §7.1) or K ≥ 1 (vp_sde); ≤ 0: T */
  double eps;             /* truncation ε ∈ [0, 1) (vp_sde); 0 for the discrete process */
  gds_init init;
} gds_sampler_config;

const char *gds_process_name(gds_process p);
const char *gds_scheme_name(gds_scheme s);
/* NULL-terminated names indexed by gds_scheme / gds_init / gds_process. */
const char *const *gds_scheme_names(void);
const char *const *gds_init_names(void);
const char *const *gds_process_names(void);
const char *gds_init_name(gds_init i);
/* Canonical name with parameters, as stored in /grid/scheme: "ddpm", "ddim(eta=0)". */
void gds_scheme_spec_name(const gds_scheme_spec *s, char *buf, size_t len);
int gds_scheme_spec_same(const gds_scheme_spec *a, const gds_scheme_spec *b);
/* Whether a scheme exists for a process (ddim: discrete only; em, ei, euler, heun, rk4:
 * vp_sde only; ddpm: both). */
int gds_scheme_valid_for(gds_scheme s, gds_process p);
/* Whether the scheme has the parameter η (canonical name with parameters). */
int gds_scheme_has_eta(gds_scheme s);

/* The default configuration of SPEC §1 (ddpm scheme, S = T, normal init) for an algorithm. */
gds_sampler_config gds_sampler_config_default(gds_algorithm_spec alg, double alpha_dps, int T);

/* ---- Step programs (docs/maths.md §3) ---------------------------------------------------- */

enum { GDS_STAGE_MAX = 4 };

typedef enum {
  GDS_STEP_SCORE = 0, /* a program over the guided score (every scheme) */
  GDS_STEP_DDRM       /* the DDRM update of SPEC §7.2 (gds_ddrm_component) */
} gds_step_kind;

/* Stage j evaluates k_j = s̃(x_j, ᾱ) at x_j = a_y·y + Σ_{l<j} a[l]·k_l, where s̃(·, ᾱ) is the
 * guided score of SPEC §1 with ᾱ_t replaced by ᾱ (Σ_ᾱ, J_ᾱ and C_ᾱ). */
typedef struct gds_stage {
  double abar;
  double a_y, a[GDS_STAGE_MAX];
} gds_stage;

/* One step of a sampler:
 *  GDS_STEP_SCORE: y' = scale·(b_y·y + Σ_j b[j]·k_j) + √noise·z, z ~ N(0, I);
 *  GDS_STEP_DDRM:  the update of SPEC §7.2 from ᾱ_t = abar_t to ᾱ_s = abar_s. */
typedef struct gds_step {
  gds_step_kind kind;
  int nstage;
  gds_stage stage[GDS_STAGE_MAX];
  double scale, b_y, b[GDS_STAGE_MAX];
  double noise;
  double abar_t, abar_s; /* DDRM */
  double abar_from, abar_to; /* ᾱ at the points the step goes from and to (set by the plan) */
  /* The step has no real value: the vp_sde ddpm scheme with Δt β(u) ≥ 1 (its 1/√(1 − Δt β) is
   * not real). Its law, and every later one, is reported as +inf (like a score at u = 0 with a
   * singular Σ, SPEC §7.3). */
  int undefined;
} gds_step;

/* How the law (or a trajectory) starts at the first visited time. */
typedef enum {
  GDS_START_NORMAL = 0, /* N(0, I) */
  GDS_START_EXACT,      /* the reference law there (SPEC §7.4) */
  GDS_START_DDRM        /* DDRM's start (SPEC §7.2), VE level start_vs */
} gds_start;

/* The sampler of one configuration. Points are numbered in sampling order: point 0 is the
 * start, step j goes from point j to point j + 1. Curves (W2 at the visited times) are
 * indexed by point[j] ∈ [0, ncurve): the training time t = 0..T for the discrete process,
 * the step index k = 0..K for vp_sde. */
typedef struct gds_plan {
  int nsteps, ncurve;
  int *point;     /* [nsteps + 1] curve index of each point */
  double *abar;   /* [nsteps + 1] ᾱ at each point: the reference law there is
                     N(√ᾱ μ_ref, ᾱ Σ_ref + (1 − ᾱ) I) */
  double *time;   /* [nsteps + 1] t (discrete) or u_k (vp_sde) */
  gds_step *step; /* [nsteps] */
  gds_start start;
  double start_vs;
} gds_plan;

/* The plan of cfg on a schedule (discrete: the respacing of SPEC §7.1; VP SDE: the grid
 * u_k = 1 − k(1 − ε)/K of §7.3). GDS_ERR_INPUT when the configuration is invalid (steps
 * outside 1..T, a scheme of another process, η outside [0, 1], ddrm on vp_sde, ε outside
 * [0, 1), ...), naming the value. */
int gds_plan_create(const struct gds_schedule *sched, const gds_sampler_config *cfg, gds_plan **out);
/* Length of the curves of cfg: T + 1 (training times 0..T) for the discrete process, K + 1
 * (step indices 0..K) for vp_sde. */
int gds_plan_curve_length(const struct gds_schedule *sched, const gds_sampler_config *cfg);
void gds_plan_destroy(gds_plan **p);
/* Index j of the point whose curve index is `index`, or −1 if the plan does not visit it. */
int gds_plan_find(const gds_plan *p, int index);

/* Interpreter of a GDS_STEP_SCORE program on n values (a vector, or a batch of vectors laid
 * out one after the other): out = scale·(b_y·y + Σ b[j]·k_j), without the noise. score(ctx,
 * j, x, k) must write k = s̃(x) of stage j (or its linear part, when the caller propagates
 * covariances) for the same layout. work holds (nstage + 1)·n values; out may alias y. */
typedef int (*gds_score_fn)(void *ctx, int stage, const double *x, double *k);
int gds_step_apply(const gds_step *st, size_t n, const double *y, double *out, double *work,
                   gds_score_fn score, void *ctx);

/* Offsets of a program along the path √ᾱ μ (docs/maths.md §3.2): with x̃ = x − √ᾱ μ at the
 * step's ends (ᾱ_from, ᾱ_to) and at every stage, stage j is evaluated at
 * x̃_j = a_y ỹ + Σ a[l] k_l + delta[j] μ and the output is ỹ' = scale (b_y ỹ + Σ b[j] k_j) +
 * delta_out μ. An offset below the rounding of its terms is exactly 0 (the discrete schemes
 * keep the path of an exact score exactly), so laws can be tracked relative to the reference
 * path without cancellation. */
void gds_step_path_offsets(const gds_step *st, double *delta, double *delta_out);

/* The same for one scalar component where stage j's score is k = −h[j]·x + c[j]: returns the
 * output p·y + q as *p (gain) and *q (constant; c may be NULL: q = 0). */
static inline void gds_step_scalar(const gds_step *st, const double *h, const double *c, double *p, double *q) {
  double xp[GDS_STAGE_MAX], xq[GDS_STAGE_MAX], kp[GDS_STAGE_MAX], kq[GDS_STAGE_MAX], op = st->b_y, oq = 0;
  for (int j = 0; j < st->nstage; j++) {
    xp[j] = st->stage[j].a_y;
    xq[j] = 0;
    for (int l = 0; l < j; l++) {
      xp[j] += st->stage[j].a[l] * kp[l];
      xq[j] += st->stage[j].a[l] * kq[l];
    }
    kp[j] = -h[j] * xp[j];
    kq[j] = -h[j] * xq[j] + (c ? c[j] : 0.0);
    op += st->b[j] * kp[j];
    oq += st->b[j] * kq[j];
  }
  *p = st->scale * op;
  *q = st->scale * oq;
}

#endif
