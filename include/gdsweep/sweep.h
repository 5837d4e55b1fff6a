/* Sweep files (SPEC §4): YAML parsing and validation, and the grid they describe.
 * Every error names the file, line and key and what would be valid, before any output:
 *   sweeps/x.yaml:7: grid.operator[1].gaussian_blur.std: must be > 0, got -1 (...)
 * List indices in key paths are 0-based (as in the output file's /grid datasets). */
#ifndef GDSWEEP_SWEEP_H
#define GDSWEEP_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "gdsweep/algorithm.h"
#include "gdsweep/operator.h"
#include "gdsweep/prior.h"
#include "gdsweep/schedule.h"
#include "gdsweep/scheme.h"

/* Read-only after load. */
typedef struct gds_sweep {
  char *path;       /* as given */
  char *dir;        /* directory of the file: relative paths in it resolve against this */
  char *text;       /* the YAML text, verbatim (stored in the output's `config` attribute) */
  size_t text_len;
  char name[256];

  gds_prior_options prior; /* prior.texture points into `texture`, prior.base_dir to `dir` */
  char texture[4096];
  char spectrum[4096];     /* prior.spectrum (.npy path as written; prior.spectrum points here) */
  gds_prior_basis prior_basis; /* a 1-D spectrum: eigenbasis prior (identity operators only) */
  char texture_sha256[65]; /* SHA-256 of the prior's file (texture or spectrum; "" for builtin/white) */
  char texture_file[5120]; /* that file as resolved against `dir` ("" for builtin/white) */

  gds_process process;     /* diffusion.process: ddpm (default, SPEC §1) or vp_sde (§7.3) */
  int T;                   /* diffusion.steps (ddpm); vp_sde: max K, the last step index of the
                              curves (k = 0..max K), in which checkpoints and w2_times are given */
  double beta_start, beta_end; /* ddpm only (0 for vp_sde) */
  gds_variance variance;
  double beta_min, beta_max; /* vp_sde β(u) range (defaults 0.1, 20) */

  /* Grid axes, in the SPEC §7.8 order (format 2). The axes after `algorithm` are optional in
   * the file and then hold one default value: scheme [ddpm], sampler_steps [T], eps [0],
   * init [normal]. */
  int n_op;        gds_operator_spec *op;
  int n_sigma;     double *sigma;
  int n_alpha;     double *alpha_dps;
  int n_alg;       gds_algorithm_spec *alg;
  int n_scheme;    gds_scheme_spec *scheme;
  int n_steps;     int *steps;
  int n_eps;       double *eps;
  int n_init;      gds_init *init;
  int n_seed;      int64_t *seed;

  int samples;               /* output.samples (may be 0) */
  int n_ckpt;  int *ckpt;    /* output.checkpoints: times in 0..T, as listed
                                (default T, 3T/4, T/2, T/4, 0 without repeats) */
  int n_w2t;   int *w2_times;/* output.w2_times, ascending; n_w2t = T+1 with every t when `all` */
} gds_sweep;

/* Defaults: prior.periodic true; diffusion beta_start 0.1/T, beta_end 20/T (an error when
 * that reaches 1, T <= 20; at T = 1 beta_end = beta_start, unused), variance beta;
 * motion_blur angle 0; inpainting mask_seed 0; grid alpha_dps [1.0], scheme [ddpm],
 * sampler_steps [T], eps [0], init [normal], seed [0]; `ddrm` alone is ddrm(eta=0.85,eta_b=1),
 * `ddim` alone ddim(eta=0); output samples 0, checkpoints T, 3T/4, T/2, T/4, 0 (integer
 * division), each lowered to the nearest time every sampler_steps value visits (SPEC §7.1;
 * unchanged without respacing), repeats dropped; w2_times all.
 * Errors (file:line: key): values out of range, duplicates on any axis (O(n log n)), a
 * checkpoint some sampler_steps value never visits, eps != 0 for the discrete process, a
 * scheme of the other process, ddrm with an operator the law backend has no SVD for. */
/* Largest sweep file read (64 MiB): bigger files, and anything but a regular file (a directory,
 * FIFO, device such as /dev/zero), are refused before reading. */
#define GDS_SWEEP_MAX_BYTES (64 << 20)
/* Largest image (H·W), as the prior module accepts. */
#define GDS_SWEEP_MAX_PIXELS ((int64_t)1 << 28)
int gds_sweep_load(const char *path, gds_sweep **out);
/* Parse YAML text; `filename` is used in messages, `dir` to resolve relative paths
 * (NULL: the current directory). */
int gds_sweep_parse(const char *text, size_t len, const char *filename, const char *dir,
                    gds_sweep **out);
/* The same for text that gds_sweep_load already validated on another rank (a run's rank 0),
 * without touching the file system: input files (texture, spectrum, masks) are neither
 * checked, read nor hashed (texture_sha256 and mask_sha256 stay ""; the caller copies rank
 * 0's), and the size and basis of a spectrum prior come from `trust`. NULL trust: as
 * gds_sweep_parse. */
typedef struct gds_sweep_trust {
  int H, W;              /* prior.H, prior.W of a spectrum prior */
  gds_prior_basis basis; /* prior_basis */
} gds_sweep_trust;
int gds_sweep_parse_trusted(const char *text, size_t len, const char *filename, const char *dir,
                            const gds_sweep_trust *trust, gds_sweep **out);
void gds_sweep_destroy(gds_sweep **s);

/* Number of grid points: the product of the nine axis lengths. */
int64_t gds_sweep_npoints(const gds_sweep *s);

/* Canonical serialisation of everything in the sweep that influences results (prior, schedule,
 * grid axes, output selection; not `name`, comments, formatting, key order or whether a value
 * was defaulted or written out). One `key=value` line each, reals as %.17g (exact), strings
 * length-prefixed. Texture and mask files are represented by their path as written and the
 * SHA-256 of their bytes (read when the sweep was loaded): changing a file's content changes
 * the fingerprint. *text is malloc'ed and NUL-terminated; the caller frees it. */
int gds_sweep_canonical(const gds_sweep *s, char **text, size_t *len);
/* SHA-256 of gds_sweep_canonical as 64 lowercase hex digits + NUL: two files have the same
 * fingerprint iff they describe the same sweep (used by `run --resume`). */
int gds_sweep_fingerprint(const gds_sweep *s, char hex[65]);

/* Input files and the SHA-256 of their bytes when the sweep was loaded, one per line:
 * "<key>\t<sha256>\t<absolute path>\n" (key e.g. prior.texture, grid.operator[2].inpainting.path);
 * "" when the sweep reads no file. Stored in the output (root attribute `inputs`) so that a
 * refused --resume can say which file changed. *text is malloc'ed; the caller frees it. */
int gds_sweep_inputs(const gds_sweep *s, char **text);
/* Rehash the files listed by gds_sweep_inputs (text from an output file): 1 if the content of
 * some file differs now, with `msg` naming the files and keys ("the content of input file ...
 * changed"); 0 if none did (msg ""). Files that cannot be read now are mentioned, not counted
 * as changed. */
int gds_sweep_inputs_changed(const char *inputs, char *msg, size_t len);

#endif
