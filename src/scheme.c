/* Sampling schemes as step programs, and the plan of a sampler configuration
 * (docs/maths.md §3). Each scheme is one row of gds_schemes_ and one builder that writes the
 * program of a step from the formula of SPEC §7.1 / §7.3, term by term. */
#include "gdsweep/scheme.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/operator.h"
#include "gdsweep/schedule.h"

/* What a discrete step t → s (s < t, τ_k → τ_{k−1}) needs: ᾱ at both ends and the respaced
 * DDPM quantities α' = ᾱ_t/ᾱ_s, β' = 1 − α', 1/√α', σ'² (0 on the last step, s = 0). */
typedef struct gds_discrete_step {
  double abar_t, abar_s, alpha, beta, isa, sigma2;
} gds_discrete_step;

typedef void (*gds_discrete_fn)(const gds_discrete_step *in, const gds_scheme_spec *spec, gds_step *st);

/* What a VP SDE step u_k → u_{k+1} = u_k − Δt needs (SPEC §7.3): the schedule (β(u), B(u),
 * ᾱ(u)) and the two ends. */
typedef struct gds_vp_step {
  const gds_schedule *sc;
  double u, un, dt;
} gds_vp_step;

typedef int (*gds_vp_fn)(const gds_vp_step *in, gds_step *st);

typedef struct gds_scheme_desc {
  const char *name;
  unsigned processes; /* bit p set: valid for gds_process p */
  int has_eta;
  gds_discrete_fn discrete;
  gds_vp_fn vp;
} gds_scheme_desc;

/* One score stage at ᾱ on the state itself: x_1 = y. */
static void gds_step_single(gds_step *st, double abar) {
  memset(st, 0, sizeof *st);
  st->kind = GDS_STEP_SCORE;
  st->nstage = 1;
  st->stage[0].abar = abar;
  st->stage[0].a_y = 1.0;
}

/* Respaced DDPM (SPEC §7.1): y_s = (y_t + β' s̃(y_t))/√α' + σ' z. */
static void gds_scheme_ddpm_discrete(const gds_discrete_step *in, const gds_scheme_spec *spec, gds_step *st) {
  (void)spec;
  gds_step_single(st, in->abar_t);
  st->scale = in->isa;
  st->b_y = 1.0;
  st->b[0] = in->beta;
  st->noise = in->sigma2;
}

/* DDIM(η) with the guided score (SPEC §7.1):
 *   x̂0 = (y + (1 − ᾱ_t) s̃)/√ᾱ_t, ε̂ = −√(1 − ᾱ_t) s̃,
 *   c = η √((1 − ᾱ_s)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_s),
 *   y_s = √ᾱ_s x̂0 + √(1 − ᾱ_s − c²) ε̂ + c z
 * collected on y and s̃. At s = 0 (ᾱ_s = 1) c = 0 and y_s = x̂0. */
static void gds_scheme_ddim_discrete(const gds_discrete_step *in, const gds_scheme_spec *spec, gds_step *st) {
  double at = in->abar_t, as = in->abar_s, eta = spec->eta;
  double c2 = eta * eta * (1 - as) / (1 - at) * (1 - at / as);
  double se = sqrt(fmax(0.0, 1 - as - c2)), sat = sqrt(at), sas = sqrt(as);
  gds_step_single(st, at);
  st->scale = 1.0;
  st->b_y = sas / sat;                                 /* √ᾱ_s · y/√ᾱ_t */
  st->b[0] = sas * (1 - at) / sat - se * sqrt(1 - at); /* √ᾱ_s (1 − ᾱ_t)/√ᾱ_t − √(1−ᾱ_s−c²) √(1−ᾱ_t) */
  st->noise = c2;
}

/* ---- VP SDE schemes (SPEC §7.3; docs/maths.md §3.3) ---------------------------------
 * Written on linear combinations of the state y and the stage scores k_j (gds_lc), so that
 * each scheme reads like its formula: D(y, u) = ½β(u) y + β(u) s̃(y, u) (SDE drift),
 * F(y, u) = ½β(u) (y + s̃(y, u)) (probability-flow ODE). */
