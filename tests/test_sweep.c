/* Sweep files (SPEC §4): the shipped sweeps parse to the expected values, defaults are applied,
 * the fingerprint ignores formatting, and every bad input fails with GDS_ERR_INPUT and a message
 * naming the file, the line and the key path. */
#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gdsweep/error.h"
#include "gdsweep/sweep.h"
#include "gdsweep/operator.h"
#include "gdsweep/prior.h"
#include <math.h>

/* ---- helpers ------------------------------------------------------------------------- */

/* Path of a file of the source tree: $GDS_SOURCE_DIR (set by ctest) or relative to this file. */
static void source_path(const char *rel, char *out, size_t len) {
  const char *root = getenv("GDS_SOURCE_DIR");
  if (root) {
    snprintf(out, len, "%s/%s", root, rel);
    return;
  }
  snprintf(out, len, "%s", __FILE__);
  char *slash = strrchr(out, '/');
  if (slash) slash = (*slash = '\0', strrchr(out, '/'));
  if (slash) snprintf(slash + 1, len - (size_t)(slash + 1 - out), "%s", rel);
  else snprintf(out, len, "../%s", rel);
}

/* gds_sweep_load with stderr captured into msg (what a user would see). */
static int load_capture(const char *path, gds_sweep **s, char *msg, size_t len) {
  fflush(stderr);
  int saved = dup(2);
  FILE *tmp = tmpfile();
  assert_non_null(tmp);
  dup2(fileno(tmp), 2);
  int rc = gds_sweep_load(path, s);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  rewind(tmp);
  size_t n = fread(msg, 1, len - 1, tmp);
  msg[n] = '\0';
  fclose(tmp);
  return rc;
}

static gds_sweep *load_text(const char *yaml, char **path_out) {
  char *path = gds_test_write_temp(".yaml", yaml);
  assert_non_null(path);
  gds_sweep *s = NULL;
  char msg[4096];
  int rc = load_capture(path, &s, msg, sizeof msg);
  if (rc) print_error("unexpected error: %s", msg);
  assert_int_equal(rc, GDS_SUCCESS);
  assert_non_null(s);
  if (path_out) *path_out = path;
  else {
    unlink(path);
    free(path);
  }
  return s;
}

static void assert_contains(const char *msg, const char *what) {
  if (!strstr(msg, what)) {
    print_error("message:\n  %s\ndoes not contain \"%s\"\n", msg, what);
    fail();
  }
}

static void sha256sum_of(const char *path, char out[65]);

/* ---- valid files --------------------------------------------------------------------- */

static void test_demo(void **state) {
  (void)state;
  char path[4096];
  source_path("sweeps/demo.yaml", path, sizeof path);
  gds_sweep *s = NULL;
  assert_int_equal(gds_sweep_load(path, &s), GDS_SUCCESS);
  assert_string_equal(s->name, "demo");
  assert_string_equal(s->texture, "builtin:fabric");
  assert_ptr_equal(s->prior.texture, s->texture);
  assert_ptr_equal(s->prior.base_dir, s->dir);
  assert_int_equal(s->prior.H, 64);
  assert_int_equal(s->prior.W, 64);
  assert_int_equal(s->prior.periodic, 1);
  assert_int_equal(s->prior.white, 0);
  assert_int_equal(s->T, 1000);
  GDS_ASSERT_CLOSE(s->beta_start, 1e-4, 1e-15, 0);
  GDS_ASSERT_CLOSE(s->beta_end, 0.02, 1e-15, 0);
  assert_int_equal(s->variance, GDS_VARIANCE_BETA);

  assert_int_equal(s->n_op, 2);
  assert_int_equal(s->op[0].type, GDS_OP_GAUSSIAN_BLUR);
  assert_true(s->op[0].std == 2.0);
  assert_int_equal(s->op[1].type, GDS_OP_MOTION_BLUR);
  assert_true(s->op[1].length == 9 && s->op[1].angle == 30);
  assert_int_equal(s->n_sigma, 2);
  assert_true(s->sigma[0] == 0.01 && s->sigma[1] == 0.05);
  assert_int_equal(s->n_alpha, 3);
  assert_true(s->alpha_dps[0] == 0.01 && s->alpha_dps[1] == 0.03 && s->alpha_dps[2] == 0.1);
  assert_int_equal(s->n_alg, 4);
  assert_int_equal(s->alg[0].kind, GDS_ALG_DPS);
  assert_int_equal(s->alg[1].kind, GDS_ALG_PIGDM);
  assert_int_equal(s->alg[2].kind, GDS_ALG_CGDM);
  assert_true(s->alg[3].kind == GDS_ALG_DDRM && s->alg[3].eta == 0.85 && s->alg[3].eta_b == 1.0);
  assert_int_equal(s->n_scheme, 2);
  assert_true(s->scheme[0].kind == GDS_SCHEME_DDPM && s->scheme[1].kind == GDS_SCHEME_DDIM && s->scheme[1].eta == 0);
  const int steps[] = {10, 20, 50, 100, 1000};
  assert_int_equal(s->n_steps, 5);
  assert_memory_equal(s->steps, steps, sizeof steps);
  assert_int_equal(s->n_eps, 1);
  assert_true(s->n_init == 1 && s->init[0] == GDS_INIT_NORMAL);
  assert_int_equal(s->n_seed, 2);
  assert_true(s->seed[0] == 0 && s->seed[1] == 1);
  assert_int_equal(gds_sweep_npoints(s), 2 * 2 * 3 * 4 * 2 * 5 * 2);

  assert_int_equal(s->samples, 2);
  const int ckpt[] = {901, 701, 501, 301, 1, 0};
  assert_int_equal(s->n_ckpt, 6);
  assert_memory_equal(s->ckpt, ckpt, sizeof ckpt);
  assert_int_equal(s->n_w2t, 1001);
  for (int t = 0; t <= 1000; t++) assert_int_equal(s->w2_times[t], t);

  /* text is the file, verbatim */
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  assert_int_equal(s->text_len, n);
  assert_memory_equal(s->text, buf, n);
  assert_int_equal(s->text[n], '\0');
  assert_string_equal(s->path, path);
  gds_sweep_destroy(&s);
  assert_null(s);
}

/* The CIFAR-10 example (SPEC §7.6, issue 10): the whole scheme x steps x eps x init table. */
static void test_cifar_example(void **state) {
  (void)state;
  char path[4096];
  source_path("sweeps/cifar10_vp_sde.yaml", path, sizeof path);
  gds_sweep *s = NULL;
  assert_int_equal(gds_sweep_load(path, &s), GDS_SUCCESS);
  assert_int_equal(s->process, GDS_PROCESS_VP_SDE);
  assert_true(s->prior.H == 1 && s->prior.W == 3072 && s->prior_basis == GDS_PRIOR_BASIS_EIGEN);
  assert_int_equal(s->n_scheme, 6);
  assert_int_equal(s->n_steps, 7);
  assert_int_equal(s->T, 999);
  assert_int_equal(s->n_eps, 4);
  assert_int_equal(s->n_init, 2);
  assert_int_equal(gds_sweep_npoints(s), 6 * 7 * 4 * 2);
  gds_sweep_destroy(&s);
}

static void test_tiny(void **state) {
  (void)state;
  char path[4096];
  source_path("sweeps/tiny.yaml", path, sizeof path);
  gds_sweep *s = NULL;
  assert_int_equal(gds_sweep_load(path, &s), GDS_SUCCESS);
  assert_string_equal(s->name, "tiny");
  assert_int_equal(s->prior.H, 12);
  assert_int_equal(s->prior.W, 10);
  assert_int_equal(s->T, 50);
  assert_true(s->beta_start == 0.001 && s->beta_end == 0.2);
  assert_int_equal(s->n_op, 2);
  assert_int_equal(s->op[0].type, GDS_OP_IDENTITY);
  assert_int_equal(s->op[1].type, GDS_OP_GAUSSIAN_BLUR);
  assert_int_equal(s->n_sigma, 1);
  assert_int_equal(s->n_alg, 2);
  assert_int_equal(s->n_seed, 2);
  assert_int_equal(s->samples, 2);
  assert_int_equal(gds_sweep_npoints(s), 8);
  gds_sweep_destroy(&s);
}

static void test_defaults(void **state) {
  (void)state;
  gds_sweep *s = load_text("name: d\n"
                           "prior: {texture: builtin:fabric, size: [8, 6]}\n"
                           "diffusion: {steps: 1000}\n"
                           "grid: {operator: [identity: ], sigma: [0.1], algorithm: [none]}\n",
                           NULL);
  assert_int_equal(s->prior.H, 8);
  assert_int_equal(s->prior.W, 6);
  assert_int_equal(s->prior.periodic, 1);
  GDS_ASSERT_CLOSE(s->beta_start, 0.1 / 1000, 1e-15, 0);
  GDS_ASSERT_CLOSE(s->beta_end, 20.0 / 1000, 1e-15, 0);
  assert_int_equal(s->variance, GDS_VARIANCE_BETA);
  assert_int_equal(s->op[0].type, GDS_OP_IDENTITY);
  assert_int_equal(s->alg[0].kind, GDS_ALG_NONE);
  assert_int_equal(s->n_alpha, 1);
  assert_true(s->alpha_dps[0] == 1.0);
  assert_int_equal(s->n_seed, 1);
  assert_true(s->seed[0] == 0);
  assert_int_equal(s->samples, 0);
  const int ckpt[] = {1000, 750, 500, 250, 0};
  assert_int_equal(s->n_ckpt, 5);
  assert_memory_equal(s->ckpt, ckpt, sizeof ckpt);
  assert_int_equal(s->n_w2t, 1001);
  assert_int_equal(s->w2_times[1000], 1000);
  gds_sweep_destroy(&s);
}

