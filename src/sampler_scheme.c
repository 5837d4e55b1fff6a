/* The samplers, each written once (SPEC §1 "Sampler", §7.1 respacing, DDPM and DDIM, §7.2
 * DDRM, §7.3 the VP SDE schemes, §7.4 initialisation; docs/sampler.md) on the state space and
 * algebra of sampler_impl.h: the guided score s̃ (the prior's multipliers by the state space,
 * the operator's part by the backend's gls), Tweedie's x̂0, ε̂ and the update y_s = … exactly
 * as the SPEC writes them, for every space (Fourier half spectrum, eigen coordinates).
 * Nothing here uses the exact law's P_t / b_t, so Monte Carlo moments of these trajectories
 * test the law backends.
 *
 * Noise keys (SPEC §3): stream (seed, sample); the noise of the step that starts at training
 * time t is block t, the start y_{τ_S} is block 0 (for every init), so trajectories of every
 * operator, σ, α_dps, algorithm, scheme and init share their noise where the steps coincide.
 * An exact start also draws the prior sample of its posterior draw from block
 * GDS_BLOCK_START_PRIOR and the measurement noise of that draw from GDS_BLOCK_START_MEAS. */
#include <math.h>
#include <string.h>

#include "gdsweep/error.h"
#include "sampler_scheme.h"
#include "simd.h"

/* C of the algorithm at level ᾱ (its one description: the algorithm table, algorithm.h) as an
 * M of the gls algebra, Σ Σ_ᾱ⁻¹ = Σ (ᾱ Σ + (1 − ᾱ) I)⁻¹; 0 when it does not guide (none). */
static int gds_sampler_guidance(gds_algorithm a, double ab, double s2, double alpha_dps, gds_gls *M) {
  const gds_algorithm_info *in = gds_algorithm_get(a);
  if (!in || in->family != GDS_FAMILY_SCORE || !in->guidance) return 0;
  gds_guidance g = in->guidance(ab, s2, alpha_dps);
  if (g.on == 0) return 0;
  *M = (gds_gls){.c0 = g.c0, .c1 = g.c1, .c2 = g.c2, .dp = ab, .dq = 1 - ab};
  return 1;
}

/* At level ᾱ = ab on the trajectory's range: x0 = x̂0(y) = μ + J (y − √ᾱ μ) and, when sc is
 * not NULL, sc = s̃(y) = −Σ_ᾱ⁻¹ (y − √ᾱ μ) + J Aᵀ C⁻¹ (v − A x̂0) (SPEC §1 "Score and
 * Tweedie", "Algorithms"), J = √ᾱ Σ Σ_ᾱ⁻¹, with the algorithm's C (none: no guidance). */
static int gds_score(gds_traj *tr, double ab, const double *y, double *x0, double *sc) {
  gds_sampler *s = tr->s;
  if (ab >= 1 && s->singular) { /* Σ_ᾱ = Σ is singular: no finite score (SPEC §7.3) */
    tr->novalue = 1;
    return GDS_SUCCESS;
  }
  for (int fb = tr->f0; fb < tr->f1; fb += s->B) { /* the prior's part: per component (the space) */
    const size_t o = (size_t)s->nr * (size_t)(fb - tr->f0);
    s->space->tweedie(s, gds_block_len(s, fb), fb, ab, y + o, tr->w[GDS_W_J] + (fb - tr->f0), x0 + o,
                      sc ? sc + o : NULL);
  }
  gds_gls M;
  if (!sc || !gds_sampler_guidance(tr->cfg->alg.kind, ab, s->sigma * s->sigma, tr->cfg->alpha_dps, &M)) return GDS_SUCCESS;
  GDS_CALL(s->backend->gls(s, &M, x0, NULL, tr->w[GDS_W_J], sc, tr->f0, tr->f1)); /* sc += J Aᵀ C⁻¹ (v − A x̂0) */
  return GDS_SUCCESS;
}

