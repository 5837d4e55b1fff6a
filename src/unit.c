/* Work units of a sweep: see src/unit.h; the cost model and the choice of the seed block are
 * explained in docs/scaling.md. */
#include "unit.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"

/* A unit's per-seed buffers (its per-seed model bytes times its seeds) above this are split
 * into more blocks, down to GDS_UNIT_WORKSET_MIN_SEEDS seeds, when that costs little (see
 * gds_unit_plan_make). */
#define GDS_UNIT_WORKSET_BYTES (8.0 * 1024 * 1024)
#define GDS_UNIT_WORKSET_MIN_SEEDS 256
/* Units per rank group the seed split aims at: with dynamic dispatch the tail (groups idle
 * while the last units finish) is at most one unit, 1/16 of a group's share. 4 left up to a
 * quarter: a 1 σ × 1000-seed sweep on 2 ranks ran 1.39–1.74× faster than 1 rank with 8 units
 * (one core slowed by other work cannot be rebalanced), 1.81–1.94× with 33 (bench/RESULTS.md). */
#define GDS_UNIT_PER_GROUP 16
/* Driver cost of one unit, core-seconds: its three coordinator messages and ~9 independent
 * writes (~4·10³ units/s through a coordinator that also computes; ~9 µs per write;
 * docs/scaling.md). It keeps the split from cutting tiny work into units that cost more to
 * hand out and write than to compute. */
#define GDS_UNIT_OVERHEAD 3e-4

void gds_unit_axis_sizes(const gds_sweep *s, int n[GDS_IO_NAXES]) {
  const int v[GDS_IO_NAXES] = {s->n_op,    s->n_sigma, s->n_alpha, s->n_alg, s->n_scheme,
                               s->n_steps, s->n_eps,   s->n_init,  s->n_seed};
  memcpy(n, v, sizeof v);
}

/* Cost (core-seconds) and memory (bytes per rank) model; constants fitted roughly on the
 * benchmark machine (bench/RESULTS.md). Fourier-diagonal law: ~6 ns per (frequency, step,
 * seed-or-covariance); Fourier-block (factor f): ~f² times that, plus an f²×f² eigen-problem
 * per block and W2 time for dps/pigdm; dense: P_t applied to d columns with FFTs per step and
 * a d³ eigen-decomposition per W2 time, distributed over the group. Trajectories: ~8 ns per
 * (pixel, step), with a few CG iterations per step for non-Fourier operators. */
gds_unit_model gds_unit_model_of(const gds_sweep *s, const gds_operator_spec *op, const gds_algorithm_spec *alg,
                                 int steps, int gsize) {
  gds_unit_model m = {0, 0, 0, 0};
  const double H = s->prior.H, W = s->prior.W, d = H * W, nf = H * (floor(W / 2) + 1);
  const double S = steps > 0 ? steps : s->T, ntime = gds_io_ntime(s);
  const double nw = s->n_w2t < S + 1 ? s->n_w2t : S + 1;
  const double traj = 8e-9 * d * S * s->samples;
  const double g = gsize > 0 ? gsize : 1;
  switch (op->dense ? GDS_OP_INPAINTING : op->type) { /* the dense backend costs the same for any operator */
  case GDS_OP_SUPER_RESOLUTION: {
    const double f2 = (double)op->factor * op->factor;
    m.shared = 6e-9 * nf * f2 * S;
    if (alg->kind == GDS_ALG_DPS || alg->kind == GDS_ALG_PIGDM) m.shared += 2e-9 * (d / f2) * f2 * f2 * f2 * nw;
    m.per_seed = 6e-9 * nf * f2 * S + 4 * traj;
    m.mem_shared = 8.0 * nf * f2 * 8;
    break;
  }
  case GDS_OP_INPAINTING:
    m.shared = 5e-9 * d * d * log2(d > 2 ? d : 2) * S + 5e-9 * d * d * d * nw;
    m.per_seed = 2e-9 * d * d * S + 10 * traj;
    m.mem_shared = 8.0 * d * d * 8 / g + 16 * d * 8;
    break;
  default:
    m.shared = 6e-9 * nf * S;
    m.per_seed = 6e-9 * nf * S + traj;
    m.mem_shared = 32.0 * nf * 8;
    break;
  }
  /* per seed: x0, v, posterior mean, m_0, diag K_0 (replicated), three curves, the law's
   * per-seed spectra, the trajectories */
  m.mem_per_seed = 8 * (6 * d + 3 * ntime + 4 * nf * 2) + 4.0 * s->samples * s->n_ckpt * d;
  return m;
}

