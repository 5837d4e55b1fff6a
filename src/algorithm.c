/* Guidance algorithm names and parameters (SPEC §1 "Algorithms", §7.2). */
#include "gdsweep/algorithm.h"

#include <stdio.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/operator.h"

static const char *const gds_algorithm_names_[GDS_ALG_COUNT + 1] = {"none", "dps", "pigdm", "cgdm", "ddrm", NULL};

const char *const *gds_algorithm_names(void) { return gds_algorithm_names_; }

const char *gds_algorithm_name(gds_algorithm a) {
  return (a >= 0 && a < GDS_ALG_COUNT) ? gds_algorithm_names_[a] : "?";
}

int gds_algorithm_from_name(const char *name, gds_algorithm *a) {
  for (int i = 0; i < GDS_ALG_COUNT; i++)
    if (name && !strcmp(name, gds_algorithm_names_[i])) {
      *a = (gds_algorithm)i;
      return GDS_SUCCESS;
    }
  GDS_ERROR(GDS_ERR_INPUT, "unknown algorithm '%s' (valid: none, dps, pigdm, cgdm, ddrm)", name ? name : "");
}

void gds_algorithm_spec_name(const gds_algorithm_spec *a, char *buf, size_t len) {
  if (a->kind == GDS_ALG_DDRM) {
    char e[32], eb[32];
    gds_format_double(a->eta, e, sizeof e);
    gds_format_double(a->eta_b, eb, sizeof eb);
    snprintf(buf, len, "ddrm(eta=%s,eta_b=%s)", e, eb);
  } else snprintf(buf, len, "%s", gds_algorithm_name(a->kind));
}

int gds_algorithm_spec_same(const gds_algorithm_spec *a, const gds_algorithm_spec *b) {
  if (a->kind != b->kind) return 0;
  return a->kind != GDS_ALG_DDRM || (a->eta == b->eta && a->eta_b == b->eta_b);
}

int gds_algorithm_uses_alpha(gds_algorithm a) { return a == GDS_ALG_DPS; }

int gds_algorithm_uses_scheme(gds_algorithm a) { return a != GDS_ALG_DDRM; }
