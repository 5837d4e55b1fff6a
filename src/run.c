/* Sweep driver (SPEC §3, §6): work units, MPI coordination, progress, signals, resume.
 *
 * Roles. World rank 0 is the coordinator; consecutive ranks form groups of --group-size whose
 * rank 0 (the leaders) take units from the coordinator over the `leaders` communicator. A unit
 * whose law needs the whole group (dense backend) is announced to the group members, which
 * compute it in lockstep; other units are computed by the leader alone. Messages (leaders ->
 * coordinator): REQ {stop, error} asks for a unit (the reply ASSIGN is a unit index or -1),
 * FIN {unit, wall, status} reports a unit finished (its results written) or failed, BYE ends a
 * worker. Coordinator -> worker on tag STOP: ABORT (stop now, the sweep is stopping; at most
 * once, polled inside computations) and FINAL (the answer to BYE, always last). No rank waits by
 * spinning: every wait is a test of a nonblocking request with sleeps in between (gds_run_wait).
 *
 * Files. A unit's leader writes its results (one write per dataset and index tuple) and, if it
 * is its (operator, σ, seed block)'s problem writer, the problem data. The coordinator alone
 * writes /results/done and /provenance/wall_time, in batches (at most every second, and at the
 * end), for units whose results and problem data are both written: done = 1 vouches for both. */
#include "gdsweep/run.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "gdsweep/error.h"
#include "gdsweep/io.h"
#include "gdsweep/law.h"
#include "gdsweep/operator.h"
#include "gdsweep/prior.h"
#include "gdsweep/sampler.h"
#include "gdsweep/schedule.h"
#include "unit.h"

/* Above this many groups rank 0 only coordinates (docs/scaling.md). */
#define GDS_RUN_DEDICATED_GROUPS 64
/* The coordinator writes done flags at most this often (s), and at the end. */
#define GDS_RUN_FLUSH_SECONDS 1.0
/* Inside a computation, MPI is polled at most this often (s). */
#define GDS_RUN_POLL_SECONDS 1e-3
/* The exact law of a unit is evaluated for tiles of seeds whose per-seed arrays fit this many
 * bytes (a core's L2 cache; bench/RESULTS.md). */
#define GDS_RUN_LAW_TILE_BYTES (256.0 * 1024)

/* The one piece of process-wide state: a signal handler can only set a flag. */
static volatile sig_atomic_t gds_run_signal_ = 0;

static void gds_run_on_signal(int sig) { gds_run_signal_ = sig; }

int gds_run_install_signal_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = gds_run_on_signal;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGTERM, SIGINT, SIGUSR1};
  for (int i = 0; i < 3; i++)
    if (sigaction(sigs[i], &sa, NULL)) GDS_ERROR(GDS_ERR_RUNTIME, "sigaction failed: %s", strerror(errno));
  return GDS_SUCCESS;
}

static double gds_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void gds_sleep(double seconds) {
  struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
  nanosleep(&ts, NULL);
}

/* Error codes ordered by severity for reductions: a runtime error outranks an interruption
 * (whose code is numerically larger). */
static int gds_code_rank(int code) {
  return code == GDS_SUCCESS ? 0 : code == GDS_ERR_INTERRUPTED ? 1 : code == GDS_ERR_INPUT ? 2 : 3;
}
static int gds_code_of_rank(int r) {
  static const int codes[4] = {GDS_SUCCESS, GDS_ERR_INTERRUPTED, GDS_ERR_INPUT, GDS_ERR_RUNTIME};
  return codes[r < 0 ? 0 : r > 3 ? 3 : r];
}

/* ---------------------------------------------------------------------------------------
 * Run context */

enum { GDS_TAG_REQ = 71, GDS_TAG_ASSIGN = 72, GDS_TAG_FIN = 73, GDS_TAG_BYE = 74, GDS_TAG_STOP = 75 };
enum { GDS_STOP_ABORT = 1, GDS_STOP_FINAL = 2 }; /* values of STOP messages */
enum { GDS_U_PENDING = 0, GDS_U_FINISHED, GDS_U_DONE }; /* coordinator's view of a unit */
/* Phases timed by --timing: setup (parse, prior, operators, plan), create (or reopen) the file,
 * compute (x0, v, law, posterior, trajectories), write (results and problem data), done-write
 * (the coordinator's batches), dispatch (a worker waiting for its next unit), sync (a group
 * waiting for its members), idle (waiting for the others at the end), close (mark complete,
 * close); start = waiting at entry for the ranks still in MPI start-up; run = total − start (from
 * the moment every rank is in gds_run); total = the whole of gds_run. */
enum { GDS_TM_START, GDS_TM_SETUP, GDS_TM_CREATE, GDS_TM_COMPUTE, GDS_TM_WRITE, GDS_TM_DONE, GDS_TM_DISPATCH,
       GDS_TM_SYNC, GDS_TM_IDLE, GDS_TM_CLOSE, GDS_TM_RUN, GDS_TM_TOTAL, GDS_TM_N, GDS_TM_NONE = -1 };
static const char *const gds_tm_names[GDS_TM_N] = {"start", "setup",    "create", "compute", "write", "done-write",
                                                   "dispatch", "sync", "idle", "close", "run", "total"};

typedef struct gds_run_ctx {
  MPI_Comm comm;
  int rank, size;
  /* Groups of --group-size ranks compute one unit together (dense backend); their leaders
   * (group rank 0) talk to the coordinator (world rank 0) over `leaders`. */
  MPI_Comm group, leaders;
  int grank, gsize, lrank, lsize;
  int computes;  /* rank 0 computes units too (not a dedicated coordinator) */
  const gds_run_options *opt;
  gds_sweep *sweep;
  gds_schedule *sched;
  gds_prior *prior;
  gds_operator **ops;
  int ntime;
  unsigned char *w2_mask; /* [ntime] */
  gds_io *io;
  gds_unit_plan plan;
  int naxis[GDS_IO_NAXES];
  int stop;        /* stop requested (signal here, or relayed by the coordinator) */
  int failed_here; /* an error was raised on this rank (not merely agreed on) */
  int coordinating; /* rank 0: the coordinator's state is ready (services messages) */
  gds_poll poll;
  double t_poll;
  /* worker */
  MPI_Request stop_rq;
  int stop_msg;
  /* coordinator (rank 0) */
  int *queue, nqueue, next;  /* units to do, in dispatch order; next = first not yet taken */
  unsigned char *taken;      /* [nqueue] */
  int *last;                 /* [lsize] last unit given to each leader (−1: none) */
  unsigned char *ustate;     /* [nunits] */
  double *uwall;             /* [nunits] wall time per point */
  unsigned char *done;       /* [npoints] mirror of /results/done */
  double *wall;              /* [npoints] wall times of this run's points */
  int *deferred, ndeferred;  /* finished units waiting for their problem writer */
  int64_t *run_first, *run_count;
  int nrun, caprun;
  double t_flush;
  unsigned char *abort_sent, *bye; /* [lsize] */
  int workers_finished, worker_error, error_leader;
  int64_t points_total, points_done, points_at_start;
  double t_start, t_last_print;
  int tty;
  double tm[GDS_TM_N];
  double cpu0; /* process CPU time when gds_run started */
  /* input files' contents as rank 0 read them (every rank builds its prior and masks from
   * these; the sweep's prior.data and op[].mask_data point here) */
  double *in_prior;
  unsigned char **in_mask; /* [n_op], NULL where the operator has no mask file */
  /* per-rank workspace, reused by consecutive units: buffers, and x0 / v of the last block
   * (x0 depends on the seed only, v on (operator, σ, seed): units of one block share them) */
  double *ws;
  size_t ws_len;
  double *x0c, *vc;
  size_t x0c_len, vc_len;
  int x0c_seed0, x0c_n, vc_op, vc_sigma, vc_seed0, vc_n;
  /* the exact law and the sampler of the last (operator, σ) this rank computed alone (units of
   * the same (operator, σ) reuse them: their setup — FFTW plans, spectra, for the dense backend
   * the posterior's eigen-decomposition — depends on nothing else); at most one of each, so a
   * different (operator, σ) first frees the old one */
  gds_law *lawc;
  gds_sampler *smpc;
  int lawc_op, lawc_sigma, smpc_op, smpc_sigma;
} gds_run_ctx;

/* ---------------------------------------------------------------------------------------
 * Waiting without spinning */

static int gds_coord_service(gds_run_ctx *c, int force_flush);

/* Between the tests of a wait the coordinator keeps servicing its workers. */
static int gds_run_wait_service(void *ctx) {
  gds_run_ctx *c = ctx;
  return c->coordinating ? gds_coord_service(c, 0) : GDS_SUCCESS;
}

/* Wait for a nonblocking request asleep (gds_mpi_wait), the time counted in `phase`. */
static int gds_run_wait(gds_run_ctx *c, MPI_Request *rq, int phase) {
  double t0 = gds_now();
  GDS_CALL(gds_mpi_wait(rq, gds_run_wait_service, c));
  if (phase != GDS_TM_NONE) c->tm[phase] += gds_now() - t0;
  return GDS_SUCCESS;
}

/* Worst code over comm (severity order), without spinning while others are still busy. */
static int gds_run_agree(gds_run_ctx *c, MPI_Comm comm, int ierr, int phase) {
  int mine = gds_code_rank(ierr), all = mine;
  MPI_Request rq;
  int e = MPI_Iallreduce(&mine, &all, 1, MPI_INT, MPI_MAX, comm, &rq);
  if (e != MPI_SUCCESS) return gds_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Iallreduce");
  GDS_CALL(gds_run_wait(c, &rq, phase));
  return gds_code_of_rank(all);
}