/* Default checkpoints drop the repeats of T, 3T/4, T/2, T/4, 0 at small T; T = 1 needs no β_end. */
static void test_small_T(void **state) {
  (void)state;
  gds_sweep *s = load_text("name: d\nprior: {texture: builtin:fabric, size: [4, 4]}\n"
                           "diffusion: {steps: 2, beta_start: 0.1, beta_end: 0.2, variance: beta_tilde}\n"
                           "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [cgdm]}\n",
                           NULL);
  const int ckpt2[] = {2, 1, 0};
  assert_int_equal(s->n_ckpt, 3);
  assert_memory_equal(s->ckpt, ckpt2, sizeof ckpt2);
  assert_int_equal(s->variance, GDS_VARIANCE_BETA_TILDE);
  gds_sweep_destroy(&s);

  s = load_text("name: d\nprior: {texture: builtin:fabric, size: [4, 4]}\ndiffusion: {steps: 1}\n"
                "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [cgdm]}\n",
                NULL);
  const int ckpt1[] = {1, 0};
  assert_int_equal(s->n_ckpt, 2);
  assert_memory_equal(s->ckpt, ckpt1, sizeof ckpt1);
  GDS_ASSERT_CLOSE(s->beta_start, 0.1, 1e-15, 0);
  assert_true(s->beta_end == s->beta_start); /* unused at T = 1, kept in (0, 1) */
  gds_sweep_destroy(&s);
}

static void test_white_prior_and_output(void **state) {
  (void)state;
  gds_sweep *s = load_text("name: w.1-x\n"
                           "prior:\n  white: {std: 2, mean: -0.5}\n  size: [3, 5]\n"
                           "diffusion: {steps: 100}\n"
                           "grid:\n  operator: [identity: {}]\n  sigma: [1e-2, 1]\n"
                           "  algorithm: [pigdm, none]\n  seed: [7, 3, 12345678901]\n"
                           "output: {samples: 0, checkpoints: [0, 100], w2_times: [100, 0, 50]}\n",
                           NULL);
  assert_int_equal(s->prior.white, 1);
  assert_null(s->prior.texture);
  assert_true(s->prior.white_std == 2.0 && s->prior.white_mean == -0.5);
  assert_true(s->sigma[0] == 0.01 && s->sigma[1] == 1.0);
  assert_true(s->seed[2] == 12345678901LL);
  const int ckpt[] = {0, 100}, w2t[] = {0, 50, 100};
  assert_int_equal(s->n_ckpt, 2);
  assert_memory_equal(s->ckpt, ckpt, sizeof ckpt);
  assert_int_equal(s->n_w2t, 3);
  assert_memory_equal(s->w2_times, w2t, sizeof w2t); /* ascending */
  gds_sweep_destroy(&s);
}

/* An ASCII PGM of h x w pixels, value(i, j) = (i*w + j + shift) % 256 (0 at pixel 0 if shift 0). */
static char *pgm_temp(int h, int w, int shift) {
  char text[8192];
  int n = snprintf(text, sizeof text, "P2\n%d %d\n255\n", w, h);
  for (int i = 0; i < h * w; i++) n += snprintf(text + n, sizeof text - (size_t)n, "%d ", (i + shift) % 256);
  return gds_test_write_temp(".pgm", text);
}

/* `backend: dense` makes a distinct operator (its own canonical name) of the same kind. */
static void test_backend_dense(void **state) {
  (void)state;
  gds_sweep *s = load_text("name: b\nprior: {texture: builtin:noise, size: [8, 8]}\ndiffusion: {steps: 100}\n"
                           "grid:\n  operator:\n    - gaussian_blur: {std: 1}\n"
                           "    - gaussian_blur: {std: 1, backend: dense}\n    - identity: {backend: dense}\n"
                           "  sigma: [0.1]\n  algorithm: [dps]\n",
                           NULL);
  assert_int_equal(s->n_op, 3);
  assert_int_equal(s->op[0].dense, 0);
  assert_int_equal(s->op[1].dense, 1);
  assert_int_equal(s->op[2].dense, 1);
  char name[256];
  gds_operator_spec_name(&s->op[1], name, sizeof name);
  assert_string_equal(name, "gaussian_blur(std=1,backend=dense)");
  gds_operator_spec_name(&s->op[2], name, sizeof name);
  assert_string_equal(name, "identity(backend=dense)");
  gds_sweep_destroy(&s);
}

static void test_operators(void **state) {
  (void)state;
  char *mask = pgm_temp(8, 12, 0); /* the sweep checks: a mask has the image size */
  char *tex = pgm_temp(9, 13, 7);  /* a texture is at least the image size */
  assert_non_null(mask);
  assert_non_null(tex);
  char yaml[4096];
  /* relative paths: the sweep file is in /tmp as well */
  snprintf(yaml, sizeof yaml,
           "name: ops\nprior: {texture: %s, size: [8, 12], periodic: false}\ndiffusion: {steps: 100}\n"
           "grid:\n  operator:\n"
           "    - motion_blur: {length: 2.5}\n"
           "    - motion_blur: {length: 2.5, angle: -45}\n"
           "    - inpainting: {mask: random, keep: 1}\n"
           "    - inpainting: {mask: random, keep: 0.25, mask_seed: 9}\n"
           "    - inpainting: {mask: box, box: [2, 3, 6, 9]}\n"
           "    - inpainting: {mask: file, path: %s}\n"
           "    - super_resolution: {factor: 4}\n"
           "    - identity:\n"
           "  sigma: [0.1]\n  algorithm: [dps]\n",
           strrchr(tex, '/') + 1, strrchr(mask, '/') + 1);
  gds_sweep *s = load_text(yaml, NULL);
  assert_int_equal(s->prior.periodic, 0);
  assert_int_equal(s->n_op, 8);
  assert_true(s->op[0].type == GDS_OP_MOTION_BLUR && s->op[0].length == 2.5 && s->op[0].angle == 0);
  assert_true(s->op[1].angle == -45);
  assert_true(s->op[2].type == GDS_OP_INPAINTING && s->op[2].mask == GDS_MASK_RANDOM);
  assert_true(s->op[2].keep == 1 && s->op[2].mask_seed == 0);
  assert_true(s->op[3].keep == 0.25 && s->op[3].mask_seed == 9);
  const int box[4] = {2, 3, 6, 9};
  assert_int_equal(s->op[4].mask, GDS_MASK_BOX);
  assert_memory_equal(s->op[4].box, box, sizeof box);
  assert_int_equal(s->op[5].mask, GDS_MASK_FILE);
  assert_string_equal(s->op[5].mask_path, mask); /* resolved against the sweep's directory */
  assert_true(s->op[6].type == GDS_OP_SUPER_RESOLUTION && s->op[6].factor == 4);
  assert_int_equal(s->op[7].type, GDS_OP_IDENTITY);
  gds_sweep_destroy(&s);
  unlink(mask);
  unlink(tex);
  free(mask);
  free(tex);
}

static void test_parse_api(void **state) {
  (void)state;
  const char *y = "name: p\nprior: {texture: t.png, size: [4, 4]}\n";
  gds_sweep *s = NULL;
  int old = gds_error_set_quiet(1);
  assert_int_equal(gds_sweep_parse(y, strlen(y), "mem.yaml", "/nonexistent-dir", &s), GDS_ERR_INPUT);
  gds_error_set_quiet(old);
  assert_null(s);
  gds_sweep_destroy(&s); /* NULL-safe */
  gds_sweep_destroy(NULL);

  char msg[4096];
  assert_int_equal(load_capture("/nonexistent-dir/x.yaml", &s, msg, sizeof msg), GDS_ERR_INPUT);
  assert_null(s);
  assert_contains(msg, "/nonexistent-dir/x.yaml");
}

/* gds_sweep_parse_trusted (a run's ranks other than 0) does not touch the file system: input
 * files that do not exist pass, their hashes stay empty, and a spectrum's shape and basis come
 * from the trust; the same text through gds_sweep_parse fails on each missing file. */
static void test_parse_trusted(void **state) {
  (void)state;
  const char *tex = "name: t\nprior: {texture: no-such-texture.png, size: [4, 6]}\ndiffusion: {steps: 100}\n"
                    "grid: {algorithm: [pigdm], operator: [inpainting: {mask: file, path: no-such-mask.png}], sigma: [0.1]}\n";
  const char *spec = "name: t\nprior: {spectrum: no-such-spectrum.npy, mean: 0.5}\ndiffusion: {steps: 100}\n"
                     "grid: {algorithm: [pigdm], operator: [gaussian_blur: {std: 1}], sigma: [0.1]}\n";
  const char *dir = "/nonexistent-dir";
  const gds_sweep_trust tr = {.H = 3, .W = 5, .basis = GDS_PRIOR_BASIS_FOURIER};
  gds_sweep *s = NULL;
  int old = gds_error_set_quiet(1);
  assert_int_equal(gds_sweep_parse(tex, strlen(tex), "mem.yaml", dir, &s), GDS_ERR_INPUT);
  assert_null(s);
  assert_int_equal(gds_sweep_parse(spec, strlen(spec), "mem.yaml", dir, &s), GDS_ERR_INPUT);
  assert_null(s);
  gds_error_set_quiet(old);

  assert_int_equal(gds_sweep_parse_trusted(tex, strlen(tex), "mem.yaml", dir, &tr, &s), GDS_SUCCESS);
  assert_true(s->prior.H == 4 && s->prior.W == 6); /* a texture prior's size is its own */
  assert_string_equal(s->texture_file, "/nonexistent-dir/no-such-texture.png");
  assert_string_equal(s->texture_sha256, "");
  assert_int_equal(s->n_op, 1);
  assert_string_equal(s->op[0].mask_path, "/nonexistent-dir/no-such-mask.png");
  assert_string_equal(s->op[0].mask_sha256, "");
  assert_null(s->op[0].mask_data);
  gds_sweep_destroy(&s);

  assert_int_equal(gds_sweep_parse_trusted(spec, strlen(spec), "mem.yaml", dir, &tr, &s), GDS_SUCCESS);
  assert_true(s->prior.H == 3 && s->prior.W == 5 && s->prior_basis == GDS_PRIOR_BASIS_FOURIER);
  assert_string_equal(s->texture_file, "/nonexistent-dir/no-such-spectrum.npy");
  assert_string_equal(s->texture_sha256, "");
  gds_sweep_destroy(&s);

  /* what does not depend on files is still checked (the texts above are valid but for their files) */
  const char *bad = "name: t\nprior: {texture: no-such-texture.png, size: [4, 6]}\ndiffusion: {steps: 100}\n"
                    "grid: {algorithm: [pigdm], sigma: [-1]}\n";
  old = gds_error_set_quiet(1);
  assert_int_equal(gds_sweep_parse_trusted(bad, strlen(bad), "mem.yaml", dir, &tr, &s), GDS_ERR_INPUT);
  gds_error_set_quiet(old);
  assert_null(s);
}