typedef struct gds_lc {
  double c[1 + GDS_STAGE_MAX]; /* c[0]·y + Σ_j c[1 + j]·k_j */
} gds_lc;

static gds_lc gds_lc_y(void) { return (gds_lc){{1.0}}; }
static gds_lc gds_lc_axpy(gds_lc x, double a, gds_lc y) { /* x + a·y */
  for (int i = 0; i <= GDS_STAGE_MAX; i++) x.c[i] += a * y.c[i];
  return x;
}
static gds_lc gds_lc_scale(double a, gds_lc x) {
  for (int i = 0; i <= GDS_STAGE_MAX; i++) x.c[i] *= a;
  return x;
}

/* A new stage k = s̃(x, ᾱ(u)); returns k as a combination. */
static gds_lc gds_lc_score(gds_step *st, gds_lc x, const gds_vp_step *in, double u) {
  int j = st->nstage++;
  st->stage[j].abar = gds_schedule_vp_abar(in->sc, u);
  st->stage[j].a_y = x.c[0];
  for (int l = 0; l < j; l++) st->stage[j].a[l] = x.c[1 + l];
  gds_lc k = {{0}};
  k.c[1 + j] = 1.0;
  return k;
}

/* F(x, u) = ½β(u) (x + s̃(x, u)), one new stage. */
static gds_lc gds_lc_flow(gds_step *st, gds_lc x, const gds_vp_step *in, double u) {
  return gds_lc_scale(0.5 * gds_schedule_vp_beta(in->sc, u), gds_lc_axpy(x, 1.0, gds_lc_score(st, x, in, u)));
}

static void gds_lc_output(gds_step *st, gds_lc out, double noise) {
  st->kind = GDS_STEP_SCORE;
  st->scale = 1.0;
  st->b_y = out.c[0];
  for (int j = 0; j < st->nstage; j++) st->b[j] = out.c[1 + j];
  st->noise = noise;
}

/* em: y + Δt D(y, u_k) + √(Δt β(u_k)) z */
static int gds_scheme_em_vp(const gds_vp_step *in, gds_step *st) {
  double b = gds_schedule_vp_beta(in->sc, in->u);
  gds_lc y = gds_lc_y(), k = gds_lc_score(st, y, in, in->u);
  gds_lc_output(st, gds_lc_axpy(gds_lc_axpy(y, 0.5 * in->dt * b, y), in->dt * b, k), in->dt * b);
  return GDS_SUCCESS;
}

/* ei: with δ = ½(B(u_k) − B(u_{k+1})): e^δ y + 2(e^δ − 1) s̃(y, u_k) + √(e^{2δ} − 1) z */
static int gds_scheme_ei_vp(const gds_vp_step *in, gds_step *st) {
  double dl = 0.5 * (gds_schedule_vp_B(in->sc, in->u) - gds_schedule_vp_B(in->sc, in->un));
  gds_lc y = gds_lc_y(), k = gds_lc_score(st, y, in, in->u);
  gds_lc_output(st, gds_lc_axpy(gds_lc_scale(exp(dl), y), 2 * expm1(dl), k), expm1(2 * dl));
  return GDS_SUCCESS;
}

/* ddpm: with b = Δt β(u_k): (y + b s̃(y, u_k))/√(1 − b) + √b z; undefined for b ≥ 1. */
static int gds_scheme_ddpm_vp(const gds_vp_step *in, gds_step *st) {
  double b = in->dt * gds_schedule_vp_beta(in->sc, in->u);
  gds_lc y = gds_lc_y(), k = gds_lc_score(st, y, in, in->u);
  gds_lc_output(st, gds_lc_axpy(y, b, k), b);
  st->scale = b < 1 ? 1.0 / sqrt(1 - b) : 1.0;
  st->undefined = !(b < 1);
  return GDS_SUCCESS;
}

/* euler: y + Δt F(y, u_k) */
static int gds_scheme_euler_vp(const gds_vp_step *in, gds_step *st) {
  gds_lc y = gds_lc_y();
  gds_lc_output(st, gds_lc_axpy(y, in->dt, gds_lc_flow(st, y, in, in->u)), 0.0);
  return GDS_SUCCESS;
}

