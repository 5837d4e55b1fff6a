"""Output format 2 (SPEC §7.8): nine grid axes, w2_final, respaced samplers, ddrm, the
continuous VP SDE (time axis k and /results/time). The files are synthetic (conftest.make_format2,
make_vp_sde) with values that identify their indices, so that every selection can be checked
against the raw datasets."""

import h5py
import numpy as np
import pytest

from conftest import FMT2, FMT2_AXES, VP, artists_with_gid, fmt2_w2final, run_report, visited, vp_time
from gdsweep_analysis import GRID_DIMS, load, read_trajectory
from gdsweep_analysis import figures as F
from gdsweep_analysis.common import reference_sampler, sampler_view, sampler_view_text, variants


def _raw(path, name):
    with h5py.File(path, "r") as f:
        return f[name][()]


def test_format2_axes_and_dims(fmt2_h5):
    ds = load(fmt2_h5, trajectories=True)
    assert GRID_DIMS == FMT2_AXES
    for ax in FMT2_AXES:
        assert [x.item() if hasattr(x, "item") else x for x in ds[ax].values] == FMT2[ax], ax
    assert ds.attrs["gdsweep_format"] == 2 and ds.attrs["process"] == "ddpm"
    assert list(ds.t.values) == list(range(FMT2["T"] + 1))
    for name in ("w2", "w2_mean", "w2_cov"):
        assert ds[name].dims == FMT2_AXES + ("t",)
    for name in ("w2_final", "w2_final_mean", "w2_final_cov", "done", "wall_time"):
        assert ds[name].dims == FMT2_AXES
    assert ds.trajectories.dims == FMT2_AXES + ("sample", "checkpoint", "row", "col")
    assert ds.sampler_mean.dims == FMT2_AXES + ("row", "col")
    assert list(ds.operator_backend.values) == ["fourier-diagonal", "dense-distributed"]


def test_format2_values_equal_raw_and_not_done_masked(fmt2_h5):
    ds = load(fmt2_h5, trajectories=True)
    done = _raw(fmt2_h5, "results/done").astype(bool)
    assert (~done).sum() == 2
    np.testing.assert_array_equal(ds.done.values, done)
    for name in ("w2", "w2_final", "w2_final_cov", "sampler_variance", "trajectories", "wall_time"):
        raw = _raw(fmt2_h5, "results/" + name) if name != "wall_time" else _raw(fmt2_h5, "provenance/wall_time")
        got = ds[name].values
        np.testing.assert_array_equal(got[done], raw[done], err_msg=name)
        assert np.isnan(got[~done]).all(), name  # garbage in the file, NaN in the dataset
        assert (raw[~done] == 123.0).all()
    raw = load(fmt2_h5, mask_not_done=False)
    assert (raw.w2_final.values[~done] == 123.0).all()
    # the synthetic values: w2_final from the effective indices, at every done point
    for idx in np.ndindex(done.shape):
        if done[idx]:
            assert ds.w2_final.values[idx] == fmt2_w2final(idx)


def test_format2_label_selection(fmt2_h5):
    ds = load(fmt2_h5)
    sel = ds.w2_final.sel(algorithm="ddrm(eta=0.85,eta_b=1)", scheme="ddim(eta=0)", sampler_steps=10,
                          init="exact", eps=0.0)
    assert sel.dims == ("operator", "sigma", "alpha_dps", "seed")
    raw = _raw(fmt2_h5, "results/w2_final")[:, :, :, 3, 1, 1, 0, 1, :]
    np.testing.assert_array_equal(sel.values, raw)
    # unvisited times of a respaced sampler are NaN in the curves, visited ones are not
    curve = ds.w2.sel(operator=ds.operator.values[0], sigma=0.1, alpha_dps=0.1, algorithm="pigdm",
                      scheme="ddpm", sampler_steps=5, eps=0.0, init="normal", seed=0).values
    vis = visited(FMT2["T"], 5)
    assert all(np.isfinite(curve[t]) == (t in vis) for t in range(FMT2["T"] + 1))


