/* Sweep driver (SPEC §3, §6): work units, MPI coordination, progress, signals, resume. */
#include "gdsweep/run.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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

/* ---------------------------------------------------------------------------------------
 * Work units */

typedef struct gds_unit {
  int op, sigma, alg;
  int alpha;  /* α index, or −1: every α (the algorithm ignores α_dps) */
  double cost; /* estimated core-seconds, for largest-first ordering */
} gds_unit;

/* Cost model (core-seconds) per unit, for largest-first ordering and `check`; constants fitted
 * roughly on the benchmark machine (bench/RESULTS.md). Fourier-diagonal law: ~6 ns per
 * (frequency, step, seed-or-covariance); Fourier-block (factor s): ~s² times that, plus an
 * s²×s² eigen-problem per block and W2 time for dps/pigdm; dense: P_t applied to d columns
 * with FFTs per step and a d³ eigen-decomposition per W2 time. Trajectories: ~8 ns per
 * (pixel, step), with a few CG iterations per step for non-Fourier operators. */
static double gds_unit_cost(const gds_sweep *s, const gds_operator_spec *op, gds_algorithm alg) {
  double d = (double)s->prior.H * s->prior.W, nf = s->prior.H * (s->prior.W / 2 + 1.0), T = s->T;
  double nw = s->n_w2t, traj = 8e-9 * d * T * s->samples * s->n_seed, law;
  switch (op->dense ? GDS_OP_INPAINTING : op->type) { /* the dense backend costs the same for any operator */
  case GDS_OP_SUPER_RESOLUTION: {
    double f2 = (double)op->factor * op->factor;
    law = 6e-9 * nf * f2 * T * (1 + s->n_seed);
    if (alg == GDS_ALG_DPS || alg == GDS_ALG_PIGDM) law += 2e-9 * (d / f2) * f2 * f2 * f2 * nw;
    traj *= 4;
    break;
  }
  case GDS_OP_INPAINTING:
    law = 5e-9 * d * d * log2(d) * T + 5e-9 * d * d * d * nw;
    traj *= 10;
    break;
  default: law = 6e-9 * nf * T * (1 + s->n_seed); break;
  }
  return law + traj;
}

static int gds_unit_cmp(const void *a, const void *b) {
  const gds_unit *x = a, *y = b;
  if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
  int kx[4] = {x->op, x->sigma, x->alg, x->alpha}, ky[4] = {y->op, y->sigma, y->alg, y->alpha};
  for (int i = 0; i < 4; i++)
    if (kx[i] != ky[i]) return kx[i] < ky[i] ? -1 : 1;
  return 0;
}

static int gds_units_build(const gds_sweep *s, gds_unit **out, int *n) {
  int cap = s->n_op * s->n_sigma * s->n_alg * s->n_alpha, k = 0;
  gds_unit *u;
  GDS_CALL(GDS_ALLOC(u, cap));
  for (int o = 0; o < s->n_op; o++)
    for (int g = 0; g < s->n_sigma; g++)
      for (int a = 0; a < s->n_alg; a++) {
        double c = gds_unit_cost(s, &s->op[o], s->alg[a].kind);
        if (!gds_algorithm_uses_alpha(s->alg[a].kind)) u[k++] = (gds_unit){o, g, a, -1, c};
        else
          for (int al = 0; al < s->n_alpha; al++) u[k++] = (gds_unit){o, g, a, al, c};
      }
  /* Largest first (LPT), ties in grid order: the schedule is deterministic; results never
   * depend on it anyway. */
  qsort(u, (size_t)k, sizeof *u, gds_unit_cmp);
  *out = u;
  *n = k;
  return GDS_SUCCESS;
}

static int64_t gds_point_index(const gds_sweep *s, int o, int g, int al, int a, int seed) {
  return ((((int64_t)o * s->n_sigma + g) * s->n_alpha + al) * s->n_alg + a) * s->n_seed + seed;
}

static int gds_unit_npoints(const gds_sweep *s, const gds_unit *u) {
  return (u->alpha < 0 ? s->n_alpha : 1) * s->n_seed;
}