static int gds_run_bcast_int(gds_run_ctx *c, int *value, MPI_Comm comm, int phase) {
  MPI_Request rq;
  GDS_MPI_CALL(MPI_Ibcast(value, 1, MPI_INT, 0, comm, &rq));
  GDS_CALL(gds_run_wait(c, &rq, phase));
  return GDS_SUCCESS;
}

/* The poll handed to the law and the sampler: signals at once, MPI at most every
 * GDS_RUN_POLL_SECONDS (the coordinator services its workers, a worker checks for STOP). */
static int gds_run_poll_stop(void *ctx) {
  gds_run_ctx *c = ctx;
  if (gds_run_signal_) c->stop = 1;
  double now = gds_now();
  if (now - c->t_poll < GDS_RUN_POLL_SECONDS) return c->stop;
  c->t_poll = now;
  if (c->coordinating) {
    if (gds_coord_service(c, 0)) c->stop = 1;
  } else if (c->stop_rq != MPI_REQUEST_NULL) {
    int flag = 0;
    if (MPI_Test(&c->stop_rq, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS || flag) c->stop = 1; /* ABORT */
  }
  return c->stop;
}

/* A point inside a unit's own work where rank 0 keeps answering its workers (rate-limited like
 * the poll) even when the law or sampler it calls does not poll. Only services: a group unit's
 * control flow must not depend on a rank-local decision. */
static void gds_run_service(gds_run_ctx *c) { (void)gds_run_poll_stop(c); }

/* ---------------------------------------------------------------------------------------
 * Setup: the validated inputs every rank builds identically */

/* MPI_Bcast of n elements in pieces whose count fits an int. */
static int gds_bcast_big(void *buf, uint64_t n, MPI_Datatype type, size_t size, MPI_Comm comm) {
  for (uint64_t off = 0; off < n;) {
    int k = n - off > (1u << 30) ? 1 << 30 : (int)(n - off);
    GDS_MPI_CALL(MPI_Bcast((char *)buf + off * size, k, type, 0, comm));
    off += (uint64_t)k;
  }
  return GDS_SUCCESS;
}

/* Rank 0's reading of the input files (texture or spectrum, mask files): c->in_prior and
 * c->in_mask, wired into the sweep's prior and operator specs. */
static int gds_run_read_inputs(gds_run_ctx *c, int hdr[3]) {
  gds_sweep *s = c->sweep;
  const int is_tex = !s->prior.white && s->prior.texture && strncmp(s->prior.texture, "builtin:", 8);
  const int is_spec = !s->prior.white && s->prior.spectrum && s->prior.spectrum[0];
  if (is_tex) GDS_CALL(gds_texture_load(s->texture_file, &hdr[0], &hdr[1], &c->in_prior));
  else if (is_spec) {
    char why[1024];
    gds_prior_basis b;
    int ierr = gds_prior_spectrum_load(s->texture_file, &hdr[0], &hdr[1], &b, &c->in_prior, why, sizeof why);
    if (ierr == GDS_ERR_INPUT) GDS_ERROR(GDS_ERR_INPUT, "prior: %s", why);
    GDS_CALL(ierr);
    hdr[2] = (int)b;
  }
  const int d = s->prior.H * s->prior.W;
  for (int i = 0; i < s->n_op; i++) {
    const gds_operator_spec *o = &s->op[i];
    if (o->type != GDS_OP_INPAINTING || o->mask != GDS_MASK_FILE) continue;
    int h = 0, w = 0;
    double *img = NULL;
    GDS_CALL(gds_texture_load(o->mask_path, &h, &w, &img));
    if (h != s->prior.H || w != s->prior.W) {
      free(img);
      GDS_ERROR(GDS_ERR_INPUT, "mask file %s is %d x %d (rows x columns) but the image is %d x %d", o->mask_path, h, w,
                s->prior.H, s->prior.W);
    }
    int ierr = GDS_ALLOC(c->in_mask[i], d);
    for (int k = 0; !ierr && k < d; k++) c->in_mask[i][k] = img[k] != 0.0;
    free(img);
    GDS_CALL(ierr);
  }
  return GDS_SUCCESS;
}

/* Rank 0 reads and validates the sweep file and the input files it names (texture or spectrum,
 * mask files) and broadcasts the sweep's text, the files' hashes and their decoded contents;
 * the other ranks parse the text without touching the file system (gds_sweep_parse_trusted).
 * Each file is read by rank 0 only, errors are reported once, and every rank builds its prior
 * and operators from the same values (docs/scaling.md). */
static int gds_run_load_sweep(gds_run_ctx *c, const char *path) {
  int ierr = GDS_SUCCESS;
  uint64_t len = 0;
  int trust[3] = {0, 0, 0}; /* prior H, W, basis */
  char *text = NULL, dir[4096] = ".";
  if (c->rank == 0) {
    ierr = gds_sweep_load(path, &c->sweep);
    if (!ierr) {
      len = c->sweep->text_len;
      snprintf(dir, sizeof dir, "%s", c->sweep->dir);
      trust[0] = c->sweep->prior.H;
      trust[1] = c->sweep->prior.W;
      trust[2] = (int)c->sweep->prior_basis;
    }
  }
  ierr = gds_run_agree(c, c->comm, ierr, GDS_TM_NONE);
  if (ierr) return ierr;
  if (c->size > 1) {
    GDS_MPI_CALL(MPI_Bcast(&len, 1, MPI_UINT64_T, 0, c->comm));
    GDS_MPI_CALL(MPI_Bcast(trust, 3, MPI_INT, 0, c->comm));
    GDS_MPI_CALL(MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, c->comm));
    if (c->rank == 0) text = c->sweep->text;
    else ierr = gds_calloc(len + 1, 1, &text);
    ierr = gds_run_agree(c, c->comm, ierr, GDS_TM_NONE);
    if (!ierr) ierr = gds_bcast_big(text, len, MPI_CHAR, 1, c->comm);
    if (!ierr && c->rank) {
      const gds_sweep_trust tr = {.H = trust[0], .W = trust[1], .basis = (gds_prior_basis)trust[2]};
      ierr = gds_sweep_parse_trusted(text, len, path, dir, &tr, &c->sweep);
    }
    if (c->rank) free(text);
    ierr = gds_run_agree(c, c->comm, ierr, GDS_TM_NONE);
    if (ierr) return ierr;
    /* The hashes enter the fingerprint and the file's attributes: rank 0's on every rank. */
    gds_sweep *s = c->sweep;
    GDS_MPI_CALL(MPI_Bcast(s->texture_sha256, sizeof s->texture_sha256, MPI_CHAR, 0, c->comm));
    for (int i = 0; i < s->n_op; i++)
      GDS_MPI_CALL(MPI_Bcast(s->op[i].mask_sha256, sizeof s->op[i].mask_sha256, MPI_CHAR, 0, c->comm));
  }
  gds_sweep *s = c->sweep;
  int hdr[3] = {0, 0, 0}; /* h, w, basis of the prior's file values (0 x 0: none) */
  ierr = GDS_ALLOC(c->in_mask, s->n_op > 0 ? s->n_op : 1);
  if (!ierr && c->rank == 0) ierr = gds_run_read_inputs(c, hdr);
  ierr = gds_run_agree(c, c->comm, ierr, GDS_TM_NONE);
  if (ierr) return ierr;
  const size_t d = (size_t)s->prior.H * s->prior.W;
  if (c->size > 1) {
    GDS_MPI_CALL(MPI_Bcast(hdr, 3, MPI_INT, 0, c->comm));
    const uint64_t n = (uint64_t)hdr[0] * (uint64_t)hdr[1];
    if (c->rank && n) ierr = GDS_ALLOC(c->in_prior, n);
    for (int i = 0; i < s->n_op && !ierr; i++)
      if (c->rank && s->op[i].type == GDS_OP_INPAINTING && s->op[i].mask == GDS_MASK_FILE) ierr = GDS_ALLOC(c->in_mask[i], d);
    ierr = gds_run_agree(c, c->comm, ierr, GDS_TM_NONE);
    if (ierr) return ierr;
    if (n) GDS_CALL(gds_bcast_big(c->in_prior, n, MPI_DOUBLE, sizeof(double), c->comm));
    for (int i = 0; i < s->n_op; i++)
      if (c->in_mask[i]) GDS_CALL(gds_bcast_big(c->in_mask[i], d, MPI_UNSIGNED_CHAR, 1, c->comm));
  }
  if (c->in_prior) {
    s->prior.data = c->in_prior;
    s->prior.data_h = hdr[0];
    s->prior.data_w = hdr[1];
    s->prior.data_basis = (gds_prior_basis)hdr[2];
  }
  for (int i = 0; i < s->n_op; i++) s->op[i].mask_data = c->in_mask[i];
  return GDS_SUCCESS;
}

static int gds_run_setup(gds_run_ctx *c) {
  gds_sweep *s = c->sweep;
  /* The discrete schedule, or the VP SDE's β(u) = β_min + u (β_max − β_min). */
  if (s->process == GDS_PROCESS_VP_SDE) GDS_CALL(gds_schedule_create_vp_sde(s->beta_min, s->beta_max, &c->sched));
  else GDS_CALL(gds_schedule_create(s->T, s->beta_start, s->beta_end, s->variance, &c->sched));
  GDS_CALL(gds_prior_create(&s->prior, &c->prior));
  GDS_CALL(GDS_ALLOC(c->ops, s->n_op));
  for (int i = 0; i < s->n_op; i++) {
    GDS_CALL(gds_operator_create(&s->op[i], s->prior.H, s->prior.W, &c->ops[i]));
    GDS_CALL(gds_law_check_operator(c->ops[i]));
  }
  c->ntime = gds_io_ntime(s);
  GDS_CALL(GDS_ALLOC(c->w2_mask, c->ntime));
  for (int i = 0; i < s->n_w2t; i++)
    if (s->w2_times[i] >= 0 && s->w2_times[i] < c->ntime) c->w2_mask[s->w2_times[i]] = 1;
  gds_unit_axis_sizes(s, c->naxis);
  return GDS_SUCCESS;
}

