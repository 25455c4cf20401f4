// libFuzzer target over the public API: shapes and hyperparameters from 0 to the integer limits (and
// negative), values with NaN, infinities, signed zeros and ties, both backends, both forms, float and double,
// and second-form outputs placed anywhere in their input's memory. Any exception but shape_error (or bad_alloc,
// for a valid output too large for this machine) is a finding, as is anything ASan or UBSan reports; with finite
// inputs the two backends must agree; an output that overlaps its input must be refused, one that does not must
// get the values it gets in memory of its own. (Values near the largest finite one and denormals come with the
// non-finite ones.)
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <new>
#include <vector>

#include <cnnprim/cnnprim.hpp>

#include "../support/kernels.hpp"

namespace {

using cnnprim::Index;

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  std::uint8_t byte() { return at_ < size_ ? data_[at_++] : 0; }

  // Mostly small extents, sometimes zero, sometimes near the limits or negative.
  Index extent(Index small) {
    const std::uint8_t kind = byte();
    if (kind < 200) return kind % (small + 1);
    switch (kind % 8) {
      case 0: return 0;
      case 1: return -static_cast<Index>(byte() % 3) - 1;
      case 2: return Index{1} << (byte() % 63);
      case 3: return std::numeric_limits<Index>::max() - byte() % 4;
      case 4: return (Index{1} << 31) + byte() % 4;
      default: return 1 + byte() % 64;
    }
  }

  // Channels: as extent(small), or now and then many: whole packets (16 to 64 on each side of a layer take the
  // wide kernels, Winograd's among them), or whole packets and up to 15 more (the direct kernels' partial packets,
  // pooling's half and quarter packets).
  Index channels(Index small) {
    if (byte() % 8 != 0) return extent(small);
    const Index packets = 16 * (1 + byte() % 4);
    return byte() % 2 == 0 ? packets : packets + 1 + byte() % 15;
  }

