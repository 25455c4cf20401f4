// The layers of real networks beyond the notebook's hyperparameters: MobileNet-v2's depthwise 3x3 layers,
// ResNet-50's 1x1 and strided layers, dilated and 'same' versions of the large 3x3 layers, ResNet-18's strided
// 3x3 into 512 channels, and channel counts that fill no whole number of SIMD packets. Timed through
// the second form (benchmarks/layers_bench.cpp) and beside oneDNN (benchmarks/onednn_layers_bench.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "shapes.hpp"

namespace bench {

// (m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad, groups, dilation, same).
inline const std::vector<std::vector<std::int64_t>> layer_shapes = {
    {1, 112, 112, 32, 32, 3, 1, 1, 32, 1, 0},     // MobileNet-v2 depthwise, first block
    {1, 56, 56, 144, 144, 3, 2, 1, 144, 1, 0},    // MobileNet-v2 depthwise, stride 2
    {1, 14, 14, 576, 576, 3, 1, 1, 576, 1, 0},    // MobileNet-v2 depthwise, 14x14
    {1, 56, 56, 64, 256, 1, 1, 0, 1, 1, 0},       // ResNet-50 1x1 expansion
    {1, 56, 56, 256, 512, 1, 2, 0, 1, 1, 0},      // ResNet-50 1x1 projection, stride 2
    {1, 56, 56, 128, 128, 3, 2, 1, 1, 1, 0},      // ResNet-50 3x3, stride 2
    {8, 28, 28, 128, 128, 3, 1, 1, 1, 1, 0},      // ResNet conv3_x, explicit pad 1
    {8, 28, 28, 128, 128, 3, 1, 2, 1, 2, 0},      //   dilated 2, pad 2
    {8, 28, 28, 128, 128, 3, 1, 0, 1, 1, 1},      //   'same'
    {4, 14, 14, 256, 256, 3, 1, 1, 1, 1, 0},      // ResNet conv4_x, explicit pad 1
    {4, 14, 14, 256, 256, 3, 1, 2, 1, 2, 0},      //   dilated 2, pad 2
    {4, 14, 14, 256, 256, 3, 1, 0, 1, 1, 1},      //   'same'
    {1, 14, 14, 256, 512, 3, 2, 1, 1, 1, 0},      // ResNet-18 conv5_1, stride 2
    {8, 32, 32, 64, 100, 3, 1, 1, 1, 1, 0},       // channels in no whole packets: 6 packets and 4 channels
    {8, 32, 32, 24, 40, 3, 1, 1, 1, 1, 0},        //   1.5 and 2.5 packets
};

inline void layer_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n_H", "n_W", "n_C_prev", "n_C", "f", "stride", "pad", "groups", "dilation", "same"});
  for (const auto& s : layer_shapes) b->Args(s);
  b->Unit(benchmark::kMicrosecond);
}

struct LayerShape {
  Index m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad, groups, dilation;
  bool same;
  explicit LayerShape(const benchmark::State& state)
      : m(state.range(0)), n_H_prev(state.range(1)), n_W_prev(state.range(2)), n_C_prev(state.range(3)),
        n_C(state.range(4)), f(state.range(5)), stride(state.range(6)), pad(state.range(7)), groups(state.range(8)),
        dilation(state.range(9)), same(state.range(10) != 0) {}

  cnnprim::ConvParams params() const {
    cnnprim::ConvParams hp{stride, pad};
    hp.groups = groups;
    hp.dilation = {dilation, dilation};
    hp.same = same;
    return hp;
  }
  cnnprim::detail::ConvGeometry geometry() const {
    return cnnprim::detail::conv_geometry("layer", "A_prev", {m, n_H_prev, n_W_prev, n_C_prev}, "W",
                                          {f, f, n_C_prev / groups, n_C}, params());
  }
  // One multiply and one add per weight per output, for one direction.
  double flops() const {
    const auto g = geometry();
    return 2.0 * double(g.pixels()) * double(g.patch_size()) * double(n_C);
  }
};

}  // namespace bench
