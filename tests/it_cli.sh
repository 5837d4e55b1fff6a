#!/usr/bin/env bash
# Integration test: the command line end to end with bad input. Every input error must exit
# with 1, name the file/line/key/value at fault, and create (or change) no output file.
# Usage errors exit 1, --help/--version 0; check prints the point count, status done/missing.
# The binary runs as a singleton MPI process (no mpirun), which works as root with the
# OMPI_ALLOW_RUN_AS_ROOT* variables; one case checks that an input error under mpirun -n 2
# is reported once.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

# A small valid sweep (12x10, T = 50, 3 operators x 2 sigmas x 2 algorithms = 12 points);
# the bad cases below are one-line edits of it. Line numbers matter to the messages.
cat >base.yaml <<'EOF'
name: cli
prior: {texture: builtin:fabric, size: [12, 10], periodic: true}
diffusion: {steps: 50, beta_start: 0.001, beta_end: 0.2, variance: beta}
grid:
  operator:
    - identity: {}
    - gaussian_blur: {std: 1.5}
    - motion_blur: {length: 3, angle: 30}
  sigma: [0.05, 0.1]
  alpha_dps: [1.0]
  algorithm: [dps, cgdm]
  seed: [0]
output: {samples: 1, checkpoints: [50, 0], w2_times: all}
EOF

# An 8x8 8-bit PGM texture, smaller than the 12x10 image of the sweep.
{ printf 'P2\n8 8\n255\n'; seq 0 3 189; } >small.pgm

# bad_sweep NAME SED_EXPR STRING...: NAME.yaml = base.yaml edited by SED_EXPR must be refused
# by `check` and by `run` (exit 1, every STRING in the message, no output file).
bad_sweep() {
  local name=$1 expr=$2
  shift 2
  sed -e "$expr" base.yaml >"$name.yaml"
  if cmp -s base.yaml "$name.yaml"; then fail "$name: the edit '$expr' changed nothing"; return 0; fi
  gds check "$name.yaml"
  expect_rc 1 "check $name"
  expect_text "$STDERR" "check $name" "$@"
  gds run "$name.yaml" -o "$name.h5"
  expect_rc 1 "run $name"
  expect_text "$STDERR" "run $name" "$@"
  expect_no_file "$name.h5" "run $name"
}

note "--- bad sweep files"
gds check nope.yaml
expect_rc 1 "check of a missing sweep file"
expect_text "$STDERR" "check of a missing sweep file" "nope.yaml" "No such file"
gds run nope.yaml -o nope.h5
expect_rc 1 "run of a missing sweep file"
expect_text "$STDERR" "run of a missing sweep file" "nope.yaml"
expect_no_file nope.h5 "run of a missing sweep file"

bad_sweep texture_missing 's|builtin:fabric|missing.png|' \
  "texture_missing.yaml:2: prior.texture" "missing.png" "No such file"
bad_sweep texture_small 's|builtin:fabric|small.pgm|' "texture_small.yaml:2:" "prior.texture" "small.pgm is 8 x 8" "prior.size [12, 10]"
bad_sweep texture_builtin 's|builtin:fabric|builtin:nope|' "texture_builtin.yaml:2: prior.texture" "builtin:nope" "builtin:fabric"
bad_sweep operator_unknown 's|gaussian_blur: {std: 1.5}|blur: {std: 1.5}|' \
  "operator_unknown.yaml:7: grid.operator[1]" "unknown operator 'blur'"
bad_sweep algorithm_unknown 's|\[dps, cgdm\]|[dps, foo]|' \
  "algorithm_unknown.yaml:11: grid.algorithm[1]" "'foo'" "pigdm"
bad_sweep key_unknown_top '1a foo: 1' "key_unknown_top.yaml:2: foo" "unknown key 'foo'"
bad_sweep key_unknown_nested 's|steps: 50|stepz: 50|' \
  "key_unknown_nested.yaml:3: diffusion.stepz" "unknown key 'stepz'"
bad_sweep key_duplicate '2a prior: {texture: builtin:fabric, size: [12, 10]}' \
  "key_duplicate.yaml:3: prior" "duplicate key"
bad_sweep name_missing '1d' "name_missing.yaml:1: name" "missing"
bad_sweep type_steps_word 's|steps: 50|steps: many|' \
  "type_steps_word.yaml:3: diffusion.steps" "expected an integer" "many"
bad_sweep type_steps_real 's|steps: 50|steps: 50.5|' \
  "type_steps_real.yaml:3: diffusion.steps" "50.5" "not an integer"
