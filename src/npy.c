/* NumPy .npy reader for real arrays (include/gdsweep/npy.h). The header is a Python dict
 * literal; only the three keys numpy writes are accepted, each once. */
#include "gdsweep/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gdsweep/error.h"

#define NPY_FAIL(...)                                                                         \
  do {                                                                                        \
    snprintf(why, len, __VA_ARGS__);                                                          \
    return GDS_ERR_INPUT;                                                                     \
  } while (0)

static const char *npy_skip_space(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* A quoted key or string: 'abc' or "abc" into buf. */
static const char *npy_string(const char *p, const char *end, char *buf, size_t cap) {
  if (p >= end || (*p != '\'' && *p != '"')) return NULL;
  const char q = *p++;
  size_t n = 0;
  while (p < end && *p != q) {
    if (n + 1 >= cap) return NULL;
    buf[n++] = *p++;
  }
  if (p >= end) return NULL;
  buf[n] = '\0';
  return p + 1;
}

/* The header dict: descr, fortran_order, shape. */
static int npy_header(const char *h, size_t hlen, char *descr, size_t dcap, int *fortran, gds_npy *a, char *why,
                      size_t len) {
  const char *p = h, *end = h + hlen;
  int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
  p = npy_skip_space(p, end);
  if (p >= end || *p != '{') NPY_FAIL("malformed header: expected a Python dict, got '%.40s'", h);
  p++;
  for (;;) {
    p = npy_skip_space(p, end);
    if (p < end && *p == '}') break;
    char key[32];
    if (!(p = npy_string(p, end, key, sizeof key))) NPY_FAIL("malformed header: expected a quoted key");
    p = npy_skip_space(p, end);
    if (p >= end || *p != ':') NPY_FAIL("malformed header: expected ':' after '%s'", key);
    p = npy_skip_space(p + 1, end);
    if (!strcmp(key, "descr")) {
      if (seen_descr++) NPY_FAIL("malformed header: 'descr' given twice");
      if (!(p = npy_string(p, end, descr, dcap)))
        NPY_FAIL("unsupported dtype: 'descr' is not a simple type string (structured arrays are not supported)");
    } else if (!strcmp(key, "fortran_order")) {
      if (seen_fortran++) NPY_FAIL("malformed header: 'fortran_order' given twice");
      if ((size_t)(end - p) >= 4 && !strncmp(p, "True", 4)) *fortran = 1, p += 4;
      else if ((size_t)(end - p) >= 5 && !strncmp(p, "False", 5)) *fortran = 0, p += 5;
      else NPY_FAIL("malformed header: 'fortran_order' must be True or False");
    } else if (!strcmp(key, "shape")) {
      if (seen_shape++) NPY_FAIL("malformed header: 'shape' given twice");
      if (p >= end || *p != '(') NPY_FAIL("malformed header: 'shape' must be a tuple");
      p++;
      a->ndim = 0;
      for (;;) {
        p = npy_skip_space(p, end);
        if (p < end && *p == ')') {
          p++;
          break;
        }
        if (a->ndim == GDS_NPY_MAX_DIMS) NPY_FAIL("unsupported shape: more than %d dimensions", GDS_NPY_MAX_DIMS);
        if (p >= end || *p < '0' || *p > '9') NPY_FAIL("malformed header: 'shape' must hold non-negative integers");
        int64_t v = 0;
        while (p < end && *p >= '0' && *p <= '9') {
          if (v > (INT64_MAX - 9) / 10) NPY_FAIL("unsupported shape: a dimension overflows 64 bits");
          v = 10 * v + (*p++ - '0');
        }
        if (p < end && *p == 'L') p++; /* Python 2 longs */
        a->shape[a->ndim++] = v;
        p = npy_skip_space(p, end);
        if (p < end && *p == ',') p++;
        else if (p >= end || *p != ')') NPY_FAIL("malformed header: 'shape' tuple not closed");
      }
    } else {
      NPY_FAIL("malformed header: unknown key '%s' (expected descr, fortran_order, shape)", key);
    }
    p = npy_skip_space(p, end);
    if (p < end && *p == ',') p++;
    else if (p >= end || *p != '}') NPY_FAIL("malformed header: expected ',' or '}'");
  }
  if (!seen_descr || !seen_fortran || !seen_shape)
    NPY_FAIL("malformed header: missing '%s'", !seen_descr ? "descr" : !seen_fortran ? "fortran_order" : "shape");
  return GDS_SUCCESS;
}

int gds_npy_parse(const unsigned char *b, size_t nb, gds_npy *a, char *why, size_t len) {
  memset(a, 0, sizeof *a);
  why[0] = '\0';
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (nb < 10 || memcmp(b, magic, 6)) NPY_FAIL("not a NumPy .npy file (no \\x93NUMPY magic string)");
  const int major = b[6], minor = b[7];
  size_t hlen, off;
  if (major == 1 && minor == 0) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    off = 10;
  } else if (major == 2 && minor == 0) {
    if (nb < 12) NPY_FAIL("truncated .npy file (%zu bytes)", nb);
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    off = 12;
  } else {
    NPY_FAIL("unsupported .npy format version %d.%d (versions 1.0 and 2.0 are read)", major, minor);
  }
  if (hlen > nb - off) NPY_FAIL("truncated .npy file: the header says %zu bytes, the file has %zu", hlen, nb - off);
  char descr[64] = "";
  int fortran = 0;
  GDS_CALL(npy_header((const char *)b + off, hlen, descr, sizeof descr, &fortran, a, why, len));
  if (!strcmp(descr, "<f8") || (!strcmp(descr, "=f8")))
    a->itemsize = 8;
  else if (!strcmp(descr, "<f4") || (!strcmp(descr, "=f4")))
    a->itemsize = 4;
  else if (!strcmp(descr, ">f8") || !strcmp(descr, ">f4"))
    NPY_FAIL("unsupported dtype '%s': big-endian; save the array as little-endian float32 or float64 "
             "(numpy: a.astype('<f8'))", descr);
  else
    NPY_FAIL("unsupported dtype '%s': expected float32 ('<f4') or float64 ('<f8') (numpy: a.astype(np.float64))",
             descr);
  if (fortran && a->ndim >= 2)
    NPY_FAIL("unsupported layout: Fortran order; save the array in C order (numpy: np.ascontiguousarray(a))");
  if (a->ndim == 0) NPY_FAIL("a 0-d (scalar) array; expected an array of eigenvalues");
  int64_t n = 1;
  for (int i = 0; i < a->ndim; i++) {
    if (a->shape[i] == 0) NPY_FAIL("the array is empty (shape has a 0)");
    if (a->shape[i] > GDS_NPY_MAX_ELEMS || n > GDS_NPY_MAX_ELEMS / a->shape[i])
      NPY_FAIL("the array is too large: more than %lld elements", (long long)GDS_NPY_MAX_ELEMS);
    n *= a->shape[i];
  }
  a->n = n;
  const size_t data = nb - off - hlen, want = (size_t)n * (size_t)a->itemsize;
  if (data < want) NPY_FAIL("truncated .npy file: the shape needs %zu bytes of data, the file has %zu", want, data);
  if (data > want) NPY_FAIL("%zu bytes after the data the shape describes (not a single .npy array)", data - want);
  if (gds_calloc((size_t)n, sizeof(double), &a->data)) NPY_FAIL("out of memory for %lld values", (long long)n);
  const unsigned char *d = b + off + hlen;
  for (int64_t i = 0; i < n; i++) { /* little-endian bytes, independent of the host's order */
    if (a->itemsize == 8) {
      uint64_t u = 0;
      for (int k = 7; k >= 0; k--) u = u << 8 | d[8 * i + k];
      memcpy(&a->data[i], &u, 8);
    } else {
      uint32_t u = 0;
      float f;
      for (int k = 3; k >= 0; k--) u = u << 8 | d[4 * i + k];
      memcpy(&f, &u, 4);
      a->data[i] = (double)f;
    }
  }
  return GDS_SUCCESS;
}

