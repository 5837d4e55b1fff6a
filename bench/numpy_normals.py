#!/usr/bin/python3
"""Time NumPy's default generator drawing the normals of one trajectory: T draws of an H x W
array, numpy.random.default_rng().standard_normal((H, W)) (PCG64 + ziggurat), as many as the
sampler draws (bench/traj.sh compares the two in one invocation).

usage: numpy_normals.py [-s N | --height H --width W] [-T T] [-r REPS] [--warmup W]
Output: 'BENCH numpy_normals median_s min_s max_s reps cpu_median_s' (as gds_bench).
"""
import argparse
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-s", "--size", type=int, default=256)
    ap.add_argument("--height", type=int)
    ap.add_argument("--width", type=int)
    ap.add_argument("-T", "--steps", type=int, default=1000)
    ap.add_argument("-r", "--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    H, W = a.height or a.size, a.width or a.size
    rng = np.random.default_rng(12345)
    wall, cpu, sink = [], [], 0.0
    for r in range(a.warmup + a.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        for t in range(a.steps):
            sink += rng.standard_normal((H, W))[0, t % W]
        t1, c1 = time.perf_counter(), time.process_time()
        if r >= a.warmup:
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
    print(f"# numpy {np.__version__}: {a.steps} x standard_normal(({H}, {W})) = {a.steps * H * W} normals "
          f"(sum {sink:.3f})")
    print(f"BENCH {'numpy_normals':<22} {np.median(wall):.6f} {min(wall):.6f} {max(wall):.6f} {len(wall)} "
          f"{np.median(cpu):.6f}", flush=True)


if __name__ == "__main__":
    main()
