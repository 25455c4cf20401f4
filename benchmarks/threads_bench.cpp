// The second form of each operation (Eigen path, float) on 1 and 2 threads, for the scaling table; oneDNN
// runs the same shapes at the same thread counts in onednn_bench.cpp. Real time: n threads are the calling
// thread and a pool of n - 1 (shapes.hpp), and CPU time counts the caller's alone.
#include <benchmark/benchmark.h>

#include <utility>
#include <vector>

#include <cnnprim/cnnprim.hpp>

#include "shapes.hpp"

using cnnprim::PoolMode;
using cnnprim::Tensor;

static void BM_ConvForwardThreads(benchmark::State& state) {
  const bench::ConvShape s(state);
  const auto threads = bench::threads(state.range(8));
  const auto A_prev = bench::random_tensor<float>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, 1);
  const auto W = bench::random_tensor<float>({s.f, s.f, s.n_C_prev, s.n_C}, 2);
  const auto b = bench::random_tensor<float>({1, 1, 1, s.n_C}, 3);
  Tensor<float> Z({s.m, s.n_H(), s.n_W(), s.n_C});
  for (auto _ : state) {
    cnnprim::conv_forward(A_prev, W, b, {s.stride, s.pad}, Z, cnnprim::Backend::Eigen, threads);
    benchmark::DoNotOptimize(Z.data());
    benchmark::ClobberMemory();
  }
  bench::set_flops(state, s.flops());
}

// conv_backward's two calls, or one of them alone (to see which of the two a second thread helps less).
enum class BackwardPart { Both, Data, Weights };

template <BackwardPart part>
static void conv_backward_threads(benchmark::State& state) {
  const bench::ConvShape s(state);
  const auto threads = bench::threads(state.range(8));
  const auto A_prev = bench::random_tensor<float>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, 1);
  const auto W = bench::random_tensor<float>({s.f, s.f, s.n_C_prev, s.n_C}, 2);
  const auto dZ = bench::random_tensor<float>({s.m, s.n_H(), s.n_W(), s.n_C}, 4);
  Tensor<float> dA_prev(A_prev.shape()), dW(W.shape()), db({1, 1, 1, s.n_C});
  for (auto _ : state) {
    if constexpr (part != BackwardPart::Weights)
      cnnprim::conv_backward_data(dZ, W, {s.stride, s.pad}, dA_prev, cnnprim::Backend::Eigen, threads);
    if constexpr (part != BackwardPart::Data)
      cnnprim::conv_backward_weights(dZ, A_prev, {s.stride, s.pad}, dW, db, cnnprim::Backend::Eigen, threads);
    benchmark::DoNotOptimize(dA_prev.data());
    benchmark::DoNotOptimize(dW.data());
    benchmark::ClobberMemory();
  }
  bench::set_flops(state, (part == BackwardPart::Both ? 2 : 1) * s.flops());
}

static void BM_ConvBackwardThreads(benchmark::State& state) { conv_backward_threads<BackwardPart::Both>(state); }
static void BM_ConvBackwardDataThreads(benchmark::State& state) { conv_backward_threads<BackwardPart::Data>(state); }
static void BM_ConvBackwardWeightsThreads(benchmark::State& state) {
  conv_backward_threads<BackwardPart::Weights>(state);
}

template <PoolMode mode>
static void BM_PoolForwardThreads(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto threads = bench::threads(state.range(6));
  const auto A_prev = bench::random_tensor<float>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  Tensor<float> A({s.m, s.n_H(), s.n_W(), s.n_C});
  for (auto _ : state) {
    cnnprim::pool_forward(A_prev, {s.f, s.stride}, mode, A, cnnprim::Backend::Eigen, threads);
    benchmark::DoNotOptimize(A.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(float)));
}

template <PoolMode mode>
static void BM_PoolBackwardThreads(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto threads = bench::threads(state.range(6));
  const auto A_prev = bench::random_tensor<float>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  const auto dA = bench::random_tensor<float>({s.m, s.n_H(), s.n_W(), s.n_C}, 2);
  Tensor<float> dA_prev(A_prev.shape());
  for (auto _ : state) {
    cnnprim::pool_backward(dA, A_prev, {s.f, s.stride}, mode, dA_prev, cnnprim::Backend::Eigen, threads);
    benchmark::DoNotOptimize(dA_prev.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * s.elements() * sizeof(float)));
}

