// oneDNN on the layers of benchmarks/layers.hpp, as onednn_bench.cpp times the notebook's: float, NHWC,
// weights reordered into the primitive's preferred layout before timing, one thread, only execute() timed.
#include <unordered_map>

#include <benchmark/benchmark.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "layers.hpp"
#include "onednn.hpp"

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

using bench::cpu;
using bench::filled;

struct Layer {
  cnnprim::detail::ConvGeometry g;
  memory::desc src, weights_any, bias, dst;
  memory::dims strides, dilates, padding_l, padding_r;
  explicit Layer(const bench::LayerShape& s)
      : g(s.geometry()),
        src({g.m, g.n_C_prev, g.n_H_prev, g.n_W_prev}, dt::f32, tag::nhwc),
        weights_any(g.groups == 1 ? memory::dims{g.n_C, g.n_C_prev, g.f_H, g.f_W}
                                  : memory::dims{g.groups, g.n_C / g.groups, g.n_C_prev / g.groups, g.f_H, g.f_W},
                    dt::f32, tag::any),
        bias({g.n_C}, dt::f32, tag::x),
        dst({g.m, g.n_C, g.n_H, g.n_W}, dt::f32, tag::nhwc),
        strides{g.stride_H, g.stride_W},
        dilates{g.dilation_H - 1, g.dilation_W - 1},  // oneDNN counts the gaps between taps
        padding_l{g.pad_top, g.pad_left},
        padding_r{g.pad_bottom, g.pad_right} {}

  dnnl::convolution_forward::primitive_desc forward(dnnl::prop_kind kind) const {
    return {{kind, dnnl::algorithm::convolution_direct, src, weights_any, bias, dst, strides, dilates, padding_l,
             padding_r},
            cpu()};
  }
};

void BM_OneDnnLayerForward(benchmark::State& state) {
  const bench::LayerShape s(state);
  const Layer layer(s);
  dnnl::stream stream(cpu());
  const auto pd = layer.forward(dnnl::prop_kind::forward_inference);
  memory src = filled(layer.src, 1), weights = filled(pd.weights_desc(), 2), bias = filled(layer.bias, 3);
  memory dst(layer.dst, cpu());
  dnnl::convolution_forward primitive(pd);
  const std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}};
  for (auto _ : state) {
    primitive.execute(stream, args);
    stream.wait();
  }
  bench::set_flops(state, s.flops());
  state.SetLabel(pd.impl_info_str());
}

void BM_OneDnnLayerBackward(benchmark::State& state) {
  const bench::LayerShape s(state);
  const Layer layer(s);
  dnnl::stream stream(cpu());
  const auto hint = layer.forward(dnnl::prop_kind::forward_training);
  const dnnl::convolution_backward_data::primitive_desc data_pd(
      {dnnl::algorithm::convolution_direct, layer.src, layer.weights_any, layer.dst, layer.strides, layer.dilates,
       layer.padding_l, layer.padding_r},
      cpu(), hint);
  const dnnl::convolution_backward_weights::primitive_desc weights_pd(
      {dnnl::algorithm::convolution_direct, layer.src, layer.weights_any, layer.bias, layer.dst, layer.strides,
       layer.dilates, layer.padding_l, layer.padding_r},
      cpu(), hint);
  memory src = filled(layer.src, 1), diff_dst = filled(layer.dst, 4), diff_src(layer.src, cpu());
  memory weights = filled(data_pd.weights_desc(), 2);
  memory diff_weights(weights_pd.diff_weights_desc(), cpu()), diff_bias(layer.bias, cpu());
  dnnl::convolution_backward_data backward_data(data_pd);
  dnnl::convolution_backward_weights backward_weights(weights_pd);
  const std::unordered_map<int, memory> data_args{
      {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, diff_src}};
  const std::unordered_map<int, memory> weights_args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
      {DNNL_ARG_DIFF_BIAS, diff_bias}};
  for (auto _ : state) {
    backward_data.execute(stream, data_args);
    backward_weights.execute(stream, weights_args);
    stream.wait();
  }
  bench::set_flops(state, 2 * s.flops());
  state.SetLabel(data_pd.impl_info_str() + std::string(" + ") + weights_pd.impl_info_str());
}

}  // namespace

BENCHMARK(BM_OneDnnLayerForward)->Apply(bench::layer_args);
BENCHMARK(BM_OneDnnLayerBackward)->Apply(bench::layer_args);
