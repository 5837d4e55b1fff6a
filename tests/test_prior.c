/* Tests of the prior module (SPEC §1 "Prior", §3 x0 keying) and of the textures.
 * References are independent of the code under test: brute-force O(d²) DFTs and periodic
 * convolutions, Laplacians written here, and image files written here with known pixels. */
#include "testutil.h"

#include "gdsweep/error.h"
#include "gdsweep/prior.h"
#include "gdsweep/rng.h"

#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------
 * Independent references */

/* Unnormalised DFT (numpy fft2): X(k,l) = Σ x(i,j) exp(−2iπ(ki/H + lj/W)). Phases are reduced
 * modulo 1 in integers so that the reference is accurate to ~1e-15. */
static void ref_dft2(int H, int W, const double *x, double *re, double *im) {
  for (int k = 0; k < H; k++)
    for (int l = 0; l < W; l++) {
      double sr = 0, si = 0;
      for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
          double ph = -2 * M_PI * ((double)((k * i) % H) / H + (double)((l * j) % W) / W);
          sr += x[i * W + j] * cos(ph);
          si += x[i * W + j] * sin(ph);
        }
      re[k * W + l] = sr;
      im[k * W + l] = si;
    }
}

/* Periodic convolution (t ⊛ w)(i,j) = Σ_{a,b} t(a,b) w(i−a, j−b). */
static void ref_conv(int H, int W, const double *t, const double *w, double *y) {
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++) {
      double s = 0;
      for (int a = 0; a < H; a++)
        for (int b = 0; b < W; b++) s += t[a * W + b] * w[((i - a + H) % H) * W + (j - b + W) % W];
      y[i * W + j] = s;
    }
}

static double ref_lap_periodic(int H, int W, const double *u, int i, int j) {
  double c = u[i * W + j];
  return u[((i + 1) % H) * W + j] + u[((i - 1 + H) % H) * W + j] + u[i * W + (j + 1) % W] +
         u[i * W + (j - 1 + W) % W] - 4 * c;
}

/* Laplacian with free boundary: only neighbours inside the image count. */
static double ref_lap_free(int H, int W, const double *u, int i, int j) {
  double c = u[i * W + j], s = 0;
  if (i > 0) s += u[(i - 1) * W + j] - c;
  if (i < H - 1) s += u[(i + 1) * W + j] - c;
  if (j > 0) s += u[i * W + j - 1] - c;
  if (j < W - 1) s += u[i * W + j + 1] - c;
  return s;
}

/* ------------------------------------------------------------------------------------------
 * File helpers */

static char *tmp_path(const char *suffix) {
  char *p = gds_test_write_temp(suffix, "");
  assert_non_null(p);
  return p;
}

static void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
}

/* Binary PGM/PPM with the given header and samples (1 or 2 bytes each, big-endian). */
static void write_pnm(const char *path, char kind, int w, int h, int maxval, const unsigned *v, int channels) {
  size_t n = (size_t)w * h * channels, bytes = maxval > 255 ? 2 : 1;
  unsigned char *buf = malloc(64 + n * bytes);
  int off = snprintf((char *)buf, 64, "P%c\n# written by test_prior\n%d %d\n%d\n", kind, w, h, maxval);
  for (size_t k = 0; k < n; k++) {
    if (bytes == 2) {
      buf[off + 2 * k] = (unsigned char)(v[k] >> 8);
      buf[off + 2 * k + 1] = (unsigned char)(v[k] & 255);
    } else {
      buf[off + k] = (unsigned char)v[k];
    }
  }
  write_bytes(path, buf, off + n * bytes);
  free(buf);
}

typedef struct png_spec {
  int w, h, color_type, bit_depth, interlace;
  const unsigned char *data; /* packed rows */
  size_t rowbytes;
  const png_color *palette;
  int npalette;
  const png_byte *trns;
  int ntrns;
} png_spec;

static int write_png(const char *path, const png_spec *s) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  png_bytep *rows = malloc(sizeof(png_bytep) * s->h);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    fclose(f);
    free(rows);
    return -1;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, s->w, s->h, s->bit_depth, s->color_type,
               s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (s->palette) png_set_PLTE(png, info, s->palette, s->npalette);
  if (s->trns) png_set_tRNS(png, info, s->trns, s->ntrns, NULL);
  png_write_info(png, info);
  for (int i = 0; i < s->h; i++) rows[i] = (png_bytep)s->data + i * s->rowbytes;
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  fclose(f);
  free(rows);
  return 0;
}

/* Load `path` and compare with expected values (exact up to one rounding). */
static void check_load(const char *path, int H, int W, const double *expect) {
  int h = 0, w = 0;
  double *px = NULL;
  assert_int_equal(gds_texture_load(path, &h, &w, &px), 0);
  assert_int_equal(h, H);
  assert_int_equal(w, W);
  for (int k = 0; k < H * W; k++) GDS_ASSERT_CLOSE(px[k], expect[k], 1e-15, 1e-15);
  free(px);
}

/* Capture what the error module prints (to check that messages name what they should). */
typedef struct capture {
  int saved;
  char path[64];
} capture;

static void capture_begin(capture *c) {
  strcpy(c->path, "/tmp/gdstest_stderrXXXXXX");
  int fd = mkstemp(c->path);
  assert_true(fd >= 0);
  fflush(stderr);
  c->saved = dup(2);
  dup2(fd, 2);
  close(fd);
}

static char *capture_end(capture *c) {
  fflush(stderr);
  dup2(c->saved, 2);
  close(c->saved);
  FILE *f = fopen(c->path, "rb");
  char *text = calloc(1, 8192);
  if (f) {
    size_t n = fread(text, 1, 8191, f);
    text[n] = 0;
    fclose(f);
  }
  unlink(c->path);
  return text;
}

