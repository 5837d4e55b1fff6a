"""report.py: every figure is written, non-blank, and shown in index.html with a caption;
incomplete files (points not done) and other sweep shapes still give a report."""

import re
import shutil

import h5py
import matplotlib.image as mpimg
import numpy as np
import pytest

from conftest import MAIN, run_report

# the partial / empty reports draw one trajectory figure only (--traj-max 1) to save time
EXPECTED_ONE_TRAJ = ["w2_t_op0.png", "w2_t_op1.png", "w2_t0_vs_alpha.png", "bias_vs_sigma.png",
                     "traj_op0_s0_seed0.png", "cvt_spectra_op0.png", "cvt_spectra_op1.png",
                     "std_maps_op0.png", "std_maps_op1.png"]
EXPECTED_MAIN = (["w2_t_op0.png", "w2_t_op1.png", "w2_t0_vs_alpha.png", "bias_vs_sigma.png"]
                 + [f"traj_op{o}_s{s}_seed0.png" for o in range(2) for s in range(2)]
                 + ["cvt_spectra_op0.png", "cvt_spectra_op1.png", "std_maps_op0.png", "std_maps_op1.png"])


def _check_png(path):
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, path
    rgb = img[..., :3].reshape(-1, 3)
    assert rgb.var() > 1e-4, f"{path}: blank image"
    packed = (np.round(rgb * 255).astype(np.uint32) * np.array([65536, 256, 1], dtype=np.uint32)).sum(axis=1)
    assert len(np.unique(packed)) > 16, f"{path}: (almost) a single colour"


def _index(outdir):
    html = (outdir / "index.html").read_text(encoding="utf-8")
    srcs = re.findall(r"<img src='([^']+)'", html)
    return html, srcs


def _check_report(outdir, expected=None):
    pngs = sorted(p.name for p in outdir.glob("*.png"))
    if expected is not None:
        assert pngs == sorted(expected)
    html, srcs = _index(outdir)
    assert sorted(srcs) == pngs, "index.html must show every PNG (and only existing ones)"
    for p in pngs:
        _check_png(outdir / p)
    caps = re.findall(r"<figcaption>(.*?)</figcaption>", html, re.S)
    assert len(caps) == len(pngs) and all(len(c) > 200 for c in caps)
    return html


def test_report_main(main_report):
    html = _check_report(main_report, EXPECTED_MAIN)
    assert MAIN["name"] in html
    assert "status: complete" in html
    assert "x axis: diffusion time t" in html  # the caption says how time runs
    assert "name: pytest-main" in html  # the config is shown
    assert html.count("<figcaption>") == len(EXPECTED_MAIN)


def test_report_partial_file(partial_h5, tmp_path):
    out = run_report(partial_h5, tmp_path / "rep", "--traj-max", "1")
    html = _check_report(out, EXPECTED_ONE_TRAJ)
    assert "not done" in html
    with h5py.File(partial_h5, "r") as f:
        n_off = int((f["results/done"][()] == 0).sum())
    assert f"incomplete: {n_off} of {f_size(partial_h5)} grid points are not done" in html
    assert "pigdm not done" in html  # (op 0, sigma 0) has no pigdm at all


def f_size(path):
    with h5py.File(path, "r") as f:
        return f["results/done"].size


def test_report_nothing_done(main_h5, tmp_path):
    """A file whose run was killed before any point finished."""
    dst = tmp_path / "empty.h5"
    shutil.copy(main_h5, dst)
    with h5py.File(dst, "r+") as f:
        f["results/done"][...] = 0
        for name in ("w2", "w2_mean", "w2_cov", "sampler_mean", "sampler_variance"):
            f["results/" + name][...] = np.nan
    out = run_report(dst, tmp_path / "rep", "--traj-max", "1")
    html, srcs = _index(out)
    assert sorted(srcs) == sorted(EXPECTED_ONE_TRAJ)
    assert srcs and all((out / s).exists() for s in srcs)
    assert "incomplete" in html and "not done" in html


def test_report_edge_shapes(edge_h5, tmp_path):
    out = run_report(edge_h5, tmp_path / "rep", "--spectra-times", "30,2")
    html = _check_report(out, ["w2_t_op0.png", "bias_vs_sigma.png", "cvt_spectra_op0.png", "std_maps_op0.png"])
    assert "no trajectories (output.samples = 0)" in html
    assert "no dps algorithm" in html
    assert "W2 was computed at the marked times only" in html


def test_trajectory_selection(main_ds):
    from gdsweep_analysis.report import trajectory_selection
    combos, note = trajectory_selection(main_ds, "all", 3)
    assert combos == [(0, 0, 0), (0, 1, 0), (1, 0, 0)] and "limited to the first 3 of 8" in note
    assert trajectory_selection(main_ds, "first", 24) == ([(0, 0, 0), (0, 1, 0), (1, 0, 0), (1, 1, 0)], None)
    assert trajectory_selection(main_ds, "7", 24)[0] == [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)]
