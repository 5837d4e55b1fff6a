"""Read a gdsweep output file (SPEC §5) into a labelled xarray.Dataset.

Only what the file contains is used: the /grid dimension scales give the coordinates, the
HDF5 attributes `description` / `units` become variable attributes, the root attributes
become ``Dataset.attrs``.

Points whose ``/results/done`` flag is 0 are not trustworthy (the file pre-fills float results
with NaN and leaves trajectories uninitialised), so by default every per-point result is set to
NaN where done = 0 (``mask_not_done=True``).
"""

from __future__ import annotations

import os
import threading

import numpy as np

try:
    import h5py
except ImportError as exc:  # pragma: no cover - depends on the system
    raise ImportError("gdsweep_analysis needs h5py: apt-get install python3-h5py") from exc

try:
    import xarray as xr
    from xarray.backends import BackendArray
    from xarray.core import indexing
except ImportError as exc:  # pragma: no cover - depends on the system
    raise ImportError(
        "gdsweep_analysis needs xarray, which is not installed: apt-get install python3-xarray"
    ) from exc

#: The five grid axes, in file order (SPEC §5).
GRID_DIMS = ("operator", "sigma", "alpha_dps", "algorithm", "seed")
POINT_DIMS = GRID_DIMS

# dims of every dataset, by path; "v_row"/"v_col" are per-operator measurement axes.
_RESULT_VARS = {
    "w2": ("results/w2", GRID_DIMS + ("t",)),
    "w2_mean": ("results/w2_mean", GRID_DIMS + ("t",)),
    "w2_cov": ("results/w2_cov", GRID_DIMS + ("t",)),
    "wall_time": ("provenance/wall_time", GRID_DIMS),
    "sampler_mean": ("results/sampler_mean", GRID_DIMS + ("row", "col")),
    "sampler_variance": ("results/sampler_variance", GRID_DIMS + ("row", "col")),
}
_TRAJ = ("results/trajectories", GRID_DIMS + ("sample", "checkpoint", "row", "col"))
_OTHER_VARS = {
    "x0": ("problem/x0", ("seed", "row", "col")),
    "posterior_mean": ("problem/posterior_mean", ("operator", "sigma", "seed", "row", "col")),
    "posterior_variance": ("problem/posterior_variance", ("operator", "sigma", "row", "col")),
    "prior_texture": ("prior/texture", ("row", "col")),
    "prior_spectrum": ("prior/spectrum", ("row", "col")),
    "beta": ("schedule/beta", ("t",)),
    "alpha_bar": ("schedule/alpha_bar", ("t",)),
    "sigma2_t": ("schedule/sigma2", ("t",)),
}


def _open(path):
    """Open read-only without HDF5 file locking when possible, so that a file a running
    gdsweep job is writing can be analysed (as `gdsweep status` does)."""
    try:
        return h5py.File(path, "r", locking=False)
    except (TypeError, ValueError):  # h5py/HDF5 without the locking option
        return h5py.File(path, "r")
    except OSError as exc:
        # already open in this process with the default locking: HDF5 refuses a second
        # open with another locking flag
        if "locking" not in str(exc):
            raise
        return h5py.File(path, "r")