static double lum(double r, double g, double b) { return 0.299 * r + 0.587 * g + 0.114 * b; }

/* A 15×13 16-bit P5 texture with pseudo-random pixels; returns the integer samples. */
static char *make_random_pgm(int h, int w, unsigned *v) {
  double *r = malloc(sizeof(double) * h * w);
  gds_test_fill_uniform(42, (size_t)h * w, 0, 65535.999, r);
  for (int k = 0; k < h * w; k++) v[k] = (unsigned)r[k];
  free(r);
  char *path = tmp_path(".pgm");
  write_pnm(path, '5', w, h, 65535, v, 1);
  return path;
}

/* ------------------------------------------------------------------------------------------
 * Tests */

/* λ = |DFT(t)|² against a brute-force DFT of a texton computed here from the file's samples,
 * on a non-square centred crop (15×13 → 12×10); λ(0) = 0 exactly; Parseval Σλ = d·Σt². */
static void test_spectrum_bruteforce(void **state) {
  (void)state;
  const int h = 15, w = 13, H = 12, W = 10, d = H * W;
  unsigned v[15 * 13];
  char *path = make_random_pgm(h, w, v);
  gds_prior_options o = {.texture = path, .H = H, .W = W, .periodic = 0};
  gds_prior *p = NULL;
  assert_int_equal(gds_prior_create(&o, &p), 0);
  assert_string_equal(p->name, path);
  assert_int_equal(p->H, H);
  assert_int_equal(p->W, W);

  double u[12 * 10], t[12 * 10], re[12 * 10], im[12 * 10], m = 0;
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++) u[i * W + j] = v[(i + 1) * w + (j + 1)] / 65535.0; /* top 1, left 1 */
  for (int k = 0; k < d; k++) m += u[k] / d;
  for (int k = 0; k < d; k++) t[k] = (u[k] - m) / sqrt((double)d);
  GDS_ASSERT_CLOSE(p->mean, m, 1e-14, 0);
  double sum_t2 = 0, sum_lam = 0, lam_max = 0;
  for (int k = 0; k < d; k++) {
    GDS_ASSERT_CLOSE(p->texture[k], u[k], 1e-15, 0);
    GDS_ASSERT_CLOSE(p->texton[k], t[k], 1e-12, 1e-15);
    sum_t2 += t[k] * t[k];
  }
  ref_dft2(H, W, t, re, im);
  for (int k = 0; k < d; k++) lam_max = fmax(lam_max, re[k] * re[k] + im[k] * im[k]);
  for (int k = 0; k < d; k++) {
    GDS_ASSERT_CLOSE(p->spectrum[k], re[k] * re[k] + im[k] * im[k], 1e-10, 1e-12 * lam_max);
    sum_lam += p->spectrum[k];
  }
  assert_true(p->spectrum[0] == 0.0);
  GDS_ASSERT_CLOSE(sum_lam, d * sum_t2, 1e-12, 0);
  gds_prior_destroy(&p);
  assert_null(p);
  unlink(path);
  free(path);
}

/* x0 = m + t ⊛ w with w the X0 stream of rng.h keyed by the seed: compared with a brute-force
 * convolution (which also fixes the orientation: convolution, not correlation); x0 is
 * deterministic per seed and differs between seeds. */
static void test_sample_convolution(void **state) {
  (void)state;
  const int h = 15, w = 13, H = 12, W = 10, d = H * W;
  unsigned v[15 * 13];
  char *path = make_random_pgm(h, w, v);
  gds_prior_options o = {.texture = path, .H = H, .W = W, .periodic = 1};
  gds_prior *p = NULL;
  assert_int_equal(gds_prior_create(&o, &p), 0);
  const int64_t seeds[] = {0, 7, -3, 123456789012345LL};
  double x0[120], x0b[120], x1[120], wn[120], ref[120];
  for (int s = 0; s < 4; s++) {
    assert_int_equal(gds_prior_sample(p, seeds[s], x0), 0);
    gds_rng_normal(gds_rng_key_make(GDS_STREAM_X0, (uint64_t)seeds[s], 0), 0, d, wn);
    ref_conv(H, W, p->texton, wn, ref);
    double mean = 0;
    for (int k = 0; k < d; k++) {
      GDS_ASSERT_CLOSE(x0[k], p->mean + ref[k], 1e-12, 1e-13);
      mean += x0[k] / d;
    }
    GDS_ASSERT_CLOSE(mean, p->mean, 0, 1e-13); /* λ(0) = 0: every sample has mean m */
    assert_int_equal(gds_prior_sample(p, seeds[s], x0b), 0);
    assert_memory_equal(x0, x0b, sizeof(double) * d);
  }
  assert_int_equal(gds_prior_sample(p, 1, x0), 0);
  assert_int_equal(gds_prior_sample(p, 2, x1), 0);
  int differ = 0;
  for (int k = 0; k < d; k++) differ += fabs(x0[k] - x1[k]) > 1e-6;
  assert_true(differ > d / 2);
  gds_prior_destroy(&p);
  unlink(path);
  free(path);
}

/* Empirical per-frequency power of x0 − μ over many seeds matches λ computed here by a
 * brute-force DFT: λ are the eigenvalues of Σ, so with the unnormalised DFT E|DFT(x0 − μ)|² =
 * d·λ. |DFT|²/d is λ·Exp(1) (complex frequencies) or λ·χ²₁ (self-conjugate ones),
 * so the mean over n seeds has relative standard error 1/sqrt(n) or sqrt(2/n); allow 5 of
 * them. Also the per-pixel variance matches diag Σ = Σ t². */
