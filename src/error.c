/* Error raising and tracing; see include/gdsweep/error.h. */
#include "gdsweep/error.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The only process-wide state: whether messages are printed (tests of error paths). */
static int gds_error_quiet_ = 0;

int gds_error_set_quiet(int quiet) {
  int old = gds_error_quiet_;
  gds_error_quiet_ = quiet;
  return old;
}

int gds_error_raise(int code, const char *file, int line, const char *func, const char *fmt, ...) {
  if (!gds_error_quiet_) {
    va_list ap;
    va_start(ap, fmt);
    fputs("gdsweep: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (code == GDS_ERR_INPUT) fputc('\n', stderr);
    else fprintf(stderr, "\n  raised at %s:%d (%s)\n", file, line, func);
  }
  return code;
}

void gds_error_trace(int code, const char *file, int line, const char *func) {
  /* Input errors are the user's to fix: the message names the file/key; a C stack would only
   * distract. Runtime errors keep the trace for bug reports. */
  if (!gds_error_quiet_ && code != GDS_ERR_INPUT && code != GDS_ERR_INTERRUPTED)
    fprintf(stderr, "  called from %s:%d (%s)\n", file, line, func);
}

int gds_calloc(size_t n, size_t size, void *ptr_out) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) return gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory allocating %zu x %zu bytes", n, size);
  *(void **)ptr_out = p;
  return GDS_SUCCESS;
}

int gds_malloc_aligned(size_t bytes, void *ptr_out) {
  void *p = NULL;
  size_t rounded = (bytes + 63) / 64 * 64;
  if (posix_memalign(&p, 64, rounded ? rounded : 64))
    return gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory allocating %zu bytes", bytes);
  memset(p, 0, rounded ? rounded : 64);
  *(void **)ptr_out = p;
  return GDS_SUCCESS;
}

char *gds_strdup(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

int gds_error_mpi(int mpi_code, const char *file, int line, const char *func, const char *call) {
  char msg[MPI_MAX_ERROR_STRING] = "";
  int len = 0, rank = -1;
  if (MPI_Error_string(mpi_code, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "MPI error code %d", mpi_code);
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (inited && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return gds_error_raise(GDS_ERR_RUNTIME, file, line, func, "rank %d: %s failed: %s", rank, call, msg);
}

void gds_nap(double *nap) {
  const struct timespec ts = {0, (long)(*nap * 1e9)};
  nanosleep(&ts, NULL);
  if (*nap < 1e-3) *nap *= 2;
}

int gds_mpi_wait(MPI_Request *rq, int (*between)(void *ctx), void *ctx) {
  for (double nap = GDS_NAP_FIRST;; gds_nap(&nap)) {
    int flag = 0;
    GDS_MPI_CALL(MPI_Test(rq, &flag, MPI_STATUS_IGNORE));
    if (flag) return GDS_SUCCESS;
    if (between) GDS_CALL(between(ctx));
  }
}
