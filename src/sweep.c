/* Sweep files (SPEC §4): libyaml's document API builds the node tree; a schema of field tables
 * (one per mapping) validates it. Only the first error is reported, as
 * FILE:LINE: key.path: what is wrong, and what would be valid. */
#include "gdsweep/sweep.h"
#include "gdsweep/law.h"
#include "gdsweep/prior.h"

#include "gdsweep/error.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* Enum fields are written through an int (SW_ENUM). */
_Static_assert(sizeof(gds_algorithm) == sizeof(int), "gds_algorithm must be int-sized");
_Static_assert(sizeof(gds_variance) == sizeof(int), "gds_variance must be int-sized");
_Static_assert(sizeof(gds_mask_kind) == sizeof(int), "gds_mask_kind must be int-sized");

/* Beyond this a sweep is a typo, not an experiment (arrays of T+1 per grid point). */
#define SW_MAX_STEPS 10000000
#define SW_PATH 512 /* key paths such as grid.operator[3].inpainting.mask_seed */

/* Names in enum order (gds_algorithm, gds_variance, gds_mask_kind): the sweep module keeps its
 * own tables so that it does not depend on the algorithm/schedule/operator modules. */
static const char *const sw_variance_names[] = {"beta", "beta_tilde", NULL};
static const char *const sw_mask_names[] = {"random", "box", "file", NULL};

typedef struct sw_ctx {
  yaml_document_t *doc;
  const char *file; /* for messages */
  gds_sweep *s;
  const yaml_node_t *steps_node; /* grid.sampler_steps when given (checkpoint messages) */
  const gds_sweep_trust *trust;  /* gds_sweep_parse_trusted: input files are not touched */
} sw_ctx;

/* ---- messages ------------------------------------------------------------------------ */

static int sw_fail(const sw_ctx *c, const yaml_node_t *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int sw_fail(const sw_ctx *c, const yaml_node_t *at, const char *path, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  unsigned long line = at ? (unsigned long)at->start_mark.line + 1 : 1;
  GDS_ERROR(GDS_ERR_INPUT, "%s:%lu: %s: %s", c->file, line, path[0] ? path : "(top level)", msg);
}

/* Key paths only label messages: an absurdly long user key is cut and marked with "...". */
static void sw_path_mark_cut(char out[SW_PATH], int k) {
  if (k >= SW_PATH) memcpy(out + SW_PATH - 4, "...", 4);
}

static void sw_path_key(char out[SW_PATH], const char *parent, const char *key) {
  sw_path_mark_cut(out, snprintf(out, SW_PATH, "%s%s%s", parent, parent[0] ? "." : "", key));
}

static void sw_path_index(char out[SW_PATH], const char *parent, int i) {
  sw_path_mark_cut(out, snprintf(out, SW_PATH, "%s[%d]", parent, i));
}

static const char *sw_str(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static int sw_is_plain(const yaml_node_t *n) {
  return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML's null: an empty plain value, ~ or null. */
static int sw_is_null(const yaml_node_t *n) {
  static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
  if (!sw_is_plain(n)) return 0;
  for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
    if (!strcmp(sw_str(n), nulls[i])) return 1;
  return 0;
}

/* What the user wrote, for "got ..." in messages. */
static const char *sw_describe(const yaml_node_t *n, char *buf, size_t len) {
  if (n->type == YAML_SEQUENCE_NODE) return "a list";
  if (n->type == YAML_MAPPING_NODE) return "a mapping";
  if (sw_is_null(n)) return "nothing (null)";
  const char *v = sw_str(n);
  const char *more = strlen(v) > 60 ? "..." : "";
  if (sw_is_plain(n)) snprintf(buf, len, "%.60s%s", v, more);
  else snprintf(buf, len, "the string \"%.60s%s\"", v, more);
  return buf;
}

static void sw_join(const char *const *names, char *buf, size_t len) {
  buf[0] = '\0';
  for (int i = 0; names[i]; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
  }
}

/* ---- SHA-256 (FIPS 180-4): fingerprints and the content of input files ---------------- */

static uint32_t sw_ror(uint32_t x, int r) { return (x >> r) | (x << (32 - r)); }

static void sw_sha256_block(uint32_t h[8], const unsigned char *p) {
  static const uint32_t K[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  uint32_t w[64], a[8];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = sw_ror(w[i - 15], 7) ^ sw_ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = sw_ror(w[i - 2], 17) ^ sw_ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  memcpy(a, h, sizeof a);
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = a[7] + (sw_ror(a[4], 6) ^ sw_ror(a[4], 11) ^ sw_ror(a[4], 25)) +
                  ((a[4] & a[5]) ^ (~a[4] & a[6])) + K[i] + w[i];
    uint32_t t2 = (sw_ror(a[0], 2) ^ sw_ror(a[0], 13) ^ sw_ror(a[0], 22)) +
                  ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
    memmove(a + 1, a, 7 * sizeof *a);
    a[4] += t1;
    a[0] = t1 + t2;
  }
  for (int i = 0; i < 8; i++) h[i] += a[i];
}

typedef struct sw_sha256_ctx {
  uint32_t h[8];
  unsigned char buf[64];
  size_t nbuf;
  uint64_t total;
} sw_sha256_ctx;

static void sw_sha256_init(sw_sha256_ctx *x) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(x->h, h0, sizeof h0);
  x->nbuf = 0;
  x->total = 0;
}

static void sw_sha256_update(sw_sha256_ctx *x, const unsigned char *p, size_t n) {
  x->total += n;
  while (n) {
    size_t k = 64 - x->nbuf < n ? 64 - x->nbuf : n;
    if (x->nbuf == 0 && n >= 64) { /* whole blocks straight from the input */
      sw_sha256_block(x->h, p);
      p += 64, n -= 64;
      continue;
    }
    memcpy(x->buf + x->nbuf, p, k);
    x->nbuf += k, p += k, n -= k;
    if (x->nbuf == 64) sw_sha256_block(x->h, x->buf), x->nbuf = 0;
  }
}

static void sw_sha256_hex(sw_sha256_ctx *x, char hex[65]) {
  const uint64_t bits = x->total * 8;
  unsigned char pad[72] = {0x80};
  size_t np = (x->nbuf < 56 ? 56 : 120) - x->nbuf;
  for (int i = 0; i < 8; i++) pad[np + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
  sw_sha256_update(x, pad, np + 8);
  for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", (unsigned)x->h[i]);
}

/* SHA-256 of a file's bytes as hex; `why` says what failed (errno text). */
static int sw_hash_file(const char *path, char hex[65], const char **why) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    *why = strerror(errno);
    return GDS_ERR_INPUT;
  }
  sw_sha256_ctx x;
  sw_sha256_init(&x);
  unsigned char buf[65536];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0) sw_sha256_update(&x, buf, got);
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    *why = "read error";
    return GDS_ERR_INPUT;
  }
  sw_sha256_hex(&x, hex);
  return GDS_SUCCESS;
}

/* ---- schema: one table of fields per mapping ---------------------------------------- */

typedef enum {
  SW_INT,  /* int */
  SW_I64,  /* int64_t */
  SW_U64,  /* uint64_t (non-negative int64 range) */
  SW_REAL, /* double; YAML ints accepted */
  SW_BOOL, /* int: true/false */
  SW_ENUM, /* int: index in `choices` */
  SW_STR,  /* char[cap] */
  SW_NODE, /* not parsed: the caller handles the node (lists, nested mappings) */
} sw_kind;

enum { SW_LO = 1, SW_HI = 2, SW_LO_OPEN = 4, SW_HI_OPEN = 8 };

typedef struct sw_field {
  const char *key;
  sw_kind kind;
  int required;
  size_t off;                 /* destination within the target object */
  int bounds;                 /* SW_LO/SW_HI (+ _OPEN): numeric range */
  double lo, hi;
  const char *const *choices; /* SW_ENUM */
  size_t cap;                 /* SW_STR: buffer size */
  const char *example;        /* a valid entry, shown in messages */
} sw_field;

#define SW_GT(x) .bounds = SW_LO | SW_LO_OPEN, .lo = (x)
#define SW_GE(x) .bounds = SW_LO, .lo = (x)
#define SW_IN_OPEN(a, b) .bounds = SW_LO | SW_LO_OPEN | SW_HI | SW_HI_OPEN, .lo = (a), .hi = (b)

/* "> 0", "in (0, 1]" ... */
static void sw_range_text(const sw_field *f, char *buf, size_t len) {
  if ((f->bounds & SW_LO) && (f->bounds & SW_HI))
    snprintf(buf, len, "in %c%.10g, %.10g%c", f->bounds & SW_LO_OPEN ? '(' : '[', f->lo, f->hi,
             f->bounds & SW_HI_OPEN ? ')' : ']');
  else if (f->bounds & SW_LO) snprintf(buf, len, "%s %.10g", f->bounds & SW_LO_OPEN ? ">" : ">=", f->lo);
  else if (f->bounds & SW_HI) snprintf(buf, len, "%s %.10g", f->bounds & SW_HI_OPEN ? "<" : "<=", f->hi);
  else buf[0] = '\0';
}

static int sw_in_range(const sw_field *f, double x) {
  if (f->bounds & SW_LO) {
    if (f->bounds & SW_LO_OPEN ? !(x > f->lo) : !(x >= f->lo)) return 0;
  }
  if (f->bounds & SW_HI) {
    if (f->bounds & SW_HI_OPEN ? !(x < f->hi) : !(x <= f->hi)) return 0;
  }
  return 1;
}

/* "a number > 0 (e.g. std: 2.0)" */
static void sw_expect(const sw_field *f, char *buf, size_t len) {
  char range[96], names[256];
  sw_range_text(f, range, sizeof range);
  const char *noun = "a value";
  switch (f->kind) {
  case SW_INT: case SW_I64: case SW_U64: noun = "an integer"; break;
  case SW_REAL: noun = "a number"; break;
  case SW_BOOL: noun = "true or false"; break;
  case SW_STR: noun = "a string"; break;
  case SW_ENUM: sw_join(f->choices, names, sizeof names); break;
  case SW_NODE: break;
  }
  if (f->kind == SW_ENUM) snprintf(buf, len, "one of %s", names);
  else snprintf(buf, len, "%s%s%s", noun, range[0] ? " " : "", range);
  if (f->example) {
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, " (e.g. %s)", f->example);
  }
}

/* Decimal integer, optional sign, nothing else (no 1_000, 0x10, 1e3 or 10.0). */
static int sw_parse_int(const char *v, int64_t *out) {
  const char *p = v + (*v == '+' || *v == '-');
  if (!*p) return 0;
  for (const char *q = p; *q; q++)
    if (*q < '0' || *q > '9') return 0;
  errno = 0;
  long long k = strtoll(v, NULL, 10);
  if (errno == ERANGE) return 0;
  *out = (int64_t)k;
  return 1;
}

/* Finite decimal real; YAML's .inf/.nan and strtod's hex/inf/nan spellings are refused, and so
 * are values that overflow or underflow a double (including subnormals: strtod says ERANGE). */
static int sw_parse_real(const char *v, double *out) {
  if (!*v || strspn(v, "0123456789+-.eE") != strlen(v)) return 0;
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (*end || end == v || !isfinite(x) || errno == ERANGE) return 0;
  *out = x;
  return 1;
}

/* Why a scalar is not a real, when it looks like one: " (... overflows ...)" or "". */
static const char *sw_real_why(const char *v) {
  if (!strcmp(v, ".inf") || !strcmp(v, "-.inf") || !strcmp(v, "+.inf") || !strcmp(v, ".nan") ||
      !strcmp(v, ".Inf") || !strcmp(v, ".NaN") || !strcmp(v, ".INF") || !strcmp(v, ".NAN"))
    return " (infinite and NaN values are not allowed: give a finite number)";
  if (!*v || strspn(v, "0123456789+-.eE") != strlen(v)) return "";
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (*end || end == v || errno != ERANGE) return "";
  if (isinf(x))
    return " (overflow: the magnitude exceeds the largest double, about 1.8e308)";
  return " (underflow: a non-zero magnitude below 2.2e-308, the smallest normal double, "
         "cannot be represented accurately)";
}

/* A decimal integer whose value does not fit in 64 bits. */
static int sw_int_too_big(const char *v) {
  const char *p = v + (*v == '+' || *v == '-');
  if (!*p || strspn(p, "0123456789") != strlen(p)) return 0;
  errno = 0;
  (void)strtoll(v, NULL, 10);
  return errno == ERANGE;
}

/* Parse scalar node `n` as field `f` into obj + f->off. The texts of messages are built only
 * on error (axes may hold millions of values). */
#define SW_EXPECT_GOT                                                                            \
  char expect[512], gotbuf[128];                                                                 \
  sw_expect(f, expect, sizeof expect);                                                           \
  const char *got = sw_describe(n, gotbuf, sizeof gotbuf)