static int gds_unit_cmp(const void *a, const void *b) {
  const gds_unit *x = a, *y = b;
  if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
  if (x->problem != y->problem) return x->problem ? -1 : 1; /* problem writers first: others wait for them */
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Whether the unit's law comes from the dense backend. Its per-seed results may depend on how
 * many seeds are bundled (BLAS kernels differ for one and several columns), so its seed block
 * must depend on the sweep only, never on the rank count; splitting it rarely pays anyway (the
 * covariance recursion, shared by the seeds, dominates its cost). */
static int gds_unit_dense(const gds_operator_spec *op) { return op->dense || op->type == GDS_OP_INPAINTING; }

/* Estimated wall time of nbase units, the splittable ones split into `split` seed blocks
 * each, on P groups, as dispatched (largest first, to whichever group is free): the
 * list-scheduling bound total/P + (1 − 1/P)·longest. The second term is the
 * tail, where groups that are done wait for the last units: it is what splitting seeds into
 * more, smaller units buys back, against the shared work each extra unit repeats. */
static double gds_unit_wall(const gds_unit_model *m, const unsigned char *fixed, int nbase, int nseed, int split, int P) {
  double total = 0, longest = 0;
  for (int i = 0; i < nbase; i++) {
    const int sp = fixed[i] ? 1 : split;
    total += sp * (m[i].shared + GDS_UNIT_OVERHEAD) + nseed * m[i].per_seed;
    double one = m[i].shared + ceil((double)nseed / sp) * m[i].per_seed;
    if (one > longest) longest = one;
  }
  return total / P + (1.0 - 1.0 / P) * longest;
}

int gds_unit_plan_make(const gds_sweep *s, int ngroups, int gsize, int block, double mem_block_bytes,
                       gds_unit_plan *plan) {
  memset(plan, 0, sizeof *plan);
  const int vp = s->process == GDS_PROCESS_VP_SDE, ns = s->n_seed;
  if (ns < 1) GDS_ERROR(GDS_ERR_RUNTIME, "gds_unit_plan_make: no seeds");
  /* base units: every axis but the seed, ignored axes collapsed */
  int64_t nbase64 = 0;
  for (int a = 0; a < s->n_alg; a++)
    nbase64 += (int64_t)(gds_algorithm_uses_alpha(s->alg[a].kind) ? s->n_alpha : 1) *
               (gds_algorithm_uses_scheme(s->alg[a].kind) ? s->n_scheme : 1);
  nbase64 *= (int64_t)s->n_op * s->n_sigma * s->n_steps * s->n_init * (vp ? s->n_eps : 1);
  if (nbase64 > INT_MAX / 4) GDS_ERROR(GDS_ERR_INPUT, "%s: the grid has too many work units (%lld)", s->path, (long long)nbase64);
  const int nbase = (int)nbase64;
  gds_unit *base = NULL;
  gds_unit_model *model = NULL;
  unsigned char *dense = NULL;
  int *first = NULL, ierr = GDS_SUCCESS;
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(base, nbase));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(model, nbase));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(dense, nbase));
  int k = 0;
  for (int o = 0; o < s->n_op; o++)
    for (int g = 0; g < s->n_sigma; g++)
      for (int a = 0; a < s->n_alg; a++) {
        const int ua = gds_algorithm_uses_alpha(s->alg[a].kind), us = gds_algorithm_uses_scheme(s->alg[a].kind);
        for (int al = 0; al < (ua ? s->n_alpha : 1); al++)
          for (int sc = 0; sc < (us ? s->n_scheme : 1); sc++)
            for (int st = 0; st < s->n_steps; st++)
              for (int ep = 0; ep < (vp ? s->n_eps : 1); ep++)
                for (int in = 0; in < s->n_init; in++) {
                  base[k] = (gds_unit){.op = o, .sigma = g, .alpha = ua ? al : -1, .alg = a, .scheme = us ? sc : -1,
                                       .steps = st, .eps = vp ? ep : -1, .init = in};
                  model[k] = gds_unit_model_of(s, &s->op[o], &s->alg[a], s->steps[st], gsize);
                  dense[k] = (unsigned char)gds_unit_dense(&s->op[o]);
                  k++;
                }
      }

  /* Seed blocks: B for the units that may be split, Bd for the dense ones (sweep-only). */
  int B = block > 0 ? (block < ns ? block : ns) : ns, Bd = ns;
  {
    const int P = ngroups > 0 ? ngroups : 1;
    const double budget = mem_block_bytes > 0 ? mem_block_bytes : 256.0 * 1024 * 1024;
    double mps = 0, mpsd = 0;
    int nsplit = 0;
    for (int i = 0; i < nbase; i++) {
      if (dense[i]) mpsd = fmax(mpsd, model[i].mem_per_seed);
      else mps = fmax(mps, model[i].mem_per_seed), nsplit++;
    }
    const double bmem = mps > 0 ? fmax(1.0, floor(budget / mps)) : ns;
    const double bmemd = mpsd > 0 ? fmax(1.0, floor(budget / mpsd)) : ns;
    const int smemd = (int)ceil(ns / bmemd);
    Bd = (ns + smemd - 1) / smemd;
    if (block <= 0) { /* chosen: see src/unit.h */
      const int64_t want = (int64_t)GDS_UNIT_PER_GROUP * P;
      int target = nsplit == 0 || P == 1 || nbase >= want ? 1 : (int)((want + nbase - 1) / nbase);
      if (target > ns) target = ns;
      /* the most blocks (up to target) whose estimated wall time is within 10% of the best */
      double best = INFINITY;
      for (int sp = 1; sp <= target; sp++) best = fmin(best, gds_unit_wall(model, dense, nbase, ns, sp, P));
      int split = 1;
      for (int sp = target; sp >= 1; sp--)
        if (gds_unit_wall(model, dense, nbase, ns, sp, P) <= 1.10 * best) {
          split = sp;
          break;
        }
      const int smem = (int)ceil(ns / bmem);
      if (split < smem) split = smem;
      /* Working set: a unit's buffers (x0, v, curves, m_0, diag K_0, the law's spectra) are
       * filled, written and copied seed after seed; beyond a few MiB they stream from memory
       * (10^5 tiny points on 1 rank: 0.45 s with 5000-seed units, 0.40 s with 1250; 250 is
       * slower again: per-unit costs; bench/RESULTS.md). Blocks of >= 256 seeds, while the
       * repeated shared work stays under 5 % of the total. */
      const double bws = mps > 0 ? fmax(GDS_UNIT_WORKSET_MIN_SEEDS, floor(GDS_UNIT_WORKSET_BYTES / mps)) : ns;
      const int sws = (int)ceil(ns / bws);
      if (sws > split) {
        double shared = 0, total = 0;
        for (int i = 0; i < nbase; i++)
          if (!dense[i]) {
            shared += model[i].shared;
            total += model[i].shared + ns * model[i].per_seed;
          }
        int sp = sws;
        while (sp > split && (sp - 1) * shared > 0.05 * total) sp--;
        split = sp;
      }
      B = ns / split > 0 ? ns / split : 1; /* rounded down: at least `split` blocks */
    }
  }
  const int nblocks = (ns + B - 1) / B, nblocksd = (ns + Bd - 1) / Bd, maxblocks = nblocks > nblocksd ? nblocks : nblocksd;
  int64_t n64 = 0;
  for (int i = 0; i < nbase; i++) n64 += dense[i] ? nblocksd : nblocks;
  if (n64 > INT_MAX / 4) {
    ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                           "%s: too many work units (%lld); use a larger --seed-block", s->path, (long long)n64);
    goto out;
  }
  const int n = (int)n64;
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(plan->u, n));
  const size_t nkey = (size_t)s->n_op * s->n_sigma * maxblocks;
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(first, nkey));
  for (size_t i = 0; i < nkey; i++) first[i] = -1;
  k = 0;
  for (int i = 0; i < nbase; i++)
    for (int b = 0; b < (dense[i] ? nblocksd : nblocks); b++) {
      const int Bi = dense[i] ? Bd : B; /* the same for every unit of an operator */
      gds_unit u = base[i];
      u.block = b;
      u.seed0 = b * Bi;
      u.nseed = ns - u.seed0 < Bi ? ns - u.seed0 : Bi;
      u.cost = model[i].shared + u.nseed * model[i].per_seed;
      /* seed block first: a rank that takes consecutive units reuses x0 and v (run.c) */
      u.order = (int64_t)b * nbase + i;
      size_t key = ((size_t)u.op * s->n_sigma + u.sigma) * maxblocks + b;
      u.problem = first[key] < 0;
      if (u.problem) first[key] = k;
      plan->u[k++] = u;
      double bytes = model[i].mem_shared + u.nseed * model[i].mem_per_seed;
      if (bytes > plan->max_unit_bytes) plan->max_unit_bytes = bytes;
      plan->core_seconds += u.cost;
    }
  qsort(plan->u, (size_t)n, sizeof *plan->u, gds_unit_cmp);
  for (int i = 0; i < n; i++)
    if (plan->u[i].problem) first[((size_t)plan->u[i].op * s->n_sigma + plan->u[i].sigma) * maxblocks + plan->u[i].block] = i;
  for (int i = 0; i < n; i++)
    plan->u[i].dep = first[((size_t)plan->u[i].op * s->n_sigma + plan->u[i].sigma) * maxblocks + plan->u[i].block];
  plan->n = n;
  plan->block = B;
  plan->block_dense = Bd;
  plan->nblocks = nblocks;
  plan->nbase = nbase;
