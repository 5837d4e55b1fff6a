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
ALG_COLORS = {"none": "#6e6e6e", "dps": "#d62728", "pigdm": "#1f77b4", "cgdm": "#2ca02c", "ddrm": "#9467bd"}
_FALLBACK = ["#8c564b", "#e377c2", "#bcbd22", "#17becf", "#ff7f0e"]
#: Line styles of the schemes (NFE figure), in order of appearance.
SCHEME_STYLES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3))]
#: Markers of the initialisations.
INIT_MARKERS = {"normal": "o", "exact": "s"}

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


def alg_base(name):
    """Algorithm kind of a canonical name: 'ddrm(eta=0.85,eta_b=1)' → 'ddrm'."""
    return str(name).split("(")[0]


def alg_color(name, i=0):
    return ALG_COLORS.get(alg_base(name), _FALLBACK[i % len(_FALLBACK)])


def pretty_name(name):
    """'ddrm(eta=0.85,eta_b=1)' → 'ddrm η=0.85, η_b=1'; 'ddim(eta=0)' → 'ddim η=0'."""
    name = str(name)
    if "(" not in name:
        return name
    base, _, rest = name.partition("(")
    rest = rest.rstrip(")").replace("eta_b=", "η_b=").replace("eta=", "η=").replace(",", ", ")
    return f"{base} {rest}"


def _shade(base_hex, k, n):
    """k-th of n shades of a colour, light to dark."""
    import matplotlib.colors as mcolors
    base = np.array(mcolors.to_rgb(base_hex))
    f = 0.0 if n == 1 else k / (n - 1)
    light, dark = 0.55, -0.45  # mix with white / black
    w = light + (dark - light) * f
    rgb = base + (1 - base) * w if w > 0 else base * (1 + w)
    return mcolors.to_hex(np.clip(rgb, 0, 1))


# --------------------------------------------------------------------------------------------
# The sampler axes of format 2 (scheme, sampler_steps, eps, init)

SAMPLER_DIMS = ("scheme", "sampler_steps", "eps", "init")


def time_dim(ds):
    """Name of the time axis of the curves: 't' (discrete process) or 'k' (vp_sde step index)."""
    return "k" if "k" in ds.dims else "t"


def reference_sampler(ds):
    """Indices on the sampler axes of the configuration the per-algorithm figures show: the
    full sampler if the sweep has it (largest sampler_steps), scheme ddpm, the smallest eps,
    init normal (else the first value of each axis)."""
    if "scheme" not in ds.dims:
        return {}
    schemes = [str(x) for x in ds.scheme.values]
    inits = [str(x) for x in ds.init.values]
    return {
        "scheme": schemes.index("ddpm") if "ddpm" in schemes else 0,
        "sampler_steps": int(np.argmax(ds.sampler_steps.values)),
        "eps": int(np.argmin(ds.eps.values)),
        "init": inits.index("normal") if "init" in ds.dims and "normal" in inits else 0,
    }


def sampler_view(ds, index=None):
    """The dataset restricted to one value of each sampler axis (the five axes of format 1 plus
    time, sample, ...), so that figures about algorithms, σ and α_dps index [op, σ, α, alg, seed].
    `index`: {axis: index} (default :func:`reference_sampler`). Idempotent; the indices chosen
    are kept in ``attrs['sampler_view']`` and described by :func:`sampler_view_text`."""
    if "scheme" not in ds.dims:
        return ds
    index = dict(reference_sampler(ds), **(index or {}))
    view = ds.isel({d: int(index[d]) for d in SAMPLER_DIMS})
    view.attrs = dict(ds.attrs, sampler_view={d: int(index[d]) for d in SAMPLER_DIMS},
                      sampler_sizes={d: int(ds.sizes[d]) for d in SAMPLER_DIMS})
    return view


def sampler_view_text(view):
    """'scheme ddpm, S = 1000 steps, init normal' for a view, or '' when nothing was chosen
    (every sampler axis has one value)."""
    sizes = view.attrs.get("sampler_sizes")
    if not sizes or all(n == 1 for n in sizes.values()):
        return ""
    parts = [f"scheme {view.scheme.values.item()}",
             f"{'K' if view.attrs.get('process') == 'vp_sde' else 'S'} = {int(view.sampler_steps.values)} steps"]
    if sizes.get("eps", 1) > 1 or float(view.eps.values) != 0:
        parts.append(f"ε = {fmt(view.eps.values)}")
    parts.append(f"init {view.init.values.item()}")
    return ", ".join(parts)