static void gds_run_teardown(gds_run_ctx *c) {
  if (c->sweep) {
    c->sweep->prior.data = NULL;
    for (int i = 0; i < c->sweep->n_op; i++) c->sweep->op[i].mask_data = NULL;
  }
  if (c->in_mask && c->sweep)
    for (int i = 0; i < c->sweep->n_op; i++) free(c->in_mask[i]);
  free(c->in_mask);
  free(c->in_prior);
  if (c->sweep && c->ops)
    for (int i = 0; i < c->sweep->n_op; i++) gds_operator_destroy(&c->ops[i]);
  free(c->ops);
  free(c->w2_mask);
  gds_unit_plan_free(&c->plan);
  free(c->queue);
  free(c->taken);
  free(c->last);
  free(c->ustate);
  free(c->uwall);
  free(c->done);
  free(c->wall);
  free(c->deferred);
  free(c->run_first);
  free(c->run_count);
  free(c->abort_sent);
  free(c->bye);
  free(c->ws);
  free(c->x0c);
  free(c->vc);
  gds_law_destroy(&c->lawc);
  gds_sampler_destroy(&c->smpc);
  gds_prior_destroy(&c->prior);
  gds_schedule_destroy(&c->sched);
  gds_sweep_destroy(&c->sweep);
}

int gds_run_estimate_sweep(const gds_sweep *s, int ngroups, int gsize, int seed_block, gds_run_estimate *est) {
  gds_unit_plan plan;
  memset(est, 0, sizeof *est);
  GDS_CALL(gds_unit_plan_make(s, ngroups, gsize, seed_block, 0, &plan));
  const double d = (double)s->prior.H * s->prior.W, nt = gds_io_ntime(s), np = (double)gds_sweep_npoints(s);
  double m = 0;
  for (int i = 0; i < s->n_op; i++) {
    const gds_operator_spec *o = &s->op[i];
    m += o->type == GDS_OP_SUPER_RESOLUTION ? d / ((double)o->factor * o->factor) : o->type == GDS_OP_INPAINTING ? d : d;
  }
  est->npoints = gds_sweep_npoints(s);
  est->nunits = plan.n;
  est->seed_block = plan.block;
  est->core_seconds = plan.core_seconds;
  est->unit_bytes = plan.max_unit_bytes;
  /* per point: curves, w2_final, m_0 and diag K_0, done, wall time, trajectories; problem data;
   * static data and metadata */
  const double sizes[] = {np * nt * 8, np * nt * 8, np * nt * 8, np * 8, np * 8, np * 8, np, np * 8, np * d * 8,
                          np * d * 8, np * s->samples * s->n_ckpt * d * 4, s->n_seed * d * 8,
                          (double)s->n_sigma * s->n_seed * m * 8, (double)s->n_op * s->n_sigma * s->n_seed * d * 8,
                          (double)s->n_op * s->n_sigma * d * 8};
  est->bytes = s->n_op * d * 9.0 + 4 * nt * 8 + 2 * d * 8 + s->text_len + 65536;
  for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) /* datasets of 1 MiB or more start on 1 MiB */
    est->bytes += sizes[k] + (sizes[k] >= 1048576.0 ? 1048576.0 : 0);
  gds_unit_plan_free(&plan);
  return GDS_SUCCESS;
}

/* Physical memory of this node, bytes (0 if unknown). */
static double gds_node_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && size > 0 ? (double)pages * size : 0;
}

static int gds_check_memory(const char *what, double unit_bytes, int ranks_per_node) {
  double mem = gds_node_memory(), per = mem / (ranks_per_node > 0 ? ranks_per_node : 1);
  if (mem > 0 && unit_bytes > per)
    GDS_ERROR(GDS_ERR_INPUT, "%s: a work unit needs about %.3g GB of memory per rank, but this node has %.3g GB for "
              "each of its %d rank%s: use fewer ranks per node, a smaller --seed-block, a larger --group-size "
              "(dense backend) or a smaller image", what, unit_bytes / 1e9, per / 1e9, ranks_per_node,
              ranks_per_node > 1 ? "s" : "");
  return GDS_SUCCESS;
}

/* What `run` refuses about OUT's path before creating it (an existing file is fine for check:
 * the run may use --force or --resume). */
static int gds_check_output_path(const char *out_path) {
  struct stat st;
  char dir[4096];
  if (stat(out_path, &st) == 0 && S_ISDIR(st.st_mode))
    GDS_ERROR(GDS_ERR_INPUT, "%s: it is a directory (give a file name, e.g. %s/out.h5)", out_path, out_path);
  snprintf(dir, sizeof dir, "%s", out_path);
  char *slash = strrchr(dir, '/');
  if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
  else snprintf(dir, sizeof dir, ".");
  if (access(dir, W_OK | X_OK) != 0)
    GDS_ERROR(GDS_ERR_INPUT, "%s: directory '%s' %s (%s)", out_path, dir, errno == ENOENT ? "does not exist" : "is not writable",
              strerror(errno));
  return GDS_SUCCESS;
}

static int gds_check_space(const char *out_path, double bytes) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", out_path);
  char *slash = strrchr(dir, '/');
  if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
  else snprintf(dir, sizeof dir, ".");
  struct statvfs vf;
  if (statvfs(dir, &vf) == 0) {
    double avail = (double)vf.f_bavail * vf.f_frsize;
    if (bytes > avail)
      GDS_ERROR(GDS_ERR_INPUT, "%s: the output needs about %.3g MB but only %.3g MB are free in %s (no space left "
                "on the device for it)", out_path, bytes / 1e6, avail / 1e6, dir);
  }
  return GDS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------
 * Progress (rank 0, stderr): done/total, rate, ETA; a refreshed line on a terminal. */

static void gds_progress(gds_run_ctx *c, int final) {
  if (c->opt->quiet || c->rank != 0) return;
  double now = gds_now();
  if (!final && now - c->t_last_print < (c->tty ? 0.5 : 5.0)) return;
  c->t_last_print = now;
  int64_t run = c->points_done - c->points_at_start, left = c->points_total - c->points_done;
  double el = now - c->t_start, rate = el > 0 ? run / el : 0;
  char eta[32] = "?";
  if (rate > 0) {
    long s = (long)(left / rate + 0.5);
    snprintf(eta, sizeof eta, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  }
  fprintf(stderr, "%sgdsweep: %lld/%lld points (%.1f%%), %.2f points/s, ETA %s%s", c->tty ? "\r" : "",
          (long long)c->points_done, (long long)c->points_total,
          c->points_total ? 100.0 * c->points_done / c->points_total : 100.0, rate, eta, c->tty && !final ? "  " : "\n");
  fflush(stderr);
}

/* ---------------------------------------------------------------------------------------
 * Coordinator: done bookkeeping */

static int gds_coord_add_run(gds_run_ctx *c, int64_t first, int64_t count) {
  if (c->nrun == c->caprun) {
    int cap = c->caprun ? 2 * c->caprun : 256;
    int64_t *f = realloc(c->run_first, sizeof *f * (size_t)cap), *n = f ? realloc(c->run_count, sizeof *n * (size_t)cap) : NULL;
    if (f) c->run_first = f;
    if (!n) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (done batches)");
    c->run_count = n;
    c->caprun = cap;
  }
  c->run_first[c->nrun] = first;
  c->run_count[c->nrun++] = count;
  return GDS_SUCCESS;
}

/* Every point of unit ui is done (in memory; written by the next flush). */
static int gds_coord_mark_done(gds_run_ctx *c, int ui) {
  const gds_unit *u = &c->plan.u[ui];
  const int nt = gds_unit_ntuples(c->sweep, u);
  for (int k = 0; k < nt; k++) {
    int idx[GDS_IO_NAXES];
    gds_unit_tuple(c->sweep, u, k, idx);
    int64_t first = gds_io_point_index(c->naxis, idx);
    for (int e = 0; e < u->nseed; e++) {
      c->points_done += !c->done[first + e];
      c->done[first + e] = 1;
      c->wall[first + e] = c->uwall[ui];
    }
    GDS_CALL(gds_coord_add_run(c, first, u->nseed));
  }
  c->ustate[ui] = GDS_U_DONE;
  return GDS_SUCCESS;
}

/* Unit ui's results are written: its points are done once its problem writer's are too. */
static int gds_coord_finished(gds_run_ctx *c, int ui, double wall) {
  const gds_unit *u = &c->plan.u[ui];
  c->ustate[ui] = GDS_U_FINISHED;
  c->uwall[ui] = wall / (double)gds_unit_npoints(c->sweep, u);
  if (c->ustate[u->dep] >= GDS_U_FINISHED) GDS_CALL(gds_coord_mark_done(c, ui));
  else c->deferred[c->ndeferred++] = ui;
  if (u->problem) {
    int k = 0;
    for (int i = 0; i < c->ndeferred; i++) {
      int w = c->deferred[i];
      if (c->plan.u[w].dep == ui) GDS_CALL(gds_coord_mark_done(c, w));
      else c->deferred[k++] = w;
    }
    c->ndeferred = k;
  }
  return GDS_SUCCESS;
}

static int gds_cmp_run(const void *a, const void *b) {
  const int64_t *x = a, *y = b;
  return (x[0] > y[0]) - (x[0] < y[0]);
}

/* Write the pending done flags (and wall times): one write per dataset. */
static int gds_coord_flush(gds_run_ctx *c) {
  c->t_flush = gds_now();
  if (!c->nrun) return GDS_SUCCESS;
  int ierr = GDS_SUCCESS, n = c->nrun;
  int64_t *pairs = NULL, total = 0;
  unsigned char *db = NULL;
  double *wb = NULL;
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(pairs, 2 * (size_t)n));
  for (int i = 0; i < n; i++) pairs[2 * i] = c->run_first[i], pairs[2 * i + 1] = c->run_count[i];
  qsort(pairs, (size_t)n, 2 * sizeof *pairs, gds_cmp_run);
  int m = 0;
  for (int i = 0; i < n; i++) { /* merge adjacent runs */
    if (m && pairs[2 * (m - 1)] + pairs[2 * (m - 1) + 1] >= pairs[2 * i]) {
      int64_t end = pairs[2 * i] + pairs[2 * i + 1], *last = &pairs[2 * (m - 1)];
      if (end > last[0] + last[1]) last[1] = end - last[0];
    } else {
      pairs[2 * m] = pairs[2 * i], pairs[2 * m + 1] = pairs[2 * i + 1];
      m++;
    }
  }
  for (int i = 0; i < m; i++) {
    c->run_first[i] = pairs[2 * i];
    c->run_count[i] = pairs[2 * i + 1];
    total += c->run_count[i];
  }
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(db, total));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(wb, total));
  for (int i = 0, o = 0; i < m; o += (int)c->run_count[i], i++) {
    memcpy(db + o, c->done + c->run_first[i], (size_t)c->run_count[i]);
    memcpy(wb + o, c->wall + c->run_first[i], sizeof *wb * (size_t)c->run_count[i]);
  }
  GDS_CALL_GOTO(ierr, out, gds_io_write_done(c->io, m, c->run_first, c->run_count, db, wb));
  c->nrun = 0;