// The large pooling shape when other work has filled the caches between calls, as a network's other layers do
// (64 MiB written outside the timed call): the benchmarks above repeat one call, whose data then stays in the
// last-level cache. With ReadOutput, the timed part also reads the call's output (A, or dA_prev) once, as the next
// layer does: where the call left it (a cache, or memory) counts too. Arguments named apart from "threads" so that
// the scaling table (report.py) leaves these out.
template <PoolMode mode, bool Backward, bool ReadOutput>
static void BM_PoolAfterOtherWork(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto threads = bench::threads(state.range(6));
  const auto A_prev = bench::random_tensor<float>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  const auto dA = bench::random_tensor<float>({s.m, s.n_H(), s.n_W(), s.n_C}, 2);
  Tensor<float> A(dA.shape()), dA_prev(A_prev.shape());
  std::vector<float> other(std::size_t{16} << 20);
  for (auto _ : state) {
    state.PauseTiming();
    for (auto& x : other) x += 1;
    benchmark::DoNotOptimize(other.data());
    benchmark::ClobberMemory();
    state.ResumeTiming();
    if constexpr (Backward)
      cnnprim::pool_backward(dA, A_prev, {s.f, s.stride}, mode, dA_prev, cnnprim::Backend::Eigen, threads);
    else
      cnnprim::pool_forward(A_prev, {s.f, s.stride}, mode, A, cnnprim::Backend::Eigen, threads);
    if constexpr (ReadOutput) benchmark::DoNotOptimize(std::as_const(Backward ? dA_prev : A).vector().sum());
    benchmark::DoNotOptimize(A.data());
    benchmark::DoNotOptimize(dA_prev.data());
    benchmark::ClobberMemory();
  }
}

// The large pooling shape's second form, one thread, into a view of memory `offset` floats past a 64-byte line: 0,
// and 4, where glibc puts a large std::vector. The output's packets cannot then be stored aligned, and the pass
// streams it a row at a time.
template <PoolMode mode, bool Backward>
static void BM_PoolIntoViewOffLine(benchmark::State& state) {
  const bench::PoolShape s(state);
  const auto A_prev = bench::random_tensor<float>({s.m, s.n_H_prev, s.n_W_prev, s.n_C}, 1);
  const auto dA = bench::random_tensor<float>({s.m, s.n_H(), s.n_W(), s.n_C}, 2);
  const auto& shape = Backward ? A_prev.shape() : dA.shape();
  const auto offset = static_cast<std::size_t>(state.range(6));
  std::vector<float, Eigen::aligned_allocator<float>> memory(offset + static_cast<std::size_t>(A_prev.size()));
  const cnnprim::TensorView<float> output(memory.data() + offset, shape);
  for (auto _ : state) {
    if constexpr (Backward)
      cnnprim::pool_backward(dA, A_prev, {s.f, s.stride}, mode, output, cnnprim::Backend::Eigen);
    else
      cnnprim::pool_forward(A_prev, {s.f, s.stride}, mode, output, cnnprim::Backend::Eigen);
    benchmark::DoNotOptimize(memory.data());
    benchmark::ClobberMemory();
  }
}

static void off_line_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n_H", "n_W", "n_C", "f", "stride", "offset"});
  for (std::int64_t offset : {0, 4}) {
    auto args = bench::pool_shapes[1];
    args.push_back(offset);
    b->Args(args);
  }
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

static void large_pool_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n_H", "n_W", "n_C", "f", "stride", "thread_count"});
  for (auto count : bench::thread_counts) {
    auto args = bench::pool_shapes[1];  // (8, 112, 112, 64, 3, 2): ResNet's max pool after the stem
    args.push_back(count);
    b->Args(args);
  }
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

BENCHMARK(BM_ConvForwardThreads)->Apply(bench::conv_thread_args);
BENCHMARK(BM_ConvBackwardThreads)->Apply(bench::conv_thread_args);
BENCHMARK(BM_ConvBackwardDataThreads)->Apply(bench::conv_thread_args);
BENCHMARK(BM_ConvBackwardWeightsThreads)->Apply(bench::conv_thread_args);
BENCHMARK_TEMPLATE(BM_PoolForwardThreads, PoolMode::Max)->Apply(bench::pool_thread_args);
BENCHMARK_TEMPLATE(BM_PoolForwardThreads, PoolMode::Average)->Apply(bench::pool_thread_args);
BENCHMARK_TEMPLATE(BM_PoolBackwardThreads, PoolMode::Max)->Apply(bench::pool_thread_args);
BENCHMARK_TEMPLATE(BM_PoolBackwardThreads, PoolMode::Average)->Apply(bench::pool_thread_args);
BENCHMARK_TEMPLATE(BM_PoolAfterOtherWork, PoolMode::Max, false, false)->Apply(large_pool_args);
BENCHMARK_TEMPLATE(BM_PoolAfterOtherWork, PoolMode::Average, false, false)->Apply(large_pool_args);
BENCHMARK_TEMPLATE(BM_PoolAfterOtherWork, PoolMode::Average, true, false)->Apply(large_pool_args);
BENCHMARK_TEMPLATE(BM_PoolAfterOtherWork, PoolMode::Max, false, true)->Apply(large_pool_args);
BENCHMARK_TEMPLATE(BM_PoolAfterOtherWork, PoolMode::Average, false, true)->Apply(large_pool_args);
BENCHMARK_TEMPLATE(BM_PoolAfterOtherWork, PoolMode::Average, true, true)->Apply(large_pool_args);
BENCHMARK_TEMPLATE(BM_PoolIntoViewOffLine, PoolMode::Max, false)->Apply(off_line_args);
BENCHMARK_TEMPLATE(BM_PoolIntoViewOffLine, PoolMode::Average, false)->Apply(off_line_args);
BENCHMARK_TEMPLATE(BM_PoolIntoViewOffLine, PoolMode::Average, true)->Apply(off_line_args);