def test_format2_lazy_and_read_trajectory(fmt2_h5):
    lazy = load(fmt2_h5, trajectories="lazy", lazy=True)
    raw = _raw(fmt2_h5, "results/trajectories")
    idx = (1, 1, 0, 2, 1, 2, 0, 0, 1)
    np.testing.assert_array_equal(lazy.trajectories[idx].values, raw[idx])
    np.testing.assert_array_equal(read_trajectory(load(fmt2_h5), idx, 0).values, raw[idx + (0,)])
    # the reference sampler view (ddpm, S = 20, init normal) maps 5 indices onto the nine
    view = sampler_view(load(fmt2_h5))
    ref = reference_sampler(load(fmt2_h5))
    assert ref == {"scheme": 0, "sampler_steps": 2, "eps": 0, "init": 0}
    five = (1, 0, 1, 2, 1)
    full = five[:4] + (0, 2, 0, 0) + five[4:]
    np.testing.assert_array_equal(read_trajectory(view, five, 0).values, raw[full + (0,)])
    assert sampler_view_text(view) == "scheme ddpm, S = 20 steps, init normal"


def test_nfe_figure_equals_w2_final(fmt2_h5):
    ds = load(fmt2_h5)
    p = F.fig_w2_nfe(ds)
    assert p.fig is not None
    arts = artists_with_gid(p.fig, "nfe")
    final = ds.w2_final.values
    steps = np.array(FMT2["sampler_steps"])
    vs = {v.key: v for v in variants(ds)}
    n_lines = 0
    for key, art in arts.items():
        kv = dict(key)
        if kv["stat"] != "mean":
            continue
        n_lines += 1
        v = vs[kv["variant"]]
        op, s = int(kv["op"]), int(kv["sigma"])
        ini = FMT2["init"].index(kv["init"])
        sc = 0 if kv["scheme"] == "-" else FMT2["scheme"].index(kv["scheme"])
        a = v.alpha if v.alpha is not None else 0
        vals = final[op, s, a, v.alg, sc, :, 0, ini, :]  # [steps, seed]
        if v.alpha is None and np.isnan(vals).any():  # not done at α 0: the file repeats it on α
            vals = np.where(np.isnan(vals), final[op, s, 1, v.alg, sc, :, 0, ini, :], vals)
        with np.errstate(invalid="ignore"):
            want = np.nanmean(vals, axis=1)
        np.testing.assert_array_equal(art.get_xdata(), steps)
        np.testing.assert_array_equal(art.get_ydata(), want)
    # 2 operators x 2 sigmas x (2 dps α + pigdm + cgdm: 3 schemes; 2 ddrm: scheme ignored) x 2 inits
    assert n_lines == 2 * 2 * (4 * 3 + 2) * 2
    # ddrm: one curve per init, not per scheme
    assert all(dict(k)["scheme"] == "-" for k in arts if dict(k)["variant"].startswith("ddrm"))
    ax = p.fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    # dps α = 1 diverges at σ = 0.02: drawn as off-scale markers, at every step count
    off = arts[tuple(sorted({"op": "0", "sigma": "0", "variant": "dps@1", "scheme": "ddpm", "init": "normal",
                             "stat": "offscale"}.items()))]
    np.testing.assert_array_equal(off.get_offsets()[:, 0], steps)
    assert "ddrm" in " ".join(p.notes) and "NFE" in p.caption


def test_nfe_figure_skipped_for_one_step_count(main_h5):
    p = F.fig_w2_nfe(load(main_h5))
    assert p.fig is None and "single sampler_steps" in p.notes[0]
    assert F.fig_vp_steps(load(main_h5)).fig is None  # discrete process


def test_existing_figures_show_ddrm(fmt2_h5):
    ds = load(fmt2_h5, trajectories="lazy")
    view = sampler_view(ds)
    final = view.w2_final.values
    # W2(t): ddrm next to dps/pigdm/cgdm; the reference sampler (S = T) has every t
    p = F.fig_w2_time(ds, 0)
    lines = artists_with_gid(p.fig, "w2t")
    keys = {dict(k)["variant"] for k in lines}
    assert {"ddrm(eta=0.85,eta_b=1)", "ddrm(eta=0,eta_b=1)", "pigdm", "cgdm", "dps@0.1"} <= keys
    ln = lines[(("op", "0"), ("sigma", "1"), ("stat", "mean"), ("var", "w2"), ("variant", "ddrm(eta=0,eta_b=1)"))]
    want = np.nanmean(view.w2.values[0, 1, 0, 4], axis=0)
    np.testing.assert_array_equal(ln.get_ydata(), want)
    assert "Sampler shown: scheme ddpm, S = 20 steps, init normal" in p.caption
    # W2 at t = 0 against α: ddrm as a horizontal line at its mean over seeds
    p = F.fig_w2_alpha(ds)
    arts = artists_with_gid(p.fig, "alpha")
    hl = arts[(("op", "1"), ("sigma", "1"), ("stat", "mean"), ("variant", "ddrm(eta=0.85,eta_b=1)"))]
    np.testing.assert_allclose(hl.get_ydata()[0], np.mean(final[1, 1, 0, 3, :]), rtol=1e-15)
    # bias, std maps, trajectories: ddrm has its panel / column / row
    assert any("ddrm" in dict(k)["variant"] for k in artists_with_gid(F.fig_bias(ds).fig, "bias"))
    assert any("ddrm" in dict(k)["variant"] for k in artists_with_gid(F.fig_std_maps(ds, 0).fig, "std"))
    tr = artists_with_gid(F.fig_trajectories(ds, 0, 0, 0).fig, "traj")
    assert any("ddrm" in dict(k)["variant"] for k in tr)


