"""The loader: coordinates equal the sweep's axes, variables equal the raw datasets."""

import subprocess
import sys

import h5py
import numpy as np
import pytest

from conftest import ANALYSIS, EDGE, MAIN, grid9
from gdsweep_analysis import load, measurement, read_trajectory

GRID = ("operator", "sigma", "alpha_dps", "algorithm", "scheme", "sampler_steps", "eps", "init", "seed")


def _dec(a):
    return [x.decode() if isinstance(x, bytes) else str(x) for x in a]


def test_coordinates_equal_yaml_and_grid(main_h5, main_ds):
    ds = main_ds
    # the YAML values written by the test
    assert list(ds.sigma.values) == MAIN["sigma"]
    assert list(ds.alpha_dps.values) == MAIN["alpha_dps"]
    assert list(ds.algorithm.values) == MAIN["algorithm"]
    assert list(ds.seed.values) == MAIN["seed"]
    assert list(ds.t.values) == list(range(MAIN["T"] + 1))
    assert list(ds.checkpoint.values) == MAIN["checkpoints"]
    assert list(ds.sample.values) == list(range(MAIN["samples"]))
    assert ds.sizes["row"] == MAIN["H"] and ds.sizes["col"] == MAIN["W"]
    assert [o.split("(")[0] for o in ds.operator.values] == ["gaussian_blur", "motion_blur"]
    assert ds.operator.dtype.kind == "U" and ds.algorithm.dtype.kind == "U"
    # the default sampler axes (SPEC §7: one value each when the sweep does not list them)
    assert list(ds.scheme.values) == ["ddpm"] and list(ds.sampler_steps.values) == [MAIN["T"]]
    assert list(ds.eps.values) == [0.0] and list(ds.init.values) == ["normal"]
    # the raw /grid datasets (strings decoded from bytes)
    with h5py.File(main_h5, "r") as f:
        assert list(ds.operator.values) == _dec(f["grid/operator"][()])
        assert list(ds.algorithm.values) == _dec(f["grid/algorithm"][()])
        for k in ("sigma", "alpha_dps", "seed", "t", "checkpoint", "sample", "row", "col"):
            np.testing.assert_array_equal(ds[k].values, f["grid/" + k][()], err_msg=k)
        assert ds.attrs["config"] == f.attrs["config"].decode()
        assert ds.attrs["name"] == MAIN["name"]
        assert ds.attrs["version"] == f.attrs["version"].decode()


def test_variables_equal_raw_datasets(main_h5):
    ds = load(main_h5, trajectories=True)
    with h5py.File(main_h5, "r") as f:
        assert f["results/done"][()].all()
        dims = {
            "w2": GRID + ("t",), "w2_mean": GRID + ("t",), "w2_cov": GRID + ("t",), "done": GRID,
            "sampler_mean": GRID + ("row", "col"), "sampler_variance": GRID + ("row", "col"),
            "trajectories": GRID + ("sample", "checkpoint", "row", "col"),
            "x0": ("seed", "row", "col"), "posterior_mean": ("operator", "sigma", "seed", "row", "col"),
            "posterior_variance": ("operator", "sigma", "row", "col"),
        }
        path = {"x0": "problem/x0", "posterior_mean": "problem/posterior_mean",
                "posterior_variance": "problem/posterior_variance"}
        for name, d in dims.items():
            assert ds[name].dims == d, name
            raw = grid9(f, path.get(name, "results/" + name))
            np.testing.assert_array_equal(ds[name].values, raw.astype(bool) if name == "done" else raw,
                                          err_msg=name)
        np.testing.assert_array_equal(ds.alpha_bar.values, f["schedule/alpha_bar"][()])
        np.testing.assert_array_equal(ds.prior_spectrum.values, f["prior/spectrum"][()])
        np.testing.assert_array_equal(ds.w2_computed.values, f["grid/w2_computed"][()].astype(bool))
        for i in range(ds.sizes["operator"]):
            np.testing.assert_array_equal(ds.kernel.values[i], f[f"problem/op{i}/kernel"][()])
            v = f[f"problem/op{i}/v"][()]
            for s in range(ds.sizes["sigma"]):
                for k in range(ds.sizes["seed"]):
                    np.testing.assert_array_equal(measurement(ds, i, s, k), v[s, k])
        assert ds.w2.attrs["units"] == f["results/w2"].attrs["units"].decode()
        # w2_final: for the sampler of SPEC §1 the law of the output against the posterior is
        # the curve at t = 0 (§7.5): copied by the loader for format 1, computed by gdsweep in format 2
        for part in ("", "_mean", "_cov"):
            np.testing.assert_allclose(ds["w2_final" + part].values, grid9(f, "results/w2" + part)[..., 0],
                                       rtol=1e-10, atol=1e-12, err_msg="w2_final" + part)