/* The fingerprint depends on what the sweep means, not how it is written. */
static void test_fingerprint(void **state) {
  (void)state;
  char demo[4096], a[65], b[65], c[65];
  source_path("sweeps/demo.yaml", demo, sizeof demo);
  gds_sweep *s = NULL;
  assert_int_equal(gds_sweep_load(demo, &s), GDS_SUCCESS);
  assert_int_equal(gds_sweep_fingerprint(s, a), GDS_SUCCESS);
  assert_int_equal((int)strlen(a), 64);
  assert_int_equal((int)strspn(a, "0123456789abcdef"), 64);

  /* it is the SHA-256 of the canonical text (checked against coreutils when available) */
  char *text;
  size_t len;
  assert_int_equal(gds_sweep_canonical(s, &text, &len), GDS_SUCCESS);
  assert_int_equal(strlen(text), len);
  char *tmp = gds_test_write_temp(".txt", text);
  char cmd[512], out[128] = "";
  snprintf(cmd, sizeof cmd, "sha256sum %s 2>/dev/null", tmp);
  FILE *p = popen(cmd, "r");
  if (p && fgets(out, sizeof out, p) && strlen(out) >= 64) assert_memory_equal(out, a, 64);
  else print_message("sha256sum not available: digest not cross-checked\n");
  if (p) pclose(p);
  unlink(tmp);
  free(tmp);
  free(text);
  gds_sweep_destroy(&s);

  /* same sweep, other name, order, style, comments and explicit defaults */
  s = load_text("# reordered\n"
                "output: {w2_times: all, checkpoints: [901, 701, 501, 301, 1, 0], samples: 2}\n"
                "grid:\n"
                "  eps: [0.0]\n  sampler_steps: [10, 20, 50, 100, 1000]\n  scheme: [ddpm, ddim]\n"
                "  seed: [0, 1]\n  algorithm: [dps, pigdm, cgdm, ddrm]\n  alpha_dps: [1e-2, 0.030, 0.1]\n"
                "  sigma: [1.0e-2, 0.050]\n"
                "  operator:\n    - gaussian_blur:\n        std: 2\n"
                "    - motion_blur: {angle: 30.0, length: 9}\n"
                "diffusion: {variance: beta, beta_end: 0.02, beta_start: 0.0001, steps: 1000}\n"
                "prior: {periodic: true, size: [64, 64], texture: \"builtin:fabric\"}\n"
                "name: other-name\n",
                NULL);
  assert_int_equal(gds_sweep_fingerprint(s, b), GDS_SUCCESS);
  gds_sweep_destroy(&s);
  assert_string_equal(a, b);

  /* a change that matters */
  s = load_text("name: demo\nprior: {texture: builtin:fabric, size: [64, 64]}\n"
                "diffusion: {steps: 1000}\n"
                "grid:\n  operator: [gaussian_blur: {std: 2.0}, motion_blur: {length: 9, angle: 30}]\n"
                "  sigma: [0.01, 0.06]\n  alpha_dps: [0.3, 1.0, 3.0]\n  algorithm: [dps, pigdm, cgdm, ddrm]\n"
                "  scheme: [ddpm, ddim]\n  sampler_steps: [10, 20, 50, 100, 1000]\n  seed: [0, 1]\n"
                "output: {samples: 2, checkpoints: [901, 701, 501, 301, 1, 0]}\n",
                NULL);
  assert_int_equal(gds_sweep_fingerprint(s, c), GDS_SUCCESS);
  gds_sweep_destroy(&s);
  assert_string_not_equal(a, c);
}

/* The axes of SPEC §7 (scheme, sampler_steps, eps, init) and parameterised algorithms. */
static void test_sampler_axes(void **state) {
  (void)state;
  gds_sweep *s = load_text("name: axes\nprior: {texture: builtin:fabric, size: [8, 8]}\n"
                           "diffusion: {steps: 1000}\n"
                           "grid:\n  operator: [gaussian_blur: {std: 2.0}, inpainting: {mask: random, keep: 0.5}]\n"
                           "  sigma: [0.05]\n"
                           "  algorithm: [dps, pigdm, cgdm, {ddrm: {eta: 0.85, eta_b: 1.0}}, ddrm: {eta: 0},\n"
                           "              {ddrm: {eta_b: 0.5}}, none: {}]\n"
                           "  scheme: [ddpm, {ddim: {eta: 0.0}}, {ddim: {eta: 1.0}}, ddim: {eta: 0.5}]\n"
                           "  sampler_steps: [20, 100, 1000]\n  eps: [0]\n  init: [normal, exact]\n  seed: [0, 1]\n",
                           NULL);
  assert_int_equal(s->n_alg, 7);
  const char *algs[] = {"dps", "pigdm", "cgdm", "ddrm(eta=0.85,eta_b=1)", "ddrm(eta=0,eta_b=1)",
                        "ddrm(eta=0.85,eta_b=0.5)", "none"};
  for (int i = 0; i < 7; i++) {
    char name[128];
    gds_algorithm_spec_name(&s->alg[i], name, sizeof name);
    assert_string_equal(name, algs[i]);
  }
  assert_int_equal(s->alg[3].kind, GDS_ALG_DDRM);
  assert_true(s->alg[3].eta == 0.85 && s->alg[3].eta_b == 1.0);
  assert_int_equal(s->n_scheme, 4);
  const char *schemes[] = {"ddpm", "ddim(eta=0)", "ddim(eta=1)", "ddim(eta=0.5)"};
  for (int i = 0; i < 4; i++) {
    char name[128];
    gds_scheme_spec_name(&s->scheme[i], name, sizeof name);
    assert_string_equal(name, schemes[i]);
  }
  const int steps[] = {20, 100, 1000};
  assert_int_equal(s->n_steps, 3);
  assert_memory_equal(s->steps, steps, sizeof steps);
  assert_int_equal(s->n_eps, 1);
  assert_true(s->eps[0] == 0);
  assert_int_equal(s->n_init, 2);
  assert_true(s->init[0] == GDS_INIT_NORMAL && s->init[1] == GDS_INIT_EXACT);
  assert_int_equal(gds_sweep_npoints(s), 2 * 1 * 1 * 7 * 4 * 3 * 1 * 2 * 2);
  /* default checkpoints: T, 3T/4, T/2, T/4, 0 moved down to times every sampler_steps value
   * visits: 1 + 50k for S = 20 (skip 50), which S = 100 (skip 10) and 1000 visit too */
  const int ckpt[] = {951, 701, 451, 201, 0};
  assert_int_equal(s->n_ckpt, 5);
  assert_memory_equal(s->ckpt, ckpt, sizeof ckpt);
  gds_sweep_destroy(&s);

  /* plain names take the default parameters: ddrm (0.85, 1), ddim η = 0 */
  s = load_text("name: plain\nprior: {texture: builtin:fabric, size: [8, 8]}\ndiffusion: {steps: 100}\n"
                "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [ddrm], scheme: [ddim],\n"
                "       sampler_steps: [3, 7]}\n"
                "output: {checkpoints: [1, 0]}\n",
                NULL);
  assert_true(s->alg[0].kind == GDS_ALG_DDRM && s->alg[0].eta == 0.85 && s->alg[0].eta_b == 1.0);
  assert_true(s->scheme[0].kind == GDS_SCHEME_DDIM && s->scheme[0].eta == 0);
  gds_sweep_destroy(&s);
  /* S = 3 (skip 33: 1, 34, 67) and S = 7 (skip 14: 1, 15, ..., 85) share only 1 and 0 */
  s = load_text("name: common\nprior: {texture: builtin:fabric, size: [8, 8]}\ndiffusion: {steps: 100}\n"
                "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [pigdm], sampler_steps: [3, 7]}\n",
                NULL);
  const int ckpt2[] = {1, 0};
  assert_int_equal(s->n_ckpt, 2);
  assert_memory_equal(s->ckpt, ckpt2, sizeof ckpt2);
  gds_sweep_destroy(&s);
  /* S = 3 alone: 67 (largest <= 100), 67 (<= 75), 34 (<= 50), 1 (<= 25), 0 → repeats dropped */
  s = load_text("name: three\nprior: {texture: builtin:fabric, size: [8, 8]}\ndiffusion: {steps: 100}\n"
                "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [pigdm], sampler_steps: [3]}\n"
                "output: {checkpoints: [67, 34, 1, 0]}\n",
                NULL);
  const int ckpt3[] = {67, 34, 1, 0};
  assert_int_equal(s->n_ckpt, 4);
  assert_memory_equal(s->ckpt, ckpt3, sizeof ckpt3);
  gds_sweep_destroy(&s);
}

/* Files without the new keys get one default value per new axis (SPEC §7), and writing the
 * defaults out does not change the fingerprint; any new axis value does. */
static void test_sampler_axes_defaults(void **state) {
  (void)state;
  const char *base = "name: d\nprior: {texture: builtin:fabric, size: [8, 8]}\ndiffusion: {steps: 1000}\n"
                     "grid:\n  operator: [identity: {}]\n  sigma: [0.1]\n  algorithm: [dps, cgdm]\n";
  char y[1024], fa[65], fb[65];
  gds_sweep *s = load_text(base, NULL);
  assert_int_equal(s->n_scheme, 1);
  assert_int_equal(s->scheme[0].kind, GDS_SCHEME_DDPM);
  assert_int_equal(s->n_steps, 1);
  assert_int_equal(s->steps[0], 1000);
  assert_int_equal(s->n_eps, 1);
  assert_true(s->eps[0] == 0);
  assert_int_equal(s->n_init, 1);
  assert_int_equal(s->init[0], GDS_INIT_NORMAL);
  assert_int_equal(gds_sweep_npoints(s), 2);
  assert_int_equal(gds_sweep_fingerprint(s, fa), GDS_SUCCESS);
  char *text;
  assert_int_equal(gds_sweep_canonical(s, &text, NULL), GDS_SUCCESS);
  assert_non_null(strstr(text, "grid.scheme=ddpm\ngrid.sampler_steps=1000\ngrid.eps=0\ngrid.init=normal\n"));
  free(text);
  gds_sweep_destroy(&s);

  snprintf(y, sizeof y, "%s  scheme: [ddpm]\n  sampler_steps: [1000]\n  eps: [-0.0]\n  init: [normal]\n", base);
  s = load_text(y, NULL);
  assert_int_equal(gds_sweep_fingerprint(s, fb), GDS_SUCCESS);
  gds_sweep_destroy(&s);
  assert_string_equal(fa, fb);

  const char *changes[] = {"  scheme: [ddim]\n", "  scheme: [ddim: {eta: 1}]\n", "  sampler_steps: [999]\n",
                           "  init: [exact]\n", "  algorithm: [dps, ddrm]\n"};
  for (size_t i = 0; i < sizeof changes / sizeof *changes; i++) {
    if (strstr(changes[i], "algorithm"))
      snprintf(y, sizeof y, "name: d\nprior: {texture: builtin:fabric, size: [8, 8]}\ndiffusion: {steps: 1000}\n"
               "grid:\n  operator: [identity: {}]\n  sigma: [0.1]\n%s", changes[i]);
    else snprintf(y, sizeof y, "%s%s", base, changes[i]);
    s = load_text(y, NULL);
    assert_int_equal(gds_sweep_fingerprint(s, fb), GDS_SUCCESS);
    gds_sweep_destroy(&s);
    assert_string_not_equal(fa, fb);
  }
}