static int sw_value(const sw_ctx *c, const yaml_node_t *n, const char *path, const sw_field *f,
                    void *obj) {
  void *dst = (char *)obj + f->off;
  if (n->type != YAML_SCALAR_NODE || sw_is_null(n)) {
    SW_EXPECT_GOT;
    return sw_fail(c, n, path, "expected %s, got %s", expect, got);
  }
  const char *v = sw_str(n);

  switch (f->kind) {
  case SW_STR:
    if (strlen(v) >= f->cap)
      return sw_fail(c, n, path, "too long (at most %zu characters)", f->cap - 1);
    memcpy(dst, v, strlen(v) + 1);
    return GDS_SUCCESS;
  case SW_BOOL:
    if (sw_is_plain(n) && (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")))
      *(int *)dst = 1;
    else if (sw_is_plain(n) && (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")))
      *(int *)dst = 0;
    else {
      SW_EXPECT_GOT;
      return sw_fail(c, n, path, "expected %s, got %s", expect, got);
    }
    return GDS_SUCCESS;
  case SW_ENUM:
    for (int i = 0; f->choices[i]; i++)
      if (!strcmp(v, f->choices[i])) {
        *(int *)dst = i;
        return GDS_SUCCESS;
      }
    {
      SW_EXPECT_GOT;
      (void)got;
      return sw_fail(c, n, path, "unknown value '%s'; expected %s", v, expect);
    }
  case SW_NODE:
    return GDS_SUCCESS;
  default: break;
  }

  /* Numbers. A quoted "2" is a string in YAML: say so rather than silently converting. */
  if (!sw_is_plain(n)) {
    SW_EXPECT_GOT;
    return sw_fail(c, n, path, "expected %s, got %s (quoted values are strings)", expect, got);
  }
  double x = 0;
  int64_t k = 0;
  if (f->kind == SW_REAL) {
    if (!sw_parse_real(v, &x)) {
      SW_EXPECT_GOT;
      return sw_fail(c, n, path, "expected %s, got %s%s", expect, got, sw_real_why(v));
    }
    if (x == 0) x = 0; /* -0 is 0: one canonical value (names, fingerprints, duplicates) */
  } else {
    if (!sw_parse_int(v, &k)) {
      SW_EXPECT_GOT;
      int real = sw_parse_real(v, &x), big = sw_int_too_big(v);
      return sw_fail(c, n, path, "expected %s, got %s%s", expect, got,
                     big ? " (outside the 64-bit integer range -2^63 .. 2^63-1)"
                         : real ? " (not an integer)" : "");
    }
    x = (double)k;
  }
  if (!sw_in_range(f, x)) {
    char range[96];
    sw_range_text(f, range, sizeof range);
    return sw_fail(c, n, path, "must be %s, got %s%s%s", range, v, f->example ? "; e.g. " : "",
                   f->example ? f->example : "");
  }
  switch (f->kind) {
  case SW_INT:
    if (k < INT_MIN || k > INT_MAX) return sw_fail(c, n, path, "integer %s is too large", v);
    *(int *)dst = (int)k;
    break;
  case SW_I64: *(int64_t *)dst = k; break;
  case SW_U64:
    if (k < 0) return sw_fail(c, n, path, "must be >= 0, got %s", v);
    *(uint64_t *)dst = (uint64_t)k;
    break;
  default: *(double *)dst = x; break;
  }
  return GDS_SUCCESS;
}

/* Check that `n` is a mapping of keys from `fields` (no unknown or duplicate keys, required
 * ones present), parse its scalar fields into `obj` and return every value node (NULL when
 * absent) in vals[nf]. `form` shows a valid mapping, for messages. */
static int sw_mapping(const sw_ctx *c, const yaml_node_t *n, const char *path, const sw_field *fields,
                      int nf, void *obj, yaml_node_t **vals, const char *form) {
  char gotbuf[128], child[SW_PATH];
  for (int i = 0; i < nf; i++) vals[i] = NULL;
  if (n->type != YAML_MAPPING_NODE)
    return sw_fail(c, n, path, "expected a mapping such as %s, got %s", form,
                   sw_describe(n, gotbuf, sizeof gotbuf));
  const yaml_node_t *keynode[32] = {NULL};
  if (nf > 32) GDS_ERROR(GDS_ERR_RUNTIME, "sweep schema: too many fields (%d)", nf);

  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
    yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
    if (k->type != YAML_SCALAR_NODE || sw_is_null(k))
      return sw_fail(c, k, path, "keys must be names, got %s", sw_describe(k, gotbuf, sizeof gotbuf));
    sw_path_key(child, path, sw_str(k));
    int i = 0;
    while (i < nf && strcmp(fields[i].key, sw_str(k))) i++;
    if (i == nf) {
      if (nf == 0) return sw_fail(c, k, child, "unknown key: no keys are allowed here (write %s)", form);
      char names[512];
      const char *list[33];
      for (int j = 0; j < nf; j++) list[j] = fields[j].key;
      list[nf] = NULL;
      sw_join(list, names, sizeof names);
      return sw_fail(c, k, child, "unknown key '%s'; valid keys here: %s", sw_str(k), names);
    }
    if (keynode[i])
      return sw_fail(c, k, child, "duplicate key (first given at line %lu)",
                     (unsigned long)keynode[i]->start_mark.line + 1);
    keynode[i] = k;
    vals[i] = v;
    if (fields[i].kind != SW_NODE) GDS_CALL(sw_value(c, v, child, &fields[i], obj));
  }
  for (int i = 0; i < nf; i++)
    if (fields[i].required && !vals[i]) {
      sw_path_key(child, path, fields[i].key);
      return sw_fail(c, n, child, "missing (required)%s%s", fields[i].example ? "; e.g. " : "",
                     fields[i].example ? fields[i].example : "");
    }
  return GDS_SUCCESS;
}

/* ---- duplicates: sort (value, index) pairs and compare neighbours, O(n log n) ------------ */

typedef struct sw_key {
  union {
    double d;
    int64_t i;
    const char *s;
  } k;
  int idx;
} sw_key;

static int sw_key_cmp_real(const void *pa, const void *pb) {
  const sw_key *a = pa, *b = pb;
  if (a->k.d != b->k.d) return a->k.d < b->k.d ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}
static int sw_key_cmp_int(const void *pa, const void *pb) {
  const sw_key *a = pa, *b = pb;
  if (a->k.i != b->k.i) return a->k.i < b->k.i ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}
static int sw_key_cmp_str(const void *pa, const void *pb) {
  const sw_key *a = pa, *b = pb;
  int r = strcmp(a->k.s, b->k.s);
  return r ? r : (a->idx > b->idx) - (a->idx < b->idx);
}

/* The first item, in list order, equal to an earlier one (*dup, with *first the earliest equal
 * one): what a pairwise scan of the list would report. Sorts `keys` in place. 0 if none. */
static int sw_find_duplicate(sw_key *keys, int n, int (*cmp)(const void *, const void *), int *dup,
                             int *first) {
  if (n < 2) return 0;
  qsort(keys, (size_t)n, sizeof *keys, cmp);
  int found = 0, g = 0; /* keys[g] starts the current group of equal values */
  for (int i = 1; i < n; i++) {
    sw_key a = keys[i - 1], b = keys[i];
    a.idx = b.idx = 0;
    if (cmp(&a, &b)) {
      g = i;
      continue;
    }
    if (i == g + 1 && (!found || keys[i].idx < *dup)) { /* the group's second = its first repeat */
      *dup = keys[i].idx;
      *first = keys[g].idx;
      found = 1;
    }
  }
  return found;
}

static int sw_dup_fail(const sw_ctx *c, const yaml_node_t *list, const char *path, int dup, int first,
                       const char *what) {
  char child[SW_PATH];
  const yaml_node_t *item = yaml_document_get_node(c->doc, list->data.sequence.items.start[dup]);
  const yaml_node_t *orig = yaml_document_get_node(c->doc, list->data.sequence.items.start[first]);
  sw_path_index(child, path, dup);
  return sw_fail(c, item, child, "duplicate of %s[%d] (line %lu): each %s must appear once", path, first,
                 (unsigned long)orig->start_mark.line + 1, what);
}

/* Duplicates among the first n items of a parsed scalar list. */
static int sw_list_duplicates(const sw_ctx *c, const yaml_node_t *list, const char *path, sw_kind kind,
                              const char *arr, size_t esize, int n) {
  if (n < 2) return GDS_SUCCESS;
  sw_key *keys;
  GDS_CALL(GDS_ALLOC(keys, n));
  for (int i = 0; i < n; i++) {
    const void *p = arr + (size_t)i * esize;
    keys[i].idx = i;
    switch (kind) {
    case SW_REAL: keys[i].k.d = *(const double *)p; break;
    case SW_I64: keys[i].k.i = *(const int64_t *)p; break;
    case SW_U64: keys[i].k.i = (int64_t)*(const uint64_t *)p; break; /* <= INT64_MAX by parsing */
    default: keys[i].k.i = *(const int *)p; break;
    }
  }
  int dup = -1, first = -1;
  int found = sw_find_duplicate(keys, n, kind == SW_REAL ? sw_key_cmp_real : sw_key_cmp_int, &dup, &first);
  free(keys);
  return found ? sw_dup_fail(c, list, path, dup, first, "value") : GDS_SUCCESS;
}

/* Duplicates among n items named by strings (operators, parameterised algorithms and schemes:
 * their canonical names). */
static int sw_name_duplicates(const sw_ctx *c, const yaml_node_t *list, const char *path,
                              char *const *names, int n, const char *what) {
  if (n < 2) return GDS_SUCCESS;
  sw_key *keys;
  GDS_CALL(GDS_ALLOC(keys, n));
  for (int i = 0; i < n; i++) keys[i] = (sw_key){.k.s = names[i], .idx = i};
  int dup = -1, first = -1;
  int found = sw_find_duplicate(keys, n, sw_key_cmp_str, &dup, &first);
  free(keys);
  return found ? sw_dup_fail(c, list, path, dup, first, what) : GDS_SUCCESS;
}

static int sw_expect_list(const sw_ctx *c, const yaml_node_t *n, const char *path, const char *example) {
  char gotbuf[128];
  if (n->type == YAML_SEQUENCE_NODE) {
    if (n->data.sequence.items.top == n->data.sequence.items.start)
      return sw_fail(c, n, path, "must not be empty, e.g. %s", example);
    return GDS_SUCCESS;
  }
  const int scalar = n->type == YAML_SCALAR_NODE && !sw_is_null(n);
  return sw_fail(c, n, path, "expected a list, e.g. %s; got %s%s%s%s", example,
                 sw_describe(n, gotbuf, sizeof gotbuf), scalar ? " (for one value write [" : "",
                 scalar ? sw_str(n) : "", scalar ? "])" : "");
}

static int sw_list_len(const yaml_node_t *n) {
  return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

/* A list of scalars parsed with `elem` (off = 0) into a new array of `esize`-byte items, stored in
 * *(void **)arrp at once so that the sweep owns it even on error. Non-empty, no duplicates.
 * The first problem in list order is reported (a bad value, or a repeat of an earlier one). */
static int sw_list(const sw_ctx *c, const yaml_node_t *n, const char *path, const sw_field *elem,
                   size_t esize, int *count, void *arrp) {
  char child[SW_PATH];
  GDS_CALL(sw_expect_list(c, n, path, elem->example));
  int len = sw_list_len(n);
  char *arr;
  GDS_CALL(gds_calloc((size_t)len, esize, &arr));
  *(void **)arrp = arr;
  *count = len;
  for (int i = 0; i < len; i++) {
    const yaml_node_t *item = yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
    int quiet = gds_error_set_quiet(1);
    int bad = sw_value(c, item, "", elem, arr + (size_t)i * esize);
    gds_error_set_quiet(quiet);
    if (bad) { /* a repeat before it comes first; else the value's own message */
      GDS_CALL(sw_list_duplicates(c, n, path, elem->kind, arr, esize, i));
      sw_path_index(child, path, i);
      return sw_value(c, item, child, elem, arr + (size_t)i * esize);
    }
  }
  return sw_list_duplicates(c, n, path, elem->kind, arr, esize, len);
}

/* A fixed-length list of ints, element i parsed with elem[i] (e.g. size: [H, W]). */
static int sw_int_tuple(const sw_ctx *c, const yaml_node_t *n, const char *path, int len,
                        const sw_field *elem, const char *form, int *out) {
  char gotbuf[128], child[SW_PATH];
  if (n->type != YAML_SEQUENCE_NODE ||
      n->data.sequence.items.top - n->data.sequence.items.start != len)
    return sw_fail(c, n, path, "expected a list of %d integers, %s; got %s", len, form,
                   n->type == YAML_SEQUENCE_NODE ? "a list of another length"
                                                 : sw_describe(n, gotbuf, sizeof gotbuf));
  for (int i = 0; i < len; i++) {
    sw_path_index(child, path, i);
    GDS_CALL(sw_value(c, yaml_document_get_node(c->doc, n->data.sequence.items.start[i]), child,
                      &elem[i], &out[i]));
  }
  return GDS_SUCCESS;
}

/* Resolve `rel` against the sweep file's directory and check it is a readable regular file. */
static int sw_resolve_file(const sw_ctx *c, const yaml_node_t *n, const char *path, const char *rel,
                           char *out, size_t cap) {
  const char *dir = c->s->dir;
  int abs = rel[0] == '/' || !dir[0] || !strcmp(dir, ".");
  if ((size_t)snprintf(out, cap, "%s%s%s", abs ? "" : dir, abs ? "" : "/", rel) >= cap)
    return sw_fail(c, n, path, "path too long (at most %zu characters once resolved)", cap - 1);
  if (c->trust) return GDS_SUCCESS;
  struct stat st;
  FILE *f = NULL;
  const char *why = NULL;
  if (stat(out, &st)) why = strerror(errno);
  else if (S_ISDIR(st.st_mode)) why = "it is a directory, not a file";
  else if (!S_ISREG(st.st_mode)) why = "not a regular file (a FIFO, device or socket)";
  else if (!(f = fopen(out, "rb"))) why = strerror(errno);
  if (why)
    return sw_fail(c, n, path, "cannot read '%s': %s (relative paths are resolved against the "
                   "directory of the sweep file)", out, why);
  fclose(f);
  return GDS_SUCCESS;
}

/* The content of an input file enters the fingerprint (a changed texture or mask at the same
 * path is a different sweep). */
static int sw_hash_input(const sw_ctx *c, const yaml_node_t *n, const char *path, const char *file,
                         char hex[65]) {
  const char *why = NULL;
  if (c->trust) {
    hex[0] = '\0';
    return GDS_SUCCESS;
  }
  if (sw_hash_file(file, hex, &why)) return sw_fail(c, n, path, "cannot read '%s': %s", file, why);
  return GDS_SUCCESS;
}

/* ---- sections ----------------------------------------------------------------------- */

#define SW_OFF(member) offsetof(gds_sweep, member)
#define SW_NF(t) ((int)(sizeof(t) / sizeof *(t)))

enum { TOP_NAME, TOP_PRIOR, TOP_DIFFUSION, TOP_GRID, TOP_OUTPUT };
static const sw_field sw_top_fields[] = {
    [TOP_NAME] = {.key = "name", .kind = SW_STR, .required = 1, .off = SW_OFF(name), .cap = 256,
                  .example = "name: deblur-demo"},
    [TOP_PRIOR] = {.key = "prior", .kind = SW_NODE, .required = 1,
                   .example = "prior: {texture: builtin:fabric, size: [64, 64]}"},
    [TOP_DIFFUSION] = {.key = "diffusion", .kind = SW_NODE, .required = 1,
                       .example = "diffusion: {steps: 1000}"},
    [TOP_GRID] = {.key = "grid", .kind = SW_NODE, .required = 1,
                  .example = "grid: {operator: [gaussian_blur: {std: 2.0}], sigma: [0.01], algorithm: [dps]}"},
    [TOP_OUTPUT] = {.key = "output", .kind = SW_NODE},
};

enum { PRIOR_TEXTURE, PRIOR_WHITE, PRIOR_SPECTRUM, PRIOR_MEAN, PRIOR_SIZE, PRIOR_PERIODIC };
static const sw_field sw_prior_fields[] = {
    [PRIOR_TEXTURE] = {.key = "texture", .kind = SW_STR, .off = SW_OFF(texture), .cap = 4096,
                       .example = "texture: builtin:fabric"},
    [PRIOR_WHITE] = {.key = "white", .kind = SW_NODE, .example = "white: {std: 0.2, mean: 0.5}"},
    [PRIOR_SPECTRUM] = {.key = "spectrum", .kind = SW_STR, .off = SW_OFF(spectrum), .cap = 4096,
                        .example = "spectrum: eigenvalues.npy"},
    [PRIOR_MEAN] = {.key = "mean", .kind = SW_REAL, .off = SW_OFF(prior.spectrum_mean), .example = "mean: 0"},
    [PRIOR_SIZE] = {.key = "size", .kind = SW_NODE, .example = "size: [64, 64]"},
    [PRIOR_PERIODIC] = {.key = "periodic", .kind = SW_BOOL, .off = SW_OFF(prior.periodic),
                        .example = "periodic: true"},
};

static const sw_field sw_white_fields[] = {
    {.key = "std", .kind = SW_REAL, .required = 1, .off = SW_OFF(prior.white_std), SW_GT(0),
     .example = "std: 0.2"},
    {.key = "mean", .kind = SW_REAL, .off = SW_OFF(prior.white_mean), .example = "mean: 0.5"},
};

static const sw_field sw_size_elems[2] = {
    {.key = "H", .kind = SW_INT, SW_GE(2), .example = "size: [64, 64]"},
    {.key = "W", .kind = SW_INT, SW_GE(2), .example = "size: [64, 64]"},
};

/* An image file must decode and fit the prior size (a mask: exactly; a texture: at least, it
 * is cropped), checked here so the message names the sweep file, line and key. */
static int sw_check_image(const sw_ctx *c, const yaml_node_t *n, const char *path, const char *file,
                          int exact) {
  int h = 0, w = 0, H = c->s->prior.H, W = c->s->prior.W;
  double *px = NULL;
  if (c->trust) return GDS_SUCCESS;
  int quiet = gds_error_set_quiet(1); /* the reason is restated below, with the line */
  int ierr = gds_texture_load(file, &h, &w, &px);
  gds_error_set_quiet(quiet);
  free(px);
  if (ierr) return sw_fail(c, n, path, "%s is not a readable 8/16-bit PNG or PGM image", file);
  if (exact && (h != H || w != W))
    return sw_fail(c, n, path, "mask %s is %d x %d (rows x columns) but the image is %d x %d; "
                   "a mask must have the size of prior.size", file, h, w, H, W);
  if (!exact && (h < H || w < W))
    return sw_fail(c, n, path, "texture %s is %d x %d (rows x columns), smaller than prior.size "
                   "[%d, %d]; give a smaller size or a larger texture", file, h, w, H, W);
  return GDS_SUCCESS;
}

/* prior: {spectrum: file.npy, mean: m} (SPEC §7.6): the size comes from the array. */
static int sw_prior_spectrum(const sw_ctx *c, yaml_node_t *const *v) {
  gds_sweep *s = c->s;
  if (v[PRIOR_PERIODIC])
    return sw_fail(c, v[PRIOR_PERIODIC], "prior.periodic", "applies to texture priors only, not spectrum");
  if (!s->spectrum[0])
    return sw_fail(c, v[PRIOR_SPECTRUM], "prior.spectrum", "expected the path of a .npy file, got an empty string");
  char resolved[sizeof s->texture_file], why[1024];
  GDS_CALL(sw_resolve_file(c, v[PRIOR_SPECTRUM], "prior.spectrum", s->spectrum, resolved, sizeof resolved));
  int h = 0, w = 0;
  double *lam = NULL;
  int ierr = GDS_SUCCESS;
  if (c->trust) { /* the array's shape as rank 0 read it */
    h = c->trust->H;
    w = c->trust->W;
    s->prior_basis = c->trust->basis;
  } else
    ierr = gds_prior_spectrum_load(resolved, &h, &w, &s->prior_basis, &lam, why, sizeof why);
  free(lam);
  if (ierr == GDS_ERR_INPUT) return sw_fail(c, v[PRIOR_SPECTRUM], "prior.spectrum", "%s", why);
  GDS_CALL(ierr);
  if (v[PRIOR_SIZE]) {
    static const sw_field any[2] = {{.key = "H", .kind = SW_INT, SW_GE(1), .example = "size: [32, 32]"},
                                    {.key = "W", .kind = SW_INT, SW_GE(1), .example = "size: [32, 32]"}};
    int hw[2];
    GDS_CALL(sw_int_tuple(c, v[PRIOR_SIZE], "prior.size", 2, any, "[H, W] (rows, columns)", hw));
    if (hw[0] != h || hw[1] != w)
      return sw_fail(c, v[PRIOR_SIZE], "prior.size", "[%d, %d] does not match the spectrum %s, which is %d x %d%s; "
                     "leave size out (it comes from the array) or give [%d, %d]", hw[0], hw[1], s->spectrum, h, w,
                     s->prior_basis == GDS_PRIOR_BASIS_EIGEN ? " (a 1-D array of n eigenvalues: images are 1 x n)" : "",
                     h, w);
  }
  s->prior.H = h;
  s->prior.W = w;
  s->prior.periodic = 0;
  s->prior.spectrum = s->spectrum;
  s->prior.texture = NULL;
  snprintf(s->texture_file, sizeof s->texture_file, "%s", resolved);
  return sw_hash_input(c, v[PRIOR_SPECTRUM], "prior.spectrum", resolved, s->texture_sha256);
}

static int sw_prior(const sw_ctx *c, const yaml_node_t *n) {
  gds_sweep *s = c->s;
  yaml_node_t *v[SW_NF(sw_prior_fields)], *w[SW_NF(sw_white_fields)];
  s->prior.periodic = 1;
  s->prior.base_dir = s->dir;
  GDS_CALL(sw_mapping(c, n, "prior", sw_prior_fields, SW_NF(sw_prior_fields), s, v,
                      "{texture: builtin:fabric, size: [64, 64], periodic: true}"));
  const int kinds = !!v[PRIOR_TEXTURE] + !!v[PRIOR_WHITE] + !!v[PRIOR_SPECTRUM];
  if (kinds > 1) {
    const int second = v[PRIOR_SPECTRUM] ? PRIOR_SPECTRUM : PRIOR_WHITE;
    char child[SW_PATH];
    sw_path_key(child, "prior", sw_prior_fields[second].key);
    return sw_fail(c, v[second], child, "texture, white and spectrum are mutually exclusive: give one of them");
  }
  if (!kinds)
    return sw_fail(c, n, "prior.texture", "missing (required): give texture: builtin:<name> or "
                   "texture: path.png (relative to the sweep file), spectrum: eigenvalues.npy, or the test prior "
                   "white: {std: s}");
  if (v[PRIOR_MEAN] && !v[PRIOR_SPECTRUM])
    return sw_fail(c, v[PRIOR_MEAN], "prior.mean", "applies to spectrum priors only (a texture prior's mean is "
                   "the texture's; a white prior takes white: {std, mean})");
  if (v[PRIOR_SPECTRUM]) return sw_prior_spectrum(c, v);
  if (!v[PRIOR_SIZE])
    return sw_fail(c, n, "prior.size", "missing (required for texture and white priors); e.g. size: [64, 64]");

  int hw[2];
  GDS_CALL(sw_int_tuple(c, v[PRIOR_SIZE], "prior.size", 2, sw_size_elems,
                        "[H, W] (rows, columns), e.g. size: [64, 64]", hw));
  if ((int64_t)hw[0] * hw[1] > GDS_SWEEP_MAX_PIXELS)
    return sw_fail(c, v[PRIOR_SIZE], "prior.size", "image of %d x %d = %lld pixels is too large: at most "
                   "%lld (2^28) pixels, so that every per-pixel array and index stays far from the integer "
                   "limits", hw[0], hw[1], (long long)hw[0] * hw[1], (long long)GDS_SWEEP_MAX_PIXELS);
  s->prior.H = hw[0];
  s->prior.W = hw[1];

  if (v[PRIOR_WHITE]) {
    if (v[PRIOR_PERIODIC])
      return sw_fail(c, v[PRIOR_PERIODIC], "prior.periodic", "applies to texture priors only, not white");
    s->prior.white = 1;
    s->prior.periodic = 0;
    s->prior.texture = NULL;
    return sw_mapping(c, v[PRIOR_WHITE], "prior.white", sw_white_fields, SW_NF(sw_white_fields), s, w,
                      "{std: 0.2, mean: 0.5}");
  }

  s->prior.texture = s->texture;
  if (!strncmp(s->texture, "builtin:", 8)) {
    const char *const *names = gds_texture_builtin_names();
    for (int i = 0; names[i]; i++)
      if (!strcmp(s->texture + 8, names[i])) return GDS_SUCCESS;
    char valid[512] = "";
    for (int i = 0; names[i]; i++)
      snprintf(valid + strlen(valid), sizeof valid - strlen(valid), "%sbuiltin:%s", i ? ", " : "", names[i]);
    return sw_fail(c, v[PRIOR_TEXTURE], "prior.texture", "unknown built-in texture '%s'; valid: %s",
                   s->texture, valid);
  }
  if (!s->texture[0])
    return sw_fail(c, v[PRIOR_TEXTURE], "prior.texture",
                   "expected builtin:<name> or the path of a PNG/PGM file, got an empty string");
  char resolved[sizeof s->texture_file];
  GDS_CALL(sw_resolve_file(c, v[PRIOR_TEXTURE], "prior.texture", s->texture, resolved, sizeof resolved));
  GDS_CALL(sw_check_image(c, v[PRIOR_TEXTURE], "prior.texture", resolved, 0));
  snprintf(s->texture_file, sizeof s->texture_file, "%s", resolved);
  return sw_hash_input(c, v[PRIOR_TEXTURE], "prior.texture", resolved, s->texture_sha256);
}

enum { DIFF_PROCESS, DIFF_STEPS, DIFF_BSTART, DIFF_BEND, DIFF_VARIANCE, DIFF_BMIN, DIFF_BMAX };
_Static_assert(sizeof(gds_process) == sizeof(int), "gds_process must be int-sized");
static const sw_field sw_diffusion_fields[] = {
    [DIFF_PROCESS] = {.key = "process", .kind = SW_ENUM, .off = SW_OFF(process), .example = "process: ddpm"},
    [DIFF_STEPS] = {.key = "steps", .kind = SW_INT, .off = SW_OFF(T), .bounds = SW_LO | SW_HI, .lo = 1,
                    .hi = SW_MAX_STEPS, .example = "steps: 1000"},
    [DIFF_BSTART] = {.key = "beta_start", .kind = SW_REAL, .off = SW_OFF(beta_start), SW_IN_OPEN(0, 1),
                     .example = "beta_start: 1.0e-4"},
    [DIFF_BEND] = {.key = "beta_end", .kind = SW_REAL, .off = SW_OFF(beta_end), SW_IN_OPEN(0, 1),
                   .example = "beta_end: 0.02"},
    [DIFF_VARIANCE] = {.key = "variance", .kind = SW_ENUM, .off = SW_OFF(variance),
                       .choices = sw_variance_names, .example = "variance: beta"},
    [DIFF_BMIN] = {.key = "beta_min", .kind = SW_REAL, .off = SW_OFF(beta_min), SW_GT(0),
                   .example = "beta_min: 0.1"},
    [DIFF_BMAX] = {.key = "beta_max", .kind = SW_REAL, .off = SW_OFF(beta_max), SW_GT(0),
                   .example = "beta_max: 20"},
};

static int sw_diffusion(const sw_ctx *c, const yaml_node_t *n) {
  gds_sweep *s = c->s;
  yaml_node_t *v[SW_NF(sw_diffusion_fields)];
  sw_field fields[SW_NF(sw_diffusion_fields)];
  memcpy(fields, sw_diffusion_fields, sizeof fields);
  fields[DIFF_PROCESS].choices = gds_process_names(); /* the scheme module owns the names */
  s->variance = GDS_VARIANCE_BETA;
  s->process = GDS_PROCESS_DDPM;
  s->beta_min = 0.1;
  s->beta_max = 20;
  GDS_CALL(sw_mapping(c, n, "diffusion", fields, SW_NF(fields), s, v,
                      "{steps: 1000, beta_start: 1.0e-4, beta_end: 0.02, variance: beta} or "
                      "{process: vp_sde, beta_min: 0.1, beta_max: 20}"));
  char child[SW_PATH];
  if (s->process == GDS_PROCESS_VP_SDE) {
    /* SPEC §7.3: β(u) = β_min + u(β_max − β_min) on u ∈ [0, 1]; the number of steps is the
     * grid's sampler_steps (K). T is set by the grid to max K (the step-index axis). */
    const int discrete_keys[] = {DIFF_STEPS, DIFF_BSTART, DIFF_BEND, DIFF_VARIANCE};
    for (size_t i = 0; i < sizeof discrete_keys / sizeof *discrete_keys; i++)
      if (v[discrete_keys[i]]) {
        sw_path_key(child, "diffusion", sw_diffusion_fields[discrete_keys[i]].key);
        return sw_fail(c, v[discrete_keys[i]], child, "applies to the discrete process only; with process: "
                       "vp_sde give beta_min and beta_max (defaults 0.1, 20), and the number of steps K "
                       "as grid.sampler_steps");
      }
    if (!(s->beta_min < s->beta_max))
      return sw_fail(c, v[DIFF_BMAX] ? v[DIFF_BMAX] : v[DIFF_BMIN], v[DIFF_BMAX] ? "diffusion.beta_max" : "diffusion.beta_min",
                     "beta_min = %g must be smaller than beta_max = %g (beta(u) increases from beta_min "
                     "at u = 0 to beta_max at u = 1)", s->beta_min, s->beta_max);
    s->T = 0;
    s->beta_start = s->beta_end = 0;
    return GDS_SUCCESS;
  }
  for (int k = DIFF_BMIN; k <= DIFF_BMAX; k++)
    if (v[k]) {
      sw_path_key(child, "diffusion", sw_diffusion_fields[k].key);
      return sw_fail(c, v[k], child, "applies to the continuous process only (diffusion: {process: vp_sde, "
                     "beta_min: 0.1, beta_max: 20}); the discrete process takes steps, beta_start, beta_end");
    }
  if (!v[DIFF_STEPS])
    return sw_fail(c, n, "diffusion.steps", "missing (required for the discrete process); e.g. steps: 1000");
  /* SPEC §1 defaults (gds_schedule_default_betas), computed here to keep this module standalone.
   * Both ends of the linear schedule in (0, 1) puts every β_t in (0, 1). */
  int T = s->T;
  if (!v[DIFF_BSTART]) s->beta_start = 0.1 / T;
  if (!v[DIFF_BEND]) {
    if (T == 1) {
      s->beta_end = s->beta_start; /* unused: β_1 = β_start */
    } else {
      s->beta_end = 20.0 / T;
      if (s->beta_end >= 1)
        return sw_fail(c, v[DIFF_STEPS], "diffusion.beta_end",
                       "not given, and the default 20/T = %g for steps: %d is not < 1 (every beta_t "
                       "must lie in (0, 1)); for steps <= 20 give beta_start and beta_end explicitly, "
                       "e.g. {steps: %d, beta_start: 0.001, beta_end: 0.5}", s->beta_end, T, T);
    }
  }
  return GDS_SUCCESS;
}

/* ---- operators ---------------------------------------------------------------------- */

#define OP_OFF(member) offsetof(gds_operator_spec, member)

/* Every operator accepts `backend: auto | dense` (dense: exact law by the dense backend, for
 * cross-checks); it is the last field of each table. */
static const char *const sw_backend_names[] = {"auto", "dense", NULL};
#define SW_BACKEND_FIELD                                                                         \
  {.key = "backend", .kind = SW_ENUM, .off = OP_OFF(dense), .choices = sw_backend_names,          \
   .example = "backend: dense"}
static const sw_field sw_identity_fields[] = {SW_BACKEND_FIELD};

static const sw_field sw_gauss_fields[] = {
    {.key = "std", .kind = SW_REAL, .required = 1, .off = OP_OFF(std), SW_GT(0), .example = "std: 2.0"},
    SW_BACKEND_FIELD,
};
static const sw_field sw_motion_fields[] = {
    {.key = "length", .kind = SW_REAL, .required = 1, .off = OP_OFF(length), SW_GT(0),
     .example = "length: 9"},
    {.key = "angle", .kind = SW_REAL, .off = OP_OFF(angle), .example = "angle: 30"},
    SW_BACKEND_FIELD,
};
enum { INP_MASK, INP_KEEP, INP_SEED, INP_BOX, INP_PATH, INP_BACKEND };
static const sw_field sw_inpaint_fields[] = {
    [INP_MASK] = {.key = "mask", .kind = SW_ENUM, .required = 1, .off = OP_OFF(mask),
                  .choices = sw_mask_names, .example = "mask: random"},
    [INP_KEEP] = {.key = "keep", .kind = SW_REAL, .off = OP_OFF(keep),
                  .bounds = SW_LO | SW_LO_OPEN | SW_HI, .lo = 0, .hi = 1, .example = "keep: 0.5"},
    [INP_SEED] = {.key = "mask_seed", .kind = SW_U64, .off = OP_OFF(mask_seed), SW_GE(0),
                  .example = "mask_seed: 0"},
    [INP_BOX] = {.key = "box", .kind = SW_NODE, .example = "box: [16, 16, 32, 32]"},
    [INP_PATH] = {.key = "path", .kind = SW_STR, .off = OP_OFF(mask_path), .cap = 4096,
                  .example = "path: mask.png"},
    [INP_BACKEND] = SW_BACKEND_FIELD,
};
static const sw_field sw_sr_fields[] = {
    {.key = "factor", .kind = SW_INT, .required = 1, .off = OP_OFF(factor), SW_GE(2),
     .example = "factor: 4"},
    SW_BACKEND_FIELD,
};

typedef struct sw_op_kind {
  const char *name;
  gds_operator_type type;
  const sw_field *fields;
  int nf;
  const char *form; /* a valid list entry */
} sw_op_kind;

static const sw_op_kind sw_op_kinds[] = {
    {"identity", GDS_OP_IDENTITY, sw_identity_fields, SW_NF(sw_identity_fields), "- identity: {}"},
    {"gaussian_blur", GDS_OP_GAUSSIAN_BLUR, sw_gauss_fields, SW_NF(sw_gauss_fields),
     "- gaussian_blur: {std: 2.0}"},
    {"motion_blur", GDS_OP_MOTION_BLUR, sw_motion_fields, SW_NF(sw_motion_fields),
     "- motion_blur: {length: 9, angle: 30}"},
    {"inpainting", GDS_OP_INPAINTING, sw_inpaint_fields, SW_NF(sw_inpaint_fields),
     "- inpainting: {mask: random, keep: 0.5, mask_seed: 0}"},
    {"super_resolution", GDS_OP_SUPER_RESOLUTION, sw_sr_fields, SW_NF(sw_sr_fields),
     "- super_resolution: {factor: 4}"},
};

/* Keys of `inpainting` that go with each mask kind (beside `mask`); the first is required. */
static const char *const sw_mask_keys[][3] = {
    [GDS_MASK_RANDOM] = {"keep", "mask_seed", NULL},
    [GDS_MASK_BOX] = {"box", NULL, NULL},
    [GDS_MASK_FILE] = {"path", NULL, NULL},
};
static const char *const sw_mask_forms[] = {
    [GDS_MASK_RANDOM] = "{mask: random, keep: 0.5, mask_seed: 0}",
    [GDS_MASK_BOX] = "{mask: box, box: [row, col, height, width]}",
    [GDS_MASK_FILE] = "{mask: file, path: mask.png}",
};

static const sw_field sw_box_elems[4] = {
    {.key = "row", .kind = SW_INT, SW_GE(0), .example = "box: [16, 16, 32, 32]"},
    {.key = "col", .kind = SW_INT, SW_GE(0), .example = "box: [16, 16, 32, 32]"},
    {.key = "height", .kind = SW_INT, SW_GE(1), .example = "box: [16, 16, 32, 32]"},
    {.key = "width", .kind = SW_INT, SW_GE(1), .example = "box: [16, 16, 32, 32]"},
};

static int sw_inpainting(const sw_ctx *c, const yaml_node_t *n, const char *path, yaml_node_t **v,
                         gds_operator_spec *op) {
  char child[SW_PATH];
  const int H = c->s->prior.H, W = c->s->prior.W;
  const char *const *keys = sw_mask_keys[op->mask];
  for (int i = INP_KEEP; i <= INP_PATH; i++) {
    if (!v[i]) continue;
    int ok = 0;
    for (int j = 0; keys[j]; j++) ok |= !strcmp(keys[j], sw_inpaint_fields[i].key);
    if (!ok) {
      sw_path_key(child, path, sw_inpaint_fields[i].key);
      return sw_fail(c, v[i], child, "does not apply to mask: %s (write %s)", sw_mask_names[op->mask],
                     sw_mask_forms[op->mask]);
    }
  }
  const int req = op->mask == GDS_MASK_RANDOM ? INP_KEEP : op->mask == GDS_MASK_BOX ? INP_BOX : INP_PATH;
  if (!v[req]) {
    sw_path_key(child, path, sw_inpaint_fields[req].key);
    return sw_fail(c, n, child, "missing (required with mask: %s); write %s", sw_mask_names[op->mask],
                   sw_mask_forms[op->mask]);
  }
  switch (op->mask) {
  case GDS_MASK_RANDOM: return GDS_SUCCESS;
  case GDS_MASK_BOX: {
    sw_path_key(child, path, "box");
    GDS_CALL(sw_int_tuple(c, v[INP_BOX], child, 4, sw_box_elems,
                          "[row, col, height, width] (the missing rectangle)", op->box));
    const int *b = op->box;
    if ((int64_t)b[0] + b[2] > H || (int64_t)b[1] + b[3] > W)
      return sw_fail(c, v[INP_BOX], child, "box [%d, %d, %d, %d] is not inside the %d x %d image: "
                     "need row + height <= %d and col + width <= %d", b[0], b[1], b[2], b[3], H, W, H, W);
    if ((int64_t)b[2] * b[3] >= (int64_t)H * W)
      return sw_fail(c, v[INP_BOX], child, "box [%d, %d, %d, %d] hides the whole %d x %d image; "
                     "at least one pixel must stay observed", b[0], b[1], b[2], b[3], H, W);
    return GDS_SUCCESS;
  }
  case GDS_MASK_FILE: {
    char rel[sizeof op->mask_path];
    memcpy(rel, op->mask_path, sizeof rel);
    sw_path_key(child, path, "path");
    if (!rel[0]) return sw_fail(c, v[INP_PATH], child, "expected the path of a PNG/PGM mask file");
    GDS_CALL(sw_resolve_file(c, v[INP_PATH], child, rel, op->mask_path, sizeof op->mask_path));
    GDS_CALL(sw_check_image(c, v[INP_PATH], child, op->mask_path, 1));
    return sw_hash_input(c, v[INP_PATH], child, op->mask_path, op->mask_sha256);
  }
  }
  return GDS_SUCCESS;
}

static int sw_operator(const sw_ctx *c, const yaml_node_t *n, const char *path, gds_operator_spec *op) {
  char gotbuf[128], child[SW_PATH];
  if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1) {
    const char *got = n->type == YAML_MAPPING_NODE ? "a mapping with several keys"
                                                   : sw_describe(n, gotbuf, sizeof gotbuf);
    return sw_fail(c, n, path, "expected a one-key mapping such as `- gaussian_blur: {std: 2.0}`, one "
                   "'- ' entry per operator (`- identity: {}` for identity); got %s", got);
  }
  yaml_node_t *k = yaml_document_get_node(c->doc, n->data.mapping.pairs.start->key);
  yaml_node_t *val = yaml_document_get_node(c->doc, n->data.mapping.pairs.start->value);
  const sw_op_kind *kind = NULL;
  for (size_t i = 0; i < sizeof sw_op_kinds / sizeof *sw_op_kinds; i++)
    if (k->type == YAML_SCALAR_NODE && !strcmp(sw_str(k), sw_op_kinds[i].name)) kind = &sw_op_kinds[i];
  if (!kind)
    return sw_fail(c, k, path, "unknown operator '%s'; valid: identity, gaussian_blur, motion_blur, "
                   "inpainting, super_resolution", sw_describe(k, gotbuf, sizeof gotbuf));
  sw_path_key(child, path, kind->name);
  memset(op, 0, sizeof *op);
  op->type = kind->type;

  if (kind->type == GDS_OP_IDENTITY) {
    yaml_node_t *none[SW_NF(sw_identity_fields)];
    if (!sw_is_null(val)) GDS_CALL(sw_mapping(c, val, child, kind->fields, kind->nf, op, none, "{} or {backend: dense}"));
    if (c->s->prior_basis == GDS_PRIOR_BASIS_EIGEN && op->dense)
      return sw_fail(c, val, child, "backend: dense does not apply to a prior given in its own eigenbasis (a 1-D "
                     "spectrum)");
    return GDS_SUCCESS;
  }
  yaml_node_t *v[8];
  const char *form = strchr(kind->form, '{');
  GDS_CALL(sw_mapping(c, val, child, kind->fields, kind->nf, op, v, form));
  if (kind->type == GDS_OP_INPAINTING) GDS_CALL(sw_inpainting(c, val, child, v, op));
  if (kind->type == GDS_OP_SUPER_RESOLUTION) {
    const int H = c->s->prior.H, W = c->s->prior.W, f = op->factor;
    if (H % f || W % f) {
      char divisors[256] = "";
      for (int d = 2; d <= H && d <= W; d++)
        if (!(H % d) && !(W % d) && strlen(divisors) < sizeof divisors - 16)
          snprintf(divisors + strlen(divisors), sizeof divisors - strlen(divisors), "%s%d",
                   divisors[0] ? ", " : "", d);
      char fpath[SW_PATH];
      sw_path_key(fpath, child, "factor");
      return sw_fail(c, v[0], fpath, "factor %d does not divide the image size [%d, %d]; valid: %s", f, H,
                     W, divisors[0] ? divisors : "none (H and W have no common divisor >= 2)");
    }
  }
  if (c->s->prior_basis == GDS_PRIOR_BASIS_EIGEN && (kind->type != GDS_OP_IDENTITY || op->dense))
    return sw_fail(c, k, path, "the prior is a 1-D spectrum (%s: a prior given in its own eigenbasis, images "
                   "are n-vectors), which works with the identity operator only (SPEC 7.6); give a 2-D [H, W] "
                   "spectrum for other operators", c->s->spectrum);
  /* What the operator module can build with representable arithmetic (underflow, overflow,
   * an empty mask), reported at the parameter concerned. */
  char why[768], fpath[SW_PATH];
  if (c->trust) return GDS_SUCCESS; /* checked by the rank that read the files (a mask file among them) */
  int ierr = gds_operator_spec_check(op, c->s->prior.H, c->s->prior.W, why, sizeof why);
  if (ierr == GDS_ERR_INPUT) {
    const int first_param = kind->type == GDS_OP_GAUSSIAN_BLUR || kind->type == GDS_OP_MOTION_BLUR;
    if (first_param) sw_path_key(fpath, child, kind->fields[0].key);
    else snprintf(fpath, sizeof fpath, "%s", child);
    return sw_fail(c, first_param && v[0] ? v[0] : val, fpath, "%s", why);
  }
  return ierr;
}

/* Operators are the same iff their canonical names are (the operator module's naming); a file
 * mask is named by its base name, so the resolved path is part of the key. */
static char *sw_op_key(const gds_operator_spec *o) {
  char name[4400];
  gds_operator_spec_name(o, name, sizeof name);
  const char *path = o->type == GDS_OP_INPAINTING && o->mask == GDS_MASK_FILE ? o->mask_path : "";
  size_t n = strlen(name) + strlen(path) + 2;
  char *key = malloc(n);
  if (key) snprintf(key, n, "%s\n%s", name, path);
  return key;
}

/* Duplicates among the first n entries, by the names `name_of` gives. */
static int sw_spec_duplicates(const sw_ctx *c, const yaml_node_t *list, const char *path, const void *arr,
                              size_t esize, int n, char *(*name_of)(const void *), const char *what) {
  if (n < 2) return GDS_SUCCESS;
  char **names;
  int ierr = GDS_SUCCESS;
  GDS_CALL(GDS_ALLOC(names, n));
  for (int i = 0; i < n && !ierr; i++)
    if (!(names[i] = name_of((const char *)arr + (size_t)i * esize)))
      ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory");
  if (!ierr) ierr = sw_name_duplicates(c, list, path, names, n, what);
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  return ierr;
}

static char *sw_op_key_v(const void *p) { return sw_op_key(p); }
static char *sw_alg_key_v(const void *p) {
  char buf[128];
  gds_algorithm_spec_name(p, buf, sizeof buf);
  return gds_strdup(buf);
}
static char *sw_scheme_key_v(const void *p) {
  char buf[128];
  gds_scheme_spec_name(p, buf, sizeof buf);
  return gds_strdup(buf);
}

/* ---- parameterised entries: `name` or a one-key mapping `name: {parameters}` --------------- */

/* One kind of entry of the algorithm or scheme axis: its parameters, written into the spec
 * (defaults set by `init`). Kinds without an entry here take no parameters. */
typedef struct sw_param_kind {
  int kind;
  const sw_field *fields;
  int nf;
  const char *form; /* a valid entry */
} sw_param_kind;

#define ALG_OFF(member) offsetof(gds_algorithm_spec, member)
#define SCH_OFF(member) offsetof(gds_scheme_spec, member)
static const sw_field sw_ddrm_fields[] = {
    {.key = "eta", .kind = SW_REAL, .off = ALG_OFF(eta), .bounds = SW_LO | SW_HI, .lo = 0, .hi = 1,
     .example = "ddrm: {eta: 0.85, eta_b: 1.0}"},
    {.key = "eta_b", .kind = SW_REAL, .off = ALG_OFF(eta_b), .bounds = SW_LO | SW_HI, .lo = 0, .hi = 1,
     .example = "ddrm: {eta: 0.85, eta_b: 1.0}"},
};
static const sw_param_kind sw_alg_params[] = {
    {GDS_ALG_DDRM, sw_ddrm_fields, SW_NF(sw_ddrm_fields), "- ddrm: {eta: 0.85, eta_b: 1.0}"},
};
static const sw_field sw_ddim_fields[] = {
    {.key = "eta", .kind = SW_REAL, .off = SCH_OFF(eta), .bounds = SW_LO | SW_HI, .lo = 0, .hi = 1,
     .example = "ddim: {eta: 0.0}"},
};
static const sw_param_kind sw_scheme_params[] = {
    {GDS_SCHEME_DDIM, sw_ddim_fields, SW_NF(sw_ddim_fields), "- ddim: {eta: 0.0}"},
};

/* Parse entry `n` of an axis whose kinds are named by `names` (enum order); the kind goes to
 * *(int *)(spec + kind_off), parameters by `params`. */
static int sw_param_entry(const sw_ctx *c, const yaml_node_t *n, const char *path, const char *const *names,
                          const sw_param_kind *params, int nparams, void *spec, size_t kind_off,
                          const char *what) {
  char gotbuf[128], valid[512], child[SW_PATH];
  const yaml_node_t *key = n, *val = NULL;
  if (n->type == YAML_MAPPING_NODE) {
    if (n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
      return sw_fail(c, n, path, "expected a name or a one-key mapping such as `- %s`, got a mapping "
                     "with several keys (one '- ' entry per %s)", params[0].form + 2, what);
    key = yaml_document_get_node(c->doc, n->data.mapping.pairs.start->key);
    val = yaml_document_get_node(c->doc, n->data.mapping.pairs.start->value);
  }
  sw_join(names, valid, sizeof valid);
  if (key->type != YAML_SCALAR_NODE || sw_is_null(key))
    return sw_fail(c, n, path, "expected one of %s (parameterised: `- %s`), got %s", valid,
                   params[0].form + 2, sw_describe(key, gotbuf, sizeof gotbuf));
  int kind = -1;
  for (int i = 0; names[i]; i++)
    if (!strcmp(sw_str(key), names[i])) kind = i;
  if (kind < 0)
    return sw_fail(c, key, path, "unknown %s '%s'; expected one of %s (parameterised: `- %s`)", what,
                   sw_str(key), valid, params[0].form + 2);
  *(int *)((char *)spec + kind_off) = kind;
  const sw_param_kind *pk = NULL;
  for (int i = 0; i < nparams; i++)
    if (params[i].kind == kind) pk = &params[i];
  if (!val || sw_is_null(val)) return GDS_SUCCESS; /* `name` or `name:`: default parameters */
  sw_path_key(child, path, names[kind]);
  yaml_node_t *vals[8];
  char form[160];
  snprintf(form, sizeof form, "%s", pk ? strchr(pk->form, '{') : "{}");
  return sw_mapping(c, val, child, pk ? pk->fields : NULL, pk ? pk->nf : 0, spec, vals, form);
}

/* ---- grid and output ---------------------------------------------------------------- */

enum { GRID_OP, GRID_SIGMA, GRID_ALPHA, GRID_ALG, GRID_SCHEME, GRID_STEPS, GRID_EPS, GRID_INIT, GRID_SEED };
static const sw_field sw_grid_fields[] = {
    [GRID_OP] = {.key = "operator", .kind = SW_NODE, .required = 1,
                 .example = "operator: [gaussian_blur: {std: 2.0}]"},
    [GRID_SIGMA] = {.key = "sigma", .kind = SW_NODE, .required = 1, .example = "sigma: [0.01, 0.05]"},
    [GRID_ALPHA] = {.key = "alpha_dps", .kind = SW_NODE, .example = "alpha_dps: [0.5, 1.0]"},
    [GRID_ALG] = {.key = "algorithm", .kind = SW_NODE, .required = 1,
                  .example = "algorithm: [dps, pigdm, cgdm]"},
    [GRID_SCHEME] = {.key = "scheme", .kind = SW_NODE, .example = "scheme: [ddpm, ddim: {eta: 0.0}]"},
    [GRID_STEPS] = {.key = "sampler_steps", .kind = SW_NODE, .example = "sampler_steps: [20, 100, 1000]"},
    [GRID_EPS] = {.key = "eps", .kind = SW_NODE, .example = "eps: [0]"},
    [GRID_INIT] = {.key = "init", .kind = SW_NODE, .example = "init: [normal, exact]"},
    [GRID_SEED] = {.key = "seed", .kind = SW_NODE, .example = "seed: [0, 1]"},
};
static const sw_field sw_sigma_elem = {.key = "sigma", .kind = SW_REAL, SW_GT(0),
                                       .example = "sigma: [0.01, 0.05]"};
static const sw_field sw_alpha_elem = {.key = "alpha_dps", .kind = SW_REAL, SW_GT(0),
                                       .example = "alpha_dps: [0.5, 1.0]"};
/* Seeds: the whole non-negative int64 range (they key Philox counters as uint64). */
static const sw_field sw_seed_elem = {.key = "seed", .kind = SW_I64, SW_GE(0),
                                      .example = "seed: [0, 1] (integers in 0 .. 9223372036854775807)"};
static const sw_field sw_eps_elem = {.key = "eps", .kind = SW_REAL, .bounds = SW_LO | SW_HI | SW_HI_OPEN,
                                     .lo = 0, .hi = 1, .example = "eps: [0, 0.001]"};

/* A list of parameterised entries (algorithm, scheme) into a new array of specs. */
static int sw_param_list(const sw_ctx *c, const yaml_node_t *n, const char *path, const char *example,
                         const char *const *names, const sw_param_kind *params, int nparams, size_t esize,
                         size_t kind_off, void (*init)(void *), char *(*name_of)(const void *),
                         const char *what, int *count, void *arrp) {
  char child[SW_PATH];
  GDS_CALL(sw_expect_list(c, n, path, example));
  int len = sw_list_len(n);
  char *arr;
  GDS_CALL(gds_calloc((size_t)len, esize, &arr));
  *(void **)arrp = arr;
  *count = len;
  for (int i = 0; i < len; i++) {
    const yaml_node_t *item = yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
    void *spec = arr + (size_t)i * esize;
    init(spec);
    int quiet = gds_error_set_quiet(1);
    int bad = sw_param_entry(c, item, "", names, params, nparams, spec, kind_off, what);
    gds_error_set_quiet(quiet);
    if (bad) {
      GDS_CALL(sw_spec_duplicates(c, n, path, arr, esize, i, name_of, what));
      sw_path_index(child, path, i);
      init(spec);
      return sw_param_entry(c, item, child, names, params, nparams, spec, kind_off, what);
    }
  }
  return sw_spec_duplicates(c, n, path, arr, esize, len, name_of, what);
}

/* Defaults of the parameters: ddrm η = 0.85, η_b = 1 (Kawar et al. 2022); ddim η = 0 (deterministic). */
static void sw_alg_init(void *p) {
  gds_algorithm_spec *a = p;
  *a = (gds_algorithm_spec){.kind = GDS_ALG_NONE, .eta = 0.85, .eta_b = 1.0};
}
static void sw_scheme_init(void *p) { *(gds_scheme_spec *)p = (gds_scheme_spec){.kind = GDS_SCHEME_DDPM, .eta = 0}; }

/* Times a respaced sampler with S steps visits (SPEC §7.1): 0 and τ_k = 1 + (k − 1)·⌊T/S⌋. */
static int sw_visits(int T, int S, int t) {
  if (t == 0) return 1;
  const int skip = T / S;
  return (t - 1) % skip == 0 && (t - 1) / skip < S;
}

/* The largest time <= t that every sampler_steps value visits: lower t to each value's own
 * largest visited time until none lowers it (every sampler visits 1 and 0). */
static int sw_common_visited(const gds_sweep *s, int t) {
  for (int changed = 1; changed && t > 1;) {
    changed = 0;
    for (int j = 0; j < s->n_steps; j++) {
      const int S = s->steps[j], skip = s->T / S;
      int k = (t - 1) / skip;
      if (k > S - 1) k = S - 1;
      const int tau = 1 + k * skip;
      if (tau < t) t = tau, changed = 1;
    }
  }
  return t;
}

/* "951, 901, ..., 1, 0": the times a sampler with S steps visits, from the first. */
static void sw_visited_text(int T, int S, char *buf, size_t len) {
  const int skip = T / S;
  buf[0] = '\0';
  for (int k = S; k >= 1 && k > S - 3; k--)
    snprintf(buf + strlen(buf), len - strlen(buf), "%d, ", 1 + (k - 1) * skip);
  if (S > 4) snprintf(buf + strlen(buf), len - strlen(buf), "..., ");
  if (S > 3) snprintf(buf + strlen(buf), len - strlen(buf), "1, ");
  snprintf(buf + strlen(buf), len - strlen(buf), "0");
}

/* Value of `key` in mapping `m` (NULL if absent or m is not a mapping). */
static const yaml_node_t *sw_find_value(const sw_ctx *c, const yaml_node_t *m, const char *key) {
  if (!m || m->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
    const yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
    if (k->type == YAML_SCALAR_NODE && !strcmp(sw_str(k), key)) return yaml_document_get_node(c->doc, p->value);
  }
  return NULL;
}

/* Each operator (a light description: no kernel is built) is asked about each algorithm
 * (gds_law_supports); a refusal is reported at the algorithm's line, naming the operator. */
static int sw_law_pairs(const sw_ctx *c, const yaml_node_t *ops, const yaml_node_t *algs) {
  const gds_sweep *s = c->s;
  char child[SW_PATH];
  for (int i = 0; i < s->n_op; i++) {
    gds_operator op;
    gds_operator_describe(&s->op[i], s->prior.H, s->prior.W, &op);
    for (int a = 0; a < s->n_alg; a++) {
      int quiet = gds_error_set_quiet(1);
      int ierr = gds_law_supports(&op, &s->alg[a]);
      gds_error_set_quiet(quiet);
      if (!ierr) continue;
      if (ierr != GDS_ERR_INPUT) GDS_CALL(ierr);
      char alg[128], why[512];
      gds_algorithm_spec_name(&s->alg[a], alg, sizeof alg);
      if (s->alg[a].kind == GDS_ALG_DDRM && s->op[i].dense)
        snprintf(why, sizeof why, "ddrm needs an SVD of A, which the %s backend (backend: dense) has only when "
                 "A A^T is diagonal (identity, inpainting, super_resolution); drop backend: dense to use the "
                 "operator's own backend", gds_law_backend_for(&op));
      else
        snprintf(why, sizeof why, "the %s backend that computes this operator's exact law does not support it",
                 gds_law_backend_for(&op));
      const yaml_node_t *op_item = yaml_document_get_node(c->doc, ops->data.sequence.items.start[i]);
      sw_path_index(child, "grid.algorithm", a);
      return sw_fail(c, yaml_document_get_node(c->doc, algs->data.sequence.items.start[a]), child,
                     "%s cannot be combined with grid.operator[%d] = %s (line %lu): %s", alg, i, op.name,
                     (unsigned long)op_item->start_mark.line + 1, why);
    }
  }
  return GDS_SUCCESS;
}

static int sw_grid(const sw_ctx *c, const yaml_node_t *n) {
  gds_sweep *s = c->s;
  yaml_node_t *v[SW_NF(sw_grid_fields)];
  char child[SW_PATH], gotbuf[128];
  GDS_CALL(sw_mapping(c, n, "grid", sw_grid_fields, SW_NF(sw_grid_fields), NULL, v,
                      "{operator: [...], sigma: [...], alpha_dps: [...], algorithm: [...], scheme: [...], "
                      "sampler_steps: [...], eps: [...], init: [...], seed: [...]}"));

  const yaml_node_t *ops = v[GRID_OP];
  if (ops->type != YAML_SEQUENCE_NODE)
    return sw_fail(c, ops, "grid.operator", "expected a list of operators, e.g.\n  operator:\n"
                   "    - gaussian_blur: {std: 2.0}\n    - motion_blur: {length: 9, angle: 30}\ngot %s",
                   sw_describe(ops, gotbuf, sizeof gotbuf));
  int nop = sw_list_len(ops);
  if (!nop)
    return sw_fail(c, ops, "grid.operator", "must not be empty, e.g. operator: [gaussian_blur: {std: 2.0}]");
  GDS_CALL(GDS_ALLOC(s->op, nop));
  s->n_op = nop;
  for (int i = 0; i < nop; i++) {
    yaml_node_t *item = yaml_document_get_node(c->doc, ops->data.sequence.items.start[i]);
    int quiet = gds_error_set_quiet(1);
    int bad = sw_operator(c, item, "", &s->op[i]);
    gds_error_set_quiet(quiet);
    if (bad) {
      GDS_CALL(sw_spec_duplicates(c, ops, "grid.operator", s->op, sizeof *s->op, i, sw_op_key_v, "operator"));
      sw_path_index(child, "grid.operator", i);
      return sw_operator(c, item, child, &s->op[i]);
    }
  }
  GDS_CALL(sw_spec_duplicates(c, ops, "grid.operator", s->op, sizeof *s->op, nop, sw_op_key_v, "operator"));

  GDS_CALL(sw_list(c, v[GRID_SIGMA], "grid.sigma", &sw_sigma_elem, sizeof(double), &s->n_sigma, &s->sigma));
  if (v[GRID_ALPHA]) {
    GDS_CALL(sw_list(c, v[GRID_ALPHA], "grid.alpha_dps", &sw_alpha_elem, sizeof(double), &s->n_alpha,
                     &s->alpha_dps));
  } else {
    GDS_CALL(GDS_ALLOC(s->alpha_dps, 1));
    s->n_alpha = 1;
    s->alpha_dps[0] = 1.0;
  }
  /* The algorithm and scheme modules own the names (enum order) and canonical names. */
  GDS_CALL(sw_param_list(c, v[GRID_ALG], "grid.algorithm", "algorithm: [dps, pigdm, cgdm]",
                         gds_algorithm_names(), sw_alg_params, SW_NF(sw_alg_params), sizeof(gds_algorithm_spec),
                         ALG_OFF(kind), sw_alg_init, sw_alg_key_v, "algorithm", &s->n_alg, &s->alg));
  if (v[GRID_SCHEME]) {
    GDS_CALL(sw_param_list(c, v[GRID_SCHEME], "grid.scheme", "scheme: [ddpm, ddim: {eta: 0.0}]",
                           gds_scheme_names(), sw_scheme_params, SW_NF(sw_scheme_params),
                           sizeof(gds_scheme_spec), SCH_OFF(kind), sw_scheme_init, sw_scheme_key_v, "scheme",
                           &s->n_scheme, &s->scheme));
    for (int i = 0; i < s->n_scheme; i++)
      if (!gds_scheme_valid_for(s->scheme[i].kind, s->process)) {
        const yaml_node_t *item = yaml_document_get_node(c->doc, v[GRID_SCHEME]->data.sequence.items.start[i]);
        sw_path_index(child, "grid.scheme", i);
        if (s->process == GDS_PROCESS_DDPM)
          return sw_fail(c, item, child, "scheme '%s' discretises the continuous VP SDE "
                         "(diffusion: {process: vp_sde}); the discrete process (diffusion.steps) "
                         "has ddpm and ddim: {eta}", gds_scheme_name(s->scheme[i].kind));
        return sw_fail(c, item, child, "scheme '%s' is for the discrete process; with diffusion.process: "
                       "vp_sde the schemes are em, ei, ddpm, euler, heun, rk4", gds_scheme_name(s->scheme[i].kind));
      }
  } else {
    GDS_CALL(GDS_ALLOC(s->scheme, 1));
    s->n_scheme = 1;
    s->scheme[0] = (gds_scheme_spec){GDS_SCHEME_DDPM, 0};
  }

  const int vp = s->process == GDS_PROCESS_VP_SDE;
  if (v[GRID_STEPS]) {
    char ex[128];
    if (vp) snprintf(ex, sizeof ex, "sampler_steps: [10, 100, 1000] (K, the number of steps on [eps, 1])");
    else snprintf(ex, sizeof ex, "sampler_steps: [%d, %d] (1..T = %d; the respaced DDPM/DDIM steps)",
                  s->T >= 20 ? 20 : 1, s->T, s->T);
    const sw_field steps_elem = {.key = "sampler_steps", .kind = SW_INT, .bounds = SW_LO | SW_HI, .lo = 1,
                                 .hi = vp ? SW_MAX_STEPS : s->T, .example = ex};
    GDS_CALL(sw_list(c, v[GRID_STEPS], "grid.sampler_steps", &steps_elem, sizeof(int), &s->n_steps, &s->steps));
    if (vp) /* the step-index axis k = 0..max K of the curves */
      for (int i = 0; i < s->n_steps; i++)
        if (s->steps[i] > s->T) s->T = s->steps[i];
  } else if (vp) {
    return sw_fail(c, n, "grid.sampler_steps", "missing (required with diffusion.process: vp_sde): the "
                   "number of steps K, e.g. sampler_steps: [10, 100, 1000]");
  } else {
    GDS_CALL(GDS_ALLOC(s->steps, 1));
    s->n_steps = 1;
    s->steps[0] = s->T;
  }

  if (v[GRID_EPS]) {
    GDS_CALL(sw_list(c, v[GRID_EPS], "grid.eps", &sw_eps_elem, sizeof(double), &s->n_eps, &s->eps));
    if (s->process == GDS_PROCESS_DDPM)
      for (int i = 0; i < s->n_eps; i++)
        if (s->eps[i] != 0) {
          sw_path_index(child, "grid.eps", i);
          return sw_fail(c, yaml_document_get_node(c->doc, v[GRID_EPS]->data.sequence.items.start[i]), child,
                         "the truncation time eps applies to the continuous VP SDE only "
                         "(diffusion: {process: vp_sde}); with the discrete ddpm process only eps: [0] is "
                         "allowed (or leave eps out)");
        }
  } else {
    GDS_CALL(GDS_ALLOC(s->eps, 1));
    s->n_eps = 1;
    s->eps[0] = 0;
  }

  if (v[GRID_INIT]) {
    _Static_assert(sizeof(gds_init) == sizeof(int), "gds_init must be int-sized");
    const sw_field init_elem = {.key = "init", .kind = SW_ENUM, .choices = gds_init_names(),
                                .example = "init: [normal, exact]"};
    GDS_CALL(sw_list(c, v[GRID_INIT], "grid.init", &init_elem, sizeof(gds_init), &s->n_init, &s->init));
  } else {
    GDS_CALL(GDS_ALLOC(s->init, 1));
    s->n_init = 1;
    s->init[0] = GDS_INIT_NORMAL;
  }

  if (v[GRID_SEED]) {
    GDS_CALL(sw_list(c, v[GRID_SEED], "grid.seed", &sw_seed_elem, sizeof(int64_t), &s->n_seed, &s->seed));
  } else {
    GDS_CALL(GDS_ALLOC(s->seed, 1));
    s->n_seed = 1;
    s->seed[0] = 0;
  }

  /* ddrm exists for the discrete process only (SPEC §7.2). */
  for (int a = 0; a < s->n_alg && vp; a++)
    if (s->alg[a].kind == GDS_ALG_DDRM) {
      sw_path_index(child, "grid.algorithm", a);
      return sw_fail(c, yaml_document_get_node(c->doc, v[GRID_ALG]->data.sequence.items.start[a]), child,
                     "ddrm is defined on the discrete process (SPEC 7.2); with diffusion.process: vp_sde the "
                     "algorithms are none, dps, pigdm and cgdm");
    }
  /* Every (operator, algorithm) pair must have an exact law in the backend the operator uses
   * (e.g. ddrm needs an SVD of A: the dense backend has it only when A Aᵀ is diagonal). */
  return sw_law_pairs(c, ops, v[GRID_ALG]);
  return GDS_SUCCESS;
}

enum { OUT_SAMPLES, OUT_CKPT, OUT_W2T };
static const sw_field sw_output_fields[] = {
    [OUT_SAMPLES] = {.key = "samples", .kind = SW_INT, .off = SW_OFF(samples), SW_GE(0),
                     .example = "samples: 2"},
    [OUT_CKPT] = {.key = "checkpoints", .kind = SW_NODE, .example = "checkpoints: [1000, 500, 0]"},
    [OUT_W2T] = {.key = "w2_times", .kind = SW_NODE, .example = "w2_times: all"},
};

static int sw_int_cmp(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int sw_output(const sw_ctx *c, const yaml_node_t *n) {
  gds_sweep *s = c->s;
  const int T = s->T;
  yaml_node_t *v[SW_NF(sw_output_fields)] = {NULL};
  char ex_ckpt[96], ex_w2t[96];
  snprintf(ex_ckpt, sizeof ex_ckpt, "checkpoints: [%d, %d, 0]", T, T / 2);
  snprintf(ex_w2t, sizeof ex_w2t, "w2_times: [0, %d, %d]", T / 2, T);
  const sw_field ckpt = {.kind = SW_INT, .bounds = SW_LO | SW_HI, .lo = 0, .hi = T, .example = ex_ckpt};
  const sw_field w2t = {.kind = SW_INT, .bounds = SW_LO | SW_HI, .lo = 0, .hi = T, .example = ex_w2t};

  s->samples = 0;
  if (n)
    GDS_CALL(sw_mapping(c, n, "output", sw_output_fields, SW_NF(sw_output_fields), s, v,
                        "{samples: 2, checkpoints: [1000, 500, 0], w2_times: all}"));
  /* Default checkpoints, in sampling order, repeats dropped. Discrete: T, 3T/4, T/2, T/4, 0,
   * each moved down to the nearest time that every sampler_steps value visits (SPEC §7.1;
   * without respacing they stay). vp_sde: step indices 0, K/4, K/2, 3K/4, K of the smallest K
   * (every sampler reaches them). */
  const int vp = s->process == GDS_PROCESS_VP_SDE;
  int kmin = s->n_steps ? s->steps[0] : 0;
  for (int j = 1; j < s->n_steps; j++)
    if (s->steps[j] < kmin) kmin = s->steps[j];
  int def[5] = {T, 3 * T / 4, T / 2, T / 4, 0}, ndef = 0;
  if (vp) {
    const int k[5] = {0, kmin / 4, kmin / 2, 3 * kmin / 4, kmin};
    memcpy(def, k, sizeof k);
  }
  for (int i = 0; i < 5; i++) {
    int t = vp ? def[i] : sw_common_visited(s, def[i]);
    if (!ndef || def[ndef - 1] != t) def[ndef++] = t;
  }
  if (v[OUT_CKPT]) {
    GDS_CALL(sw_list(c, v[OUT_CKPT], "output.checkpoints", &ckpt, sizeof(int), &s->n_ckpt, &s->ckpt));
    for (int i = 0; i < s->n_ckpt && vp; i++)
      if (s->ckpt[i] > kmin) {
        char child[SW_PATH];
        sw_path_index(child, "output.checkpoints", i);
        return sw_fail(c, yaml_document_get_node(c->doc, v[OUT_CKPT]->data.sequence.items.start[i]), child,
                       "step index %d is past the last step of the sampler with sampler_steps: %d (with "
                       "process: vp_sde checkpoints are step indices k = 0 (u = 1) .. K (u = eps), and must "
                       "be reached by every sampler_steps value: at most %d)", s->ckpt[i], kmin, kmin);
      }
    for (int i = 0; i < s->n_ckpt && !vp; i++)
      for (int j = 0; j < s->n_steps; j++)
        if (!sw_visits(T, s->steps[j], s->ckpt[i])) {
          char child[SW_PATH], where[128] = "", suggest[128] = "", times[160];
          const int S = s->steps[j];
          sw_visited_text(T, S, times, sizeof times);
          if (c->steps_node)
            snprintf(where, sizeof where, " (grid.sampler_steps[%d], line %lu)", j,
                     (unsigned long)yaml_document_get_node(c->doc, c->steps_node->data.sequence.items.start[j])
                             ->start_mark.line + 1);
          for (int k = 0; k < ndef; k++)
            snprintf(suggest + strlen(suggest), sizeof suggest - strlen(suggest), "%s%d", k ? ", " : "", def[k]);
          sw_path_index(child, "output.checkpoints", i);
          return sw_fail(c, yaml_document_get_node(c->doc, v[OUT_CKPT]->data.sequence.items.start[i]), child,
                         "time %d is never visited by the sampler with sampler_steps: %d%s, which runs "
                         "at t = %s (tau_k = 1 + (k - 1)*floor(T/S), SPEC 7.1); checkpoints must be times "
                         "that every sampler_steps value visits, e.g. [%s]", s->ckpt[i], S, where, times,
                         suggest);
        }
  } else {
    GDS_CALL(GDS_ALLOC(s->ckpt, ndef));
    memcpy(s->ckpt, def, sizeof(int) * (size_t)ndef);
    s->n_ckpt = ndef;
  }

  const yaml_node_t *w = v[OUT_W2T];
  if (!w || (w->type == YAML_SCALAR_NODE && !strcmp(sw_str(w), "all"))) {
    GDS_CALL(GDS_ALLOC(s->w2_times, T + 1));
    s->n_w2t = T + 1;
    for (int t = 0; t <= T; t++) s->w2_times[t] = t;
    return GDS_SUCCESS;
  }
  if (w->type != YAML_SEQUENCE_NODE) {
    char gotbuf[128];
    return sw_fail(c, w, "output.w2_times", "expected all or a list of times in 0..%d, e.g. %s; got %s",
                   T, ex_w2t, sw_describe(w, gotbuf, sizeof gotbuf));
  }
  GDS_CALL(sw_list(c, w, "output.w2_times", &w2t, sizeof(int), &s->n_w2t, &s->w2_times));
  qsort(s->w2_times, (size_t)s->n_w2t, sizeof(int), sw_int_cmp);
  return GDS_SUCCESS;
}

/* x² must be a finite normal double (σ², std² enter every covariance). */
static const char *sw_square_problem(double x) {
  const double x2 = x * x;
  if (x2 < DBL_MIN) return "underflows";
  if (!isfinite(x2)) return "overflows";
  return NULL;
}

/* a·b (non-negative) without int64 overflow, saturating at INT64_MAX. */
static int64_t sw_mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

/* Values whose arithmetic would not be representable, caught before anything runs
 * (SPEC §4: impossible combinations are input errors): σ², σ²/α_dps, the white prior's scale,
 * and the sizes of the result arrays. */
static int sw_arithmetic(const sw_ctx *c, yaml_node_t *const *top) {
  const gds_sweep *s = c->s;
  char child[SW_PATH];
  const yaml_node_t *grid = top[TOP_GRID];
  const yaml_node_t *sig_node = sw_find_value(c, grid, "sigma"), *alpha_node = sw_find_value(c, grid, "alpha_dps");
  for (int i = 0; i < s->n_sigma; i++) {
    const char *p = sw_square_problem(s->sigma[i]);
    if (!p) continue;
    sw_path_index(child, "grid.sigma", i);
    return sw_fail(c, yaml_document_get_node(c->doc, sig_node->data.sequence.items.start[i]), child,
                   "sigma = %g %s: sigma² = %g is not a normal double (%g .. %g); sigma must lie in "
                   "[1.5e-154, 1.3e154]", s->sigma[i], p, s->sigma[i] * s->sigma[i], DBL_MIN, DBL_MAX);
  }
  int dps = 0;
  for (int a = 0; a < s->n_alg; a++) dps |= gds_algorithm_uses_alpha(s->alg[a].kind);
  if (dps && alpha_node) {
    double smin = s->sigma[0], smax = s->sigma[0];
    int imin = 0, imax = 0;
    for (int i = 1; i < s->n_sigma; i++) {
      if (s->sigma[i] < smin) smin = s->sigma[i], imin = i;
      if (s->sigma[i] > smax) smax = s->sigma[i], imax = i;
    }
    for (int k = 0; k < s->n_alpha; k++) {
      const double a = s->alpha_dps[k], lo = smin * smin / a, hi = smax * smax / a;
      const int under = lo < DBL_MIN, over = !isfinite(hi);
      if (!under && !over) continue;
      sw_path_index(child, "grid.alpha_dps", k);
      return sw_fail(c, yaml_document_get_node(c->doc, alpha_node->data.sequence.items.start[k]), child,
                     "alpha_dps = %g %s with sigma = %g (grid.sigma[%d]): the dps covariance C_t = "
                     "sigma²/alpha_dps = %g is not a normal double (%g .. %g)", a,
                     under ? "underflows" : "overflows", under ? smin : smax, under ? imin : imax,
                     under ? lo : hi, DBL_MIN, DBL_MAX);
    }
  }
  if (s->prior.white) {
    const yaml_node_t *white = sw_find_value(c, top[TOP_PRIOR], "white");
    const char *p = sw_square_problem(s->prior.white_std);
    if (p)
      return sw_fail(c, sw_find_value(c, white, "std"), "prior.white.std", "std = %g %s: the prior covariance "
                     "std²·I = %g is not a normal double; std must lie in [1.5e-154, 1.3e154]",
                     s->prior.white_std, p, s->prior.white_std * s->prior.white_std);
    if (fabs(s->prior.white_mean) > 1e150)
      return sw_fail(c, sw_find_value(c, white, "mean"), "prior.white.mean", "mean = %g overflows: its "
                     "square (in the W2 of the means) exceeds the largest double; |mean| must be at most 1e150",
                     s->prior.white_mean);
  }
  /* Result arrays: element counts below 2^53 (so that no size, offset or index overflows 64 bits,
   * and counts stay exact in doubles). */
  const int64_t lim = (int64_t)1 << 53, d = (int64_t)s->prior.H * s->prior.W;
  int64_t np = 1;
  const int64_t axes[9] = {s->n_op, s->n_sigma, s->n_alpha, s->n_alg, s->n_scheme, s->n_steps, s->n_eps, s->n_init,
                           s->n_seed};
  for (int i = 0; i < 9; i++) np = sw_mul(np, axes[i]);
  const int64_t curves = sw_mul(np, (int64_t)s->T + 1), images = sw_mul(np, d),
                traj = sw_mul(sw_mul(images, s->samples), s->n_ckpt);
  const char *what = np > lim ? "grid points" : curves > lim ? "values of the W2 curves (points x (T+1))"
                   : images > lim ? "pixels of the sampler means (points x H x W)"
                   : traj > lim ? "pixels of the trajectories (points x samples x checkpoints x H x W)" : NULL;
  if (what) {
    const int64_t n = np > lim ? np : curves > lim ? curves : images > lim ? images : traj;
    return sw_fail(c, grid, "grid", "overflow: the sweep would hold %s%lld %s, more than 2^53; the grid has "
                   "%lld x %lld x %lld x %lld x %lld x %lld x %lld x %lld x %lld points; split it into "
                   "several sweeps", n == INT64_MAX ? "at least " : "", (long long)n, what,
                   (long long)axes[0], (long long)axes[1], (long long)axes[2], (long long)axes[3],
                   (long long)axes[4], (long long)axes[5], (long long)axes[6], (long long)axes[7],
                   (long long)axes[8]);
  }
  return GDS_SUCCESS;
}

static int sw_top(const sw_ctx *c, const yaml_node_t *root) {
  gds_sweep *s = c->s;
  yaml_node_t *v[SW_NF(sw_top_fields)];
  GDS_CALL(sw_mapping(c, root, "", sw_top_fields, SW_NF(sw_top_fields), s, v,
                      "name: ..., prior: {...}, diffusion: {...}, grid: {...}, output: {...}"));
  if (!s->name[0] || strspn(s->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") !=
                         strlen(s->name))
    return sw_fail(c, v[TOP_NAME], "name", "must match [A-Za-z0-9_.-]+ (letters, digits, '_', '.', '-'), "
                   "got '%s'", s->name);
  /* Sections in dependency order (grid needs the image size, output needs T), whatever their
   * order in the file. */
  GDS_CALL(sw_prior(c, v[TOP_PRIOR]));
  GDS_CALL(sw_diffusion(c, v[TOP_DIFFUSION]));
  GDS_CALL(sw_grid(c, v[TOP_GRID]));
  sw_ctx cg = *c;
  cg.steps_node = sw_find_value(c, v[TOP_GRID], "sampler_steps");
  GDS_CALL(sw_output(&cg, v[TOP_OUTPUT]));
  GDS_CALL(sw_arithmetic(c, v));
  return GDS_SUCCESS;
}

/* ---- entry points ------------------------------------------------------------------- */

static int sw_yaml_error(const char *file, const yaml_parser_t *p, const char *text, size_t len) {
  if (p->error == YAML_MEMORY_ERROR) GDS_ERROR(GDS_ERR_RUNTIME, "%s: out of memory parsing YAML", file);
  unsigned long line = (unsigned long)p->problem_mark.line + 1, col = (unsigned long)p->problem_mark.column + 1;
  if (p->error == YAML_READER_ERROR) { /* bad encoding: libyaml gives a byte offset only */
    line = 1;
    col = 1;
    for (size_t i = 0; i < p->problem_offset && i < len; i++, col++)
      if (text[i] == '\n') line++, col = 0;
  }
  char context[256] = "";
  if (p->context)
    snprintf(context, sizeof context, " (%s that started at line %lu, column %lu)", p->context,
             (unsigned long)p->context_mark.line + 1, (unsigned long)p->context_mark.column + 1);
  GDS_ERROR(GDS_ERR_INPUT, "%s:%lu:%lu: malformed YAML: %s%s", file, line, col,
            p->problem ? p->problem : "unknown error", context);
}

int gds_sweep_parse(const char *text, size_t len, const char *filename, const char *dir, gds_sweep **out) {
  return gds_sweep_parse_trusted(text, len, filename, dir, NULL, out);
}

int gds_sweep_parse_trusted(const char *text, size_t len, const char *filename, const char *dir,
                            const gds_sweep_trust *trust, gds_sweep **out) {
  int ierr = GDS_SUCCESS;
  gds_sweep *s = NULL;
  yaml_parser_t parser;
  yaml_document_t doc, extra;
  int have_parser = 0, have_doc = 0;
  if (!out || !text) GDS_ERROR(GDS_ERR_RUNTIME, "gds_sweep_parse: NULL argument");
  *out = NULL;
  if (!filename) filename = "<sweep>";
  if (len > (size_t)GDS_SWEEP_MAX_BYTES)
    GDS_ERROR(GDS_ERR_INPUT, "%s: %zu bytes, larger than the limit of %d MiB for a sweep file", filename, len,
              GDS_SWEEP_MAX_BYTES >> 20);

  GDS_CALL(GDS_ALLOC(s, 1));
  s->path = gds_strdup(filename);
  s->dir = gds_strdup(dir && dir[0] ? dir : ".");
  if (!s->path || !s->dir || gds_calloc(len + 1, 1, &s->text)) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory");
    goto done;
  }
  memcpy(s->text, text, len);
  s->text_len = len;

  if (!yaml_parser_initialize(&parser)) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "cannot initialise libyaml");
    goto done;
  }
  have_parser = 1;
  yaml_parser_set_input_string(&parser, (const unsigned char *)s->text, len);
  if (!yaml_parser_load(&parser, &doc)) { /* libyaml frees the partial document */
    ierr = sw_yaml_error(filename, &parser, text, len);
    goto done;
  }
  have_doc = 1;
  sw_ctx c = {.doc = &doc, .file = filename, .s = s, .trust = trust};
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root) {
    ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                           "%s:1: the sweep file is empty; expected a mapping with name, prior, "
                           "diffusion, grid and output", filename);
    goto done;
  }
  if (!yaml_parser_load(&parser, &extra)) {
    ierr = sw_yaml_error(filename, &parser, text, len);
    goto done;
  }
  yaml_node_t *root2 = yaml_document_get_root_node(&extra);
  unsigned long line2 = root2 ? (unsigned long)root2->start_mark.line + 1 : 0;
  yaml_document_delete(&extra);
  if (root2) {
    ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                           "%s:%lu: a second YAML document; a sweep file holds exactly one", filename, line2);
    goto done;
  }
  GDS_CALL_GOTO(ierr, done, sw_top(&c, root));

done:
  if (have_doc) yaml_document_delete(&doc);
  if (have_parser) yaml_parser_delete(&parser);
  if (ierr) gds_sweep_destroy(&s);
  *out = s;
  return ierr;
}