bad_sweep type_sigma_scalar 's|sigma: \[0.05, 0.1\]|sigma: 0.05|' \
  "type_sigma_scalar.yaml:9: grid.sigma" "expected a list" "[0.05]"
bad_sweep type_sigma_string 's|sigma: \[0.05, 0.1\]|sigma: ["0.05"]|' \
  "type_sigma_string.yaml:9: grid.sigma[0]" "quoted values are strings"
bad_sweep type_periodic 's|periodic: true|periodic: 3|' \
  "type_periodic.yaml:2: prior.periodic" "true or false" "got 3"
bad_sweep type_size 's|size: \[12, 10\]|size: 12|' "type_size.yaml:2: prior.size" "list of 2 integers"
bad_sweep std_zero 's|std: 1.5|std: 0|' \
  "std_zero.yaml:7: grid.operator[1].gaussian_blur.std" "must be > 0" "got 0"
bad_sweep std_negative 's|std: 1.5|std: -2|' \
  "std_negative.yaml:7: grid.operator[1].gaussian_blur.std" "must be > 0" "got -2"
bad_sweep length_negative 's|length: 3|length: -3|' \
  "length_negative.yaml:8: grid.operator[2].motion_blur.length" "must be > 0" "got -3"
bad_sweep length_zero 's|length: 3|length: 0|' \
  "length_zero.yaml:8: grid.operator[2].motion_blur.length" "must be > 0" "got 0"
bad_sweep sigma_zero 's|sigma: \[0.05, 0.1\]|sigma: [0.05, 0]|' \
  "sigma_zero.yaml:9: grid.sigma[1]" "must be > 0" "got 0"
bad_sweep sigma_negative 's|sigma: \[0.05, 0.1\]|sigma: [-0.05]|' \
  "sigma_negative.yaml:9: grid.sigma[0]" "must be > 0" "got -0.05"
bad_sweep alpha_negative 's|alpha_dps: \[1.0\]|alpha_dps: [-1]|' \
  "alpha_negative.yaml:10: grid.alpha_dps[0]" "must be > 0" "got -1"
bad_sweep alpha_zero 's|alpha_dps: \[1.0\]|alpha_dps: [1.0, 0.0]|' \
  "alpha_zero.yaml:10: grid.alpha_dps[1]" "must be > 0" "got 0.0"
bad_sweep steps_zero 's|steps: 50|steps: 0|' "steps_zero.yaml:3: diffusion.steps" "got 0"
bad_sweep steps_negative 's|steps: 50|steps: -5|' "steps_negative.yaml:3: diffusion.steps" "got -5"
bad_sweep beta_end_above_1 's|beta_end: 0.2|beta_end: 1.5|' \
  "beta_end_above_1.yaml:3: diffusion.beta_end" "(0, 1)" "got 1.5"
bad_sweep beta_end_1 's|beta_end: 0.2|beta_end: 1|' \
  "beta_end_1.yaml:3: diffusion.beta_end" "(0, 1)" "got 1"
bad_sweep beta_start_zero 's|beta_start: 0.001|beta_start: 0|' \
  "beta_start_zero.yaml:3: diffusion.beta_start" "(0, 1)" "got 0"
bad_sweep beta_default_small_T 's|{steps: 50, .*}|{steps: 10}|' \
  "beta_default_small_T.yaml:3: diffusion.beta_end" "20/T"
bad_sweep checkpoint_above_T 's|checkpoints: \[50, 0\]|checkpoints: [60, 0]|' \
  "checkpoint_above_T.yaml:13: output.checkpoints[0]" "[0, 50]" "got 60"
bad_sweep checkpoint_negative 's|checkpoints: \[50, 0\]|checkpoints: [50, -1]|' \
  "checkpoint_negative.yaml:13: output.checkpoints[1]" "[0, 50]" "got -1"
bad_sweep yaml_unclosed 's|sigma: \[0.05, 0.1\]|sigma: [0.05, 0.1|' \
  "yaml_unclosed.yaml:10:12: malformed YAML" "line 9, column 10"
bad_sweep yaml_indent 's|^  seed: \[0\]|   seed: [0]|' "yaml_indent.yaml:12:4: malformed YAML"
bad_sweep yaml_tab 's|^  seed: \[0\]|\tseed: [0]|' "yaml_tab.yaml:12:1: malformed YAML"
bad_sweep axis_duplicate 's|sigma: \[0.05, 0.1\]|sigma: [0.05, 0.05]|' \
  "axis_duplicate.yaml:9: grid.sigma[1]" "duplicate of grid.sigma[0]"
