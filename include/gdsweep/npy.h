/* NumPy .npy arrays of real numbers (the priors given by a spectrum, SPEC §7.6).
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html —
 * magic "\x93NUMPY", version 1.0 (uint16 header length) or 2.0 (uint32), a Python-dict header
 * {'descr': ..., 'fortran_order': ..., 'shape': (...)}, then the data. Accepted: little-endian
 * float32 ('<f4') or float64 ('<f8'), C order (Fortran order only for 0/1-D arrays, where it
 * is the same layout), at least one element, at most GDS_NPY_MAX_ELEMS, and exactly the bytes
 * the shape says. */
#ifndef GDSWEEP_NPY_H
#define GDSWEEP_NPY_H

#include <stddef.h>
#include <stdint.h>

#define GDS_NPY_MAX_DIMS 8
#define GDS_NPY_MAX_ELEMS ((int64_t)1 << 28)

typedef struct gds_npy {
  int ndim;
  int64_t shape[GDS_NPY_MAX_DIMS];
  int64_t n;       /* number of elements */
  int itemsize;    /* 4 or 8 in the file */
  double *data;    /* n values, C order, converted to double (float32 exactly) */
} gds_npy;

/* Read `path`. On a malformed or unsupported file: GDS_ERR_INPUT with the reason in `why`
 * (nothing printed, so that the caller can add the sweep file's line and key). */
int gds_npy_read(const char *path, gds_npy *out, char *why, size_t len);
void gds_npy_free(gds_npy *a);
/* The same for bytes in memory (tests). */
int gds_npy_parse(const unsigned char *bytes, size_t nbytes, gds_npy *out, char *why, size_t len);

#endif
