// BLIS's analytic blocking model (Low et al., "Analytical modeling is enough for high
// performance BLIS"), simplified to whole fractions of each cache: see blocking.hpp.
#include "gemm/blocking.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "isa/caches.hpp"

namespace fastmlp::gemm {
namespace {

int64_t round_down(int64_t x, int64_t to) { return x / to * to; }
int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

// The largest B panel: beyond 2 MiB a bigger panel saved nothing measurable and takes L3
// from the other cores of the CCX (which a VM's sysfs does not always show as sharing it).
constexpr int64_t kMaxPanelBytes = int64_t(2) << 20;

}  // namespace

Blocking derive_blocking(const Tile& tile, int64_t elem, const isa::Caches& c) {
  Blocking b{tile.mr, tile.nr, 0, 0, 0, 0, tile.cheap_masks};
  // KC: the B micro-panel (KC x NR) in half of L1 or 1/16 of L2; a multiple of 8 (whole
  // 32-byte lines of a packed float32 A micro-panel row), at least 64 (C's loads and stores
  // then stay small next to the k loop) and at most 1024.
  const int64_t b_bytes = tile.b_home == PanelHome::l1 ? c.l1d / 2 : c.l2 / 16;
  b.kc = std::clamp<int64_t>(round_down(b_bytes / (tile.nr * elem), 8), 64, 1024);
  // MC: the A block (MC x KC) in half of L2, or a quarter when the B micro-panels share it.
  const int64_t a_bytes = tile.b_home == PanelHome::l1 ? c.l2 / 2 : c.l2 / 4;
  b.mc = std::max(tile.mr, round_down(a_bytes / (b.kc * elem), tile.mr));
  // NC: the B panel (KC x NC) in half of this core's share of L3, at most kMaxPanelBytes.
  const int64_t l3_share = c.l3 / std::max(1, c.l3_sharing);
  const int64_t panel = std::min(kMaxPanelBytes, std::max(l3_share / 2, c.l2));
  b.nc = std::max(tile.nr, round_down(panel / (b.kc * elem), tile.nr));
  b.pack_a_bytes = pack_a_threshold(tile, elem, c);
  return b;
}

int64_t pack_a_threshold(const Tile& tile, int64_t elem, const isa::Caches& c) {
  if (tile.b_home == PanelHome::l1) return c.l2 / 2;
  return elem == 4 ? INT64_MAX : 2 * c.l2;
}

Blocking blocking_override(Blocking b) {
  const char* env = std::getenv("FASTMLP_BLOCKING");
  if (!env || !*env) return b;
  std::vector<int64_t> v;
  std::stringstream ss(env);
  std::string part;
  while (std::getline(ss, part, ',')) {
    char* end = nullptr;
    const long long x = std::strtoll(part.c_str(), &end, 10);
    v.push_back(end && *end == '\0' && !part.empty() && x >= 1 && x <= (1 << 20) ? x : -1);
  }
  if (v.size() != 3 || *std::min_element(v.begin(), v.end()) < 1)
    throw std::invalid_argument(std::string("FASTMLP_BLOCKING='") + env +
                                "' must be 'MC,KC,NC': three integers in [1, 1048576]");
  b.mc = round_up(v[0], b.mr), b.kc = v[1], b.nc = round_up(v[2], b.nr);
  return b;
}

}  // namespace fastmlp::gemm