static void gds_noise(gds_traj *tr, uint64_t block, double *z) {
  gds_sampler_noise(tr->s, tr->key, block, tr->f0, tr->f1, z);
}

/* ---- plans ------------------------------------------------------------------------------ */

/* VP SDE (SPEC §7.3): β(u) = β_min + u (β_max − β_min), B(u) = ∫₀ᵘ β, ᾱ(u) = e^{−B(u)}. */
static double gds_vp_beta(const gds_sampler *s, double u) { return s->beta_min + u * (s->beta_max - s->beta_min); }
static double gds_vp_B(const gds_sampler *s, double u) { return s->beta_min * u + 0.5 * (s->beta_max - s->beta_min) * u * u; }
static double gds_vp_abar(const gds_sampler *s, double u) { return exp(-gds_vp_B(s, u)); }

int gds_scheme_npoints(const gds_sampler *s, const gds_sampler_config *cfg) {
  if (s->process == GDS_PROCESS_VP_SDE) return cfg->steps + 1;
  return (cfg->steps <= 0 ? s->sched->T : cfg->steps) + 1;
}

int gds_scheme_plan(const gds_sampler *s, const gds_sampler_config *cfg, gds_sampler_plan *p) {
  if (s->process == GDS_PROCESS_VP_SDE) {
    /* SPEC §7.3: Δt = (1 − ε)/K, u_k = 1 − k Δt, k = 0..K; curve index k */
    const int K = cfg->steps;
    const double dt = (1 - cfg->eps) / K;
    p->n = K;
    for (int k = 0; k <= K; k++) {
      p->t[k] = k;
      p->u[k] = k == K ? cfg->eps : 1 - k * dt;
      p->ab[k] = gds_vp_abar(s, p->u[k]);
    }
    return GDS_SUCCESS;
  }
  const int T = s->sched->T;
  int S = cfg->steps <= 0 ? T : cfg->steps;
  if (S > T) GDS_ERROR(GDS_ERR_INPUT, "sampler_steps %d outside 1..%d (T)", S, T);
  /* SPEC §7.1: skip = ⌊T/S⌋, τ_k = 1 + (k − 1) skip, τ_0 = 0; sampling order τ_S .. τ_0. */
  int skip = T / S;
  p->n = S;
  for (int k = 0; k <= S; k++) {
    int kk = S - k; /* τ index */
    p->t[k] = kk == 0 ? 0 : 1 + (kk - 1) * skip;
    p->ab[k] = s->sched->alpha_bar[p->t[k]];
    p->u[k] = 0;
  }
  return GDS_SUCCESS;
}

/* ---- starts (SPEC §1, §7.2, §7.4) -------------------------------------------------------- */

/* y ~ the reference law at ᾱ = ab: √ᾱ x + √(1 − ᾱ) w0 with x a prior draw μ + Σ^½ w1 (`none`)
 * or a posterior draw x + Σ Aᵀ (A Σ Aᵀ + σ² I)⁻¹ (v − σ n − A x) of it (Matheron's rule:
 * exact for a Gaussian prior). Full range. */