/* The continuous VP SDE (SPEC §7.3): β range, K = sampler_steps, eps, step-index checkpoints. */
static void test_vp_sde(void **state) {
  (void)state;
  gds_sweep *s = load_text("name: vp\nprior: {texture: builtin:fabric, size: [8, 8]}\n"
                           "diffusion: {process: vp_sde}\n"
                           "grid:\n  operator: [identity: {}]\n  sigma: [0.1]\n  algorithm: [none, cgdm]\n"
                           "  scheme: [em, ei, ddpm, euler, heun, rk4]\n  sampler_steps: [10, 100]\n"
                           "  eps: [0, 0.001, 1.0e-5]\n  init: [normal, exact]\n",
                           NULL);
  assert_int_equal(s->process, GDS_PROCESS_VP_SDE);
  assert_true(s->beta_min == 0.1 && s->beta_max == 20);
  assert_int_equal(s->T, 100); /* step indices 0..max K */
  assert_int_equal(s->n_scheme, 6);
  const gds_scheme kinds[] = {GDS_SCHEME_EM, GDS_SCHEME_EI, GDS_SCHEME_DDPM, GDS_SCHEME_EULER, GDS_SCHEME_HEUN,
                              GDS_SCHEME_RK4};
  for (int i = 0; i < 6; i++) assert_int_equal(s->scheme[i].kind, kinds[i]);
  assert_int_equal(s->n_eps, 3);
  assert_true(s->eps[1] == 0.001 && s->eps[2] == 1e-5);
  const int ckpt[] = {0, 2, 5, 7, 10}; /* 0, K/4, K/2, 3K/4, K of the smallest K, sampling order */
  assert_int_equal(s->n_ckpt, 5);
  assert_memory_equal(s->ckpt, ckpt, sizeof ckpt);
  assert_int_equal(s->n_w2t, 101);
  assert_int_equal(gds_sweep_npoints(s), 2 * 6 * 2 * 3 * 2);
  char *text, fa[65], fb[65];
  assert_int_equal(gds_sweep_canonical(s, &text, NULL), GDS_SUCCESS);
  assert_non_null(strstr(text, "diffusion=vp_sde,0.10000000000000001,20\n"));
  assert_non_null(strstr(text, "grid.scheme=em,ei,ddpm,euler,heun,rk4\n"));
  free(text);
  assert_int_equal(gds_sweep_fingerprint(s, fa), GDS_SUCCESS);
  gds_sweep_destroy(&s);
  s = load_text("name: vp\nprior: {texture: builtin:fabric, size: [8, 8]}\n"
                "diffusion: {process: vp_sde, beta_min: 0.1, beta_max: 25}\n"
                "grid:\n  operator: [identity: {}]\n  sigma: [0.1]\n  algorithm: [none, cgdm]\n"
                "  scheme: [em, ei, ddpm, euler, heun, rk4]\n  sampler_steps: [10, 100]\n"
                "  eps: [0, 0.001, 1.0e-5]\n  init: [normal, exact]\n"
                "output: {checkpoints: [0, 10], w2_times: [0, 50, 100]}\n",
                NULL);
  assert_true(s->beta_max == 25);
  assert_int_equal(gds_sweep_fingerprint(s, fb), GDS_SUCCESS);
  assert_string_not_equal(fa, fb);
  gds_sweep_destroy(&s);
}

/* prior: {spectrum: file.npy, mean: m} (SPEC §7.6): a 1-D array (CIFAR-10's 3072 eigenvalues)
 * is an eigenbasis prior of images 1 × n, identity only; a 2-D one a stationary prior of its
 * size; the file's content is in the fingerprint; bad files are named with the reason. */