int gds_npy_read(const char *path, gds_npy *a, char *why, size_t len) {
  memset(a, 0, sizeof *a);
  struct stat st;
  if (stat(path, &st)) NPY_FAIL("cannot read '%s': %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) NPY_FAIL("'%s' is a directory, not a .npy file", path);
  if (!S_ISREG(st.st_mode)) NPY_FAIL("'%s' is not a regular file", path);
  const size_t cap = 16 + 65536 + (size_t)GDS_NPY_MAX_ELEMS * 8;
  if ((uint64_t)st.st_size > cap) NPY_FAIL("'%s' is too large (%lld bytes) for an array of at most %lld values",
                                           path, (long long)st.st_size, (long long)GDS_NPY_MAX_ELEMS);
  FILE *f = fopen(path, "rb");
  if (!f) NPY_FAIL("cannot read '%s': %s", path, strerror(errno));
  unsigned char *b = malloc((size_t)st.st_size + 1);
  if (!b) {
    fclose(f);
    NPY_FAIL("out of memory reading '%s'", path);
  }
  size_t nb = fread(b, 1, (size_t)st.st_size + 1, f);
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(b);
    NPY_FAIL("cannot read '%s'", path);
  }
  int ierr = gds_npy_parse(b, nb, a, why, len);
  free(b);
  return ierr;
}

void gds_npy_free(gds_npy *a) {
  if (!a) return;
  free(a->data);
  a->data = NULL;
}