def fmt(x):
    """Short number for labels: 0.05, 1, 3e-05."""
    return f"{float(x):.4g}"


def variants(ds, algorithms=None, include_none=True):
    """Curve families of the sweep: one per algorithm, dps split by alpha_dps (shades of red);
    several ddrm (η, η_b) entries are drawn in shades of purple. `algorithms`: names or kinds
    to keep."""
    out = []
    alphas = ds.alpha_dps.values
    names = [str(n) for n in ds.algorithm.values]
    n_kind = {}
    for name in names:
        n_kind[alg_base(name)] = n_kind.get(alg_base(name), 0) + 1
    seen_kind = {}
    for ia, name in enumerate(names):
        kind = alg_base(name)
        if algorithms is not None and name not in algorithms and kind not in algorithms:
            continue
        if kind == "none" and not include_none:
            continue
        if kind == "dps":
            n = len(alphas)
            for k, a in enumerate(alphas):
                out.append(Variant(ia, k, name, f"dps α={fmt(a)}", _shade(alg_color("dps"), k, n), f"dps@{fmt(a)}"))
        else:
            label = "none (vs prior path)" if name == "none" else pretty_name(name)
            k = seen_kind.get(kind, 0)
            seen_kind[kind] = k + 1
            color = alg_color(name, ia) if n_kind[kind] == 1 else _shade(alg_color(name, ia), k, n_kind[kind])
            out.append(Variant(ia, None, name, label, color, name))
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
    computed time. (vp_sde: the last step index instead, u = ε.)"""
    comp = np.nonzero(ds.w2_computed.values)[0]
    if time_dim(ds) == "k":
        return int(comp[-1]) if len(comp) else 0
    return int(comp[0]) if len(comp) else 0


def summary(ds):
    """One-paragraph description of the sweep for captions."""
    a = ds.attrs
    grid = ("operator", "sigma", "alpha_dps", "algorithm") + tuple(d for d in SAMPLER_DIMS if d in ds.dims) + ("seed",)
    n = {d: ds.sizes[d] for d in grid}
    npts = int(np.prod(list(n.values())))
    ndone = int(ds.done.values.sum())
    td = time_dim(ds)
    comp = ds.w2_computed.values
    if a.get("process") == "vp_sde":
        sched = (f"continuous VP SDE, β(u) from {fmt(a.get('schedule_beta_min', float('nan')))} to "
                 f"{fmt(a.get('schedule_beta_max', float('nan')))}")
        w2t = "every step" if comp.all() else f"{int(comp.sum())} step indices"
    else:
        T = int(ds[td].values[-1])
        sched = (f"T = {T} ({a.get('schedule_variance', '?')} variance, "
                 f"β {fmt(a.get('schedule_beta_start', float('nan')))}…{fmt(a.get('schedule_beta_end', float('nan')))})")
        w2t = "every t" if comp.all() else f"t ∈ {{{', '.join(str(int(t)) for t in ds[td].values[comp])}}}"
    ck = ", ".join(str(int(c)) for c in ds.checkpoint.values)
    samplers = ""
    if "scheme" in ds.dims:
        samplers = (f"schemes: {', '.join(str(x) for x in ds.scheme.values)}; "
                    f"sampler_steps: {', '.join(str(int(x)) for x in ds.sampler_steps.values)}; "
                    + (f"ε ∈ {{{', '.join(fmt(x) for x in ds.eps.values)}}}; " if a.get("process") == "vp_sde" else "")
                    + f"init: {', '.join(str(x) for x in ds.init.values)}; ")
    return (f"Sweep '{a.get('name', '?')}': prior {a.get('prior_name', '?')} "
            f"{ds.sizes['row']}×{ds.sizes['col']}, {sched}; "
            f"operators: {', '.join(ds.operator.values)}; σ ∈ {{{', '.join(fmt(s) for s in ds.sigma.values)}}}; "
            f"α_dps ∈ {{{', '.join(fmt(s) for s in ds.alpha_dps.values)}}}; "
            f"algorithms: {', '.join(ds.algorithm.values)}; {samplers}"
            f"seeds: {', '.join(str(int(s)) for s in ds.seed.values)} "
            f"({npts} points, {ndone} done); {ds.sizes['sample']} sample(s) per point at t ∈ {{{ck}}}; "
            f"W2 computed at {w2t}.")


def finite_positive(*arrays):
    vals = [np.asarray(a, dtype=np.float64).ravel() for a in arrays]
    vals = np.concatenate(vals) if vals else np.array([])
    return vals[np.isfinite(vals) & (vals > 0)]