static void test_sample_statistics(void **state) {
  (void)state;
  const int H = 8, W = 6, d = H * W, n = 400;
  gds_prior_options o = {.texture = "builtin:wood", .H = H, .W = W, .periodic = 1};
  gds_prior *p = NULL;
  assert_int_equal(gds_prior_create(&o, &p), 0);
  double lam[48], re[48], im[48], pow_avg[48] = {0}, x0[48], xc[48], var_avg = 0, sum_t2 = 0, lam_max = 0;
  ref_dft2(H, W, p->texton, re, im);
  for (int k = 0; k < d; k++) {
    lam[k] = re[k] * re[k] + im[k] * im[k];
    lam_max = fmax(lam_max, lam[k]);
    sum_t2 += p->texton[k] * p->texton[k];
  }
  for (int s = 0; s < n; s++) {
    assert_int_equal(gds_prior_sample(p, s, x0), 0);
    for (int k = 0; k < d; k++) {
      xc[k] = x0[k] - p->mean;
      var_avg += xc[k] * xc[k] / ((double)n * d);
    }
    ref_dft2(H, W, xc, re, im);
    for (int k = 0; k < d; k++) pow_avg[k] += (re[k] * re[k] + im[k] * im[k]) / ((double)n * d);
  }
  int checked = 0;
  for (int q = 0; q < H; q++)
    for (int r = 0; r < W; r++) {
      int k = q * W + r;
      if (lam[k] <= 1e-12 * lam_max) {
        assert_true(pow_avg[k] <= 1e-20 * lam_max + 1e-24);
        continue;
      }
      int self_conj = (2 * q) % H == 0 && (2 * r) % W == 0;
      double rse = self_conj ? sqrt(2.0 / n) : 1.0 / sqrt((double)n);
      GDS_ASSERT_CLOSE(pow_avg[k], lam[k], 5 * rse, 0);
      checked++;
    }
  assert_true(checked >= d - 1);
  /* Each pixel's variance is Σt²; averaged over d pixels and n seeds the relative standard
   * error is well below 10% (samples are strongly but not fully correlated). */
  GDS_ASSERT_CLOSE(var_avg, sum_t2, 0.1, 0);
  gds_prior_destroy(&p);
}

/* Moisan's periodic component is characterised by Δ_per p = Δ_free u and mean(p) = mean(u)
 * (Δ_per has only constants in its kernel). */
static void check_periodic_property(int H, int W, uint64_t seed) {
  const int d = H * W;
  double *u = malloc(sizeof(double) * d), *p = malloc(sizeof(double) * d);
  gds_test_fill_uniform(seed, d, 0, 1, u);
  /* add a ramp so that the borders really jump */
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++) u[i * W + j] += 0.7 * i / H + 0.4 * j / W;
  memcpy(p, u, sizeof(double) * d);
  assert_int_equal(gds_texture_periodic_component(H, W, p), 0);
  double mu = 0, mp = 0;
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++) {
      GDS_ASSERT_CLOSE(ref_lap_periodic(H, W, p, i, j), ref_lap_free(H, W, u, i, j), 0, 1e-12);
      mu += u[i * W + j];
      mp += p[i * W + j];
    }
  GDS_ASSERT_CLOSE(mp / d, mu / d, 0, 1e-14);
  free(u);
  free(p);
}

/* gds_prior_sample_seeds (FFTs planned once for a block of seeds) gives gds_prior_sample's
 * values bitwise, whatever the block and the alignment of the output (odd and even sizes). */
static void test_sample_seeds_bitwise(void **state) {
  (void)state;
  const int sizes[3][2] = {{5, 7}, {8, 6}, {1, 9}};
  for (int k = 0; k < 3; k++) {
    const int H = sizes[k][0], W = sizes[k][1], d = H * W, n = 5;
    gds_prior_options o = {.texture = "builtin:fabric", .H = H, .W = W, .periodic = 1};
    gds_prior *p = NULL;
    assert_int_equal(gds_prior_create(&o, &p), 0);
    const int64_t seeds[5] = {3, 0, 17, 3, 123456789};
    double *one = malloc(sizeof(double) * d), *blk = malloc(sizeof(double) * (n * d + 1));
    assert_int_equal(gds_prior_sample_seeds(p, n, seeds, blk + 1), 0); /* 8-byte offset: unaligned */
    for (int e = 0; e < n; e++) {
      assert_int_equal(gds_prior_sample(p, seeds[e], one), 0);
      assert_memory_equal(one, blk + 1 + (size_t)e * d, sizeof(double) * d);
    }
    free(one);
    free(blk);
    gds_prior_destroy(&p);
  }
}

static void test_periodic_component(void **state) {
  (void)state;
  check_periodic_property(12, 10, 1);
  check_periodic_property(9, 7, 2);
  check_periodic_property(2, 5, 3);
  check_periodic_property(1, 6, 4);
  /* An image whose opposite borders already match (v = 0) is its own periodic component. */
  const int H = 12, W = 10;
  double u[120], p[120];
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++)
      u[i * W + j] = 0.5 + 0.2 * cos(2 * M_PI * 3 * (i + 0.5) / H) + 0.1 * cos(2 * M_PI * 2 * (j + 0.5) / W);
  memcpy(p, u, sizeof p);
  assert_int_equal(gds_texture_periodic_component(H, W, p), 0);
  for (int k = 0; k < H * W; k++) GDS_ASSERT_CLOSE(p[k], u[k], 0, 1e-14);
  /* ... but cos(2π·3i/H) sampled at integers does not, and then only the mean is kept. */
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++) u[i * W + j] = 0.5 + 0.2 * cos(2 * M_PI * 3 * i / H) + 0.05 * j;
  memcpy(p, u, sizeof p);
  assert_int_equal(gds_texture_periodic_component(H, W, p), 0);
  double dm = 0, dmax = 0;
  for (int k = 0; k < H * W; k++) {
    dm += (p[k] - u[k]) / (H * W);
    dmax = fmax(dmax, fabs(p[k] - u[k]));
  }
  GDS_ASSERT_CLOSE(dm, 0, 0, 1e-15);
  assert_true(dmax > 1e-3);
}

