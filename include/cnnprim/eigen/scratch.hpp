// Per-thread scratch memory for the Eigen kernels, reused from call to call.
//
// A layer runs on the same shapes again and again; allocating its temporaries each time cost small
// convolutions more than their arithmetic (fresh pages from the system on every call). Each purpose has
// one buffer per thread, which keeps the largest size asked of it up to scratch_kept_bytes; a call that
// needed a larger buffer gives it back when it returns, so that one huge call does not hold its memory for
// the life of the thread. cnnprim::release_scratch() gives back all of the calling thread's scratch memory.
#pragma once

#include <array>
#include <cstddef>
#include <memory>

#include "../memory.hpp"

namespace cnnprim::detail::eigen {

enum class Scratch {
  PaddedImage,
  PackedFilter,
  Patches,
  PatchGradients,
  PartialSums,
  WindowTaps,
  WindowShares,
  OutputRow,
  WideOperand,
  WideResult,
  Phase,
  Count
};

// What a thread keeps between calls, per buffer.
inline constexpr std::size_t scratch_kept_bytes = std::size_t{64} << 20;

class ScratchMemory {
 public:
  static ScratchMemory& of_this_thread() {
    thread_local ScratchMemory memory;
    return memory;
  }

  // `bytes` of the buffer for `purpose`, aligned as memory.hpp says; their values are left from earlier use.
  void* get(Scratch purpose, std::size_t bytes) {
    Buffer& buffer = buffers_[static_cast<std::size_t>(purpose)];
    if (buffer.bytes < bytes) {
      buffer.data.reset();  // before the new allocation, so the two are never held at once
      buffer.data = allocate_block<std::byte>(bytes);
      buffer.bytes = bytes;
    }
    return buffer.data.get();
  }

  // Gives back every buffer larger than `kept` bytes.
  void trim(std::size_t kept) {
    for (Buffer& buffer : buffers_)
      if (buffer.bytes > kept) {
        buffer.data.reset();
        buffer.bytes = 0;
      }
  }

 private:
  struct Buffer {
    Block<std::byte> data;
    std::size_t bytes = 0;
  };
  std::array<Buffer, static_cast<std::size_t>(Scratch::Count)> buffers_;
};

// `size` elements of the calling thread's buffer for `purpose`.
template <class T, Scratch purpose>
T* scratch(std::size_t size) {
  return static_cast<T*>(ScratchMemory::of_this_thread().get(purpose, size * sizeof(T)));
}

// Held by each call into the Eigen kernels: on return, buffers beyond what a thread keeps are given back.
struct ScratchScope {
  ScratchScope() = default;
  ScratchScope(const ScratchScope&) = delete;
  ScratchScope& operator=(const ScratchScope&) = delete;
  ~ScratchScope() { ScratchMemory::of_this_thread().trim(scratch_kept_bytes); }
};

}  // namespace cnnprim::detail::eigen

namespace cnnprim {

/// Gives back the scratch memory the Eigen path keeps for the calling thread (at most 64 MiB per buffer,
/// nine buffers); the next call allocates it again.
inline void release_scratch() { detail::eigen::ScratchMemory::of_this_thread().trim(0); }

}  // namespace cnnprim
