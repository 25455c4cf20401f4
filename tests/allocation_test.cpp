// The second form allocates nothing once its scratch memory has grown: a steady-state loop over every
// second-form function is counted through a replaced global operator new.
// Eigen allocates with malloc, not operator new: its own check, made to count here instead of asserting,
// reports any heap allocation while it is forbidden.
static int eigen_failed_checks = 0;
#define EIGEN_RUNTIME_NO_MALLOC
#define eigen_assert(x) ((x) ? void(0) : void(++eigen_failed_checks))

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include <gtest/gtest.h>

#include <cnnprim/cnnprim.hpp>

#include "support/oracle.hpp"

namespace {

std::atomic<long> allocations{0};
thread_local bool allocations_fail = false;  // every allocation of this thread throws

void* counted(std::size_t size, std::size_t alignment) {
  if (allocations_fail) throw std::bad_alloc();
  allocations.fetch_add(1, std::memory_order_relaxed);
  const std::size_t a = alignment < alignof(std::max_align_t) ? alignof(std::max_align_t) : alignment;
  void* p = std::aligned_alloc(a, (size + a - 1) / a * a);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

// The replaced operator new allocates with aligned_alloc, so the replaced operator delete frees: GCC's
// warning sees only the names.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t size) { return counted(size, alignof(std::max_align_t)); }
void* operator new[](std::size_t size) { return counted(size, alignof(std::max_align_t)); }
void* operator new(std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t size, std::align_val_t a) { return counted(size, static_cast<std::size_t>(a)); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using cnnprim::Backend;
using cnnprim::Index;
using cnnprim::PoolMode;
using cnnprim::Tensor;

class Allocations : public ::testing::TestWithParam<Backend> {};

// One training step of a conv layer and a pool layer through the second form, on buffers made once.
template <class T>
struct Layer {
  cnnprim::ConvParams conv_hp;
  cnnprim::PoolParams pool_hp;
  Tensor<T> A_prev, W, b, Z, A, dA, dZ, dA_prev, dW, db, X_pad;
  Tensor<std::uint8_t> argmax;

  Layer(std::array<Index, 4> input, Index f, Index n_C, cnnprim::ConvParams conv, cnnprim::PoolParams pool)
      : conv_hp(conv), pool_hp(pool) {
    A_prev = oracle::uniform<T, 4>(input, 1);
    W = oracle::uniform<T, 4>({f, f, input[3] / conv.groups, n_C}, 2);
    b = oracle::uniform<T, 4>({1, 1, 1, n_C}, 3);
    Z = cnnprim::conv_forward(A_prev, W, b, conv_hp).Z;
    A = cnnprim::pool_forward(Z, pool_hp).A;
    argmax = Tensor<std::uint8_t>(A.shape());
    dA = oracle::uniform<T, 4>(A.shape(), 4);
    dZ = Tensor<T>(Z.shape());
    dA_prev = Tensor<T>(A_prev.shape());
    dW = Tensor<T>(W.shape());
    db = Tensor<T>(b.shape());
    X_pad = cnnprim::zero_pad(A_prev, conv_hp.pad);
  }

  void step(Backend backend) {
    cnnprim::zero_pad(A_prev, conv_hp.pad, X_pad, backend);
    cnnprim::conv_forward(A_prev, W, b, conv_hp, Z, backend);
    for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
      cnnprim::pool_forward(Z, pool_hp, mode, A, backend);
      cnnprim::pool_backward(dA, Z, pool_hp, mode, dZ, backend);
    }
    cnnprim::max_pool_forward(Z, pool_hp, A, argmax, backend);
    cnnprim::max_pool_backward(dA, argmax, pool_hp, dZ, backend);
    cnnprim::conv_backward_data(dZ, W, conv_hp, dA_prev, backend);
    cnnprim::conv_backward_weights(dZ, A_prev, conv_hp, dW, db, backend);
  }
};

// Real networks' hyperparameters: the depthwise kernel (dilated, with an activation), two groups on the
// patch-matrix path, and pooling with padding and ceil mode.
cnnprim::ConvParams depthwise() {
  cnnprim::ConvParams hp{1, 2};
  hp.groups = 32;
  hp.dilation = {2, 2};
  hp.activation = cnnprim::Activation::relu();
  return hp;
}

cnnprim::ConvParams grouped() {
  cnnprim::ConvParams hp;
  hp.groups = 2;
  hp.strides = cnnprim::Axes{2, 1};
  hp.padding = cnnprim::Padding{0, 1, 1, 0};
  return hp;
}

cnnprim::PoolParams padded_pooling() {
  cnnprim::PoolParams hp{3, 2};
  hp.window = cnnprim::Axes{3, 2};
  hp.padding = cnnprim::Padding{1, 1, 1, 0};
  hp.ceil_mode = true;
  hp.count_include_pad = true;
  return hp;
}

template <class T>
void expect_steady_state_allocates_nothing(Backend backend) {
  // The direct kernels (channels fill packets; a strided data gradient by phases) and the patch-matrix path,
  // strided, padded, pointwise, and with a filter matrix larger than one product may take.
  Layer<T> layers[] = {
      Layer<T>({2, 9, 11, 16}, 3, 32, {1, 1}, {2, 2}), Layer<T>({3, 8, 7, 3}, 3, 5, {2, 2}, {2, 1}),
      Layer<T>({1, 6, 6, 4}, 1, 6, {1, 0}, {3, 3}),    Layer<T>({2, 40, 40, 8}, 3, 5, {1, 1}, {2, 2}),
      Layer<T>({4, 30, 30, 6}, 1, 7, {1, 0}, {2, 2}),  Layer<T>({1, 12, 12, 64}, 3, 30, {1, 1}, {2, 2}),
      Layer<T>({2, 12, 12, 32}, 3, 32, depthwise(), padded_pooling()),
      Layer<T>({2, 10, 10, 8}, 3, 16, grouped(), padded_pooling()), Layer<T>({2, 14, 14, 32}, 3, 48, {2, 1}, {2, 2})};
  for (auto& layer : layers) layer.step(backend);  // scratch memory grows to what these shapes need
  const long before = allocations.load();
  const int eigen_before = eigen_failed_checks;
  Eigen::internal::set_is_malloc_allowed(false);
  for (int k = 0; k < 5; ++k)
    for (auto& layer : layers) layer.step(backend);
  Eigen::internal::set_is_malloc_allowed(true);
  EXPECT_EQ(allocations.load() - before, 0) << "allocations through operator new in the steady state";
  EXPECT_EQ(eigen_failed_checks - eigen_before, 0) << "Eigen's heap allocations in the steady state";
}

TEST_P(Allocations, SecondFormAllocatesNothingInTheSteadyStateFloat) {
  expect_steady_state_allocates_nothing<float>(GetParam());
}

TEST_P(Allocations, SecondFormAllocatesNothingInTheSteadyStateDouble) {
  expect_steady_state_allocates_nothing<double>(GetParam());
}

// The counters themselves work: the first form allocates its results, and Eigen's check sees a product
// too large for its stack buffers.
TEST(Allocations, EigenHeapAllocationIsSeen) {
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(300, 300);
  Eigen::MatrixXf c(300, 300);
  const int before = eigen_failed_checks;
  Eigen::internal::set_is_malloc_allowed(false);
  c.noalias() = a * a;
  Eigen::internal::set_is_malloc_allowed(true);
  EXPECT_GT(eigen_failed_checks, before);
}

TEST_P(Allocations, FirstFormIsCounted) {
  Layer<float> layer({1, 6, 6, 4}, 3, 8, {1, 1}, {2, 2});
  const long before = allocations.load();
  const auto forward = cnnprim::conv_forward(layer.A_prev, layer.W, layer.b, layer.conv_hp, GetParam());
  EXPECT_GE(allocations.load() - before, 4);  // Z and the cache's A_prev, W and b
  EXPECT_EQ(forward.Z.shape(), layer.Z.shape());
}

// A pool thread that cannot allocate its scratch memory ends the call with std::bad_alloc, whatever it was doing
// (here the data gradient's Winograd pass, whose threads share the filter's transform and wait for each other's
// part of it), and leaves no thread waiting. (A call whose pool thread woke too late to take a task returns the
// bits of one thread.)
TEST(FailedAllocations, ReachTheCallerAndLeaveNoThreadWaiting) {
  Eigen::ThreadPool pool(1);
  const auto pool_thread_fails = [&](bool fail) {
    Eigen::Barrier done(1);
    pool.Schedule([&] {
      cnnprim::release_scratch();
      allocations_fail = fail;
      done.Notify();
    });
    done.Wait();
  };
  const cnnprim::ConvParams hp{1, 1};
  const auto dZ = oracle::uniform<float, 4>({2, 16, 16, 256}, 1);
  const auto W = oracle::uniform<float, 4>({3, 3, 256, 256}, 2);
  Tensor<float> expected(dZ.shape()), dA_prev(dZ.shape());
  cnnprim::conv_backward_data(dZ, W, hp, expected);
  const auto same_as_expected = [&] {
    return std::memcmp(dA_prev.data(), expected.data(), sizeof(float) * static_cast<std::size_t>(expected.size())) == 0;
  };
  int failed_calls = 0;
  for (int attempt = 0; attempt < 10; ++attempt) {
    pool_thread_fails(true);
    try {
      cnnprim::conv_backward_data(dZ, W, hp, dA_prev, Backend::Eigen, {pool, 2});
      EXPECT_TRUE(same_as_expected());
    } catch (const std::bad_alloc&) {
      ++failed_calls;
    }
    pool_thread_fails(false);
  }
  EXPECT_GT(failed_calls, 0);
  cnnprim::conv_backward_data(dZ, W, hp, dA_prev, Backend::Eigen, {pool, 2});
  EXPECT_TRUE(same_as_expected());
}

INSTANTIATE_TEST_SUITE_P(Backends, Allocations, ::testing::Values(Backend::Loop, Backend::Eigen),
                         oracle::BackendName());
