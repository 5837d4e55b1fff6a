"""Build the figures of a sweep file and an index.html that shows them with captions."""

from __future__ import annotations

import argparse
import csv
import html
import os
import sys
import time

import numpy as np

from . import figures as F
from .common import fmt, point_values, sampler_view, sampler_view_text, summary, t0_index, variants
from .loader import load


def _parse_seeds(ds, spec):
    """--traj-seeds: 'first', 'all', or comma-separated seed values → seed indices."""
    seeds = [int(s) for s in ds.seed.values]
    if spec in (None, "", "first"):
        return [0] if seeds else []
    if spec == "all":
        return list(range(len(seeds)))
    out = []
    for tok in str(spec).split(","):
        val = int(tok)
        if val not in seeds:
            raise SystemExit(f"--traj-seeds: seed {val} is not on the seed axis {seeds}")
        out.append(seeds.index(val))
    return out


def trajectory_selection(ds, traj_seeds="first", traj_max=24):
    """(operator, sigma, seed) indices of the trajectory figures, and a note if limited."""
    combos = [(op, sig, seed) for seed in _parse_seeds(ds, traj_seeds)
              for op in range(ds.sizes["operator"]) for sig in range(ds.sizes["sigma"])]
    if len(combos) <= traj_max:
        return combos, None
    return combos[:max(0, traj_max)], (
        f"Trajectory figures limited to the first {traj_max} of {len(combos)} (operator, σ, seed) "
        f"combinations (report.py --traj-max / --traj-seeds).")


def build_plots(ds, traj_seeds="first", traj_max=24, spectra_times=None):
    """All figures of the report, in display order (figures are generated lazily one by one,
    so that they can be saved and closed before the next one is drawn)."""
    nop, nsig = ds.sizes["operator"], ds.sizes["sigma"]
    for op in range(nop):
        yield lambda op=op: F.fig_w2_time(ds, op)
    if ds.attrs.get("process") == "vp_sde":
        yield lambda: F.fig_vp_steps(ds)
    else:
        yield lambda: F.fig_w2_nfe(ds)
    yield lambda: F.fig_w2_alpha(ds)
    yield lambda: F.fig_bias(ds)
    if ds.sizes["sample"] == 0 or ds.sizes["checkpoint"] == 0:
        yield lambda: F.fig_trajectories(ds, 0, 0, 0)  # skipped, with its note
    else:
        combos, msg = trajectory_selection(ds, traj_seeds, traj_max)
        for op, sig, seed in combos:
            yield lambda op=op, sig=sig, seed=seed: F.fig_trajectories(ds, op, sig, seed)
        if msg:
            yield lambda: F.Plot(None, "traj_more", "More trajectories", notes=[msg])
    for op in range(nop):
        yield lambda op=op: F.fig_cvt_spectra(ds, op, spectra_times)
    for op in range(nop):
        yield lambda op=op: F.fig_std_maps(ds, op)


def _table_w2_t0(ds):
    """HTML table: W2 at t0, mean over seeds (min–max), per (operator, σ) and algorithm."""
    ds = sampler_view(ds)
    t0 = t0_index(ds)
    vs = variants(ds)
    arr = ds.w2.values[..., t0]
    done = ds.done.values
    head = "".join(f"<th>{html.escape(v.label)}</th>" for v in vs)
    rows = []
    for i, op in enumerate(ds.operator.values):
        for j, s in enumerate(ds.sigma.values):
            cells = []
            for v in vs:
                x = point_values(arr, done, i, j, v)
                x = x[~np.isnan(x)]
                if not x.size:
                    cells.append("<td class='nd'>not done</td>")
                else:
                    rng = f" <small>({np.min(x):.4g}–{np.max(x):.4g})</small>" if x.size > 1 else ""
                    cells.append(f"<td>{np.mean(x):.4g}{rng}</td>")
            rows.append(f"<tr><th>{html.escape(str(op))}</th><th>{fmt(s)}</th>{''.join(cells)}</tr>")
    view = sampler_view_text(ds)
    return (f"<table><caption>W2 at t = {t0} between the sampler's output law and the posterior "
            f"({html.escape(ds.w2.attrs.get('units', ''))}), mean over done seeds (min–max); 'none' is "
            f"compared with the prior.{html.escape(' Sampler: ' + view + '.') if view else ''}</caption>"
            f"<tr><th>operator</th><th>σ</th>{head}</tr>"
            + "".join(rows) + "</table>")


def _seed_mean(x):
    """Mean over the done seeds of a table cell (NaN = not done), None when none is done."""
    x = x[~np.isnan(x)]
    return float(np.mean(x)) if x.size else None


