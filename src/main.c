/* gdsweep command line (SPEC §6). The only place that turns error codes into exit codes:
 * 0 done, 1 usage or input error, 2 runtime failure, 3 interrupted (resumable). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/run.h"
#include "gdsweep_config.h"

static void usage(FILE *f) {
  fputs("usage: gdsweep run SWEEP.yaml -o OUT.h5 [--resume | --force] [--quiet] [--group-size G]\n"
        "       gdsweep check SWEEP.yaml\n"
        "       gdsweep status OUT.h5\n"
        "       gdsweep --help | --version\n"
        "\n"
        "  run     compute every grid point of the sweep into OUT.h5 (under mpirun/srun;\n"
        "          rank 0 coordinates and computes too). An existing OUT.h5 is never\n"
        "          overwritten without --force; --resume continues an interrupted sweep\n"
        "          of the same sweep file. SIGTERM/SIGINT/SIGUSR1 stop it cleanly.\n"
        "          --group-size G: G consecutive ranks compute each dense-backend\n"
        "          (inpainting) point together; G must divide the number of ranks.\n"
        "  check   validate SWEEP.yaml and print the grid size, output size and cost.\n"
        "  status  print the points done and missing in OUT.h5, per axis\n"
        "          (exit 0 when complete, 3 when points are missing).\n"
        "\n"
        "exit codes: 0 done, 1 usage or input error, 2 runtime failure,\n"
        "            3 interrupted (resume with --resume)\n",
        f);
}

static int usage_error(const char *msg, const char *arg) {
  fprintf(stderr, "gdsweep: error: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
  usage(stderr);
  return GDS_ERR_INPUT;
}

static int cmd_run(int argc, char **argv) {
  gds_run_options opt = {0};
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
      if (++i >= argc) return usage_error("-o needs a file name", NULL);
      opt.out_path = argv[i];
    } else if (!strcmp(argv[i], "--resume")) opt.resume = 1;
    else if (!strcmp(argv[i], "--force")) opt.force = 1;
    else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) opt.quiet = 1;
    else if (!strcmp(argv[i], "--group-size")) {
      char *end = NULL;
      if (++i >= argc) return usage_error("--group-size needs a positive integer", NULL);
      long g = strtol(argv[i], &end, 10);
      if (!*argv[i] || *end || g < 1 || g > 1 << 20)
        return usage_error("--group-size needs a positive integer, got", argv[i]);
      opt.group_size = (int)g;
    }
    else if (argv[i][0] == '-') return usage_error("unknown option", argv[i]);
    else if (!opt.sweep_path) opt.sweep_path = argv[i];
    else return usage_error("unexpected argument", argv[i]);
  }
  if (!opt.sweep_path) return usage_error("run needs a sweep file", NULL);
  if (!opt.out_path) return usage_error("run needs an output file (-o OUT.h5)", NULL);
  if (opt.resume && opt.force) return usage_error("--resume and --force exclude each other", NULL);
  const char *slow = getenv("GDSWEEP_TEST_UNIT_SECONDS"); /* test-only, see gds_run_options */
  if (slow && *slow) {
    char *end = NULL;
    double x = strtod(slow, &end);
    if (*end || !(x >= 0 && x <= 3600))
      return usage_error("GDSWEEP_TEST_UNIT_SECONDS must be a number of seconds in [0, 3600], got", slow);
    opt.test_unit_seconds = x;
  }

  /* Handlers first: a stop request arriving during MPI start-up must not kill the rank. */
  int ierr = gds_run_install_signal_handlers();
  if (ierr) return ierr;
  int provided, rank;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  ierr = gds_run(MPI_COMM_WORLD, &opt);
  if (rank == 0 && !ierr && !opt.quiet) fprintf(stderr, "gdsweep: done: %s\n", opt.out_path);
  MPI_Finalize();
  return ierr;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage_error("missing command", NULL);
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(cmd, "--version")) {
    printf("gdsweep %s (git %s, %s)\n", GDS_VERSION, GDS_GIT_REVISION, GDS_COMPILER);
    return 0;
  }
  if (!strcmp(cmd, "run")) return cmd_run(argc, argv);
  if (!strcmp(cmd, "check")) {
    if (argc != 3) return usage_error("check needs exactly one sweep file", NULL);
    return gds_check(argv[2], stdout);
  }
  if (!strcmp(cmd, "status")) {
    if (argc != 3) return usage_error("status needs exactly one output file", NULL);
    return gds_status(argv[2], stdout);
  }
  return usage_error("unknown command", cmd);
}
