/* Error handling: every gdsweep function returns an int error code (0 = success).
 * GDS_ERROR raises an error with a message; GDS_CALL propagates one, adding the caller's
 * file/line to the trace (as PETSc's PetscCall). Only main() turns a code into an exit. */
#ifndef GDSWEEP_ERROR_H
#define GDSWEEP_ERROR_H

#include <mpi.h>
#include <stddef.h>

/* Values double as the process exit codes of SPEC §6. */
enum {
  GDS_SUCCESS = 0,
  GDS_ERR_INPUT = 1,       /* bad usage or input: names the file/key/value */
  GDS_ERR_RUNTIME = 2,     /* I/O, library or allocation failure */
  GDS_ERR_INTERRUPTED = 3, /* stopped by a signal; the output is resumable */
};

int gds_error_raise(int code, const char *file, int line, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void gds_error_trace(int code, const char *file, int line, const char *func);
/* Silence messages (tests of error paths that would otherwise flood the log): returns old. */
int gds_error_set_quiet(int quiet);

#define GDS_ERROR(code, ...) return gds_error_raise((code), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define GDS_CALL(expr)                                                                     \
  do {                                                                                     \
    int gds_ierr_ = (expr);                                                                \
    if (gds_ierr_) {                                                                       \
      gds_error_trace(gds_ierr_, __FILE__, __LINE__, __func__);                            \
      return gds_ierr_;                                                                    \
    }                                                                                      \
  } while (0)
/* Like GDS_CALL but jumps to a cleanup label, storing the code in `ierr`. */
#define GDS_CALL_GOTO(ierr, label, expr)                                                   \
  do {                                                                                     \
    (ierr) = (expr);                                                                       \
    if (ierr) {                                                                            \
      gds_error_trace((ierr), __FILE__, __LINE__, __func__);                               \
      goto label;                                                                          \
    }                                                                                      \
  } while (0)

/* MPI calls: with MPI_ERRORS_RETURN set on the communicators gdsweep uses, a failing MPI call
 * returns a code instead of aborting; GDS_MPI_CALL turns it into GDS_ERR_RUNTIME with the MPI
 * error string, the call's text and the caller's file/line. */
int gds_error_mpi(int mpi_code, const char *file, int line, const char *func, const char *call);
#define GDS_MPI_CALL(expr)                                                                 \
  do {                                                                                     \
    int gds_mpierr_ = (expr);                                                              \
    if (gds_mpierr_ != 0 /* MPI_SUCCESS */)                                                \
      return gds_error_mpi(gds_mpierr_, __FILE__, __LINE__, __func__, #expr);              \
  } while (0)

/* Waiting without spinning: a rank that waits for others must not take the cores that
 * oversubscribed ranks need. gds_nap sleeps *nap seconds and doubles it up to 1 ms (start at
 * GDS_NAP_FIRST); gds_mpi_wait completes a nonblocking request that way, calling between(ctx)
 * after each test that finds it pending (when given; its error ends the wait). */
#define GDS_NAP_FIRST 2e-5
void gds_nap(double *nap);
int gds_mpi_wait(MPI_Request *rq, int (*between)(void *ctx), void *ctx);

/* Cooperative interruption. Long computations (the law recursion, sampler steps, dense units)
 * call gds_poll_check every so often; when the poll says stop they return GDS_ERR_INTERRUPTED
 * and leave their outputs unspecified (the caller drops the unit). NULL polls never stop.
 * A computation collective on a group (dense backend) must reach the same decision on every
 * rank of the group (e.g. by reducing the poll's answer). */
typedef struct gds_poll {
  int (*stop)(void *ctx); /* non-zero: stop as soon as possible */
  void *ctx;
} gds_poll;
static inline int gds_poll_stop(const gds_poll *p) { return p && p->stop && p->stop(p->ctx); }
#define GDS_POLL(p)                                                                        \
  do {                                                                                     \
    if (gds_poll_stop(p)) return GDS_ERR_INTERRUPTED;                                      \
  } while (0)

/* Allocation helpers: zeroed memory, error (not NULL) on failure. */
int gds_calloc(size_t n, size_t size, void *ptr_out);
int gds_malloc_aligned(size_t bytes, void *ptr_out); /* 64-byte aligned, free with free() */
#define GDS_ALLOC(ptr, n) gds_calloc((size_t)(n), sizeof(*(ptr)), &(ptr))
char *gds_strdup(const char *s);

#endif
