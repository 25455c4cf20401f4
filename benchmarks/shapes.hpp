// The shapes every benchmark runs on: the seeds' small cases and real network layers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <cnnprim/cnnprim.hpp>

namespace bench {

using cnnprim::Index;

// Conv shapes as (m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad).
inline const std::vector<std::vector<std::int64_t>> conv_shapes = {
    {10, 4, 4, 3, 8, 2, 2, 2},           // the notebook
    {2, 5, 7, 4, 8, 3, 1, 0},            // the forum thread
    {1, 33, 33, 3, 1, 5, 2, 0},          // the forum problem
    {1, 6, 6, 3, 10, 3, 1, 0},           // the lecture's layer
    {16, 32, 32, 32, 64, 3, 1, 1},       // CIFAR-sized 3x3
    {1, 56, 56, 64, 64, 3, 1, 1},        // ResNet conv2_x
    {8, 28, 28, 128, 128, 3, 1, 1},      // ResNet conv3_x
    {4, 14, 14, 256, 256, 3, 1, 1},      // ResNet conv4_x
    {4, 28, 28, 128, 512, 1, 1, 0},      // ResNet 1x1 expansion
    {1, 224, 224, 3, 64, 7, 2, 3},       // ResNet stem
};

// Pooling shapes as (m, n_H_prev, n_W_prev, n_C, f, stride).
inline const std::vector<std::vector<std::int64_t>> pool_shapes = {
    {2, 4, 4, 3, 3, 2},       // the notebook
    {8, 112, 112, 64, 3, 2},  // ResNet's max pool after the stem
    {16, 32, 32, 64, 2, 2},   // CIFAR-sized 2x2
    {64, 28, 28, 16, 2, 2},   // the Fashion-MNIST example's first max pool: 16 channels
};

inline void conv_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n_H", "n_W", "n_C_prev", "n_C", "f", "stride", "pad"});
  for (const auto& s : conv_shapes) b->Args(s);
  b->Unit(benchmark::kMicrosecond);
}

inline void pool_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"m", "n_H", "n_W", "n_C", "f", "stride"});
  for (const auto& s : pool_shapes) b->Args(s);
  b->Unit(benchmark::kMicrosecond);
}

// The scaling benchmarks: every shape at each of these thread counts, given as a last argument "threads".
inline const std::vector<std::int64_t> thread_counts = {1, 2};

// Registers every shape at each thread count, under the given argument names (the shape's, then "threads").
inline void with_threads(benchmark::internal::Benchmark* b, std::vector<std::string> names,
                         const std::vector<std::vector<std::int64_t>>& shapes) {
  names.push_back("threads");
  b->ArgNames(names);
  for (auto s : shapes)
    for (auto threads : thread_counts) {
      s.push_back(threads);
      b->Args(s);
      s.pop_back();
    }
  b->Unit(benchmark::kMicrosecond)->UseRealTime();
}

inline void conv_thread_args(benchmark::internal::Benchmark* b) {
  with_threads(b, {"m", "n_H", "n_W", "n_C_prev", "n_C", "f", "stride", "pad"}, conv_shapes);
}

inline void pool_thread_args(benchmark::internal::Benchmark* b) {
  with_threads(b, {"m", "n_H", "n_W", "n_C", "f", "stride"}, pool_shapes);
}

struct ConvShape {
  Index m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad;
  explicit ConvShape(const benchmark::State& state)
      : m(state.range(0)), n_H_prev(state.range(1)), n_W_prev(state.range(2)), n_C_prev(state.range(3)),
        n_C(state.range(4)), f(state.range(5)), stride(state.range(6)), pad(state.range(7)) {}
  Index n_H() const { return cnnprim::output_size(n_H_prev, f, pad, stride); }
  Index n_W() const { return cnnprim::output_size(n_W_prev, f, pad, stride); }
  // 2 m n_H n_W n_C f f n_C_prev: one multiply and one add per weight per output, for one direction.
  double flops() const { return 2.0 * m * n_H() * n_W() * n_C * f * f * n_C_prev; }
};

struct PoolShape {
  Index m, n_H_prev, n_W_prev, n_C, f, stride;
  explicit PoolShape(const benchmark::State& state)
      : m(state.range(0)), n_H_prev(state.range(1)), n_W_prev(state.range(2)), n_C(state.range(3)),
        f(state.range(4)), stride(state.range(5)) {}
  Index n_H() const { return (n_H_prev - f) / stride + 1; }
  Index n_W() const { return (n_W_prev - f) / stride + 1; }
  // Input plus output, the tensors a pooling pass must stream, in elements.
  double elements() const { return static_cast<double>(m * n_C) * (n_H_prev * n_W_prev + n_H() * n_W()); }
};

// Work above which the loop path is skipped: it would take minutes at the suite's repetitions.
constexpr double loop_flop_limit = 4e8;

// Uniform values in [-1, 1) from a fixed seed.
template <class T, int Rank = 4>
cnnprim::Tensor<T, Rank> random_tensor(const std::array<Index, Rank>& shape, unsigned seed) {
  cnnprim::Tensor<T, Rank> x(shape);
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 7;
  T* data = x.data();
  for (Index k = 0; k < x.size(); ++k) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    data[k] = static_cast<T>(static_cast<double>(state >> 11) / 9007199254740992.0 * 2 - 1);
  }
  return x;
}

// n threads for a call: the calling thread alone for 1, otherwise with an Eigen::ThreadPool of n - 1 threads
// kept for the run.
inline cnnprim::Threads threads(Index n) {
  static std::map<Index, std::unique_ptr<Eigen::ThreadPool>> pools;
  if (n == 1) return cnnprim::Threads::calling_thread();
  auto& pool = pools[n];
  if (!pool) pool = std::make_unique<Eigen::ThreadPool>(static_cast<int>(n - 1));
  return {*pool, static_cast<int>(n)};
}

inline void set_flops(benchmark::State& state, double flops) {
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace bench