out:
  free(pairs);
  free(db);
  free(wb);
  c->tm[GDS_TM_DONE] += gds_now() - c->t_flush;
  return ierr;
}

/* Tell worker w (leaders rank) to stop now, once, unless it has already said goodbye. */
static int gds_coord_send_abort(gds_run_ctx *c, int w) {
  if (c->abort_sent[w] || c->bye[w]) return GDS_SUCCESS;
  c->abort_sent[w] = 1;
  int msg = GDS_STOP_ABORT;
  GDS_MPI_CALL(MPI_Send(&msg, 1, MPI_INT, w, GDS_TAG_STOP, c->leaders));
  return GDS_SUCCESS;
}

/* How well unit j reuses what a rank that last computed unit i holds (x0 of its seed block,
 * v of its operator and σ): 2 both, 1 x0, 0 nothing. */
static int gds_coord_affinity(const gds_run_ctx *c, int i, int j) {
  const gds_unit *a = &c->plan.u[i], *b = &c->plan.u[j];
  if (a->seed0 != b->seed0 || a->nseed != b->nseed) return 0;
  return a->op == b->op && a->sigma == b->sigma ? 2 : 1;
}

/* The next unit for leader w: the first one not taken in dispatch order, or, within a short
 * look-ahead, one that reuses what w holds (results never depend on the order). */
static int gds_coord_next_for(gds_run_ctx *c, int w) {
  if (c->stop) return -1;
  while (c->next < c->nqueue && c->taken[c->next]) c->next++;
  if (c->next >= c->nqueue) return -1;
  int best = c->next, score = 0;
  const int prev = c->last[w];
  for (int k = c->next; prev >= 0 && score < 2 && k < c->nqueue && k < c->next + 256; k++) {
    if (c->taken[k]) continue;
    const int a = gds_coord_affinity(c, prev, c->queue[k]);
    if (a > score) score = a, best = k;
  }
  c->taken[best] = 1;
  c->last[w] = c->queue[best];
  return c->queue[best];
}
static int gds_coord_next(gds_run_ctx *c) { return gds_coord_next_for(c, 0); }

/* Whether units are left to hand out. */
static int gds_coord_left(gds_run_ctx *c) {
  while (c->next < c->nqueue && c->taken[c->next]) c->next++;
  return c->next < c->nqueue;
}

/* Answer every pending message without blocking; flush done flags when due. */
static int gds_coord_service(gds_run_ctx *c, int force_flush) {
  const double t0 = gds_now();
  if (gds_run_signal_) c->stop = 1;
  for (int guard = 0; c->lsize > 1 && guard < 4 * c->lsize + 16; guard++) {
    int flag = 0;
    MPI_Status st;
    GDS_MPI_CALL(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->leaders, &flag, &st));
    if (!flag) break;
    const int w = st.MPI_SOURCE;
    if (st.MPI_TAG == GDS_TAG_FIN) {
      double msg[3];
      GDS_MPI_CALL(MPI_Recv(msg, 3, MPI_DOUBLE, w, GDS_TAG_FIN, c->leaders, MPI_STATUS_IGNORE));
      if (msg[2] != 0) { /* the worker failed: stop everyone */
        if (!c->worker_error) c->error_leader = w;
        c->worker_error = 1;
        c->stop = 1;
      } else {
        GDS_CALL(gds_coord_finished(c, (int)msg[0], msg[1]));
      }
    } else {
      int msg[2];
      GDS_MPI_CALL(MPI_Recv(msg, 2, MPI_INT, w, st.MPI_TAG, c->leaders, MPI_STATUS_IGNORE));
      if (st.MPI_TAG == GDS_TAG_REQ) {
        if (msg[0]) c->stop = 1; /* the worker was signalled: stop everyone */
        if (msg[1]) {
          if (!c->worker_error) c->error_leader = w;
          c->worker_error = 1;
          c->stop = 1;
        }
        int unit = gds_coord_next_for(c, w);
        GDS_MPI_CALL(MPI_Send(&unit, 1, MPI_INT, w, GDS_TAG_ASSIGN, c->leaders));
      } else if (st.MPI_TAG == GDS_TAG_BYE) {
        c->bye[w] = 1;
        c->workers_finished++;
        int fin = GDS_STOP_FINAL; /* after any ABORT: messages between two ranks keep their order */
        GDS_MPI_CALL(MPI_Send(&fin, 1, MPI_INT, w, GDS_TAG_STOP, c->leaders));
      }
    }
  }
  if (c->stop)
    for (int w = 1; w < c->lsize; w++) GDS_CALL(gds_coord_send_abort(c, w));
  c->tm[GDS_TM_DISPATCH] += gds_now() - t0; /* answering requests */
  if (force_flush || gds_now() - c->t_flush >= GDS_RUN_FLUSH_SECONDS) GDS_CALL(gds_coord_flush(c));
  gds_progress(c, 0);
  return GDS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------
 * One unit: x0 and measurements, (posterior), exact law for the seed block, trajectories,
 * writes. */

/* Whether the operator's exact law comes from the dense backend (its structure, or asked). */
static int gds_run_op_dense(const gds_operator *op) { return op->structure == GDS_STRUCTURE_DENSE || op->spec.dense; }

/* Whether the ranks of a group share the unit (the dense backend distributes K_t); other
 * units are computed by the group leader alone. */
static int gds_unit_needs_group(const gds_run_ctx *c, const gds_unit *u) {
  return c->gsize > 1 && gds_run_op_dense(c->ops[u->op]);
}

/* Agree with the group on the outcome of a step of a group unit; *agreed says the error (if
 * any) was raised elsewhere. */
static int gds_unit_agree(gds_run_ctx *c, int ierr, int *agreed) {
  if (ierr && ierr != GDS_ERR_INTERRUPTED) c->failed_here = 1;
  int all = gds_run_agree(c, c->group, ierr, GDS_TM_SYNC);
  if (all && !ierr) *agreed = 1;
  return all;
}

/* *buf holds at least n doubles (contents undefined), growing it when needed. */
static int gds_grow(double **buf, size_t *len, size_t n) {
  if (*len >= n) return GDS_SUCCESS;
  free(*buf);
  *buf = NULL;
  *len = 0;
  GDS_CALL(gds_malloc_aligned(sizeof **buf * (n ? n : 1), buf));
  *len = n;
  return GDS_SUCCESS;
}

/* x0 and v of unit u's seeds (rank-local cache of the last block; results are the same
 * whether computed or reused). */
static int gds_unit_problem(gds_run_ctx *c, const gds_unit *u, const double **x0, const double **v) {
  const gds_sweep *s = c->sweep;
  gds_operator *op = c->ops[u->op];
  const int B = u->nseed, d = s->prior.H * s->prior.W, m = op->m;
  if (!(c->x0c && c->x0c_seed0 == u->seed0 && c->x0c_n == B)) {
    c->x0c_n = -1;
    c->vc_n = -1; /* v is built on x0 */
    GDS_CALL(gds_grow(&c->x0c, &c->x0c_len, (size_t)B * d));
    /* In chunks of about 2^20 pixels: FFTs planned once per chunk, rank 0 still services its
     * workers between chunks. */
    const int chunk = d < (1 << 20) ? (1 << 20) / d : 1;
    for (int e = 0; e < B; e += chunk) {
      GDS_CALL(gds_prior_sample_seeds(c->prior, B - e < chunk ? B - e : chunk, s->seed + u->seed0 + e,
                                      c->x0c + (size_t)e * d));
      gds_run_service(c);
    }
    c->x0c_seed0 = u->seed0;
    c->x0c_n = B;
  }
  if (!(c->vc && c->vc_op == u->op && c->vc_sigma == u->sigma && c->vc_seed0 == u->seed0 && c->vc_n == B)) {
    c->vc_n = -1;
    GDS_CALL(gds_grow(&c->vc, &c->vc_len, (size_t)B * m));
    for (int e = 0; e < B; e++) {
      GDS_CALL(gds_operator_measure(op, u->op, c->x0c + (size_t)e * d, s->sigma[u->sigma], s->seed[u->seed0 + e],
                                    c->vc + (size_t)e * m));
      gds_run_service(c);
    }
    c->vc_op = u->op;
    c->vc_sigma = u->sigma;
    c->vc_seed0 = u->seed0;
    c->vc_n = B;
  }
  *x0 = c->x0c;
  *v = c->vc;
  return GDS_SUCCESS;
}