static int gds_unit_is_done(const gds_sweep *s, const gds_unit *u, const unsigned char *done) {
  for (int al = 0; al < s->n_alpha; al++) {
    if (u->alpha >= 0 && al != u->alpha) continue;
    for (int e = 0; e < s->n_seed; e++)
      if (!done[gds_point_index(s, u->op, u->sigma, al, u->alg, e)]) return 0;
  }
  return 1;
}

int gds_run_estimate_sweep(const gds_sweep *s, gds_run_estimate *est) {
  gds_unit *u;
  int n;
  GDS_CALL(gds_units_build(s, &u, &n));
  double d = (double)s->prior.H * s->prior.W, T1 = s->T + 1.0;
  double np = (double)gds_sweep_npoints(s);
  est->npoints = gds_sweep_npoints(s);
  est->nunits = n;
  est->core_seconds = 0;
  for (int i = 0; i < n; i++) est->core_seconds += u[i].cost;
  free(u);
  est->bytes = np * (3 * T1 * 8 + 2 * d * 8 + 8 + 1 + (double)s->samples * s->n_ckpt * d * 4) +
               s->n_seed * d * 8 + (double)s->n_op * s->n_sigma * (s->n_seed + 1 + s->n_seed) * d * 8 +
               s->n_op * d * 9.0 + 3 * T1 * 8 + 2 * d * 8 + s->text_len + 65536;
  return GDS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------
 * Run context: the validated inputs every rank builds identically. */

enum { GDS_TAG_REQUEST = 71, GDS_TAG_ASSIGN = 72, GDS_TAG_DONE = 73, GDS_TAG_FINISHED = 74 };

typedef struct gds_run_ctx {
  MPI_Comm comm;
  int rank, size;
  /* Groups of --group-size ranks compute one unit together (dense backend); their leaders
   * (group rank 0) talk to the coordinator (world rank 0) over `leaders`. */
  MPI_Comm group, leaders;
  int grank, gsize, lrank, lsize;
  const gds_run_options *opt;
  gds_sweep *sweep;
  gds_schedule *sched;
  gds_prior *prior;
  gds_operator **ops;
  double **x0; /* [n_seed][d] */
  unsigned char *w2_mask;
  gds_io *io;
  int stop;    /* stop requested (signal here, or relayed by the coordinator) */
  /* coordinator state (rank 0) */
  gds_unit *units;
  int nunits, next_unit;
  int64_t points_total, points_done, points_at_start;
  int workers_finished;
  double t_start, t_last_print;
  int tty;
} gds_run_ctx;

static int gds_run_setup(gds_run_ctx *c) {
  gds_sweep *s = c->sweep;
  GDS_CALL(gds_schedule_create(s->T, s->beta_start, s->beta_end, s->variance, &c->sched));
  GDS_CALL(gds_prior_create(&s->prior, &c->prior));
  GDS_CALL(GDS_ALLOC(c->ops, s->n_op));
  for (int i = 0; i < s->n_op; i++) {
    GDS_CALL(gds_operator_create(&s->op[i], s->prior.H, s->prior.W, &c->ops[i]));
    GDS_CALL(gds_law_check_operator(c->ops[i]));
  }
  GDS_CALL(GDS_ALLOC(c->w2_mask, s->T + 1));
  for (int i = 0; i < s->n_w2t; i++) c->w2_mask[s->w2_times[i]] = 1;
  return GDS_SUCCESS;
}

static void gds_run_teardown(gds_run_ctx *c) {
  if (c->sweep && c->ops)
    for (int i = 0; i < c->sweep->n_op; i++) gds_operator_destroy(&c->ops[i]);
  free(c->ops);
  if (c->sweep && c->x0)
    for (int i = 0; i < c->sweep->n_seed; i++) free(c->x0[i]);
  free(c->x0);
  free(c->w2_mask);
  free(c->units);
  gds_prior_destroy(&c->prior);
  gds_schedule_destroy(&c->sched);
  gds_sweep_destroy(&c->sweep);
}

/* Load and validate everything a run needs, before any output exists. */
static int gds_run_load(gds_run_ctx *c, const char *path) {
  GDS_CALL(gds_sweep_load(path, &c->sweep));
  GDS_CALL(gds_run_setup(c));
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
          c->points_total ? 100.0 * c->points_done / c->points_total : 100.0, rate, eta,
          c->tty && !final ? "  " : "\n");
  fflush(stderr);
}