bad_sweep operator_duplicate 's|motion_blur: {length: 3, angle: 30}|gaussian_blur: {std: 1.5}|' \
  "operator_duplicate.yaml:8: grid.operator[2]" "duplicate of grid.operator[1]"
bad_sweep axis_empty 's|seed: \[0\]|seed: []|' "axis_empty.yaml:12: grid.seed" "must not be empty"
bad_sweep operators_empty '6,8d; s|operator:|operator: []|' \
  "operators_empty.yaml:5: grid.operator" "must not be empty"
bad_sweep variance_unknown 's|variance: beta|variance: foo|' \
  "variance_unknown.yaml:3: diffusion.variance" "'foo'" "beta_tilde"
bad_sweep samples_negative 's|samples: 1|samples: -1|' "samples_negative.yaml:13: output.samples" "got -1"
bad_sweep sr_factor 's|motion_blur: {length: 3, angle: 30}|super_resolution: {factor: 4}|' \
  "sr_factor.yaml:8: grid.operator[2].super_resolution.factor" "does not divide"
: >empty.yaml # (/dev/null is a device: refused as not a regular file, see it_inputs)
gds check empty.yaml
expect_rc 1 "check of an empty file"
expect_text "$STDERR" "check of an empty file" "empty.yaml:1:" "empty"

note "--- input errors under mpirun -n 2 (rank 0 reports once)"
gds_mpi 2 run sigma_zero.yaml -o mpi.h5
expect_rc 1 "mpirun -n 2 run sigma_zero"
n=$(grep -c "grid.sigma\[1\]: must be > 0" "$STDERR" || true)
if [ "$n" = 1 ]; then pass "mpirun -n 2: the message is printed once"
else fail "mpirun -n 2: the message is printed $n times, expected once"; fi
expect_no_file mpi.h5 "mpirun -n 2 run sigma_zero"

note "--- output files"
gds run base.yaml -o out.h5 --quiet
expect_rc 0 "run base.yaml"
sum=$(sum_of out.h5)
gds run base.yaml -o out.h5
expect_rc 1 "run onto an existing output without --force/--resume"
expect_text "$STDERR" "existing output" "out.h5" "already exists" "--force" "--resume"
expect_same_sum out.h5 "$sum" "existing output"
gds run sigma_zero.yaml -o out.h5 --force
expect_rc 1 "run --force of a bad sweep"
expect_same_sum out.h5 "$sum" "run --force of a bad sweep"
sed 's|sigma: \[0.05, 0.1\]|sigma: [0.05, 0.2]|' base.yaml >other.yaml
gds run other.yaml -o out.h5 --resume
expect_rc 1 "--resume of a different sweep"
expect_text "$STDERR" "--resume of a different sweep" "out.h5" "different sweep" "fingerprint"
expect_same_sum out.h5 "$sum" "--resume of a different sweep"
# Same sweep, other name and comments: the fingerprint matches, nothing is left to do.
{ echo "# a comment"; sed 's|^name: cli|name: renamed|' base.yaml; } >renamed.yaml
gds run renamed.yaml -o out.h5 --resume --quiet
expect_rc 0 "--resume of the same sweep (renamed, commented) when complete"
gds run base.yaml -o both.h5 --resume --force
expect_rc 1 "--resume with --force"
expect_text "$STDERR" "--resume with --force" "--resume and --force"
expect_no_file both.h5 "--resume with --force"
gds run base.yaml -o nothing.h5 --resume
expect_rc 1 "--resume of a missing output"
expect_text "$STDERR" "--resume of a missing output" "nothing.h5" "nothing to resume"
expect_no_file nothing.h5 "--resume of a missing output"
# An output larger than the free disk space: 100 seeds x 100000 samples x 5 checkpoints of a
# 32x32 image is ~200 TB of trajectories; refused before anything is written.
{
  printf 'name: huge\nprior: {texture: builtin:noise, size: [32, 32]}\ndiffusion: {steps: 100}\n'
  printf 'grid:\n  operator: [identity: {}]\n  sigma: [0.1]\n  algorithm: [cgdm]\n  seed: ['
  seq -s, 0 99 | tr -d '\n'
  printf ']\noutput: {samples: 100000, checkpoints: [100, 75, 50, 25, 0]}\n'
} >huge.yaml
gds run huge.yaml -o huge.h5
expect_rc 1 "output larger than the free disk space"
expect_text "$STDERR" "output larger than the free disk space" "huge.h5" "the output needs about" "are free in"
expect_no_file huge.h5 "output larger than the free disk space"
touch regular
gds run base.yaml -o regular/out.h5
expect_rc 1 "output under a regular file"
expect_text "$STDERR" "output under a regular file" "regular/out.h5" "Not a directory"
gds run base.yaml -o nodir/out.h5
expect_rc 1 "output in a missing directory"
expect_text "$STDERR" "output in a missing directory" "nodir/out.h5" "does not exist"
expect_no_file nodir "output in a missing directory"
mkdir adir
gds run base.yaml -o adir
expect_rc 1 "output is a directory"
expect_text "$STDERR" "output is a directory" "adir" "is a directory"