/* Seeds per call of the exact law in a unit: as many as keep the law's per-seed spectra
 * (gds_law_seed_bytes) and the unit's result rows (curves, m_0) within GDS_RUN_LAW_TILE_BYTES,
 * when that is at least 64 seeds (the shared recursion, repeated per tile, costs a few seeds'
 * work per step: <= ~5 %); else, and when the law's shared work dominates (dense), the whole
 * block. */
static int gds_run_law_tile(const gds_run_ctx *c, const gds_law *law, int B) {
  const double spectra = (double)gds_law_seed_bytes(law);
  if (spectra == 0) return B;
  const double d = (double)c->sweep->prior.H * c->sweep->prior.W;
  const double t = GDS_RUN_LAW_TILE_BYTES / (spectra + 8 * (3 * (double)c->ntime + d));
  return t < 64 || t >= B ? B : (int)t;
}

static void gds_fill_nan(double *x, size_t n) {
  for (size_t i = 0; i < n; i++) x[i] = NAN;
}

/* Run by the leader and, for group units, by every rank of the group in lockstep: the law is
 * collective on the group; trajectories and writes are the leader's. Returns
 * GDS_ERR_INTERRUPTED when stopped (nothing of the unit counts as done). */
static int gds_unit_exec(gds_run_ctx *c, int ui, double *wall) {
  gds_sweep *s = c->sweep;
  const gds_unit *u = &c->plan.u[ui];
  const int grouped = gds_unit_needs_group(c, u), leader = c->grank == 0;
  MPI_Comm lawcomm = grouped ? c->group : MPI_COMM_SELF;
  gds_operator *op = c->ops[u->op];
  const int B = u->nseed, T1 = c->ntime, d = s->prior.H * s->prior.W, m = op->m;
  const int nck = s->n_ckpt, nsm = s->samples, ntup = gds_unit_ntuples(s, u);
  const double sigma = s->sigma[u->sigma];
  const gds_sampler_config cfg = gds_unit_config(s, u);
  const double t0 = gds_now();
  int ierr = GDS_SUCCESS, agreed = 0;

  if (c->opt->test_trace && leader)
    fprintf(stderr, "gdsweep: trace: rank %d: unit %d started (%lld points)\n", c->rank, ui,
            (long long)gds_unit_npoints(s, u));
  double **rows = NULL;
  float *traj = NULL;
  gds_law *law = NULL;
  gds_sampler *smp = NULL;
  /* posterior mean, pvar, 3 curves, 3 finals, m_0, diag K_0 (all seed-major) */
  const size_t nbuf = (u->problem ? (size_t)B * d + d : 0) + 3 * (size_t)B * T1 + 3 * (size_t)B + 2 * (size_t)B * d;
  GDS_CALL_GOTO(ierr, out, gds_grow(&c->ws, &c->ws_len, nbuf));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(rows, 4 * (size_t)B));
  if (leader && nsm > 0 && nck > 0) GDS_CALL_GOTO(ierr, out, GDS_ALLOC(traj, (size_t)B * nsm * nck * d));
  if (c->opt->test_fail && c->opt->test_fail_rank == c->rank && (c->opt->test_fail_unit < 0 || c->opt->test_fail_unit == ui))
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__,
                           "rank %d: out of memory allocating the buffers of work unit %d (injected by "
                           "GDSWEEP_TEST_FAIL)", c->rank, ui);
out:
  /* A rank that cannot start the unit must not leave its group waiting in a collective. */
  if (grouped) ierr = gds_unit_agree(c, ierr, &agreed);
  if (ierr) goto cleanup;
  {
    const double *x0 = NULL, *v = NULL;
    double *pmean = c->ws, *pvar = pmean + (u->problem ? (size_t)B * d : 0), *w2 = pvar + (u->problem ? d : 0);
    double *wm = w2 + (size_t)B * T1, *wc = wm + (size_t)B * T1, *wf = wc + (size_t)B * T1, *wfm = wf + B, *wfc = wfm + B;
    double *mean0 = wfc + B, *var0 = mean0 + (size_t)B * d;
    double tc = gds_now();
    ierr = gds_unit_problem(c, u, &x0, &v);
    const double **vr = (const double **)rows;
    double **w2r = rows + B, **wmr = rows + 2 * B, **m0r = rows + 3 * B;
    for (int e = 0; e < B && !ierr; e++) {
      vr[e] = v + (size_t)e * m;
      w2r[e] = w2 + (size_t)e * T1;
      wmr[e] = wm + (size_t)e * T1;
      m0r[e] = mean0 + (size_t)e * d;
    }
    if (!ierr && !grouped && c->lawc && c->lawc_op == u->op && c->lawc_sigma == u->sigma) law = c->lawc;
    else if (!ierr) {
      if (!grouped) gds_law_destroy(&c->lawc); /* before a new one: never two cached laws */
      ierr = gds_law_create_group(lawcomm, c->prior, c->sched, op, sigma, &law); /* the law module's choice */
      if (!ierr && !grouped) {
        c->lawc = law;
        c->lawc_op = u->op;
        c->lawc_sigma = u->sigma;
      }
    }
    gds_run_service(c);
    for (int e = 0; u->problem && e < B && !ierr; e++) {
      ierr = gds_law_posterior(law, vr[e], pmean + (size_t)e * d, e == 0 ? pvar : NULL);
      gds_run_service(c);
    }
    c->tm[GDS_TM_COMPUTE] += gds_now() - tc;
    if (grouped) ierr = gds_unit_agree(c, ierr, &agreed);
    if (ierr) goto cleanup;
    /* Entries the law does not reach (times it does not visit, w2_final where not
     * implemented) stay NaN. */
    gds_fill_nan(w2, 3 * (size_t)B * T1 + 3 * (size_t)B);
    tc = gds_now();
    /* The seed block in tiles whose per-seed arrays stay in cache (the law streams them once
     * per step); a seed's results do not depend on the seeds evaluated with it. The shared
     * covariance recursion is repeated per tile: cheap for the Fourier backends (as one seed's
     * mean), never done for the dense backend (its recursion is the cost). */
    const int tile = gds_run_law_tile(c, law, B);
    for (int e0 = 0; e0 < B && !ierr; e0 += tile) {
      const int nt = B - e0 < tile ? B - e0 : tile;
      gds_law_request rq = {.cfg = cfg, .nseeds = nt, .v = (const double *const *)vr + e0, .w2_mask = c->w2_mask,
                            .poll = &c->poll};
      gds_law_result rs = {.w2_cov = wc, .var0 = var0, .w2_mean = wmr + e0, .w2 = w2r + e0, .mean0 = m0r + e0,
                           .w2_final_cov = wfc, .w2_final_mean = wfm + e0, .w2_final = wf + e0};
      ierr = gds_law_evaluate(law, &rq, &rs);
    }
    gds_run_service(c);
    c->tm[GDS_TM_COMPUTE] += gds_now() - tc;
    if (grouped) ierr = gds_unit_agree(c, ierr, &agreed);
    if (ierr || !leader) goto cleanup;

    tc = gds_now();
    if (traj) {
      if (c->smpc && c->smpc_op == u->op && c->smpc_sigma == u->sigma) smp = c->smpc;
      else {
        gds_sampler_destroy(&c->smpc);
        GDS_CALL_GOTO(ierr, cleanup,
                      s->process == GDS_PROCESS_VP_SDE
                          ? gds_sampler_create_vp_sde(c->prior, s->beta_min, s->beta_max, op, sigma, NULL, &smp)
                          : gds_sampler_create(c->prior, c->sched, op, sigma, &smp));
        c->smpc = smp;
        c->smpc_op = u->op;
        c->smpc_sigma = u->sigma;
      }
      for (int e = 0; e < B && !ierr; e++)
        for (int k = 0; k < nsm && !ierr; k++)
          ierr = gds_sampler_run(smp, &cfg, vr[e], s->seed[u->seed0 + e], k, nck, s->ckpt,
                                 traj + ((size_t)e * nsm + k) * nck * d, NULL, &c->poll);
      if (ierr) goto cleanup; /* interrupted: drop the unit, none of its points is marked done */
    }
    if (c->opt->test_trace) fprintf(stderr, "gdsweep: trace: rank %d: unit %d computed\n", c->rank, ui);
    /* Test-only minimum unit duration (gds_run_options.test_unit_seconds): sleep in short
     * slices so that a stop request still drops the unit promptly. */
    while (gds_now() - t0 < c->opt->test_unit_seconds) {
      gds_sleep(0.02);
      if (gds_run_poll_stop(c)) {
        ierr = GDS_ERR_INTERRUPTED;
        goto cleanup;
      }
    }
    /* seed-independent parts, one copy per seed (the file has a seed dimension) */
    for (int e = 1; e < B; e++) {
      memcpy(wc + (size_t)e * T1, wc, sizeof *wc * (size_t)T1);
      memcpy(var0 + (size_t)e * d, var0, sizeof *var0 * (size_t)d);
      wfc[e] = wfc[0];
    }
    c->tm[GDS_TM_COMPUTE] += gds_now() - tc;
    /* Writes, by the leader alone: the group is past its last collective. Problem data first
     * (done = 1 will vouch for it too). */
    double tw = gds_now();
    if (u->problem) {
      ierr = gds_io_write_x0(c->io, u->seed0, B, x0);
      if (!ierr) ierr = gds_io_write_measurement(c->io, u->op, u->sigma, u->seed0, B, v);
      if (!ierr) ierr = gds_io_write_posterior(c->io, u->op, u->sigma, u->seed0, B, pmean, pvar);
    }
    const gds_io_block_result r = {w2, wm, wc, wf, wfm, wfc, mean0, var0, traj};
    for (int k = 0; k < ntup && !ierr; k++) {
      gds_io_block b = {.nseed = B};
      gds_unit_tuple(s, u, k, b.idx);
      ierr = gds_io_write_block(c->io, &b, &r);
      gds_run_service(c);
    }
    c->tm[GDS_TM_WRITE] += gds_now() - tw;
    *wall = gds_now() - t0;
  }
