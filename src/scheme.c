/* Scheme, initialisation and process names (SPEC §7). */
#include "gdsweep/scheme.h"

#include <stdio.h>

#include "gdsweep/operator.h"

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
const char *gds_scheme_name(gds_scheme s) {
  return (s >= 0 && s < GDS_SCHEME_COUNT) ? gds_scheme_names_[s] : "?";
}
const char *gds_init_name(gds_init i) { return (i >= 0 && i < GDS_INIT_COUNT) ? gds_init_names_[i] : "?"; }

void gds_scheme_spec_name(const gds_scheme_spec *s, char *buf, size_t len) {
  if (s->kind == GDS_SCHEME_DDIM) {
    char e[32];
    gds_format_double(s->eta, e, sizeof e);
    snprintf(buf, len, "ddim(eta=%s)", e);
  } else snprintf(buf, len, "%s", gds_scheme_name(s->kind));
}

int gds_scheme_spec_same(const gds_scheme_spec *a, const gds_scheme_spec *b) {
  return a->kind == b->kind && (a->kind != GDS_SCHEME_DDIM || a->eta == b->eta);
}

int gds_scheme_valid_for(gds_scheme s, gds_process p) {
  switch (s) {
  case GDS_SCHEME_DDPM: return 1;
  case GDS_SCHEME_DDIM: return p == GDS_PROCESS_DDPM;
  default: return s > GDS_SCHEME_DDIM && s < GDS_SCHEME_COUNT && p == GDS_PROCESS_VP_SDE;
  }
}

gds_sampler_config gds_sampler_config_default(gds_algorithm_spec alg, double alpha_dps, int T) {
  gds_sampler_config c = {.alg = alg, .alpha_dps = alpha_dps, .scheme = {GDS_SCHEME_DDPM, 0}, .steps = T,
                          .eps = 0, .init = GDS_INIT_NORMAL};
  return c;
}