int gds_sweep_load(const char *path, gds_sweep **out) {
  int ierr;
  if (!path || !out) GDS_ERROR(GDS_ERR_RUNTIME, "gds_sweep_load: NULL argument");
  *out = NULL;
  /* Refuse what is not a regular file of sane size before reading a byte: a FIFO or device
   * (/dev/zero) would block or never end, a directory is not a sweep. O_NONBLOCK: opening a
   * FIFO must not wait for a writer; fstat then checks what was actually opened. */
  struct stat st;
  if (stat(path, &st)) GDS_ERROR(GDS_ERR_INPUT, "cannot read sweep file '%s': %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode))
    GDS_ERROR(GDS_ERR_INPUT, "'%s' is a directory, not a sweep file (give the path of a .yaml file)", path);
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) GDS_ERROR(GDS_ERR_INPUT, "cannot read sweep file '%s': %s", path, strerror(errno));
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    GDS_ERROR(GDS_ERR_INPUT, "'%s' is not a regular file (%s); a sweep file must be a regular YAML file",
              path, S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO (named pipe)"
              : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device" : S_ISSOCK(st.st_mode) ? "a socket"
              : "not a plain file");
  }
  if (st.st_size > GDS_SWEEP_MAX_BYTES) {
    close(fd);
    GDS_ERROR(GDS_ERR_INPUT, "sweep file '%s' is %lld bytes, larger than the limit of %d MiB: a sweep "
              "file describes a grid; it is not a data file", path, (long long)st.st_size,
              GDS_SWEEP_MAX_BYTES >> 20);
  }
  /* Read at most the limit + 1 bytes: a file that grows while being read is caught too. */
  size_t cap = (size_t)st.st_size + 1, len = 0;
  char *text = malloc(cap);
  if (!text) {
    close(fd);
    GDS_ERROR(GDS_ERR_RUNTIME, "out of memory reading '%s'", path);
  }
  for (;;) {
    if (len == cap) {
      if (cap > (size_t)GDS_SWEEP_MAX_BYTES) break;
      size_t ncap = 2 * cap > (size_t)GDS_SWEEP_MAX_BYTES + 1 ? (size_t)GDS_SWEEP_MAX_BYTES + 1 : 2 * cap;
      char *bigger = realloc(text, ncap);
      if (!bigger) {
        free(text);
        close(fd);
        GDS_ERROR(GDS_ERR_RUNTIME, "out of memory reading '%s'", path);
      }
      text = bigger;
      cap = ncap;
    }
    ssize_t got = read(fd, text + len, cap - len);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int e = errno;
      free(text);
      close(fd);
      GDS_ERROR(GDS_ERR_INPUT, "cannot read sweep file '%s': %s", path, strerror(e));
    }
    if (got == 0) break;
    len += (size_t)got;
  }
  close(fd);
  if (len > (size_t)GDS_SWEEP_MAX_BYTES) {
    free(text);
    GDS_ERROR(GDS_ERR_INPUT, "sweep file '%s' grew beyond the limit of %d MiB while being read", path,
              GDS_SWEEP_MAX_BYTES >> 20);
  }
  /* dirname without modifying `path` */
  const char *slash = strrchr(path, '/');
  char *dir = gds_strdup(path);
  if (!dir) {
    free(text);
    GDS_ERROR(GDS_ERR_RUNTIME, "out of memory");
  }
  if (!slash) strcpy(dir, ".");
  else dir[slash == path ? 1 : slash - path] = '\0';
  ierr = gds_sweep_parse(text, len, path, dir, out);
  free(text);
  free(dir);
  if (ierr) gds_error_trace(ierr, __FILE__, __LINE__, __func__);
  return ierr;
}

