/* Guidance algorithm names (SPEC §1, "Algorithms"). */
#include "gdsweep/algorithm.h"

#include <string.h>

#include "gdsweep/error.h"

static const char *const gds_algorithm_names_[GDS_ALG_COUNT + 1] = {"none", "dps", "pigdm", "cgdm", NULL};

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
  GDS_ERROR(GDS_ERR_INPUT, "unknown algorithm '%s' (valid: none, dps, pigdm, cgdm)", name ? name : "");
}

int gds_algorithm_uses_alpha(gds_algorithm a) { return a == GDS_ALG_DPS; }
