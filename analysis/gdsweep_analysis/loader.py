"""Read a gdsweep output file (SPEC §5, format 1; SPEC §7.8, format 2) into a labelled
xarray.Dataset.

Only what the file contains is used: the /grid dimension scales give the coordinates, the
HDF5 attributes `description` / `units` become variable attributes, the root attributes
become ``Dataset.attrs``.

Both formats load with the nine grid axes of format 2 (operator, sigma, alpha_dps, algorithm,
scheme, sampler_steps, eps, init, seed) and a time axis: a format-1 file (the DDPM sampler of
SPEC §1) gets length-1 axes scheme = ddpm, sampler_steps = T, eps = 0, init = normal, and its
``w2_final*`` are the curves at t = 0 (what format 2 stores for that sampler). The time axis
is ``t`` (0..T) for the discrete process and ``k`` (step index 0..max K, with the diffusion
time u_k in the variable ``time``) for the continuous VP SDE.

Points whose ``/results/done`` flag is 0 are not trustworthy (format 1 pre-fills float
results with NaN; format 2 does not pre-fill at all: ``done`` is the truth), so by default
every per-point result is set to NaN where done = 0 (``mask_not_done=True``).
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

#: The nine grid axes, in file order (SPEC §7.8); format-1 files have the first four and seed.
GRID_DIMS = ("operator", "sigma", "alpha_dps", "algorithm", "scheme", "sampler_steps", "eps", "init", "seed")
GRID_DIMS_V1 = ("operator", "sigma", "alpha_dps", "algorithm", "seed")
#: Axes a format-1 file lacks, inserted after `algorithm` with their single value.
SAMPLER_DIMS = ("scheme", "sampler_steps", "eps", "init")
POINT_DIMS = GRID_DIMS

# dims of every dataset after the grid, by path ("T" = the time axis, t or k).
_RESULT_VARS = {
    "w2": ("results/w2", ("T",)),
    "w2_mean": ("results/w2_mean", ("T",)),
    "w2_cov": ("results/w2_cov", ("T",)),
    "w2_final": ("results/w2_final", ()),
    "w2_final_mean": ("results/w2_final_mean", ()),
    "w2_final_cov": ("results/w2_final_cov", ()),
    "wall_time": ("provenance/wall_time", ()),
    "sampler_mean": ("results/sampler_mean", ("row", "col")),
    "sampler_variance": ("results/sampler_variance", ("row", "col")),
}
_TRAJ = ("results/trajectories", ("sample", "checkpoint", "row", "col"))
_OTHER_VARS = {
    "x0": ("problem/x0", ("seed", "row", "col")),
    "posterior_mean": ("problem/posterior_mean", ("operator", "sigma", "seed", "row", "col")),
    "posterior_variance": ("problem/posterior_variance", ("operator", "sigma", "row", "col")),
    "prior_texture": ("prior/texture", ("row", "col")),
    "prior_spectrum": ("prior/spectrum", ("row", "col")),
    "beta": ("schedule/beta", ("T",)),
    "alpha_bar": ("schedule/alpha_bar", ("T",)),
    "sigma2_t": ("schedule/sigma2", ("T",)),
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


def _check_shape(f, path, dims, sizes, inserted=0):
    shape = f[path].shape
    want = tuple(sizes[d] for d in dims)
    if inserted:  # format 1: the file lacks the (length-1) sampler axes
        want = want[:4] + want[4 + inserted:]
    if shape != want:
        raise ValueError(
            f"{f.filename}: {path} has shape {shape}, expected {want} for dims {dims}: "
            "not a gdsweep file of a layout this analysis package knows (SPEC §5 / §7.8)"
        )


class _H5Array(BackendArray):
    """Lazily read hyperslab of one dataset; optionally NaN where /results/done = 0.
    `insert` > 0: the dataset lacks that many length-1 axes at position 4 (format-1 files read
    with the nine axes of format 2)."""

    def __init__(self, path, name, shape, dtype, done=None, insert=0):
        self.path, self.name, self.shape = path, name, tuple(shape)
        self.dtype = np.dtype(np.float32 if done is not None and dtype == np.float32 else dtype)
        self.done = done  # bool array over the leading grid dims, or None
        self.insert = insert
        self._lock = threading.Lock()

    def __getitem__(self, key):
        return indexing.explicit_indexing_adapter(
            key, self.shape, indexing.IndexingSupport.BASIC, self._raw_getitem
        )

    def _raw_getitem(self, key):
        key = tuple(key) + (slice(None),) * (len(self.shape) - len(key))
        fkey = key[:4] + key[4 + self.insert:] if self.insert else key
        with self._lock, _open(self.path) as f:
            data = np.asarray(f[self.name][fkey])
        if self.insert:  # put back the length-1 axes that are sliced (not integer-indexed)
            keep = [i for i in range(4) if not isinstance(key[i], (int, np.integer))]
            lead = len(keep)
            for k in key[4:4 + self.insert]:
                if not isinstance(k, (int, np.integer)):
                    data = np.expand_dims(data, lead)
                    lead += 1
        if self.done is not None:
            lead_key = key[: self.done.ndim]
            ok = np.asarray(self.done[lead_key])
            ok = ok.reshape(ok.shape + (1,) * (data.ndim - ok.ndim))
            data = np.where(ok, data, np.nan).astype(data.dtype, copy=False)
        return data


def _read(f, path, name, dims, lazy, done_mask, insert=0):
    dset = f[name]
    shape = dset.shape
    if insert:
        shape = shape[:4] + (1,) * insert + shape[4:]
    if lazy:
        arr = indexing.LazilyIndexedArray(_H5Array(path, name, shape, dset.dtype, done_mask, insert))
        var = xr.Variable(dims, arr, attrs=_var_attrs(dset))
    else:
        data = dset[()].reshape(shape)
        if done_mask is not None:
            ok = done_mask.reshape(done_mask.shape + (1,) * (data.ndim - done_mask.ndim))
            data = np.where(ok, data, np.nan).astype(data.dtype, copy=False)
        var = xr.Variable(dims, data, attrs=_var_attrs(dset))
    return var


def _format(f):
    fmt_ = f.attrs.get("gdsweep_format", 1)
    fmt_ = int(np.asarray(fmt_).ravel()[0]) if not isinstance(fmt_, (bytes, str)) else int(fmt_)
    return fmt_


def load(path, trajectories=False, lazy=False, mask_not_done=True):
    """Load a gdsweep output file (format 1 or 2) as an ``xarray.Dataset``.

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

    Dimensions: the nine grid axes (operator, sigma, alpha_dps, algorithm, scheme,
    sampler_steps, eps, init, seed; file order), the time axis ``t`` (0..T, discrete process)
    or ``k`` (step index, vp_sde; ``time`` holds u_k per sampler_steps and eps), sample,
    checkpoint, row, col, v_row/v_col (measurement, padded to the largest operator's shape;
    ``v_shape`` gives each operator's), xy (2). Coordinates are the /grid values (operator,
    algorithm, scheme and init as str). Root attributes are in ``ds.attrs``
    (``gdsweep_format`` says which format the file has; ``process`` is ddpm or vp_sde).
    """
    path = os.fspath(path)
    with _open(path) as f:
        for need in ("grid", "results", "problem", "prior"):
            if need not in f:
                raise ValueError(f"{path}: no /{need} group: not a gdsweep output file")
        fmt_ = _format(f)
        if fmt_ not in (1, 2):
            import warnings
            warnings.warn(f"{path}: gdsweep_format {fmt_} is newer than this analysis package (formats 1 "
                          "and 2); reading it as format 2")
        v1 = fmt_ == 1
        process = _text(f.attrs.get("process", b"ddpm")) if not v1 else "ddpm"
        tdim = "k" if process == "vp_sde" else "t"
        if tdim not in f["grid"]:
            raise ValueError(f"{path}: no /grid/{tdim}: not a gdsweep output file of process {process}")
        coords = {
            "operator": _strings(f["grid/operator"]),
            "sigma": f["grid/sigma"][()].astype(np.float64),
            "alpha_dps": f["grid/alpha_dps"][()].astype(np.float64),
            "algorithm": _strings(f["grid/algorithm"]),
            "seed": f["grid/seed"][()].astype(np.int64),
            tdim: f["grid/" + tdim][()].astype(np.int64),
            "sample": f["grid/sample"][()].astype(np.int64),
            "checkpoint": f["grid/checkpoint"][()].astype(np.int64),
            "row": f["grid/row"][()].astype(np.int64),
            "col": f["grid/col"][()].astype(np.int64),
        }
        if v1:  # the DDPM sampler of SPEC §1: one value on each sampler axis
            coords.update(scheme=np.array(["ddpm"]), sampler_steps=np.array([int(coords["t"][-1])], dtype=np.int64),
                          eps=np.array([0.0]), init=np.array(["normal"]))
        else:
            coords.update(scheme=_strings(f["grid/scheme"]),
                          sampler_steps=f["grid/sampler_steps"][()].astype(np.int64),
                          eps=f["grid/eps"][()].astype(np.float64), init=_strings(f["grid/init"]))
        sizes = {k: len(v) for k, v in coords.items()}
        coord_vars = {k: xr.Variable((k,), v, attrs=_var_attrs(f["grid/" + k]) if "grid/" + k in f else {})
                      for k, v in coords.items()}
        if v1:
            for k in SAMPLER_DIMS:
                coord_vars[k].attrs["note"] = "format-1 file: the DDPM sampler of SPEC §1"
        ins = len(SAMPLER_DIMS) if v1 else 0

        def dims_of(rest):
            return tuple(tdim if d == "T" else d for d in rest)

        done = f["results/done"][()].astype(bool)
        _check_shape(f, "results/done", GRID_DIMS, sizes, ins)
        done = done.reshape(tuple(sizes[d] for d in GRID_DIMS))
        mask = done if mask_not_done else None

        data_vars = {
            "done": xr.Variable(GRID_DIMS, done, attrs=_var_attrs(f["results/done"])),
        }
        for name, (h5name, rest) in _RESULT_VARS.items():
            if h5name not in f:
                continue
            dims = GRID_DIMS + dims_of(rest)
            _check_shape(f, h5name, dims, sizes, ins)
            is_image = "row" in dims
            data_vars[name] = _read(f, path, h5name, dims, lazy and is_image, mask, ins)
        if trajectories and _TRAJ[0] in f:
            dims = GRID_DIMS + _TRAJ[1]
            _check_shape(f, _TRAJ[0], dims, sizes, ins)
            data_vars["trajectories"] = _read(f, path, _TRAJ[0], dims, lazy or trajectories == "lazy", mask, ins)
        for name, (h5name, rest) in _OTHER_VARS.items():
            if h5name not in f:
                continue
            dims = dims_of(rest)
            _check_shape(f, h5name, dims, sizes)
            data_vars[name] = _read(f, path, h5name, dims, lazy and "row" in dims and len(dims) > 3, None)
        if "results/time" in f:  # vp_sde: u_k per sampler_steps and eps
            dims = ("sampler_steps", "eps", tdim)
            _check_shape(f, "results/time", dims, sizes)
            data_vars["time"] = _read(f, path, "results/time", dims, False, None)

        if "grid/w2_computed" in f:
            computed = f["grid/w2_computed"][()].astype(bool)
            c_attrs = _var_attrs(f["grid/w2_computed"])
        else:  # older files: infer from the data
            w = data_vars["w2"].values
            computed = np.isfinite(w).any(axis=tuple(range(w.ndim - 1))) | np.isinf(w).any(
                axis=tuple(range(w.ndim - 1)))
            c_attrs = {}
        data_vars["w2_computed"] = xr.Variable((tdim,), computed, attrs=c_attrs)

        if v1 and "w2" in data_vars:
            # SPEC §7.5 for the §1 sampler: the law at t = 0 against the target itself = the curves at t = 0
            for part in ("", "_mean", "_cov"):
                src = data_vars["w2" + part]
                vals = np.asarray(src.values[..., 0]) if computed[0] else np.full(done.shape, np.nan)
                data_vars["w2_final" + part] = xr.Variable(
                    GRID_DIMS, vals, attrs={"description": f"w2{part} at t = 0 (format-1 file)",
                                            "units": src.attrs.get("units", "pixel intensity")})

        # Per-operator problem data: measurement v (padded), kernel, mask, names.
        nop, H, W = sizes["operator"], sizes["row"], sizes["col"]
        vshapes, vs, kernels, masks = [], [], [], []
        op_type, op_params, op_name, op_backend = [], [], [], []
        for i in range(nop):
            g = f.get(f"problem/op{i}")
            if g is None:
                raise ValueError(f"{path}: /problem/op{i} missing")
            op_name.append(_text(g.attrs.get("name", coords["operator"][i])))
            op_type.append(_text(g.attrs.get("type", op_name[-1].split("(")[0])))
            op_params.append(_text(g.attrs.get("parameters", "")))
            op_backend.append(_text(g.attrs.get("law_backend", "")))
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
        coord_vars["operator_backend"] = xr.Variable(("operator",), np.array(op_backend, dtype=str))

        attrs = {k: _text(v) for k, v in f.attrs.items()}
        attrs["gdsweep_format"] = fmt_
        attrs["process"] = process
        for grp in ("schedule", "prior"):
            if grp in f:
                for k, v in f[grp].attrs.items():
                    if k != "description":
                        attrs[grp + "_" + k] = _text(v)
        attrs["source_file"] = os.path.abspath(path)

    ds = xr.Dataset(data_vars=data_vars, coords=coord_vars, attrs=attrs)
    return ds


def read_trajectory(ds, index, sample=0):
    """Sampled trajectory y_t at the checkpoints of one grid point, as a DataArray
    [checkpoint, row, col]. `index` = integer indices on the grid axes of ``ds``: the nine
    axes, or the five (operator, sigma, alpha_dps, algorithm, seed) of a view made by
    :func:`gdsweep_analysis.common.sampler_view` (its fixed sampler indices are filled in).
    Only that hyperslab is read from the file (whether or not ``ds`` holds the trajectories);
    NaN if the point is not done."""
    index = tuple(int(i) for i in index)
    if "trajectories" in ds:
        da = ds.trajectories[index + (int(sample),)]
        return da.load()
    full = index
    view = ds.attrs.get("sampler_view")
    if len(index) == len(GRID_DIMS_V1) and view is not None:
        full = index[:4] + tuple(int(view[d]) for d in SAMPLER_DIMS) + index[4:]
    with _open(ds.attrs["source_file"]) as f:
        v1 = _format(f) == 1
        fidx = full[:4] + full[8:] if v1 else full
        done = bool(f["results/done"][fidx])
        data = f["results/trajectories"][fidx + (int(sample),)]
    if not done:
        data = np.full(data.shape, np.nan, dtype=data.dtype)
    return xr.DataArray(data, dims=("checkpoint", "row", "col"),
                        coords={"checkpoint": ds.checkpoint.values, "row": ds.row.values,
                                "col": ds.col.values})


def measurement(ds, op, sigma, seed):
    """Measurement v of operator index `op` (int), sigma index, seed index in its own shape."""
    mh, mw = (int(x) for x in ds.v_shape.values[op])
    return ds.v.values[op, sigma, seed, :mh, :mw]
