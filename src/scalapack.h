/* Private: prototypes of the BLACS / PBLAS / ScaLAPACK routines gdsweep calls. Debian's
 * libscalapack-openmpi ships no C headers (see shared/notes/platform.md), so they are
 * declared here. Fortran conventions: every argument by reference, column-major arrays,
 * and one hidden trailing length per CHARACTER argument (passed as 1; harmless for the
 * PBLAS routines, which are written in C and ignore them). Descriptors are int[9]. */
#ifndef GDSWEEP_SCALAPACK_H
#define GDSWEEP_SCALAPACK_H

#include <mpi.h>
#include <stddef.h>

enum { GDS_DLEN = 9, GDS_DESC_CTXT = 1, GDS_DESC_LLD = 8 };

/* BLACS (C interface) */
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *ctxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctxt);

/* ScaLAPACK tools */
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc,
               const int *icsrc, const int *ictxt, const int *lld, int *info);

/* PBLAS */
void pdgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
             const double *alpha, const double *a, const int *ia, const int *ja, const int *desca,
             const double *b, const int *ib, const int *jb, const int *descb, const double *beta,
             double *c, const int *ic, const int *jc, const int *descc, size_t, size_t);
void pdtrsm_(const char *side, const char *uplo, const char *transa, const char *diag, const int *m,
             const int *n, const double *alpha, const double *a, const int *ia, const int *ja,
             const int *desca, double *b, const int *ib, const int *jb, const int *descb, size_t,
             size_t, size_t, size_t);
void pdsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
             const double *a, const int *ia, const int *ja, const int *desca, const double *beta,
             double *c, const int *ic, const int *jc, const int *descc, size_t, size_t);

/* Redistribution between any two block-cyclic layouts; ictxt spans both grids. */
void pdgemr2d_(const int *m, const int *n, const double *a, const int *ia, const int *ja,
               const int *desca, double *b, const int *ib, const int *jb, const int *descb,
               const int *ictxt);

/* ScaLAPACK */
void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja, const int *desca,
              int *info, size_t);
void pdpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *ia,
              const int *ja, const int *desca, double *b, const int *ib, const int *jb,
              const int *descb, int *info, size_t);
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, double *w, double *z, const int *iz, const int *jz, const int *descz,
              double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t, size_t);
void pdsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia, const int *ja,
             const int *desca, double *w, double *z, const int *iz, const int *jz, const int *descz,
             double *work, const int *lwork, int *info, size_t, size_t);

#endif