/* heun: ỹ = y + Δt F(y, u_k); y + (Δt/2)[F(y, u_k) + F(ỹ, u_{k+1})] */
static int gds_scheme_heun_vp(const gds_vp_step *in, gds_step *st) {
  gds_lc y = gds_lc_y(), f1 = gds_lc_flow(st, y, in, in->u), yt = gds_lc_axpy(y, in->dt, f1);
  gds_lc f2 = gds_lc_flow(st, yt, in, in->un);
  gds_lc_output(st, gds_lc_axpy(y, 0.5 * in->dt, gds_lc_axpy(f1, 1.0, f2)), 0.0);
  return GDS_SUCCESS;
}

/* rk4: k1 = F(y, u_k), k2 = F(y + (Δt/2)k1, u_k − Δt/2), k3 = F(y + (Δt/2)k2, u_k − Δt/2),
 * k4 = F(y + Δt k3, u_{k+1}); y + (Δt/6)(k1 + 2k2 + 2k3 + k4) */
static int gds_scheme_rk4_vp(const gds_vp_step *in, gds_step *st) {
  double h = in->dt, um = in->u - 0.5 * h;
  gds_lc y = gds_lc_y(), k1 = gds_lc_flow(st, y, in, in->u);
  gds_lc k2 = gds_lc_flow(st, gds_lc_axpy(y, 0.5 * h, k1), in, um);
  gds_lc k3 = gds_lc_flow(st, gds_lc_axpy(y, 0.5 * h, k2), in, um);
  gds_lc k4 = gds_lc_flow(st, gds_lc_axpy(y, h, k3), in, in->un);
  gds_lc sum = gds_lc_axpy(gds_lc_axpy(gds_lc_axpy(k1, 2.0, k2), 2.0, k3), 1.0, k4);
  gds_lc_output(st, gds_lc_axpy(y, h / 6, sum), 0.0);
  return GDS_SUCCESS;
}

enum { GDS_P_DDPM = 1u << GDS_PROCESS_DDPM, GDS_P_VP = 1u << GDS_PROCESS_VP_SDE };

static const gds_scheme_desc gds_schemes_[GDS_SCHEME_COUNT] = {
    [GDS_SCHEME_DDPM] = {"ddpm", GDS_P_DDPM | GDS_P_VP, 0, gds_scheme_ddpm_discrete, gds_scheme_ddpm_vp},
    [GDS_SCHEME_DDIM] = {"ddim", GDS_P_DDPM, 1, gds_scheme_ddim_discrete, NULL},
    [GDS_SCHEME_EM] = {"em", GDS_P_VP, 0, NULL, gds_scheme_em_vp},
    [GDS_SCHEME_EI] = {"ei", GDS_P_VP, 0, NULL, gds_scheme_ei_vp},
    [GDS_SCHEME_EULER] = {"euler", GDS_P_VP, 0, NULL, gds_scheme_euler_vp},
    [GDS_SCHEME_HEUN] = {"heun", GDS_P_VP, 0, NULL, gds_scheme_heun_vp},
    [GDS_SCHEME_RK4] = {"rk4", GDS_P_VP, 0, NULL, gds_scheme_rk4_vp},
};

static const char *const gds_process_names_[GDS_PROCESS_COUNT + 1] = {"ddpm", "vp_sde", NULL};
static const char *const gds_scheme_names_[GDS_SCHEME_COUNT + 1] = {"ddpm", "ddim", "em", "ei",
                                                                   "euler", "heun", "rk4", NULL};
static const char *const gds_init_names_[GDS_INIT_COUNT + 1] = {"normal", "exact", NULL};

const char *const *gds_scheme_names(void) { return gds_scheme_names_; }
const char *const *gds_init_names(void) { return gds_init_names_; }
const char *const *gds_process_names(void) { return gds_process_names_; }

const char *gds_process_name(gds_process p) {
  return (p >= 0 && p < GDS_PROCESS_COUNT) ? gds_process_names_[p] : "?";
}
const char *gds_scheme_name(gds_scheme s) { return (s >= 0 && s < GDS_SCHEME_COUNT) ? gds_schemes_[s].name : "?"; }
const char *gds_init_name(gds_init i) { return (i >= 0 && i < GDS_INIT_COUNT) ? gds_init_names_[i] : "?"; }

