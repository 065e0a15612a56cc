// PackBuffer: where gemm.cpp packs operands. For gemm.cpp alone (baseline flags; never included
// by an ISA TU).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace fastmlp::gemm {

// A grow-only 64-byte-aligned buffer; one per thread and operand, so packing never allocates
// once a thread has seen its largest block.
struct PackBuffer {
  void* data = nullptr;
  size_t bytes = 0;
  ~PackBuffer() { std::free(data); }
  template <class T>
  T* get(int64_t count) {
    size_t need = (static_cast<size_t>(count) * sizeof(T) + 63) / 64 * 64;
    if (need > bytes) {
      std::free(data);
      data = std::aligned_alloc(64, need);
      bytes = data ? need : 0;
      if (!data) throw std::bad_alloc();
    }
    return static_cast<T*>(data);
  }
};

}  // namespace fastmlp::gemm
