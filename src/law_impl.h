/* Private: the law backend interface. A backend handles one operator structure
 * (gds_structure); src/law.c picks it from a table, so adding a structure means adding a
 * backend file and a table entry, not an if chain. */
#ifndef GDSWEEP_LAW_IMPL_H
#define GDSWEEP_LAW_IMPL_H

#include "gdsweep/law.h"

typedef struct gds_law_backend {
  const char *name;
  int (*setup)(gds_law *law);
  int (*posterior)(gds_law *law, const double *v, double *mean, double *var);
  int (*evaluate)(gds_law *law, const gds_law_request *req, gds_law_result *res);
  int (*moments)(gds_law *law, gds_algorithm alg, double alpha_dps, const double *v, int t,
                 double *mean, double *cov, double *ref_mean, double *ref_cov);
  void (*destroy)(gds_law *law);
} gds_law_backend;

struct gds_law {
  const gds_law_backend *backend;
  MPI_Comm group; /* ranks sharing this law (MPI_COMM_SELF for the Fourier backends) */
  const gds_prior *prior;
  const gds_schedule *sched;
  gds_operator *op;
  double sigma;
  void *data; /* backend state */
};

extern const gds_law_backend gds_law_backend_fourier_diag;
extern const gds_law_backend gds_law_backend_fourier_block;
extern const gds_law_backend gds_law_backend_dense;

#endif