static int gds_start_exact(gds_traj *tr, double ab, double *y) {
  gds_sampler *s = tr->s;
  const int nf = s->nf, m = s->op->m, nr = s->nr;
  double *x = tr->w[GDS_W_X0], *w = tr->w[GDS_W_Z], *g = tr->w[GDS_W_G];
  gds_noise(tr, GDS_BLOCK_START_PRIOR, w);
  for (int fb = 0; fb < nf; fb += s->B) /* x = μ + Σ^½ w1 */
    s->space->prior_draw(s, gds_block_len(s, fb), fb, w + nr * (size_t)fb, x + nr * (size_t)fb);
  if (tr->cfg->alg.kind != GDS_ALG_NONE) {
    double *shift = tr->meas;
    gds_rng_normal(tr->key, GDS_BLOCK_START_MEAS, (size_t)m, shift);
    for (int i = 0; i < m; i++) shift[i] *= -s->sigma;
    gds_gls M = {.c0 = s->sigma * s->sigma, .c2 = 1, .dp = 0, .dq = 1};
    GDS_CALL(s->backend->gls(s, &M, x, shift, NULL, g, 0, nf));
    for (int fb = 0; fb < nf; fb += s->B) { /* + Σ Aᵀ (A Σ Aᵀ + σ² I)⁻¹ (v − σ n − A x) */
      const int n = gds_block_len(s, fb);
      double *xr = x + nr * (size_t)fb;
      const double *gr = g + nr * (size_t)fb;
      for (int c = 0; c < nr; c++) /* re, then im (Fourier) */
        for (int j = 0; j < n; j++) xr[c * n + j] += s->lam[fb + j] * gr[c * n + j];
    }
  }
  gds_noise(tr, 0, w);
  double a = sqrt(ab), b = sqrt(1 - ab);
  for (int i = 0; i < nr * nf; i++) y[i] = a * x[i] + b * w[i];
  return GDS_SUCCESS;
}

int gds_scheme_start(gds_traj *tr, const gds_sampler_plan *p) {
  gds_sampler *s = tr->s;
  const gds_sampler_config *cfg = tr->cfg;
  double ab = p->ab[0];
  double *y = tr->y, *z = tr->w[GDS_W_Z];
  if (cfg->init == GDS_INIT_EXACT) return gds_start_exact(tr, ab, y);
  gds_noise(tr, 0, z);
  if (cfg->alg.kind == GDS_ALG_DDRM) {
    /* SPEC §7.2: x̄ from ȳ and w̄ per singular value at ς = ς_{τ_S}, y = V x̄ / ς (the 1/ς is
     * in the start coefficients) */
    gds_ddrm_rule rule = {.vs = gds_ddrm_vs(ab), .sigma = s->sigma, .alg = cfg->alg, .init = 1};
    double *zero = tr->w[GDS_W_E];
    memset(zero, 0, sizeof(double) * (size_t)s->nr * (size_t)(tr->f1 - tr->f0));
    GDS_CALL(s->backend->ddrm(s, &rule, zero, zero, z, y, tr->f0, tr->f1));
    return GDS_SUCCESS;
  }
  memcpy(y, z, sizeof(double) * (size_t)s->nr * (size_t)(tr->f1 - tr->f0)); /* y ~ N(0, I) */
  return GDS_SUCCESS;
}

/* ---- steps (SPEC §1, §7.1, §7.2) ------------------------------------------------------- */

/* y = (y + b s̃)·isa + sd z (z may be NULL: no noise). */
GDS_SIMD_CLONES static void gds_ddpm_kernel(int n, double b, double isa, double sd, const double *restrict st,
                                            const double *restrict z, double *restrict y) {
  if (z)
    for (int i = 0; i < n; i++) y[i] = (y[i] + b * st[i]) * isa + sd * z[i];
  else
    for (int i = 0; i < n; i++) y[i] = (y[i] + b * st[i]) * isa;
}

/* x̂0 = (y + (1 − ᾱ_t) s̃)/√ᾱ_t, ε̂ = −√(1 − ᾱ_t) s̃, y = √ᾱ_s x̂0 + ke ε̂ + c z. */
GDS_SIMD_CLONES static void gds_ddim_kernel(int n, double ab, double sabs, double ke, double c, const double *restrict st,
                                            const double *restrict z, double *restrict y) {
  const double sab = sqrt(ab), se = sqrt(1 - ab);
  for (int i = 0; i < n; i++) {
    double xh = (y[i] + (1 - ab) * st[i]) / sab, eh = -se * st[i];
    y[i] = sabs * xh + ke * eh + (z ? c * z[i] : 0.0);
  }
}