static void test_png_formats(void **state) {
  (void)state;
  char *path = tmp_path(".png");
  double e[12];
  /* 8-bit gray, 3×4 */
  {
    const unsigned char g[12] = {0, 1, 2, 127, 128, 200, 253, 254, 255, 17, 34, 99};
    png_spec s = {.w = 4, .h = 3, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8, .data = g, .rowbytes = 4};
    assert_int_equal(write_png(path, &s), 0);
    for (int k = 0; k < 12; k++) e[k] = g[k] / 255.0;
    check_load(path, 3, 4, e);
    s.interlace = 1; /* Adam7 gives the same pixels */
    assert_int_equal(write_png(path, &s), 0);
    check_load(path, 3, 4, e);
  }
  /* 16-bit gray, 2×3 (big-endian samples) */
  {
    const unsigned vals[6] = {0, 1, 256, 32768, 65534, 65535};
    unsigned char g[12];
    for (int k = 0; k < 6; k++) {
      g[2 * k] = vals[k] >> 8;
      g[2 * k + 1] = vals[k] & 255;
      e[k] = vals[k] / 65535.0;
    }
    png_spec s = {.w = 3, .h = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 16, .data = g, .rowbytes = 6};
    assert_int_equal(write_png(path, &s), 0);
    check_load(path, 2, 3, e);
  }
  /* 1-bit and 4-bit gray: the stored level over its maximum */
  {
    const unsigned char g1[2] = {0xA0, 0x50}; /* rows 1010, 0101 */
    png_spec s = {.w = 4, .h = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 1, .data = g1, .rowbytes = 1};
    assert_int_equal(write_png(path, &s), 0);
    const double e1[8] = {1, 0, 1, 0, 0, 1, 0, 1};
    check_load(path, 2, 4, e1);
    const unsigned char g4[2] = {0x0F, 0x37}; /* row 0: 0, 15; row 1: 3, 7 */
    png_spec s4 = {.w = 2, .h = 2, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 4, .data = g4, .rowbytes = 1};
    assert_int_equal(write_png(path, &s4), 0);
    const double e4[4] = {0, 1, 3 / 15.0, 7 / 15.0};
    check_load(path, 2, 2, e4);
  }
  /* gray + alpha: alpha ignored */
  {
    const unsigned char g[8] = {10, 0, 20, 255, 30, 128, 255, 7};
    png_spec s = {.w = 2, .h = 2, .color_type = PNG_COLOR_TYPE_GRAY_ALPHA, .bit_depth = 8, .data = g, .rowbytes = 4};
    assert_int_equal(write_png(path, &s), 0);
    const double ega[4] = {10 / 255.0, 20 / 255.0, 30 / 255.0, 1.0};
    check_load(path, 2, 2, ega);
  }
  /* RGB 8-bit and RGBA 8-bit: luma 0.299R + 0.587G + 0.114B */
  {
    const unsigned char rgb[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 100, 200};
    png_spec s = {.w = 2, .h = 2, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 8, .data = rgb, .rowbytes = 6};
    assert_int_equal(write_png(path, &s), 0);
    const double erg[4] = {0.299, 0.587, 0.114, lum(10 / 255.0, 100 / 255.0, 200 / 255.0)};
    check_load(path, 2, 2, erg);
    const unsigned char rgba[16] = {255, 0, 0, 0, 0, 255, 0, 9, 0, 0, 255, 99, 10, 100, 200, 255};
    png_spec sa = {.w = 2, .h = 2, .color_type = PNG_COLOR_TYPE_RGBA, .bit_depth = 8, .data = rgba, .rowbytes = 8};
    assert_int_equal(write_png(path, &sa), 0);
    check_load(path, 2, 2, erg);
  }
  /* RGB 16-bit */
  {
    const unsigned vals[6] = {65535, 0, 1000, 3, 40000, 65535};
    unsigned char g[12];
    for (int k = 0; k < 6; k++) {
      g[2 * k] = vals[k] >> 8;
      g[2 * k + 1] = vals[k] & 255;
    }
    png_spec s = {.w = 2, .h = 1, .color_type = PNG_COLOR_TYPE_RGB, .bit_depth = 16, .data = g, .rowbytes = 12};
    assert_int_equal(write_png(path, &s), 0);
    const double e16[2] = {lum(1, 0, 1000 / 65535.0), lum(3 / 65535.0, 40000 / 65535.0, 1)};
    check_load(path, 1, 2, e16);
  }
  /* Palette, 8-bit indices, with and without transparency (tRNS is alpha: ignored), and 2-bit */
  {
    const png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {12, 34, 56}};
    const unsigned char idx[6] = {0, 1, 2, 3, 3, 0};
    const double ep[6] = {0.299, 0.587, 0.114, lum(12 / 255.0, 34 / 255.0, 56 / 255.0),
                          lum(12 / 255.0, 34 / 255.0, 56 / 255.0), 0.299};
    png_spec s = {.w = 3, .h = 2, .color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 8, .data = idx,
                  .rowbytes = 3, .palette = pal, .npalette = 4};
    assert_int_equal(write_png(path, &s), 0);
    check_load(path, 2, 3, ep);
    const png_byte trns[2] = {0, 128};
    s.trns = trns;
    s.ntrns = 2;
    assert_int_equal(write_png(path, &s), 0);
    check_load(path, 2, 3, ep);
    const unsigned char idx2[2] = {0x1B, 0xF0}; /* 2-bit: row 0 = 0,1,2; row 1 = 3,3,0 */
    png_spec s2 = {.w = 3, .h = 2, .color_type = PNG_COLOR_TYPE_PALETTE, .bit_depth = 2, .data = idx2,
                   .rowbytes = 1, .palette = pal, .npalette = 4};
    assert_int_equal(write_png(path, &s2), 0);
    check_load(path, 2, 3, ep);
  }
  unlink(path);
  free(path);
}

