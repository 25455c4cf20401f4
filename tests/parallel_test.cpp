// Calls on an Eigen::ThreadPool: the same bits for every number of threads, the pool used only when a call
// is worth it, the process-wide default, a call made from inside the pool, an exception from a task.
#include <atomic>
#include <chrono>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
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

// An Eigen::ThreadPool that counts the closures it is given.
class CountingPool : public Eigen::ThreadPoolInterface {
 public:
  explicit CountingPool(int n) : pool_(n) {}
  void Schedule(std::function<void()> fn) override {
    ++scheduled;
    pool_.Schedule(std::move(fn));
  }
  int NumThreads() const override { return pool_.NumThreads(); }
  int CurrentThreadId() const override { return pool_.CurrentThreadId(); }
  std::atomic<int> scheduled{0};

 private:
  Eigen::ThreadPool pool_;
};

template <class T, int Rank>
bool same_bits(const Tensor<T, Rank>& a, const Tensor<T, Rank>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0;
}

// Every output of one layer's forward and backward, convolution (with a fused ReLU) then pooling.
template <class T>
struct Outputs {
  Tensor<T> Z, dZ_linear, dA_prev, dW, db, A_max, A_average, dZ_max, dZ_average, dZ_from_argmax;
  Tensor<std::uint8_t> argmax;
};

struct Layer {
  Index m, n_H_prev, n_W_prev, n_C_prev, n_C, f, stride, pad, pool_f, pool_stride;
  Index groups = 1, dilation = 1, pool_pad = 0;
};

// An output tensor whose every element the call must write: NaN until then.
template <class T>
Tensor<T> unwritten(const typename Tensor<T>::Shape& shape) {
  Tensor<T> t(shape);
  t.vector().setConstant(std::numeric_limits<T>::quiet_NaN());
  return t;
}

template <class T>
Outputs<T> run(const Layer& s, cnnprim::Threads threads, Backend backend = Backend::Eigen) {
  const auto A_prev = oracle::uniform<T, 4>({s.m, s.n_H_prev, s.n_W_prev, s.n_C_prev}, 1);
  const auto W = oracle::uniform<T, 4>({s.f, s.f, s.n_C_prev / s.groups, s.n_C}, 2);
  const auto b = oracle::uniform<T, 4>({1, 1, 1, s.n_C}, 3);
  cnnprim::ConvParams hp{s.stride, s.pad};
  hp.groups = s.groups;
  hp.dilation = {s.dilation, s.dilation};
  hp.activation = cnnprim::Activation::relu();
  cnnprim::PoolParams pool_hp{s.pool_f, s.pool_stride};
  pool_hp.padding = cnnprim::Padding{s.pool_pad, s.pool_pad, s.pool_pad, s.pool_pad};
  Outputs<T> out;
  out.Z = unwritten<T>({s.m, cnnprim::output_size(s.n_H_prev, s.f, s.pad, s.pad, s.stride, s.dilation),
                     cnnprim::output_size(s.n_W_prev, s.f, s.pad, s.pad, s.stride, s.dilation), s.n_C});
  cnnprim::conv_forward(A_prev, W, b, hp, out.Z, backend, threads);
  out.dZ_linear = unwritten<T>(out.Z.shape());
  cnnprim::activation_backward(oracle::uniform<T, 4>(out.Z.shape(), 4), out.Z, hp.activation, out.dZ_linear,
                               threads);
  const Tensor<T>& dZ = out.dZ_linear;
  out.dA_prev = unwritten<T>(A_prev.shape());
  out.dW = unwritten<T>(W.shape());
  out.db = unwritten<T>(b.shape());
  cnnprim::conv_backward_data(dZ, W, hp, out.dA_prev, backend, threads);
  cnnprim::conv_backward_weights(dZ, A_prev, hp, out.dW, out.db, backend, threads);
  const std::array<Index, 4> pooled{s.m, cnnprim::output_size(out.Z.dim(1), s.pool_f, s.pool_pad, s.pool_stride),
                                    cnnprim::output_size(out.Z.dim(2), s.pool_f, s.pool_pad, s.pool_stride), s.n_C};
  out.A_max = unwritten<T>(pooled);
  out.A_average = unwritten<T>(pooled);
  cnnprim::pool_forward(out.Z, pool_hp, PoolMode::Max, out.A_max, backend, threads);
  cnnprim::pool_forward(out.Z, pool_hp, PoolMode::Average, out.A_average, backend, threads);
  const auto dA = oracle::uniform<T, 4>(pooled, 5);
  out.dZ_max = unwritten<T>(out.Z.shape());
  out.dZ_average = unwritten<T>(out.Z.shape());
  cnnprim::pool_backward(dA, out.Z, pool_hp, PoolMode::Max, out.dZ_max, backend, threads);
  cnnprim::pool_backward(dA, out.Z, pool_hp, PoolMode::Average, out.dZ_average, backend, threads);
  Tensor<T> A_argmax_form(pooled);
  out.argmax = Tensor<std::uint8_t>(pooled);
  cnnprim::max_pool_forward(out.Z, pool_hp, A_argmax_form, out.argmax, backend, threads);
  EXPECT_TRUE(same_bits(A_argmax_form, out.A_max));
  out.dZ_from_argmax = unwritten<T>(out.Z.shape());
  cnnprim::max_pool_backward(dA, out.argmax, pool_hp, out.dZ_from_argmax, backend, threads);
  EXPECT_TRUE(same_bits(out.dZ_from_argmax, out.dZ_max));
  return out;
}

