/* Exact law front end (SPEC §2, §7; docs/maths.md §4): backend dispatch by operator
 * structure, and the one loop that walks a sampler's plan. */
#include "gdsweep/law.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/w2.h"
#include "law_impl.h"

static const gds_law_backend *const gds_law_backends_[GDS_STRUCTURE_COUNT] = {
    [GDS_STRUCTURE_FOURIER_DIAGONAL] = &gds_law_backend_fourier_diag,
    [GDS_STRUCTURE_FOURIER_BLOCK] = &gds_law_backend_fourier_block,
    [GDS_STRUCTURE_DENSE] = &gds_law_backend_dense,
};

static const gds_law_backend *gds_law_backend_of(const gds_operator *op) {
  return op->spec.dense ? &gds_law_backend_dense : gds_law_backends_[op->structure];
}

/* The one choice of a law's backend: eigen-diagonal for a prior given in its own eigenbasis,
 * else by the operator (its structure, or `backend: dense`). */
static const gds_law_backend *gds_law_backend_choose(const gds_prior *prior, const gds_operator *op) {
  return prior && prior->basis == GDS_PRIOR_BASIS_EIGEN ? &gds_law_backend_eigen_diag : gds_law_backend_of(op);
}

const char *gds_law_backend_for(const gds_operator *op) {
  const gds_law_backend *be = gds_law_backend_of(op);
  return be ? be->name : "none";
}

const char *gds_law_backend_for_prior(const gds_prior *prior, const gds_operator *op) {
  const gds_law_backend *be = gds_law_backend_choose(prior, op);
  return be ? be->name : "none";
}

int gds_law_check_operator(const gds_operator *op) {
  if (!gds_law_backends_[op->structure])
    GDS_ERROR(GDS_ERR_INPUT, "operator %s: no exact-law backend for its structure in this build", op->name);
  return GDS_SUCCESS;
}

int gds_law_supports(const gds_operator *op, const gds_algorithm_spec *alg) {
  GDS_CALL(gds_law_check_operator(op));
  if (!gds_algorithm_get(alg->kind)) GDS_ERROR(GDS_ERR_INPUT, "invalid algorithm index %d", (int)alg->kind);
  const gds_law_backend *be = gds_law_backend_of(op);
  if (be->supports) GDS_CALL(be->supports(op, alg));
  return GDS_SUCCESS;
}

int gds_law_create(const gds_prior *prior, const gds_schedule *sched, gds_operator *op, double sigma, gds_law **out) {
  GDS_CALL(gds_law_create_group(MPI_COMM_SELF, prior, sched, op, sigma, out));
  return GDS_SUCCESS;
}

static int gds_law_create_with(MPI_Comm group, const gds_law_backend *be, const gds_prior *prior,
                               const gds_schedule *sched, gds_operator *op, double sigma, gds_law **out) {
  if (!be) GDS_ERROR(GDS_ERR_INPUT, "no exact-law backend for operator %s yet", op->name);
  if (!(sigma > 0)) GDS_ERROR(GDS_ERR_INPUT, "sigma must be > 0, got %g", sigma);
  if (op->H != prior->H || op->W != prior->W)
    GDS_ERROR(GDS_ERR_RUNTIME, "operator size %dx%d differs from prior size %dx%d", op->H, op->W, prior->H, prior->W);
  /* A prior given in its own eigenbasis (SPEC §7.6) has no Fourier structure: only the
   * eigen-diagonal backend applies, and it applies to nothing else. */
  if ((prior->basis == GDS_PRIOR_BASIS_EIGEN) != (be == &gds_law_backend_eigen_diag))
    GDS_ERROR(GDS_ERR_INPUT, "prior %s %s: exact-law backend '%s' cannot be used with it", prior->name,
              prior->basis == GDS_PRIOR_BASIS_EIGEN ? "is given in its own eigenbasis" : "is stationary (Fourier)",
              be->name);
  gds_law *law;
  GDS_CALL(GDS_ALLOC(law, 1));
  law->backend = be;
  law->group = group;
  law->prior = prior;
  law->sched = sched;
  law->op = op;
  law->sigma = sigma;
  for (int i = 0; i < prior->H * prior->W && !law->singular; i++) law->singular = !(prior->spectrum[i] > 0);
  /* The Fourier backends run without MPI (unit tests do not initialise it): one rank. */
  int init = 0, ierr = MPI_Initialized(&init);
  law->group_size = 1;
  if (ierr == MPI_SUCCESS && init) ierr = MPI_Comm_size(group, &law->group_size);
  if (ierr != MPI_SUCCESS) {
    free(law);
    return gds_error_mpi(ierr, __FILE__, __LINE__, __func__, "MPI_Comm_size(group)");
  }
  ierr = be->setup(law);
  if (ierr) {
    gds_law_destroy(&law);
    GDS_CALL(ierr);
  }
  *out = law;
  return GDS_SUCCESS;
}