cleanup:
  if (ierr && ierr != GDS_ERR_INTERRUPTED && !agreed) c->failed_here = 1;
  /* the cached law and sampler stay for the next unit, unless this one failed with them */
  if (ierr || law != c->lawc) {
    if (law == c->lawc) c->lawc = NULL;
    gds_law_destroy(&law);
  }
  if (ierr || smp != c->smpc) {
    if (smp == c->smpc) c->smpc = NULL;
    gds_sampler_destroy(&smp);
  }
  free(traj);
  free(rows);
  return ierr;
}

/* A leader runs unit ui, first calling its group in when the unit needs it. */
static int gds_group_unit_run(gds_run_ctx *c, int ui, double *wall) {
  if (gds_unit_needs_group(c, &c->plan.u[ui])) GDS_CALL(gds_run_bcast_int(c, &ui, c->group, GDS_TM_SYNC));
  return gds_unit_exec(c, ui, wall);
}

/* A leader tells its group members that no unit is left. */
static int gds_group_release(gds_run_ctx *c) {
  int none = -1;
  if (c->gsize > 1) GDS_CALL(gds_run_bcast_int(c, &none, c->group, GDS_TM_SYNC));
  return GDS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------
 * Coordinator, workers, group members */

static int gds_run_coordinator(gds_run_ctx *c) {
  int ierr = GDS_SUCCESS;
  double nap = GDS_NAP_FIRST;
  while (!ierr && !c->stop && gds_coord_left(c)) {
    ierr = gds_coord_service(c, 0);
    if (ierr || c->stop) break;
    if (!c->computes) { /* dedicated: wait for messages without spinning */
      gds_nap(&nap);
      continue;
    }
    int u = gds_coord_next(c);
    if (u < 0) break;
    double wall = 0;
    int e = gds_group_unit_run(c, u, &wall);
    if (!e) ierr = gds_coord_finished(c, u, wall);
    else if (e == GDS_ERR_INTERRUPTED) c->stop = 1;
    else {
      ierr = e;
      c->stop = 1;
    }
  }
  if (ierr) c->stop = 1;
  int e = gds_group_release(c);
  if (!ierr) ierr = e;
  /* Keep answering until every worker has been told to stop and has said goodbye. */
  nap = GDS_NAP_FIRST;
  double tw = gds_now();
  while (c->workers_finished < c->lsize - 1) {
    e = gds_coord_service(c, 0);
    if (e) {
      if (!ierr) ierr = e;
      break; /* MPI itself fails: nothing more can be done here */
    }
    gds_nap(&nap);
  }
  c->tm[GDS_TM_IDLE] += gds_now() - tw;
  e = gds_coord_flush(c);
  if (!ierr) ierr = e;
  c->coordinating = 0;
  gds_progress(c, 1);
  return ierr;
}

static int gds_run_worker(gds_run_ctx *c) {
  int ierr = GDS_SUCCESS, cur = -1, next = -1;
  int req[2] = {0, 0};
  MPI_Request rq;
  GDS_MPI_CALL(MPI_Irecv(&c->stop_msg, 1, MPI_INT, 0, GDS_TAG_STOP, c->leaders, &c->stop_rq));
  /* Ask for the first unit, and from then on ask for the next one before computing the
   * current one (prefetch), so a busy coordinator never leaves a worker idle. */
  GDS_MPI_CALL(MPI_Send(req, 2, MPI_INT, 0, GDS_TAG_REQ, c->leaders));
  GDS_MPI_CALL(MPI_Irecv(&cur, 1, MPI_INT, 0, GDS_TAG_ASSIGN, c->leaders, &rq));
  GDS_CALL(gds_run_wait(c, &rq, GDS_TM_DISPATCH));
  while (cur >= 0) {
    if (gds_run_signal_) c->stop = 1;
    req[0] = c->stop;
    req[1] = ierr != GDS_SUCCESS;
    GDS_MPI_CALL(MPI_Send(req, 2, MPI_INT, 0, GDS_TAG_REQ, c->leaders));
    GDS_MPI_CALL(MPI_Irecv(&next, 1, MPI_INT, 0, GDS_TAG_ASSIGN, c->leaders, &rq));
    if (!c->stop && !ierr) {
      double wall = 0;
      int e = gds_group_unit_run(c, cur, &wall);
      if (e == GDS_ERR_INTERRUPTED) c->stop = 1;
      else if (e) ierr = e;
      double fin[3] = {cur, wall, e && e != GDS_ERR_INTERRUPTED ? 1 : 0};
      if (e != GDS_ERR_INTERRUPTED) GDS_MPI_CALL(MPI_Send(fin, 3, MPI_DOUBLE, 0, GDS_TAG_FIN, c->leaders));
    }
    GDS_CALL(gds_run_wait(c, &rq, GDS_TM_DISPATCH));
    cur = next;
  }
  int e = gds_group_release(c);
  if (!ierr) ierr = e;
  GDS_MPI_CALL(MPI_Send(req, 2, MPI_INT, 0, GDS_TAG_BYE, c->leaders));
  for (;;) { /* an ABORT may still come; FINAL is always last */
    GDS_CALL(gds_run_wait(c, &c->stop_rq, GDS_TM_IDLE));
    if (c->stop_msg == GDS_STOP_FINAL) break;
    GDS_MPI_CALL(MPI_Irecv(&c->stop_msg, 1, MPI_INT, 0, GDS_TAG_STOP, c->leaders, &c->stop_rq));
  }
  return ierr;
}

/* A non-leader rank: join the group units its leader announces until told to stop. */
static int gds_run_member(gds_run_ctx *c) {
  int ierr = GDS_SUCCESS;
  for (;;) {
    int unit = -1;
    GDS_CALL(gds_run_bcast_int(c, &unit, c->group, GDS_TM_DISPATCH));
    if (unit < 0) break;
    double wall;
    int e = gds_unit_exec(c, unit, &wall);
    if (e && gds_code_rank(e) > gds_code_rank(ierr)) ierr = e;
  }
  return ierr;
}

/* ---------------------------------------------------------------------------------------
 * gds_run */

static void gds_run_pause(void *ctx, const char *tmp) {
  (void)ctx;
  fprintf(stderr, "gdsweep: test: paused while creating the output (temporary file %s)\n", tmp);
  fflush(stderr);
  for (;;) pause(); /* until killed */
}

/* Coordinator state once the file is open: which units are left, the done mirror. */
static int gds_run_plan(gds_run_ctx *c) {
  gds_sweep *s = c->sweep;
  const int n = c->plan.n;
  c->points_total = gds_sweep_npoints(s);
  if (c->rank != 0) return GDS_SUCCESS;
  GDS_CALL(GDS_ALLOC(c->queue, n ? n : 1));
  GDS_CALL(GDS_ALLOC(c->taken, n ? n : 1));
  GDS_CALL(GDS_ALLOC(c->last, c->lsize > 0 ? c->lsize : 1));
  for (int w = 0; w < c->lsize; w++) c->last[w] = -1;
  GDS_CALL(GDS_ALLOC(c->ustate, n ? n : 1));
  GDS_CALL(GDS_ALLOC(c->uwall, n ? n : 1));
  GDS_CALL(GDS_ALLOC(c->deferred, n ? n : 1));
  GDS_CALL(GDS_ALLOC(c->done, c->points_total));
  GDS_CALL(GDS_ALLOC(c->wall, c->points_total));
  GDS_CALL(GDS_ALLOC(c->abort_sent, c->lsize > 0 ? c->lsize : 1));
  GDS_CALL(GDS_ALLOC(c->bye, c->lsize > 0 ? c->lsize : 1));
  if (c->opt->resume) GDS_CALL(gds_io_read_done(c->io, c->done));
  for (int64_t i = 0; i < c->points_total; i++) c->points_done += c->done[i];
  c->points_at_start = c->points_done;
  for (int i = 0; i < n; i++) {
    const gds_unit *u = &c->plan.u[i];
    int all = 1;
    for (int k = 0; all && k < gds_unit_ntuples(s, u); k++) {
      int idx[GDS_IO_NAXES];
      gds_unit_tuple(s, u, k, idx);
      const int64_t first = gds_io_point_index(c->naxis, idx);
      for (int e = 0; all && e < u->nseed; e++) all = c->done[first + e];
    }
    if (all) c->ustate[i] = GDS_U_DONE;
    else c->queue[c->nqueue++] = i;
  }
  c->coordinating = c->lsize > 1;
  return GDS_SUCCESS;
}

/* CPU time of this process so far (user + system), seconds. */
static double gds_cpu_seconds(void) {
  struct rusage ru;
  return getrusage(RUSAGE_SELF, &ru) ? 0
         : ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec + 1e-6 * ru.ru_stime.tv_usec;
}

/* --timing: phases, the CPU time spent in gds_run (which shows that waiting ranks do not spin)
 * and the process's whole CPU time (with MPI start-up and the loading of its libraries). */
static void gds_run_report_timing(gds_run_ctx *c) {
  double t[GDS_TM_N + 2], mx[GDS_TM_N + 2], sum[GDS_TM_N + 2];
  memcpy(t, c->tm, sizeof c->tm);
  t[GDS_TM_N + 1] = gds_cpu_seconds();
  t[GDS_TM_N] = t[GDS_TM_N + 1] - c->cpu0;
  if (MPI_Reduce(t, mx, GDS_TM_N + 2, MPI_DOUBLE, MPI_MAX, 0, c->comm) != MPI_SUCCESS ||
      MPI_Reduce(t, sum, GDS_TM_N + 2, MPI_DOUBLE, MPI_SUM, 0, c->comm) != MPI_SUCCESS || c->rank)
    return;
  fprintf(stderr, "gdsweep: timing (seconds; max over ranks / sum over ranks):");
  for (int k = 0; k < GDS_TM_N; k++) fprintf(stderr, " %s %.3f/%.3f", gds_tm_names[k], mx[k], sum[k]);
  fprintf(stderr, " cpu %.3f/%.3f cpu-process %.3f/%.3f; %d units, %d seeds per unit (dense: %d)\n", mx[GDS_TM_N],
          sum[GDS_TM_N], mx[GDS_TM_N + 1], sum[GDS_TM_N + 1], c->plan.n, c->plan.block, c->plan.block_dense);
}

int gds_run(MPI_Comm comm, const gds_run_options *opt) {
  gds_run_ctx c;
  memset(&c, 0, sizeof c);
  c.comm = comm;
  c.opt = opt;
  c.group = c.leaders = MPI_COMM_NULL;
  c.stop_rq = MPI_REQUEST_NULL;
  c.poll.stop = gds_run_poll_stop;
  c.poll.ctx = &c;
  GDS_MPI_CALL(MPI_Comm_rank(comm, &c.rank));
  GDS_MPI_CALL(MPI_Comm_size(comm, &c.size));
  c.tty = isatty(STDERR_FILENO);
  c.cpu0 = gds_cpu_seconds();
  double t0 = gds_now();
  /* Ranks come out of MPI start-up at different times: the first ones wait here asleep (not
   * spinning in the first blocking collective, which steals the cores of oversubscribed ranks
   * still starting) and the wait is reported apart (`start`). */
  {
    MPI_Request rq;
    GDS_MPI_CALL(MPI_Ibarrier(comm, &rq));
    GDS_CALL(gds_run_wait(&c, &rq, GDS_TM_START));
  }
  int ierr = GDS_SUCCESS, G = opt->group_size > 0 ? opt->group_size : 1;
  if (c.size % G)
    return c.rank == 0 ? gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                                         "--group-size %d does not divide the number of ranks %d (valid: a divisor "
                                         "of %d)", G, c.size, c.size)
                       : GDS_ERR_INPUT;
  if (opt->resume && opt->force)
    return c.rank == 0 ? gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                                         "--resume and --force exclude each other")
                       : GDS_ERR_INPUT;
  /* Consecutive ranks form a group (they share a node under block placement). */
  GDS_MPI_CALL(MPI_Comm_split(comm, c.rank / G, c.rank, &c.group));
  GDS_MPI_CALL(MPI_Comm_rank(c.group, &c.grank));
  GDS_MPI_CALL(MPI_Comm_size(c.group, &c.gsize));
  GDS_MPI_CALL(MPI_Comm_split(comm, c.grank == 0 ? 0 : MPI_UNDEFINED, c.rank, &c.leaders));
  if (c.leaders != MPI_COMM_NULL) {
    GDS_MPI_CALL(MPI_Comm_rank(c.leaders, &c.lrank));
    GDS_MPI_CALL(MPI_Comm_size(c.leaders, &c.lsize));
  }
  GDS_MPI_CALL(MPI_Bcast(&c.lsize, 1, MPI_INT, 0, comm));
  c.computes = c.lsize < GDS_RUN_DEDICATED_GROUPS;
  const int workers = c.computes ? c.lsize : c.lsize - 1;

  /* Only rank 0 reports input errors. */
  int quiet_before = c.rank ? gds_error_set_quiet(1) : 0;
  ierr = gds_run_load_sweep(&c, opt->sweep_path);
  if (!ierr) ierr = gds_run_setup(&c);
  if (!ierr) ierr = gds_unit_plan_make(c.sweep, workers, c.gsize, opt->seed_block, 0, &c.plan);
  gds_run_estimate est = {0};
  if (!ierr) ierr = gds_run_estimate_sweep(c.sweep, workers, c.gsize, opt->seed_block, &est);
  if (!ierr) {
    MPI_Comm node;
    int per_node = 1, e = MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, c.rank, MPI_INFO_NULL, &node);
    if (e == MPI_SUCCESS) {
      e = MPI_Comm_size(node, &per_node);
      MPI_Comm_free(&node);
    }
    ierr = e != MPI_SUCCESS ? gds_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Comm_split_type/MPI_Comm_size")
                            : gds_check_memory(opt->sweep_path, c.plan.max_unit_bytes, per_node);
  }
  if (!ierr && c.rank == 0 && !opt->resume) ierr = gds_check_space(opt->out_path, est.bytes);
  if (c.rank) gds_error_set_quiet(quiet_before);
  ierr = gds_run_agree(&c, comm, ierr, GDS_TM_NONE);
  c.tm[GDS_TM_SETUP] = gds_now() - t0;
  if (ierr) goto out;

  char fp[65];
  GDS_CALL_GOTO(ierr, out, gds_sweep_fingerprint(c.sweep, fp));
  double tc = gds_now();
  if (opt->resume) ierr = gds_io_open_resume(opt->out_path, comm, fp, &c.io);
  else {
    gds_io_create_options co = {.force = opt->force, .before_publish = opt->test_pause_create ? gds_run_pause : NULL};
    ierr = gds_io_create(opt->out_path, comm, c.sweep, c.sched, c.prior, c.ops, fp, &co, &c.io);
  }
  c.tm[GDS_TM_CREATE] = gds_now() - tc;
  if (ierr) goto out;

  c.t_start = c.t_last_print = c.t_flush = gds_now();
  ierr = gds_run_agree(&c, comm, gds_run_plan(&c), GDS_TM_NONE);
  if (ierr) goto close;
  gds_sweep *s = c.sweep;
  if (c.rank == 0 && !opt->quiet)
    fprintf(stderr, "gdsweep: sweep '%s': %lld points (%lld already done), %d work units on %d rank%s (%d group%s of %d%s; "
            "%d seed%s per unit) -> %s\n", s->name, (long long)c.points_total, (long long)c.points_at_start, c.nqueue,
            c.size, c.size > 1 ? "s" : "", c.lsize, c.lsize > 1 ? "s" : "", c.gsize,
            c.computes ? "" : "; rank 0 only coordinates", c.plan.block, c.plan.block > 1 ? "s" : "", opt->out_path);
  ierr = c.rank == 0 ? gds_run_coordinator(&c) : c.grank == 0 ? gds_run_worker(&c) : gds_run_member(&c);

  /* Everyone meets here without spinning; then the outcome is agreed. */
  {
    MPI_Request rq;
    int e = MPI_Ibarrier(comm, &rq);
    if (e != MPI_SUCCESS) ierr = gds_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Ibarrier");
    else if ((e = gds_run_wait(&c, &rq, GDS_TM_IDLE)) && !ierr) ierr = e;
  }
  int worst = gds_run_agree(&c, comm, ierr, GDS_TM_NONE);
  int who = c.failed_here ? c.rank : c.size, first_bad = c.size;
  GDS_MPI_CALL(MPI_Allreduce(&who, &first_bad, 1, MPI_INT, MPI_MIN, comm));
  int stopped = c.stop;
  GDS_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &stopped, 1, MPI_INT, MPI_MAX, comm));
  ierr = worst;
  if (worst == GDS_ERR_INTERRUPTED) ierr = GDS_SUCCESS; /* decided below from the done flags */
  if (c.rank == 0 && c.worker_error && !ierr) ierr = GDS_ERR_RUNTIME;
  GDS_MPI_CALL(MPI_Bcast(&ierr, 1, MPI_INT, 0, comm));
  if (ierr && c.rank == 0) {
    char where[64] = "";
    if (first_bad < c.size) snprintf(where, sizeof where, " on rank %d", first_bad);
    fprintf(stderr, "gdsweep: error: the sweep stopped because of an error%s (its message is above); finished "
            "points are saved: fix the cause and continue with --resume\n", where);
  }
  if (!ierr) {
    int complete = 0;
    if (c.rank == 0) {
      complete = 1;
      for (int64_t i = 0; complete && i < c.points_total; i++) complete = c.done[i];
    }
    GDS_MPI_CALL(MPI_Bcast(&complete, 1, MPI_INT, 0, comm));
    tc = gds_now();
    if (complete) ierr = gds_io_mark_complete(c.io);
    else if (stopped) ierr = GDS_ERR_INTERRUPTED;
    else ierr = c.rank == 0 ? gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "sweep ended with points missing")
                            : GDS_ERR_RUNTIME;
    c.tm[GDS_TM_CLOSE] += gds_now() - tc;
  }