void gds_sweep_destroy(gds_sweep **sp) {
  if (!sp || !*sp) return;
  gds_sweep *s = *sp;
  free(s->path);
  free(s->dir);
  free(s->text);
  free(s->op);
  free(s->sigma);
  free(s->alpha_dps);
  free(s->alg);
  free(s->scheme);
  free(s->steps);
  free(s->eps);
  free(s->init);
  free(s->seed);
  free(s->ckpt);
  free(s->w2_times);
  free(s);
  *sp = NULL;
}

int64_t gds_sweep_npoints(const gds_sweep *s) {
  return (int64_t)s->n_op * s->n_sigma * s->n_alpha * s->n_alg * s->n_scheme * s->n_steps * s->n_eps *
         s->n_init * s->n_seed;
}

/* ---- canonical form and fingerprint ------------------------------------------------- */

typedef struct sw_buf {
  char *p;
  size_t n, cap;
  int err;
} sw_buf;

static void sw_put(sw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sw_put(sw_buf *b, const char *fmt, ...) {
  if (b->err) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0) { b->err = 1; return; }
    if ((size_t)k < b->cap - b->n) { b->n += (size_t)k; return; }
    size_t cap = 2 * b->cap + (size_t)k + 1;
    char *q = realloc(b->p, cap);
    if (!q) { b->err = 1; return; }
    b->p = q;
    b->cap = cap;
  }
}