// Large enough to be shared among threads; between them every kernel and split the Eigen path has.
const Layer layers[] = {
    {4, 16, 16, 8, 32, 3, 1, 1, 2, 2},      // direct forward and weights, patch-matrix data (8 channels)
    {3, 30, 30, 16, 16, 3, 1, 1, 2, 2},     // direct weights in two blocks of rows, the first ending inside image 1
    {2, 20, 18, 32, 32, 3, 1, 1, 3, 1},     // Winograd forward and data, direct weights; overlapping pooling windows
    {3, 15, 13, 32, 48, 3, 1, 0, 2, 2},     // Winograd: odd output sizes, no padding, 3 packets of filters
    {8, 32, 32, 3, 10, 3, 1, 0, 3, 2},      // patch matrix, overlapping windows: per-image data, partial dW sums
    {8, 32, 32, 3, 10, 2, 2, 0, 2, 2},      // patch matrix, windows apart: one chunk per task
    {4, 24, 24, 16, 20, 1, 1, 0, 2, 2},     // pointwise
    {1, 64, 64, 32, 32, 3, 2, 1, 2, 2},     // one image, strided: data gradient by phases, rows shared out
    {1, 45, 45, 3, 8, 7, 2, 3, 2, 2},       // one image, a stem's 7x7 stride 2: data gradient in 7 row pieces
    {6, 30, 30, 5, 9, 5, 3, 2, 4, 3},       // stride between f and 1, odd sizes everywhere
    {16, 12, 12, 4, 8, 3, 1, 1, 2, 2},      // many small images
    {8, 34, 34, 3, 32, 3, 1, 0, 3, 2},      // pooling large enough to share: overlapping windows
    {16, 32, 32, 3, 32, 1, 1, 0, 2, 2},     // pooling large enough to share: tiled windows
    {2, 40, 40, 48, 48, 3, 1, 1, 3, 2, 48, 1, 1},  // depthwise; padded pooling
    {4, 28, 28, 37, 37, 3, 2, 1, 2, 2, 37},        // depthwise, strided, channels beyond the last packet
    {2, 24, 24, 32, 32, 3, 1, 2, 2, 2, 1, 2},      // dilated: direct kernels
    {4, 20, 20, 8, 16, 3, 1, 1, 2, 1, 2, 1, 1},    // two groups: patch matrix per group
    {8, 65, 65, 3, 1, 5, 2, 0, 3, 2},       // one output channel: window-row kernels, partial dW sums
    {16, 60, 40, 3, 1, 5, 2, 0, 3, 2},      // one output channel, rows of dA_prev in registers shared out
    {1, 22, 18, 32, 32, 3, 1, 1, 2, 2},     // Winograd: 99 tiles, a short last register-tile step
    {2, 7, 7, 100, 100, 3, 1, 1, 2, 2},     // partial packets (100 = 6 x 16 + 4): blocks of channels, two passes
    {3, 14, 13, 24, 40, 3, 1, 1, 2, 2},     // partial packets both ways, a filter shared by pieces of rows
    {2, 23, 21, 16, 24, 5, 3, 2, 2, 2},     // data gradient in 3 x 3 phases of 2 or 1 taps
};

template <class T>
class ThreadCounts : public ::testing::Test {};
TYPED_TEST_SUITE(ThreadCounts, oracle::Scalars, oracle::ScalarNames);

