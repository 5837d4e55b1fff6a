#!/usr/bin/python3
"""Write the sweep-file fuzz corpus of tests/test_sweep.c (test_fuzz_corpus), deterministically.

    /usr/bin/python3 tests/data/fuzz/make_corpus.py    # rewrites tests/data/fuzz/c*.yaml

Each file is a small valid sweep mutated once or twice: extreme numbers (0, -0, subnormals,
1e308, 2^31, 2^63 and neighbours, 1e400, .inf, .nan), wrong node types, deleted, repeated or
swapped lines, truncations, stray bytes, anchors and aliases (also recursive), long keys and
values, and the axes of SPEC §7. The test parses every file and, when the parse succeeds,
builds every operator: nothing may crash or hit undefined behaviour (the suite also runs under
UBSan), and errors must be input errors (exit code 1), never runtime errors."""

import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

BASE = """name: fuzz
prior: {texture: builtin:fabric, size: [8, 6], periodic: true}
diffusion: {steps: 40, beta_start: 0.001, beta_end: 0.3, variance: beta}
grid:
  operator:
    - identity: {}
    - gaussian_blur: {std: 1.5}
    - motion_blur: {length: 3, angle: 30}
    - inpainting: {mask: random, keep: 0.5, mask_seed: 3}
    - inpainting: {mask: box, box: [1, 1, 3, 2]}
    - super_resolution: {factor: 2}
  sigma: [0.05, 0.1]
  alpha_dps: [0.5, 1.0]
  algorithm: [none, dps, pigdm, cgdm, {ddrm: {eta: 0.85, eta_b: 1.0}}]
  scheme: [ddpm, {ddim: {eta: 0.5}}]
  sampler_steps: [10, 40]
  eps: [0]
  init: [normal, exact]
  seed: [0, 7]
output: {samples: 1, checkpoints: [37, 1, 0], w2_times: [0, 20, 40]}
"""

EXTREMES = ["0", "-0", "-0.0", "1", "-1", "2", "0.5", "1e-300", "1e-320", "4.9e-324", "2.2250738585072014e-308",
            "1.7976931348623157e308", "1e308", "1e309", "1e400", "-1e400", "1.0e-200", "1.0e200",
            "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967296",
            "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
            "18446744073709551616", "99999999999999999999999999", ".inf", "-.inf", ".nan", "0x10", "1_000",
            "1e3", "+5", "--5", "5.", ".5", "e5", "1e", "nan", "inf", "~", "null", "''", "\"\"", "[]", "{}",
            "[1, 2]", "{a: 1}", "true", "yes", "\"2\"", "'x'", "&a 1", "*undefined_alias", "!!str 3",
            "!!int 3", "!!float 1e5", "? complex", "|\n  block", "\u00e9", "\t1"]

NUMBER_SPOTS = ["size: [8, 6]", "steps: 40", "beta_start: 0.001", "beta_end: 0.3", "std: 1.5", "length: 3",
                "angle: 30", "keep: 0.5", "mask_seed: 3", "box: [1, 1, 3, 2]", "factor: 2", "sigma: [0.05, 0.1]",
                "alpha_dps: [0.5, 1.0]", "eta: 0.85", "eta_b: 1.0", "eta: 0.5", "sampler_steps: [10, 40]",
                "eps: [0]", "seed: [0, 7]", "samples: 1", "checkpoints: [37, 1, 0]", "w2_times: [0, 20, 40]"]


def replace_value(text, spot, value):
    key, _, old = spot.partition(": ")
    if old.startswith("["):
        n = old.count(",") + 1
        vals = [value] * n if random.random() < 0.5 else [value] + old[1:-1].split(", ")[1:]
        return text.replace(spot, f"{key}: [{', '.join(vals)}]", 1)
    return text.replace(spot, f"{key}: {value}", 1)


def mutate(text, rng):
    kind = rng.randrange(12)
    lines = text.split("\n")
    if kind <= 3:
        return replace_value(text, rng.choice(NUMBER_SPOTS), rng.choice(EXTREMES))
    if kind == 4:  # delete a line
        del lines[rng.randrange(len(lines))]
    elif kind == 5:  # repeat a line
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif kind == 6:  # swap two lines
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == 7:  # truncate
        return text[: rng.randrange(len(text))]
    elif kind == 8:  # stray bytes
        i = rng.randrange(len(text))
        junk = "".join(chr(rng.choice([0x01, 0x7f, ord("{"), ord("["), ord(":"), ord("-"), ord("&"), ord("*"),
                                       ord("!"), ord("%"), ord("@"), ord("`"), ord("\t"), 0xe9, 0x2028])) for _ in
                       range(rng.randrange(1, 4)))
        return text[:i] + junk + text[i:]
    elif kind == 9:  # a value replaced by an alias, possibly recursive
        spot = rng.choice(NUMBER_SPOTS)
        key = spot.partition(":")[0]
        return text.replace(spot, f"{key}: &r [*r, 1]" if rng.random() < 0.5 else f"{key}: *r", 1)
    elif kind == 10:  # long key or value
        spot = rng.choice(NUMBER_SPOTS)
        key = spot.partition(":")[0]
        return text.replace(spot, f"{key}: {'9' * rng.choice([30, 400, 5000])}", 1) if rng.random() < 0.5 else \
            text.replace(spot, f"{'k' * rng.choice([100, 600, 5000])}: 1", 1)
    else:  # a section's value replaced by a scalar / list / deep nesting
        sec = rng.choice(["prior", "diffusion", "grid", "output", "operator", "algorithm", "scheme", "init"])
        for i, line in enumerate(lines):
            if line.strip().startswith(sec + ":"):
                indent = line[: len(line) - len(line.lstrip())]
                lines[i] = indent + sec + ": " + rng.choice(["3", "[]", "{}", "[" * 40 + "]" * 40, "~", "[[1]]"])
                break
    return "\n".join(lines)