close : {
  double tcl = gds_now();
  int cerr = gds_io_close(&c.io);
  c.tm[GDS_TM_CLOSE] += gds_now() - tcl;
  if (!ierr) ierr = cerr;
}
  c.tm[GDS_TM_TOTAL] = gds_now() - t0;
  c.tm[GDS_TM_RUN] = c.tm[GDS_TM_TOTAL] - c.tm[GDS_TM_START];
  if (opt->timing) gds_run_report_timing(&c);
  if (ierr == GDS_ERR_INTERRUPTED && c.rank == 0)
    fprintf(stderr, "gdsweep: interrupted; finished points are saved. Continue with: gdsweep run %s -o %s --resume\n",
            opt->sweep_path, opt->out_path);
out:
  if (c.stop_rq != MPI_REQUEST_NULL) { /* never matched (an early error): withdraw it */
    MPI_Cancel(&c.stop_rq);
    MPI_Request_free(&c.stop_rq);
  }
  gds_run_teardown(&c);
  if (c.leaders != MPI_COMM_NULL) MPI_Comm_free(&c.leaders);
  if (c.group != MPI_COMM_NULL) MPI_Comm_free(&c.group);
  return ierr;
}

/* ---------------------------------------------------------------------------------------
 * check and status */

static void gds_print_axis(FILE *out, const char *name, int n, const gds_sweep *s, int axis) {
  fprintf(out, "    %-14s", name);
  const int shown = n <= 12 ? n : 10;
  for (int i = 0; i < shown; i++) {
    char b[256];
    switch (axis) {
    case GDS_IO_AXIS_SIGMA: gds_format_double(s->sigma[i], b, sizeof b); break;
    case GDS_IO_AXIS_ALPHA: gds_format_double(s->alpha_dps[i], b, sizeof b); break;
    case GDS_IO_AXIS_ALGORITHM: gds_algorithm_spec_name(&s->alg[i], b, sizeof b); break;
    case GDS_IO_AXIS_SCHEME: gds_scheme_spec_name(&s->scheme[i], b, sizeof b); break;
    case GDS_IO_AXIS_STEPS: snprintf(b, sizeof b, "%d", s->steps[i] > 0 ? s->steps[i] : s->T); break;
    case GDS_IO_AXIS_EPS: gds_format_double(s->eps[i], b, sizeof b); break;
    case GDS_IO_AXIS_INIT: snprintf(b, sizeof b, "%s", gds_init_name(s->init[i])); break;
    default: snprintf(b, sizeof b, "%lld", (long long)s->seed[i]); break;
    }
    fprintf(out, "%s%s", i ? ", " : "", b);
  }
  if (shown < n) fprintf(out, ", ... (%d values)", n);
  fputc('\n', out);
}