int gds_scheme_has_eta(gds_scheme s) { return s >= 0 && s < GDS_SCHEME_COUNT && gds_schemes_[s].has_eta; }

void gds_scheme_spec_name(const gds_scheme_spec *s, char *buf, size_t len) {
  if (gds_scheme_has_eta(s->kind)) {
    char e[32];
    gds_format_double(s->eta, e, sizeof e);
    snprintf(buf, len, "%s(eta=%s)", gds_scheme_name(s->kind), e);
  } else snprintf(buf, len, "%s", gds_scheme_name(s->kind));
}

int gds_scheme_spec_same(const gds_scheme_spec *a, const gds_scheme_spec *b) {
  return a->kind == b->kind && (!gds_scheme_has_eta(a->kind) || a->eta == b->eta);
}

int gds_scheme_valid_for(gds_scheme s, gds_process p) {
  return s >= 0 && s < GDS_SCHEME_COUNT && p >= 0 && p < GDS_PROCESS_COUNT && (gds_schemes_[s].processes >> p & 1u);
}

gds_sampler_config gds_sampler_config_default(gds_algorithm_spec alg, double alpha_dps, int T) {
  gds_sampler_config c = {.alg = alg, .alpha_dps = alpha_dps, .scheme = {GDS_SCHEME_DDPM, 0}, .steps = T,
                          .eps = 0, .init = GDS_INIT_NORMAL};
  return c;
}

/* ---- interpreter ---- */

int gds_step_apply(const gds_step *st, size_t n, const double *y, double *out, double *work, gds_score_fn score,
                   void *ctx) {
  if (st->kind != GDS_STEP_SCORE || st->nstage < 1 || st->nstage > GDS_STAGE_MAX)
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_step_apply: not a score program");
  double *x = work, *k[GDS_STAGE_MAX];
  for (int j = 0; j < st->nstage; j++) k[j] = work + (size_t)(j + 1) * n;
  for (int j = 0; j < st->nstage; j++) {
    const gds_stage *sg = &st->stage[j];
    int plain = sg->a_y == 1.0;
    for (int l = 0; l < j; l++) plain &= sg->a[l] == 0.0;
    if (plain) { /* x_j = y: no copy */
      GDS_CALL(score(ctx, j, y, k[j]));
      continue;
    }
    for (size_t i = 0; i < n; i++) x[i] = sg->a_y * y[i];
    for (int l = 0; l < j; l++)
      if (sg->a[l] != 0.0)
        for (size_t i = 0; i < n; i++) x[i] += sg->a[l] * k[l][i];
    GDS_CALL(score(ctx, j, x, k[j]));
  }
  for (size_t i = 0; i < n; i++) {
    double acc = st->b_y * y[i];
    for (int j = 0; j < st->nstage; j++) acc += st->b[j] * k[j][i];
    out[i] = st->scale * acc;
  }
  return GDS_SUCCESS;
}

/* δ = a − b, or exactly 0 when it is below the rounding of a and b. */
static double gds_offset(double a, double b) {
  double d = a - b;
  return fabs(d) <= 4 * 0x1p-52 * fmax(fabs(a), fabs(b)) ? 0.0 : d;
}

void gds_step_path_offsets(const gds_step *st, double *delta, double *delta_out) {
  double sa = sqrt(st->abar_from);
  for (int j = 0; j < st->nstage; j++) delta[j] = gds_offset(st->stage[j].a_y * sa, sqrt(st->stage[j].abar));
  *delta_out = gds_offset(st->scale * st->b_y * sa, sqrt(st->abar_to));
}

/* ---- plans ---- */

void gds_plan_destroy(gds_plan **p) {
  if (!p || !*p) return;
  free((*p)->point);
  free((*p)->abar);
  free((*p)->time);
  free((*p)->step);
  free(*p);
  *p = NULL;
}

int gds_plan_find(const gds_plan *p, int index) {
  for (int j = 0; j <= p->nsteps; j++)
    if (p->point[j] == index) return j;
  return -1;
}