def _text(value):
    """Attribute / string value as str (h5py gives bytes for variable-length strings)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "OSU":
        return [_text(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _strings(dset):
    return np.array([_text(v) for v in dset[()]], dtype=str)


def _var_attrs(dset):
    attrs = {}
    for key in ("description", "units"):
        if key in dset.attrs:
            attrs[key] = _text(dset.attrs[key])
    return attrs


def _check_shape(f, path, dims, sizes):
    shape = f[path].shape
    want = tuple(sizes[d] for d in dims)
    if shape != want:
        raise ValueError(
            f"{f.filename}: {path} has shape {shape}, expected {want} for dims {dims}: "
            "not a gdsweep file of the layout this analysis package knows (SPEC §5)"
        )


class _H5Array(BackendArray):
    """Lazily read hyperslab of one dataset; optionally NaN where /results/done = 0."""

    def __init__(self, path, name, shape, dtype, done=None):
        self.path, self.name, self.shape = path, name, tuple(shape)
        self.dtype = np.dtype(np.float32 if done is not None and dtype == np.float32 else dtype)
        self.done = done  # bool array over the leading grid dims, or None
        self._lock = threading.Lock()

    def __getitem__(self, key):
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._raw_getitem
        )

    def _raw_getitem(self, key):
        with self._lock, _open(self.path) as f:
            data = np.asarray(f[self.name][key])
        if self.done is not None:
            lead = key[: self.done.ndim]
            ok = np.asarray(self.done[lead])
            ok = ok.reshape(ok.shape + (1,) * (data.ndim - ok.ndim))
            data = np.where(ok, data, np.nan).astype(data.dtype, copy=False)
        return data


def _read(f, path, name, dims, lazy, done_mask):
    dset = f[name]
    if lazy:
        arr = indexing.LazilyIndexedArray(_H5Array(path, name, dset.shape, dset.dtype, done_mask))
        var = xr.Variable(dims, arr, attrs=_var_attrs(dset))
    else:
        data = dset[()]
        if done_mask is not None:
            ok = done_mask.reshape(done_mask.shape + (1,) * (data.ndim - done_mask.ndim))
            data = np.where(ok, data, np.nan).astype(data.dtype, copy=False)
        var = xr.Variable(dims, data, attrs=_var_attrs(dset))
    return var


def load(path, trajectories=False, lazy=False, mask_not_done=True):
    """Load a gdsweep output file as an ``xarray.Dataset``.

    Parameters
    ----------
    path : str
        The sweep's HDF5 file (``gdsweep run ... -o path``); it may be incomplete.
    trajectories : bool or "lazy"
        Include ``/results/trajectories`` (it can be large): False (default) leaves it out,
        True reads it, "lazy" reads only the parts that are indexed (``.isel(...).values``).
    lazy : bool
        Read every per-point image variable lazily (for very large sweeps).
    mask_not_done : bool
        Set per-point results to NaN where ``done`` is 0 (default): the file guarantees them
        only where done = 1.

    Dimensions: operator, sigma, alpha_dps, algorithm, seed (the grid, file order), t (0..T),
    sample, checkpoint, row, col, v_row/v_col (measurement, padded to the largest operator's
    shape; ``v_shape`` gives each operator's), xy (2). Coordinates are the /grid values
    (operator and algorithm as str). Root attributes are in ``ds.attrs``.
    """
    path = os.fspath(path)
    with _open(path) as f:
        for need in ("grid", "results", "problem", "schedule", "prior"):
            if need not in f:
                raise ValueError(f"{path}: no /{need} group: not a gdsweep output file")
        coords = {
            "operator": _strings(f["grid/operator"]),
            "sigma": f["grid/sigma"][()].astype(np.float64),
            "alpha_dps": f["grid/alpha_dps"][()].astype(np.float64),
            "algorithm": _strings(f["grid/algorithm"]),
            "seed": f["grid/seed"][()].astype(np.int64),
            "t": f["grid/t"][()].astype(np.int64),
            "sample": f["grid/sample"][()].astype(np.int64),
            "checkpoint": f["grid/checkpoint"][()].astype(np.int64),
            "row": f["grid/row"][()].astype(np.int64),
            "col": f["grid/col"][()].astype(np.int64),
        }
        sizes = {k: len(v) for k, v in coords.items()}
        coord_vars = {k: xr.Variable((k,), v, attrs=_var_attrs(f["grid/" + k])) for k, v in coords.items()}

        done = f["results/done"][()].astype(bool)
        _check_shape(f, "results/done", GRID_DIMS, sizes)
        mask = done if mask_not_done else None

        data_vars = {
            "done": xr.Variable(GRID_DIMS, done, attrs=_var_attrs(f["results/done"])),
        }
        for name, (h5name, dims) in _RESULT_VARS.items():
            if h5name not in f:
                continue
            _check_shape(f, h5name, dims, sizes)
            is_image = "row" in dims
            data_vars[name] = _read(f, path, h5name, dims, lazy and is_image, mask)
        if trajectories and _TRAJ[0] in f:
            _check_shape(f, _TRAJ[0], _TRAJ[1], sizes)
            data_vars["trajectories"] = _read(
                f, path, _TRAJ[0], _TRAJ[1], lazy or trajectories == "lazy", mask)
        for name, (h5name, dims) in _OTHER_VARS.items():
            if h5name not in f:
                continue
            _check_shape(f, h5name, dims, sizes)
            data_vars[name] = _read(f, path, h5name, dims, lazy and "row" in dims and len(dims) > 3, None)

        if "grid/w2_computed" in f:
            computed = f["grid/w2_computed"][()].astype(bool)
        else:  # older files: infer from the data
            computed = np.isfinite(data_vars["w2"].values).any(axis=tuple(range(5)))
        data_vars["w2_computed"] = xr.Variable(("t",), computed, attrs=_var_attrs(f["grid/w2_computed"])
                                               if "grid/w2_computed" in f else {})

        # Per-operator problem data: measurement v (padded), kernel, mask, names.
        nop, H, W = sizes["operator"], sizes["row"], sizes["col"]
        vshapes, vs, kernels, masks = [], [], [], []
        op_type, op_params, op_name = [], [], []
        for i in range(nop):
            g = f.get(f"problem/op{i}")
            if g is None:
                raise ValueError(f"{path}: /problem/op{i} missing")
            op_name.append(_text(g.attrs.get("name", coords["operator"][i])))
            op_type.append(_text(g.attrs.get("type", op_name[-1].split("(")[0])))
            op_params.append(_text(g.attrs.get("parameters", "")))
            v = g["v"][()]  # [sigma, seed, mh, mw]
            vs.append(v)
            vshapes.append(v.shape[2:])
            kernels.append(g["kernel"][()] if "kernel" in g else np.full((H, W), np.nan))
            masks.append(g["mask"][()].astype(np.float64) if "mask" in g else np.full((H, W), np.nan))
        mh = max([s[0] for s in vshapes], default=0)
        mw = max([s[1] for s in vshapes], default=0)
        vpad = np.full((nop, sizes["sigma"], sizes["seed"], mh, mw), np.nan)
        for i, v in enumerate(vs):
            vpad[i, :, :, : v.shape[2], : v.shape[3]] = v
        v_attrs = _var_attrs(f["problem/op0/v"]) if nop else {}
        v_attrs["note"] = "padded with NaN to the largest measurement shape; see v_shape"
        data_vars["v"] = xr.Variable(("operator", "sigma", "seed", "v_row", "v_col"), vpad, attrs=v_attrs)
        data_vars["v_shape"] = xr.Variable(("operator", "xy"), np.array(vshapes, dtype=np.int64).reshape(nop, 2),
                                           attrs={"description": "measurement shape (rows, cols) of each operator"})
        data_vars["kernel"] = xr.Variable(("operator", "row", "col"), np.array(kernels).reshape(nop, H, W),
                                          attrs={"description": "periodic convolution kernel of A (origin at [0,0]); NaN if A is not a convolution"})
        data_vars["mask"] = xr.Variable(("operator", "row", "col"), np.array(masks).reshape(nop, H, W),
                                        attrs={"description": "inpainting mask (1 = observed); NaN if A is not an inpainting"})
        coord_vars["operator_type"] = xr.Variable(("operator",), np.array(op_type, dtype=str))
        coord_vars["operator_parameters"] = xr.Variable(("operator",), np.array(op_params, dtype=str))

        attrs = {k: _text(v) for k, v in f.attrs.items()}
        for k, v in f["schedule"].attrs.items():
            if k != "description":
                attrs["schedule_" + k] = _text(v)
        for k, v in f["prior"].attrs.items():
            if k != "description":
                attrs["prior_" + k] = _text(v)
        attrs["source_file"] = os.path.abspath(path)
        if attrs.get("gdsweep_format", 1) != 1:
            import warnings
            warnings.warn(f"{path}: gdsweep_format {attrs.get('gdsweep_format')} is newer than "
                          "this analysis package (format 1); reading it anyway")

    ds = xr.Dataset(data_vars=data_vars, coords=coord_vars, attrs=attrs)
    return ds


def read_trajectory(ds, index, sample=0):
    """Sampled trajectory y_t at the checkpoints of one grid point, as a DataArray
    [checkpoint, row, col]. `index` = integer indices (operator, sigma, alpha_dps, algorithm,
    seed). Only that hyperslab is read from the file (whether or not ``ds`` holds the
    trajectories); NaN if the point is not done."""
    index = tuple(int(i) for i in index)
    if "trajectories" in ds:
        da = ds.trajectories[index + (int(sample),)]
        return da.load()
    with _open(ds.attrs["source_file"]) as f:
        done = bool(f["results/done"][index])
        data = f["results/trajectories"][index + (int(sample),)]
    if not done:
        data = np.full(data.shape, np.nan, dtype=data.dtype)
    return xr.DataArray(data, dims=("checkpoint", "row", "col"),
                        coords={"checkpoint": ds.checkpoint.values, "row": ds.row.values,
                                "col": ds.col.values})


def measurement(ds, op, sigma, seed):
    """Measurement v of operator index `op` (int), sigma index, seed index in its own shape."""
    mh, mw = (int(x) for x in ds.v_shape.values[op])
    return ds.v.values[op, sigma, seed, :mh, :mw]