  template <class T>
  T value(bool finite) {
    const std::uint8_t kind = byte();
    if (!finite) switch (kind % 16) {
        case 0: return std::numeric_limits<T>::quiet_NaN();
        case 1: return std::numeric_limits<T>::infinity();
        case 2: return -std::numeric_limits<T>::infinity();
        case 3: return T(-0.0);
        case 4: return std::numeric_limits<T>::max() / static_cast<T>(1 << (byte() % 16));
        case 5: return std::numeric_limits<T>::denorm_min();
        default: break;
      }
    return static_cast<T>(static_cast<int>(kind % 9) - 4) / T(2);  // few distinct values: many ties
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

constexpr Index max_elements = 1 << 14;

// A tensor of the drawn shape, if it is small enough to make; values drawn too.
template <class T, int Rank>
bool make(Input& in, const std::array<Index, Rank>& shape, bool finite, cnnprim::Tensor<T, Rank>& out) {
  Index size = 1;
  for (Index e : shape) {
    if (e < 0) return false;
    if (e == 0) size = 0;
  }
  if (size != 0)
    for (Index e : shape) {
      if (e > max_elements || size * e > max_elements) return false;
      size *= e;
    }
  out = cnnprim::Tensor<T, Rank>(shape);
  for (Index k = 0; k < out.size(); ++k) out.data()[k] = in.value<T>(finite);
  return true;
}

// Whether a valid call's output is small enough to make here: the library would allocate (or report that no
// machine can hold) what a huge one needs, which is not what this target is after.
bool small_output(std::initializer_list<Index> shape, Index limit = Index{1} << 24) {
  Index size = 1;
  for (Index e : shape)
    if (e <= 0) return true;
  for (Index e : shape) {
    if (e > limit / size) return false;
    size *= e;
  }
  return true;
}

// The notebook's hyperparameters, and sometimes those of real networks on top.
template <class T>
cnnprim::ConvParams conv_params(Input& in, bool finite) {
  cnnprim::ConvParams hp{in.extent(4), in.extent(3)};
  const std::uint8_t extras = in.byte();
  if (extras & 1) hp.strides = cnnprim::Axes{in.extent(4), in.extent(4)};
  if (extras & 2) hp.padding = cnnprim::Padding{in.extent(3), in.extent(3), in.extent(3), in.extent(3)};
  if (extras & 4) hp.same = true;
  if (extras & 8) hp.dilation = {in.extent(3), in.extent(3)};
  if (extras & 16) hp.groups = in.extent(4);
  if (extras & 32)
    hp.activation = extras & 64 ? cnnprim::Activation::relu()
                                : cnnprim::Activation::clamp(in.value<T>(finite), in.value<T>(finite));
  return hp;
}

cnnprim::PoolParams pool_params(Input& in) {
  cnnprim::PoolParams hp{in.extent(5), in.extent(5)};
  const std::uint8_t extras = in.byte();
  if (extras & 1) hp.window = cnnprim::Axes{in.extent(5), in.extent(5)};
  if (extras & 2) hp.strides = cnnprim::Axes{in.extent(4), in.extent(4)};
  if (extras & 4) hp.padding = cnnprim::Padding{in.extent(2), in.extent(2), in.extent(2), in.extent(2)};
  hp.count_include_pad = extras & 8;
  hp.ceil_mode = extras & 16;
  hp.global = (extras & 0xE0) == 0xE0;
  return hp;
}

// Whether a convolution's output, and the multiply-adds behind it (output x window), are small: the Loop
// path under the sanitizers and coverage takes tens of nanoseconds for each, and the target runs it several
// times (and walks the taps of a window without channels). Invalid arguments count as small: the call reports
// them.
bool small_convolution(const std::array<Index, 4>& a, const std::array<Index, 4>& w, const cnnprim::ConvParams& hp,
                       cnnprim::Backend backend) {
  try {
    const auto g = cnnprim::detail::conv_geometry("fuzz", "A_prev", a, "W", w, hp);
    return small_output({g.m, g.n_H, g.n_W, g.n_C}) &&
           small_output({g.m, g.n_H, g.n_W, g.n_C, g.f_H, g.f_W,
                         backend == cnnprim::Backend::Loop ? std::max<Index>(1, g.group_channels())
                                                           : g.group_channels()},
                        Index{1} << 22);
  } catch (const cnnprim::shape_error&) {
    return true;
  }
}

bool small_pooling(const std::array<Index, 4>& a, const cnnprim::PoolParams& hp) {
  try {
    const auto g = cnnprim::detail::pool_geometry("fuzz", "A_prev", a, hp);
    return small_output({g.m, g.n_H, g.n_W, g.n_C}) &&
           small_output({g.m, g.n_H, g.n_W, g.n_C, g.f_H, g.f_W}, Index{1} << 22);
  } catch (const cnnprim::shape_error&) {
    return true;
  }
}

template <class T, int Rank>
void agree(const cnnprim::Tensor<T, Rank>& loop, const cnnprim::Tensor<T, Rank>& eigen) {
  if (loop.shape() != eigen.shape()) std::abort();
  double scale = 0, worst = 0;
  for (Index k = 0; k < loop.size(); ++k) {
    scale = std::max(scale, std::abs(static_cast<double>(loop.data()[k])));
    worst = std::max(worst, std::abs(static_cast<double>(loop.data()[k]) - static_cast<double>(eigen.data()[k])));
  }
  if (worst > (std::is_same_v<T, float> ? 1e-4 : 1e-10) * std::max(1.0, scale)) std::abort();
}

template <class T>
void run(Input& in) {
  using cnnprim::Backend;
  using cnnprim::PoolMode;
  using cnnprim::Tensor;
  const bool finite = in.byte() % 2;
  const std::uint8_t op = in.byte() % 5;
  const Backend backend = in.byte() % 2 ? Backend::Loop : Backend::Eigen;
  Tensor<T> A_prev;
  if (!make<T, 4>(in, {in.extent(3), in.extent(9), in.extent(9), in.channels(17)}, finite, A_prev)) return;
  switch (op) {
    case 0: {  // convolution, forward and backward, both forms; finite inputs: Loop and Eigen agree
      const cnnprim::ConvParams hp = conv_params<T>(in, finite);
      const bool bias = in.byte() % 4 != 0;
      const Index channels = hp.groups >= 1 && in.byte() % 4 != 0 ? A_prev.dim(3) / hp.groups : in.channels(17);
      Tensor<T> W, b;
      if (!make<T, 4>(in, {in.extent(4), in.extent(4), channels, in.channels(17)}, finite, W)) return;
      if (bias && !make<T, 4>(in, {1, 1, 1, W.dim(3)}, finite, b)) return;
      if (!small_convolution(A_prev.shape(), W.shape(), hp, backend)) return;
      auto forward =
          bias ? cnnprim::conv_forward(A_prev, W, b, hp, backend) : cnnprim::conv_forward(A_prev, W, hp, backend);
      Tensor<T> dZ;
      if (!make<T, 4>(in, forward.Z.shape(), finite, dZ)) return;
      const auto grads = cnnprim::conv_backward(dZ, forward.cache, backend);
      Tensor<T> dA_prev(A_prev.shape()), dW(W.shape());
      cnnprim::conv_backward_data(dZ, W, hp, dA_prev, backend);
      cnnprim::conv_backward_weights(dZ, A_prev, hp, dW, backend);
      if (finite && small_convolution(A_prev.shape(), W.shape(), hp, Backend::Loop)) {
        const Backend other = backend == Backend::Loop ? Backend::Eigen : Backend::Loop;
        agree(forward.Z,
              (bias ? cnnprim::conv_forward(A_prev, W, b, hp, other) : cnnprim::conv_forward(A_prev, W, hp, other)).Z);
        const auto other_grads = cnnprim::conv_backward(dZ, forward.cache, other);
        agree(grads.dA_prev, other_grads.dA_prev);
        agree(grads.dW, other_grads.dW);
        agree(grads.db, other_grads.db);
      }
      break;
    }
    case 1: {  // pooling, both modes through the cache and the second form
      const cnnprim::PoolParams hp = pool_params(in);
      const PoolMode mode = in.byte() % 2 ? PoolMode::Max : PoolMode::Average;
      if (!small_pooling(A_prev.shape(), hp)) return;
      auto forward = cnnprim::pool_forward(A_prev, hp, mode, backend);
      Tensor<T> dA;
      if (!make<T, 4>(in, forward.A.shape(), finite, dA)) return;
      const auto dA_prev = cnnprim::pool_backward(dA, forward.cache, backend);
      Tensor<T> out(A_prev.shape());
      cnnprim::pool_backward(dA, A_prev, hp, mode, out, backend);
      // The argmax form, from max_pool_forward's argmax or from the input's bytes (any position at all).
      Tensor<std::uint8_t> argmax(forward.A.shape());
      for (Index k = 0; k < argmax.size(); ++k) argmax.data()[k] = in.byte();
      Tensor<T> A(forward.A.shape());
      if (in.byte() % 2) cnnprim::max_pool_forward(A_prev, hp, A, argmax, backend);
      cnnprim::max_pool_backward(dA, argmax, hp, out, backend);
      if (finite) {
        const Backend other = backend == Backend::Loop ? Backend::Eigen : Backend::Loop;
        agree(forward.A, cnnprim::pool_forward(A_prev, hp, mode, other).A);
        agree(dA_prev, cnnprim::pool_backward(dA, forward.cache, other));
      }
      break;
    }
    case 2: {  // zero_pad
      const Index pad = in.extent(4);
      const Index limit = Index{1} << 40;  // keeps this check's own sums in range
      if (pad >= 0 && (pad > limit || A_prev.dim(1) > limit || A_prev.dim(2) > limit ||
                       !small_output({A_prev.dim(0), A_prev.dim(1) + 2 * pad, A_prev.dim(2) + 2 * pad, A_prev.dim(3)})))
        return;
      const auto X_pad = cnnprim::zero_pad(A_prev, pad, backend);
      Tensor<T> out(X_pad.shape());
      cnnprim::zero_pad(A_prev, pad, out, backend);
      break;
    }
    case 3: {  // pooling's second form into a view of A_prev's memory at a drawn offset
      const cnnprim::PoolParams hp = pool_params(in);
      const PoolMode mode = in.byte() % 2 ? PoolMode::Max : PoolMode::Average;
      if (!small_pooling(A_prev.shape(), hp)) return;
      const auto g = cnnprim::detail::pool_geometry("fuzz", "A_prev", A_prev.shape(), hp);
      Tensor<T> A(cnnprim::detail::output_shape(g));
      cnnprim::pool_forward(A_prev, hp, mode, A, backend);
      std::vector<T> memory(static_cast<std::size_t>(A_prev.size() + 2 * A.size()));
      std::copy_n(A_prev.data(), A_prev.size(), memory.data());
      const Index offset = (Index{in.byte()} << 8 | in.byte()) % (A_prev.size() + A.size() + 1);
      const cnnprim::TensorView<const T> a(memory.data(), A_prev.shape());
      const cnnprim::TensorView<T> out(memory.data() + offset, A.shape());
      const bool apart = A_prev.size() == 0 || A.size() == 0 || offset >= A_prev.size();
      try {
        cnnprim::pool_forward(a, hp, mode, out, backend);
      } catch (const cnnprim::shape_error&) {
        if (apart) std::abort();
        return;
      }
      if (!apart) std::abort();
      if (A.size() != 0 && std::memcmp(out.data(), A.data(), static_cast<std::size_t>(A.size()) * sizeof(T)) != 0)
        std::abort();
      break;
    }
    default: {  // the helpers and output_size
      Tensor<T, 2> window;
      if (make<T, 2>(in, {in.extent(5), in.extent(5)}, finite, window)) cnnprim::create_mask_from_window(window);
      const Index n_H = in.extent(4), n_W = in.extent(4);
      if (small_output({n_H, n_W})) cnnprim::distribute_value(in.value<T>(finite), {n_H, n_W});
      cnnprim::output_size(in.extent(9), in.extent(4), in.extent(4), in.extent(4));
      cnnprim::output_size(in.extent(9), in.extent(4), in.extent(4), in.extent(4), in.extent(4), in.extent(4),
                           in.byte() % 2);
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  try {
    if (in.byte() % 2) run<float>(in);
    else run<double>(in);
  } catch (const cnnprim::shape_error&) {
  } catch (const std::bad_alloc&) {
  }
  return 0;
}
