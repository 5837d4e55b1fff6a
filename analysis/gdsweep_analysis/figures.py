"""The figures of the study, from a Dataset returned by :func:`gdsweep_analysis.load`.

Every ``fig_*`` function returns a :class:`Plot`: the matplotlib ``Figure`` (``None`` when the
figure does not apply to the sweep, with the reason in ``notes``), a file stem, a title and a
caption. The artists that carry data have a ``gid`` ``"<kind>:key=value;..."`` so that tests
(and users) can read back exactly what was drawn, e.g. ``w2t:var=w2;op=0;sigma=1;variant=pigdm;stat=mean``.

Conventions: colours are fixed per algorithm (``common.ALG_COLORS``; dps in shades, light =
small α_dps); the W2(t) axis runs from t = T at the left to t = 0 at the right, as the sampler
runs; results of points that are not done are NaN and left out (captions say how many).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import matplotlib
from matplotlib import colors as mcolors, ticker, transforms
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .common import (INIT_MARKERS, SCHEME_STYLES, alg_base, alg_color, diverged_threshold, finite_positive,
                     fmt, point_done, point_values, pretty_name, sampler_view, sampler_view_text, seed_stats,
                     style, t0_index, time_dim, variants)
from .loader import measurement, read_trajectory

PART_TITLES = {
    "w2": "W2 (total)",
    "w2_mean": "mean part  ‖m_t − m*_t‖",
    "w2_cov": "covariance part (Bures)",
}


@dataclass
class Plot:
    fig: Figure | None
    name: str
    title: str
    caption: str = ""
    notes: list = field(default_factory=list)


def _gid(kind, **kw):
    return kind + ":" + ";".join(f"{k}={v}" for k, v in kw.items())


def _units(ds, var="w2"):
    return ds[var].attrs.get("units", "pixel intensity")


def _mark_offscale(ax, x, y, cap, color, gid=None, max_marks=16):
    """Triangles on the top edge where y is infinite or above cap (sampler diverged)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    bad = np.isinf(y) | (np.isfinite(y) & (y > cap))
    if not bad.any():
        return 0
    xs = x[bad]
    if len(xs) > max_marks:
        xs = xs[np.linspace(0, len(xs) - 1, max_marks).round().astype(int)]
    trans = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    sc = ax.scatter(xs, np.full(len(xs), 0.985), marker="^", s=26, color=color, edgecolors="k",
                    linewidths=0.4, transform=trans, clip_on=False, zorder=5)
    if gid:
        sc.set_gid(gid)
    return int(bad.sum())