/* Coordinator: answer every pending message without blocking. */
static void gds_coord_service(gds_run_ctx *c) {
  if (gds_run_signal_) c->stop = 1;
  for (;;) {
    int flag;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->leaders, &flag, &st);
    if (!flag) break;
    int msg[2];
    MPI_Recv(msg, 2, MPI_INT, st.MPI_SOURCE, st.MPI_TAG, c->leaders, MPI_STATUS_IGNORE);
    if (st.MPI_TAG == GDS_TAG_REQUEST) {
      if (msg[0]) c->stop = 1; /* the worker was signalled: stop everyone */
      int unit = (!c->stop && c->next_unit < c->nunits) ? c->next_unit++ : -1;
      MPI_Send(&unit, 1, MPI_INT, st.MPI_SOURCE, GDS_TAG_ASSIGN, c->leaders);
    } else if (st.MPI_TAG == GDS_TAG_DONE) {
      c->points_done += msg[0];
    } else if (st.MPI_TAG == GDS_TAG_FINISHED) {
      c->workers_finished++;
    }
  }
  gds_progress(c, 0);
}

/* Called between pieces of work inside a unit: keeps the coordinator responsive and tells
 * whether the unit should be dropped. */
static int gds_run_poll(gds_run_ctx *c) {
  if (c->rank == 0 && c->lsize > 1) gds_coord_service(c);
  if (gds_run_signal_) c->stop = 1;
  return c->stop;
}

/* ---------------------------------------------------------------------------------------
 * One unit: measurements, (posterior), exact law for the seed bundle, trajectories, writes. */

/* Whether the operator's exact law comes from the dense backend (its structure, or asked). */
static int gds_run_op_dense(const gds_operator *op) {
  return op->structure == GDS_STRUCTURE_DENSE || op->spec.dense;
}

/* Whether the ranks of a group share the unit (the dense backend distributes K_t); other
 * units are computed by the group leader alone. */
static int gds_unit_needs_group(const gds_run_ctx *c, const gds_unit *u) {
  return c->gsize > 1 && gds_run_op_dense(c->ops[u->op]);
}

/* Run by the leader and, for group units, by every rank of the group in lockstep: the law is
 * collective on the group; trajectories and writes are the leader's. */
