#!/usr/bin/python3
"""Figures of a gdsweep sweep file and an HTML page showing them.

    /usr/bin/python3 analysis/report.py OUT.h5 -o DIR

writes DIR/*.png and DIR/index.html (see analysis/README.md)."""

import os
import sys

import matplotlib

matplotlib.use("Agg")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gdsweep_analysis.report import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
