/* Write-behind of the output file: a thread that makes what has been written so far durable
 * (fdatasync) while the run goes on, so that the one sync before `complete = 1`
 * (docs/scaling.md, "Durability") waits only for the last writes instead of the whole file.
 * Correctness never depends on it: it moves the same disk writes earlier. */
#ifndef GDSWEEP_WRITEBACK_H
#define GDSWEEP_WRITEBACK_H

typedef struct gds_writeback gds_writeback;

/* Opens its own descriptor on `path` and starts the thread (all signals blocked in it: stop
 * requests go to the calling thread). */
int gds_writeback_create(const char *path, gds_writeback **out);
/* Ask for a flush of everything written to the file so far. Never blocks on I/O: kicks that
 * arrive while a flush runs are served by one more flush. */
void gds_writeback_kick(gds_writeback *wb);
/* Serve the last kick, stop and join the thread, close the descriptor. Returns the first flush
 * failure (naming the file and errno), if any. */
int gds_writeback_destroy(gds_writeback **wb);

#endif