static void test_spectrum_prior(void **state) {
  (void)state;
  char cifar[4096], yaml[8192];
  source_path("tests/data/cifar10_spectrum.npy", cifar, sizeof cifar);
  snprintf(yaml, sizeof yaml, "name: cifar\nprior: {spectrum: %s, mean: 0}\ndiffusion: {process: vp_sde}\n"
           "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [none], sampler_steps: [10]}\n", cifar);
  gds_sweep *s = load_text(yaml, NULL);
  assert_true(s->prior.H == 1 && s->prior.W == 3072);
  assert_int_equal(s->prior_basis, GDS_PRIOR_BASIS_EIGEN);
  assert_ptr_equal(s->prior.spectrum, s->spectrum);
  assert_null(s->prior.texture);
  assert_true(s->prior.spectrum_mean == 0 && !s->prior.white && !s->prior.periodic);
  char *text, ref[65];
  assert_int_equal(gds_sweep_canonical(s, &text, NULL), GDS_SUCCESS);
  sha256sum_of(cifar, ref);
  if (ref[0]) {
    char line[128];
    snprintf(line, sizeof line, "prior.spectrum.sha256=%s\nprior.mean=0\n", ref);
    assert_non_null(strstr(text, line));
  }
  free(text);
  assert_int_equal(gds_sweep_inputs(s, &text), GDS_SUCCESS);
  assert_non_null(strstr(text, "prior.spectrum\t"));
  free(text);
  gds_sweep_destroy(&s);

  /* a 2-D spectrum: its size; size may be given if it matches */
  char dir[] = "/tmp/gdstest_specXXXXXX", npy[256], msg[4096];
  assert_non_null(mkdtemp(dir));
  snprintf(npy, sizeof npy, "%s/s.npy", dir);
  double lam[12];
  for (int i = 0; i < 12; i++) lam[i] = 1.0; /* flat: symmetric */
  assert_int_equal(gds_test_write_npy(npy, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", lam, 12), 0);
  snprintf(yaml, sizeof yaml, "name: s2\nprior: {spectrum: s.npy, size: [3, 4]}\ndiffusion: {steps: 100}\n"
           "grid: {operator: [gaussian_blur: {std: 1}], sigma: [0.1], algorithm: [pigdm]}\n");
  char ypath[512];
  snprintf(ypath, sizeof ypath, "%s/s.yaml", dir);
  FILE *f = fopen(ypath, "w");
  fputs(yaml, f);
  fclose(f);
  assert_int_equal(load_capture(ypath, &s, msg, sizeof msg), GDS_SUCCESS);
  assert_true(s->prior.H == 3 && s->prior.W == 4 && s->prior_basis == GDS_PRIOR_BASIS_FOURIER);
  gds_sweep_destroy(&s);

  /* errors, each at its line and key */
  struct { const char *yaml, *want; } bad[] = {
      {"name: b\nprior: {spectrum: s.npy, size: [4, 3]}\ndiffusion: {steps: 100}\n"
       "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [pigdm]}\n",
       "s.yaml:2: prior.size: [4, 3] does not match the spectrum s.npy, which is 3 x 4"},
      {"name: b\nprior: {spectrum: s.npy, texture: builtin:fabric}\ndiffusion: {steps: 100}\n"
       "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [pigdm]}\n",
       "s.yaml:2: prior.spectrum: texture, white and spectrum are mutually exclusive"},
      {"name: b\nprior: {texture: builtin:fabric, size: [4, 4], mean: 1}\ndiffusion: {steps: 100}\n"
       "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [pigdm]}\n",
       "s.yaml:2: prior.mean: applies to spectrum priors only"},
      {"name: b\nprior: {texture: builtin:fabric}\ndiffusion: {steps: 100}\n"
       "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [pigdm]}\n",
       "s.yaml:2: prior.size: missing (required for texture and white priors)"},
      {"name: b\nprior: {spectrum: s.npy, periodic: true}\ndiffusion: {steps: 100}\n"
       "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [pigdm]}\n",
       "s.yaml:2: prior.periodic: applies to texture priors only, not spectrum"},
      {"name: b\nprior: {spectrum: missing.npy}\ndiffusion: {steps: 100}\n"
       "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [pigdm]}\n",
       "s.yaml:2: prior.spectrum: cannot read"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    f = fopen(ypath, "w");
    fputs(bad[i].yaml, f);
    fclose(f);
    assert_int_equal(load_capture(ypath, &s, msg, sizeof msg), GDS_ERR_INPUT);
    assert_contains(msg, bad[i].want);
  }
  /* a 1-D spectrum with another operator */
  snprintf(yaml, sizeof yaml, "name: c\nprior: {spectrum: %s}\ndiffusion: {steps: 100}\n"
           "grid:\n  operator: [identity: {}, gaussian_blur: {std: 1}]\n  sigma: [0.1]\n  algorithm: [pigdm]\n", cifar);
  f = fopen(ypath, "w");
  fputs(yaml, f);
  fclose(f);
  assert_int_equal(load_capture(ypath, &s, msg, sizeof msg), GDS_ERR_INPUT);
  assert_contains(msg, "s.yaml:5: grid.operator[1]: the prior is a 1-D spectrum");
  assert_contains(msg, "identity operator only");
  /* malformed .npy files: the reader's reason at the spectrum's line */
  const char *dicts[] = {"{'descr': '<f8', 'fortran_order': True, 'shape': (3, 4), }",
                         "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 4), }",
                         "{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }"};
  const char *reasons[] = {"Fortran order", "unsupported dtype '<i8'", "empty"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(gds_test_write_npy(npy, dicts[i], lam, i == 2 ? 0 : 12), 0);
    f = fopen(ypath, "w");
    fputs("name: b\nprior: {spectrum: s.npy}\ndiffusion: {steps: 100}\n"
          "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [pigdm]}\n", f);
    fclose(f);
    assert_int_equal(load_capture(ypath, &s, msg, sizeof msg), GDS_ERR_INPUT);
    assert_contains(msg, "s.yaml:2: prior.spectrum: ");
    assert_contains(msg, reasons[i]);
  }
  lam[5] = -1;
  assert_int_equal(gds_test_write_npy(npy, "{'descr': '<f8', 'fortran_order': False, 'shape': (12,), }", lam, 12), 0);
  assert_int_equal(load_capture(ypath, &s, msg, sizeof msg), GDS_ERR_INPUT);
  assert_contains(msg, "eigenvalue 5 is negative (-1)");
  unlink(npy);
  unlink(ypath);
  rmdir(dir);
}

/* ---- input files, limits, representable arithmetic (issue 8) ------------------------- */

/* A binary 8-bit PGM of h x w pixels, value (i*7 + shift) % 256. */
static void write_pgm_binary(const char *path, int h, int w, int shift) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fprintf(f, "P5\n%d %d\n255\n", w, h);
  for (int i = 0; i < h * w; i++) fputc((i * 7 + shift) % 256, f);
  fclose(f);
}

static void sha256sum_of(const char *path, char out[65]) {
  char cmd[4200], line[256] = "";
  snprintf(cmd, sizeof cmd, "sha256sum '%s' 2>/dev/null", path);
  FILE *p = popen(cmd, "r");
  out[0] = '\0';
  if (p && fgets(line, sizeof line, p) && strlen(line) >= 64) {
    memcpy(out, line, 64);
    out[64] = '\0';
  }
  if (p) pclose(p);
}

/* The texture's and the mask's bytes are part of the fingerprint; the output's `inputs` list
 * lets a later check name a changed file. */
static void test_input_content(void **state) {
  (void)state;
  char dir[] = "/tmp/gdstest_inputsXXXXXX";
  assert_non_null(mkdtemp(dir));
  char tex[256], mask[256], yaml[256], mdir[256];
  snprintf(tex, sizeof tex, "%s/tex.pgm", dir);
  snprintf(mask, sizeof mask, "%s/mask.pgm", dir);
  snprintf(yaml, sizeof yaml, "%s/s.yaml", dir);
  snprintf(mdir, sizeof mdir, "%s/adir", dir);
  write_pgm_binary(tex, 300, 301, 0); /* 90 300 bytes: several SHA-256 blocks and read chunks */
  write_pgm_binary(mask, 8, 8, 1);
  FILE *f = fopen(yaml, "w");
  assert_non_null(f);
  fputs("name: inputs\nprior: {texture: tex.pgm, size: [8, 8]}\ndiffusion: {steps: 100}\n"
        "grid:\n  operator: [inpainting: {mask: file, path: mask.pgm}, identity: {}]\n  sigma: [0.1]\n"
        "  algorithm: [pigdm]\n", f);
  fclose(f);

  gds_sweep *s = NULL;
  char fp0[65], fp1[65], ref[65], *canon, *inputs, msg[2048];
  assert_int_equal(gds_sweep_load(yaml, &s), GDS_SUCCESS);
  assert_int_equal(gds_sweep_fingerprint(s, fp0), GDS_SUCCESS);
  assert_int_equal(gds_sweep_canonical(s, &canon, NULL), GDS_SUCCESS);
  sha256sum_of(tex, ref);
  if (ref[0]) { /* the streamed SHA-256 of the file equals coreutils' */
    char line[128];
    snprintf(line, sizeof line, "prior.texture.sha256=%s\n", ref);
    assert_non_null(strstr(canon, line));
    assert_string_equal(s->texture_sha256, ref);
    sha256sum_of(mask, ref);
    assert_string_equal(s->op[0].mask_sha256, ref);
  } else print_message("sha256sum not available: file hashes not cross-checked\n");
  free(canon);
  assert_int_equal(gds_sweep_inputs(s, &inputs), GDS_SUCCESS);
  assert_non_null(strstr(inputs, "prior.texture\t"));
  assert_non_null(strstr(inputs, "grid.operator[0].inpainting.path\t"));
  assert_non_null(strstr(inputs, "/tex.pgm\n"));
  assert_int_equal(gds_sweep_inputs_changed(inputs, msg, sizeof msg), 0);
  assert_string_equal(msg, "");
  gds_sweep_destroy(&s);

  /* same path, other bytes: another fingerprint, and the old list names the file */
  write_pgm_binary(tex, 300, 301, 1);
  assert_int_equal(gds_sweep_load(yaml, &s), GDS_SUCCESS);
  assert_int_equal(gds_sweep_fingerprint(s, fp1), GDS_SUCCESS);
  gds_sweep_destroy(&s);
  assert_string_not_equal(fp0, fp1);
  assert_int_equal(gds_sweep_inputs_changed(inputs, msg, sizeof msg), 1);
  assert_contains(msg, "tex.pgm' (prior.texture) changed");
  /* the original bytes back: the original fingerprint */
  write_pgm_binary(tex, 300, 301, 0);
  assert_int_equal(gds_sweep_load(yaml, &s), GDS_SUCCESS);
  assert_int_equal(gds_sweep_fingerprint(s, fp1), GDS_SUCCESS);
  gds_sweep_destroy(&s);
  assert_string_equal(fp0, fp1);
  /* the mask */
  write_pgm_binary(mask, 8, 8, 2);
  assert_int_equal(gds_sweep_load(yaml, &s), GDS_SUCCESS);
  assert_int_equal(gds_sweep_fingerprint(s, fp1), GDS_SUCCESS);
  gds_sweep_destroy(&s);
  assert_string_not_equal(fp0, fp1);
  assert_int_equal(gds_sweep_inputs_changed(inputs, msg, sizeof msg), 1);
  assert_contains(msg, "mask.pgm' (grid.operator[0].inpainting.path) changed");
  /* a file that is gone is mentioned, not reported as changed */
  unlink(mask);
  assert_int_equal(gds_sweep_inputs_changed(inputs, msg, sizeof msg), 0);
  assert_contains(msg, "cannot be read now");
  free(inputs);

  /* a mask file of zeros: the message says the mask is empty; a directory says so */
  FILE *z = fopen(mask, "wb");
  assert_non_null(z);
  fprintf(z, "P5\n8 8\n255\n");
  for (int i = 0; i < 64; i++) fputc(0, z);
  fclose(z);
  char out[4096];
  assert_int_equal(load_capture(yaml, &s, out, sizeof out), GDS_ERR_INPUT);
  assert_contains(out, "s.yaml:5: grid.operator[0].inpainting: the mask is empty: every pixel of");
  assert_int_equal(mkdir(mdir, 0700), 0);
  f = fopen(yaml, "w");
  fputs("name: inputs\nprior: {texture: adir, size: [8, 8]}\ndiffusion: {steps: 100}\n"
        "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [pigdm]}\n", f);
  fclose(f);
  assert_int_equal(load_capture(yaml, &s, out, sizeof out), GDS_ERR_INPUT);
  assert_contains(out, "s.yaml:2: prior.texture: cannot read");
  assert_contains(out, "it is a directory, not a file");
  unlink(tex);
  unlink(mask);
  unlink(yaml);
  rmdir(mdir);
  rmdir(dir);
}

/* Sweep files: anything but a regular file of at most 64 MiB is refused before reading. */
static void test_load_limits(void **state) {
  (void)state;
  char dir[] = "/tmp/gdstest_limitsXXXXXX", path[256], msg[4096];
  assert_non_null(mkdtemp(dir));
  gds_sweep *s = NULL;
  assert_int_equal(load_capture(dir, &s, msg, sizeof msg), GDS_ERR_INPUT);
  assert_contains(msg, "is a directory, not a sweep file");
  assert_int_equal(load_capture("/dev/zero", &s, msg, sizeof msg), GDS_ERR_INPUT);
  assert_contains(msg, "'/dev/zero' is not a regular file (a device)");
  snprintf(path, sizeof path, "%s/fifo.yaml", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_int_equal(load_capture(path, &s, msg, sizeof msg), GDS_ERR_INPUT); /* no writer: must not block */
  assert_contains(msg, "a FIFO (named pipe)");
  unlink(path);
  snprintf(path, sizeof path, "%s/big.yaml", dir);
  int fd = open(path, O_CREAT | O_WRONLY, 0600);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)GDS_SWEEP_MAX_BYTES + 1), 0); /* sparse: never read */
  close(fd);
  assert_int_equal(load_capture(path, &s, msg, sizeof msg), GDS_ERR_INPUT);
  assert_contains(msg, "67108865 bytes, larger than the limit of 64 MiB");
  unlink(path);
  assert_null(s);
  static const char text[] = "name: x\n";
  int old = gds_error_set_quiet(1);
  assert_int_equal(gds_sweep_parse(text, (size_t)GDS_SWEEP_MAX_BYTES + 1, "mem.yaml", NULL, &s), GDS_ERR_INPUT);
  gds_error_set_quiet(old);
  rmdir(dir);
}

/* Seeds take the whole documented range 0 .. 2^63 − 1. */
static void test_seed_range(void **state) {
  (void)state;
  gds_sweep *s = load_text("name: seeds\nprior: {texture: builtin:fabric, size: [4, 4]}\ndiffusion: {steps: 100}\n"
                           "grid: {operator: [identity: {}], sigma: [0.1], algorithm: [none],\n"
                           "       seed: [9223372036854775807, 0, 4294967296]}\n",
                           NULL);
  assert_true(s->seed[0] == INT64_MAX && s->seed[1] == 0 && s->seed[2] == 4294967296LL);
  gds_sweep_destroy(&s);
}

/* A grid whose result arrays would exceed 2^53 values is refused (no size arithmetic overflows). */
static void test_grid_overflow(void **state) {
  (void)state;
  size_t cap = 1 << 20, n = 0;
  char *y = malloc(cap);
  assert_non_null(y);
  n += (size_t)snprintf(y + n, cap - n, "name: big\nprior: {texture: builtin:fabric, size: [4, 4]}\n"
                        "diffusion: {steps: 10000}\ngrid:\n  operator:\n");
  for (int i = 1; i <= 200; i++) n += (size_t)snprintf(y + n, cap - n, "    - gaussian_blur: {std: %d}\n", i);
  const char *axes[] = {"sigma", "alpha_dps", "seed"};
  for (int a = 0; a < 3; a++) {
    n += (size_t)snprintf(y + n, cap - n, "  %s: [", axes[a]);
    for (int i = 1; i <= 2000; i++) n += (size_t)snprintf(y + n, cap - n, "%s%d", i > 1 ? ", " : "", i);
    n += (size_t)snprintf(y + n, cap - n, "]\n");
  }
  n += (size_t)snprintf(y + n, cap - n, "  algorithm: [dps, pigdm]\n  sampler_steps: [10, 100, 1000, 10000]\n");
  char *path = gds_test_write_temp(".yaml", y), msg[4096];
  gds_sweep *s = NULL;
  assert_int_equal(load_capture(path, &s, msg, sizeof msg), GDS_ERR_INPUT);
  assert_contains(msg, ":5: grid: overflow: the sweep would hold");
  assert_contains(msg, "200 x 2000 x 2000 x 2 x 1 x 4 x 1 x 1 x 2000 points");
  unlink(path);
  free(path);
  free(y);
}

