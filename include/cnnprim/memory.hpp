// The memory of tensors and scratch buffers.
//
// Every block is aligned to a cache line, so that full-width SIMD loads never straddle two lines. On Linux the
// whole 2 MiB pages inside a block are advised into transparent huge pages: each fresh 4 KiB page from the
// system costs a page fault, and in a virtual machine a fault can cost 10 µs (touching a new 25 MB block took
// 60 ms in 4 KiB pages, 3.3 ms in 2 MiB pages). Fresh pages are what a first-form call meets until the C
// library keeps blocks of its size, and on every call for blocks larger than it keeps (32 MiB in glibc: a
// double max pooling forward on (8, 112, 112, 64) and its cache took 134 ms, 18 ms with the advice). The
// block itself is allocated as usual, not aligned to 2 MiB: glibc's aligned blocks come back a little
// smaller than asked, so it never learns to keep blocks of that size and maps fresh pages on every call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace cnnprim::detail {

inline constexpr std::size_t huge_page_bytes = std::size_t{2} << 20;
inline constexpr std::size_t cache_line_bytes = 64;

// The deleter of a block's std::unique_ptr.
template <class T>
struct ReleaseBlock {
  void operator()(T* p) const noexcept { ::operator delete(p, std::align_val_t{cache_line_bytes}); }
};

template <class T>
using Block = std::unique_ptr<T[], ReleaseBlock<T>>;

// Uninitialised memory for `count` (more than 0) values of T.
template <class T>
Block<T> allocate_block(std::size_t count) {
  const std::size_t bytes = count * sizeof(T);
  void* memory = ::operator new(bytes, std::align_val_t{cache_line_bytes});
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // The whole 2 MiB pages inside the block. Only advice: a kernel without transparent huge pages, or with
  // them disabled, keeps 4 KiB pages.
  const auto start = reinterpret_cast<std::uintptr_t>(memory);
  const std::uintptr_t first = (start + huge_page_bytes - 1) & ~(huge_page_bytes - 1);
  const std::uintptr_t last = (start + bytes) & ~(huge_page_bytes - 1);
  if (first < last) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#endif
  return Block<T>(static_cast<T*>(memory));
}

}  // namespace cnnprim::detail