/* Strings are length-prefixed so that no content can forge a line boundary. */
static void sw_put_str(sw_buf *b, const char *key, const char *v) { sw_put(b, "%s=%zu:%s\n", key, strlen(v), v); }

int gds_sweep_canonical(const gds_sweep *s, char **text, size_t *len) {
  sw_buf b = {0};
  if (!s || !text) GDS_ERROR(GDS_ERR_RUNTIME, "gds_sweep_canonical: NULL argument");
  b.cap = 1024;
  if (!(b.p = malloc(b.cap))) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory");
  b.p[0] = '\0';
  sw_put(&b, "gdsweep-sweep-v2\n");
  if (s->prior.white) sw_put(&b, "prior.white=%.17g,%.17g\n", s->prior.white_std, s->prior.white_mean);
  else if (s->spectrum[0]) {
    sw_put_str(&b, "prior.spectrum", s->spectrum);
    sw_put(&b, "prior.spectrum.sha256=%s\nprior.mean=%.17g\n", s->texture_sha256, s->prior.spectrum_mean);
  } else {
    sw_put_str(&b, "prior.texture", s->texture);
    if (s->texture_sha256[0]) sw_put(&b, "prior.texture.sha256=%s\n", s->texture_sha256);
  }
  sw_put(&b, "prior.size=%d,%d\nprior.periodic=%d\n", s->prior.H, s->prior.W, s->prior.periodic);
  if (s->process == GDS_PROCESS_VP_SDE)
    sw_put(&b, "diffusion=vp_sde,%.17g,%.17g\n", s->beta_min, s->beta_max);
  else
    sw_put(&b, "diffusion=%d,%.17g,%.17g,%s\n", s->T, s->beta_start, s->beta_end,
           sw_variance_names[s->variance]);
  const size_t dl = strlen(s->dir);
  for (int i = 0; i < s->n_op; i++) {
    const gds_operator_spec *o = &s->op[i];
    sw_put(&b, "grid.operator[%d]=%s", i, sw_op_kinds[o->type].name);
    switch (o->type) {
    case GDS_OP_IDENTITY: break;
    case GDS_OP_GAUSSIAN_BLUR: sw_put(&b, ",%.17g", o->std); break;
    case GDS_OP_MOTION_BLUR: sw_put(&b, ",%.17g,%.17g", o->length, o->angle); break;
    case GDS_OP_SUPER_RESOLUTION: sw_put(&b, ",%d", o->factor); break;
    case GDS_OP_INPAINTING:
      sw_put(&b, ",%s", sw_mask_names[o->mask]);
      if (o->mask == GDS_MASK_RANDOM) sw_put(&b, ",%.17g,%llu", o->keep, (unsigned long long)o->mask_seed);
      else if (o->mask == GDS_MASK_BOX) sw_put(&b, ",%d,%d,%d,%d", o->box[0], o->box[1], o->box[2], o->box[3]);
      else { /* the path as written: independent of where the sweep is run from */
        const char *p = o->mask_path;
        if (!strncmp(p, s->dir, dl) && p[dl] == '/') p += dl + 1;
        sw_put(&b, ",%zu:%s", strlen(p), p);
        if (o->mask_sha256[0]) sw_put(&b, ",sha256=%s", o->mask_sha256);
      }
      break;
    }
    if (o->dense) sw_put(&b, ",backend=dense");
    sw_put(&b, "\n");
  }
  sw_put(&b, "grid.sigma=");
  for (int i = 0; i < s->n_sigma; i++) sw_put(&b, "%s%.17g", i ? "," : "", s->sigma[i]);
  sw_put(&b, "\ngrid.alpha_dps=");
  for (int i = 0; i < s->n_alpha; i++) sw_put(&b, "%s%.17g", i ? "," : "", s->alpha_dps[i]);
  sw_put(&b, "\ngrid.algorithm=");
  for (int i = 0; i < s->n_alg; i++) {
    char name[128];
    gds_algorithm_spec_name(&s->alg[i], name, sizeof name);
    sw_put(&b, "%s%s", i ? "," : "", name);
  }
  sw_put(&b, "\ngrid.scheme=");
  for (int i = 0; i < s->n_scheme; i++) {
    char name[128];
    gds_scheme_spec_name(&s->scheme[i], name, sizeof name);
    sw_put(&b, "%s%s", i ? "," : "", name);
  }
  sw_put(&b, "\ngrid.sampler_steps=");
  for (int i = 0; i < s->n_steps; i++) sw_put(&b, "%s%d", i ? "," : "", s->steps[i]);
  sw_put(&b, "\ngrid.eps=");
  for (int i = 0; i < s->n_eps; i++) sw_put(&b, "%s%.17g", i ? "," : "", s->eps[i]);
  sw_put(&b, "\ngrid.init=");
  for (int i = 0; i < s->n_init; i++) sw_put(&b, "%s%s", i ? "," : "", gds_init_name(s->init[i]));
  sw_put(&b, "\ngrid.seed=");
  for (int i = 0; i < s->n_seed; i++) sw_put(&b, "%s%lld", i ? "," : "", (long long)s->seed[i]);
  sw_put(&b, "\noutput.samples=%d\noutput.checkpoints=", s->samples);
  for (int i = 0; i < s->n_ckpt; i++) sw_put(&b, "%s%d", i ? "," : "", s->ckpt[i]);
  sw_put(&b, "\noutput.w2_times=");
  for (int i = 0; i < s->n_w2t; i++) sw_put(&b, "%s%d", i ? "," : "", s->w2_times[i]);
  sw_put(&b, "\n");
  if (b.err) {
    free(b.p);
    GDS_ERROR(GDS_ERR_RUNTIME, "out of memory serialising the sweep");
  }
  *text = b.p;
  if (len) *len = b.n;
  return GDS_SUCCESS;
}

