#!/usr/bin/env bash
# Exact-law backends agree end to end (SPEC §2): one sweep holds each blur twice, once with
# its Fourier-diagonal backend and once with `backend: dense` (ScaLAPACK, also across a group
# of 2 ranks). The two copies are different operators for SPEC §3 (the noise n is keyed by the
# operator index), so v differs: what does not depend on v must agree to 1e-8 relative — the
# covariance part of W2, the sampler and posterior variances for every algorithm, and all of
# W2 and the sampler mean for `none` (unconditional). Run by ctest from the build dir.
set -euo pipefail
. "$GDS_SOURCE_DIR/tests/lib.sh"
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_mpi_yield_when_idle=1
work=$(mktemp -d /tmp/it_backends.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat >b.yaml <<'YAML'
name: backends
prior: {texture: builtin:wood, size: [12, 10]}
diffusion: {steps: 60, beta_start: 0.001, beta_end: 0.2}
grid:
  operator:
    - gaussian_blur: {std: 1.3}
    - gaussian_blur: {std: 1.3, backend: dense}
    - motion_blur: {length: 4, angle: 30}
    - motion_blur: {length: 4, angle: 30, backend: dense}
  sigma: [0.05]
  alpha_dps: [0.05]
  algorithm: [none, dps, pigdm, cgdm]
  seed: [0, 1]
output: {samples: 1, checkpoints: [0], w2_times: [60, 30, 10, 0]}
YAML
for np in 1 2; do
  mpirun -n $np --oversubscribe "$GDSWEEP" run b.yaml -o "b$np.h5" --quiet --group-size $np
  /usr/bin/python3 - "b$np.h5" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
assert f["results/done"][...].all(), "points missing"
def agree(a, b, what):
    a, b = np.asarray(a), np.asarray(b)
    ok = np.allclose(a, b, rtol=1e-8, atol=1e-12, equal_nan=True)
    print(("ok  " if ok else "FAIL") + f" {what}: max |diff| {np.nanmax(np.abs(a - b)):.3g}")
    return ok
good = True
backends = [f[f"problem/op{i}"].attrs["law_backend"] for i in range(4)]
backends = [b.decode() if isinstance(b, bytes) else str(b) for b in backends]
print("law backends:", backends)
good &= backends == ["fourier-diagonal", "dense-distributed"] * 2
for fourier, dense in ((0, 1), (2, 3)):
    for name in ("w2_cov", "sampler_variance"):
        good &= agree(f["results/" + name][fourier], f["results/" + name][dense], f"op{fourier} vs op{dense} {name}")
    none = [a.decode() if isinstance(a, bytes) else a for a in f["grid/algorithm"][:]].index("none")
    for name in ("w2", "w2_mean", "sampler_mean"):
        good &= agree(f["results/" + name][fourier, :, :, none], f["results/" + name][dense, :, :, none],
                      f"op{fourier} vs op{dense} {name} (none)")
    good &= agree(f["problem/posterior_variance"][fourier], f["problem/posterior_variance"][dense],
                  f"op{fourier} vs op{dense} posterior_variance")
sys.exit(0 if good else 1)
PY
done
# A sweep mixing blur, super-resolution and inpainting (sweeps/mixed.yaml, made small) runs
# into one file, with groups of 1 and of 2 ranks; the two files agree to 1e-8 (the dense
# backend's ScaLAPACK reductions depend on the group's process grid) and record which backend
# computed each operator.
sed -e 's/size: \[32, 32\]/size: [16, 16]/' -e 's/steps: 1000/steps: 120/' \
    -e 's/checkpoints: .*/checkpoints: [120, 0]/' -e 's/w2_times: .*/w2_times: [120, 60, 10, 0]/' \
    -e 's/box: \[8, 8, 16, 16\]/box: [4, 4, 8, 8]/' "$GDS_SOURCE_DIR/sweeps/mixed.yaml" >mixed.yaml
for g in 1 2; do
  mpirun -n 2 "$GDSWEEP" run mixed.yaml -o "mixed-g$g.h5" --quiet --group-size $g
  "$GDSWEEP" status "mixed-g$g.h5" | head -n 1 | grep -q "(complete)"
done
/usr/bin/python3 - mixed-g1.h5 mixed-g2.h5 <<'PY'
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r") for p in sys.argv[1:3])
names = [str(a[f"problem/op{i}"].attrs["law_backend"], "ascii") if isinstance(a[f"problem/op{i}"].attrs["law_backend"], bytes)
         else str(a[f"problem/op{i}"].attrs["law_backend"]) for i in range(4)]
print("mixed sweep backends:", names)
assert names == ["fourier-diagonal", "fourier-block", "dense-distributed", "dense-distributed"], names
for name in ("w2", "w2_mean", "w2_cov", "sampler_mean", "sampler_variance"):
    x, y = a["results/" + name][...], b["results/" + name][...]
    assert np.allclose(x, y, rtol=1e-8, atol=1e-12, equal_nan=True), name
    print(f"ok   mixed sweep, group size 1 vs 2: {name}")
PY
# A group size that does not divide the ranks is an input error that creates nothing.
rc=0
mpirun -n 3 --oversubscribe "$GDSWEEP" run mixed.yaml -o bad.h5 --group-size 2 2>err.txt || rc=$?
[ "$rc" -eq 1 ] && grep -q -- "--group-size 2 does not divide the number of ranks 3" err.txt && [ ! -e bad.h5 ] ||
  { echo "FAIL group size not dividing the ranks: rc $rc"; cat err.txt; exit 1; }
echo "ok   --group-size 2 on 3 ranks refused"
echo "it_backends: passed"
