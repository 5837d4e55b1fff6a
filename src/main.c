/* gdsweep command line (SPEC §6). The only place that turns error codes into exit codes:
 * 0 done, 1 usage or input error, 2 runtime failure, 3 interrupted (resumable). */
#include <dlfcn.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/run.h"
#include "gdsweep_config.h"

static void usage(FILE *f) {
  fputs("usage: gdsweep run SWEEP.yaml -o OUT.h5 [--resume | --force] [--quiet] [--group-size G]\n"
        "                   [--seed-block B] [--timing]\n"
        "       gdsweep check SWEEP.yaml [-o OUT.h5] [--ranks N] [--group-size G] [--seed-block B]\n"
        "       gdsweep status OUT.h5\n"
        "       gdsweep --help | --version\n"
        "\n"
        "  run     compute every grid point of the sweep into OUT.h5 (under mpirun/srun;\n"
        "          rank 0 coordinates and computes too). An existing OUT.h5 is never\n"
        "          overwritten without --force; --resume continues an interrupted sweep\n"
        "          of the same sweep file. SIGTERM/SIGINT/SIGUSR1 stop it cleanly.\n"
        "          --group-size G: G consecutive ranks compute each dense-backend\n"
        "          (inpainting) point together; G must divide the number of ranks.\n"
        "          --seed-block B: seeds per work unit (default: chosen so that there are\n"
        "          enough units for the ranks; docs/scaling.md). --timing: per-phase times.\n"
        "  check   validate SWEEP.yaml and print the grid, the work units, the memory a unit\n"
        "          needs per rank, the output size and cost; with -o, --ranks, --group-size\n"
        "          it plans for that run and refuses what it would refuse (memory, disk).\n"
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

/* A positive integer option value, or a usage error. */
static int parse_count(const char *opt, const char *arg, int *out) {
  char *end = NULL;
  if (!arg) return usage_error(opt, "needs a positive integer");
  long g = strtol(arg, &end, 10);
  if (!*arg || *end || g < 1 || g > 1 << 30) {
    fprintf(stderr, "gdsweep: error: %s needs a positive integer, got: %s\n", opt, arg);
    usage(stderr);
    return GDS_ERR_INPUT;
  }
  *out = (int)g;
  return GDS_SUCCESS;
}

/* Test-only knobs from the environment (see gds_run_options). */
static int test_knobs(gds_run_options *opt) {
  const char *slow = getenv("GDSWEEP_TEST_UNIT_SECONDS");
  if (slow && *slow) {
    char *end = NULL;
    double x = strtod(slow, &end);
    if (*end || !(x >= 0 && x <= 3600))
      return usage_error("GDSWEEP_TEST_UNIT_SECONDS must be a number of seconds in [0, 3600], got", slow);
    opt->test_unit_seconds = x;
  }
  const char *fail = getenv("GDSWEEP_TEST_FAIL");
  if (fail && *fail) {
    char *end = NULL;
    long r = strtol(fail, &end, 10);
    if (end == fail || *end != ':' || r < 0) return usage_error("GDSWEEP_TEST_FAIL must be RANK:UNIT or RANK:*, got", fail);
    const char *u = end + 1;
    long unit = -1;
    if (strcmp(u, "*")) {
      unit = strtol(u, &end, 10);
      if (end == u || *end || unit < 0) return usage_error("GDSWEEP_TEST_FAIL must be RANK:UNIT or RANK:*, got", fail);
    }
    opt->test_fail = 1;
    opt->test_fail_rank = (int)r;
    opt->test_fail_unit = (int)unit;
  }
  const char *pause = getenv("GDSWEEP_TEST_PAUSE");
  if (pause && *pause) {
    if (strcmp(pause, "create")) return usage_error("GDSWEEP_TEST_PAUSE must be 'create', got", pause);
    opt->test_pause_create = 1;
  }
  const char *trace = getenv("GDSWEEP_TEST_TRACE");
  opt->test_trace = trace && *trace && strcmp(trace, "0");
  return GDS_SUCCESS;
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
    else if (!strcmp(argv[i], "--timing")) opt.timing = 1;
    else if (!strcmp(argv[i], "--group-size")) {
      if (parse_count("--group-size", i + 1 < argc ? argv[++i] : NULL, &opt.group_size)) return GDS_ERR_INPUT;
    } else if (!strcmp(argv[i], "--seed-block")) {
      if (parse_count("--seed-block", i + 1 < argc ? argv[++i] : NULL, &opt.seed_block)) return GDS_ERR_INPUT;
    }
    else if (argv[i][0] == '-') return usage_error("unknown option", argv[i]);
    else if (!opt.sweep_path) opt.sweep_path = argv[i];
    else return usage_error("unexpected argument", argv[i]);
  }
  if (!opt.sweep_path) return usage_error("run needs a sweep file", NULL);
  if (!opt.out_path) return usage_error("run needs an output file (-o OUT.h5)", NULL);
  if (opt.resume && opt.force) return usage_error("--resume and --force exclude each other", NULL);
  int ierr = test_knobs(&opt);
  if (ierr) return ierr;

  /* One BLAS thread per rank, whatever OPENBLAS_NUM_THREADS says: a threaded BLAS rounds the dense
   * backend's sums in an order that depends on its thread count, so results would depend on how
   * the job was launched (README "Randomness and determinism"); ranks, and --group-size for dense
   * units, are the parallelism. Looked up at run time: another BLAS simply has no such call. */
  void (*blas_threads)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  if (blas_threads) blas_threads(1);
  /* Handlers first: a stop request arriving during MPI start-up must not kill the rank. */
  ierr = gds_run_install_signal_handlers();
  if (ierr) return ierr;
  int provided, rank = 0, e;
  if ((e = MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided)) != MPI_SUCCESS)
    return gds_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Init_thread");
  /* Errors are returned and checked (GDS_MPI_CALL), so a failing call on one rank ends the run
   * with a message instead of aborting it or leaving others in a collective; communicators
   * derived from the world inherit the handler. */
  if ((e = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN)) != MPI_SUCCESS ||
      (e = MPI_Comm_rank(MPI_COMM_WORLD, &rank)) != MPI_SUCCESS)
    ierr = gds_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Comm_set_errhandler/MPI_Comm_rank");
  else
    ierr = gds_run(MPI_COMM_WORLD, &opt);
  if (rank == 0 && !ierr && !opt.quiet) fprintf(stderr, "gdsweep: done: %s\n", opt.out_path);
  MPI_Finalize();
  return ierr;
}