note "--- usage"
gds
expect_rc 1 "no arguments"
expect_text "$STDERR" "no arguments" "missing command" "usage:"
gds frobnicate
expect_rc 1 "unknown command"
expect_text "$STDERR" "unknown command" "unknown command: frobnicate"
gds run base.yaml
expect_rc 1 "run without -o"
expect_text "$STDERR" "run without -o" "-o OUT.h5"
gds run -o x.h5
expect_rc 1 "run without a sweep file"
gds run base.yaml -o x.h5 --bogus
expect_rc 1 "run with an unknown option"
expect_text "$STDERR" "run with an unknown option" "--bogus"
gds run base.yaml extra.yaml -o x.h5
expect_rc 1 "run with two sweep files"
expect_text "$STDERR" "run with two sweep files" "extra.yaml"
expect_no_file x.h5 "usage errors"
gds check
expect_rc 1 "check without a file"
gds status
expect_rc 1 "status without a file"
gds --help
expect_rc 0 "--help"
expect_text "$STDOUT" "--help" "usage: gdsweep run" "gdsweep check" "gdsweep status" "exit codes"
gds --version
expect_rc 0 "--version"
if grep -qE '^gdsweep [0-9]+\.[0-9]+\.[0-9]+' "$STDOUT"; then pass "--version prints the version"
else fail "--version prints '$(cat "$STDOUT")'"; fi

note "--- check and status"
gds check base.yaml
expect_rc 0 "check base.yaml"
expect_text "$STDOUT" "check base.yaml" "= 12 points" "fingerprint"
gds check "$GDS_SOURCE_DIR/sweeps/demo.yaml"
expect_rc 0 "check sweeps/demo.yaml"
expect_text "$STDOUT" "check sweeps/demo.yaml" "= 960 points"
gds check "$GDS_SOURCE_DIR/sweeps/tiny.yaml"
expect_rc 0 "check sweeps/tiny.yaml"
expect_text "$STDOUT" "check sweeps/tiny.yaml" "= 8 points"
# A 1-combination x 1000-seed sweep is split into seed blocks so that every rank gets work.
{
  printf 'name: many-seeds\nprior: {texture: builtin:fabric, size: [64, 64]}\ndiffusion: {steps: 1000}\n'
  printf 'grid:\n  operator: [gaussian_blur: {std: 2.0}]\n  sigma: [0.05]\n  algorithm: [cgdm]\n  seed: ['
  seq -s, 0 999 | tr -d '\n'
  printf ']\noutput: {samples: 1}\n'
} >seeds.yaml
for ranks in 1 2 16; do
  gds check seeds.yaml --ranks "$ranks"
  expect_rc 0 "check of a 1 x 1000-seed sweep for $ranks ranks"
  units=$(sed -n 's/^  work *\([0-9]*\) units.*/\1/p' "$STDOUT")
  if [ -n "$units" ] && [ "$units" -ge "$ranks" ] && { [ "$ranks" = 1 ] || [ "$units" -ge $((4 * ranks)) ]; }; then
    pass "1 x 1000 seeds on $ranks ranks: $units work units (every rank has work)"
  else
    fail "1 x 1000 seeds on $ranks ranks: ${units:-?} work units"
  fi
done
gds status out.h5
expect_rc 0 "status of a complete output"
expect_text "$STDOUT" "status of a complete output" "12/12 points done, 0 missing" "(complete)" \
  "gaussian_blur(std=1.5)" "motion_blur(length=3,angle=30)"
gds status missing.h5
expect_rc 1 "status of a missing file"
expect_text "$STDERR" "status of a missing file" "missing.h5"
gds status base.yaml
expect_rc 1 "status of a file that is not HDF5"
expect_text "$STDERR" "status of a file that is not HDF5" "base.yaml" "not an HDF5 file"

gds_finish