static int gds_unit_run(gds_run_ctx *c, const gds_unit *u, int *npoints_written) {
  gds_sweep *s = c->sweep;
  const int leader = c->grank == 0;
  MPI_Comm lawcomm = gds_unit_needs_group(c, u) ? c->group : MPI_COMM_SELF;
  gds_operator *op = c->ops[u->op];
  int ns = s->n_seed, T = s->T, d = s->prior.H * s->prior.W, m = op->m;
  int nck = s->n_ckpt, nsm = s->samples, ierr = GDS_SUCCESS;
  double sigma = s->sigma[u->sigma];
  gds_algorithm alg = s->alg[u->alg].kind;
  double alpha = u->alpha >= 0 ? s->alpha_dps[u->alpha] : 1.0;
  double t0 = gds_now();
  *npoints_written = 0;

  double *buf = NULL;
  float *traj = NULL;
  double **v = NULL, **w2 = NULL, **wm = NULL, **mean0 = NULL;
  gds_law *law = NULL;
  gds_sampler *smp = NULL;
  size_t per_seed = (size_t)m + 2 * (T + 1) + 2 * (size_t)d;
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(buf, per_seed * ns + (T + 1) + 2 * (size_t)d));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(v, 4 * ns));
  w2 = v + ns;
  wm = v + 2 * ns;
  mean0 = v + 3 * ns;
  for (int e = 0; e < ns; e++) {
    double *b = buf + per_seed * e;
    v[e] = b;
    w2[e] = b + m;
    wm[e] = b + m + (T + 1);
    mean0[e] = b + m + 2 * (T + 1);
  }
  double *w2c = buf + per_seed * ns, *var0 = w2c + (T + 1), *pmean = var0 + d;
  double *pvar = mean0[0] + d; /* scratch: free until the law evaluation */

  for (int e = 0; e < ns; e++) GDS_CALL_GOTO(ierr, out, gds_operator_measure(op, u->op, c->x0[e], sigma, s->seed[e], v[e]));
  GDS_CALL_GOTO(ierr, out, gds_law_create_backend(lawcomm, op->spec.dense ? "dense" : NULL, c->prior, c->sched,
                                                  op, sigma, &law));
  /* Problem data of (op, σ) is written once, by the unit of the first algorithm / α. */
  if (u->alg == 0 && u->alpha <= 0) {
    for (int e = 0; e < ns; e++) {
      GDS_CALL_GOTO(ierr, out, gds_law_posterior(law, v[e], pmean, e == 0 ? pvar : NULL));
      if (!leader) continue;
      GDS_CALL_GOTO(ierr, out, gds_io_write_measurement(c->io, u->op, u->sigma, e, v[e]));
      GDS_CALL_GOTO(ierr, out, gds_io_write_posterior(c->io, u->op, u->sigma, e, pmean, e == 0 ? pvar : NULL));
    }
  }
  gds_law_request rq = {.cfg = {.alg = {.kind = alg}, .alpha_dps = alpha}, .nseeds = ns, .v = (const double *const *)v,
                        .w2_mask = c->w2_mask};
  gds_law_result rs = {.w2_cov = w2c, .var0 = var0, .w2_mean = wm, .w2 = w2, .mean0 = mean0};
  GDS_CALL_GOTO(ierr, out, gds_law_evaluate(law, &rq, &rs));
  if (!leader || gds_run_poll(c)) goto out;

  if (nsm > 0) {
    GDS_CALL_GOTO(ierr, out, GDS_ALLOC(traj, (size_t)ns * nsm * nck * d));
    GDS_CALL_GOTO(ierr, out, gds_sampler_create(c->prior, c->sched, op, sigma, &smp));
    for (int e = 0; e < ns; e++)
      for (int k = 0; k < nsm; k++) {
        GDS_CALL_GOTO(ierr, out, gds_sampler_run(smp, &rq.cfg, v[e], s->seed[e], k, nck, s->ckpt,
                                                 traj + ((size_t)e * nsm + k) * nck * d, NULL, NULL));
        if (gds_run_poll(c)) goto out; /* drop the unit: none of its points is marked done */
      }
  }
  /* Test-only minimum unit duration (gds_run_options.test_unit_seconds): sleep in short
   * slices so that a stop request still drops the unit promptly. */
  while (gds_now() - t0 < c->opt->test_unit_seconds) {
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    if (gds_run_poll(c)) goto out;
  }
  double wall = (gds_now() - t0) / gds_unit_npoints(s, u);
  for (int al = 0; al < s->n_alpha; al++) {
    if (u->alpha >= 0 && al != u->alpha) continue;
    for (int e = 0; e < ns; e++) {
      gds_point p = {u->op, u->sigma, al, u->alg, e};
      gds_point_result r = {w2[e], wm[e], w2c, mean0[e], var0, traj ? traj + (size_t)e * nsm * nck * d : NULL, wall};
      GDS_CALL_GOTO(ierr, out, gds_io_write_point(c->io, &p, &r));
      (*npoints_written)++;
    }
  }
out:
  gds_sampler_destroy(&smp);
  gds_law_destroy(&law);
  free(traj);
  free(v);
  free(buf);
  return ierr;
}

/* ---------------------------------------------------------------------------------------
 * Coordinator and workers */

/* A leader runs unit u, first calling its group in when the unit needs it. */
static int gds_group_unit_run(gds_run_ctx *c, int u, int *n) {
  if (gds_unit_needs_group(c, &c->units[u])) MPI_Bcast(&u, 1, MPI_INT, 0, c->group);
  return gds_unit_run(c, &c->units[u], n);
}

/* A leader tells its group members that no unit is left. */
static void gds_group_release(gds_run_ctx *c) {
  int stop = -1;
  if (c->gsize > 1) MPI_Bcast(&stop, 1, MPI_INT, 0, c->group);
}