static void test_pgm_formats(void **state) {
  (void)state;
  char *path = tmp_path(".pgm");
  /* P5 8-bit */
  {
    const unsigned v[6] = {0, 1, 128, 254, 255, 77};
    write_pnm(path, '5', 3, 2, 255, v, 1);
    double e[6];
    for (int k = 0; k < 6; k++) e[k] = v[k] / 255.0;
    check_load(path, 2, 3, e);
  }
  /* P5 16-bit, big-endian */
  {
    const unsigned v[6] = {0, 1, 256, 258, 65534, 65535};
    write_pnm(path, '5', 2, 3, 65535, v, 1);
    double e[6];
    for (int k = 0; k < 6; k++) e[k] = v[k] / 65535.0;
    check_load(path, 3, 2, e);
  }
  /* Other maxvals (legal Netpbm): value / maxval */
  {
    const unsigned v[4] = {0, 1, 512, 1023};
    write_pnm(path, '5', 2, 2, 1023, v, 1);
    const double e[4] = {0, 1 / 1023.0, 512 / 1023.0, 1};
    check_load(path, 2, 2, e);
  }
  /* P2 ASCII with comments everywhere in the header */
  {
    const char *txt = "P2\n# comment\n3 # width\n2\n#maxval next\n255\n0 255 17\n  128\n1 2\n";
    write_bytes(path, txt, strlen(txt));
    const double e[6] = {0, 1, 17 / 255.0, 128 / 255.0, 1 / 255.0, 2 / 255.0};
    check_load(path, 2, 3, e);
    const char *txt2 = "P2 2 1 1000 250 1000";
    write_bytes(path, txt2, strlen(txt2));
    const double e2[2] = {0.25, 1};
    check_load(path, 1, 2, e2);
  }
  /* P6 colour → luma */
  {
    const unsigned v[6] = {255, 0, 0, 10, 100, 200};
    write_pnm(path, '6', 2, 1, 255, v, 3);
    const double e[2] = {0.299, lum(10 / 255.0, 100 / 255.0, 200 / 255.0)};
    check_load(path, 1, 2, e);
  }
  /* The format comes from the magic bytes: a PGM named .png still loads. */
  {
    char *fake = tmp_path(".png");
    const unsigned v[2] = {3, 250};
    write_pnm(fake, '5', 2, 1, 255, v, 1);
    const double e[2] = {3 / 255.0, 250 / 255.0};
    check_load(fake, 1, 2, e);
    unlink(fake);
    free(fake);
  }
  unlink(path);
  free(path);
}

/* Centred crop: top = (h − H)/2, left = (w − W)/2 with integer division. */
static void test_crop(void **state) {
  (void)state;
  double img[9 * 8], out[9 * 8];
  for (int k = 0; k < 72; k++) img[k] = k;
  const int cases[][4] = {{5, 7, 2, 3}, {6, 8, 3, 4}, {9, 8, 9, 8}, {9, 8, 1, 1}, {7, 5, 4, 4}};
  for (int c = 0; c < 5; c++) {
    int h = cases[c][0], w = cases[c][1], H = cases[c][2], W = cases[c][3];
    assert_int_equal(gds_texture_crop(img, h, w, H, W, out, "img"), 0);
    int top = (h - H) / 2, left = (w - W) / 2;
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++) assert_true(out[i * W + j] == (double)((top + i) * w + left + j));
  }
  /* hand-checked: 5×7 → 2×3 starts at row 1, column 2 */
  assert_int_equal(gds_texture_crop(img, 5, 7, 2, 3, out, "img"), 0);
  assert_true(out[0] == 9.0 && out[5] == 18.0);
  int old = gds_error_set_quiet(1);
  assert_int_equal(gds_texture_crop(img, 5, 7, 6, 3, out, "img"), GDS_ERR_INPUT);
  assert_int_equal(gds_texture_crop(img, 5, 7, 2, 8, out, "img"), GDS_ERR_INPUT);
  gds_error_set_quiet(old);
}

