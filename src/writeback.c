/* Write-behind of the output file (include/gdsweep/writeback.h). */
#include "gdsweep/writeback.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gdsweep/error.h"

struct gds_writeback {
  char *path;
  int fd;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int pending; /* a kick not yet served */
  int stop;
  int err;     /* errno of the failed fdatasync (the thread stops at the first) */
};

static void *gds_writeback_main(void *arg) {
  gds_writeback *wb = arg;
  pthread_mutex_lock(&wb->mu);
  for (;;) {
    while (!wb->pending && !wb->stop) pthread_cond_wait(&wb->cv, &wb->mu);
    if (!wb->pending) break; /* stopped, every kick served */
    wb->pending = 0;
    pthread_mutex_unlock(&wb->mu);
    /* Data, and only the metadata needed to read it back (block allocations); the final sync
     * of the run (through HDF5) covers the rest. */
    const int e = fdatasync(wb->fd) != 0 ? errno : 0;
    pthread_mutex_lock(&wb->mu);
    if (e) {
      wb->err = e;
      break; /* the final sync will fail too; no point in retrying */
    }
  }
  pthread_mutex_unlock(&wb->mu);
  return NULL;
}

int gds_writeback_create(const char *path, gds_writeback **out) {
  int ierr = GDS_SUCCESS;
  gds_writeback *wb = NULL;
  *out = NULL;
  GDS_CALL(GDS_ALLOC(wb, 1));
  wb->fd = -1;
  if (!(wb->path = gds_strdup(path))) {
    free(wb);
    GDS_ERROR(GDS_ERR_RUNTIME, "out of memory");
  }
  if ((wb->fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "cannot open '%s' for write-behind: %s",
                           path, strerror(errno));
    goto fail;
  }
  int e = pthread_mutex_init(&wb->mu, NULL);
  if (!e && (e = pthread_cond_init(&wb->cv, NULL))) pthread_mutex_destroy(&wb->mu);
  if (e) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "cannot set up write-behind of '%s': %s",
                           path, strerror(e));
    goto fail;
  }
  /* The thread inherits a full signal mask: SIGTERM/SIGINT/SIGUSR1 stay with the caller, whose
   * handler turns them into a prompt, clean stop. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  e = pthread_create(&wb->thread, NULL, gds_writeback_main, wb);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e) {
    pthread_cond_destroy(&wb->cv);
    pthread_mutex_destroy(&wb->mu);
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__,
                           "cannot start the write-behind thread of '%s': %s", path, strerror(e));
    goto fail;
  }
  *out = wb;
  return GDS_SUCCESS;
fail:
  if (wb->fd >= 0) close(wb->fd);
  free(wb->path);
  free(wb);
  return ierr;
}

void gds_writeback_kick(gds_writeback *wb) {
  if (!wb) return;
  pthread_mutex_lock(&wb->mu);
  wb->pending = 1;
  pthread_cond_signal(&wb->cv);
  pthread_mutex_unlock(&wb->mu);
}

int gds_writeback_destroy(gds_writeback **pwb) {
  if (!pwb || !*pwb) return GDS_SUCCESS;
  gds_writeback *wb = *pwb;
  *pwb = NULL;
  pthread_mutex_lock(&wb->mu);
  wb->stop = 1;
  pthread_cond_signal(&wb->cv);
  pthread_mutex_unlock(&wb->mu);
  pthread_join(wb->thread, NULL);
  int ierr = GDS_SUCCESS;
  if (wb->err)
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__,
                           "cannot write '%s' to its device: %s", wb->path, strerror(wb->err));
  pthread_cond_destroy(&wb->cv);
  pthread_mutex_destroy(&wb->mu);
  close(wb->fd);
  free(wb->path);
  free(wb);
  return ierr;
}
