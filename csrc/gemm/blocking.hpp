// Block sizes of the BLIS loop nest (jc -> pc -> ic -> jr -> ir with steps NC, KC, MC, NR, MR).
//
// The register tile (MR x NR) is fixed per instruction set and dtype: it is what the
// micro-kernel computes, and each micro-kernel TU static_asserts its tile against the row
// below. The cache blocks (KC, MC, NC) are derived at load time from the caches of the CPU the
// process runs on (isa/caches.hpp) by BLIS's analytic model (derive_blocking, blocking.cpp;
// docs/gemm.md explains it), not taken from the machine the rows were tuned on:
//   B micro-panel  KC x NR  where the tile's rule says: half of L1 (reused by every A
//                           micro-panel of the block), or 1/16 of L2 (the avx512 rows: KC twice
//                           as long halves the passes over C, which then set the pace);
//   A block        MC x KC  half of L2 (a quarter when the B micro-panels live there too);
//   B panel        KC x NC  a slice of this core's share of L3, at most 2 MiB.
// Only declarations and plain constexpr data here: this header is included by the ISA TUs,
// and anything inline would be compiled once per ISA (the ODR rule, docs/isa.md).
#pragma once

#include <cstdint>

namespace fastmlp::isa {
struct Caches;
}

namespace fastmlp::gemm {

struct Blocking {
  int64_t mr, nr;      // register tile of the micro-kernel: MR rows of C by NR columns
  int64_t mc, kc, nc;  // cache blocks: MC x KC of A (L2), KC x NC of B (L3), KC x NR (L1/L2)
  int64_t pack_a_bytes;  // a row-major op(A) larger than this is packed (gemm.cpp use_direct_a)
  bool masked_b;         // masked loads are cheap: a B of at most NR columns is read in place
};

// Where the KC x NR B micro-panel is meant to stay while the A block streams past it.
enum class PanelHome : int { l1, l2 };

struct Tile {
  int64_t mr, nr;
  PanelHome b_home;
  bool cheap_masks;  // masked vector loads cost about a plain load (AVX-512's k masks)
};

// When a row-major A is packed rather than read in place: past half of L2 for the tiles whose
// B micro-panel lives in L1 (its MR rows, far apart in a large A, then miss L2 and the TLB);
// the avx512 tiles read float32 in place at any size and pack float64 past 2 L2 (measured:
// docs/tuning.md).
int64_t pack_a_threshold(const Tile& tile, int64_t elem_bytes, const isa::Caches& c);

// generic (SSE2, 16 xmm): 6 x 8 floats / 6 x 4 doubles = 12 acc + 2 B + 1 A = 15/16 xmm.
inline constexpr Tile kGenericF32{6, 8, PanelHome::l1, false};
inline constexpr Tile kGenericF64{6, 4, PanelHome::l1, false};
// avx2 (16 ymm): 6 x 16 floats / 6 x 8 doubles = 12 acc + 2 B + 1 A = 15/16 ymm.
inline constexpr Tile kAvx2F32{6, 16, PanelHome::l1, false};
inline constexpr Tile kAvx2F64{6, 8, PanelHome::l1, false};
// avx2 float64 products of 9 to 12 columns (a 10-class output layer): 4 x 12 doubles = 12 acc +
// 3 B + 1 A = 16/16 ymm, 10 of 12 lanes used where 6 x 8 plus a 6 x 4 edge use 10 of 12 too but
// read A twice and run the edge on 6 FMA chains (too few for 2 pipes of 4 cycles).
inline constexpr Tile kAvx2F64N12{4, 12, PanelHome::l1, false};
// avx512 (32 zmm): 8 x 32 floats / 8 x 16 doubles = 16 acc + 2 B + 1 A = 19/32 zmm (why 8
// rows: ukernel_avx512.cpp); B micro-panel in L2 (measured: docs/tuning.md).
inline constexpr Tile kAvx512F32{8, 32, PanelHome::l2, true};
inline constexpr Tile kAvx512F64{8, 16, PanelHome::l2, true};
// neon (AArch64, 32 v registers of 128 bits): 8 x 8 floats / 8 x 4 doubles = 16 acc + 2 B +
// 8 A = 26/32 (ukernel_neon.cpp says why not 8 x 12); never timed (no ARM machine here). No
// masked loads: an edge vector goes through a stack buffer.
inline constexpr Tile kNeonF32{8, 8, PanelHome::l1, false};
inline constexpr Tile kNeonF64{8, 4, PanelHome::l1, false};

// The blocking of `tile` for elements of `elem_bytes` on a CPU with caches `c`. MC is a
// multiple of MR and NC of NR, so only the matrix edge has partial tiles.
Blocking derive_blocking(const Tile& tile, int64_t elem_bytes, const isa::Caches& c);

// FASTMLP_BLOCKING="MC,KC,NC" (benchmarks: force a blocking to compare with the derived one),
// applied to `b` with MC and NC rounded up to whole tiles; `b` unchanged when it is not set.
// Throws std::invalid_argument naming the variable when it is malformed.
Blocking blocking_override(Blocking b);

}  // namespace fastmlp::gemm