int gds_sweep_fingerprint(const gds_sweep *s, char hex[65]) {
  char *text;
  size_t len;
  GDS_CALL(gds_sweep_canonical(s, &text, &len));
  sw_sha256_ctx x;
  sw_sha256_init(&x);
  sw_sha256_update(&x, (const unsigned char *)text, len);
  sw_sha256_hex(&x, hex);
  free(text);
  return GDS_SUCCESS;
}

/* ---- input files ---------------------------------------------------------------------- */

static void sw_put_input(sw_buf *b, const char *key, const char *sha, const char *file) {
  char abs[PATH_MAX];
  const char *p = realpath(file, abs) ? abs : file; /* the resume may run from another directory */
  sw_put(b, "%s\t%s\t%s\n", key, sha, p);
}

int gds_sweep_inputs(const gds_sweep *s, char **text) {
  sw_buf b = {0};
  if (!s || !text) GDS_ERROR(GDS_ERR_RUNTIME, "gds_sweep_inputs: NULL argument");
  b.cap = 256;
  if (!(b.p = malloc(b.cap))) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory");
  b.p[0] = '\0';
  if (s->texture_sha256[0])
    sw_put_input(&b, s->spectrum[0] ? "prior.spectrum" : "prior.texture", s->texture_sha256, s->texture_file);
  for (int i = 0; s->op && i < s->n_op; i++) { /* sweeps built by hand (tests) may have no specs */
    const gds_operator_spec *o = &s->op[i];
    if (o->type != GDS_OP_INPAINTING || o->mask != GDS_MASK_FILE || !o->mask_sha256[0]) continue;
    char key[64];
    snprintf(key, sizeof key, "grid.operator[%d].inpainting.path", i);
    sw_put_input(&b, key, o->mask_sha256, o->mask_path);
  }
  if (b.err) {
    free(b.p);
    GDS_ERROR(GDS_ERR_RUNTIME, "out of memory listing the input files");
  }
  *text = b.p;
  return GDS_SUCCESS;
}

