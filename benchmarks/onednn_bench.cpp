// oneDNN on the same shapes, float, NHWC activations, weights reordered into oneDNN's preferred layout before
// timing, one thread, only execute() timed: cnnprim's times are printed beside these in every run.
#include <unordered_map>

#include <benchmark/benchmark.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "shapes.hpp"
#include "onednn.hpp"

extern "C" void omp_set_num_threads(int);  // oneDNN here runs on libgomp

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// One thread, as cnnprim runs, set before any oneDNN primitive exists.
const bool single_threaded = [] {
  omp_set_num_threads(1);
  return true;
}();

using bench::cpu;
using bench::filled;

struct Conv {
  memory::desc src, weights_any, bias, dst;
  memory::dims strides, padding;
  explicit Conv(const bench::ConvShape& s)
      : src({s.m, s.n_C_prev, s.n_H_prev, s.n_W_prev}, dt::f32, tag::nhwc),
        weights_any({s.n_C, s.n_C_prev, s.f, s.f}, dt::f32, tag::any),
        bias({s.n_C}, dt::f32, tag::x),
        dst({s.m, s.n_C, s.n_H(), s.n_W()}, dt::f32, tag::nhwc),
        strides{s.stride, s.stride},
        padding{s.pad, s.pad} {}

  dnnl::convolution_forward::primitive_desc forward(dnnl::prop_kind kind) const {
    return {{kind, dnnl::algorithm::convolution_direct, src, weights_any, bias, dst, strides, padding, padding}, cpu()};
  }
};

// Weights given as HWIO (cnnprim's layout), reordered once into what the primitive prefers.
memory preferred_weights(const bench::ConvShape& s, const memory::desc& preferred, dnnl::stream& stream) {
  memory hwio = filled(memory::desc({s.n_C, s.n_C_prev, s.f, s.f}, dt::f32, tag::hwio), 2);
  memory weights(preferred, cpu());
  dnnl::reorder(hwio, weights).execute(stream, hwio, weights);
  stream.wait();
  return weights;
}

void BM_OneDnnConvForward(benchmark::State& state) {
  const bench::ConvShape s(state);
  const Conv conv(s);
  dnnl::stream stream(cpu());
  const auto pd = conv.forward(dnnl::prop_kind::forward_inference);
  memory src = filled(conv.src, 1), bias = filled(conv.bias, 3), dst(conv.dst, cpu());
  memory weights = preferred_weights(s, pd.weights_desc(), stream);
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

// Backward data and backward weights (with bias), both executed per iteration: cnnprim's conv_backward.
void BM_OneDnnConvBackward(benchmark::State& state) {
  const bench::ConvShape s(state);
  const Conv conv(s);
  dnnl::stream stream(cpu());
  const auto hint = conv.forward(dnnl::prop_kind::forward_training);
  const dnnl::convolution_backward_data::primitive_desc data_pd(
      {dnnl::algorithm::convolution_direct, conv.src, conv.weights_any, conv.dst, conv.strides, conv.padding,
       conv.padding},
      cpu(), hint);
  const dnnl::convolution_backward_weights::primitive_desc weights_pd(
      {dnnl::algorithm::convolution_direct, conv.src, conv.weights_any, conv.bias, conv.dst, conv.strides,
       conv.padding, conv.padding},
      cpu(), hint);
  memory src = filled(conv.src, 1), diff_dst = filled(conv.dst, 4), diff_src(conv.src, cpu());
  memory weights = preferred_weights(s, data_pd.weights_desc(), stream);
  memory diff_weights(weights_pd.diff_weights_desc(), cpu()), diff_bias(conv.bias, cpu());
  dnnl::convolution_backward_data backward_data(data_pd);
  dnnl::convolution_backward_weights backward_weights(weights_pd);
  const std::unordered_map<int, memory> data_args{
      {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, diff_src}};
  const std::unordered_map<int, memory> weights_args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
      {DNNL_ARG_DIFF_BIAS, diff_bias}};
  const int which = static_cast<int>(state.range(8));  // 0: both, 1: data only, 2: weights only
  for (auto _ : state) {
    if (which != 2) backward_data.execute(stream, data_args);
    if (which != 1) backward_weights.execute(stream, weights_args);
    stream.wait();
  }
  bench::set_flops(state, (which == 0 ? 2 : 1) * s.flops());
  state.SetLabel(which == 0 ? "data+weights" : which == 1 ? "data" : "weights");
}

void backward_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n_H", "n_W", "n_C_prev", "n_C", "f", "stride", "pad", "part"});
  for (int part = 0; part < 3; ++part)
    for (auto s : bench::conv_shapes) {
      s.push_back(part);
      b->Args(s);
    }
  b->Unit(benchmark::kMicrosecond);
}

template <dnnl::algorithm algorithm>
struct Pool {
  memory::desc src, dst;
  memory::dims strides, kernel, padding{0, 0};
  explicit Pool(const bench::PoolShape& s)
      : src({s.m, s.n_C, s.n_H_prev, s.n_W_prev}, dt::f32, tag::nhwc),
        dst({s.m, s.n_C, s.n_H(), s.n_W()}, dt::f32, tag::nhwc),
        strides{s.stride, s.stride},
        kernel{s.f, s.f} {}
  dnnl::pooling_forward::primitive_desc forward(dnnl::prop_kind kind) const {
    return {{kind, algorithm, src, dst, strides, kernel, padding, padding}, cpu()};
  }
};

