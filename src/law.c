/* Exact law front end (SPEC §2): backend dispatch by operator structure. */
#include "gdsweep/law.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "law_impl.h"

static const gds_law_backend *const gds_law_backends_[GDS_STRUCTURE_COUNT] = {
    [GDS_STRUCTURE_FOURIER_DIAGONAL] = &gds_law_backend_fourier_diag,
    [GDS_STRUCTURE_FOURIER_BLOCK] = &gds_law_backend_fourier_block,
    [GDS_STRUCTURE_DENSE] = &gds_law_backend_dense,
};

const char *gds_law_backend_for(const gds_operator *op) {
  const gds_law_backend *be = op->spec.dense ? &gds_law_backend_dense : gds_law_backends_[op->structure];
  return be ? be->name : "none";
}

int gds_law_check_operator(const gds_operator *op) {
  if (!gds_law_backends_[op->structure])
    GDS_ERROR(GDS_ERR_INPUT, "operator %s: no exact-law backend for its structure in this build", op->name);
  return GDS_SUCCESS;
}

int gds_law_create(const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                   double sigma, gds_law **out) {
  GDS_CALL(gds_law_create_group(MPI_COMM_SELF, prior, sched, op, sigma, out));
  return GDS_SUCCESS;
}

static int gds_law_create_with(MPI_Comm group, const gds_law_backend *be, const gds_prior *prior,
                               const gds_schedule *sched, gds_operator *op, double sigma, gds_law **out) {
  if (!be) GDS_ERROR(GDS_ERR_INPUT, "no exact-law backend for operator %s yet", op->name);
  if (!(sigma > 0)) GDS_ERROR(GDS_ERR_INPUT, "sigma must be > 0, got %g", sigma);
  if (op->H != prior->H || op->W != prior->W)
    GDS_ERROR(GDS_ERR_RUNTIME, "operator size %dx%d differs from prior size %dx%d", op->H, op->W, prior->H, prior->W);
  gds_law *law;
  GDS_CALL(GDS_ALLOC(law, 1));
  law->backend = be;
  law->group = group;
  law->prior = prior;
  law->sched = sched;
  law->op = op;
  law->sigma = sigma;
  int ierr = be->setup(law);
  if (ierr) {
    gds_law_destroy(&law);
    GDS_CALL(ierr);
  }
  *out = law;
  return GDS_SUCCESS;
}

int gds_law_create_group(MPI_Comm group, const gds_prior *prior, const gds_schedule *sched,
                         gds_operator *op, double sigma, gds_law **out) {
  GDS_CALL(gds_law_create_with(group, gds_law_backends_[op->structure], prior, sched, op, sigma, out));
  return GDS_SUCCESS;
}

/* A backend is named by its full name or the part before '-' ("dense"). The dense backend
 * only applies the operator, so it handles every structure; the others only their own. */
int gds_law_create_backend(MPI_Comm group, const char *backend, const gds_prior *prior,
                           const gds_schedule *sched, gds_operator *op, double sigma, gds_law **out) {
  if (!backend) {
    GDS_CALL(gds_law_create_group(group, prior, sched, op, sigma, out));
    return GDS_SUCCESS;
  }
  const gds_law_backend *be = NULL;
  int s_found = -1;
  size_t len = strlen(backend);
  for (int s = 0; s < GDS_STRUCTURE_COUNT; s++) {
    const gds_law_backend *b = gds_law_backends_[s];
    if (b && (!strcmp(b->name, backend) || (!strncmp(b->name, backend, len) && b->name[len] == '-'))) {
      be = b;
      s_found = s;
      break;
    }
  }
  if (!be) GDS_ERROR(GDS_ERR_INPUT, "unknown exact-law backend '%s'", backend);
  if (s_found != (int)op->structure && s_found != GDS_STRUCTURE_DENSE)
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

const char *gds_law_backend_name(const gds_law *law) { return law->backend->name; }

int gds_law_posterior(gds_law *law, const double *v, double *mean, double *var) {
  GDS_CALL(law->backend->posterior(law, v, mean, var));
  return GDS_SUCCESS;
}

static int gds_law_check_alpha(gds_algorithm alg, double alpha_dps) {
  if (alg < 0 || alg >= GDS_ALG_COUNT) GDS_ERROR(GDS_ERR_INPUT, "invalid algorithm index %d", (int)alg);
  if (alg == GDS_ALG_DDRM) GDS_ERROR(GDS_ERR_INPUT, "algorithm ddrm is not implemented yet");
  if (alg == GDS_ALG_DPS && !(alpha_dps > 0)) GDS_ERROR(GDS_ERR_INPUT, "alpha_dps must be > 0, got %g", alpha_dps);
  return GDS_SUCCESS;
}

int gds_law_evaluate(gds_law *law, const gds_law_request *req, gds_law_result *res) {
  GDS_CALL(gds_law_check_alpha(req->cfg.alg.kind, req->cfg.alpha_dps));
  GDS_CALL(law->backend->evaluate(law, req, res));
  return GDS_SUCCESS;
}

int gds_law_moments(gds_law *law, gds_algorithm alg, double alpha_dps, const double *v, int t,
                    double *mean, double *cov, double *ref_mean, double *ref_cov) {
  GDS_CALL(gds_law_check_alpha(alg, alpha_dps));
  if (t < 0 || t > law->sched->T) GDS_ERROR(GDS_ERR_INPUT, "time %d outside 0..%d", t, law->sched->T);
  GDS_CALL(law->backend->moments(law, alg, alpha_dps, v, t, mean, cov, ref_mean, ref_cov));
  return GDS_SUCCESS;
}