/* Fuzz corpus (tests/data/fuzz, written by make_corpus.py): every file parses or is refused as
 * an input error, never a crash, a runtime error or undefined behaviour (the suite runs under
 * UBSan too); the operators of every accepted file build. */
static void test_fuzz_corpus(void **state) {
  (void)state;
  char dirpath[4096];
  source_path("tests/data/fuzz", dirpath, sizeof dirpath);
  DIR *d = opendir(dirpath);
  assert_non_null(d);
  int nfiles = 0, nok = 0, nbad = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 5, ".yaml")) continue;
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
    gds_sweep *s = NULL;
    int old = gds_error_set_quiet(1);
    int rc = gds_sweep_load(path, &s);
    gds_error_set_quiet(old);
    nfiles++;
    if (rc != GDS_SUCCESS && rc != GDS_ERR_INPUT) {
      print_error("%s: error code %d (expected 0 or an input error)\n", e->d_name, rc);
      fail();
    }
    if (rc) {
      nbad++;
      assert_null(s);
      continue;
    }
    nok++;
    char fp[65], *text;
    assert_int_equal(gds_sweep_fingerprint(s, fp), GDS_SUCCESS);
    assert_int_equal(gds_sweep_inputs(s, &text), GDS_SUCCESS);
    free(text);
    if ((int64_t)s->prior.H * s->prior.W <= 4096) {
      gds_prior *pr = NULL;
      if (gds_prior_create(&s->prior, &pr)) {
        print_error("%s: prior accepted by the sweep but not built\n", e->d_name);
        fail();
      }
      gds_prior_destroy(&pr);
    }
    if ((int64_t)s->prior.H * s->prior.W <= 4096)
      for (int i = 0; i < s->n_op; i++) {
        gds_operator *op = NULL;
        if (gds_operator_create(&s->op[i], s->prior.H, s->prior.W, &op)) {
          print_error("%s: operator %d accepted by the sweep but not built\n", e->d_name, i);
          fail();
        }
        double x[4096] = {0}, y[4096];
        x[0] = 1;
        assert_int_equal(gds_operator_apply(op, x, y), GDS_SUCCESS);
        for (int k = 0; k < op->m; k++) assert_true(isfinite(y[k]));
        gds_operator_destroy(&op);
      }
    gds_sweep_destroy(&s);
  }
  closedir(d);
  print_message("fuzz corpus: %d files, %d accepted, %d refused\n", nfiles, nok, nbad);
  assert_true(nfiles >= 250);
  assert_true(nok >= 20 && nbad >= 100); /* the corpus exercises both paths */
}

/* ---- bad inputs: one test each ------------------------------------------------------- */

typedef struct bad_case {
  const char *name;
  const char *yaml;
  const char *where; /* ":LINE:" or ":LINE:COL:", appended to the file name */
  const char *key;   /* key path expected in the message (NULL: none) */
  const char *also;  /* another expected fragment (what is wrong / valid), or NULL */
} bad_case;

#define L_NAME "name: bad\n"
#define L_PRIOR "prior: {texture: builtin:fabric, size: [8, 8]}\n"
#define L_DIFF "diffusion: {steps: 100}\n"
#define GRID_WITH(op, sigma, alg) "grid:\n  operator: " op "\n  sigma: " sigma "\n  algorithm: " alg "\n"
#define L_GRID GRID_WITH("[identity: {}]", "[0.1]", "[dps]") /* lines 4-7 */
#define HEAD L_NAME L_PRIOR L_DIFF                           /* lines 1-3 */

