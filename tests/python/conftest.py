"""Fixtures of the analysis tests: small sweeps produced by the built gdsweep during the run.

The binary is $GDSWEEP (set by ctest), else build/gdsweep under $GDS_SOURCE_DIR or the
repository root. The analysis package is imported from <repo>/analysis.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(os.environ.get("GDS_SOURCE_DIR") or Path(__file__).resolve().parents[2])
ANALYSIS = REPO / "analysis"
sys.path.insert(0, str(ANALYSIS))

# The main test sweep (the values are compared with the file's axes).
MAIN = {
    "name": "pytest-main",
    "H": 16, "W": 16, "T": 60,
    "operators": ["gaussian_blur: {std: 1.5}", "motion_blur: {length: 5, angle: 30}"],
    "sigma": [0.02, 0.1],
    "alpha_dps": [0.01, 0.05, 0.2],
    "algorithm": ["dps", "pigdm", "cgdm"],
    "seed": [0, 7],
    "samples": 2,
    "checkpoints": [60, 30, 0],
}
MAIN_YAML = f"""# written by tests/python/conftest.py
name: {MAIN['name']}
prior: {{texture: builtin:fabric, size: [{MAIN['H']}, {MAIN['W']}], periodic: true}}
diffusion: {{steps: {MAIN['T']}, beta_start: 0.001, beta_end: 0.2, variance: beta}}
grid:
  operator:
    - {MAIN['operators'][0]}
    - {MAIN['operators'][1]}
  sigma: [{', '.join(map(str, MAIN['sigma']))}]
  alpha_dps: [{', '.join(map(str, MAIN['alpha_dps']))}]
  algorithm: [{', '.join(MAIN['algorithm'])}]
  seed: [{', '.join(map(str, MAIN['seed']))}]
output: {{samples: {MAIN['samples']}, checkpoints: [{', '.join(map(str, MAIN['checkpoints']))}], w2_times: all}}
"""

# Another shape: one operator / sigma / alpha / seed, no dps, the unconditional sampler,
# no trajectories, W2 at a few times only.
EDGE = {"T": 30, "w2_times": [0, 5, 12, 30], "algorithm": ["none", "pigdm", "cgdm"]}
EDGE_YAML = f"""name: pytest-edge
prior: {{texture: builtin:wood, size: [12, 10]}}
diffusion: {{steps: {EDGE['T']}, beta_start: 0.002, beta_end: 0.3}}
grid:
  operator:
    - identity: {{}}
  sigma: [0.05]
  alpha_dps: [1.0]
  algorithm: [{', '.join(EDGE['algorithm'])}]
  seed: [3]
