/* Run-time choice of SIMD code for hot loops (GCC function multi-versioning): a function marked
 * GDS_SIMD_CLONES is compiled for baseline x86-64, x86-64-v3 (AVX2) and x86-64-v4 (AVX-512), and
 * the dynamic loader picks the best version the CPU supports. So the default build (no
 * -march=native) runs on any x86-64 node and still vectorises where the node allows.
 * Only for element-wise loops (no reductions): ISO C mode (-std=c11) contracts no FMA and no
 * clone reassociates, so every version computes the same bits on every CPU. */
#ifndef GDSWEEP_SIMD_H
#define GDSWEEP_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define GDS_SIMD_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define GDS_SIMD_CLONES
#endif

#endif