static int cmd_check(int argc, char **argv) {
  gds_check_options opt = {0};
  const char *sweep = NULL;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
      if (++i >= argc) return usage_error("-o needs a file name", NULL);
      opt.out_path = argv[i];
    } else if (!strcmp(argv[i], "--ranks")) {
      if (parse_count("--ranks", i + 1 < argc ? argv[++i] : NULL, &opt.ranks)) return GDS_ERR_INPUT;
    } else if (!strcmp(argv[i], "--group-size")) {
      if (parse_count("--group-size", i + 1 < argc ? argv[++i] : NULL, &opt.group_size)) return GDS_ERR_INPUT;
    } else if (!strcmp(argv[i], "--seed-block")) {
      if (parse_count("--seed-block", i + 1 < argc ? argv[++i] : NULL, &opt.seed_block)) return GDS_ERR_INPUT;
    } else if (argv[i][0] == '-' && argv[i][1]) return usage_error("unknown option", argv[i]);
    else if (!sweep) sweep = argv[i];
    else return usage_error("check needs exactly one sweep file; unexpected argument", argv[i]);
  }
  if (!sweep) return usage_error("check needs exactly one sweep file", NULL);
  return gds_check(sweep, &opt, stdout);
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
  if (!strcmp(cmd, "check")) return cmd_check(argc, argv);
  if (!strcmp(cmd, "status")) {
    if (argc != 3) return usage_error("status needs exactly one output file", NULL);
    return gds_status(argv[2], stdout);
  }
  return usage_error("unknown command", cmd);
}