int gds_sweep_inputs_changed(const char *inputs, char *msg, size_t len) {
  int changed = 0;
  size_t used = 0;
  if (!msg || !len) return 0;
  msg[0] = '\0';
  for (const char *line = inputs; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t n = end ? (size_t)(end - line) : strlen(line);
    char buf[PATH_MAX + 256];
    if (n < sizeof buf) {
      memcpy(buf, line, n);
      buf[n] = '\0';
      char *t1 = strchr(buf, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
      if (t1 && t2) {
        *t1 = *t2 = '\0';
        const char *key = buf, *old = t1 + 1, *file = t2 + 1, *why = NULL;
        char now[65];
        int k = 0;
        if (sw_hash_file(file, now, &why))
          k = snprintf(msg + used, len - used, "%sinput file '%s' (%s) cannot be read now: %s", used ? "; " : "",
                       file, key, why);
        else if (strcmp(now, old)) {
          changed = 1;
          k = snprintf(msg + used, len - used, "%sthe content of input file '%s' (%s) changed since the output "
                       "was created (SHA-256 %.12s... then, %.12s... now)", used ? "; " : "", file, key, old, now);
        }
        if (k > 0) used += (size_t)k < len - used ? (size_t)k : len - used - 1;
      }
    }
    line = end ? end + 1 : NULL;
  }
  return changed;
}