static int gds_run_coordinator(gds_run_ctx *c) {
  int ierr = GDS_SUCCESS;
  while (!ierr && !c->stop) {
    gds_coord_service(c);
    if (c->stop || c->next_unit >= c->nunits) break;
    int n, u = c->next_unit++;
    ierr = gds_group_unit_run(c, u, &n);
    c->points_done += n;
  }
  gds_group_release(c);
  /* Keep answering until every worker has been told to stop and has finished. */
  while (c->workers_finished < c->lsize - 1) {
    if (ierr) c->stop = 1;
    gds_coord_service(c);
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL); /* sleep, don't spin: a waiting coordinator must not take a core */
  }
  gds_progress(c, 1);
  return ierr;
}

/* Wait for a request without busy-polling a core. */
static void gds_wait_sleepy(MPI_Request *rq) {
  int flag = 0;
  for (;;) {
    MPI_Test(rq, &flag, MPI_STATUS_IGNORE);
    if (flag) return;
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
  }
}

static int gds_run_worker(gds_run_ctx *c) {
  int ierr = GDS_SUCCESS, unit = -1, next = -1;
  int req[2] = {0, 0};
  MPI_Request rq;
  /* Ask for the first unit, and from then on ask for the next one before computing the
   * current one (prefetch), so a busy coordinator never leaves a worker idle. */
  MPI_Send(req, 2, MPI_INT, 0, GDS_TAG_REQUEST, c->leaders);
  MPI_Recv(&unit, 1, MPI_INT, 0, GDS_TAG_ASSIGN, c->leaders, MPI_STATUS_IGNORE);
  while (unit >= 0) {
    req[0] = c->stop || gds_run_signal_ || ierr;
    MPI_Send(req, 2, MPI_INT, 0, GDS_TAG_REQUEST, c->leaders);
    MPI_Irecv(&next, 1, MPI_INT, 0, GDS_TAG_ASSIGN, c->leaders, &rq);
    if (!req[0]) {
      int n = 0;
      ierr = gds_group_unit_run(c, unit, &n);
      if (n) MPI_Send((int[2]){n, 0}, 2, MPI_INT, 0, GDS_TAG_DONE, c->leaders);
    }
    gds_wait_sleepy(&rq);
    unit = next;
    if (gds_run_signal_ || ierr) c->stop = 1;
    if (c->stop && unit >= 0) continue; /* dropped: the next request carries the stop flag */
  }
  MPI_Send(req, 2, MPI_INT, 0, GDS_TAG_FINISHED, c->leaders);
  gds_group_release(c);
  return ierr;
}

/* A non-leader rank: join the group units its leader announces until told to stop. */
static int gds_run_member(gds_run_ctx *c) {
  int ierr = GDS_SUCCESS;
  for (;;) {
    int unit;
    MPI_Bcast(&unit, 1, MPI_INT, 0, c->group);
    if (unit < 0) break;
    int n, e = gds_unit_run(c, &c->units[unit], &n);
    if (!ierr) ierr = e;
  }
  return ierr;
}

/* ---------------------------------------------------------------------------------------
 * gds_run */

static int gds_run_check_space(const char *out_path, double bytes) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", out_path);
  char *slash = strrchr(dir, '/');
  if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
  else snprintf(dir, sizeof dir, ".");
  struct statvfs vf;
  if (statvfs(dir, &vf) == 0) {
    double avail = (double)vf.f_bavail * vf.f_frsize;
    if (bytes > avail)
      GDS_ERROR(GDS_ERR_INPUT, "%s: the output needs about %.3g MB but only %.3g MB are free in %s",
                out_path, bytes / 1e6, avail / 1e6, dir);
  }
  return GDS_SUCCESS;
}

/* One writer per output: rank 0 holds a POSIX record lock on OUT.lock for the whole run, so a
 * second job (or a --force run) on the same file is refused instead of truncating it. The
 * kernel drops the lock when the process dies, so a killed job never blocks its --resume.
 * Where the file system does not support locks (ENOLCK), the run goes on with a warning. */