output: {{samples: 0, checkpoints: [{EDGE['T']}, 0], w2_times: [{', '.join(map(str, EDGE['w2_times']))}]}}
"""


def _binary():
    env = os.environ.get("GDSWEEP")
    if env:
        if not os.access(env, os.X_OK):
            pytest.fail(f"GDSWEEP={env} is not an executable")
        return env
    for cand in (REPO / "build" / "gdsweep",):
        if os.access(cand, os.X_OK):
            return str(cand)
    pytest.skip("gdsweep binary not found: set GDSWEEP or build it in <repo>/build")


def run_sweep(yaml_text, out_dir, name):
    yml = Path(out_dir) / f"{name}.yaml"
    h5 = Path(out_dir) / f"{name}.h5"
    yml.write_text(yaml_text)
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    p = subprocess.run([_binary(), "run", str(yml), "-o", str(h5), "--force"], env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"gdsweep run failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return h5


def run_report(h5, outdir, *extra):
    """analysis/report.py through the command line, as a user runs it."""
    p = subprocess.run([sys.executable, str(ANALYSIS / "report.py"), str(h5), "-o", str(outdir),
                        "--dpi", "55", "-q", *extra],
                       env=dict(os.environ, MPLBACKEND="Agg"), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, f"report.py failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return Path(outdir)


@pytest.fixture(scope="session")
def main_h5(tmp_path_factory):
    return run_sweep(MAIN_YAML, tmp_path_factory.mktemp("sweep_main"), "main")


@pytest.fixture(scope="session")
def edge_h5(tmp_path_factory):
    return run_sweep(EDGE_YAML, tmp_path_factory.mktemp("sweep_edge"), "edge")


@pytest.fixture(scope="session")
def main_ds(main_h5):
    from gdsweep_analysis import load
    return load(main_h5, trajectories="lazy")


@pytest.fixture(scope="session")
def main_report(main_h5, tmp_path_factory):
    return run_report(main_h5, tmp_path_factory.mktemp("report_main"))


def file_format(f):
    """gdsweep_format of an open h5py file (1 when absent)."""
    return int(np.asarray(f.attrs.get("gdsweep_format", 1)).ravel()[0])


def grid5(f, name):
    """Dataset `name` of a sweep whose sampler axes (scheme, sampler_steps, eps, init) have one
    value each, indexed like a format-1 file: [op, sigma, alpha, alg, seed, ...]."""
    arr = f[name][()]
    if file_format(f) >= 2 and name.startswith(("results/", "provenance/")):
        assert arr.shape[4:8] == (1, 1, 1, 1), (name, arr.shape)
        arr = arr.reshape(arr.shape[:4] + arr.shape[8:])
    return arr


def grid9(f, name):
    """Dataset `name` with the nine grid axes of format 2 (a format-1 file gets length-1 axes)."""
    arr = f[name][()]
    if file_format(f) == 1 and name.startswith(("results/", "provenance/")):
        arr = arr.reshape(arr.shape[:4] + (1, 1, 1, 1) + arr.shape[4:])
    return arr


@pytest.fixture(scope="session")
def partial_h5(main_h5, tmp_path_factory):
    """A copy of the main sweep in which some points are 'not done' (as if the run had been
    killed): done = 0 and every float result NaN there."""
    import h5py
    dst = tmp_path_factory.mktemp("partial") / "partial.h5"
    shutil.copy(main_h5, dst)
    with h5py.File(dst, "r+") as f:
        done = grid5(f, "results/done")
        rng = np.random.default_rng(1)
        off = rng.random(done.shape) < 0.3
        off[0, 0, :, 1, :] = True   # pigdm never done for (op 0, sigma 0)
        off[1, 1, 2, 0, 0] = True   # one dps point
        off[0, 1, :, :, 0] = True   # the first seed of a whole (op, sigma) panel: trajectories
        done[off] = 0
        f["results/done"][...] = done.reshape(f["results/done"].shape)
        for name in ("results/w2", "results/w2_mean", "results/w2_cov", "results/sampler_mean",
                     "results/sampler_variance", "provenance/wall_time"):
            d = grid5(f, name)
            d[off] = np.nan
            f[name][...] = d.reshape(f[name].shape)
    return dst


def parse_gid(gid):
    """'kind:k=v;k=v' -> (kind, {k: v})."""
    kind, _, rest = gid.partition(":")
    return kind, dict(kv.split("=", 1) for kv in rest.split(";") if kv)


def artists_with_gid(fig, kind):
    """{frozenset(items): artist} of every artist of `fig` whose gid has that kind."""
    out = {}
    for a in fig.findobj(lambda a: isinstance(a.get_gid(), str) and a.get_gid().startswith(kind + ":")):
        k, kv = parse_gid(a.get_gid())
        out[tuple(sorted(kv.items()))] = a
    return out


# --------------------------------------------------------------------------------------------
# Synthetic output files of format 2 (SPEC §7.8), written with h5py: they do not need a binary
# that writes format 2, and their values are chosen so that every index can be checked.

FMT2 = {
    "H": 6, "W": 8, "T": 20,
    "operator": ["gaussian_blur(std=1.5)", "inpainting(mask=random,keep=0.5,mask_seed=0)"],
    "sigma": [0.02, 0.1],
    "alpha_dps": [0.1, 1.0],
    "algorithm": ["dps", "pigdm", "cgdm", "ddrm(eta=0.85,eta_b=1)", "ddrm(eta=0,eta_b=1)"],
    "scheme": ["ddpm", "ddim(eta=0)", "ddim(eta=1)"],
    "sampler_steps": [5, 10, 20],
    "eps": [0.0],
    "init": ["normal", "exact"],
    "seed": [0, 3],
    "checkpoint": [17, 9, 0],  # visited by S = 5 (1, 5, 9, 13, 17), 10 and 20
    "samples": 1,
}
FMT2_AXES = ("operator", "sigma", "alpha_dps", "algorithm", "scheme", "sampler_steps", "eps", "init", "seed")

VP = {
    "H": 4, "W": 4,
    "operator": ["identity"],
    "sigma": [0.05],
    "alpha_dps": [1.0],
    "algorithm": ["none", "cgdm"],
    "scheme": ["em", "ei", "heun", "rk4"],
    "sampler_steps": [4, 8, 16],
    "eps": [0.0, 0.001],
    "init": ["normal", "exact"],
    "seed": [0],
    "checkpoint": [0],
    "samples": 0,
}


def visited(T, S):
    """Times a sampler with S respaced steps visits (SPEC §7.1): 0 and 1 + (k − 1)·⌊T/S⌋."""
    skip = T // S
    return {0} | {1 + (k - 1) * skip for k in range(1, S + 1)}


def fmt2_w2final(idx):
    """The synthetic w2_final of a point, from its effective indices (ignored axes dropped:
    only dps uses α, ddrm ignores the scheme): positive, decreasing with the steps, and
    infinite for dps α = 1 at σ = 0.02 (a diverged sampler)."""
    op, s, a, g, sc, st, e, ini, sd = idx
    alg = FMT2["algorithm"][g]
    if alg != "dps":
        a = 0
    if alg.startswith("ddrm"):
        sc = 0
    if alg == "dps" and a == 1 and s == 0:
        return np.inf
    S = FMT2["sampler_steps"][st]
    return (0.01 * (1 + op) * (1 + s) * (1 + a) * (1 + g) * (1 + 0.3 * sc) * (1 + 0.2 * ini)
            * (1 + 0.05 * sd) * (1 + 4.0 / S))


def _scale(f, axis, values, description):
    import h5py
    if values.dtype.kind in "OU":
        d = f.create_dataset("grid/" + axis, data=np.array([str(v).encode() for v in values], dtype=h5py.string_dtype("ascii")))
    else:
        d = f.create_dataset("grid/" + axis, data=values)
    d.attrs["description"] = description
    d.make_scale(axis)
    return d


def _dataset(f, path, data, dims, description, units=None):
    d = f.create_dataset(path, data=data)
    d.attrs["description"] = description
    if units:
        d.attrs["units"] = units
    for i, name in enumerate(dims):
        if name is not None and "grid/" + name in f:
            d.dims[i].attach_scale(f["grid/" + name])
    return d


def _common_groups(f, spec, tname, ntime):
    """/grid (axes and time), /problem, /prior: shared by the ddpm and vp_sde fixtures."""
    import h5py
    rng = np.random.default_rng(5)
    H, W = spec["H"], spec["W"]
    for ax in FMT2_AXES:
        vals = np.array(spec[ax])
        if ax == "sampler_steps":
            vals = vals.astype(np.int32)
        elif ax == "seed":
            vals = vals.astype(np.int64)
        _scale(f, ax, vals, f"{ax} axis")
    _scale(f, tname, np.arange(ntime, dtype=np.int32), "time axis")
    _scale(f, "checkpoint", np.array(spec["checkpoint"], dtype=np.int32), "checkpoint axis")
    _scale(f, "sample", np.arange(spec["samples"], dtype=np.int32), "sample axis")
    _scale(f, "row", np.arange(H, dtype=np.int32), "row")
    _scale(f, "col", np.arange(W, dtype=np.int32), "col")
    nop, nsig, nseed = len(spec["operator"]), len(spec["sigma"]), len(spec["seed"])
    _dataset(f, "problem/x0", rng.random((nseed, H, W)), ("seed", "row", "col"), "ground truth", "pixel intensity")
    _dataset(f, "problem/posterior_mean", rng.random((nop, nsig, nseed, H, W)),
             ("operator", "sigma", "seed", "row", "col"), "posterior mean", "pixel intensity")
    _dataset(f, "problem/posterior_variance", rng.random((nop, nsig, H, W)) * 0.01,
             ("operator", "sigma", "row", "col"), "posterior variance", "pixel intensity^2")
    for i, name in enumerate(spec["operator"]):
        g = f.create_group(f"problem/op{i}")
        g.attrs["name"] = name.encode()
        g.attrs["type"] = name.split("(")[0].encode()
        g.attrs["parameters"] = (name.partition("(")[2].rstrip(")")).encode()
        if name.startswith("inpainting"):
            mask = (rng.random((H, W)) < 0.5).astype(np.uint8)
            mask[0, 0] = 1
            g.attrs["law_backend"] = b"dense-distributed"
            g.create_dataset("mask", data=mask)
            g.create_dataset("v", data=rng.random((nsig, nseed, 1, int(mask.sum()))))
        else:
            g.attrs["law_backend"] = b"fourier-diagonal"
            k = np.zeros((H, W))
            k[0, 0], k[0, 1], k[1, 0] = 0.5, 0.25, 0.25
            g.create_dataset("kernel", data=k)
            g.create_dataset("v", data=rng.random((nsig, nseed, H, W)))
    p = f.create_group("prior")
    p.attrs["name"] = b"builtin:fabric"
    p.attrs["mean"] = 0.5
    _dataset(f, "prior/texture", rng.random((H, W)), ("row", "col"), "texture")
    spec_ = rng.random((H, W)) + 0.1
    spec_[0, 0] = 0
    _dataset(f, "prior/spectrum", spec_, ("row", "col"), "spectrum")


def make_format2(path, not_done=((0, 1, 0, 1, 0, 0, 0, 0, 1), (1, 0, 1, 0, 2, 1, 0, 1, 0))):
    """A synthetic format-2 file of the discrete process with the FMT2 grid. `not_done`: points
    whose done flag is 0; their results hold garbage (format 2 does not pre-fill)."""
    import h5py
    sp = FMT2
    T, H, W = sp["T"], sp["H"], sp["W"]
    shape = tuple(len(sp[a]) for a in FMT2_AXES)
    rng = np.random.default_rng(7)
    with h5py.File(path, "w") as f:
        f.attrs["gdsweep_format"] = np.int32(2)
        f.attrs["process"] = b"ddpm"
        f.attrs["name"] = b"synthetic-fmt2"
        f.attrs["config"] = b"name: synthetic-fmt2\n# written by tests/python/conftest.py\n"
        f.attrs["fingerprint"] = b"0" * 64
        f.attrs["version"] = b"test"
        f.attrs["complete"] = np.int32(0)
        _common_groups(f, sp, "t", T + 1)
        sch = f.create_group("schedule")
        sch.attrs["process"] = b"ddpm"
        sch.attrs["T"] = np.int32(T)
        sch.attrs["beta_start"], sch.attrs["beta_end"], sch.attrs["variance"] = 0.01, 0.3, b"beta"
        beta = np.concatenate([[0.0], np.linspace(0.01, 0.3, T)])
        _dataset(f, "schedule/beta", beta, ("t",), "beta_t")
        _dataset(f, "schedule/alpha_bar", np.cumprod(1 - beta), ("t",), "alpha_bar_t")
        _dataset(f, "grid/w2_computed", np.ones(T + 1, dtype=np.uint8), ("t",), "computed")
        final = np.empty(shape)
        for idx in np.ndindex(shape):
            final[idx] = fmt2_w2final(idx)
        cov = final * 0.6
        with np.errstate(invalid="ignore"):  # inf − inf at the diverged points, set below
            mean = np.sqrt(np.maximum(final ** 2 - cov ** 2, 0))
        mean[np.isinf(final)], cov[np.isinf(final)] = np.inf, np.inf
        tgrid = np.arange(T + 1)
        curves = {}
        for name, base in (("w2", final), ("w2_mean", mean), ("w2_cov", cov)):
            c = base[..., None] * (1 + tgrid / T)
            for st, S in enumerate(sp["sampler_steps"]):
                off = np.array([t not in visited(T, S) for t in tgrid])
                c[:, :, :, :, :, st, :, :, :, off] = np.nan
            curves[name] = c
        done = np.ones(shape, dtype=np.uint8)
        for p in not_done:
            done[p] = 0
        garbage = lambda a: np.where(done.reshape(done.shape + (1,) * (a.ndim - done.ndim)).astype(bool), a, 123.0)
        units = "pixel intensity"
        for name, c in curves.items():
            _dataset(f, "results/" + name, garbage(c), FMT2_AXES + ("t",), name, units)
        for name, base in (("w2_final", final), ("w2_final_mean", mean), ("w2_final_cov", cov)):
            _dataset(f, "results/" + name, garbage(base), FMT2_AXES, name, units)
        _dataset(f, "results/done", done, FMT2_AXES, "done")
        _dataset(f, "results/sampler_mean", garbage(rng.random(shape + (H, W))), FMT2_AXES + ("row", "col"),
                 "m_0", units)
        _dataset(f, "results/sampler_variance", garbage(rng.random(shape + (H, W)) * 0.01),
                 FMT2_AXES + ("row", "col"), "diag K_0", units + "^2")
        traj = rng.random(shape + (sp["samples"], len(sp["checkpoint"]), H, W)).astype(np.float32)
        _dataset(f, "results/trajectories", garbage(traj).astype(np.float32),
                 FMT2_AXES + ("sample", "checkpoint", "row", "col"), "trajectories", units)
        _dataset(f, "provenance/wall_time", garbage(rng.random(shape)), FMT2_AXES, "wall time", "s")
    return path


def vp_time(K, eps, kmax):
    """u_k = 1 − k(1 − ε)/K for k = 0..K, NaN past K (SPEC §7.3, §7.8)."""
    k = np.arange(kmax + 1, dtype=np.float64)
    return np.where(k <= K, 1 - k * (1 - eps) / K, np.nan)


def vp_w2final(idx):
    op, s, a, g, sc, st, e, ini, sd = idx
    K = VP["sampler_steps"][st]
    if VP["scheme"][sc] in ("heun", "rk4") and VP["eps"][e] == 0:
        return np.inf  # the score at u = 0 with a singular Σ: no finite law (SPEC §7.3)
    return (0.02 * (1 + g) * (1 + sc) / K + 0.5 * VP["eps"][e]) * (1 + 0.5 * ini)


def make_vp_sde(path):
    """A synthetic format-2 file of the continuous VP SDE (time axis k, /results/time)."""
    import h5py
    sp = VP
    shape = tuple(len(sp[a]) for a in FMT2_AXES)
    kmax = max(sp["sampler_steps"])
    with h5py.File(path, "w") as f:
        f.attrs["gdsweep_format"] = np.int32(2)
        f.attrs["process"] = b"vp_sde"
        f.attrs["name"] = b"synthetic-vp"
        f.attrs["config"] = b"name: synthetic-vp\n"
        f.attrs["complete"] = np.int32(1)
        _common_groups(f, sp, "k", kmax + 1)
        sch = f.create_group("schedule")
        sch.attrs["process"] = b"vp_sde"
        sch.attrs["beta_min"], sch.attrs["beta_max"] = 0.1, 20.0
        _dataset(f, "grid/w2_computed", np.ones(kmax + 1, dtype=np.uint8), ("k",), "computed")
        time = np.stack([np.stack([vp_time(K, e, kmax) for e in sp["eps"]]) for K in sp["sampler_steps"]])
        _dataset(f, "results/time", time, ("sampler_steps", "eps", "k"), "u_k", "1")
        final = np.empty(shape)
        for idx in np.ndindex(shape):
            final[idx] = vp_w2final(idx)
        k = np.arange(kmax + 1)
        w2 = np.empty(shape + (kmax + 1,))
        for st, K in enumerate(sp["sampler_steps"]):
            with np.errstate(invalid="ignore"):  # inf · 0 past K, set to NaN below
                c = final[:, :, :, :, :, st, ..., None] * (2 - k / K)
            c[..., k > K] = np.nan
            w2[:, :, :, :, :, st] = c
        units = "pixel intensity"
        for name, c in (("w2", w2), ("w2_mean", w2 * 0.8), ("w2_cov", w2 * 0.6)):
            _dataset(f, "results/" + name, c, FMT2_AXES + ("k",), name, units)
        for name, c in (("w2_final", final), ("w2_final_mean", final * 0.8), ("w2_final_cov", final * 0.6)):
            _dataset(f, "results/" + name, c, FMT2_AXES, name, units)
        _dataset(f, "results/done", np.ones(shape, dtype=np.uint8), FMT2_AXES, "done")
        H, W = sp["H"], sp["W"]
        _dataset(f, "results/sampler_mean", np.zeros(shape + (H, W)), FMT2_AXES + ("row", "col"), "m_0", units)
        _dataset(f, "results/sampler_variance", np.ones(shape + (H, W)), FMT2_AXES + ("row", "col"), "K_0", units)
    return path


@pytest.fixture(scope="session")
def fmt2_h5(tmp_path_factory):
    return make_format2(tmp_path_factory.mktemp("fmt2") / "fmt2.h5")


@pytest.fixture(scope="session")
def vp_h5(tmp_path_factory):
    return make_vp_sde(tmp_path_factory.mktemp("vp") / "vp.h5")