TYPED_TEST(ThreadCounts, EveryThreadCountGivesTheSameBits) {
  using T = TypeParam;
  Eigen::ThreadPool pool(4);
  for (const Layer& s : layers) {
    SCOPED_TRACE(::testing::Message() << "layer (" << s.m << ", " << s.n_H_prev << ", " << s.n_W_prev << ", "
                                      << s.n_C_prev << ") -> " << s.n_C << " f " << s.f << " stride " << s.stride
                                      << " pad " << s.pad);
    const auto one = run<T>(s, cnnprim::Threads::calling_thread());
    for (int count : {2, 3, 5}) {
      SCOPED_TRACE(::testing::Message() << count << " threads");
      const auto many = run<T>(s, cnnprim::Threads(pool, count));
      EXPECT_TRUE(same_bits(many.Z, one.Z));
      EXPECT_TRUE(same_bits(many.dZ_linear, one.dZ_linear));
      EXPECT_TRUE(same_bits(many.dA_prev, one.dA_prev));
      EXPECT_TRUE(same_bits(many.dW, one.dW));
      EXPECT_TRUE(same_bits(many.db, one.db));
      EXPECT_TRUE(same_bits(many.A_max, one.A_max));
      EXPECT_TRUE(same_bits(many.A_average, one.A_average));
      EXPECT_TRUE(same_bits(many.dZ_max, one.dZ_max));
      EXPECT_TRUE(same_bits(many.dZ_average, one.dZ_average));
      EXPECT_TRUE(same_bits(many.argmax, one.argmax));
    }
  }
}

TYPED_TEST(ThreadCounts, ThreadedEigenPathAgreesWithTheLoopPath) {
  using T = TypeParam;
  Eigen::ThreadPool pool(2);
  for (const Layer& s : {layers[0], layers[2], layers[5], layers[7], layers[10], layers[11], layers[12], layers[13],
                         layers[19], layers[20], layers[21], layers[22]}) {
    const auto eigen = run<T>(s, cnnprim::Threads(pool, 3));
    const auto loop = run<T>(s, cnnprim::Threads::calling_thread(), Backend::Loop);
    const double tolerance = oracle::tolerance<T>();
    EXPECT_TRUE(oracle::near(eigen.Z, loop.Z, tolerance));
    EXPECT_TRUE(oracle::near(eigen.dA_prev, loop.dA_prev, tolerance));
    EXPECT_TRUE(oracle::near(eigen.dW, loop.dW, tolerance));
    EXPECT_TRUE(oracle::near(eigen.db, loop.db, tolerance));
    EXPECT_TRUE(oracle::near(eigen.A_max, loop.A_max, tolerance));
    EXPECT_TRUE(oracle::near(eigen.dZ_max, loop.dZ_max, tolerance));
    EXPECT_TRUE(oracle::near(eigen.dZ_average, loop.dZ_average, tolerance));
  }
}

TEST(CallThreads, LargeCallsUseThePoolAndSmallCallsStayOnTheCaller) {
  CountingPool pool(1);
  run<float>(layers[0], cnnprim::Threads(pool, 2));
  EXPECT_GT(pool.scheduled.load(), 0) << "a layer of a few million multiply-adds ran on one thread";
  pool.scheduled = 0;
  run<double>({10, 4, 4, 3, 8, 2, 2, 2, 2, 2}, cnnprim::Threads(pool, 2));  // the notebook's layer
  EXPECT_EQ(pool.scheduled.load(), 0) << "the notebook's layer woke the pool";
  pool.scheduled = 0;
  run<float>(layers[0], cnnprim::Threads::calling_thread());
  EXPECT_EQ(pool.scheduled.load(), 0);
}

TEST(CallThreads, APoolRunsWithTheCallingThreadUpToTheCores) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  if (cores < 2) GTEST_SKIP() << "one core";
  CountingPool one(1);
  EXPECT_EQ(cnnprim::Threads(one).count(), 2) << "the calling thread and the pool's";
  run<float>(layers[0], one);
  EXPECT_GT(one.scheduled.load(), 0) << "a pool of one thread left idle";
  one.scheduled = 0;
  run<float>(layers[0], cnnprim::Threads(one, 1));
  EXPECT_EQ(one.scheduled.load(), 0) << "a count of 1 woke the pool";
  Eigen::ThreadPool many(cores + 3);
  EXPECT_EQ(cnnprim::Threads(many).count(), cores) << "more threads than cores";
  EXPECT_EQ(cnnprim::Threads(many, cores + 4).count(), cores + 4) << "a count given is kept whatever the cores";
  EXPECT_EQ(cnnprim::Threads::calling_thread().count(), 1);
}

TEST(CallThreads, ACountOutsideTheCallingThreadAndThePoolsThrows) {
  Eigen::ThreadPool pool(2);
  EXPECT_EQ(cnnprim::Threads(pool, 1).count(), 1);
  EXPECT_EQ(cnnprim::Threads(pool, 3).count(), 3);
  for (int count : {0, -1, 4}) {
    try {
      cnnprim::Threads threads(pool, count);
      ADD_FAILURE() << "count " << count << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()), "Threads: count = " + std::to_string(count) +
                                           " must be in [1, 3], the calling thread and the pool's 2");
    }
  }
}