static int gds_run_lock(const char *out_path, int *fd_out) {
  char path[4096 + 8];
  snprintf(path, sizeof path, "%s.lock", out_path);
  *fd_out = -1;
  int fd = open(path, O_RDWR | O_CREAT, 0644);
  if (fd < 0) return GDS_SUCCESS; /* an unwritable directory is reported by gds_io_create */
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
  if (fcntl(fd, F_SETLK, &fl) == 0) {
    char who[300];
    char host[256] = "?";
    gethostname(host, sizeof host - 1);
    int n = snprintf(who, sizeof who, "%s %ld\n", host, (long)getpid());
    if (ftruncate(fd, 0) == 0 && write(fd, who, (size_t)n) == n) { /* informative only */ }
    *fd_out = fd;
    return GDS_SUCCESS;
  }
  int err = errno;
  char who[300] = "";
  ssize_t n = pread(fd, who, sizeof who - 1, 0);
  who[n > 0 ? n : 0] = '\0';
  if (n > 0 && who[n - 1] == '\n') who[n - 1] = '\0';
  close(fd);
  if (err == ENOLCK || err == EINVAL || err == EOPNOTSUPP) {
    fprintf(stderr, "gdsweep: warning: %s: file locks are not supported here; make sure no other "
            "job writes %s\n", path, out_path);
    return GDS_SUCCESS;
  }
  GDS_ERROR(GDS_ERR_INPUT, "%s is being written by another gdsweep run (host and pid: %s; lock %s); "
            "wait for it to finish or stop it first", out_path, who[0] ? who : "unknown", path);
}

static void gds_run_unlock(const char *out_path, int fd) {
  if (fd < 0) return;
  char path[4096 + 8];
  snprintf(path, sizeof path, "%s.lock", out_path);
  unlink(path);
  close(fd); /* releases the lock */
}

/* Agree on an error code across ranks (the worst one wins). */
static int gds_run_agree(MPI_Comm comm, int ierr) {
  int all = ierr;
  MPI_Allreduce(&ierr, &all, 1, MPI_INT, MPI_MAX, comm);
  return all;
}