int gds_law_create_group(MPI_Comm group, const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                         double sigma, gds_law **out) {
  GDS_CALL(gds_law_create_with(group, gds_law_backend_choose(prior, op), prior, sched, op, sigma, out));
  return GDS_SUCCESS;
}

/* A backend is named by its full name or the part before '-' ("dense"). The dense backend
 * only applies the operator, so it handles every structure; the others only their own. */
int gds_law_create_backend(MPI_Comm group, const char *backend, const gds_prior *prior, const gds_schedule *sched,
                           gds_operator *op, double sigma, gds_law **out) {
  if (!backend) {
    GDS_CALL(gds_law_create_group(group, prior, sched, op, sigma, out));
    return GDS_SUCCESS;
  }
  const gds_law_backend *be = NULL;
  int s_found = -1;
  size_t len = strlen(backend);
  for (int s = 0; s <= GDS_STRUCTURE_COUNT; s++) { /* the structures' backends, then eigen-diagonal */
    const gds_law_backend *b = s < GDS_STRUCTURE_COUNT ? gds_law_backends_[s] : &gds_law_backend_eigen_diag;
    if (b && (!strcmp(b->name, backend) || (!strncmp(b->name, backend, len) && b->name[len] == '-'))) {
      be = b;
      s_found = s;
      break;
    }
  }
  if (!be) GDS_ERROR(GDS_ERR_INPUT, "unknown exact-law backend '%s'", backend);
  if (s_found != (int)op->structure && s_found != GDS_STRUCTURE_DENSE && s_found != GDS_STRUCTURE_COUNT)
    GDS_ERROR(GDS_ERR_INPUT, "exact-law backend '%s' cannot handle operator %s", backend, op->name);
  GDS_CALL(gds_law_create_with(group, be, prior, sched, op, sigma, out));
  return GDS_SUCCESS;
}

void gds_law_destroy(gds_law **law) {
  if (!law || !*law) return;
  if ((*law)->backend && (*law)->backend->destroy) (*law)->backend->destroy(*law);
  free(*law);
  *law = NULL;
}

size_t gds_law_seed_bytes(const gds_law *law) {
  return law->backend->seed_bytes ? law->backend->seed_bytes(law) : 0;
}

const char *gds_law_backend_name(const gds_law *law) { return law->backend->name; }

int gds_law_curve_length(const gds_law *law, const gds_sampler_config *cfg) {
  return gds_plan_curve_length(law->sched, cfg);
}

int gds_law_posterior(gds_law *law, const double *v, double *mean, double *var) {
  GDS_CALL(law->backend->posterior(law, v, mean, var));
  return GDS_SUCCESS;
}

/* ---- the plan walk ---- */

/* Stop decision, identical on every rank of the group (the dense backend is collective:
 * a rank that stopped alone would leave the others in a collective). */
static int gds_law_poll(gds_law *law, const gds_poll *poll) {
  int stop = gds_poll_stop(poll);
  if (law->group_size > 1) GDS_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, law->group));
  return stop ? GDS_ERR_INTERRUPTED : GDS_SUCCESS;
}

/* Divergence (SPEC §2 W2 of a law that overflowed): once a part is not finite at a recorded
 * point it is +inf there and at every later recorded point. */
typedef struct gds_law_latch {
  int cov, *mean; /* [ns] */
  int early;      /* every part diverged: the walk stopped before the end */
} gds_law_latch;

static double gds_law_latched(int *flag, double x) {
  if (*flag || !isfinite(x)) {
    *flag = 1;
    return INFINITY;
  }
  return x;
}

/* A step that evaluates the score at ᾱ = 1 (u = 0) while Σ is singular has no finite law
 * (SPEC §7.3), nor has a step without real value (gds_step.undefined): everything after it is
 * +inf. */
static int gds_law_step_singular(const gds_law *law, const gds_step *st) {
  if (st->undefined) return 1;
  if (!law->singular || st->kind != GDS_STEP_SCORE) return 0;
  for (int j = 0; j < st->nstage; j++)
    if (st->stage[j].abar >= 1.0) return 1;
  return 0;
}

