#!/usr/bin/env bash
# Integration test: input files end to end (issue 8).
#  - The fingerprint covers the CONTENT of texture and mask files: changing a file at the same
#    path and then `run --resume` is refused (exit 1) with a message naming the file; putting
#    the original bytes back makes the resume work again.
#  - Sweep files that are not regular files (/dev/zero, a directory, a FIFO) or larger than
#    64 MiB are refused before reading (exit 1, promptly, no output).
#  - Values whose arithmetic cannot be represented are refused by `check` and `run` with
#    "underflow"/"overflow" in the message, naming file, line and key; an empty mask says so.
#  - Seeds take the whole documented range 0 .. 2^63-1.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1

# 8x8 8-bit PGM images: a texture (values i*3) and a mask (a 2x2 hole).
pgm() { # FILE VALUE-GENERATOR...
  local f=$1
  shift
  { printf 'P2\n8 8\n255\n'; "$@"; } >"$f"
}
pgm tex.pgm seq 0 3 189
pgm mask.pgm awk 'BEGIN { for (i = 0; i < 64; i++) print ((i == 9 || i == 10 || i == 17 || i == 18) ? 0 : 255) }'
cp tex.pgm tex.orig
cp mask.pgm mask.orig

cat >files.yaml <<'EOF'
name: files
prior: {texture: tex.pgm, size: [8, 8]}
diffusion: {steps: 30, beta_start: 0.001, beta_end: 0.3}
grid:
  operator:
    - gaussian_blur: {std: 1.0}
    - inpainting: {mask: file, path: mask.pgm}
  sigma: [0.05]
  algorithm: [pigdm]
  seed: [0, 1]
output: {samples: 0, w2_times: [0, 30]}
EOF

note "--- input file content is part of the fingerprint"
gds run files.yaml -o files.h5
expect_rc 0 "run with a texture and a mask file"
fp0=$("$GDSWEEP" check files.yaml | sed -n 's/^ *fingerprint //p')
if h5dump -a /inputs files.h5 2>/dev/null | grep -q "prior.texture"; then
  pass "the output lists its input files (root attribute inputs)"
else fail "root attribute inputs lacks prior.texture"; fi

pgm tex.pgm seq 1 3 190 # same path, other bytes
fp1=$("$GDSWEEP" check files.yaml | sed -n 's/^ *fingerprint //p')
if [ -n "$fp0" ] && [ "$fp0" != "$fp1" ]; then pass "a changed texture changes the fingerprint"
else fail "fingerprint unchanged after the texture changed ($fp0 / $fp1)"; fi
sum=$(sum_of files.h5)
gds run files.yaml -o files.h5 --resume
expect_rc 1 "resume after the texture changed"
expect_text "$STDERR" "resume after the texture changed" "cannot resume" "tex.pgm" "prior.texture" \
  "content of input file"
expect_same_sum files.h5 "$sum" "refused resume"

cp tex.orig tex.pgm
pgm mask.pgm awk 'BEGIN { for (i = 0; i < 64; i++) print (i == 9 ? 0 : 255) }'
gds run files.yaml -o files.h5 --resume
expect_rc 1 "resume after the mask changed"
expect_text "$STDERR" "resume after the mask changed" "mask.pgm" "grid.operator[1].inpainting.path" \
  "content of input file"

cp mask.orig mask.pgm
gds run files.yaml -o files.h5 --resume
expect_rc 0 "resume with the original bytes back"

note "--- sweep files that are not regular files, or too large, are refused before reading"
not_a_sweep() { # WHAT PATH STRING...
  local what=$1 path=$2
  shift 2
  gds check "$path"
  expect_rc 1 "check $what"
  expect_text "$STDERR" "check $what" "$@"
  gds run "$path" -o "$what.h5"
  expect_rc 1 "run $what"
  expect_no_file "$what.h5" "run $what"
}
not_a_sweep dev_zero /dev/zero "/dev/zero" "not a regular file" "device"
mkdir adir.yaml
not_a_sweep directory adir.yaml "adir.yaml" "is a directory"
mkfifo fifo.yaml
t=$SECONDS
not_a_sweep fifo fifo.yaml "fifo.yaml" "FIFO"
if [ $((SECONDS - t)) -lt 60 ]; then pass "a FIFO without writer does not block"; else fail "FIFO blocked"; fi
cp files.yaml big.yaml
truncate -s 65M big.yaml # sparse: 64 MiB + 1 MiB, never read
not_a_sweep big big.yaml "big.yaml" "larger than the limit of 64 MiB"