int gds_run(MPI_Comm comm, const gds_run_options *opt) {
  gds_run_ctx c;
  memset(&c, 0, sizeof c);
  c.comm = comm;
  c.opt = opt;
  MPI_Comm_rank(comm, &c.rank);
  MPI_Comm_size(comm, &c.size);
  c.tty = isatty(STDERR_FILENO);
  int ierr, G = opt->group_size > 0 ? opt->group_size : 1;
  if (c.size % G) {
    return c.rank == 0 ? gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                                         "--group-size %d does not divide the number of ranks %d "
                                         "(valid: a divisor of %d)", G, c.size, c.size)
                       : GDS_ERR_INPUT;
  }
  /* Consecutive ranks form a group (they share a node under block placement). */
  MPI_Comm_split(comm, c.rank / G, c.rank, &c.group);
  MPI_Comm_rank(c.group, &c.grank);
  MPI_Comm_size(c.group, &c.gsize);
  MPI_Comm_split(comm, c.grank == 0 ? 0 : MPI_UNDEFINED, c.rank, &c.leaders);
  if (c.leaders != MPI_COMM_NULL) {
    MPI_Comm_rank(c.leaders, &c.lrank);
    MPI_Comm_size(c.leaders, &c.lsize);
  }
  if (opt->resume && opt->force) {
    ierr = c.rank == 0 ? gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__, "--resume and --force exclude each other") : GDS_ERR_INPUT;
    return ierr;
  }
  /* Only rank 0 reports input errors: every rank validates the same file. */
  int quiet_before = c.rank ? gds_error_set_quiet(1) : 0, lock_fd = -1;
  ierr = gds_run_load(&c, opt->sweep_path);
  gds_run_estimate est = {0};
  if (!ierr) ierr = gds_run_estimate_sweep(c.sweep, &est);
  if (!ierr && c.rank == 0 && !opt->resume) ierr = gds_run_check_space(opt->out_path, est.bytes);
  if (!ierr && c.rank == 0) ierr = gds_run_lock(opt->out_path, &lock_fd);
  if (c.rank) gds_error_set_quiet(quiet_before);
  ierr = gds_run_agree(comm, ierr);
  if (ierr) goto out;

  char fp[65];
  GDS_CALL_GOTO(ierr, out, gds_sweep_fingerprint(c.sweep, fp));
  if (opt->resume) ierr = gds_io_open_resume(opt->out_path, comm, fp, &c.io);
  else ierr = gds_io_create(opt->out_path, comm, c.sweep, c.sched, c.prior, c.ops, fp, opt->force, &c.io);
  if (ierr) goto out;

  gds_sweep *s = c.sweep;
  int d = s->prior.H * s->prior.W;
  unsigned char *done = NULL;
  GDS_CALL_GOTO(ierr, close, GDS_ALLOC(c.x0, s->n_seed));
  for (int e = 0; e < s->n_seed && !ierr; e++) {
    ierr = GDS_ALLOC(c.x0[e], d);
    if (!ierr) ierr = gds_prior_sample(c.prior, s->seed[e], c.x0[e]);
    if (!ierr && c.rank == 0) ierr = gds_io_write_x0(c.io, e, c.x0[e]);
  }
  if ((ierr = gds_run_agree(comm, ierr))) goto close;

  /* Units still to do, largest first (ties in grid order: deterministic). */
  GDS_CALL_GOTO(ierr, close, gds_units_build(s, &c.units, &c.nunits));
  GDS_CALL_GOTO(ierr, close, GDS_ALLOC(done, gds_sweep_npoints(s)));
  if (opt->resume) ierr = gds_io_read_done(c.io, done);
  if ((ierr = gds_run_agree(comm, ierr))) { free(done); goto close; }
  c.points_total = gds_sweep_npoints(s);
  for (int64_t i = 0; i < c.points_total; i++) c.points_done += done[i];
  c.points_at_start = c.points_done;
  int k = 0;
  for (int i = 0; i < c.nunits; i++)
    if (!gds_unit_is_done(s, &c.units[i], done)) c.units[k++] = c.units[i];
  c.nunits = k;
  free(done);

  c.t_start = c.t_last_print = gds_now();
  if (c.rank == 0 && !opt->quiet)
    fprintf(stderr, "gdsweep: sweep '%s': %lld points (%lld already done), %d work units on %d rank%s "
            "(%d group%s of %d) -> %s\n", s->name, (long long)c.points_total, (long long)c.points_at_start,
            c.nunits, c.size, c.size > 1 ? "s" : "", c.lsize, c.lsize > 1 ? "s" : "", c.gsize, opt->out_path);
  ierr = c.rank == 0 ? gds_run_coordinator(&c) : c.grank == 0 ? gds_run_worker(&c) : gds_run_member(&c);
  ierr = gds_run_agree(comm, ierr);
  int stopped = c.stop;
  MPI_Allreduce(MPI_IN_PLACE, &stopped, 1, MPI_INT, MPI_MAX, comm);
  /* Completion is decided from the file itself: every done flag set. */
  if (!ierr) {
    MPI_Barrier(comm);
    int complete = 0;
    if (c.rank == 0) {
      unsigned char *dn = NULL;
      if (!GDS_ALLOC(dn, c.points_total) && !gds_io_read_done(c.io, dn)) {
        complete = 1;
        for (int64_t i = 0; i < c.points_total; i++) complete &= dn[i];
      }
      free(dn);
    }
    MPI_Bcast(&complete, 1, MPI_INT, 0, comm);
    if (complete) ierr = gds_io_mark_complete(c.io);
    else if (stopped) ierr = GDS_ERR_INTERRUPTED;
    else ierr = c.rank == 0 ? gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "sweep ended with points missing") : GDS_ERR_RUNTIME;
  }
close : {
  int cerr = gds_io_close(&c.io);
  if (!ierr) ierr = cerr;
}
  if (ierr == GDS_ERR_INTERRUPTED && c.rank == 0)
    fprintf(stderr, "gdsweep: interrupted; finished points are saved. Continue with: gdsweep run %s -o %s --resume\n",
            opt->sweep_path, opt->out_path);
out:
  if (c.rank == 0) gds_run_unlock(opt->out_path, lock_fd);
  gds_run_teardown(&c);
  if (c.leaders != MPI_COMM_NULL) MPI_Comm_free(&c.leaders);
  MPI_Comm_free(&c.group);
  return ierr;
}