static int gds_law_all_latched(const gds_law_latch *lt, int ns) {
  if (!lt->cov) return 0;
  for (int s = 0; s < ns; s++)
    if (!lt->mean[s]) return 0;
  return 1;
}

/* Runs the plan from its start to point `upto`, writing W2 at the recorded points into the
 * curves (cov[ncurve], mean[s][ncurve]; NULL when not wanted; the caller NaN-fills them).
 * rec0 keeps the record of the last point reached. */
static int gds_law_walk(gds_law *law, gds_law_eval *ev, int upto, const unsigned char *mask, const gds_poll *poll,
                        double *cov, double **mean, gds_law_latch *lt, gds_law_rec *last, int *last_recorded) {
  const gds_plan *p = ev->plan;
  int ns = ev->ns, rec_any = cov != NULL;
  for (int s = 0; s < ns && mean && !rec_any; s++) rec_any = mean[s] != NULL;
  *last_recorded = 0;
  for (int j = 0; j <= upto; j++) {
    int idx = p->point[j], want = rec_any && (!mask || mask[idx]);
    *last = (gds_law_rec){.abar = p->abar[j], .want = want, .mean = last->mean};
    if (j == 0) {
      if (want && p->start == GDS_START_EXACT) { /* the start law is the reference law itself */
        last->cov = 0.0;
        for (int s = 0; s < ns; s++) last->mean[s] = 0.0;
      } else if (want) GDS_CALL(law->backend->record(law, ev, last));
    } else {
      GDS_CALL(gds_law_poll(law, poll));
      if (gds_law_step_singular(law, &p->step[j - 1])) {
        lt->cov = 1;
        for (int s = 0; s < ns; s++) lt->mean[s] = 1;
      }
      if (gds_law_all_latched(lt, ns)) { /* nothing finite is left to compute */
        lt->early = 1;
        for (int k = j; k <= upto; k++) {
          int ik = p->point[k];
          if (!rec_any || (mask && !mask[ik])) continue;
          if (cov) cov[ik] = INFINITY;
          for (int s = 0; s < ns && mean; s++)
            if (mean[s]) mean[s][ik] = INFINITY;
        }
        return GDS_SUCCESS;
      }
      GDS_CALL(law->backend->step(law, ev, j - 1, last));
    }
    if (!want) continue;
    last->cov = gds_law_latched(&lt->cov, last->cov);
    for (int s = 0; s < ns; s++) last->mean[s] = gds_law_latched(&lt->mean[s], last->mean[s]);
    if (cov) cov[idx] = last->cov;
    for (int s = 0; s < ns && mean; s++)
      if (mean[s]) mean[s][idx] = last->mean[s];
    *last_recorded = j == upto;
  }
  return GDS_SUCCESS;
}

static int gds_law_eval_begin(gds_law *law, const gds_sampler_config *cfg, int ns, const double *const *v,
                              gds_law_eval *ev, gds_plan **plan) {
  GDS_CALL(gds_algorithm_spec_check(&cfg->alg, cfg->alpha_dps));
  if (law->backend->supports) GDS_CALL(law->backend->supports(law->op, &cfg->alg));
  GDS_CALL(gds_plan_create(law->sched, cfg, plan));
  *ev = (gds_law_eval){.cfg = cfg, .alg = gds_algorithm_get(cfg->alg.kind), .plan = *plan, .ns = ns, .v = v};
  int ierr = law->backend->begin(law, ev);
  if (ierr) {
    law->backend->end(law, ev);
    gds_plan_destroy(plan);
    GDS_CALL(ierr);
  }
  return GDS_SUCCESS;
}

static void gds_fill(size_t n, double *x, double value) {
  for (size_t i = 0; i < n; i++) x[i] = value;
}

/* Entries that are not finite become +inf (a diverged law; never NaN). */
static void gds_sanitise(size_t n, double *x) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) x[i] = INFINITY;
}

