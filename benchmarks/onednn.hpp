// What the oneDNN benchmarks share: the CPU engine and memory filled with the suite's random values.
#pragma once

#include <algorithm>

#include <oneapi/dnnl/dnnl.hpp>

#include "shapes.hpp"

namespace bench {

inline dnnl::engine& cpu() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

inline dnnl::memory filled(const dnnl::memory::desc& md, unsigned seed) {
  dnnl::memory mem(md, cpu());
  const auto n = static_cast<cnnprim::Index>(md.get_size() / sizeof(float));
  const auto values = random_tensor<float, 1>({n}, seed);
  std::copy_n(values.data(), n, static_cast<float*>(mem.get_data_handle()));
  return mem;
}

}  // namespace bench