TEST(CallThreads, TheDefaultStartsAtOneThreadAndCanBeSet) {
  EXPECT_EQ(cnnprim::Threads().count(), 1);
  EXPECT_EQ(cnnprim::Threads().pool(), nullptr);
  CountingPool pool(1);
  cnnprim::set_default_threads({pool, 2});
  EXPECT_EQ(cnnprim::Threads().count(), 2);
  EXPECT_EQ(cnnprim::Threads().pool(), &pool);
  EXPECT_EQ(cnnprim::Threads::calling_thread().pool(), nullptr) << "an explicit choice ignores the default";
  const auto with_default = run<float>(layers[0], {});
  EXPECT_GT(pool.scheduled.load(), 0);
  cnnprim::set_default_threads(cnnprim::Threads::calling_thread());
  EXPECT_EQ(cnnprim::Threads().pool(), nullptr);
  pool.scheduled = 0;
  const auto alone = run<float>(layers[0], {});
  EXPECT_EQ(pool.scheduled.load(), 0);
  EXPECT_TRUE(same_bits(with_default.dW, alone.dW));
}

TEST(CallThreads, ACallFromInsideThePoolRunsThere) {
  Eigen::ThreadPool pool(2);
  const auto expected = run<float>(layers[2], cnnprim::Threads::calling_thread());
  Outputs<float> inside;
  Eigen::Barrier done(1);
  pool.Schedule([&] {
    inside = run<float>(layers[2], pool);  // would deadlock if it waited for the pool it occupies
    done.Notify();
  });
  done.Wait();
  EXPECT_TRUE(same_bits(inside.dW, expected.dW));
  EXPECT_TRUE(same_bits(inside.dA_prev, expected.dA_prev));
}

TEST(CallThreads, AnExceptionInATaskReachesTheCaller) {
  Eigen::ThreadPool pool(3);
  std::atomic<int> ran{0};
  EXPECT_THROW(cnnprim::detail::eigen::parallel_for({pool, 4}, 64, 1e9,
                                                    [&](Index k) {
                                                      ++ran;
                                                      if (k == 5) throw std::bad_alloc();
                                                    }),
               std::bad_alloc);
  EXPECT_GT(ran.load(), 0);
}

TEST(CallThreads, EveryTaskRunsOnce) {
  Eigen::ThreadPool pool(3);
  std::vector<std::atomic<int>> runs(1000);
  cnnprim::detail::eigen::parallel_for({pool, 4}, 1000, 1e9, [&](Index k) { ++runs[static_cast<std::size_t>(k)]; });
  for (std::size_t k = 0; k < runs.size(); ++k) ASSERT_EQ(runs[k].load(), 1) << "task " << k;
}

TEST(CallThreads, ThreadsThatFinishTakeTheTasksLeftAtTheEndOfOthersParts) {
  Eigen::ThreadPool pool(1);  // the caller's part is tasks 0-9, the pool thread's 10-19
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<std::atomic<int>> runs(20);
  std::vector<std::atomic<bool>> by_caller(20);
  std::atomic<bool> caller_took_from_the_other_part{false};
  cnnprim::detail::eigen::parallel_for({pool, 2}, 20, 1e9, [&](Index k) {
    const auto task = static_cast<std::size_t>(k);
    ++runs[task];
    by_caller[task] = std::this_thread::get_id() == caller;
    if (by_caller[task] && k >= 10) caller_took_from_the_other_part = true;
    // The pool's thread holds its first task until the caller has taken from its part (at most a second).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (!by_caller[task] && !caller_took_from_the_other_part && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  });
  for (std::size_t k = 0; k < runs.size(); ++k) ASSERT_EQ(runs[k].load(), 1) << "task " << k;
  for (std::size_t k = 0; k < 10; ++k) EXPECT_TRUE(by_caller[k].load()) << "task " << k << " of the caller's part";
  EXPECT_TRUE(caller_took_from_the_other_part.load()) << "the caller left a busy thread's tasks waiting";
  // The caller takes from the back of the other part: what it took is a run of the last tasks.
  std::size_t first_taken = 20;
  while (first_taken > 10 && by_caller[first_taken - 1].load()) --first_taken;
  for (std::size_t k = 10; k < first_taken; ++k) EXPECT_FALSE(by_caller[k].load()) << "task " << k;
}

}  // namespace
