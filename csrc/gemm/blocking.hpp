// Block sizes of the BLIS loop nest (jc -> pc -> ic -> jr -> ir with steps NC, KC, MC, NR, MR).
//
// One row per instruction set and dtype, like BLIS's config/<arch> tables. gemm.cpp reads the
// row of the active KernelSet (dispatch.hpp); each micro-kernel TU static_asserts that its
// register tile matches its row. Plain constexpr data, no functions: this header is included
// by the ISA TUs, and anything inline here would be compiled once per ISA (the ODR trap of
// reference/ENGINEERING.md §2).
//
// The cache arithmetic (Zen 4: L1d 32 KiB, L2 1 MiB per core, L3 32 MiB shared; the Zen 5
// these rows were measured on has a 48 KiB L1d and otherwise the same sizes):
//   B micro-panel KC x NR  ~ half of L1: reused by every A micro-panel of the MC block (the
//                          avx512 rows trade that for fewer passes over C: L2, see there);
//   A block      MC x KC  ~ 1/4..1/3 of L2: streamed through once per B micro-panel;
//   B panel      KC x NC  a few MiB of L3, shared by the MC blocks of one pc step.
// MC is a multiple of MR and NC of NR, so only the matrix edge has partial tiles.
// (lscpu on the Zen 5 dev VM: L1d 48 KiB and L2 1 MiB per core, L3 32 MiB shared.)
// When gemm.cpp reads a row-major or small op(A) in place instead of packing it, the "A block"
// is MC rows of KC contiguous elements of A itself: the same footprint in L2, whole lines.
// Re-tuning under load (5 other processes on the 2 vCPUs): KC 128/192/256/384 and NC 384/512/
// 2048 at 512^3 and 1024^3 were all within the run-to-run noise (+-20 %) of wall-clock
// timings; paired ratios of thread CPU times (bench-free harness, configurations interleaved
// round by round) resolved 1-2 % and moved the avx512 rows (below).
// gemm.cpp cuts k into equal blocks of at most KC (balanced_kc), so KC is an upper bound.
#pragma once

#include <cstdint>

namespace fastmlp::gemm {

struct Blocking {
  int64_t mr, nr;      // register tile of the micro-kernel: MR rows of C by NR columns
  int64_t mc, kc, nc;  // cache blocks: MC x KC of A (L2), KC x NC of B (L3), KC x NR in L1
};

//                                       MR  NR   MC   KC    NC
// generic (SSE2, 16 xmm): 6 x 8 floats = 12 acc + 2 B + 1 A = 15/16 xmm.
// KC*NR*4 = 8 KiB B micro-panel (L1), MC*KC*4 = 144 KiB A block (L2), KC*NC*4 = 4 MiB (L3).
inline constexpr Blocking kGenericF32{6, 8, 144, 256, 4096};
// 6 x 4 doubles = 12 acc + 2 B + 1 A = 15/16 xmm. 8 KiB (L1), 144 KiB (L2), 4 MiB (L3).
inline constexpr Blocking kGenericF64{6, 4, 72, 256, 2048};

// avx2 (16 ymm): 6 x 16 floats = 12 acc + 2 B + 1 A = 15/16 ymm.
// KC*NR*4 = 16 KiB B micro-panel (L1), MC*KC*4 = 288 KiB A block (L2), KC*NC*4 = 4 MiB (L3).
inline constexpr Blocking kAvx2F32{6, 16, 288, 256, 4096};
// 6 x 8 doubles = 12 acc + 2 B + 1 A = 15/16 ymm. 16 KiB (L1), 288 KiB (L2), 4 MiB (L3).
inline constexpr Blocking kAvx2F64{6, 8, 144, 256, 2048};

// avx512 (32 zmm): 8 x 32 floats = 16 acc + 2 B + 1 A = 19/32 zmm (why 8 rows: see
// ukernel_avx512.cpp). KC 512, the B micro-panel then in L2 rather than L1: every KC block
// costs a load and a store of all of C, and once C outgrows L2 those passes, not the kernel's
// loads from L2, set the pace. Paired ratios on Zen 5 against KC 192 (both with gemm.cpp's
// balanced KC), float32 / float64: 512^3 +4 / +5 %, 1024^3 +3 / 0 %, 2048^3 +25 / +11 %,
// 4096x512x512 +9 / +10 %, 256x784x512 +2 / +9 %, the small shapes within +-1 %. KC 256 and
// 384 were in between. NC so that the B panel is 2 MiB, a slice of the shared L3, in both
// dtypes (float64 NC 512 over 2048, A read in place: 2048^3 +12 %, 1024^3 +1 %; float32 NC
// 1024 over 4096: 2048^3 +3 %, the rest within +-1 %). MC keeps the A block at a quarter of
// L2 (MC 128 / 64 and 240 / 120 measured alike, +-1 %):
//   KC*NR*4 = 64 KiB B micro-panel (L2), MC*KC*4 = 256 KiB A block (L2),
//   KC*NC*4 = 2 MiB B panel (L3).
inline constexpr Blocking kAvx512F32{8, 32, 128, 512, 1024};
// 8 x 16 doubles = 16 acc + 2 B + 1 A = 19/32 zmm. 64 KiB (L2), 256 KiB (L2), 2 MiB (L3).
inline constexpr Blocking kAvx512F64{8, 16, 64, 512, 512};

}  // namespace fastmlp::gemm