def _w2_cell(x):
    m = _seed_mean(x)
    if m is None:
        return "<td class='nd'>not done</td>"
    return "<td>∞</td>" if np.isinf(m) else f"<td>{m:.4g}</td>"


def table_w2_final(ds, op, sig, v):
    """w2_final (mean over seeds) of one (operator, σ, variant) in the layout of Pierret & Galerne's
    table: rows scheme × ε, columns sampler_steps × init. Returns (rows, column labels), rows as
    (scheme, ε, [values])."""
    from .figures import nfe_values
    steps = ds.sampler_steps.values.astype(np.int64)
    order = np.argsort(steps)
    inits = [str(i) for i in ds.init.values]
    cols = [(int(steps[k]), inits[i]) for k in order for i in range(len(inits))]
    rows = []
    for sc, scname in enumerate(ds.scheme.values):
        for e, eps in enumerate(ds.eps.values):
            vals = []
            for k in order:
                for i in range(len(inits)):
                    vals.append(nfe_values(ds, op, sig, v, sc, i, eps=e)[k])  # [seed]
            rows.append((str(scname), float(eps), vals))
    return rows, cols


def _tables_w2_final(ds, max_tables=6):
    """HTML tables of w2_final in the paper's layout, one per (operator, σ, algorithm)."""
    if "w2_final" not in ds or "scheme" not in ds.dims:
        return ""
    from .figures import vp_combos
    combos = vp_combos(ds)
    out = []
    for op, sig, v in combos[:max_tables]:
        rows, cols = table_w2_final(ds, op, sig, v)
        head = "".join(f"<th>K = {k}<br>{html.escape(i)}</th>" if ds.attrs.get("process") == "vp_sde"
                       else f"<th>S = {k}<br>{html.escape(i)}</th>" for k, i in cols)
        body = "".join(f"<tr><th>{html.escape(sc)}</th><th>{fmt(e)}</th>{''.join(_w2_cell(x) for x in vals)}</tr>"
                       for sc, e, vals in rows)
        out.append(f"<table><caption>w2_final ({html.escape(ds.w2_final.attrs.get('units', ''))}) — "
                   f"{html.escape(str(ds.operator.values[op]))}, σ = {fmt(ds.sigma.values[sig])}, "
                   f"{html.escape(v.label)}: W2 between the output law and the target, mean over done seeds; rows "
                   f"scheme × ε, columns steps × init (the layout of Pierret &amp; Galerne, ICML 2025).</caption>"
                   f"<tr><th>scheme</th><th>ε</th>{head}</tr>{body}</table>")
    if len(combos) > max_tables:
        out.append(f"<p class='note'>Only the first {max_tables} of {len(combos)} (operator, σ, algorithm) tables "
                   "are shown.</p>")
    return "\n".join(out)