/* ---------------------------------------------------------------------------------------
 * check and status */

int gds_check(const char *sweep_path, FILE *out) {
  gds_run_ctx c;
  gds_run_options opt = {0};
  memset(&c, 0, sizeof c);
  c.opt = &opt;
  int ierr = gds_run_load(&c, sweep_path);
  gds_run_estimate est = {0};
  if (!ierr) ierr = gds_run_estimate_sweep(c.sweep, &est);
  if (!ierr) {
    gds_sweep *s = c.sweep;
    char fp[65] = "";
    gds_sweep_fingerprint(s, fp);
    fprintf(out, "%s: sweep '%s' is valid\n", sweep_path, s->name);
    fprintf(out, "  prior      %s, %dx%d%s\n", c.prior->name, s->prior.H, s->prior.W,
            s->prior.periodic && !s->prior.white ? ", periodic component" : "");
    fprintf(out, "  diffusion  T = %d, beta %g .. %g, variance %s\n", s->T, s->beta_start, s->beta_end,
            gds_variance_name(s->variance));
    fprintf(out, "  grid       %d operator x %d sigma x %d alpha_dps x %d algorithm x %d seed = %lld points\n",
            s->n_op, s->n_sigma, s->n_alpha, s->n_alg, s->n_seed, (long long)est.npoints);
    for (int i = 0; i < s->n_op; i++) fprintf(out, "    operator[%d] %s\n", i, c.ops[i]->name);
    fprintf(out, "  output     %d samples x %d checkpoints per point, W2 at %d of %d times\n", s->samples,
            s->n_ckpt, s->n_w2t, s->T + 1);
    fprintf(out, "  work       %lld units, about %.3g core-seconds (%.3g core-hours)\n", (long long)est.nunits,
            est.core_seconds, est.core_seconds / 3600);
    fprintf(out, "  file size  about %.3g MB\n", est.bytes / 1e6);
    fprintf(out, "  fingerprint %s\n", fp);
  }
  gds_run_teardown(&c);
  return ierr;
}

int gds_status(const char *out_path, FILE *out) {
  gds_io *io = NULL;
  GDS_CALL(gds_io_open_readonly(out_path, &io));
  gds_io_info info;
  unsigned char *done = NULL;
  int ierr = gds_io_get_info(io, &info);
  if (!ierr) ierr = GDS_ALLOC(done, info.npoints);
  if (!ierr) ierr = gds_io_read_done(io, done);
  if (!ierr) {
    int64_t nd = 0;
    for (int64_t i = 0; i < info.npoints; i++) nd += done[i];
    fprintf(out, "%s: %lld/%lld points done, %lld missing%s\n", out_path, (long long)nd, (long long)info.npoints,
            (long long)(info.npoints - nd), info.complete ? " (complete)" : "");
    int64_t stride[GDS_IO_NAXES];
    stride[GDS_IO_NAXES - 1] = 1;
    for (int a = GDS_IO_NAXES - 2; a >= 0; a--) stride[a] = stride[a + 1] * info.n[a + 1];
    for (int a = 0; a < GDS_IO_NAXES; a++) {
      fprintf(out, "  %s:\n", gds_io_axis_name(a));
      for (int i = 0; i < info.n[a]; i++) {
        int64_t cnt = 0, tot = 0;
        for (int64_t p = 0; p < info.npoints; p++)
          if ((p / stride[a]) % info.n[a] == i) {
            tot++;
            cnt += done[p];
          }
        char label[256];
        if (gds_io_axis_label(io, a, i, label, sizeof label)) snprintf(label, sizeof label, "#%d", i);
        fprintf(out, "    %-40s %lld/%lld done\n", label, (long long)cnt, (long long)tot);
      }
    }
  }
  int complete = !ierr && info.complete;
  free(done);
  gds_io_close(&io);
  GDS_CALL(ierr);
  /* Like `run`: 0 when complete, 3 when points are missing (resumable). */
  return complete ? GDS_SUCCESS : GDS_ERR_INTERRUPTED;
}
