// The layout of a KeptPack (gemm.hpp) as gemm.cpp reads and writes it: w's element (p, j) in
// the packed op(B) of a GEMM with k rows p (SharedPack's layout, shared_pack.hpp), and when a
// GEMM uses it. For gemm.cpp alone (baseline flags; never included by an ISA TU).
#pragma once

#include <algorithm>
#include <cstdint>

#include "gemm/blocking.hpp"
#include "gemm/gemm.hpp"  // KeptPack, kept_unpack
#include "gemm/shared_pack.hpp"

namespace fastmlp::gemm {

// Rows p come in KC blocks of kc (the last one shorter); block [start, start + kc_cur) begins
// at start * ld (ld: n rounded up to whole micro-panels of nr), and within it column j's
// micro-panel at (j / nr) * nr * kc_cur, row p at (p - start) * nr. So the nr columns of a
// micro-panel are contiguous in each row, rows nr apart: a C tile of the dW product (rows p,
// columns j, the same nr) is a tile with leading dimension nr, as long as its rows stay in one
// KC block. The zero padding past n, written when w was packed, is never touched.
template <class T>
class KeptLayout {
 public:
  explicit KeptLayout(const KeptPack<T>& kept)
      : data_(kept.data), ld_((kept.n + kept.nr - 1) / kept.nr * kept.nr), nr_(kept.nr),
        kc_(kept.kc), k_(kept.k) {}

  // Where C(p, j) of the dW product lies (j a micro-panel's first column), and in *rows how
  // many rows from p on stay in its KC block. Tiles come in row order, so a division is rare.
  T* at(int64_t p, int64_t j, int64_t* rows) {
    if (p < start_ || p >= start_ + kc_cur_) start_ = p / kc_ * kc_, kc_cur_ = std::min(kc_, k_ - start_);
    *rows = start_ + kc_cur_ - p;
    return data_ + start_ * ld_ + j * kc_cur_ + (p - start_) * nr_;
  }

  // w (k x n, leading dimension w_ld) := the layout's contents.
  void unpack(T* w, int64_t w_ld, int64_t n) {
    for (int64_t p = 0, rows; p < k_; ++p) {
      T* row = w + p * w_ld;
      for (int64_t j = 0; j < n; j += nr_) {
        const T* src = at(p, j, &rows);
        std::copy(src, src + std::min(nr_, n - j), row + j);
      }
    }
  }

 private:
  T* data_;
  int64_t ld_, nr_, kc_, k_;
  int64_t start_ = 0, kc_cur_ = 0;  // the KC block of the last row asked for
};

// Whether a KeptPack holds w in the layout of op(B) for a (k x n) GEMM blocked as bk.
template <class T>
bool kept_matches(const KeptPack<T>& kept, const Blocking& bk, int64_t k, int64_t n) {
  return kept.valid && kept.nr == bk.nr && kept.kc == bk.kc && kept.k == k && kept.n == n;
}

// The packed op(B) a GEMM reads from a KeptPack, packed now unless it holds it in this layout
// already (the first step), or nullptr (kept unpacked, so b is current) when the GEMM reads B
// in place or the layout does not fit kept's capacity.
template <class T>
const T* use_kept_b(KeptPack<T>& kept, const Blocking& bk, PackT<T> pack_t, int64_t k,
                    int64_t n, const T* b, int64_t b_rs, int64_t b_cs, bool direct_b) {
  if (kept_matches(kept, bk, k, n) && !direct_b) return kept.data;
  kept_unpack(kept);
  if (direct_b || (n + bk.nr - 1) / bk.nr * bk.nr > kept.capacity / k) return nullptr;
  SharedPack<T> pack(false, n, bk.nr, bk.kc, k, b, b_rs, b_cs, kept.data, pack_t);
  pack.ensure_packed();  // alone: this thread packs every piece
  kept.valid = true, kept.nr = bk.nr, kept.kc = bk.kc, kept.k = k, kept.n = n;
  return kept.data;
}

// Whether an (m x n) product updates its C (beta 1, no epilogue) in a KeptPack, which holds it
// as the op(B) of a GEMM with k = m blocked as read_bk. Otherwise kept is unpacked: c is current.
template <class T>
bool use_kept_c(KeptPack<T>& kept, const Blocking& read_bk, int64_t m, int64_t n, T beta,
                const Epilogue<T>* ep) {
  if (kept_matches(kept, read_bk, m, n) && beta == T(1) && !ep) {
    kept.w_stale = true;
    return true;
  }
  kept_unpack(kept);
  return false;
}

}  // namespace fastmlp::gemm