def test_w2_time_respaced_reference_joins_visited_times(fmt2_h5, tmp_path):
    """With S = 5 as the only step count the W2(t) curve is drawn through the visited times."""
    ds = load(fmt2_h5).isel(sampler_steps=[0])
    p = F.fig_w2_time(ds, 0)
    lines = artists_with_gid(p.fig, "w2t")
    ln = lines[(("op", "0"), ("sigma", "0"), ("stat", "mean"), ("var", "w2"), ("variant", "pigdm"))]
    assert list(ln.get_xdata()) == sorted(visited(FMT2["T"], 5))
    assert "respaced" in p.caption


def test_report_format2(fmt2_h5, tmp_path):
    out = run_report(fmt2_h5, tmp_path / "rep", "--traj-max", "1")
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "w2_final_vs_nfe.png" in pngs and "w2_t_op0.png" in pngs and "bias_vs_sigma.png" in pngs
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "ddrm η=0.85, η_b=1" in html and "schemes: ddpm, ddim(eta=0), ddim(eta=1)" in html


def test_vp_sde_loader(vp_h5):
    ds = load(vp_h5)
    assert ds.attrs["process"] == "vp_sde" and "k" in ds.dims and "t" not in ds.dims
    kmax = max(VP["sampler_steps"])
    assert list(ds.k.values) == list(range(kmax + 1))
    assert ds.w2.dims == FMT2_AXES + ("k",)
    assert ds.time.dims == ("sampler_steps", "eps", "k")
    for st, K in enumerate(VP["sampler_steps"]):
        for e, eps in enumerate(VP["eps"]):
            np.testing.assert_array_equal(ds.time.values[st, e], vp_time(K, eps, kmax))
    # curves are NaN past a point's own K
    assert np.isnan(ds.w2.values[..., 0, :, :, :, 5:]).all() and np.isfinite(ds.w2.values[0, 0, 0, 0, 0, 0, 0, 0, 0, :5]).all()
    assert np.isinf(ds.w2_final.sel(scheme="heun", eps=0.0).values).all()
    assert np.isinf(ds.w2_final.sel(scheme="rk4", eps=0.0).values).all()


def test_vp_sde_figures(vp_h5):
    ds = load(vp_h5)
    assert F.fig_w2_nfe(ds).fig is None
    p = F.fig_w2_time(ds, 0)  # reference: scheme em, K = 16, eps 0, init normal
    lines = artists_with_gid(p.fig, "w2t")
    ln = lines[(("op", "0"), ("sigma", "0"), ("stat", "mean"), ("var", "w2"), ("variant", "cgdm"))]
    np.testing.assert_array_equal(ln.get_xdata(), vp_time(16, 0.0, 16))
    assert p.fig.axes[0].get_xlim() == (1, 0)
    assert F.fig_cvt_spectra(ds, 0).fig is None


