/* Sampling schemes and the sampler configuration of one grid point (SPEC §7): the `scheme`,
 * `sampler_steps`, `eps` and `init` axes, for the discrete DDPM process (§1, §7.1) and the
 * continuous VP SDE (§7.3). */
#ifndef GDSWEEP_SCHEME_H
#define GDSWEEP_SCHEME_H

#include <stddef.h>

#include "gdsweep/algorithm.h"

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
  int steps;              /* sampler_steps: S in 1..T (discrete, §7.1) or K ≥ 1 (vp_sde) */
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

/* The default configuration of SPEC §1 (ddpm scheme, S = T, normal init) for an algorithm. */
gds_sampler_config gds_sampler_config_default(gds_algorithm_spec alg, double alpha_dps, int T);

#endif
