/* Measurement operators A (SPEC §1, "Operators"), v = A x0 + σ n. */
#ifndef GDSWEEP_OPERATOR_H
#define GDSWEEP_OPERATOR_H

#include <stdint.h>

typedef enum {
  GDS_OP_IDENTITY = 0,
  GDS_OP_GAUSSIAN_BLUR,
  GDS_OP_MOTION_BLUR,
  GDS_OP_INPAINTING,
  GDS_OP_SUPER_RESOLUTION,
} gds_operator_type;

typedef enum { GDS_MASK_RANDOM = 0, GDS_MASK_BOX, GDS_MASK_FILE } gds_mask_kind;

/* Which law backend can handle the operator exactly (SPEC §2, "Useful facts"). */
typedef enum {
  GDS_STRUCTURE_FOURIER_DIAGONAL = 0, /* identity, blurs: every matrix a Fourier multiplier */
  GDS_STRUCTURE_FOURIER_BLOCK,        /* super-resolution: s²×s² blocks of aliased frequencies */
  GDS_STRUCTURE_DENSE,                /* inpainting: dense d×d covariances */
  GDS_STRUCTURE_COUNT
} gds_structure;

/* What a sweep file says about one operator (validated by the sweep module). */
typedef struct gds_operator_spec {
  gds_operator_type type;
  double std;              /* gaussian_blur */
  double length, angle;    /* motion_blur (angle in degrees, counter-clockwise from columns) */
  int factor;              /* super_resolution */
  gds_mask_kind mask;      /* inpainting */
  double keep;             /*   random: fraction kept, in (0,1] */
  uint64_t mask_seed;      /*   random */
  int box[4];              /*   box: row, col, height, width (missing) */
  char mask_path[4096];    /*   file: resolved path, non-zero = observed */
  char mask_sha256[65];    /*   file: SHA-256 of its bytes when the sweep read it ("" if not) */
  const unsigned char *mask_data; /* file: the mask already read elsewhere (H×W, non-zero =
                              observed; a run's rank 0 broadcasts it), used instead of reading
                              mask_path; NULL: read the file. Not kept by the operator. */
  int dense;               /* `backend: dense`: exact law by the dense backend whatever the
                              structure (cross-checks); 0 = the structure's own backend */
} gds_operator_spec;

/* Read-only after create. */
typedef struct gds_operator {
  gds_operator_spec spec;
  gds_structure structure;
  int H, W, d;       /* image shape, d = H·W */
  int mh, mw, m;     /* measurement shape, m = mh·mw */
  double *kernel;    /* H×W convolution kernel (identity: δ_0), NULL if not a convolution */
  unsigned char *mask; /* H×W, 1 = observed (inpainting), NULL otherwise */
  char name[256];    /* canonical name, e.g. "gaussian_blur(std=2)" */
  void *impl;        /* private: FFT plans and work arrays */
} gds_operator;

const char *gds_operator_type_name(gds_operator_type t);
int gds_operator_type_from_name(const char *name, gds_operator_type *t);
/* Canonical name of a spec, e.g. "motion_blur(length=9,angle=30)". */
void gds_operator_spec_name(const gds_operator_spec *spec, char *buf, int len);

/* Whether the spec can be built on an H×W image with representable arithmetic: 0 if so, else
 * GDS_ERR_INPUT with the reason in `why` (no message printed), e.g. a gaussian_blur std whose
 * square underflows, a motion_blur length whose 10·ceil(length)+1 points overflow an int, a
 * random mask that keeps no pixel. The sweep module reports it with the file and line;
 * gds_operator_create refuses the same specs. */
int gds_operator_spec_check(const gds_operator_spec *spec, int H, int W, char *why, int len);
int gds_operator_create(const gds_operator_spec *spec, int H, int W, gds_operator **out);
/* A light description of the operator a spec makes on an H×W image, for queries such as
 * gds_law_supports: spec, structure, sizes (m = −1 for inpainting: not counted) and name; no
 * kernel, mask or FFT plans (NULL), nothing allocated, not to be destroyed or applied. */
void gds_operator_describe(const gds_operator_spec *spec, int H, int W, gds_operator *out);
void gds_operator_destroy(gds_operator **op);
/* y (m values) = A x (d values). */
int gds_operator_apply(gds_operator *op, const double *x, double *y);
/* x (d values) = Aᵀ y (m values). */
int gds_operator_apply_adjoint(gds_operator *op, const double *y, double *x);
/* v = A x0 + σ n with n ~ N(0, I_m) from the stream keyed (seed, op_index) (SPEC §3). */
int gds_operator_measure(gds_operator *op, int op_index, const double *x0, double sigma,
                         int64_t seed, double *v);
/* Shortest "%g" text of x that reads back exactly (canonical names, attributes). */
void gds_format_double(double x, char *buf, int len);

#endif