int gds_check(const char *sweep_path, const gds_check_options *copt, FILE *out) {
  gds_run_ctx c;
  gds_run_options opt;
  gds_check_options none = {0};
  memset(&c, 0, sizeof c);
  memset(&opt, 0, sizeof opt);
  if (!copt) copt = &none;
  c.opt = &opt;
  const int ranks = copt->ranks > 0 ? copt->ranks : 1, G = copt->group_size > 0 ? copt->group_size : 1;
  if (ranks % G)
    GDS_ERROR(GDS_ERR_INPUT, "--group-size %d does not divide --ranks %d (valid: a divisor of %d)", G, ranks, ranks);
  const int groups = ranks / G, workers = groups < GDS_RUN_DEDICATED_GROUPS ? groups : groups - 1;
  int ierr = gds_sweep_load(sweep_path, &c.sweep);
  if (!ierr) ierr = gds_run_setup(&c);
  gds_run_estimate est = {0};
  if (!ierr) ierr = gds_run_estimate_sweep(c.sweep, workers, G, copt->seed_block, &est);
  if (!ierr) {
    gds_sweep *s = c.sweep;
    char fp[65] = "";
    gds_sweep_fingerprint(s, fp);
    fprintf(out, "%s: sweep '%s' is valid\n", sweep_path, s->name);
    fprintf(out, "  prior      %s, %dx%d%s\n", c.prior->name, s->prior.H, s->prior.W,
            s->prior.periodic && !s->prior.white ? ", periodic component" : "");
    if (s->process == GDS_PROCESS_VP_SDE)
      fprintf(out, "  diffusion  vp_sde, beta(u) %g .. %g\n", s->beta_min, s->beta_max);
    else
      fprintf(out, "  diffusion  T = %d, beta %g .. %g, variance %s\n", s->T, s->beta_start, s->beta_end,
              gds_variance_name(s->variance));
    fprintf(out, "  grid       %d operator x %d sigma x %d alpha_dps x %d algorithm x %d scheme x %d sampler_steps x "
            "%d eps x %d init x %d seed = %lld points\n", s->n_op, s->n_sigma, s->n_alpha, s->n_alg, s->n_scheme,
            s->n_steps, s->n_eps, s->n_init, s->n_seed, (long long)est.npoints);
    for (int i = 0; i < s->n_op; i++) fprintf(out, "    operator[%d] %s\n", i, c.ops[i]->name);
    gds_print_axis(out, "sigma", s->n_sigma, s, GDS_IO_AXIS_SIGMA);
    gds_print_axis(out, "alpha_dps", s->n_alpha, s, GDS_IO_AXIS_ALPHA);
    gds_print_axis(out, "algorithm", s->n_alg, s, GDS_IO_AXIS_ALGORITHM);
    gds_print_axis(out, "scheme", s->n_scheme, s, GDS_IO_AXIS_SCHEME);
    gds_print_axis(out, "sampler_steps", s->n_steps, s, GDS_IO_AXIS_STEPS);
    gds_print_axis(out, "eps", s->n_eps, s, GDS_IO_AXIS_EPS);
    gds_print_axis(out, "init", s->n_init, s, GDS_IO_AXIS_INIT);
    gds_print_axis(out, "seed", s->n_seed, s, GDS_IO_AXIS_SEED);
    fprintf(out, "  output     %d samples x %d checkpoints per point, W2 at %d of %d times\n", s->samples, s->n_ckpt,
            s->n_w2t, c.ntime);
    fprintf(out, "  work       %lld units, about %.3g core-seconds (%.3g core-hours); %d seed%s per unit for %d rank%s "
            "in groups of %d\n", (long long)est.nunits, est.core_seconds, est.core_seconds / 3600, est.seed_block,
            est.seed_block > 1 ? "s" : "", ranks, ranks > 1 ? "s" : "", G);
    fprintf(out, "  memory     about %.3g MB per rank for the largest unit\n", est.unit_bytes / 1e6);
    fprintf(out, "  file size  about %.3g MB\n", est.bytes / 1e6);
    fprintf(out, "  fingerprint %s\n", fp);
    /* what `run` would refuse: one rank per node is the best case for memory */
    ierr = gds_check_memory(sweep_path, est.unit_bytes, 1);
    if (!ierr && copt->out_path) ierr = gds_check_output_path(copt->out_path);
    if (!ierr && copt->out_path) ierr = gds_check_space(copt->out_path, est.bytes);
  }
  gds_run_teardown(&c);
  return ierr;
}

int gds_status(const char *out_path, FILE *out) {
  gds_io *io = NULL;
  GDS_CALL(gds_io_open_readonly(out_path, &io));
  gds_io_info info;
  unsigned char *done = NULL;
  int64_t *cnt[GDS_IO_NAXES] = {0};
  int ierr = gds_io_get_info(io, &info);
  if (!ierr) ierr = GDS_ALLOC(done, info.npoints);
  for (int a = 0; a < GDS_IO_NAXES && !ierr; a++) ierr = GDS_ALLOC(cnt[a], info.n[a] ? info.n[a] : 1);
  if (!ierr) ierr = gds_io_read_done(io, done);
  if (!ierr) {
    /* One pass: each row (a point of the first eight axes, all seeds) adds its count to its
     * index on those axes; seeds are counted element by element. */
    const int ns = info.n[GDS_IO_AXIS_SEED];
    int idx[GDS_IO_NAXES] = {0};
    int64_t nd = 0, rows = ns ? info.npoints / ns : 0;
    for (int64_t r = 0; r < rows; r++) {
      const unsigned char *d = done + r * ns;
      int64_t sum = 0;
      for (int e = 0; e < ns; e++) {
        sum += d[e];
        cnt[GDS_IO_AXIS_SEED][e] += d[e];
      }
      nd += sum;
      for (int a = 0; a < GDS_IO_AXIS_SEED; a++) cnt[a][idx[a]] += sum;
      for (int a = GDS_IO_AXIS_SEED - 1; a >= 0; a--) { /* odometer */
        if (++idx[a] < info.n[a]) break;
        idx[a] = 0;
      }
    }
    fprintf(out, "%s: %lld/%lld points done, %lld missing%s\n", out_path, (long long)nd, (long long)info.npoints,
            (long long)(info.npoints - nd), info.complete ? " (complete)" : "");
    for (int a = 0; a < GDS_IO_NAXES; a++) {
      const int64_t tot = info.n[a] ? info.npoints / info.n[a] : 0;
      int incomplete = 0;
      for (int i = 0; i < info.n[a]; i++) incomplete += cnt[a][i] < tot;
      const int all = info.n[a] <= 64;
      fprintf(out, "  %s:%s\n", gds_io_axis_name(a),
              all ? "" : incomplete ? " (many values: those with missing points)" : " (many values: all complete)");
      int shown = 0;
      for (int i = 0; i < info.n[a]; i++) {
        if (!all && (cnt[a][i] == tot || shown >= 20)) continue;
        char label[256];
        if (gds_io_axis_label(io, a, i, label, sizeof label)) snprintf(label, sizeof label, "#%d", i);
        fprintf(out, "    %-40s %lld/%lld done\n", label, (long long)cnt[a][i], (long long)tot);
        shown++;
      }
      if (!all && incomplete > shown) fprintf(out, "    ... and %d more with missing points\n", incomplete - shown);
    }
  }
  int complete = !ierr && info.complete;
  free(done);
  for (int a = 0; a < GDS_IO_NAXES; a++) free(cnt[a]);
  gds_io_close(&io);
  GDS_CALL(ierr);
  /* Like `run`: 0 when complete, 3 when points are missing (resumable). */
  return complete ? GDS_SUCCESS : GDS_ERR_INTERRUPTED;
}