def test_label_selection(main_h5, main_ds):
    sel = main_ds.w2.sel(algorithm="pigdm", sigma=0.1, scheme="ddpm", sampler_steps=MAIN["T"], eps=0,
                         init="normal")
    assert sel.dims == ("operator", "alpha_dps", "seed", "t")
    with h5py.File(main_h5, "r") as f:
        raw = grid9(f, "results/w2")[:, 1, :, 1, 0, 0, 0, 0, :, :]
    np.testing.assert_array_equal(sel.values, raw)
    one = main_ds.w2.sel(operator=main_ds.operator.values[1], alpha_dps=0.05, algorithm="dps", seed=7, t=0)
    assert one.squeeze().shape == (2,)


def test_trajectories_optional_and_lazy(main_h5):
    assert "trajectories" not in load(main_h5)
    lazy = load(main_h5, trajectories="lazy")
    everything_lazy = load(main_h5, trajectories=True, lazy=True)
    with h5py.File(main_h5, "r") as f:
        raw = grid9(f, "results/trajectories")[1, 0, 2, 0, 0, 0, 0, 0, 1]
        np.testing.assert_array_equal(
            lazy.trajectories.sel(operator=lazy.operator.values[1], sigma=0.02, alpha_dps=0.2,
                                  algorithm="dps", seed=7).squeeze().values, raw)
        np.testing.assert_array_equal(everything_lazy.trajectories[1, 0, 2, 0, 0, 0, 0, 0, 1].values, raw)
        # slices that keep the length-1 sampler axes (lazy reads put them back)
        np.testing.assert_array_equal(everything_lazy.trajectories[1, 0, 2, 0, :, :, :, :, 1].values,
                                      raw[None, None, None, None])
        np.testing.assert_array_equal(everything_lazy.sampler_mean[0, 1].values, grid9(f, "results/sampler_mean")[0, 1])
        np.testing.assert_array_equal(read_trajectory(load(main_h5), (1, 0, 2, 0, 0, 0, 0, 0, 1), 1).values, raw[1])


def test_not_done_points_are_nan(partial_h5):
    ds = load(partial_h5, trajectories=True)
    with h5py.File(partial_h5, "r") as f:
        done = grid9(f, "results/done").astype(bool)
    assert (~done).any() and done.any()
    np.testing.assert_array_equal(ds.done.values, done)
    for name in ("w2", "sampler_variance", "trajectories"):
        v = ds[name].values
        assert np.isnan(v[~done]).all(), name
    assert np.isfinite(ds.w2.values[done][:, 0]).all()
    raw = load(partial_h5, trajectories=True, mask_not_done=False)
    assert np.isfinite(raw.trajectories.values[~done]).any()  # unmasked: whatever the file holds


def test_edge_shape(edge_h5):
    ds = load(edge_h5)
    assert ds.sizes["sample"] == 0 and list(ds.algorithm.values) == EDGE["algorithm"]
    assert list(ds.t.values[ds.w2_computed.values]) == EDGE["w2_times"]
    w = ds.w2.values[..., ~ds.w2_computed.values]
    assert np.isnan(w).all()
    assert np.isfinite(ds.w2.values[..., ds.w2_computed.values]).all()


def test_missing_xarray_message():
    code = ("import sys; sys.modules['xarray'] = None; sys.path.insert(0, %r)\n"
            "try:\n    import gdsweep_analysis\nexcept ImportError as e:\n    print(e)\n" % str(ANALYSIS))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "apt-get install python3-xarray" in out
