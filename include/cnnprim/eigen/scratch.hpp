// Per-thread scratch memory for the Eigen kernels, reused from call to call.
//
// A layer runs on the same shapes again and again; allocating its temporaries each time cost small
// convolutions more than their arithmetic (fresh pages from the system on every call). Each purpose has
// one buffer per thread and element type, which keeps the largest size it was asked for.
#pragma once

#include <cstddef>
#include <vector>

namespace cnnprim::detail::eigen {

enum class Scratch { PaddedImage, PackedFilter, Patches, PatchGradients, WindowTaps };

// `size` elements of the buffer for `purpose`; their values are left from earlier use.
template <class T, Scratch purpose>
T* scratch(std::size_t size) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < size) buffer.resize(size);
  return buffer.data();
}

}  // namespace cnnprim::detail::eigen