static int gds_plan_alloc(int nsteps, int ncurve, gds_plan **out) {
  gds_plan *p;
  GDS_CALL(GDS_ALLOC(p, 1));
  p->nsteps = nsteps;
  p->ncurve = ncurve;
  int e1 = GDS_ALLOC(p->point, nsteps + 1), e2 = GDS_ALLOC(p->abar, nsteps + 1);
  int e3 = GDS_ALLOC(p->time, nsteps + 1), e4 = GDS_ALLOC(p->step, nsteps > 0 ? nsteps : 1);
  if (e1 || e2 || e3 || e4) {
    gds_plan_destroy(&p);
    GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (plan of %d steps)", nsteps);
  }
  *out = p;
  return GDS_SUCCESS;
}

/* The respaced DDPM quantities of step t → s. Consecutive times use the schedule's own β_t,
 * α_t, σ_t² so that S = T reproduces SPEC §1 bit for bit; otherwise
 * β' = 1 − ∏_{s<j≤t} α_j = −expm1(Σ log1p(−β_j)) (no cancellation when β' is small). */
static gds_discrete_step gds_discrete_at(const gds_schedule *sc, int t, int s) {
  gds_discrete_step in = {.abar_t = sc->alpha_bar[t], .abar_s = sc->alpha_bar[s]};
  if (s == t - 1) {
    in.alpha = sc->alpha[t];
    in.beta = sc->beta[t];
    in.isa = 1.0 / sqrt(sc->alpha[t]);
    in.sigma2 = sc->sigma2[t];
    return in;
  }
  double lg = 0;
  for (int j = s + 1; j <= t; j++) lg += log1p(-sc->beta[j]);
  in.beta = -expm1(lg);
  in.alpha = exp(lg);
  in.isa = 1.0 / sqrt(in.alpha);
  in.sigma2 = s == 0 ? 0.0
              : sc->variance == GDS_VARIANCE_BETA ? in.beta
                                                  : in.beta * (1.0 - in.abar_s) / (1.0 - in.abar_t);
  return in;
}

static int gds_plan_discrete(const gds_schedule *sc, const gds_sampler_config *cfg, gds_plan **out) {
  const int T = sc->T, S = cfg->steps <= 0 ? T : cfg->steps;
  const gds_algorithm_info *alg = gds_algorithm_get(cfg->alg.kind);
  if (S < 1 || S > T) GDS_ERROR(GDS_ERR_INPUT, "sampler_steps must lie in 1..%d (diffusion.steps), got %d", T, S);
  const gds_scheme_desc *sd = NULL;
  if (alg->uses_scheme) {
    gds_scheme k = cfg->scheme.kind;
    if (!gds_scheme_valid_for(k, GDS_PROCESS_DDPM))
      GDS_ERROR(GDS_ERR_INPUT, "scheme %s does not exist for the discrete ddpm process (valid: ddpm, ddim)",
                gds_scheme_name(k));
    if (gds_scheme_has_eta(k) && !(cfg->scheme.eta >= 0 && cfg->scheme.eta <= 1))
      GDS_ERROR(GDS_ERR_INPUT, "scheme %s: eta must lie in [0, 1], got %g", gds_scheme_name(k), cfg->scheme.eta);
    sd = &gds_schemes_[k];
  }
  gds_plan *p = NULL;
  GDS_CALL(gds_plan_alloc(S, T + 1, &p));
  /* τ_0 = 0, τ_k = 1 + (k − 1)·skip; point j is τ_{S−j} */
  const int skip = T / S;
  for (int j = 0; j <= S; j++) {
    int k = S - j, tau = k == 0 ? 0 : 1 + (k - 1) * skip;
    p->point[j] = tau;
    p->time[j] = tau;
    p->abar[j] = sc->alpha_bar[tau];
  }
  for (int j = 0; j < S; j++) {
    int t = p->point[j], s = p->point[j + 1];
    gds_step *st = &p->step[j];
    if (alg->family == GDS_FAMILY_DDRM) {
      memset(st, 0, sizeof *st);
      st->kind = GDS_STEP_DDRM;
      st->abar_t = sc->alpha_bar[t];
      st->abar_s = sc->alpha_bar[s];
    } else {
      gds_discrete_step in = gds_discrete_at(sc, t, s);
      sd->discrete(&in, &cfg->scheme, st);
    }
    st->abar_from = p->abar[j];
    st->abar_to = p->abar[j + 1];
  }
  if (cfg->init == GDS_INIT_EXACT) p->start = GDS_START_EXACT;
  else if (alg->family == GDS_FAMILY_DDRM) {
    p->start = GDS_START_DDRM;
    p->start_vs = gds_ddrm_vs(p->abar[0]);
  } else p->start = GDS_START_NORMAL;
  *out = p;
  return GDS_SUCCESS;
}