int gds_law_evaluate(gds_law *law, const gds_law_request *req, gds_law_result *res) {
  int ns = req->nseeds, ierr = GDS_SUCCESS, d = law->op->d;
  if (ns < 0) GDS_ERROR(GDS_ERR_INPUT, "negative seed count %d", ns);
  gds_plan *plan = NULL;
  gds_law_eval ev;
  GDS_CALL(gds_law_eval_begin(law, &req->cfg, ns, req->v, &ev, &plan));
  const int nc = plan->ncurve, nb = ns > 0 ? ns : 1;
  double *cov = NULL, **wm = NULL, *buf = NULL;
  int *flags = NULL;
  gds_law_latch lt = {0};
  gds_law_rec last = {0};
  /* cov[nc] then one mean curve per seed: w2 needs both parts even when only w2 is wanted */
  int want_cov = res->w2_cov || res->w2, want_mean = res->w2_mean || res->w2;
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(buf, (size_t)nc * (ns + 1) + nb));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(wm, nb));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(flags, nb));
  gds_fill((size_t)nc * (ns + 1), buf, NAN);
  cov = want_cov ? buf : NULL;
  for (int s = 0; s < ns; s++) wm[s] = want_mean ? buf + (size_t)nc * (s + 1) : NULL;
  last.mean = buf + (size_t)nc * (ns + 1);
  lt.mean = flags;
  int last_rec = 0;
  GDS_CALL_GOTO(ierr, out, gds_law_walk(law, &ev, plan->nsteps, req->w2_mask, req->poll, cov, wm, &lt, &last, &last_rec));

  /* W2 against the target itself (SPEC §7.5): the last point's record when it compared with
   * ᾱ = 1 already (the discrete process ends at t = 0). */
  int want_final = res->w2_final || res->w2_final_cov || res->w2_final_mean;
  if (want_final) {
    if (!(last_rec && last.abar == 1.0 && want_cov && want_mean)) {
      last = (gds_law_rec){.abar = 1.0, .want = 1, .mean = last.mean};
      if (!lt.early) GDS_CALL_GOTO(ierr, out, law->backend->record(law, &ev, &last));
      last.cov = gds_law_latched(&lt.cov, last.cov);
      for (int s = 0; s < ns; s++) last.mean[s] = gds_law_latched(&lt.mean[s], last.mean[s]);
    }
    if (res->w2_final_cov) res->w2_final_cov[0] = last.cov;
    for (int s = 0; s < ns; s++) {
      if (res->w2_final_mean) res->w2_final_mean[s] = last.mean[s];
      if (res->w2_final) res->w2_final[s] = gds_w2_combine(last.mean[s], last.cov);
    }
  }
  if (res->mean0 || res->var0) {
    if (lt.early) { /* the state is not the output law: it diverged */
      for (int s = 0; s < ns && res->mean0; s++)
        if (res->mean0[s]) gds_fill((size_t)d, res->mean0[s], INFINITY);
      if (res->var0) gds_fill((size_t)d, res->var0, INFINITY);
    } else {
      GDS_CALL_GOTO(ierr, out, law->backend->output(law, &ev, res->mean0, res->var0));
      for (int s = 0; s < ns && res->mean0; s++)
        if (res->mean0[s]) gds_sanitise((size_t)d, res->mean0[s]);
      if (res->var0) gds_sanitise((size_t)d, res->var0);
    }
  }
  for (int s = 0; s < ns; s++) {
    if (res->w2_mean) memcpy(res->w2_mean[s], wm[s], sizeof(double) * (size_t)nc);
    if (res->w2)
      for (int t = 0; t < nc; t++) res->w2[s][t] = gds_w2_combine(wm[s][t], buf[t]);
  }
  if (res->w2_cov) memcpy(res->w2_cov, buf, sizeof(double) * (size_t)nc);
out:
  law->backend->end(law, &ev);
  gds_plan_destroy(&plan);
  free(buf);
  free(wm);
  free(flags);
  return ierr;
}

int gds_law_moments(gds_law *law, const gds_sampler_config *cfg, const double *v, int time, double *mean, double *cov,
                    double *ref_mean, double *ref_cov) {
  gds_plan *plan = NULL;
  gds_law_eval ev;
  const double *vp[1] = {v};
  GDS_CALL(gds_law_eval_begin(law, cfg, 1, vp, &ev, &plan));
  int ierr = GDS_SUCCESS, j = gds_plan_find(plan, time), flag = 0, last_rec;
  double m1;
  gds_law_latch lt = {.mean = &flag};
  gds_law_rec last = {.mean = &m1};
  if (j < 0) {
    ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__, "the sampler does not visit time %d", time);
    goto out;
  }
  GDS_CALL_GOTO(ierr, out, gds_law_walk(law, &ev, j, NULL, NULL, NULL, NULL, &lt, &last, &last_rec));
  GDS_CALL_GOTO(ierr, out, law->backend->moments(law, &ev, plan->abar[j], mean, cov, ref_mean, ref_cov));
out:
  law->backend->end(law, &ev);
  gds_plan_destroy(&plan);
  return ierr;
}