note "--- arithmetic that cannot be represented"
cat >base.yaml <<'EOF'
name: arith
prior: {texture: builtin:fabric, size: [8, 8]}
diffusion: {steps: 30, beta_start: 0.001, beta_end: 0.3}
grid:
  operator:
    - identity: {}
    - gaussian_blur: {std: 1.0}
    - motion_blur: {length: 3, angle: 30}
  sigma: [0.05]
  alpha_dps: [1.0]
  algorithm: [dps, pigdm]
  seed: [0]
output: {samples: 0}
EOF
bad_sweep() { # NAME SED_EXPR STRING...
  local name=$1 expr=$2
  shift 2
  sed -e "$expr" base.yaml >"$name.yaml"
  if cmp -s base.yaml "$name.yaml"; then fail "$name: the edit '$expr' changed nothing"; return 0; fi
  gds check "$name.yaml"
  expect_rc 1 "check $name"
  expect_text "$STDERR" "check $name" "$@"
  gds run "$name.yaml" -o "$name.h5"
  expect_rc 1 "run $name"
  expect_no_file "$name.h5" "run $name"
}
bad_sweep std_tiny 's|std: 1.0|std: 1.0e-200|' "std_tiny.yaml:7: grid.operator[1].gaussian_blur.std" "underflow"
bad_sweep std_huge 's|std: 1.0|std: 1.0e200|' "std_huge.yaml:7: grid.operator[1].gaussian_blur.std" "overflow"
bad_sweep length_huge 's|length: 3|length: 1.0e12|' "length_huge.yaml:8: grid.operator[2].motion_blur.length" \
  "overflow" "int range"
bad_sweep sigma_tiny 's|sigma: \[0.05\]|sigma: [1.0e-300]|' "sigma_tiny.yaml:9: grid.sigma[0]" "underflow"
bad_sweep sigma_subnormal 's|sigma: \[0.05\]|sigma: [1.0e-320]|' "sigma_subnormal.yaml:9: grid.sigma[0]" "underflow"
bad_sweep sigma_inf 's|sigma: \[0.05\]|sigma: [1.0e400]|' "sigma_inf.yaml:9: grid.sigma[0]" "overflow"
bad_sweep alpha_huge 's|alpha_dps: \[1.0\]|alpha_dps: [1.0e308]|' "alpha_huge.yaml:10: grid.alpha_dps[0]" \
  "underflow" "sigma²/alpha_dps"
bad_sweep alpha_tiny 's|alpha_dps: \[1.0\]|alpha_dps: [1.0e-150]|;s|sigma: \[0.05\]|sigma: [1.0e100]|' "alpha_tiny.yaml:10: grid.alpha_dps[0]" "overflow"
bad_sweep white_std 's|texture: builtin:fabric|white: {std: 1.0e-170}|' "white_std.yaml:2: prior.white.std" \
  "underflow"
bad_sweep size_huge 's|size: \[8, 8\]|size: [100000, 100000]|' "size_huge.yaml:2: prior.size" "too large"
bad_sweep traj_overflow 's|size: \[8, 8\]|size: [16384, 16384]|;s|samples: 0|samples: 2000000000|' \
  "traj_overflow.yaml:5: grid" "overflow" "trajectories"
bad_sweep empty_mask 's|identity: {}|inpainting: {mask: random, keep: 1.0e-9}|' \
  "empty_mask.yaml:6: grid.operator[0].inpainting" "the mask is empty"

note "--- seeds: the whole range 0 .. 2^63-1"
sed 's|seed: \[0\]|seed: [0, 9223372036854775807]|' base.yaml >seed_max.yaml
gds check seed_max.yaml
expect_rc 0 "check with seed 2^63-1"
sed 's|seed: \[0\]|seed: [9223372036854775808]|' base.yaml >seed_big.yaml
gds check seed_big.yaml
expect_rc 1 "check with seed 2^63"
expect_text "$STDERR" "check with seed 2^63" "seed_big.yaml:12: grid.seed[0]" "9223372036854775807"

gds_finish