// Inference by default; training writes max pooling's workspace (the argmax its backward reads).
template <dnnl::algorithm algorithm, dnnl::prop_kind kind = dnnl::prop_kind::forward_inference>
void BM_OneDnnPoolForward(benchmark::State& state) {
  const bench::PoolShape s(state);
  const Pool<algorithm> pool(s);
  dnnl::stream stream(cpu());
  const auto pd = pool.forward(kind);
  memory src = filled(pool.src, 1), dst(pool.dst, cpu());
  dnnl::pooling_forward primitive(pd);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
  if (pd.workspace_desc().get_size() > 0) args.insert({DNNL_ARG_WORKSPACE, memory(pd.workspace_desc(), cpu())});
  for (auto _ : state) {
    primitive.execute(stream, args);
    stream.wait();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(float)));
  state.SetLabel(pd.impl_info_str());
}

template <dnnl::algorithm algorithm>
void BM_OneDnnPoolBackward(benchmark::State& state) {
  const bench::PoolShape s(state);
  const Pool<algorithm> pool(s);
  dnnl::stream stream(cpu());
  const auto hint = pool.forward(dnnl::prop_kind::forward_training);
  const dnnl::pooling_backward::primitive_desc pd(
      {algorithm, pool.src, pool.dst, pool.strides, pool.kernel, pool.padding, pool.padding}, cpu(), hint);
  memory src = filled(pool.src, 1), dst(pool.dst, cpu()), diff_dst = filled(pool.dst, 2), diff_src(pool.src, cpu());
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, diff_dst}, {DNNL_ARG_DIFF_SRC, diff_src}};
  if (hint.workspace_desc().get_size() > 0) {  // max pooling: the argmax forward training leaves behind
    memory workspace(hint.workspace_desc(), cpu());
    dnnl::pooling_forward(hint).execute(stream,
                                        {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}, {DNNL_ARG_WORKSPACE, workspace}});
    stream.wait();
    args.insert({DNNL_ARG_WORKSPACE, workspace});
  }
  dnnl::pooling_backward primitive(pd);
  for (auto _ : state) {
    primitive.execute(stream, args);
    stream.wait();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(float)));
  state.SetLabel(pd.impl_info_str());
}

// The benchmark Run at the thread count of its argument `threads_arg` (oneDNN's OpenMP threads), then one
// thread again for the rest of the suite.
template <void (*Run)(benchmark::State&), int threads_arg>
void BM_OneDnnThreads(benchmark::State& state) {
  omp_set_num_threads(static_cast<int>(state.range(threads_arg)));
  Run(state);
  omp_set_num_threads(1);
}

void backward_thread_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n_H", "n_W", "n_C_prev", "n_C", "f", "stride", "pad", "part", "threads"});
  for (auto s : bench::conv_shapes)
    for (auto threads : bench::thread_counts) {
      s.insert(s.end(), {0, threads});
      b->Args(s);
      s.resize(s.size() - 2);
    }
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

}  // namespace

BENCHMARK_TEMPLATE(BM_OneDnnThreads, BM_OneDnnConvForward, 8)->Apply(bench::conv_thread_args);
BENCHMARK_TEMPLATE(BM_OneDnnThreads, BM_OneDnnConvBackward, 9)->Apply(backward_thread_args);
BENCHMARK_TEMPLATE(BM_OneDnnThreads, BM_OneDnnPoolForward<dnnl::algorithm::pooling_max>, 6)
    ->Apply(bench::pool_thread_args);
BENCHMARK_TEMPLATE(BM_OneDnnThreads, BM_OneDnnPoolForward<dnnl::algorithm::pooling_avg_exclude_padding>, 6)
    ->Apply(bench::pool_thread_args);
BENCHMARK_TEMPLATE(BM_OneDnnThreads, BM_OneDnnPoolBackward<dnnl::algorithm::pooling_max>, 6)
    ->Apply(bench::pool_thread_args);
BENCHMARK_TEMPLATE(BM_OneDnnThreads, BM_OneDnnPoolBackward<dnnl::algorithm::pooling_avg_exclude_padding>, 6)
    ->Apply(bench::pool_thread_args);
BENCHMARK(BM_OneDnnConvForward)->Apply(bench::conv_args);
BENCHMARK(BM_OneDnnConvBackward)->Apply(backward_args);
BENCHMARK_TEMPLATE(BM_OneDnnPoolForward, dnnl::algorithm::pooling_max)->Apply(bench::pool_args);
BENCHMARK_TEMPLATE(BM_OneDnnPoolForward, dnnl::algorithm::pooling_max, dnnl::prop_kind::forward_training)
    ->Apply(bench::pool_args);
BENCHMARK_TEMPLATE(BM_OneDnnPoolForward, dnnl::algorithm::pooling_avg_exclude_padding)->Apply(bench::pool_args);
BENCHMARK_TEMPLATE(BM_OneDnnPoolBackward, dnnl::algorithm::pooling_max)->Apply(bench::pool_args);
BENCHMARK_TEMPLATE(BM_OneDnnPoolBackward, dnnl::algorithm::pooling_avg_exclude_padding)->Apply(bench::pool_args);
