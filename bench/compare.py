#!/usr/bin/python3
"""Table of gds_bench vs numpy_ref.py timings (used by bench/run.sh).

usage: compare.py C_OUTPUT NUMPY_OUTPUT   (files holding their 'BENCH ...' / 'CHECK ...' lines)

Targets (issue, one core): law_<alg> C median <= 0.2 s and NumPy/C >= 10x; traj_<alg> C median
<= 0.5 s. PASS/FAIL is judged on wall-clock medians as the issue asks; CPU-time medians are
shown too because on a shared machine wall time includes slices lost to other jobs.
"""
import sys

TARGETS = {"law": (0.2, 10.0), "traj": (0.5, None)}


def parse(path):
    bench, checks = {}, []
    with open(path) as f:
        for line in f:
            w = line.split()
            if w[:1] == ["BENCH"] and len(w) >= 7:
                bench[w[1]] = {"med": float(w[2]), "min": float(w[3]), "max": float(w[4]), "cpu": float(w[6])}
            elif w[:1] == ["CHECK"]:
                checks.append(w[1:])
    return bench, checks


def fmt(x):
    """Seconds: 3 decimals, or 3 significant digits below 0.1 s (small problems)."""
    return "-" if x is None else (f"{x:.3f}" if x >= 0.1 else f"{x:.3g}")


def main():
    c, _ = parse(sys.argv[1])
    n, checks = parse(sys.argv[2])
    hdr = ("case", "C median s", "C min-max s", "C cpu s", "NumPy median s", "NumPy cpu s", "NumPy/C",
           "NumPy/C cpu", "target", "result")
    rows = []
    for name, cb in c.items():
        if "." in name:
            continue  # phases: raw output only
        nb = n.get(name)
        ratio = nb["med"] / cb["med"] if nb else None
        ratio_cpu = nb["cpu"] / cb["cpu"] if nb else None
        kind = name.split("_")[0]
        tmax, rmin = TARGETS.get(kind, (None, None))
        target, verdict = [], []
        if tmax is not None:
            target.append(f"<= {tmax:g} s")
            verdict.append(("PASS" if cb["med"] <= tmax else "FAIL") + " time")
        if rmin is not None:
            target.append(f">= {rmin:g}x")
            verdict.append(("PASS" if ratio is not None and ratio >= rmin else "FAIL") + " ratio")
        rows.append((name, fmt(cb["med"]), f"{fmt(cb['min'])}-{fmt(cb['max'])}", fmt(cb["cpu"]),
                     fmt(nb["med"] if nb else None), fmt(nb["cpu"] if nb else None),
                     "-" if ratio is None else f"{ratio:.2f}x", "-" if ratio_cpu is None else f"{ratio_cpu:.2f}x",
                     ", ".join(target) or "(component)", ", ".join(verdict) or "-"))
    widths = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(len(hdr))]
    line = lambda r: "| " + " | ".join(str(x).ljust(w) for x, w in zip(r, widths)) + " |"
    print(line(hdr))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))

    # What limits a trajectory: its components are timed separately (same d, same T).
    for name in [k for k in c if k.startswith("traj_")]:
        for who, b in (("C", c), ("NumPy", n)):
            if name in b and "rng" in b and "fft" in b:
                tot, rng, fft = b[name]["cpu"], b["rng"]["cpu"], b["fft"]["cpu"]
                rest = tot - rng - fft
                print(f"\n{name} ({who}, CPU medians): {tot:.3f} s = rng {rng:.3f} s ({100 * rng / tot:.0f}%)"
                      f" + fft {fft:.3f} s ({100 * fft / tot:.0f}%) + rest {rest:.3f} s ({100 * rest / tot:.0f}%)"
                      " (pointwise multipliers, checkpoint copies)", end="")
        print()

    if checks:
        bad = [ch for ch in checks if ch[-1] != "PASS"]
        worst = max((float(ch[2]) for ch in checks if ch[1].startswith("w2")), default=float("nan"))
        print(f"\nequal work: {len(checks) - len(bad)}/{len(checks)} NumPy-vs-C checks pass; "
              f"max relative difference of the W2 curves {worst:.2e} (tolerance 1e-8)")
        for ch in bad:
            print("  FAILED: " + " ".join(ch))


if __name__ == "__main__":
    main()
