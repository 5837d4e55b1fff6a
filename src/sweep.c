/* Sweep files (SPEC §4): libyaml's document API builds the node tree; a schema of field tables
 * (one per mapping) validates it. Only the first error is reported, as
 * FILE:LINE: key.path: what is wrong, and what would be valid. */
#include "gdsweep/sweep.h"
#include "gdsweep/prior.h"

#include "gdsweep/error.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Finite decimal real; YAML's .inf/.nan and strtod's hex/inf/nan spellings are refused. */
static int sw_parse_real(const char *v, double *out) {
  if (!*v || strspn(v, "0123456789+-.eE") != strlen(v)) return 0;
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (*end || end == v || !isfinite(x) || errno == ERANGE) return 0;
  *out = x;
  return 1;
}

/* Parse scalar node `n` as field `f` into obj + f->off. */
static int sw_value(const sw_ctx *c, const yaml_node_t *n, const char *path, const sw_field *f,
                    void *obj) {
  char expect[512], gotbuf[128];
  sw_expect(f, expect, sizeof expect);
  const char *got = sw_describe(n, gotbuf, sizeof gotbuf);
  void *dst = (char *)obj + f->off;
  if (n->type != YAML_SCALAR_NODE || sw_is_null(n))
    return sw_fail(c, n, path, "expected %s, got %s", expect, got);
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
    else return sw_fail(c, n, path, "expected %s, got %s", expect, got);
    return GDS_SUCCESS;
  case SW_ENUM:
    for (int i = 0; f->choices[i]; i++)
      if (!strcmp(v, f->choices[i])) {
        *(int *)dst = i;
        return GDS_SUCCESS;
      }
    return sw_fail(c, n, path, "unknown value '%s'; expected %s", v, expect);
  case SW_NODE:
    return GDS_SUCCESS;
  default: break;
  }

  /* Numbers. A quoted "2" is a string in YAML: say so rather than silently converting. */
  if (!sw_is_plain(n))
    return sw_fail(c, n, path, "expected %s, got %s (quoted values are strings)", expect, got);
  double x = 0;
  int64_t k = 0;
  if (f->kind == SW_REAL) {
    if (!sw_parse_real(v, &x)) return sw_fail(c, n, path, "expected %s, got %s", expect, got);
  } else {
    if (!sw_parse_int(v, &k)) {
      int real = sw_parse_real(v, &x);
      return sw_fail(c, n, path, "expected %s, got %s%s", expect, got, real ? " (not an integer)" : "");
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

static int sw_same(sw_kind kind, const void *a, const void *b) {
  switch (kind) {
  case SW_REAL: return *(const double *)a == *(const double *)b;
  case SW_I64: return *(const int64_t *)a == *(const int64_t *)b;
  case SW_U64: return *(const uint64_t *)a == *(const uint64_t *)b;
  default: return *(const int *)a == *(const int *)b;
  }
}

/* A list of scalars parsed with `elem` (off = 0) into a new array of `esize`-byte items, stored in
 * *(void **)arrp at once so that the sweep owns it even on error. Non-empty, no duplicates. */
static int sw_list(const sw_ctx *c, const yaml_node_t *n, const char *path, const sw_field *elem,
                   size_t esize, int *count, void *arrp) {
  char gotbuf[128], child[SW_PATH];
  if (n->type != YAML_SEQUENCE_NODE) {
    const int scalar = n->type == YAML_SCALAR_NODE && !sw_is_null(n);
    return sw_fail(c, n, path, "expected a list, e.g. %s; got %s%s%s%s", elem->example,
                   sw_describe(n, gotbuf, sizeof gotbuf), scalar ? " (for one value write [" : "",
                   scalar ? sw_str(n) : "", scalar ? "])" : "");
  }
  int len = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (len == 0) return sw_fail(c, n, path, "must not be empty, e.g. %s", elem->example);
  char *arr;
  GDS_CALL(gds_calloc((size_t)len, esize, &arr));
  *(void **)arrp = arr;
  *count = len;
  for (int i = 0; i < len; i++) {
    const yaml_node_t *item = yaml_document_get_node(c->doc, n->data.sequence.items.start[i]);
    sw_path_index(child, path, i);
    GDS_CALL(sw_value(c, item, child, elem, arr + (size_t)i * esize));
    for (int j = 0; j < i; j++)
      if (sw_same(elem->kind, arr + (size_t)i * esize, arr + (size_t)j * esize)) {
        const yaml_node_t *first = yaml_document_get_node(c->doc, n->data.sequence.items.start[j]);
        return sw_fail(c, item, child, "duplicate of %s[%d] (line %lu): each value must appear once",
                       path, j, (unsigned long)first->start_mark.line + 1);
      }
  }
  return GDS_SUCCESS;
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
  struct stat st;
  FILE *f = NULL;
  const char *why = NULL;
  if (stat(out, &st)) why = strerror(errno);
  else if (!S_ISREG(st.st_mode)) why = "not a regular file";
  else if (!(f = fopen(out, "rb"))) why = strerror(errno);
  if (why)
    return sw_fail(c, n, path, "cannot read '%s': %s (relative paths are resolved against the "
                   "directory of the sweep file)", out, why);
  fclose(f);
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

enum { PRIOR_TEXTURE, PRIOR_WHITE, PRIOR_SIZE, PRIOR_PERIODIC };
static const sw_field sw_prior_fields[] = {
    [PRIOR_TEXTURE] = {.key = "texture", .kind = SW_STR, .off = SW_OFF(texture), .cap = 4096,
                       .example = "texture: builtin:fabric"},
    [PRIOR_WHITE] = {.key = "white", .kind = SW_NODE, .example = "white: {std: 0.2, mean: 0.5}"},
    [PRIOR_SIZE] = {.key = "size", .kind = SW_NODE, .required = 1, .example = "size: [64, 64]"},
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

static int sw_prior(const sw_ctx *c, const yaml_node_t *n) {
  gds_sweep *s = c->s;
  yaml_node_t *v[SW_NF(sw_prior_fields)], *w[SW_NF(sw_white_fields)];
  s->prior.periodic = 1;
  GDS_CALL(sw_mapping(c, n, "prior", sw_prior_fields, SW_NF(sw_prior_fields), s, v,
                      "{texture: builtin:fabric, size: [64, 64], periodic: true}"));

  int hw[2];
  GDS_CALL(sw_int_tuple(c, v[PRIOR_SIZE], "prior.size", 2, sw_size_elems,
                        "[H, W] (rows, columns), e.g. size: [64, 64]", hw));
  if ((int64_t)hw[0] * hw[1] > INT_MAX)
    return sw_fail(c, v[PRIOR_SIZE], "prior.size", "image of %d x %d pixels is too large", hw[0], hw[1]);
  s->prior.H = hw[0];
  s->prior.W = hw[1];
  s->prior.base_dir = s->dir;

  if (v[PRIOR_TEXTURE] && v[PRIOR_WHITE])
    return sw_fail(c, v[PRIOR_WHITE], "prior.white",
                   "texture and white are mutually exclusive: give one of them");
  if (!v[PRIOR_TEXTURE] && !v[PRIOR_WHITE])
    return sw_fail(c, n, "prior.texture", "missing (required): give texture: builtin:<name> or "
                   "texture: path.png (relative to the sweep file), or the test prior white: {std: s}");
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
  char resolved[4096 + 1024];
  GDS_CALL(sw_resolve_file(c, v[PRIOR_TEXTURE], "prior.texture", s->texture, resolved, sizeof resolved));
  return sw_check_image(c, v[PRIOR_TEXTURE], "prior.texture", resolved, 0);
}

enum { DIFF_STEPS, DIFF_BSTART, DIFF_BEND, DIFF_VARIANCE };
static const sw_field sw_diffusion_fields[] = {
    [DIFF_STEPS] = {.key = "steps", .kind = SW_INT, .required = 1, .off = SW_OFF(T),
                    .bounds = SW_LO | SW_HI, .lo = 1, .hi = SW_MAX_STEPS, .example = "steps: 1000"},
    [DIFF_BSTART] = {.key = "beta_start", .kind = SW_REAL, .off = SW_OFF(beta_start), SW_IN_OPEN(0, 1),
                     .example = "beta_start: 1.0e-4"},
    [DIFF_BEND] = {.key = "beta_end", .kind = SW_REAL, .off = SW_OFF(beta_end), SW_IN_OPEN(0, 1),
                   .example = "beta_end: 0.02"},
    [DIFF_VARIANCE] = {.key = "variance", .kind = SW_ENUM, .off = SW_OFF(variance),
                       .choices = sw_variance_names, .example = "variance: beta"},
};

static int sw_diffusion(const sw_ctx *c, const yaml_node_t *n) {
  gds_sweep *s = c->s;
  yaml_node_t *v[SW_NF(sw_diffusion_fields)];
  s->variance = GDS_VARIANCE_BETA;
  s->process = GDS_PROCESS_DDPM;
  s->beta_min = 0.1;
  s->beta_max = 20;
  GDS_CALL(sw_mapping(c, n, "diffusion", sw_diffusion_fields, SW_NF(sw_diffusion_fields), s, v,
                      "{steps: 1000, beta_start: 1.0e-4, beta_end: 0.02, variance: beta}"));
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
    return sw_check_image(c, v[INP_PATH], child, op->mask_path, 1);
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
    if (sw_is_null(val)) return GDS_SUCCESS;
    yaml_node_t *none[SW_NF(sw_identity_fields)];
    return sw_mapping(c, val, child, kind->fields, kind->nf, op, none, "{} or {backend: dense}");
  }
  yaml_node_t *v[8];
  const char *form = strchr(kind->form, '{');
  GDS_CALL(sw_mapping(c, val, child, kind->fields, kind->nf, op, v, form));
  if (kind->type == GDS_OP_INPAINTING) return sw_inpainting(c, val, child, v, op);
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
  return GDS_SUCCESS;
}

/* Same operator, field by field (what gds_operator_spec_name would print). */
/* Two operators are the same iff their canonical names are (the operator module's naming). */
static int sw_op_same(const gds_operator_spec *a, const gds_operator_spec *b) {
  char na[4400], nb[4400];
  gds_operator_spec_name(a, na, sizeof na);
  gds_operator_spec_name(b, nb, sizeof nb);
  return !strcmp(na, nb) && (a->type != GDS_OP_INPAINTING || a->mask != GDS_MASK_FILE ||
                              !strcmp(a->mask_path, b->mask_path));
}

/* ---- grid and output ---------------------------------------------------------------- */

enum { GRID_OP, GRID_SIGMA, GRID_ALPHA, GRID_ALG, GRID_SEED };
static const sw_field sw_grid_fields[] = {
    [GRID_OP] = {.key = "operator", .kind = SW_NODE, .required = 1,
                 .example = "operator: [gaussian_blur: {std: 2.0}]"},
    [GRID_SIGMA] = {.key = "sigma", .kind = SW_NODE, .required = 1, .example = "sigma: [0.01, 0.05]"},
    [GRID_ALPHA] = {.key = "alpha_dps", .kind = SW_NODE, .example = "alpha_dps: [0.5, 1.0]"},
    [GRID_ALG] = {.key = "algorithm", .kind = SW_NODE, .required = 1,
                  .example = "algorithm: [dps, pigdm, cgdm]"},
    [GRID_SEED] = {.key = "seed", .kind = SW_NODE, .example = "seed: [0, 1]"},
};
static const sw_field sw_sigma_elem = {.key = "sigma", .kind = SW_REAL, SW_GT(0),
                                       .example = "sigma: [0.01, 0.05]"};
static const sw_field sw_alpha_elem = {.key = "alpha_dps", .kind = SW_REAL, SW_GT(0),
                                       .example = "alpha_dps: [0.5, 1.0]"};
static const sw_field sw_seed_elem = {.key = "seed", .kind = SW_I64, SW_GE(0), .example = "seed: [0, 1]"};

static int sw_grid(const sw_ctx *c, const yaml_node_t *n) {
  gds_sweep *s = c->s;
  yaml_node_t *v[SW_NF(sw_grid_fields)];
  char child[SW_PATH], gotbuf[128];
  GDS_CALL(sw_mapping(c, n, "grid", sw_grid_fields, SW_NF(sw_grid_fields), NULL, v,
                      "{operator: [...], sigma: [...], alpha_dps: [...], algorithm: [...], seed: [...]}"));

  const yaml_node_t *ops = v[GRID_OP];
  if (ops->type != YAML_SEQUENCE_NODE)
    return sw_fail(c, ops, "grid.operator", "expected a list of operators, e.g.\n  operator:\n"
                   "    - gaussian_blur: {std: 2.0}\n    - motion_blur: {length: 9, angle: 30}\ngot %s",
                   sw_describe(ops, gotbuf, sizeof gotbuf));
  int nop = (int)(ops->data.sequence.items.top - ops->data.sequence.items.start);
  if (!nop)
    return sw_fail(c, ops, "grid.operator", "must not be empty, e.g. operator: [gaussian_blur: {std: 2.0}]");
  GDS_CALL(GDS_ALLOC(s->op, nop));
  s->n_op = nop;
  for (int i = 0; i < nop; i++) {
    yaml_node_t *item = yaml_document_get_node(c->doc, ops->data.sequence.items.start[i]);
    sw_path_index(child, "grid.operator", i);
    GDS_CALL(sw_operator(c, item, child, &s->op[i]));
    for (int j = 0; j < i; j++)
      if (sw_op_same(&s->op[i], &s->op[j]))
        return sw_fail(c, item, child, "duplicate of grid.operator[%d] (line %lu): each operator must "
                       "appear once", j, (unsigned long)yaml_document_get_node(
                           c->doc, ops->data.sequence.items.start[j])->start_mark.line + 1);
  }

  GDS_CALL(sw_list(c, v[GRID_SIGMA], "grid.sigma", &sw_sigma_elem, sizeof(double), &s->n_sigma, &s->sigma));
  if (v[GRID_ALPHA]) {
    GDS_CALL(sw_list(c, v[GRID_ALPHA], "grid.alpha_dps", &sw_alpha_elem, sizeof(double), &s->n_alpha,
                     &s->alpha_dps));
  } else {
    GDS_CALL(GDS_ALLOC(s->alpha_dps, 1));
    s->n_alpha = 1;
    s->alpha_dps[0] = 1.0;
  }
  /* The algorithm module owns the names (enum order = gds_algorithm). */
  const sw_field alg_elem = {.key = "algorithm", .kind = SW_ENUM, .choices = gds_algorithm_names(),
                             .example = "algorithm: [dps, pigdm, cgdm]"};
  gds_algorithm *kinds = NULL;
  GDS_CALL(sw_list(c, v[GRID_ALG], "grid.algorithm", &alg_elem, sizeof(gds_algorithm), &s->n_alg, &kinds));
  int ierr = GDS_ALLOC(s->alg, s->n_alg);
  for (int i = 0; !ierr && i < s->n_alg; i++) s->alg[i] = (gds_algorithm_spec){.kind = kinds[i]};
  free(kinds);
  GDS_CALL(ierr);
  /* Axes of SPEC §7 with their single default value (not yet read from the file). */
  GDS_CALL(GDS_ALLOC(s->scheme, 1));
  GDS_CALL(GDS_ALLOC(s->steps, 1));
  GDS_CALL(GDS_ALLOC(s->eps, 1));
  GDS_CALL(GDS_ALLOC(s->init, 1));
  s->n_scheme = s->n_steps = s->n_eps = s->n_init = 1;
  s->scheme[0] = (gds_scheme_spec){GDS_SCHEME_DDPM, 0};
  s->steps[0] = s->T;
  s->eps[0] = 0;
  s->init[0] = GDS_INIT_NORMAL;
  if (v[GRID_SEED]) {
    GDS_CALL(sw_list(c, v[GRID_SEED], "grid.seed", &sw_seed_elem, sizeof(int64_t), &s->n_seed, &s->seed));
  } else {
    GDS_CALL(GDS_ALLOC(s->seed, 1));
    s->n_seed = 1;
    s->seed[0] = 0;
  }
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
  if (v[OUT_CKPT]) {
    GDS_CALL(sw_list(c, v[OUT_CKPT], "output.checkpoints", &ckpt, sizeof(int), &s->n_ckpt, &s->ckpt));
  } else { /* T, 3T/4, T/2, T/4, 0 without repeats (small T) */
    const int def[5] = {T, 3 * T / 4, T / 2, T / 4, 0};
    GDS_CALL(GDS_ALLOC(s->ckpt, 5));
    for (int i = 0; i < 5; i++)
      if (!s->n_ckpt || s->ckpt[s->n_ckpt - 1] != def[i]) s->ckpt[s->n_ckpt++] = def[i];
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
  GDS_CALL(sw_output(c, v[TOP_OUTPUT]));
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
  int ierr = GDS_SUCCESS;
  gds_sweep *s = NULL;
  yaml_parser_t parser;
  yaml_document_t doc, extra;
  int have_parser = 0, have_doc = 0;
  if (!out || !text) GDS_ERROR(GDS_ERR_RUNTIME, "gds_sweep_parse: NULL argument");
  *out = NULL;
  if (!filename) filename = "<sweep>";

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
  sw_ctx c = {.doc = &doc, .file = filename, .s = s};
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
  FILE *f = fopen(path, "rb");
  if (!f) GDS_ERROR(GDS_ERR_INPUT, "cannot read sweep file '%s': %s", path, strerror(errno));
  char *text = NULL;
  size_t len = 0, cap = 0;
  for (;;) { /* read to EOF: works for pipes and files alike */
    if (len == cap) {
      char *bigger = realloc(text, cap = cap ? 2 * cap : 65536);
      if (!bigger) {
        free(text);
        fclose(f);
        GDS_ERROR(GDS_ERR_RUNTIME, "out of memory reading '%s'", path);
      }
      text = bigger;
    }
    size_t got = fread(text + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(text);
    GDS_ERROR(GDS_ERR_INPUT, "cannot read sweep file '%s'", path);
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
  sw_put(&b, "gdsweep-sweep-v1\n");
  if (s->prior.white) sw_put(&b, "prior.white=%.17g,%.17g\n", s->prior.white_std, s->prior.white_mean);
  else sw_put_str(&b, "prior.texture", s->texture);
  sw_put(&b, "prior.size=%d,%d\nprior.periodic=%d\n", s->prior.H, s->prior.W, s->prior.periodic);
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

/* SHA-256 (FIPS 180-4), one shot. */
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

static void sw_sha256(const unsigned char *data, size_t len, unsigned char out[32]) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  size_t full = len / 64 * 64;
  for (size_t i = 0; i < full; i += 64) sw_sha256_block(h, data + i);
  unsigned char tail[128] = {0};
  size_t rest = len - full, tl = rest < 56 ? 64 : 128;
  memcpy(tail, data + full, rest);
  tail[rest] = 0x80;
  uint64_t bits = (uint64_t)len * 8;
  for (int i = 0; i < 8; i++) tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
  for (size_t i = 0; i < tl; i += 64) sw_sha256_block(h, tail + i);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++) out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

int gds_sweep_fingerprint(const gds_sweep *s, char hex[65]) {
  char *text;
  size_t len;
  unsigned char digest[32];
  GDS_CALL(gds_sweep_canonical(s, &text, &len));
  sw_sha256((const unsigned char *)text, len, digest);
  free(text);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return GDS_SUCCESS;
}