static void test_errors(void **state) {
  (void)state;
  int h, w;
  double *px = NULL;
  gds_prior *p = NULL;
  /* Messages (not quiet here, captured) must name the file and the reason. */
  capture c;
  capture_begin(&c);
  int rc_missing = gds_texture_load("/nonexistent/dir/tex.png", &h, &w, &px);
  char *msg = capture_end(&c);
  assert_int_equal(rc_missing, GDS_ERR_INPUT);
  assert_non_null(strstr(msg, "/nonexistent/dir/tex.png"));
  assert_non_null(strstr(msg, "No such file"));
  free(msg);

  unsigned v[15 * 13];
  char *small = make_random_pgm(15, 13, v);
  gds_prior_options o = {.texture = small, .H = 16, .W = 16, .periodic = 1};
  capture_begin(&c);
  int rc_small = gds_prior_create(&o, &p);
  msg = capture_end(&c);
  assert_int_equal(rc_small, GDS_ERR_INPUT);
  assert_null(p);
  assert_non_null(strstr(msg, small));
  assert_non_null(strstr(msg, "15x13"));
  assert_non_null(strstr(msg, "16x16"));
  free(msg);

  gds_prior_options ob = {.texture = "builtin:marble", .H = 8, .W = 8};
  capture_begin(&c);
  int rc_builtin = gds_prior_create(&ob, &p);
  msg = capture_end(&c);
  assert_int_equal(rc_builtin, GDS_ERR_INPUT);
  assert_non_null(strstr(msg, "marble"));
  for (const char *const *n = gds_texture_builtin_names(); *n; n++) assert_non_null(strstr(msg, *n));
  free(msg);

  int old = gds_error_set_quiet(1);
  /* garbage, empty, truncated PNG, truncated P5, P2 sample above maxval, bad header */
  char *bad = tmp_path(".png");
  write_bytes(bad, "hello, I am not an image\n", 25);
  assert_int_equal(gds_texture_load(bad, &h, &w, &px), GDS_ERR_INPUT);
  write_bytes(bad, "", 0);
  assert_int_equal(gds_texture_load(bad, &h, &w, &px), GDS_ERR_INPUT);
  {
    unsigned char g[64 * 64];
    for (int k = 0; k < 64 * 64; k++) g[k] = (unsigned char)(k * 7);
    png_spec s = {.w = 64, .h = 64, .color_type = PNG_COLOR_TYPE_GRAY, .bit_depth = 8, .data = g, .rowbytes = 64};
    assert_int_equal(write_png(bad, &s), 0);
    FILE *f = fopen(bad, "rb");
    unsigned char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_bytes(bad, buf, n / 2);
    assert_int_equal(gds_texture_load(bad, &h, &w, &px), GDS_ERR_INPUT);
    buf[20] ^= 0xFF; /* corrupt IHDR: CRC mismatch */
    write_bytes(bad, buf, n);
    assert_int_equal(gds_texture_load(bad, &h, &w, &px), GDS_ERR_INPUT);
  }
  write_bytes(bad, "P5 4 4 255\nabc", 14);
  assert_int_equal(gds_texture_load(bad, &h, &w, &px), GDS_ERR_INPUT);
  write_bytes(bad, "P2 2 1 100 50 101", 17);
  assert_int_equal(gds_texture_load(bad, &h, &w, &px), GDS_ERR_INPUT);
  write_bytes(bad, "P2 2 1 100 50", 13);
  assert_int_equal(gds_texture_load(bad, &h, &w, &px), GDS_ERR_INPUT);
  write_bytes(bad, "P5 0 4 255\n", 11);
  assert_int_equal(gds_texture_load(bad, &h, &w, &px), GDS_ERR_INPUT);
  write_bytes(bad, "P5 4 4 70000\n", 13);
  assert_int_equal(gds_texture_load(bad, &h, &w, &px), GDS_ERR_INPUT);
  assert_null(px);
  o.texture = bad;
  o.H = o.W = 4;
  assert_int_equal(gds_prior_create(&o, &p), GDS_ERR_INPUT);
  o.texture = "/nonexistent/tex.pgm";
  assert_int_equal(gds_prior_create(&o, &p), GDS_ERR_INPUT);
  /* invalid options */
  o.texture = NULL;
  assert_int_equal(gds_prior_create(&o, &p), GDS_ERR_INPUT);
  o.texture = "builtin:noise";
  o.H = 0;
  assert_int_equal(gds_prior_create(&o, &p), GDS_ERR_INPUT);
  gds_prior_options ow = {.white = 1, .white_std = 0, .H = 4, .W = 4};
  assert_int_equal(gds_prior_create(&ow, &p), GDS_ERR_INPUT);
  ow.white_std = NAN;
  assert_int_equal(gds_prior_create(&ow, &p), GDS_ERR_INPUT);
  assert_null(p);
  gds_error_set_quiet(old);
  unlink(bad);
  free(bad);
  unlink(small);
  free(small);
}

/* Every built-in: finite, in [0,1], non-constant, deterministic, and an ADSN spectrum with at
 * least d/4 eigenvalues above 1e-3·max (the diffusion study needs many non-zero modes). */
static void test_builtins(void **state) {
  (void)state;
  const char *const *names = gds_texture_builtin_names();
  int count = 0;
  const int sizes[][2] = {{8, 8}, {12, 10}, {10, 12}, {64, 64}, {33, 17}};
  for (; names[count]; count++) {
    for (int s = 0; s < 5; s++) {
      const int H = sizes[s][0], W = sizes[s][1], d = H * W;
      double *a = malloc(sizeof(double) * d), *b = malloc(sizeof(double) * d);
      assert_int_equal(gds_texture_builtin(names[count], H, W, a), 0);
      assert_int_equal(gds_texture_builtin(names[count], H, W, b), 0);
      assert_memory_equal(a, b, sizeof(double) * d);
      double lo = a[0], hi = a[0];
      for (int k = 0; k < d; k++) {
        assert_true(isfinite(a[k]) && a[k] >= 0 && a[k] <= 1);
        lo = fmin(lo, a[k]);
        hi = fmax(hi, a[k]);
      }
      assert_true(hi - lo > 0.5);
      char tex[64];
      snprintf(tex, sizeof tex, "builtin:%s", names[count]);
      for (int periodic = 0; periodic < 2; periodic++) {
        gds_prior_options o = {.texture = tex, .H = H, .W = W, .periodic = periodic};
        gds_prior *p = NULL;
        assert_int_equal(gds_prior_create(&o, &p), 0);
        assert_string_equal(p->name, tex);
        if (!periodic)
          for (int k = 0; k < d; k++) assert_true(p->texture[k] == a[k]);
        double mx = 0;
        for (int k = 0; k < d; k++) mx = fmax(mx, p->spectrum[k]);
        int big = 0;
        for (int k = 0; k < d; k++) big += p->spectrum[k] > 1e-3 * mx;
        if (big < d / 4) print_error("builtin:%s %dx%d periodic=%d: %d of %d eigenvalues > 1e-3 max\n", names[count], H, W, periodic, big, d);
        assert_true(big >= d / 4);
        assert_true(p->spectrum[0] == 0.0);
        gds_prior_destroy(&p);
      }
      free(a);
      free(b);
    }
  }
  assert_true(count >= 2);
  /* tiny sizes still work */
  double tiny[6];
  for (int k = 0; names[k]; k++) assert_int_equal(gds_texture_builtin(names[k], 2, 3, tiny), 0);
}

