// The documented-safe patterns, run from several threads at once (and under ThreadSanitizer by the tsan
// preset): many threads reading one tensor and one cache, threads writing their own copies of one tensor,
// and threads writing their own outputs through views of shared inputs.
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <cnnprim/cnnprim.hpp>

#include "support/oracle.hpp"

using cnnprim::Backend;
using cnnprim::Index;
using cnnprim::PoolMode;
using cnnprim::Tensor;

namespace {

constexpr int n_threads = 4;

template <class Body>
void run_threads(Body body) {
  std::vector<std::thread> threads;
  for (int t = 0; t < n_threads; ++t) threads.emplace_back(body, t);
  for (auto& thread : threads) thread.join();
}

}  // namespace

class Threads : public ::testing::TestWithParam<Backend> {};

TEST_P(Threads, ManyReadersOfOneTensorAndOneCache) {
  const auto A_prev = oracle::uniform<float, 4>({2, 9, 8, 16}, 1);
  const auto W = oracle::uniform<float, 4>({3, 3, 16, 16}, 2);
  const auto b = oracle::uniform<float, 4>({1, 1, 1, 16}, 3);
  const auto forward = cnnprim::conv_forward(A_prev, W, b, {1, 1}, GetParam());
  const auto pooled = cnnprim::pool_forward(forward.Z, {2, 2}, PoolMode::Max, GetParam());
  const auto dZ = oracle::uniform<float, 4>(forward.Z.shape(), 4);
  const auto expected = cnnprim::conv_backward(dZ, forward.cache, GetParam());
  const auto expected_pool = cnnprim::pool_backward(pooled.A, pooled.cache, GetParam());
  std::vector<cnnprim::ConvGradients<float>> results(n_threads);
  std::vector<Tensor<float>> pool_results(n_threads);
  run_threads([&](int t) {
    results[t] = cnnprim::conv_backward(dZ, forward.cache, GetParam());
    pool_results[t] = cnnprim::pool_backward(pooled.A, pooled.cache, GetParam());
  });
  for (int t = 0; t < n_threads; ++t) {
    EXPECT_TRUE(oracle::near(results[t].dA_prev, expected.dA_prev, 0.0)) << "thread " << t;
    EXPECT_TRUE(oracle::near(results[t].dW, expected.dW, 0.0)) << "thread " << t;
    EXPECT_TRUE(oracle::near(pool_results[t], expected_pool, 0.0)) << "thread " << t;
  }
}

TEST_P(Threads, EachThreadWritesItsOwnCopy) {
  const auto original = oracle::uniform<double, 4>({2, 5, 7, 3}, 5);
  const auto W = oracle::uniform<double, 4>({3, 3, 3, 4}, 6);
  const Tensor<double> b({1, 1, 1, 4});
  std::vector<Tensor<double>> Z(n_threads);
  run_threads([&](int t) {
    Tensor<double> mine = original;
    mine(0, 0, 0, 0) = t;
    mine.vector() *= 2.0;
    Z[t] = cnnprim::conv_forward(mine, W, b, {1, 1}, GetParam()).Z;
  });
  for (int t = 0; t < n_threads; ++t) {
    Tensor<double> mine = original;
    mine(0, 0, 0, 0) = t;
    mine.vector() *= 2.0;
    EXPECT_TRUE(oracle::near(Z[t], oracle::conv_forward(mine, W, b, 1, 1), 1e-12)) << "thread " << t;
  }
  EXPECT_TRUE(oracle::near(original, oracle::uniform<double, 4>({2, 5, 7, 3}, 5), 0.0));
}

// The second form from several threads: shared read-only inputs, each thread's outputs in its own memory.
TEST_P(Threads, SecondFormIntoEachThreadsOwnViews) {
  const auto A_prev = oracle::uniform<float, 4>({3, 8, 7, 5}, 7);
  const auto W = oracle::uniform<float, 4>({2, 2, 5, 6}, 8);
  const auto b = oracle::uniform<float, 4>({1, 1, 1, 6}, 9);
  const auto expected = cnnprim::conv_forward(A_prev, W, b, {2, 1}, GetParam()).Z;
  std::vector<std::vector<float>> memory(n_threads, std::vector<float>(static_cast<std::size_t>(expected.size())));
  run_threads([&](int t) {
    const cnnprim::TensorView<float> Z(memory[t].data(), expected.shape());
    for (int k = 0; k < 3; ++k) cnnprim::conv_forward(A_prev, W, b, {2, 1}, Z, GetParam());
  });
  for (int t = 0; t < n_threads; ++t) {
    const cnnprim::TensorView<const float> Z(memory[t].data(), expected.shape());
    EXPECT_TRUE(oracle::near(Tensor<float>(Z), expected, 0.0)) << "thread " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Threads, ::testing::Values(Backend::Loop, Backend::Eigen), oracle::BackendName());