def write_w2_final_csv(ds, outdir):
    """Every w2_final table of _tables_w2_final (all of them, not only those shown) in one CSV file,
    `w2_final_table.csv`, for a paper's table: one row per (operator, σ, algorithm, scheme, ε), one
    column per (steps, init) as in the paper's layout; each cell the mean over done seeds ('inf'
    for ∞, empty when not done), full precision. Returns the file name, or None."""
    if "w2_final" not in ds or "scheme" not in ds.dims:
        return None
    from .figures import vp_combos
    kind = "K" if ds.attrs.get("process") == "vp_sde" else "S"
    name = "w2_final_table.csv"
    with open(os.path.join(outdir, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        for n, (op, sig, v) in enumerate(vp_combos(ds)):
            rows, cols = table_w2_final(ds, op, sig, v)
            if n == 0:
                w.writerow(["operator", "sigma", "algorithm", "scheme", "eps"] + [f"{kind}={k} {i}" for k, i in cols])
            for sc, e, vals in rows:
                cells = ["" if m is None else repr(m) for m in map(_seed_mean, vals)]
                w.writerow([str(ds.operator.values[op]), repr(float(ds.sigma.values[sig])), v.key, sc, repr(e)] + cells)
    return name


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}
figure{margin:2em 0;padding:1em;border:1px solid #ddd;border-radius:6px}
figure img{max-width:100%;height:auto}
figcaption{font-size:0.95em;line-height:1.45;margin-top:0.6em}
.note{color:#8a4b00;background:#fff4e0;padding:0.4em 0.7em;border-radius:4px;margin:0.3em 0}
.skipped{color:#555;font-style:italic}
pre{background:#f6f6f6;padding:0.8em;overflow-x:auto;font-size:0.85em}
table{border-collapse:collapse;font-size:0.9em;margin:1em 0}
td,th{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}
td.nd{color:#a00}
caption{caption-side:top;text-align:left;padding:0.3em 0;font-size:0.95em}
"""


def make_report(path, outdir, traj_seeds="first", traj_max=24, spectra_times=None, dpi=130,
                verbose=False):
    """Write the figures of sweep file `path` as PNG in `outdir` and `outdir/index.html`.
    Returns the list of (png name or None, Plot) in display order."""
    os.makedirs(outdir, exist_ok=True)
    ds = load(path, trajectories="lazy")
    entries = []
    for make in build_plots(ds, traj_seeds, traj_max, spectra_times):
        t = time.time()
        p = make()
        png = None
        if p.fig is not None:
            png = p.name + ".png"
            p.fig.savefig(os.path.join(outdir, png), dpi=dpi)
            p.fig = None  # release memory; Figure objects are not tracked by pyplot
        if verbose:
            print(f"report: {png or p.name + ' (skipped)'} in {time.time() - t:.1f} s", file=sys.stderr)
        entries.append((png, p))
    _write_html(ds, outdir, entries)
    write_w2_final_csv(ds, outdir)
    return entries


def _write_html(ds, outdir, entries):
    a = ds.attrs
    name = html.escape(str(a.get("name", "")))
    summ = html.escape(summary(ds))
    n, nd = ds.done.size, int(ds.done.values.sum())
    status = ("complete" if nd == n else
              f"<span class='note'>incomplete: {n - nd} of {n} grid points are not done; their results "
              "are left out of every figure</span>")
    prov = ", ".join(f"{k} = {html.escape(str(a[k]))}" for k in
                     ("version", "git_revision", "start_time", "end_time", "ranks", "resume_count", "host")
                     if k in a)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>gdsweep report: {name}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>gdsweep report: {name}</h1>",
             f"<p>{summ}</p><p>File: <code>{html.escape(str(a.get('source_file', '')))}</code>; status: {status}."
             f"<br><small>{prov}</small></p>",
             "<h2>Contents</h2><ol>"]
    for png, p in entries:
        if png:
            parts.append(f"<li><a href='#{p.name}'>{html.escape(p.title)}</a></li>")
        else:
            parts.append(f"<li class='skipped'>{html.escape(p.title)}: skipped</li>")
    parts.append("</ol>")
    parts.append(_table_w2_t0(ds))
    if ds.attrs.get("process") == "vp_sde" or ("sampler_steps" in ds.dims and ds.sizes["sampler_steps"] > 1):
        parts.append("<h2>W2 of the output (w2_final) per sampler</h2>")
        parts.append(_tables_w2_final(ds))
    for png, p in entries:
        notes = "".join(f"<div class='note'>{html.escape(n)}</div>" for n in p.notes)
        if png:
            parts.append(
                f"<figure id='{p.name}'><h2>{html.escape(p.title)}</h2>"
                f"<a href='{png}'><img src='{png}' alt='{html.escape(p.title)}'></a>"
                f"<figcaption>{html.escape(p.caption)} {notes}<br><small>{summ}</small></figcaption></figure>")
        else:
            parts.append(f"<figure id='{p.name}' class='skipped'><h2>{html.escape(p.title)} "
                         f"(not drawn)</h2>{notes}</figure>")
    parts.append("<h2>Sweep configuration (root attribute <code>config</code>)</h2>"
                 f"<pre>{html.escape(str(a.get('config', '')))}</pre></body></html>")
    with open(os.path.join(outdir, "index.html"), "w", encoding="utf-8") as f:
        f.write("\n".join(parts))


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="report.py",
        description="Figures of a gdsweep sweep file (PNG) and DIR/index.html showing them with captions.")
    ap.add_argument("file", help="sweep output file (gdsweep run ... -o FILE); may be incomplete")
    ap.add_argument("-o", "--outdir", required=True, help="output directory (created)")
    ap.add_argument("--traj-seeds", default="first",
                    help="seeds of the trajectory figures: first (default), all, or values e.g. 0,3")
    ap.add_argument("--traj-max", type=int, default=24, help="at most this many trajectory figures (24)")
    ap.add_argument("--spectra-times", default=None,
                    help="times of the C_v|t spectra, e.g. 1000,50 (default: T and T/20)")
    ap.add_argument("--dpi", type=int, default=130, help="PNG resolution (130)")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    if not os.path.exists(args.file):
        ap.error(f"{args.file}: no such file")
    times = [int(x) for x in args.spectra_times.split(",")] if args.spectra_times else None
    t = time.time()
    entries = make_report(args.file, args.outdir, args.traj_seeds, args.traj_max, times, args.dpi,
                          verbose=not args.quiet)
    if not args.quiet:
        n = sum(1 for png, _ in entries if png)
        print(f"report: {n} figures in {time.time() - t:.1f} s -> {os.path.join(args.outdir, 'index.html')}",
              file=sys.stderr)
    return 0