def main():
    rng = random.Random(20250601)
    random.seed(20250601)
    for old in os.listdir(HERE):
        if old.startswith("c") and old.endswith(".yaml"):
            os.remove(os.path.join(HERE, old))
    files = {"c000_base.yaml": BASE}
    # one mutation of every number spot with every extreme value is too many; sample them
    n = 1
    for spot in NUMBER_SPOTS:
        for value in rng.sample(EXTREMES, 4):
            files[f"c{n:03d}_value.yaml"] = replace_value(BASE, spot, value)
            n += 1
    while n < 260:
        t = mutate(BASE, rng)
        if rng.random() < 0.3:
            t = mutate(t, rng)
        files[f"c{n:03d}_mut.yaml"] = t
        n += 1
    # hand-written cases
    files["c900_billion_laughs.yaml"] = BASE.replace(
        "seed: [0, 7]", "seed: &a [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n  x: &b [*a, *a, *a, *a, *a, *a, *a, *a]")
    files["c901_all_axes_big.yaml"] = BASE.replace("sampler_steps: [10, 40]", "sampler_steps: [" +
                                                   ", ".join(str(i) for i in range(1, 41)) + "]")
    files["c902_empty.yaml"] = ""
    files["c903_nul.yaml"] = BASE[:40] + "\x00" + BASE[40:]
    files["c904_bom.yaml"] = "\ufeff" + BASE
    files["c905_two_docs.yaml"] = BASE + "---\n" + BASE
    files["c906_huge_size.yaml"] = BASE.replace("size: [8, 6]", "size: [2147483647, 2147483647]")
    files["c907_size_overflow.yaml"] = BASE.replace("size: [8, 6]", "size: [65536, 65537]")
    files["c908_box_overflow.yaml"] = BASE.replace("box: [1, 1, 3, 2]", "box: [2147483647, 2147483647, 2147483647, 1]")
    files["c909_factor_big.yaml"] = BASE.replace("factor: 2", "factor: 2147483647")
    files["c910_steps_max.yaml"] = BASE.replace("steps: 40", "steps: 10000000").replace(
        "w2_times: [0, 20, 40]", "w2_times: [0]").replace("checkpoints: [37, 1, 0]", "checkpoints: [0]")
    files["c911_length_edge.yaml"] = BASE.replace("length: 3", "length: 10000000")
    files["c912_length_over.yaml"] = BASE.replace("length: 3", "length: 214748365")
    files["c913_angle_huge.yaml"] = BASE.replace("angle: 30", "angle: 1.0e308")
    files["c914_std_edge.yaml"] = BASE.replace("std: 1.5", "std: 1.1e-154")
    files["c915_tabs.yaml"] = BASE.replace("  ", "\t")
    files["c916_deep.yaml"] = BASE.replace("sigma: [0.05, 0.1]", "sigma: " + "[" * 500 + "]" * 500)
    files["c917_keys_only.yaml"] = "name:\nprior:\ndiffusion:\ngrid:\noutput:\n"
    files["c918_mask_seed_max.yaml"] = BASE.replace("mask_seed: 3", "mask_seed: 9223372036854775807")
    files["c919_ddrm_only_sr.yaml"] = BASE.replace("[none, dps, pigdm, cgdm, {ddrm: {eta: 0.85, eta_b: 1.0}}]",
                                                   "[ddrm, {ddrm: {eta: 0, eta_b: 0}}, {ddrm: {eta: 1}}]")
    # the continuous process and a spectrum prior (SPEC §7.3, §7.6), mutated too
    vp = """name: fuzz-vp
prior: {spectrum: ../cifar10_spectrum.npy, mean: 0}
diffusion: {process: vp_sde, beta_min: 0.1, beta_max: 20}
grid:
  operator: [identity: {}]
  sigma: [0.1]
  algorithm: [none, cgdm]
  scheme: [em, ei, ddpm, euler, heun, rk4]
  sampler_steps: [4, 9]
  eps: [0, 0.001]
  init: [normal, exact]
output: {samples: 0, checkpoints: [0, 4], w2_times: [0, 4, 9]}
"""
    files["c950_vp_base.yaml"] = vp
    vp_spots = ["beta_min: 0.1", "beta_max: 20", "mean: 0", "sampler_steps: [4, 9]", "eps: [0, 0.001]",
                "checkpoints: [0, 4]", "w2_times: [0, 4, 9]", "sigma: [0.1]"]
    k = 951
    for spot in vp_spots:
        for value in rng.sample(EXTREMES, 3):
            files[f"c{k:03d}_vp.yaml"] = replace_value(vp, spot, value)
            k += 1
    files[f"c{k:03d}_vp.yaml"] = vp.replace("[identity: {}]", "[gaussian_blur: {std: 1}]")
    files[f"c{k + 1:03d}_vp.yaml"] = vp.replace("[none, cgdm]", "[none, ddrm]")
    files[f"c{k + 2:03d}_vp.yaml"] = vp.replace("spectrum: ../cifar10_spectrum.npy", "spectrum: make_corpus.py")
    files[f"c{k + 3:03d}_vp.yaml"] = vp.replace("process: vp_sde", "process: ddpm")
    for name, text in files.items():
        with open(os.path.join(HERE, name), "w", encoding="utf-8", errors="surrogatepass", newline="") as f:
            f.write(text)
    print(f"{len(files)} files in {HERE}")


if __name__ == "__main__":
    main()
