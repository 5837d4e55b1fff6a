/* Parse-only timing of a sweep file (bench/parse.sh): gds_sweep_load and the fingerprint, the
 * part of `gdsweep check` that the sweep module does, so that a slow `check` can be split
 * between parsing and the rest (prior, operators, cost estimate).
 *   gds_bench_parse SWEEP.yaml     prints "PARSE load_s fingerprint_s points" */
#include <stdio.h>
#include <time.h>

#include "gdsweep/error.h"
#include "gdsweep/sweep.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s SWEEP.yaml\n", argv[0]);
    return 1;
  }
  gds_sweep *s = NULL;
  double t0 = now();
  int ierr = gds_sweep_load(argv[1], &s);
  double t1 = now();
  if (ierr) return ierr;
  char fp[65];
  ierr = gds_sweep_fingerprint(s, fp);
  double t2 = now();
  printf("PARSE %.4f %.4f %lld\n", t1 - t0, t2 - t1, (long long)gds_sweep_npoints(s));
  gds_sweep_destroy(&s);
  return ierr;
}