/* White prior: Σ = std²·I, μ = mean; x0 = mean + std·w exactly. */
static void test_white(void **state) {
  (void)state;
  const int H = 6, W = 5, d = H * W;
  gds_prior_options o = {.white = 1, .white_std = 0.5, .white_mean = 0.25, .H = H, .W = W, .periodic = 1};
  gds_prior *p = NULL;
  assert_int_equal(gds_prior_create(&o, &p), 0);
  assert_true(p->white);
  assert_string_equal(p->name, "white(std=0.5,mean=0.25)");
  assert_true(p->mean == 0.25);
  for (int k = 0; k < d; k++) {
    assert_true(p->spectrum[k] == 0.25);
    assert_true(p->texture[k] == 0.25);
    assert_true(p->texton[k] == (k == 0 ? 0.5 : 0.0));
  }
  double x0[30], wn[30];
  assert_int_equal(gds_prior_sample(p, 11, x0), 0);
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_X0, 11, 0), 0, d, wn);
  for (int k = 0; k < d; k++) GDS_ASSERT_CLOSE(x0[k], 0.25 + 0.5 * wn[k], 1e-15, 1e-15);
  gds_prior_destroy(&p);
  gds_prior_destroy(&p); /* idempotent */
  /* scales whose square is not a normal double are refused (issue 8) */
  const double bad_std[] = {1e-160, 1e160, 0, -1}, bad_mean[] = {1e151, -1e200};
  int q = gds_error_set_quiet(1);
  for (int i = 0; i < 4; i++) {
    gds_prior_options b = o;
    b.white_std = bad_std[i];
    assert_int_equal(gds_prior_create(&b, &p), GDS_ERR_INPUT);
    assert_null(p);
  }
  for (int i = 0; i < 2; i++) {
    gds_prior_options b = o;
    b.white_mean = bad_mean[i];
    assert_int_equal(gds_prior_create(&b, &p), GDS_ERR_INPUT);
    assert_null(p);
  }
  gds_error_set_quiet(q);
  o.white_std = 1.5e-154; /* the smallest allowed: std² is normal */
  assert_int_equal(gds_prior_create(&o, &p), 0);
  assert_true(p->spectrum[0] > 0 && isfinite(p->spectrum[0]));
  gds_prior_destroy(&p);
}

/* Relative paths are resolved against base_dir; absolute ones are not. */
static void test_relative_path(void **state) {
  (void)state;
  unsigned v[15 * 13];
  char *path = make_random_pgm(15, 13, v);
  char dir[256];
  snprintf(dir, sizeof dir, "%s", path);
  *strrchr(dir, '/') = 0;
  const char *base = strrchr(path, '/') + 1;
  gds_prior_options o = {.texture = base, .base_dir = dir, .H = 4, .W = 4, .periodic = 0};
  gds_prior *p = NULL;
  assert_int_equal(gds_prior_create(&o, &p), 0);
  assert_string_equal(p->name, base);
  GDS_ASSERT_CLOSE(p->texture[0], v[5 * 13 + 4] / 65535.0, 1e-15, 0); /* top 5, left 4 */
  gds_prior_destroy(&p);
  o.texture = path;
  o.base_dir = "/nonexistent";
  assert_int_equal(gds_prior_create(&o, &p), 0);
  gds_prior_destroy(&p);
  o.texture = base;
  int old = gds_error_set_quiet(1);
  assert_int_equal(gds_prior_create(&o, &p), GDS_ERR_INPUT);
  gds_error_set_quiet(old);
  unlink(path);
  free(path);
}

/* ------------------------------------------------------------------------------------------
 * Priors given by a spectrum (SPEC §7.6) */

/* A stationary [H, W] spectrum: λ = |DFT(t_ref)|² of a random zero-mean texton (brute force),
 * written as .npy; the prior's spectrum is λ, its texton has |DFT|² = λ (brute force again) and
 * x0 = μ + t ⊛ w with the prior's own texton (brute-force convolution). */