/* Respaced DDPM, t → s: y_s = (y_t + β' s̃_t(y_t))/√α' + σ' z, α' = ᾱ_t/ᾱ_s, β' = 1 − α',
 * σ'² = β' (variance beta) or β'(1 − ᾱ_s)/(1 − ᾱ_t) (beta_tilde), σ' = 0 on the last step.
 * With s = t − 1 these are the schedule's own α_t, β_t, σ_t² (§1) to the last bit. */
static int gds_step_ddpm(gds_traj *tr, int t, int s_) {
  const gds_schedule *sc = tr->s->sched;
  const int n2 = tr->s->nr * (tr->f1 - tr->f0);
  double *y = tr->y, *x0 = tr->w[GDS_W_X0], *st = tr->w[GDS_W_SC], *z = tr->w[GDS_W_Z];
  double ab = sc->alpha_bar[t], abs_ = sc->alpha_bar[s_];
  double a1 = s_ == t - 1 ? sc->alpha[t] : ab / abs_, b1 = s_ == t - 1 ? sc->beta[t] : 1 - a1;
  double var = s_ == t - 1 ? sc->sigma2[t]
                           : (s_ == 0 ? 0 : sc->variance == GDS_VARIANCE_BETA ? b1 : b1 * (1 - abs_) / (1 - ab));
  GDS_CALL(gds_score(tr, ab, y, x0, st));
  double sd = sqrt(var);
  if (sd > 0) gds_noise(tr, (uint64_t)t, z);
  gds_ddpm_kernel(n2, b1, 1 / sqrt(a1), sd, st, sd > 0 ? z : NULL, y);
  return GDS_SUCCESS;
}

/* DDIM(η), t → s (Song et al. 2021) with the guided score: x̂0 = (y + (1 − ᾱ_t) s̃)/√ᾱ_t,
 * ε̂ = −√(1 − ᾱ_t) s̃, c = η √((1 − ᾱ_s)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_s),
 * y_s = √ᾱ_s x̂0 + √(1 − ᾱ_s − c²) ε̂ + c z (s = 0: x̂0). η = 0 draws no noise. */
static int gds_step_ddim(gds_traj *tr, int t, int s_) {
  const gds_schedule *sc = tr->s->sched;
  const int n2 = tr->s->nr * (tr->f1 - tr->f0);
  double *y = tr->y, *x0 = tr->w[GDS_W_X0], *st = tr->w[GDS_W_SC], *z = tr->w[GDS_W_Z];
  double ab = sc->alpha_bar[t], abs_ = sc->alpha_bar[s_], eta = tr->cfg->scheme.eta;
  double c = eta * sqrt((1 - abs_) / (1 - ab)) * sqrt(1 - ab / abs_);
  double ke = sqrt(fmax(0.0, 1 - abs_ - c * c));
  GDS_CALL(gds_score(tr, ab, y, x0, st));
  if (c > 0) gds_noise(tr, (uint64_t)t, z);
  gds_ddim_kernel(n2, ab, sqrt(abs_), ke, c, st, c > 0 ? z : NULL, y);
  return GDS_SUCCESS;
}

/* DDRM(η, η_b), t → s (Kawar et al. 2022; SPEC §7.2): unguided x̂0, ε̂ = (y − √ᾱ_t x̂0)/√(1 − ᾱ_t),
 * the per-singular-value update at ς_s = √((1 − ᾱ_s)/ᾱ_s), y_s = √ᾱ_s V x̄'. */