def _log_xlim(ax, values):
    """Log x axis covering every value (also those drawn as off-scale markers)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size:
        ax.set_xscale("log")
        lo, hi = v.min(), v.max()
        f = 1.35 if hi > lo else 2.0
        ax.set_xlim(lo / f, hi * f)
        if len(np.unique(v)) <= 8:  # label the grid values themselves
            ax.set_xticks(np.unique(v))
            ax.set_xticklabels([fmt(x) for x in np.unique(v)])
            ax.xaxis.set_minor_locator(ticker.NullLocator())


def _log_minor(axis, lo, hi):
    """Minor ticks on a log axis only when it spans few decades (they clutter wide ranges and
    are costly to lay out)."""
    if hi / lo > 1e4:
        axis.set_minor_locator(ticker.NullLocator())


def _set_log_ylim(axes, values, cap):
    """Log y on `axes` (shared) if there is positive finite data, limits at most cap."""
    vals = finite_positive(*values)
    vals = vals[vals <= cap]
    for ax in axes:
        if len(vals):
            ax.set_yscale("log", nonpositive="mask")
            lo, hi = vals.min(), vals.max()
            if hi / lo < 10:
                mid = np.sqrt(lo * hi)
                lo, hi = min(lo, mid / 3.2), max(hi, mid * 3.2)
            ax.set_ylim(lo / 1.6, min(hi * 1.6, cap))
            _log_minor(ax.yaxis, lo, hi)
        else:
            ax.text(0.5, 0.5, "no finite data\n(points not done or diverged)", ha="center",
                    va="center", transform=ax.transAxes, color="0.4")


def _handles(axes):
    """Legend handles of all panels, one per label, in first-seen order."""
    seen = {}
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if not lab.startswith("_") and lab not in seen:
                seen[lab] = h
    return list(seen.values())


def _legend_extra(markers=False, band=False, offscale=False):
    h = []
    if band:
        h.append(Patch(facecolor="0.6", alpha=0.35, label="seed min–max"))
    if markers:
        h.append(Line2D([], [], color="0.3", marker="o", ms=4, ls="-", label="W2 computed at marked t"))
    if offscale:
        h.append(Line2D([], [], color="0.5", marker="^", mec="k", ls="none",
                        label="off scale / diverged (W2 = ∞ or > cap)"))
    return h


def _view_caption(ds):
    """' Sampler shown: ...' when the sweep has several samplers (the NFE figure shows them all)."""
    txt = sampler_view_text(ds)
    return (f" Sampler shown: {txt} (the sweep has several schemes / step counts / inits; the W2-vs-NFE "
            f"figure compares them).") if txt else ""


ZERO_NOTE = " Exact zeros (the sampler agrees exactly) cannot be drawn on a log axis and are left out."


def _has_zero(values):
    return any(np.any(np.asarray(v, dtype=float) == 0) for v in values)


def _not_done_note(ds, op=None, sig=None):
    d = ds.done.values
    if op is not None:
        d = d[op]
        if sig is not None:
            d = d[sig]
    n, nd = d.size, int(d.sum())
    return None if nd == n else f"{n - nd} of {n} grid points of this figure are not done (NaN): left out."


# --------------------------------------------------------------------------------------------
# 1. W2(t)

def fig_w2_time(ds, op):
    """W2(t), mean part and covariance part, one row per σ, for operator index `op` (the
    reference sampler of :func:`common.sampler_view` when the sweep has several)."""
    ds = sampler_view(ds)
    vs = variants(ds)
    nsig = ds.sizes["sigma"]
    td = time_dim(ds)
    vp = td == "k"
    T = int(ds[td].values[-1])
    comp = ds.w2_computed.values.astype(bool)
    # x: the diffusion time t, or u_k for the continuous process
    x = (ds.time.values if vp else ds[td].values)[comp]
    markers = not comp.all()
    cap = diverged_threshold(ds)
    done = ds.done.values
    opname = str(ds.operator.values[op])
    notes, offscale_any, band_any, drawn = [], False, False, []
    with style():
        fig = Figure(figsize=(13.5, 2.9 * nsig + 0.6), layout="constrained")
        axes = fig.subplots(nsig, 3, squeeze=False, sharex=True, sharey="row")
        for j in range(nsig):
            row_vals = []
            for c, var in enumerate(("w2", "w2_mean", "w2_cov")):
                ax = axes[j, c]
                arr = ds[var].values
                for v in vs:
                    nd = point_done(done, op, j, v)
                    if not nd.any():
                        if c == 0:
                            notes.append(f"{opname}, σ = {fmt(ds.sigma.values[j])}: {v.label} not done.")
                        continue
                    vals = point_values(arr, done, op, j, v)[:, comp]
                    mean, lo, hi = seed_stats(vals)
                    # times a respaced sampler does not visit are NaN: drawn as one line through
                    # the visited ones
                    vis = ~np.isnan(mean)
                    gaps = not vis.all()
                    xv, mean, lo, hi = x[vis], mean[vis], lo[vis], hi[vis]
                    mk = markers or (gaps and vis.sum() <= 60)
                    (line,) = ax.plot(xv, mean, color=v.color, label=v.label, marker="o" if mk else None,
                                      ms=3.5)
                    line.set_gid(_gid("w2t", var=var, op=op, sigma=j, variant=v.key, stat="mean"))
                    if nd.sum() > 1:
                        band_any = True
                        band = ax.fill_between(xv, np.where(np.isfinite(lo), lo, np.nan),
                                               np.where(np.isfinite(hi), hi, np.nan),
                                               color=v.color, alpha=0.2, lw=0)
                        band.set_gid(_gid("w2t", var=var, op=op, sigma=j, variant=v.key, stat="band"))
                        row_vals += [lo, hi]
                    row_vals.append(mean)
                    drawn.append(mean)
                    if _mark_offscale(ax, xv, mean, cap, v.color,
                                      _gid("w2t", var=var, op=op, sigma=j, variant=v.key, stat="offscale")):
                        offscale_any = True
                if vp:
                    ax.set_xlim(1, 0)
                else:
                    ax.set_xlim(T, 0)
                ax.set_title(f"σ = {fmt(ds.sigma.values[j])}: {PART_TITLES[var]}")
                if j == nsig - 1:
                    ax.set_xlabel("diffusion time u  (1 → ε)" if vp else "diffusion time t  (T → 0)")
            axes[j, 0].set_ylabel(f"W2 to posterior path ({_units(ds)})")
            _set_log_ylim(axes[j], row_vals, cap)
        handles = _handles(axes)
        handles += _legend_extra(markers, band_any, offscale_any)
        axes[0, 2].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        fig.suptitle(f"{ds.attrs.get('name', '')}: W2 between the sampler's law and the posterior path — {opname}")
    nd_note = _not_done_note(ds, op)
    if nd_note:
        notes.insert(0, nd_note)
    caption = (
        f"Exact 2-Wasserstein distance W2(t) between the law of the sampler y_t and the conditional forward "
        f"marginal p̃_t = N(√ᾱ_t μ_post, ᾱ_t Σ_post + (1−ᾱ_t) I) (the prior path for 'none'), for operator "
        f"{opname}; one row per noise level σ. Left: W2; middle: its mean part ‖m_t − m*_t‖; right: its "
        f"covariance part (Bures distance); W2² = mean² + cov². x axis: diffusion time t, from t = T = {T} "
        f"(left, pure noise) to t = 0 (right, the sampler's output), i.e. in the order the sampler runs. "
        f"y axis: W2 in {_units(ds)} units, log scale. Lines: mean over the seeds; shaded band: seed min–max "
        f"(the covariance part does not depend on the seed, so its band is flat). dps is drawn in shades of red, "
        f"light to dark with increasing α_dps."
        + (" W2 was computed at the marked times only." if markers else "")
        + (" A respaced sampler (sampler_steps < T) has a law only at the times it visits: its curve joins "
           "those times." if int(ds.sampler_steps.values) < T and not vp else "")
        + _view_caption(ds)
        + (ZERO_NOTE if _has_zero(drawn) else "")
        + (f" Values that are infinite or above {fmt(cap)} (= 100·√d: the sampler diverged) are drawn as ▲ on the "
           f"top edge." if offscale_any else ""))
    return Plot(fig, f"w2_t_op{op}", f"W2(t) — {opname}", caption, notes)


# --------------------------------------------------------------------------------------------
# 2. W2 at t = 0 against alpha_dps

def fig_w2_alpha(ds):
    """W2 at t = 0 of dps against α_dps, pigdm / cgdm as reference lines; per operator and σ."""
    ds = sampler_view(ds)
    algs = [str(a) for a in ds.algorithm.values]
    if "dps" not in algs:
        return Plot(None, "w2_t0_vs_alpha", "W2 at t = 0 against α_dps",
                    notes=["Skipped: the sweep has no dps algorithm (α_dps matters only for dps)."])
    nop, nsig = ds.sizes["operator"], ds.sizes["sigma"]
    t0 = t0_index(ds)
    alphas = ds.alpha_dps.values
    cap = diverged_threshold(ds)
    done = ds.done.values
    arr = ds.w2.values[..., t0]
    vs_dps = [v for v in variants(ds) if v.name == "dps"]
    vs_ref = [v for v in variants(ds, include_none=False) if v.name != "dps"]
    notes, offscale_any, bests = [], False, []
    with style():
        fig = Figure(figsize=(4.4 * nsig + 2.2, 3.3 * nop + 0.5), layout="constrained")
        axes = fig.subplots(nop, nsig, squeeze=False, sharex=True)
        for i in range(nop):
            for j in range(nsig):
                ax = axes[i, j]
                per_seed = np.stack([point_values(arr, done, i, j, v) for v in vs_dps])  # [alpha, seed]
                mean = np.nanmean(per_seed, axis=1)
                lo, hi = np.nanmin(per_seed, axis=1), np.nanmax(per_seed, axis=1)
                (line,) = ax.plot(alphas, mean, "o-", color=alg_color("dps"), label="dps (mean over seeds)")
                line.set_gid(_gid("alpha", op=i, sigma=j, variant="dps", stat="mean"))
                if ds.sizes["seed"] > 1:
                    ok = np.isfinite(lo) & np.isfinite(hi)
                    if ok.any():
                        vl = ax.vlines(alphas[ok], lo[ok], hi[ok], color=alg_color("dps"), lw=1.2, alpha=0.6)
                        vl.set_gid(_gid("alpha", op=i, sigma=j, variant="dps", stat="range"))
                vals = [mean, lo, hi]
                if _mark_offscale(ax, alphas, mean, cap, alg_color("dps"),
                                  _gid("alpha", op=i, sigma=j, variant="dps", stat="offscale")):
                    offscale_any = True
                good = np.isfinite(mean) & (mean <= cap)
                if good.any():
                    k = int(np.nanargmin(np.where(good, mean, np.inf)))
                    (b,) = ax.plot([alphas[k]], [mean[k]], marker="*", ms=15, color="gold", mec="k",
                                   ls="none", zorder=6, label="best α_dps")
                    b.set_gid(_gid("alpha", op=i, sigma=j, variant="dps", stat="best"))
                    ax.annotate(f"best α = {fmt(alphas[k])}", (alphas[k], mean[k]), xytext=(6, 8),
                                textcoords="offset points", fontsize=8.5)
                    bests.append((str(ds.operator.values[i]), fmt(ds.sigma.values[j]), fmt(alphas[k]), mean[k]))
                else:
                    notes.append(f"{ds.operator.values[i]}, σ = {fmt(ds.sigma.values[j])}: "
                                 "no finite dps value, no best α_dps.")
                for v in vs_ref:
                    ps = point_values(arr, done, i, j, v)
                    if not np.isfinite(ps).any():
                        continue
                    m = np.nanmean(ps)
                    hl = ax.axhline(m, color=v.color, ls="--", lw=1.6, label=f"{v.label} (no α)")
                    hl.set_gid(_gid("alpha", op=i, sigma=j, variant=v.key, stat="mean"))
                    vals.append(np.array([m]))
                _log_xlim(ax, alphas)
                _set_log_ylim([ax], vals, cap)
                ax.set_title(f"{ds.operator.values[i]}, σ = {fmt(ds.sigma.values[j])}", fontsize=9.5)
                if i == nop - 1:
                    ax.set_xlabel("α_dps  (dps: C_t = σ²/α_dps · I)")
                if j == 0:
                    ax.set_ylabel(f"W2 at t = {t0} ({_units(ds)})")
        handles = _handles(axes)
        handles += _legend_extra(False, False, offscale_any)
        if ds.sizes["seed"] > 1:
            handles.append(Line2D([], [], color=alg_color("dps"), lw=1.2, alpha=0.6, label="dps seed min–max"))
        axes[0, -1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        fig.suptitle(f"{ds.attrs.get('name', '')}: W2 at t = {t0} against the DPS step α_dps")
    nd = _not_done_note(ds)
    if nd:
        notes.insert(0, nd)
    if t0 != 0:
        notes.append(f"W2 was not computed at t = 0: the smallest computed time, t = {t0}, is used.")
    best_txt = "; ".join(f"{o}, σ = {s}: α = {a} (W2 = {w:.4g})" for o, s, a, w in bests)
    caption = (
        f"W2 between the sampler's output law (t = {t0}) and the posterior, for dps against its step weight "
        f"α_dps (x axis, log scale; C_t = σ²/α_dps), one panel per operator (rows) and noise level σ (columns). "
        f"y axis: W2 in {_units(ds)} units, log scale. dps: mean over the seeds (red), vertical bars = seed "
        f"min–max; the best α_dps (smallest mean W2) is marked with a star. pigdm and cgdm do not depend on "
        f"α_dps: dashed horizontal lines at their mean over the seeds. 'none' (compared with the prior, not the "
        f"posterior) is not shown." + (f" Best α_dps: {best_txt}." if best_txt else "")
        + (f" ▲: dps diverged (W2 infinite or above {fmt(cap)})." if offscale_any else "")
        + _view_caption(ds))
    return Plot(fig, "w2_t0_vs_alpha", "W2 at t = 0 against α_dps", caption, notes)


# --------------------------------------------------------------------------------------------
# 3. Bias study: mean vs covariance part at t = 0 against sigma

def fig_bias(ds):
    """Mean and covariance parts of W2 at t = 0 against σ, one panel per (operator, algorithm)."""
    ds = sampler_view(ds)
    t0 = t0_index(ds)
    algs = [str(a) for a in ds.algorithm.values if str(a) != "none"]
    if not algs:
        return Plot(None, "bias_vs_sigma", "Bias study",
                    notes=["Skipped: the sweep has only the unconditional algorithm 'none'."])
    nop = ds.sizes["operator"]
    sig = ds.sigma.values
    cap = diverged_threshold(ds)
    done = ds.done.values
    m_arr, c_arr = ds.w2_mean.values[..., t0], ds.w2_cov.values[..., t0]
    offscale_any = False
    with style():
        fig = Figure(figsize=(4.2 * len(algs) + 1.0, 3.3 * nop + 0.5), layout="constrained")
        axes = fig.subplots(nop, len(algs), squeeze=False, sharex=True, sharey=True)
        allvals = []
        for i in range(nop):
            for c, name in enumerate(algs):
                ax = axes[i, c]
                for v in variants(ds, algorithms=[name]):
                    pm = np.stack([point_values(m_arr, done, i, j, v) for j in range(len(sig))])  # [σ, seed]
                    pc = np.stack([point_values(c_arr, done, i, j, v) for j in range(len(sig))])
                    mm, mlo, mhi = seed_stats(pm.T)
                    cc = np.nanmean(pc, axis=1)
                    (l1,) = ax.plot(sig, mm, ls="--", marker="o", color=v.color, label=f"{v.label}: mean part")
                    l1.set_gid(_gid("bias", op=i, variant=v.key, part="w2_mean", stat="mean"))
                    (l2,) = ax.plot(sig, cc, ls=":", marker="s", color=v.color, mfc="white",
                                    label=f"{v.label}: covariance part")
                    l2.set_gid(_gid("bias", op=i, variant=v.key, part="w2_cov", stat="mean"))
                    if ds.sizes["seed"] > 1:
                        ok = np.isfinite(mlo) & np.isfinite(mhi)
                        if ok.any():
                            vl = ax.vlines(sig[ok], mlo[ok], mhi[ok], color=v.color, lw=1.1, alpha=0.6)
                            vl.set_gid(_gid("bias", op=i, variant=v.key, part="w2_mean", stat="range"))
                    allvals += [mm, cc, mlo, mhi]
                    for y, tag in ((mm, "w2_mean"), (cc, "w2_cov")):
                        if _mark_offscale(ax, sig, y, cap, v.color,
                                          _gid("bias", op=i, variant=v.key, part=tag, stat="offscale")):
                            offscale_any = True
                _log_xlim(ax, sig)
                ax.set_title(f"{ds.operator.values[i]}: {name}", fontsize=9.5)
                ax.legend(fontsize=7.5, frameon=True, framealpha=0.85, edgecolor="0.85", loc="best")
                if i == nop - 1:
                    ax.set_xlabel("measurement noise σ (pixel intensity)")
                if c == 0:
                    ax.set_ylabel(f"part of W2 at t = {t0} ({_units(ds)})")
        _set_log_ylim(axes.ravel(), allvals, cap)
        fig.suptitle(f"{ds.attrs.get('name', '')}: bias study — mean vs covariance part of W2 at t = {t0}")
    notes = [n for n in [_not_done_note(ds)] if n]
    if t0 != 0:
        notes.append(f"W2 was not computed at t = 0: the smallest computed time, t = {t0}, is used.")
    if len(sig) == 1:
        notes.append("The sweep has a single σ: one point per curve.")
    caption = (
        f"Bias study: the two parts of W2 between the sampler's output (t = {t0}) and the posterior, against the "
        f"measurement noise σ (x axis, log scale), one panel per operator (rows) and algorithm (columns; dps "
        f"with one colour shade per α_dps). Dashed, filled circles: mean part ‖m_0 − μ_post‖ (mean over seeds, "
        f"bars = seed min–max): the bias of the sampler. Dotted, open squares: covariance part (Bures "
        f"distance, independent of the seed). y axis: {_units(ds)} units, log scale, shared by all panels. "
        f"'none' is not shown (it targets the prior)."
        + (f" ▲: infinite or above {fmt(cap)} (diverged)." if offscale_any else "")
        + (ZERO_NOTE if _has_zero(allvals) else "")
        + _view_caption(ds))
    return Plot(fig, "bias_vs_sigma", "Bias study: mean vs covariance part against σ", caption, notes)


# --------------------------------------------------------------------------------------------
# 3b. W2 of the output against the number of steps (NFE)

def nfe_values(ds, op, sig, v, scheme, init, eps=0, var="w2_final"):
    """`var` (w2_final by default) of one (operator, σ, variant, scheme, init, eps) over
    sampler_steps and seeds → [steps, seed], NaN where not done. For algorithms that ignore
    α_dps the file repeats the values on the α axis: the first α where the point is done is used."""
    arr = np.asarray(ds[var].values, dtype=np.float64)
    done = np.asarray(ds.done.values, dtype=bool)
    if v.alpha is not None:
        out = arr[op, sig, v.alpha, v.alg, scheme, :, eps, init, :].copy()
        out[~done[op, sig, v.alpha, v.alg, scheme, :, eps, init, :]] = np.nan
        return out
    sub = arr[op, sig, :, v.alg, scheme, :, eps, init, :]  # [alpha, steps, seed]
    dn = done[op, sig, :, v.alg, scheme, :, eps, init, :]
    first = np.argmax(dn, axis=0)
    out = np.take_along_axis(sub, first[None], axis=0)[0]
    out[~dn.any(axis=0)] = np.nan
    return out


def ignores_scheme(name):
    """ddrm has its own update: its results do not depend on the scheme axis (SPEC §7.2)."""
    return alg_base(name) == "ddrm"


def fig_w2_nfe(ds):
    """W2 between the law of the sampler's output and the target (/results/w2_final) against
    the number of sampler steps S (= NFE, one score evaluation per step) for every algorithm
    (colour; dps per α_dps), scheme (line style) and init (marker); log-log; one panel per
    operator (rows) and σ (columns). Discrete process only."""
    name, title = "w2_final_vs_nfe", "W2 of the output against the number of steps (NFE)"
    if "scheme" not in ds.dims or "w2_final" not in ds:
        return Plot(None, name, title, notes=["Skipped: the file has no sampler axes (format 1)."])
    if ds.attrs.get("process") == "vp_sde":
        return Plot(None, name, title, notes=["Skipped: continuous process; see the W2-vs-steps figure per scheme."])
    steps = ds.sampler_steps.values.astype(np.int64)
    if len(steps) < 2:
        return Plot(None, name, title, notes=[
            f"Skipped: the sweep has a single sampler_steps value ({int(steps[0])}); list several (e.g. "
            "sampler_steps: [20, 50, 100, 1000]) to see the accuracy lost with fewer steps."])
    order = np.argsort(steps)
    x = steps[order]
    nop, nsig = ds.sizes["operator"], ds.sizes["sigma"]
    schemes = [str(sc) for sc in ds.scheme.values]
    inits = [str(i) for i in ds.init.values]
    cap = diverged_threshold(ds)
    vs = variants(ds)
    notes, offscale_any, allvals = [], False, []
    with style():
        fig = Figure(figsize=(4.6 * nsig + 2.6, 3.5 * nop + 0.6), layout="constrained")
        axes = fig.subplots(nop, nsig, squeeze=False, sharex=True)
        for i in range(nop):
            for j in range(nsig):
                ax = axes[i, j]
                pvals = []
                for v in vs:
                    for sc, scname in enumerate(schemes):
                        if ignores_scheme(v.name) and sc > 0:
                            continue  # one curve: the same values at every scheme
                        for ini, iname in enumerate(inits):
                            per_seed = nfe_values(ds, i, j, v, sc, ini)[order]  # [steps, seed]
                            if not np.isfinite(per_seed).any() and not np.isinf(per_seed).any():
                                continue
                            mean = np.nanmean(per_seed, axis=1)
                            ls = "-" if ignores_scheme(v.name) else SCHEME_STYLES[sc % len(SCHEME_STYLES)]
                            (ln,) = ax.plot(x, mean, color=v.color, ls=ls, marker=INIT_MARKERS.get(iname, "^"),
                                            ms=4.5, mfc="white" if iname == "exact" else v.color)
                            ln.set_gid(_gid("nfe", op=i, sigma=j, variant=v.key,
                                            scheme="-" if ignores_scheme(v.name) else scname, init=iname,
                                            stat="mean"))
                            pvals.append(mean)
                            if _mark_offscale(ax, x, mean, cap, v.color,
                                              _gid("nfe", op=i, sigma=j, variant=v.key, scheme=scname, init=iname,
                                                   stat="offscale")):
                                offscale_any = True
                allvals += pvals
                ax.set_xscale("log")
                ax.set_xticks(x)
                ax.set_xticklabels([str(int(k)) for k in x])
                ax.xaxis.set_minor_locator(ticker.NullLocator())
                _set_log_ylim([ax], pvals, cap)
                ax.set_title(f"{ds.operator.values[i]}, σ = {fmt(ds.sigma.values[j])}", fontsize=9.5)
                if i == nop - 1:
                    ax.set_xlabel("sampler steps S = NFE (log)")
                if j == 0:
                    ax.set_ylabel(f"W2(output law, target) ({_units(ds, 'w2_final')})")
        handles = [Line2D([], [], color=v.color, lw=2, label=v.label) for v in vs]
        handles += [Line2D([], [], color="0.3", ls=SCHEME_STYLES[k % len(SCHEME_STYLES)], label=f"scheme {sc}")
                    for k, sc in enumerate(schemes)]
        handles += [Line2D([], [], color="0.3", ls="none", marker=INIT_MARKERS.get(n, "^"),
                           mfc="white" if n == "exact" else "0.3", label=f"init {n}") for n in inits]
        handles += _legend_extra(False, False, offscale_any)
        axes[0, -1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        fig.suptitle(f"{ds.attrs.get('name', '')}: accuracy against the number of sampler steps")
    nd = _not_done_note(ds)
    if nd:
        notes.insert(0, nd)
    if any(ignores_scheme(v.name) for v in vs):
        notes.append("ddrm has its own update and ignores the scheme axis: one solid curve per init.")
    if ds.sizes.get("eps", 1) > 1:
        notes.append(f"Only ε = {fmt(ds.eps.values[0])} is shown.")
    T = int(ds.t.values[-1])
    caption = (
        f"Exact W2 between the law of the sampler's output and the target itself (/results/w2_final: the "
        f"posterior; the prior for 'none'), against the number of sampler steps S (x axis, log scale; the T = {T} "
        f"training steps respaced to τ_k = 1 + (k − 1)·⌊T/S⌋, SPEC §7.1; S = NFE, one score evaluation per step). "
        f"y axis: W2 in {_units(ds, 'w2_final')} units, log scale, mean over the seeds. Colour: algorithm (dps "
        f"in shades of red per α_dps, ddrm in shades of purple per (η, η_b)); line style: scheme "
        f"({', '.join(f'{sc} {SCHEME_STYLES[k % len(SCHEME_STYLES)]!s}' for k, sc in enumerate(schemes))}); "
        f"marker: initialisation (● normal N(0, I), ○ exact reference law). One panel per operator (rows) and σ "
        f"(columns). The gap between a curve and its value at the largest S is the accuracy lost by sampling "
        f"with fewer steps." + (f" ▲: infinite or above {fmt(cap)} (diverged)." if offscale_any else "")
        + (ZERO_NOTE if _has_zero(allvals) else ""))
    return Plot(fig, name, title, caption, notes)


# --------------------------------------------------------------------------------------------
# 3c. Continuous VP SDE: W2 at the end against the number of steps, per scheme

#: Colours of the ε values (viridis-like, dark = small ε).
EPS_COLORS = ["#2c115f", "#336a98", "#2a9d8f", "#8fd14f", "#e9c46a", "#f4a261", "#e76f51"]
INIT_STYLES = {"normal": "-", "exact": "--"}


def vp_combos(ds):
    """(operator, σ, variant) combinations of a sweep, in grid order."""
    return [(i, j, v) for i in range(ds.sizes["operator"]) for j in range(ds.sizes["sigma"]) for v in variants(ds)]


def fig_vp_steps(ds, max_rows=6):
    """W2 between the output law and the target (/results/w2_final) against the number of steps K
    (log-log), one panel per scheme (columns) and (operator, σ, algorithm) (rows), one curve per
    ε (colour) and init (solid normal, dashed exact): the figure of Pierret & Galerne (ICML 2025)
    for any vp_sde sweep."""
    name, title = "w2_final_vs_steps_vp", "W2 at the end against the number of steps (VP SDE schemes)"
    if ds.attrs.get("process") != "vp_sde" or "w2_final" not in ds:
        return Plot(None, name, title, notes=["Skipped: not a continuous-process (vp_sde) sweep."])
    steps = ds.sampler_steps.values.astype(np.int64)
    order = np.argsort(steps)
    x = steps[order]
    schemes = [str(sc) for sc in ds.scheme.values]
    inits = [str(i) for i in ds.init.values]
    eps = ds.eps.values
    combos = vp_combos(ds)
    notes = []
    if len(combos) > max_rows:
        notes.append(f"Only the first {max_rows} of {len(combos)} (operator, σ, algorithm) combinations are drawn.")
        combos = combos[:max_rows]
    cap = diverged_threshold(ds)
    offscale_any, allvals = False, []
    with style():
        # one combination (the paper's figure): the schemes on a grid of at most 3 columns
        wrap = len(combos) == 1 and len(schemes) > 3
        ncol = 3 if wrap else len(schemes)
        nrow = -(-len(schemes) // 3) if wrap else len(combos)
        fig = Figure(figsize=(3.6 * ncol + 2.4, 3.0 * nrow + 0.7), layout="constrained")
        grid = fig.subplots(nrow, ncol, squeeze=False, sharex=True, sharey=True if wrap else "row")
        for extra in grid.ravel()[len(schemes) if wrap else grid.size:]:
            extra.set_visible(False)

        def panel(r, c):
            return grid[c // 3, c % 3] if wrap else grid[r, c]

        for r, (i, j, v) in enumerate(combos):
            rowvals = []
            for c, scname in enumerate(schemes):
                ax = panel(r, c)
                for e in range(len(eps)):
                    for ini, iname in enumerate(inits):
                        per_seed = nfe_values(ds, i, j, v, c, ini, eps=e)[order]
                        if np.isnan(per_seed).all():
                            continue
                        mean = np.nanmean(per_seed, axis=1)
                        color = EPS_COLORS[e % len(EPS_COLORS)]
                        (ln,) = ax.plot(x, mean, color=color, ls=INIT_STYLES.get(iname, ":"), marker=".", ms=5)
                        ln.set_gid(_gid("vp", op=i, sigma=j, variant=v.key, scheme=scname, eps=fmt(eps[e]), init=iname,
                                        stat="mean"))
                        rowvals.append(mean)
                        if _mark_offscale(ax, x, mean, cap, color,
                                          _gid("vp", op=i, sigma=j, variant=v.key, scheme=scname, eps=fmt(eps[e]),
                                               init=iname, stat="offscale")):
                            offscale_any = True
                ax.set_xscale("log")
                if len(x) <= 10:
                    ax.set_xticks(x)
                    ax.set_xticklabels([str(int(k)) for k in x])
                    ax.xaxis.set_minor_locator(ticker.NullLocator())
                if r == 0:
                    ax.set_title(f"scheme {scname}")
                if (wrap and c + 3 >= len(schemes)) or (not wrap and r == len(combos) - 1):
                    ax.set_xlabel("steps K (log)")
                if c == 0 or (wrap and c % 3 == 0):
                    ax.set_ylabel(f"{v.label}\n{ds.operator.values[i]}, σ = {fmt(ds.sigma.values[j])}\n"
                                  f"W2 ({_units(ds, 'w2_final')})", fontsize=8.5)
            _set_log_ylim([panel(r, c) for c in range(len(schemes))], rowvals, cap)
            allvals += rowvals
        handles = [Line2D([], [], color=EPS_COLORS[e % len(EPS_COLORS)], lw=2, label=f"ε = {fmt(eps[e])}")
                   for e in range(len(eps))]
        handles += [Line2D([], [], color="0.3", ls=INIT_STYLES.get(n, ":"), label=f"init {n}") for n in inits]
        handles += _legend_extra(False, False, offscale_any)
        grid[0, -1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        fig.suptitle(f"{ds.attrs.get('name', '')}: W2 of the output against the number of steps, per scheme")
    caption = (
        f"Exact W2 between the law of the sampler's output (at u = ε) and the target itself (/results/w2_final: "
        f"the prior for 'none', the posterior otherwise; for ε > 0 it includes the truncation error), against the "
        f"number of steps K of the scheme (x axis, log scale; step Δt = (1 − ε)/K, SPEC §7.3; Heun and RK4 "
        f"evaluate the score 2 and 4 times per step). One panel per scheme (columns) and per operator, σ and "
        f"algorithm (rows); y axis: W2 in {_units(ds, 'w2_final')} units, log scale, mean over the seeds. Colour: "
        f"truncation time ε; solid: init normal (y ~ N(0, I) at u = 1), dashed: init exact (the reference law at "
        f"u = 1, no initialisation error). A scheme that evaluates the score at u = 0 with a singular prior "
        f"covariance (Heun, RK4 at ε = 0) has no finite law: its W2 is infinite."
        + (f" ▲: infinite or above {fmt(cap)}." if offscale_any else "") + (ZERO_NOTE if _has_zero(allvals) else ""))
    return Plot(fig, name, title, caption, notes)


# --------------------------------------------------------------------------------------------
# 4. Trajectory grid

def _measurement_image(ds, op, sig, seed):
    """v as an image: its own shape; an inpainting v (1×m) is put back on the observed pixels."""
    v = measurement(ds, op, sig, seed)
    mask = ds.mask.values[op]
    if np.isfinite(mask).all() and v.size == int((mask != 0).sum()) and v.shape != mask.shape:
        img = np.full(mask.shape, np.nan)
        img.ravel()[np.flatnonzero(mask.ravel() != 0)] = v.ravel()
        return img, "observed pixels (missing ones coloured)"
    return v, f"{v.shape[0]}×{v.shape[1]}"


def fig_trajectories(ds, op, sig, seed, sample=0):
    """Rows = algorithms (dps: one row per α_dps); columns = x0, v, y_t at the checkpoints
    (T → 0, sample `sample`), posterior mean."""
    ds = sampler_view(ds)
    if ds.sizes["sample"] == 0 or ds.sizes["checkpoint"] == 0:
        return Plot(None, f"traj_op{op}_s{sig}_seed{seed}", "Trajectories",
                    notes=["Skipped: the sweep stored no trajectories (output.samples = 0)."])
    vs = variants(ds)
    ck = ds.checkpoint.values
    order = np.argsort(-ck, kind="stable")  # T -> 0
    ncol = 2 + len(ck) + 1
    done = ds.done.values
    x0 = ds.x0.values[seed]
    pm = ds.posterior_mean.values[op, sig, seed]
    ref = np.concatenate([x0[np.isfinite(x0)].ravel(), pm[np.isfinite(pm)].ravel()])
    vmin, vmax = (float(ref.min()), float(ref.max())) if ref.size else (0.0, 1.0)
    vimg, vdesc = _measurement_image(ds, op, sig, seed)
    cmap = matplotlib.colormaps["gray"].copy()
    cmap.set_bad("#4a78b5")
    opname, sname, seedv = str(ds.operator.values[op]), fmt(ds.sigma.values[sig]), int(ds.seed.values[seed])
    notes = []
    with style():
        fig = Figure(figsize=(1.55 * ncol + 0.8, 1.6 * len(vs) + 0.7), layout="constrained")
        axes = fig.subplots(len(vs), ncol, squeeze=False)
        for r, v in enumerate(vs):
            a_idx = v.alpha
            if a_idx is None:  # first alpha at which this point is done
                hits = np.nonzero(done[op, sig, :, v.alg, seed])[0]
                a_idx = int(hits[0]) if len(hits) else 0
            traj = read_trajectory(ds, (op, sig, a_idx, v.alg, seed), sample).values
            is_done = bool(done[op, sig, a_idx, v.alg, seed])
            if not is_done:
                notes.append(f"{v.label}: point not done.")
            cells = [("x0", x0, "ground truth x0", (vmin, vmax)),
                     ("v", vimg, f"observation v", (vmin, vmax))]
            for k in order:
                im = traj[k].astype(np.float64)
                if ck[k] == 0:
                    lim = (vmin, vmax)
                else:
                    f = im[np.isfinite(im)]
                    lim = (float(np.percentile(f, 1)), float(np.percentile(f, 99))) if f.size else (vmin, vmax)
                cells.append((f"ckpt{k}", im, f"y_t, t = {int(ck[k])}", lim))
            cells.append(("pmean", pm, "posterior mean", (vmin, vmax)))
            for c, (key, img, title, lim) in enumerate(cells):
                ax = axes[r, c]
                lo, hi = lim
                if not hi > lo:
                    hi = lo + 1e-12
                aim = ax.imshow(img, cmap=cmap, vmin=lo, vmax=hi)
                aim.set_gid(_gid("traj", op=op, sigma=sig, seed=seed, variant=v.key, cell=key, alpha_index=a_idx))
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                if r == 0:
                    ax.set_title(title, fontsize=9)
                if key.startswith("ckpt") and img.size and not np.isfinite(img).all():
                    ax.text(0.5, 0.5, "not done" if not is_done else "diverged\n(non-finite)", ha="center",
                            va="center", transform=ax.transAxes, color="#c00000", fontsize=8.5, weight="bold")
            axes[r, 0].set_ylabel(v.label, fontsize=9.5)
        fig.suptitle(f"{ds.attrs.get('name', '')}: {opname}, σ = {sname}, seed {seedv}, sample {sample}",
                     fontsize=10.5)
    caption = (
        f"Sampled trajectories for operator {opname}, σ = {sname}, seed {seedv} (sample {sample}). Rows: "
        f"algorithms (dps: one row per α_dps); every row uses the same sampler noise path (SPEC §3), so "
        f"rows differ only by the guidance. Columns: ground truth x0, degraded observation v ({vdesc}), the "
        f"sampler's state y_t at the stored checkpoints from t = T (pure noise) down to t = 0 (the output), "
        f"and the exact posterior mean μ_post. Gray scale: x0, v, y_0 and μ_post share the range "
        f"[{vmin:.3g}, {vmax:.3g}] of x0 and μ_post; the intermediate y_t (t > 0) are each scaled to their own "
        f"1–99 % percentiles (they are noisier and not on the image scale)." + _view_caption(ds))
    return Plot(fig, f"traj_op{op}_s{sig}_seed{seed}", f"Trajectories — {opname}, σ = {sname}, seed {seedv}",
                caption, notes)


# --------------------------------------------------------------------------------------------
# 5. Likelihood covariance spectra

def radial_bins(H, W):
    """Radial frequency |ξ| (cycles/pixel) of each DFT coefficient (numpy fft2 order) and its
    bin index; bins have width 1/max(H, W) and the first one holds ξ = 0."""
    r = np.hypot(np.fft.fftfreq(H)[:, None], np.fft.fftfreq(W)[None, :])
    n = max(H, W)
    idx = np.floor(r * n + 0.5).astype(int)
    return r, idx


def radial_average(values, H, W):
    """Average of `values` [H, W] (fft2 order) over |ξ| bins → (bin centres = mean |ξ|, means)."""
    r, idx = radial_bins(H, W)
    nb = idx.max() + 1
    cnt = np.bincount(idx.ravel(), minlength=nb)
    ok = cnt > 0
    rs = np.bincount(idx.ravel(), weights=r.ravel(), minlength=nb)[ok] / cnt[ok]
    vs = np.bincount(idx.ravel(), weights=np.asarray(values, dtype=float).ravel(), minlength=nb)[ok] / cnt[ok]
    return rs, vs


def cvt_eigenvalues(lam, kernel, alpha_bar_t, sigma, alpha_dps=1.0):
    """Eigenvalues c_t(ξ) (fft2 order) of C_{v|t} for a convolution operator, per algorithm
    (SPEC §1): dps σ²/α, pigdm (1−ᾱ)|â|² + σ², cgdm (1−ᾱ)|â|² λ/(ᾱλ + 1 − ᾱ) + σ²."""
    a2 = np.abs(np.fft.fft2(kernel)) ** 2
    ab = float(alpha_bar_t)
    s2 = float(sigma) ** 2
    return {
        "dps": np.full(a2.shape, s2 / float(alpha_dps)),
        "pigdm": (1 - ab) * a2 + s2,
        "cgdm": (1 - ab) * a2 * lam / (ab * lam + 1 - ab) + s2,
    }


def default_spectra_times(ds):
    T = int(ds.t.values[-1])
    return [T, max(1, int(round(T / 20)))] if T > 1 else [T]


def fig_cvt_spectra(ds, op, times=None):
    """Radially averaged eigenvalues of C_{v|t} (dps, pigdm, cgdm) at times near T and near 0."""
    ds = sampler_view(ds)
    opname = str(ds.operator.values[op])
    kernel = ds.kernel.values[op]
    name = f"cvt_spectra_op{op}"
    if "alpha_bar" not in ds:
        return Plot(None, name, f"C_v|t spectra — {opname}",
                    notes=["Skipped: the sweep has no discrete schedule (/schedule/alpha_bar); the continuous "
                           "process is shown by the other figures."])
    if not np.isfinite(kernel).all():
        return Plot(None, name, f"C_v|t spectra — {opname}",
                    notes=[f"Skipped for {opname}: not a convolution (no /problem/op{op}/kernel), so C_v|t "
                           "is not diagonal in the Fourier basis."])
    T = int(ds.t.values[-1])
    times = [int(t) for t in (times or default_spectra_times(ds)) if 0 <= int(t) <= T]
    H, W = ds.sizes["row"], ds.sizes["col"]
    lam = ds.prior_spectrum.values
    ab = ds.alpha_bar.values
    nsig = ds.sizes["sigma"]
    alphas = ds.alpha_dps.values
    dps_vs = [v for v in variants(ds) if v.name == "dps"]
    dps_colors = [v.color for v in dps_vs] or [alg_color("dps")] * len(alphas)
    with style():
        fig = Figure(figsize=(4.4 * len(times) + 2.2, 3.1 * nsig + 0.5), layout="constrained")
        axes = fig.subplots(nsig, len(times), squeeze=False, sharex=True, sharey="row")
        for j in range(nsig):
            s = float(ds.sigma.values[j])
            vals = []
            for c, t in enumerate(times):
                ax = axes[j, c]
                ev = cvt_eigenvalues(lam, kernel, ab[t], s)
                for name_alg in ("pigdm", "cgdm"):
                    rs, m = radial_average(ev[name_alg], H, W)
                    (ln,) = ax.plot(rs, m, color=alg_color(name_alg), marker=".", ms=4,
                                    label=name_alg + (" (exact for the Gaussian prior)" if name_alg == "cgdm" else ""))
                    ln.set_gid(_gid("cvt", op=op, sigma=j, t=t, variant=name_alg))
                    vals.append(m)
                for k, a in enumerate(alphas):
                    rs, m = radial_average(np.full((H, W), s * s / float(a)), H, W)
                    (ln,) = ax.plot(rs, m, color=dps_colors[k % len(dps_colors)], ls="--",
                                    label=f"dps α={fmt(a)}: σ²/α")
                    ln.set_gid(_gid("cvt", op=op, sigma=j, t=t, variant=f"dps@{fmt(a)}"))
                    vals.append(m)
                ax.set_yscale("log")
                fv = finite_positive(*vals)
                if fv.size:
                    _log_minor(ax.yaxis, fv.min(), fv.max())
                ax.set_title(f"σ = {fmt(s)}, t = {t} (ᾱ_t = {ab[t]:.3g})", fontsize=9.5)
                if j == nsig - 1:
                    ax.set_xlabel("radial frequency |ξ| (cycles / pixel)")
            axes[j, 0].set_ylabel("eigenvalue c_t(ξ) of C_v|t\n(pixel intensity²)")
        axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        fig.suptitle(f"{ds.attrs.get('name', '')}: likelihood covariance C_v|t in the Fourier basis — {opname}")
    caption = (
        f"Eigenvalues c_t(ξ) of the covariance C_v|t that each algorithm assumes for p(v | x_t) (SPEC §1), for "
        f"the convolution operator {opname}: dps σ²/α_dps (dashed, constant), pigdm (1−ᾱ_t)|â(ξ)|² + σ², cgdm "
        f"(1−ᾱ_t)|â(ξ)|² λ(ξ)/(ᾱ_t λ(ξ) + 1 − ᾱ_t) + σ² (exact for the Gaussian prior), with â = fft2 of "
        f"/problem/op{op}/kernel, λ = /prior/spectrum and ᾱ_t = /schedule/alpha_bar. Columns: t = "
        f"{', '.join(str(t) for t in times)} (near T, where Σ_t ≈ I, and near 0, where Σ_t ≈ Σ); rows: σ. x axis: "
        f"radial frequency |ξ| in cycles per pixel, averaged over bins of width 1/{max(H, W)} (the first bin is "
        f"ξ = 0); y axis: eigenvalue, log scale.")
    return Plot(fig, name, f"C_v|t spectra — {opname}", caption, [])


# --------------------------------------------------------------------------------------------
# 6. Standard deviation maps

def fig_std_maps(ds, op):
    """sqrt(posterior variance) next to sqrt(sampler variance) per algorithm; rows = σ."""
    ds = sampler_view(ds)
    vs = variants(ds, include_none=False)
    opname = str(ds.operator.values[op])
    nsig = ds.sizes["sigma"]
    done = ds.done.values
    notes = []
    with style():
        fig = Figure(figsize=(2.3 * (1 + len(vs)) + 1.2, 2.45 * nsig + 0.6), layout="constrained")
        axes = fig.subplots(nsig, 1 + len(vs), squeeze=False)
        for j in range(nsig):
            post = np.sqrt(ds.posterior_variance.values[op, j])
            maps = [("posterior", "posterior std", post, None)]
            for v in vs:
                if v.alpha is None:  # any alpha: the file repeats these results on the alpha axis
                    hit = np.argwhere(done[op, j, :, v.alg])
                else:
                    hit = [(v.alpha, s) for s in np.nonzero(done[op, j, v.alpha, v.alg])[0]]
                a_idx, s_idx = (int(hit[0][0]), int(hit[0][1])) if len(hit) else (None, None)
                if s_idx is None:
                    img = np.full(post.shape, np.nan)
                    notes.append(f"σ = {fmt(ds.sigma.values[j])}: {v.label} not done.")
                else:
                    img = np.sqrt(ds.sampler_variance.values[op, j, a_idx, v.alg, s_idx])
                maps.append((v.key, v.label, img, (a_idx, s_idx)))
            pmax = float(np.nanmax(post)) if np.isfinite(post).any() else 1.0
            los, his = [], []
            for _, _, img, _ in maps:
                f = img[np.isfinite(img)]
                if f.size and np.percentile(f, 99) <= 4 * pmax:
                    los.append(float(np.percentile(f, 1)))
                    his.append(float(np.percentile(f, 99)))
            vmin, vmax = (min(los), max(his)) if los else (0.0, pmax)
            if not vmax > vmin:  # flat maps (stationary problems): a small symmetric range
                pad = max(abs(vmax) * 0.02, 1e-12)
                vmin, vmax = vmin - pad, vmax + pad
            pmean = float(np.nanmean(post)) if np.isfinite(post).any() else np.nan
            aim = None
            for c, (key, label, img, where) in enumerate(maps):
                ax = axes[j, c]
                aim = ax.imshow(img, cmap="magma", vmin=vmin, vmax=vmax)
                aim.set_gid(_gid("std", op=op, sigma=j, variant=key,
                                 alpha_index=where[0] if where else "-", seed_index=where[1] if where else "-"))
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                f = img[np.isfinite(img)]
                if where is not None and where[1] is None:
                    sub = "not done"
                elif not f.size:
                    sub = "diverged (non-finite)"
                else:
                    sub = f"mean {np.mean(f):.3g}"
                    if where is not None and np.isfinite(pmean) and pmean > 0:
                        sub += f" (×{np.mean(f) / pmean:.3g})"
                    if np.percentile(f, 99) > 4 * pmax:
                        sub += ", clipped"
                    if f.size < img.size:
                        sub += ", non-finite pixels"
                ax.set_title(f"{label}\n{sub}", fontsize=8.5)
                if where is not None and not f.size:
                    ax.text(0.5, 0.5, sub, ha="center", va="center", transform=ax.transAxes,
                            color="#c00000", fontsize=8.5, weight="bold")
            axes[j, 0].set_ylabel(f"σ = {fmt(ds.sigma.values[j])}")
            cb = fig.colorbar(aim, ax=list(axes[j]), shrink=0.9, extend="both")
            cb.set_label("std (pixel intensity)")
        fig.suptitle(f"{ds.attrs.get('name', '')}: pixel standard deviation, posterior vs sampler — {opname}")
    caption = (
        f"Per-pixel standard deviation of the exact posterior, sqrt(diag Σ_post) (first column, "
        f"/problem/posterior_variance), next to that of the sampler's exact output law, sqrt(diag K_0) "
        f"(/results/sampler_variance), for each algorithm (dps: one column per α_dps), operator {opname}; rows: σ. "
        f"Neither depends on the seed (the first done seed is shown). One linear colour scale per row, from the "
        f"smallest 1st to the largest 99th percentile among the maps (maps whose 99th percentile exceeds 4× the "
        f"posterior's maximum are excluded from the scale and marked 'clipped'); panel titles give the spatial "
        f"mean std and its ratio to the posterior's. For a stationary prior and a convolution the maps are flat "
        f"(every pixel has the same std): compare the colours / numbers between panels. "
        f"'none' is not shown (it targets the prior)." + _view_caption(ds))
    nd = _not_done_note(ds, op)
    if nd:
        notes.insert(0, nd)
    return Plot(fig, f"std_maps_op{op}", f"Standard deviation maps — {opname}", caption, notes)