static const bad_case bad_cases[] = {
    {"bad_unknown_top_key", HEAD L_GRID "colour: red\n", ":8:", "colour", "valid keys here: name, prior"},
    {"bad_unknown_nested_key", L_NAME "prior: {texture: builtin:fabric, size: [8, 8], smooth: 1}\n" L_DIFF L_GRID,
     ":2:", "prior.smooth", "valid keys here: texture, white, spectrum, mean, size, periodic"},
    {"bad_unknown_operator_param", HEAD GRID_WITH("[gaussian_blur: {std: 1, sd: 2}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].gaussian_blur.sd", "valid keys here: std"},
    {"bad_unknown_operator", HEAD GRID_WITH("[blur: {std: 1}]", "[0.1]", "[dps]"), ":5:", "grid.operator[0]",
     "unknown operator 'blur'; valid: identity, gaussian_blur"},
    {"bad_operator_not_a_mapping", HEAD GRID_WITH("[identity]", "[0.1]", "[dps]"), ":5:", "grid.operator[0]",
     "- identity: {}"},
    {"bad_identity_with_params", HEAD GRID_WITH("[identity: {std: 1}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].identity.std", "unknown key 'std'; valid keys here: backend"},
    {"bad_backend_value", HEAD GRID_WITH("[gaussian_blur: {std: 1, backend: scalapack}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].gaussian_blur.backend", "auto, dense"},
    {"bad_unknown_algorithm", HEAD GRID_WITH("[identity: {}]", "[0.1]", "[dps, ddim]"), ":7:",
     "grid.algorithm[1]", "one of none, dps, pigdm, cgdm"},
    {"bad_unknown_variance", L_NAME L_PRIOR "diffusion: {steps: 100, variance: ddim}\n" L_GRID, ":3:",
     "diffusion.variance", "one of beta, beta_tilde"},
    {"bad_type_steps_real", L_NAME L_PRIOR "diffusion: {steps: 10.5}\n" L_GRID, ":3:", "diffusion.steps",
     "not an integer"},
    {"bad_type_sigma_string", HEAD GRID_WITH("[identity: {}]", "[abc]", "[dps]"), ":6:", "grid.sigma[0]",
     "expected a number > 0"},
    {"bad_type_quoted_number", HEAD GRID_WITH("[gaussian_blur: {std: \"2\"}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].gaussian_blur.std", "quoted"},
    {"bad_type_scalar_for_list", HEAD GRID_WITH("[identity: {}]", "0.1", "[dps]"), ":6:", "grid.sigma",
     "expected a list, e.g. sigma: [0.01, 0.05]; got 0.1 (for one value write [0.1])"},
    {"bad_type_list_for_scalar", L_NAME L_PRIOR "diffusion: {steps: [100]}\n" L_GRID, ":3:", "diffusion.steps",
     "got a list"},
    {"bad_type_periodic", L_NAME "prior: {texture: builtin:fabric, size: [8, 8], periodic: yes}\n" L_DIFF L_GRID,
     ":2:", "prior.periodic", "true or false"},
    {"bad_type_size", L_NAME "prior: {texture: builtin:fabric, size: [8, 8, 3]}\n" L_DIFF L_GRID, ":2:",
     "prior.size", "[H, W]"},
    {"bad_size_too_small", L_NAME "prior: {texture: builtin:fabric, size: [8, 1]}\n" L_DIFF L_GRID, ":2:",
     "prior.size[1]", ">= 2"},
    {"bad_std_zero", HEAD GRID_WITH("[gaussian_blur: {std: 0}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].gaussian_blur.std", "must be > 0, got 0"},
    {"bad_std_negative_block", HEAD "grid:\n  operator:\n    - identity: {}\n    - gaussian_blur:\n"
                                    "        std: -1\n  sigma: [0.1]\n  algorithm: [dps]\n",
     ":8:", "grid.operator[1].gaussian_blur.std", "must be > 0, got -1"},
    {"bad_length_zero", HEAD GRID_WITH("[motion_blur: {length: 0, angle: 10}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].motion_blur.length", "must be > 0"},
    {"bad_sigma_nonpositive", HEAD GRID_WITH("[identity: {}]", "[0.1, -0.2]", "[dps]"), ":6:", "grid.sigma[1]",
     "must be > 0, got -0.2"},
    {"bad_alpha_nonpositive", HEAD GRID_WITH("[identity: {}]", "[0.1]", "[dps]") "  alpha_dps: [1, 0]\n", ":8:",
     "grid.alpha_dps[1]", "must be > 0"},
    {"bad_seed_negative", HEAD L_GRID "  seed: [-1]\n", ":8:", "grid.seed[0]", "must be >= 0"},
    {"bad_steps_zero", L_NAME L_PRIOR "diffusion: {steps: 0}\n" L_GRID, ":3:", "diffusion.steps", "got 0"},
    {"bad_beta_start_zero", L_NAME L_PRIOR "diffusion: {steps: 100, beta_start: 0, beta_end: 0.02}\n" L_GRID,
     ":3:", "diffusion.beta_start", "in (0, 1)"},
    {"bad_beta_end_one", L_NAME L_PRIOR "diffusion:\n  steps: 100\n  beta_end: 1.5\n" L_GRID, ":5:",
     "diffusion.beta_end", "in (0, 1)"},
    {"bad_default_betas_small_T", L_NAME L_PRIOR "diffusion: {steps: 20}\n" L_GRID, ":3:", "diffusion.beta_end",
     "give beta_start and beta_end explicitly"},
    {"bad_checkpoint_outside", HEAD L_GRID "output: {samples: 1, checkpoints: [100, 101]}\n", ":8:",
     "output.checkpoints[1]", "in [0, 100], got 101"},
    {"bad_checkpoint_negative", HEAD L_GRID "output: {checkpoints: [-1]}\n", ":8:", "output.checkpoints[0]",
     "in [0, 100]"},
    {"bad_w2_times_outside", HEAD L_GRID "output:\n  w2_times: [0, 50, 1000]\n", ":9:", "output.w2_times[2]",
     "in [0, 100], got 1000"},
    {"bad_w2_times_word", HEAD L_GRID "output: {w2_times: some}\n", ":8:", "output.w2_times", "expected all or"},
    {"bad_samples_negative", HEAD L_GRID "output: {samples: -2}\n", ":8:", "output.samples", ">= 0"},
    {"bad_duplicate_sigma", HEAD GRID_WITH("[identity: {}]", "[0.1, 0.2, 1e-1]", "[dps]"), ":6:", "grid.sigma[2]",
     "duplicate of grid.sigma[0]"},
    {"bad_duplicate_algorithm", HEAD GRID_WITH("[identity: {}]", "[0.1]", "[dps, cgdm, dps]"), ":7:",
     "grid.algorithm[2]", "duplicate"},
    {"bad_duplicate_seed", HEAD L_GRID "  seed: [0, 1, 1]\n", ":8:", "grid.seed[2]", "duplicate"},
    {"bad_duplicate_operator", HEAD "grid:\n  operator:\n    - gaussian_blur: {std: 2}\n"
                                    "    - gaussian_blur: {std: 2.0}\n  sigma: [0.1]\n  algorithm: [dps]\n",
     ":7:", "grid.operator[1]", "duplicate of grid.operator[0] (line 6)"},
    {"bad_duplicate_checkpoint", HEAD L_GRID "output: {checkpoints: [100, 0, 100]}\n", ":8:",
     "output.checkpoints[2]", "duplicate"},
    {"bad_empty_sigma", HEAD GRID_WITH("[identity: {}]", "[]", "[dps]"), ":6:", "grid.sigma", "must not be empty"},
    {"bad_empty_operator", HEAD GRID_WITH("[]", "[0.1]", "[dps]"), ":5:", "grid.operator", "must not be empty"},
    {"bad_duplicate_key", L_NAME L_PRIOR "diffusion:\n  steps: 100\n  steps: 200\n" L_GRID, ":5:",
     "diffusion.steps", "duplicate key (first given at line 4)"},
    {"bad_missing_required", HEAD "grid:\n  operator: [identity: {}]\n  algorithm: [dps]\n", ":5:", "grid.sigma",
     "missing"},
    {"bad_missing_section", L_NAME L_PRIOR L_GRID, ":1:", "diffusion", "missing"},
    {"bad_name_chars", "name: my sweep\n" L_PRIOR L_DIFF L_GRID, ":1:", "name", "[A-Za-z0-9_.-]+"},
    {"bad_texture_and_white", L_NAME "prior:\n  texture: builtin:fabric\n  white: {std: 1}\n  size: [8, 8]\n"
                              L_DIFF L_GRID, ":4:", "prior.white", "mutually exclusive"},
    {"bad_no_texture", L_NAME "prior: {size: [8, 8]}\n" L_DIFF L_GRID, ":2:", "prior.texture", "builtin:<name>"},
    {"bad_empty_builtin", L_NAME "prior: {texture: \"builtin:\", size: [8, 8]}\n" L_DIFF L_GRID, ":2:",
     "prior.texture", "builtin:fabric"},
    {"bad_missing_texture_file", L_NAME "prior: {texture: gds-no-such-texture.png, size: [8, 8]}\n" L_DIFF L_GRID,
     ":2:", "prior.texture", "cannot read '/tmp/gds-no-such-texture.png'"},
    {"bad_white_std", L_NAME "prior: {white: {std: 0}, size: [8, 8]}\n" L_DIFF L_GRID, ":2:", "prior.white.std",
     "> 0"},
    {"bad_sr_factor", HEAD GRID_WITH("[super_resolution: {factor: 3}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].super_resolution.factor", "does not divide the image size [8, 8]; valid: 2, 4, 8"},
    {"bad_sr_factor_one", HEAD GRID_WITH("[super_resolution: {factor: 1}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].super_resolution.factor", ">= 2"},
    {"bad_box_outside", HEAD GRID_WITH("[inpainting: {mask: box, box: [4, 4, 5, 2]}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].inpainting.box", "not inside the 8 x 8 image"},
    {"bad_box_everything", HEAD GRID_WITH("[inpainting: {mask: box, box: [0, 0, 8, 8]}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].inpainting.box", "at least one pixel"},
    {"bad_box_negative", HEAD GRID_WITH("[inpainting: {mask: box, box: [-1, 0, 2, 2]}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].inpainting.box[0]", ">= 0"},
    {"bad_keep_zero", HEAD GRID_WITH("[inpainting: {mask: random, keep: 0}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].inpainting.keep", "in (0, 1]"},
    {"bad_keep_missing", HEAD GRID_WITH("[inpainting: {mask: random}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].inpainting.keep", "missing"},
    {"bad_mask_key_mismatch", HEAD GRID_WITH("[inpainting: {mask: random, keep: 0.5, box: [0, 0, 1, 1]}]", "[0.1]",
                                             "[dps]"),
     ":5:", "grid.operator[0].inpainting.box", "does not apply to mask: random"},
    {"bad_mask_file_missing", HEAD GRID_WITH("[inpainting: {mask: file, path: gds-no-such-mask.png}]", "[0.1]",
                                             "[dps]"),
     ":5:", "grid.operator[0].inpainting.path", "/tmp/gds-no-such-mask.png"},
    {"bad_ddrm_eta", HEAD GRID_WITH("[identity: {}]", "[0.1]", "[dps, {ddrm: {eta: 1.5, eta_b: 1}}]"), ":7:",
     "grid.algorithm[1].ddrm.eta", "must be in [0, 1], got 1.5"},
    {"bad_ddrm_eta_b", HEAD GRID_WITH("[identity: {}]", "[0.1]", "[ddrm: {eta_b: -0.1}]"), ":7:",
     "grid.algorithm[0].ddrm.eta_b", "must be in [0, 1], got -0.1"},
    {"bad_ddrm_unknown_param", HEAD GRID_WITH("[identity: {}]", "[0.1]", "[ddrm: {eta: 0.5, zeta: 1}]"), ":7:",
     "grid.algorithm[0].ddrm.zeta", "valid keys here: eta, eta_b"},
    {"bad_dps_with_param", HEAD GRID_WITH("[identity: {}]", "[0.1]", "[dps: {eta: 1}]"), ":7:",
     "grid.algorithm[0].dps.eta", "no keys are allowed here"},
    {"bad_algorithm_two_keys", HEAD GRID_WITH("[identity: {}]", "[0.1]", "[{ddrm: {eta: 1}, dps: {}}]"), ":7:",
     "grid.algorithm[0]", "one-key mapping"},
    {"bad_duplicate_ddrm", HEAD GRID_WITH("[identity: {}]", "[0.1]", "[ddrm, pigdm, {ddrm: {eta: 0.85}}]"), ":7:",
     "grid.algorithm[2]", "duplicate of grid.algorithm[0]"},
    {"bad_ddim_eta", HEAD L_GRID "  scheme: [ddpm, ddim: {eta: 2}]\n", ":8:", "grid.scheme[1].ddim.eta",
     "must be in [0, 1], got 2"},
    {"bad_unknown_scheme", HEAD L_GRID "  scheme: [ddpm, ddim2]\n", ":8:", "grid.scheme[1]",
     "unknown scheme 'ddim2'; expected one of ddpm, ddim, em"},
    {"bad_scheme_for_vp_sde", HEAD L_GRID "  scheme: [em]\n", ":8:", "grid.scheme[0]",
     "process: vp_sde"},
    {"bad_duplicate_scheme", HEAD L_GRID "  scheme:\n    - ddim\n    - ddpm\n    - ddim: {eta: 0.0}\n", ":11:",
     "grid.scheme[2]", "duplicate of grid.scheme[0] (line 9)"},
    {"bad_sampler_steps_zero", HEAD L_GRID "  sampler_steps: [10, 0]\n", ":8:", "grid.sampler_steps[1]",
     "must be in [1, 100], got 0"},
    {"bad_sampler_steps_above_T", HEAD L_GRID "  sampler_steps: [101]\n", ":8:", "grid.sampler_steps[0]",
     "must be in [1, 100], got 101"},
    {"bad_sampler_steps_real", HEAD L_GRID "  sampler_steps: [2.5]\n", ":8:", "grid.sampler_steps[0]",
     "not an integer"},
    {"bad_duplicate_sampler_steps", HEAD L_GRID "  sampler_steps: [10, 20, 10]\n", ":8:",
     "grid.sampler_steps[2]", "duplicate of grid.sampler_steps[0]"},
    {"bad_eps_ddpm", HEAD L_GRID "  eps: [0, 0.001]\n", ":8:", "grid.eps[1]",
     "with the discrete ddpm process only eps: [0] is allowed"},
    {"bad_eps_one", HEAD L_GRID "  eps: [1]\n", ":8:", "grid.eps[0]", "must be in [0, 1), got 1"},
    {"bad_eps_duplicate_zero", HEAD L_GRID "  eps: [0, -0.0]\n", ":8:", "grid.eps[1]", "duplicate of grid.eps[0]"},
    {"bad_unknown_init", HEAD L_GRID "  init: [normal, prior]\n", ":8:", "grid.init[1]",
     "unknown value 'prior'; expected one of normal, exact"},
    {"bad_duplicate_init", HEAD L_GRID "  init: [exact, exact]\n", ":8:", "grid.init[1]", "duplicate"},
    {"bad_checkpoint_not_visited", HEAD L_GRID "  sampler_steps: [100, 20]\noutput:\n  checkpoints: [100, 96, 0]\n",
     ":10:", "output.checkpoints[0]",
     "time 100 is never visited by the sampler with sampler_steps: 20 (grid.sampler_steps[1], line 8), which "
     "runs at t = 96, 91, 86, ..., 1, 0"},
    {"bad_checkpoint_not_visited_block", HEAD L_GRID "  sampler_steps: [7]\noutput:\n  checkpoints:\n    - 85\n"
                                         "    - 50\n",
     ":12:", "output.checkpoints[1]", "e.g. [85, 71, 43, 15, 0]"},
    {"bad_std_underflow", HEAD GRID_WITH("[gaussian_blur: {std: 1.0e-200}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].gaussian_blur.std", "underflows"},
    {"bad_std_overflow", HEAD GRID_WITH("[gaussian_blur: {std: 1.0e160}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].gaussian_blur.std", "overflows"},
    {"bad_length_overflow", HEAD GRID_WITH("[motion_blur: {length: 3.0e8}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].motion_blur.length", "overflows: its kernel has 10·ceil(length)+1"},
    {"bad_real_underflow", HEAD GRID_WITH("[identity: {}]", "[1.0e-400]", "[dps]"), ":6:", "grid.sigma[0]",
     "underflow"},
    {"bad_real_subnormal", HEAD GRID_WITH("[identity: {}]", "[1.0e-310]", "[dps]"), ":6:", "grid.sigma[0]",
     "underflow"},
    {"bad_real_overflow", HEAD GRID_WITH("[identity: {}]", "[1.0e309]", "[dps]"), ":6:", "grid.sigma[0]",
     "overflow"},
    {"bad_real_inf", HEAD GRID_WITH("[identity: {}]", "[.inf]", "[dps]"), ":6:", "grid.sigma[0]", "finite"},
    {"bad_sigma_square_underflow", HEAD GRID_WITH("[identity: {}]", "[0.1, 1.0e-300]", "[dps]"), ":6:",
     "grid.sigma[1]", "sigma = 1e-300 underflows"},
    {"bad_sigma_square_overflow", HEAD GRID_WITH("[identity: {}]", "[1.0e160]", "[pigdm]"), ":6:",
     "grid.sigma[0]", "sigma = 1e+160 overflows"},
    {"bad_alpha_underflow", HEAD GRID_WITH("[identity: {}]", "[0.01, 0.1]", "[dps]") "  alpha_dps: [1, 1.0e308]\n",
     ":8:", "grid.alpha_dps[1]", "alpha_dps = 1e+308 underflows with sigma = 0.01 (grid.sigma[0])"},
    {"bad_alpha_overflow", HEAD GRID_WITH("[identity: {}]", "[1.0e100]", "[dps]") "  alpha_dps: [1.0e-150]\n",
     ":8:", "grid.alpha_dps[0]", "overflows"},
    {"bad_white_std_underflow", L_NAME "prior: {white: {std: 1.0e-160}, size: [8, 8]}\n" L_DIFF L_GRID, ":2:",
     "prior.white.std", "underflows"},
    {"bad_white_mean_overflow", L_NAME "prior: {white: {std: 1, mean: 1.0e200}, size: [8, 8]}\n" L_DIFF L_GRID,
     ":2:", "prior.white.mean", "overflows"},
    {"bad_size_pixels", L_NAME "prior: {texture: builtin:fabric, size: [65536, 65536]}\n" L_DIFF L_GRID, ":2:",
     "prior.size", "at most 268435456 (2^28) pixels"},
    {"bad_seed_range", HEAD L_GRID "  seed: [9223372036854775808]\n", ":8:", "grid.seed[0]",
     "outside the 64-bit integer range"},
    {"bad_empty_random_mask", HEAD GRID_WITH("[inpainting: {mask: random, keep: 1.0e-9}]", "[0.1]", "[dps]"), ":5:",
     "grid.operator[0].inpainting", "the mask is empty: keep = 1e-09 with mask_seed 0 observes none of the 64"},
    {"bad_duplicate_file_order", HEAD GRID_WITH("[identity: {}]", "[0.3, 0.5, 0.5, 0.3]", "[dps]"), ":6:",
     "grid.sigma[2]", "duplicate of grid.sigma[1]"},
    {"bad_duplicate_before_bad_value", HEAD GRID_WITH("[identity: {}]", "[0.1, 0.1, -1]", "[dps]"), ":6:",
     "grid.sigma[1]", "duplicate of grid.sigma[0]"},
    {"bad_value_before_duplicate", HEAD GRID_WITH("[identity: {}]", "[0.1, -1, 0.1]", "[dps]"), ":6:",
     "grid.sigma[1]", "must be > 0, got -1"},
    {"bad_duplicate_operator_before_bad", HEAD GRID_WITH("[identity: {}, identity: {}, blur: {}]", "[0.1]", "[dps]"),
     ":5:", "grid.operator[1]", "duplicate of grid.operator[0]"},
    {"bad_process_unknown", L_NAME L_PRIOR "diffusion: {process: sde}\n" L_GRID, ":3:", "diffusion.process",
     "one of ddpm, vp_sde"},
    {"bad_vp_beta_order", L_NAME L_PRIOR "diffusion: {process: vp_sde, beta_min: 5, beta_max: 2}\n" L_GRID
                          "  sampler_steps: [10]\n", ":3:", "diffusion.beta_max", "must be smaller than beta_max"},
    {"bad_vp_beta_equal", L_NAME L_PRIOR "diffusion: {process: vp_sde, beta_min: 20}\n" L_GRID "  sampler_steps: [10]\n",
     ":3:", "diffusion.beta_min", "beta_min = 20 must be smaller than beta_max = 20"},
    {"bad_vp_beta_nonpositive", L_NAME L_PRIOR "diffusion: {process: vp_sde, beta_min: 0}\n" L_GRID
                                "  sampler_steps: [10]\n", ":3:", "diffusion.beta_min", "must be > 0, got 0"},
    {"bad_vp_steps_key", L_NAME L_PRIOR "diffusion: {process: vp_sde, steps: 100}\n" L_GRID "  sampler_steps: [10]\n",
     ":3:", "diffusion.steps", "applies to the discrete process only"},
    {"bad_ddpm_beta_min", L_NAME L_PRIOR "diffusion: {steps: 100, beta_min: 0.1}\n" L_GRID, ":3:",
     "diffusion.beta_min", "applies to the continuous process only"},
    {"bad_ddpm_no_steps", L_NAME L_PRIOR "diffusion: {variance: beta}\n" L_GRID, ":3:", "diffusion.steps",
     "missing (required for the discrete process)"},
    {"bad_vp_no_sampler_steps", L_NAME L_PRIOR "diffusion: {process: vp_sde}\n" L_GRID, ":5:", "grid.sampler_steps",
     "missing (required with diffusion.process: vp_sde)"},
    {"bad_vp_ddrm", L_NAME L_PRIOR "diffusion: {process: vp_sde}\n" GRID_WITH("[identity: {}]", "[0.1]", "[cgdm, ddrm]")
                    "  sampler_steps: [10]\n", ":7:", "grid.algorithm[1]", "ddrm is defined on the discrete process"},
    {"bad_vp_ddim", L_NAME L_PRIOR "diffusion: {process: vp_sde}\n" L_GRID "  sampler_steps: [10]\n  scheme: [em, ddim]\n",
     ":9:", "grid.scheme[1]", "the schemes are em, ei, ddpm, euler, heun, rk4"},
    {"bad_vp_eps_one", L_NAME L_PRIOR "diffusion: {process: vp_sde}\n" L_GRID "  sampler_steps: [10]\n  eps: [0, 1.0]\n",
     ":9:", "grid.eps[1]", "must be in [0, 1), got 1.0"},
    {"bad_vp_eps_negative", L_NAME L_PRIOR "diffusion: {process: vp_sde}\n" L_GRID "  sampler_steps: [10]\n  eps: [-0.1]\n",
     ":9:", "grid.eps[0]", "must be in [0, 1)"},
    {"bad_vp_checkpoint", L_NAME L_PRIOR "diffusion: {process: vp_sde}\n" L_GRID "  sampler_steps: [10, 20]\n"
                          "output: {checkpoints: [0, 15]}\n", ":9:", "output.checkpoints[1]",
     "step index 15 is past the last step of the sampler with sampler_steps: 10"},
    {"bad_ddrm_dense_blur", HEAD GRID_WITH("[identity: {}, gaussian_blur: {std: 1, backend: dense}]", "[0.1]",
                                          "[pigdm, ddrm]"), ":7:", "grid.algorithm[1]",
     "ddrm(eta=0.85,eta_b=1) cannot be combined with grid.operator[1] = gaussian_blur(std=1,backend=dense) (line 5): "
     "ddrm needs an SVD of A"},
    {"bad_malformed_yaml", L_NAME L_PRIOR "diffusion: {steps: 100\n" L_GRID, ":4:5:", NULL, "malformed YAML"},
    {"bad_malformed_indent", L_NAME "prior:\n  size: [8, 8]\n   texture: builtin:fabric\n", ":4:4:", NULL,
     "malformed YAML"},
    {"bad_two_documents", HEAD L_GRID "---\nname: other\n", ":9:", NULL, "second YAML document"},
    {"bad_empty_file", "# nothing\n", ":1:", NULL, "empty"},
    {"bad_top_not_mapping", "- name: x\n", ":1:", "(top level)", "expected a mapping"},
};
#define N_BAD (sizeof bad_cases / sizeof *bad_cases)

static void test_bad_input(void **state) {
  const bad_case *bc = *state;
  char *path = gds_test_write_temp(".yaml", bc->yaml);
  assert_non_null(path);
  gds_sweep *s = (gds_sweep *)&s; /* must be reset to NULL */
  char msg[8192], where[4200];
  int rc = load_capture(path, &s, msg, sizeof msg);
  print_message("%s", msg);
  assert_int_equal(rc, GDS_ERR_INPUT);
  assert_null(s);
  snprintf(where, sizeof where, "%s%s", path, bc->where);
  assert_contains(msg, where);
  if (bc->key) {
    char key[256];
    snprintf(key, sizeof key, "%s %s: ", bc->where, bc->key); /* the path right after the line */
    assert_contains(msg, key);
  }
  if (bc->also) assert_contains(msg, bc->also);
  unlink(path);
  free(path);
}

int main(void) {
  static struct CMUnitTest tests[N_BAD + 32];
  size_t n = 0;
  const struct CMUnitTest fixed[] = {
      cmocka_unit_test(test_demo),        cmocka_unit_test(test_tiny),
      cmocka_unit_test(test_defaults),    cmocka_unit_test(test_small_T),
      cmocka_unit_test(test_white_prior_and_output), cmocka_unit_test(test_operators), cmocka_unit_test(test_backend_dense),
      cmocka_unit_test(test_parse_api),   cmocka_unit_test(test_parse_trusted),   cmocka_unit_test(test_fingerprint),
      cmocka_unit_test(test_sampler_axes), cmocka_unit_test(test_sampler_axes_defaults),
      cmocka_unit_test(test_input_content), cmocka_unit_test(test_load_limits),
      cmocka_unit_test(test_seed_range),  cmocka_unit_test(test_grid_overflow),
      cmocka_unit_test(test_fuzz_corpus), cmocka_unit_test(test_vp_sde),
      cmocka_unit_test(test_spectrum_prior), cmocka_unit_test(test_cifar_example),
  };
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) tests[n++] = fixed[i];
  for (size_t i = 0; i < N_BAD; i++)
    tests[n++] = (struct CMUnitTest){.name = bad_cases[i].name, .test_func = test_bad_input,
                                     .initial_state = (void *)&bad_cases[i]};
  return _cmocka_run_group_tests("sweep", tests, n, NULL, NULL);
}