static void test_spectrum_prior_2d(void **state) {
  (void)state;
  enum { H = 5, W = 6, D = H * W };
  double t[D], re[D], im[D], lam[D];
  gds_test_fill_normal(77, D, t);
  ref_dft2(H, W, t, re, im);
  for (int k = 0; k < D; k++) lam[k] = re[k] * re[k] + im[k] * im[k];
  char *path = tmp_path(".npy");
  assert_int_equal(gds_test_write_npy(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (5, 6), }", lam, D), 0);
  gds_prior_options o = {.spectrum = path, .spectrum_mean = 0.3, .H = H, .W = W};
  gds_prior *p = NULL;
  assert_int_equal(gds_prior_create(&o, &p), 0);
  assert_int_equal(p->basis, GDS_PRIOR_BASIS_FOURIER);
  assert_true(p->mean == 0.3 && !p->white);
  double tre[D], tim[D], w[D], conv[D], x0[D];
  ref_dft2(H, W, p->texton, tre, tim);
  for (int k = 0; k < D; k++) {
    GDS_ASSERT_CLOSE(p->spectrum[k], lam[k], 1e-12, 1e-12);
    GDS_ASSERT_CLOSE(tre[k] * tre[k] + tim[k] * tim[k], lam[k], 1e-10, 1e-12);
    GDS_ASSERT_CLOSE(tim[k], 0, 0, 1e-12); /* DFT(t) = sqrt(λ): real */
    assert_true(p->texture[k] == 0.3);
  }
  assert_int_equal(gds_prior_sample(p, 5, x0), 0);
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_X0, 5, 0), 0, D, w);
  ref_conv(H, W, p->texton, w, conv);
  for (int k = 0; k < D; k++) GDS_ASSERT_CLOSE(x0[k], 0.3 + conv[k], 1e-12, 1e-12);
  gds_prior_destroy(&p);

  /* wrong size, asymmetric, NaN, negative, 3-D: refused with the reason */
  int q = gds_error_set_quiet(1);
  o.H = 6, o.W = 5;
  assert_int_equal(gds_prior_create(&o, &p), GDS_ERR_INPUT);
  o.H = H, o.W = W;
  int h, wd;
  gds_prior_basis basis;
  double *out = NULL;
  char why[1024];
  lam[1] *= 1.5; /* λ[0, 1] ≠ λ[0, 5] */
  assert_int_equal(gds_test_write_npy(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (5, 6), }", lam, D), 0);
  assert_int_equal(gds_prior_create(&o, &p), GDS_ERR_INPUT);
  assert_int_equal(gds_prior_spectrum_load(path, &h, &wd, &basis, &out, why, sizeof why), GDS_ERR_INPUT);
  assert_non_null(strstr(why, "not the spectrum of a real stationary field"));
  const double bad[4][3] = {{1, NAN, 2}, {1, -0.5, 2}, {1, INFINITY, 2}, {1, 1e200, 2}};
  const char *what[4] = {"is NaN", "is negative (-0.5)", "is infinite", "too large"};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(gds_test_write_npy(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", bad[i], 3), 0);
    assert_int_equal(gds_prior_spectrum_load(path, &h, &wd, &basis, &out, why, sizeof why), GDS_ERR_INPUT);
    assert_non_null(strstr(why, "eigenvalue 1"));
    assert_non_null(strstr(why, what[i]));
    assert_null(out);
  }
  assert_int_equal(gds_test_write_npy(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 3), }", lam, 6), 0);
  assert_int_equal(gds_prior_spectrum_load(path, &h, &wd, &basis, &out, why, sizeof why), GDS_ERR_INPUT);
  assert_non_null(strstr(why, "shape (1, 2, 3)"));
  gds_error_set_quiet(q);
  unlink(path);
  free(path);
}

/* A 1-D array of n eigenvalues: a prior in its own eigenbasis (images 1 × n), x0 = μ + sqrt(λ) ⊙ w;
 * −0 is read as 0. */
static void test_spectrum_prior_eigen(void **state) {
  (void)state;
  const double lam[7] = {4.0, 0.25, -0.0, 1e-8, 9.0, 2.0, 0.0};
  char *path = tmp_path(".npy");
  assert_int_equal(gds_test_write_npy(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (7,), }", lam, 7), 0);
  int h, w;
  gds_prior_basis basis;
  double *out = NULL;
  char why[512];
  assert_int_equal(gds_prior_spectrum_load(path, &h, &w, &basis, &out, why, sizeof why), 0);
  assert_true(h == 1 && w == 7 && basis == GDS_PRIOR_BASIS_EIGEN);
  assert_false(signbit(out[2]));
  free(out);
  gds_prior_options o = {.spectrum = path, .spectrum_mean = -1.0, .H = 1, .W = 7};
  gds_prior *p = NULL;
  assert_int_equal(gds_prior_create(&o, &p), 0);
  assert_int_equal(p->basis, GDS_PRIOR_BASIS_EIGEN);
  double x0[7], wn[7];
  assert_int_equal(gds_prior_sample(p, 12, x0), 0);
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_X0, 12, 0), 0, 7, wn);
  for (int k = 0; k < 7; k++) {
    assert_true(p->spectrum[k] == fabs(lam[k]));
    GDS_ASSERT_CLOSE(x0[k], -1.0 + sqrt(fabs(lam[k])) * wn[k], 1e-15, 1e-15);
  }
  gds_prior_destroy(&p);
  unlink(path);
  free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spectrum_bruteforce), cmocka_unit_test(test_sample_convolution),
      cmocka_unit_test(test_sample_statistics),   cmocka_unit_test(test_sample_seeds_bitwise),
      cmocka_unit_test(test_periodic_component),
      cmocka_unit_test(test_png_formats),         cmocka_unit_test(test_pgm_formats),
      cmocka_unit_test(test_crop),                cmocka_unit_test(test_errors),
      cmocka_unit_test(test_builtins),            cmocka_unit_test(test_white),
      cmocka_unit_test(test_relative_path),
      cmocka_unit_test(test_spectrum_prior_2d),   cmocka_unit_test(test_spectrum_prior_eigen),
  };
  return cmocka_run_group_tests_name("prior", tests, NULL, NULL);
}
