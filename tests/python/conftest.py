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


@pytest.fixture(scope="session")
def partial_h5(main_h5, tmp_path_factory):
    """A copy of the main sweep in which some points are 'not done' (as if the run had been
    killed): done = 0 and every float result NaN there."""
    import h5py
    dst = tmp_path_factory.mktemp("partial") / "partial.h5"
    shutil.copy(main_h5, dst)
    with h5py.File(dst, "r+") as f:
        done = f["results/done"][()]
        rng = np.random.default_rng(1)
        off = rng.random(done.shape) < 0.3
        off[0, 0, :, 1, :] = True   # pigdm never done for (op 0, sigma 0)
        off[1, 1, 2, 0, 0] = True   # one dps point
        off[0, 1, :, :, 0] = True   # the first seed of a whole (op, sigma) panel: trajectories
        done[off] = 0
        f["results/done"][...] = done
        for name in ("results/w2", "results/w2_mean", "results/w2_cov", "results/sampler_mean",
                     "results/sampler_variance", "provenance/wall_time"):
            d = f[name][()]
            d[off] = np.nan
            f[name][...] = d
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