out:
  free(base);
  free(model);
  free(dense);
  free(first);
  if (ierr) gds_unit_plan_free(plan);
  return ierr;
}

void gds_unit_plan_free(gds_unit_plan *plan) {
  if (!plan) return;
  free(plan->u);
  memset(plan, 0, sizeof *plan);
}

static void gds_unit_spans(const gds_sweep *s, const gds_unit *u, int *na, int *nsc, int *ne) {
  *na = u->alpha < 0 ? s->n_alpha : 1;
  *nsc = u->scheme < 0 ? s->n_scheme : 1;
  *ne = u->eps < 0 ? s->n_eps : 1;
}

int gds_unit_ntuples(const gds_sweep *s, const gds_unit *u) {
  int na, nsc, ne;
  gds_unit_spans(s, u, &na, &nsc, &ne);
  return na * nsc * ne;
}

int64_t gds_unit_npoints(const gds_sweep *s, const gds_unit *u) {
  return (int64_t)gds_unit_ntuples(s, u) * u->nseed;
}

void gds_unit_tuple(const gds_sweep *s, const gds_unit *u, int k, int idx[GDS_IO_NAXES]) {
  int na, nsc, ne;
  gds_unit_spans(s, u, &na, &nsc, &ne);
  const int ep = k % ne, sc = (k / ne) % nsc, al = k / (ne * nsc);
  idx[GDS_IO_AXIS_OPERATOR] = u->op;
  idx[GDS_IO_AXIS_SIGMA] = u->sigma;
  idx[GDS_IO_AXIS_ALPHA] = u->alpha < 0 ? al : u->alpha;
  idx[GDS_IO_AXIS_ALGORITHM] = u->alg;
  idx[GDS_IO_AXIS_SCHEME] = u->scheme < 0 ? sc : u->scheme;
  idx[GDS_IO_AXIS_STEPS] = u->steps;
  idx[GDS_IO_AXIS_EPS] = u->eps < 0 ? ep : u->eps;
  idx[GDS_IO_AXIS_INIT] = u->init;
  idx[GDS_IO_AXIS_SEED] = u->seed0;
}

gds_sampler_config gds_unit_config(const gds_sweep *s, const gds_unit *u) {
  gds_sampler_config c;
  memset(&c, 0, sizeof c);
  c.alg = s->alg[u->alg];
  c.alpha_dps = s->alpha_dps[u->alpha < 0 ? 0 : u->alpha];
  c.scheme = s->scheme[u->scheme < 0 ? 0 : u->scheme];
  c.steps = s->steps[u->steps];
  c.eps = u->eps < 0 ? 0.0 : s->eps[u->eps];
  c.init = s->init[u->init];
  return c;
}
