/* Private: the samplers (sampler_scheme.c) as seen by the trajectory driver (sampler.c).
 * A plan is the list of times a configuration visits, in sampling order; a trajectory is run
 * on a range of frequencies (the whole half spectrum, or a chunk of it when the backend is
 * diagonal: every frequency then evolves on its own, so a chunk runs all its steps while it
 * sits in cache). */
#ifndef GDSWEEP_SAMPLER_SCHEME_H
#define GDSWEEP_SAMPLER_SCHEME_H

#include "sampler_impl.h"

/* Noise blocks of the start that are not a training time (SPEC §3; docs/sampler.md). */
#define GDS_BLOCK_START_PRIOR UINT64_C(0xffffffff) /* prior draw of an exact start */
#define GDS_BLOCK_START_MEAS UINT64_C(0xfffffffe)  /* measurement noise of that draw */

/* Points visited, in sampling order: point 0 (start) .. point n (end); step k goes from point
 * k to point k + 1. t: the curve index of a point (training time t of the discrete process,
 * step index k of the VP SDE), which checkpoints name; ab: ᾱ there; u: the VP SDE time. */
typedef struct gds_sampler_plan {
  int n;
  int *t;
  double *ab, *u;
} gds_sampler_plan;

/* Work vectors of a range (2 doubles per frequency; J: 1). */
enum { GDS_W_X0 = 0, GDS_W_SC, GDS_W_G, GDS_W_Z, GDS_W_E, GDS_W_J, GDS_W_Y2, GDS_W_ACC, GDS_W_COUNT };

typedef struct gds_traj {
  gds_sampler *s;
  const gds_sampler_config *cfg;
  gds_rng_key key; /* (seed, sample) of GDS_STREAM_SAMPLER */
  int f0, f1;      /* frequency range */
  double *y;       /* the state on the range */
  double *w[GDS_W_COUNT];
  double *meas; /* m values (exact start) */
  /* Set by a step that has no finite value (a score at ᾱ = 1 with a singular Σ, a vp_sde ddpm
   * step with Δt β ≥ 1; SPEC §7.3): the driver makes the state +inf from there on. */
  int novalue;
} gds_traj;

/* Number of points of cfg's plan (steps + 1). */
int gds_scheme_npoints(const gds_sampler *s, const gds_sampler_config *cfg);
/* The plan of cfg (p's arrays have room for gds_scheme_npoints). */
int gds_scheme_plan(const gds_sampler *s, const gds_sampler_config *cfg, gds_sampler_plan *p);
/* y at the plan's first time (init normal or exact; DDRM's own start). Full range. */
int gds_scheme_start(gds_traj *tr, const gds_sampler_plan *p);
/* Step k (t[k] → t[k+1]) on the trajectory's range. */
int gds_scheme_step(gds_traj *tr, const gds_sampler_plan *p, int k);

#endif