def test_vp_steps_figure_equals_w2_final(vp_h5):
    ds = load(vp_h5)
    p = F.fig_vp_steps(ds)
    arts = artists_with_gid(p.fig, "vp")
    final = ds.w2_final.values
    vs = {v.key: v for v in variants(ds)}
    n = 0
    for key, art in arts.items():
        kv = dict(key)
        if kv["stat"] != "mean":
            continue
        n += 1
        v = vs[kv["variant"]]
        sc, ini = VP["scheme"].index(kv["scheme"]), VP["init"].index(kv["init"])
        e = [f"{x:.4g}" for x in VP["eps"]].index(kv["eps"])
        np.testing.assert_array_equal(art.get_xdata(), VP["sampler_steps"])
        np.testing.assert_array_equal(art.get_ydata(), final[0, 0, 0, v.alg, sc, :, e, ini, :].mean(axis=1))
    # 2 algorithms x 4 schemes x 2 eps x 2 inits (heun, rk4 at eps 0: inf, drawn as markers)
    assert n == 2 * 4 * 2 * 2
    off = [k for k in arts if dict(k)["stat"] == "offscale"]
    assert off and all(dict(k)["scheme"] in ("heun", "rk4") and dict(k)["eps"] == "0" for k in off)
    # one (operator, σ, algorithm): the paper's layout, schemes on a grid of 3 columns
    one = F.fig_vp_steps(ds.isel(algorithm=[1]))
    visible = [ax for ax in one.fig.axes if ax.get_visible() and ax.get_title().startswith("scheme")]
    assert [ax.get_title() for ax in visible] == [f"scheme {sc}" for sc in VP["scheme"]]
    ln = artists_with_gid(one.fig, "vp")[tuple(sorted({"op": "0", "sigma": "0", "variant": "cgdm", "scheme": "rk4",
                                                        "eps": "0.001", "init": "exact", "stat": "mean"}.items()))]
    np.testing.assert_array_equal(ln.get_ydata(), final[0, 0, 0, 1, 3, :, 1, 1, :].mean(axis=1))


def test_vp_table_paper_layout(vp_h5):
    from gdsweep_analysis.report import table_w2_final
    ds = load(vp_h5)
    v = variants(ds)[1]  # cgdm
    rows, cols = table_w2_final(ds, 0, 0, v)
    # columns: steps ascending x init; rows: scheme x eps
    assert cols == [(K, i) for K in VP["sampler_steps"] for i in VP["init"]]
    assert [(r[0], r[1]) for r in rows] == [(sc, e) for sc in VP["scheme"] for e in VP["eps"]]
    final = ds.w2_final.values
    for sc_name, e_val, vals in rows:
        sc, e = VP["scheme"].index(sc_name), VP["eps"].index(e_val)
        for (K, iname), cell in zip(cols, vals):
            st, ini = VP["sampler_steps"].index(K), VP["init"].index(iname)
            np.testing.assert_array_equal(cell, final[0, 0, 0, v.alg, sc, st, e, ini, :])


def test_report_vp_sde(vp_h5, tmp_path):
    out = run_report(vp_h5, tmp_path / "rep")
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "w2_final_vs_steps_vp.png" in pngs and "w2_final_vs_nfe.png" not in pngs
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "rows scheme × ε, columns steps × init" in html
    assert html.count("<caption>w2_final") == 2  # none and cgdm
    assert "<td>∞</td>" in html  # heun at eps = 0


def test_report_vp_sde_csv(vp_h5, tmp_path):
    """Every (operator, σ, algorithm) table also goes to w2_final_table.csv, values straight from the file."""
    import csv
    out = run_report(vp_h5, tmp_path / "rep")
    assert sorted(p.name for p in out.glob("*.csv")) == ["w2_final_table.csv"]
    with h5py.File(vp_h5, "r") as f:
        final = f["results/w2_final"][...]
    with open(out / "w2_final_table.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["operator", "sigma", "algorithm", "scheme", "eps"] + \
        [f"K={K} {i}" for K in sorted(VP["sampler_steps"]) for i in VP["init"]]
    assert len(rows) == 1 + len(VP["algorithm"]) * len(VP["scheme"]) * len(VP["eps"])
    seen = set()
    for r in rows[1:]:
        assert r[0] == VP["operator"][0] and float(r[1]) == VP["sigma"][0]
        g, sc, e = VP["algorithm"].index(r[2]), VP["scheme"].index(r[3]), VP["eps"].index(float(r[4]))
        seen.add((g, sc, e))
        for j, cell in enumerate(r[5:]):
            K, iname = rows[0][5 + j].split(" ")
            st, ini = VP["sampler_steps"].index(int(K[2:])), VP["init"].index(iname)
            expect = final[0, 0, 0, g, sc, st, e, ini, :].mean()
            assert float(cell) == expect or (np.isinf(expect) and cell == "inf")
    assert len(seen) == len(rows) - 1