/* VP SDE (SPEC §7.3): K = steps, Δt = (1 − ε)/K, u_k = 1 − kΔt (u_K = ε exactly); point k is
 * u_k with curve index k. */
static int gds_plan_vp_sde(const gds_schedule *sc, const gds_sampler_config *cfg, gds_plan **out) {
  const gds_algorithm_info *alg = gds_algorithm_get(cfg->alg.kind);
  const int K = cfg->steps;
  const double eps = cfg->eps;
  if (alg->family != GDS_FAMILY_SCORE)
    GDS_ERROR(GDS_ERR_INPUT, "algorithm %s exists for the discrete ddpm process only, not for vp_sde", alg->name);
  if (K < 1) GDS_ERROR(GDS_ERR_INPUT, "vp_sde: sampler_steps must be >= 1, got %d", K);
  if (!(eps >= 0 && eps < 1)) GDS_ERROR(GDS_ERR_INPUT, "vp_sde: eps must lie in [0, 1), got %g", eps);
  if (!gds_scheme_valid_for(cfg->scheme.kind, GDS_PROCESS_VP_SDE))
    GDS_ERROR(GDS_ERR_INPUT, "scheme %s does not exist for vp_sde (valid: em, ei, ddpm, euler, heun, rk4)",
              gds_scheme_name(cfg->scheme.kind));
  gds_plan *p = NULL;
  GDS_CALL(gds_plan_alloc(K, K + 1, &p));
  const double dt = (1 - eps) / K;
  for (int k = 0; k <= K; k++) {
    p->point[k] = k;
    p->time[k] = k == K ? eps : 1 - k * dt;
    p->abar[k] = gds_schedule_vp_abar(sc, p->time[k]);
  }
  for (int k = 0; k < K; k++) {
    gds_vp_step in = {sc, p->time[k], p->time[k + 1], dt};
    gds_step *st = &p->step[k];
    memset(st, 0, sizeof *st);
    int ierr = gds_schemes_[cfg->scheme.kind].vp(&in, st);
    if (ierr) {
      gds_plan_destroy(&p);
      GDS_CALL(ierr);
    }
    st->abar_from = p->abar[k];
    st->abar_to = p->abar[k + 1];
  }
  p->start = cfg->init == GDS_INIT_EXACT ? GDS_START_EXACT : GDS_START_NORMAL;
  *out = p;
  return GDS_SUCCESS;
}

int gds_plan_create(const gds_schedule *sched, const gds_sampler_config *cfg, gds_plan **out) {
  *out = NULL;
  GDS_CALL(gds_algorithm_spec_check(&cfg->alg, cfg->alpha_dps));
  if (cfg->init < 0 || cfg->init >= GDS_INIT_COUNT) GDS_ERROR(GDS_ERR_INPUT, "invalid init index %d", (int)cfg->init);
  if (cfg->scheme.kind < 0 || cfg->scheme.kind >= GDS_SCHEME_COUNT)
    GDS_ERROR(GDS_ERR_INPUT, "invalid scheme index %d", (int)cfg->scheme.kind);
  if (sched->process == GDS_PROCESS_VP_SDE) GDS_CALL(gds_plan_vp_sde(sched, cfg, out));
  else GDS_CALL(gds_plan_discrete(sched, cfg, out));
  return GDS_SUCCESS;
}

int gds_plan_curve_length(const gds_schedule *sched, const gds_sampler_config *cfg) {
  return sched->process == GDS_PROCESS_VP_SDE ? (cfg->steps > 0 ? cfg->steps : 0) + 1 : sched->T + 1;
}
