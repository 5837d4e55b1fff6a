"""Helpers shared by the figures: colours per algorithm, grid-point selection, summaries."""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass, field

import matplotlib
import numpy as np

#: Fixed colour per algorithm (same in every figure). dps is drawn in shades of its colour,
#: one per alpha_dps (light = small alpha, dark = large alpha).
ALG_COLORS = {"none": "#6e6e6e", "dps": "#d62728", "pigdm": "#1f77b4", "cgdm": "#2ca02c"}
_FALLBACK = ["#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#ff7f0e"]

#: W2 values above DIVERGED_RMS * sqrt(d) (a per-pixel RMS error of 100 intensity units,
#: with intensities in [0, 1]) or infinite are treated as "the sampler diverged": they are
#: drawn as triangles on the top edge of the panel instead of stretching the log axis.
DIVERGED_RMS = 100.0

STYLE = {
    "font.size": 10,
    "axes.titlesize": 10.5,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.6,
    "savefig.bbox": "tight",
    "image.interpolation": "nearest",
}


@contextlib.contextmanager
def style():
    with matplotlib.rc_context(STYLE), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # nanmean of all-NaN, log of 0
        yield


@dataclass
class Variant:
    """One curve family: an algorithm, and for dps one alpha_dps value."""
    alg: int                 # index on the algorithm axis
    alpha: int | None        # index on the alpha_dps axis (None: the algorithm ignores alpha)
    name: str                # algorithm name
    label: str               # legend label
    color: str
    key: str                 # stable id used in artist gids, e.g. "dps@0.3", "pigdm"


def alg_color(name, i=0):
    return ALG_COLORS.get(name, _FALLBACK[i % len(_FALLBACK)])


def fmt(x):
    """Short number for labels: 0.05, 1, 3e-05."""
    return f"{float(x):.4g}"


def variants(ds, algorithms=None, include_none=True):
    """Curve families of the sweep: one per algorithm, dps split by alpha_dps."""
    import matplotlib.colors as mcolors
    out = []
    alphas = ds.alpha_dps.values
    for ia, name in enumerate(ds.algorithm.values):
        name = str(name)
        if algorithms is not None and name not in algorithms:
            continue
        if name == "none" and not include_none:
            continue
        if name == "dps":
            n = len(alphas)
            base = np.array(mcolors.to_rgb(alg_color("dps")))
            for k, a in enumerate(alphas):
                # shades from light (small alpha) to dark (large alpha)
                f = 0.0 if n == 1 else k / (n - 1)
                light, dark = 0.55, -0.45  # mix with white / black
                w = light + (dark - light) * f
                rgb = base + (1 - base) * w if w > 0 else base * (1 + w)
                out.append(Variant(ia, k, name, f"dps α={fmt(a)}", mcolors.to_hex(np.clip(rgb, 0, 1)),
                                   f"dps@{fmt(a)}"))
        else:
            label = "none (vs prior path)" if name == "none" else name
            out.append(Variant(ia, None, name, label, alg_color(name, ia), name))
    return out


def point_values(arr, done, op, sig, v):
    """Values of one (operator, sigma, variant) over the seeds: arr [op, σ, α, alg, seed, ...]
    → [seed, ...]. For algorithms that ignore alpha_dps the file repeats the results on the
    alpha axis: the first alpha where the point is done is used (values are copied, not
    averaged, so they equal the file's)."""
    if v.alpha is not None:
        out = np.array(arr[op, sig, v.alpha, v.alg], dtype=np.float64, copy=True)
        out[~np.asarray(done[op, sig, v.alpha, v.alg], dtype=bool)] = np.nan
        return out
    sub = np.asarray(arr[op, sig, :, v.alg])  # [alpha, seed, ...]
    dn = np.asarray(done[op, sig, :, v.alg])  # [alpha, seed]
    out = np.array(sub[0], dtype=np.float64, copy=True)
    for s in range(sub.shape[1]):
        hits = np.nonzero(dn[:, s])[0]
        out[s] = sub[hits[0], s] if len(hits) else np.nan
    return out


def point_done(done, op, sig, v):
    """done flags over the seeds for one (operator, sigma, variant)."""
    d = np.asarray(done[op, sig, :, v.alg])
    return d[v.alpha] if v.alpha is not None else d.any(axis=0)


def seed_stats(values):
    """Mean, min, max over the first axis (seeds), ignoring NaN (points not done)."""
    return np.nanmean(values, axis=0), np.nanmin(values, axis=0), np.nanmax(values, axis=0)


def diverged_threshold(ds):
    return DIVERGED_RMS * math.sqrt(ds.sizes["row"] * ds.sizes["col"])


def t0_index(ds):
    """Index (= time) of the W2 value reported 'at t = 0': 0 if computed, else the smallest
    computed time."""
    comp = np.nonzero(ds.w2_computed.values)[0]
    return int(comp[0]) if len(comp) else 0


def summary(ds):
    """One-paragraph description of the sweep for captions."""
    a = ds.attrs
    n = {d: ds.sizes[d] for d in ("operator", "sigma", "alpha_dps", "algorithm", "seed")}
    npts = int(np.prod(list(n.values())))
    ndone = int(ds.done.values.sum())
    comp = ds.w2_computed.values
    T = int(ds.t.values[-1])
    w2t = "every t" if comp.all() else f"t ∈ {{{', '.join(str(int(t)) for t in ds.t.values[comp])}}}"
    ck = ", ".join(str(int(c)) for c in ds.checkpoint.values)
    return (f"Sweep '{a.get('name', '?')}': prior {a.get('prior_name', '?')} "
            f"{ds.sizes['row']}×{ds.sizes['col']}, T = {T} ({a.get('schedule_variance', '?')} variance, "
            f"β {fmt(a.get('schedule_beta_start', float('nan')))}…{fmt(a.get('schedule_beta_end', float('nan')))}); "
            f"operators: {', '.join(ds.operator.values)}; σ ∈ {{{', '.join(fmt(s) for s in ds.sigma.values)}}}; "
            f"α_dps ∈ {{{', '.join(fmt(s) for s in ds.alpha_dps.values)}}}; "
            f"algorithms: {', '.join(ds.algorithm.values)}; seeds: {', '.join(str(int(s)) for s in ds.seed.values)} "
            f"({npts} points, {ndone} done); {ds.sizes['sample']} sample(s) per point at t ∈ {{{ck}}}; "
            f"W2 computed at {w2t}.")


def finite_positive(*arrays):
    vals = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    vals = np.concatenate(vals) if vals else np.array([])
    return vals[np.isfinite(vals) & (vals > 0)]
