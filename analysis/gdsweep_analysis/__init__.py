"""Offline analysis of gdsweep sweep files: a loader returning labelled arrays and the
figures of the study (see analysis/README.md).

    from gdsweep_analysis import load
    ds = load("out.h5")
    ds.w2.sel(algorithm="pigdm", sigma=0.05)
"""

from .loader import GRID_DIMS, load, measurement, read_trajectory  # noqa: F401

__all__ = ["load", "measurement", "read_trajectory", "GRID_DIMS"]
__version__ = "0.1.0"