static int gds_step_ddrm(gds_traj *tr, int t, int s_) {
  gds_sampler *s = tr->s;
  const gds_schedule *sc = s->sched;
  const int n2 = tr->s->nr * (tr->f1 - tr->f0);
  double *y = tr->y, *x0 = tr->w[GDS_W_X0], *e = tr->w[GDS_W_E], *z = tr->w[GDS_W_Z];
  double ab = sc->alpha_bar[t], abs_ = sc->alpha_bar[s_], sab = sqrt(ab), se = sqrt(1 - ab);
  GDS_CALL(gds_score(tr, ab, y, x0, NULL));
  for (int i = 0; i < n2; i++) e[i] = (y[i] - sab * x0[i]) / se;
  gds_ddrm_rule rule = {.vs = gds_ddrm_vs(abs_), .sigma = s->sigma, .alg = tr->cfg->alg};
  if (s_ > 0) gds_noise(tr, (uint64_t)t, z);
  else memset(z, 0, sizeof(double) * (size_t)n2); /* ς_0 = 0: no noise term */
  GDS_CALL(s->backend->ddrm(s, &rule, x0, e, z, y, tr->f0, tr->f1));
  double a = sqrt(abs_);
  for (int i = 0; i < n2; i++) y[i] *= a;
  return GDS_SUCCESS;
}

/* ---- the VP SDE (SPEC §7.3) --------------------------------------------------------------- */

/* k = F(x, u) = ½ β(u) (x + s̃(x, ᾱ(u))), the probability-flow drift. Uses X0, SC, G, J. */
static int gds_flow(gds_traj *tr, double u, const double *x, double *k) {
  const int n2 = tr->s->nr * (tr->f1 - tr->f0);
  double *st = tr->w[GDS_W_SC], h = 0.5 * gds_vp_beta(tr->s, u);
  GDS_CALL(gds_score(tr, gds_vp_abar(tr->s, u), x, tr->w[GDS_W_X0], st));
  for (int i = 0; i < n2; i++) k[i] = h * (x[i] + st[i]);
  return GDS_SUCCESS;
}

/* Step k from u_k to u_{k+1} (Δt = u_k − u_{k+1}), noise block K − k (like a training time:
 * the last step uses block 1, the start block 0):
 *   em     y + Δt D(y, u_k) + √(Δt β(u_k)) z,  D = ½β y + β s̃
 *   ei     e^δ y + 2(e^δ − 1) s̃(y, u_k) + √(e^{2δ} − 1) z,  δ = ½(B(u_k) − B(u_{k+1}))
 *   ddpm   (y + b s̃(y, u_k))/√(1 − b) + √b z,  b = Δt β(u_k)
 *   euler  y + Δt F(y, u_k)
 *   heun   ỹ = y + Δt F(y, u_k); y + (Δt/2)(F(y, u_k) + F(ỹ, u_{k+1}))
 *   rk4    the classical four stages at u_k, u_k − Δt/2 (twice), u_{k+1}. */
static int gds_step_vp(gds_traj *tr, const gds_sampler_plan *p, int k) {
  gds_sampler *s = tr->s;
  const int n2 = tr->s->nr * (tr->f1 - tr->f0);
  const double u0 = p->u[k], u1 = p->u[k + 1], dt = u0 - u1, b0 = gds_vp_beta(s, u0);
  const uint64_t block = (uint64_t)(p->n - k);
  double *y = tr->y, *st = tr->w[GDS_W_SC], *z = tr->w[GDS_W_Z], *y2 = tr->w[GDS_W_Y2], *acc = tr->w[GDS_W_ACC];
  double *kk = tr->w[GDS_W_E];
  switch (tr->cfg->scheme.kind) {
  case GDS_SCHEME_EM: {
    GDS_CALL(gds_score(tr, p->ab[k], y, tr->w[GDS_W_X0], st));
    gds_noise(tr, block, z);
    double sd = sqrt(dt * b0);
    for (int i = 0; i < n2; i++) y[i] += dt * (0.5 * b0 * y[i] + b0 * st[i]) + sd * z[i];
    return GDS_SUCCESS;
  }
  case GDS_SCHEME_EI: {
    GDS_CALL(gds_score(tr, p->ab[k], y, tr->w[GDS_W_X0], st));
    gds_noise(tr, block, z);
    double delta = 0.5 * (gds_vp_B(s, u0) - gds_vp_B(s, u1)), ed = exp(delta), sd = sqrt(expm1(2 * delta));
    for (int i = 0; i < n2; i++) y[i] = ed * y[i] + 2 * (ed - 1) * st[i] + sd * z[i];
    return GDS_SUCCESS;
  }
  case GDS_SCHEME_DDPM: {
    double b = dt * b0;
    if (!(b < 1)) { /* no real value (1/√(1 − b)): +inf, like its law (gds_step.undefined) */
      tr->novalue = 1;
      return GDS_SUCCESS;
    }
    GDS_CALL(gds_score(tr, p->ab[k], y, tr->w[GDS_W_X0], st));
    gds_noise(tr, block, z);
    gds_ddpm_kernel(n2, b, 1 / sqrt(1 - b), sqrt(b), st, z, y);
    return GDS_SUCCESS;
  }
  case GDS_SCHEME_EULER:
    GDS_CALL(gds_flow(tr, u0, y, kk));
    for (int i = 0; i < n2; i++) y[i] += dt * kk[i];
    return GDS_SUCCESS;
  case GDS_SCHEME_HEUN:
    GDS_CALL(gds_flow(tr, u0, y, acc));
    for (int i = 0; i < n2; i++) y2[i] = y[i] + dt * acc[i];
    GDS_CALL(gds_flow(tr, u1, y2, kk));
    for (int i = 0; i < n2; i++) y[i] += 0.5 * dt * (acc[i] + kk[i]);
    return GDS_SUCCESS;
  case GDS_SCHEME_RK4: {
    const double um = u0 - 0.5 * dt;
    GDS_CALL(gds_flow(tr, u0, y, kk)); /* k1 */
    for (int i = 0; i < n2; i++) acc[i] = kk[i], y2[i] = y[i] + 0.5 * dt * kk[i];
    GDS_CALL(gds_flow(tr, um, y2, kk)); /* k2 */
    for (int i = 0; i < n2; i++) acc[i] += 2 * kk[i], y2[i] = y[i] + 0.5 * dt * kk[i];
    GDS_CALL(gds_flow(tr, um, y2, kk)); /* k3 */
    for (int i = 0; i < n2; i++) acc[i] += 2 * kk[i], y2[i] = y[i] + dt * kk[i];
    GDS_CALL(gds_flow(tr, u1, y2, kk)); /* k4 */
    for (int i = 0; i < n2; i++) y[i] += dt / 6 * (acc[i] + kk[i]);
    return GDS_SUCCESS;
  }
  default: GDS_ERROR(GDS_ERR_INPUT, "scheme %s is not a scheme of the vp_sde process", gds_scheme_name(tr->cfg->scheme.kind));
  }
}

int gds_scheme_step(gds_traj *tr, const gds_sampler_plan *p, int k) {
  if (tr->s->process == GDS_PROCESS_VP_SDE) return gds_step_vp(tr, p, k);
  int t = p->t[k], s_ = p->t[k + 1];
  if (tr->cfg->alg.kind == GDS_ALG_DDRM) return gds_step_ddrm(tr, t, s_);
  switch (tr->cfg->scheme.kind) {
  case GDS_SCHEME_DDPM: return gds_step_ddpm(tr, t, s_);
  case GDS_SCHEME_DDIM: return gds_step_ddim(tr, t, s_);
  default: GDS_ERROR(GDS_ERR_INPUT, "scheme %s is not a scheme of the discrete process", gds_scheme_name(tr->cfg->scheme.kind));
  }
}

/* SPEC §7.2 per singular value s (0 = in the kernel): the coefficients of (ȳ, x̄θ, ε̄, z̄), from
 * the algorithm module's one description of DDRM (gds_ddrm_component, its start). */
void gds_ddrm_coefs(const gds_ddrm_rule *r, double s, double c[4]) {
  gds_ddrm_coef k = r->init ? gds_ddrm_start_component(s, r->vs, r->sigma) : gds_ddrm_component(&r->alg, s, r->vs, r->sigma);
  c[0] = k.cy;
  c[1] = k.cx;
  c[2] = k.ce;
  c[3] = sqrt(k.nu);
}
