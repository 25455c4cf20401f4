// Index, the owning row-major Tensor<T, Rank>, the non-owning TensorView<T, Rank>, and their Eigen views.
//
// Rank 4 is NHWC (m, n_H, n_W, n_C); filters are HWIO (f, f, n_C_prev, n_C); a window is (f, f, n_C_prev).
// A Tensor is a value, as std::vector is: a copy owns its own elements, so nothing written through one
// (by element, through data(), or through a view or Eigen map of it) is ever seen through another. A
// TensorView is a pointer and a shape over memory someone else owns (a Tensor, a std::vector, a camera
// frame, a RowMajor Eigen::Tensor); it never copies, and it must not outlive that memory.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <unsupported/Eigen/CXX11/Tensor>

#include "errors.hpp"
#include "memory.hpp"

namespace cnnprim {

using Index = std::ptrdiff_t;

template <class T, int Rank = 4>
class TensorView;
template <class T, int Rank = 4>
class Tensor;

namespace detail {

// The number of elements of `shape`, checked for the function the user called: a negative extent, or a
// product that no allocation of T could hold, throws shape_error. A zero extent makes the size 0 whatever
// the other extents are. The shape is taken by value: with a const reference, GCC 12 at -O3 with AVX-512
// folded a constant shape such as {3, 3, 3, 0} into {3, 3, 3, 3} (tensor_test, ConstantShapeWithZero...).
template <class T, std::size_t N>
Index checked_size(const char* function, const char* name, std::array<Index, N> shape) {
  for (const Index extent : shape)
    if (extent < 0) fail(function, "extents must be non-negative, but ", name, " is ", shape_text(shape));
  for (const Index extent : shape)
    if (extent == 0) return 0;
  Index size = 1;
  for (const Index extent : shape) {
    if (size > std::numeric_limits<Index>::max() / static_cast<Index>(sizeof(T)) / extent)
      fail(function, name, " ", shape_text(shape), " holds more elements than memory can address");
    size *= extent;
  }
  return size;
}

// Row-major offset of an element; indices are asserted in debug builds. Always inlined, through plain arrays: at
// -O0 nothing else is inlined, and under UndefinedBehaviorSanitizer clang left each std::array subscript and this
// function calls of their own, which made element loops 3-4x slower in debug and sanitized builds.
template <std::size_t N, class... Indices>
EIGEN_ALWAYS_INLINE Index element_offset(const std::array<Index, N>& shape, Indices... indices) {
  static_assert(sizeof...(Indices) == N, "give one index per axis");
  const Index index[N]{static_cast<Index>(indices)...};
  const Index* extent = shape.data();
  Index at = 0;
  for (std::size_t k = 0; k < N; ++k) {
    assert(index[k] >= 0 && index[k] < extent[k]);
    at = at * extent[k] + index[k];
  }
  return at;
}

template <std::size_t N, class... Indices>
Index checked_offset(const char* who, const std::array<Index, N>& shape, Indices... indices) {
  static_assert(sizeof...(Indices) == N, "give one index per axis");
  const std::array<Index, N> index{static_cast<Index>(indices)...};
  for (std::size_t k = 0; k < N; ++k)
    if (index[k] < 0 || index[k] >= shape[k])
      throw std::out_of_range(std::string(who) + ": index " + format_shape(index) + " is outside shape " +
                              format_shape(shape));
  return element_offset(shape, indices...);
}

[[noreturn]] inline void axis_out_of_range(const char* who, int axis, int rank) {
  throw std::out_of_range(std::string(who) + ": axis " + std::to_string(axis) + " is outside [0, " +
                          std::to_string(rank) + ")");
}

// The element type of a Tensor or TensorView argument, without const; no type for anything else, so that
// overloads taking a tensor drop out for other arguments.
template <class X>
struct tensor_value {};
template <class T, int Rank>
struct tensor_value<Tensor<T, Rank>> {
  using type = T;
};
template <class T, int Rank>
struct tensor_value<TensorView<T, Rank>> {
  using type = std::remove_const_t<T>;
};
template <class X>
using tensor_value_t = typename tensor_value<std::remove_cv_t<std::remove_reference_t<X>>>::type;

// The views a public function takes for its other tensors, with the element type of its first one: a
// Tensor or a view converts to them, and they take no part in deducing the element type.
template <class X, int Rank = 4>
using input_t = TensorView<const tensor_value_t<X>, Rank>;
template <class X, int Rank = 4>
using output_t = TensorView<tensor_value_t<X>, Rank>;

// A cache's own copy of a tensor argument: an rvalue Tensor is moved in, anything else copied.
template <class In>
auto keep(In&& x) {
  using T = tensor_value_t<In>;
  constexpr int rank = std::remove_reference_t<In>::rank;
  if constexpr (std::is_same_v<std::remove_cv_t<std::remove_reference_t<In>>, Tensor<T, rank>>)
    return Tensor<T, rank>(std::forward<In>(x));
  else
    return Tensor<T, rank>(TensorView<const T, rank>(x));
}

// The element types the operations compute in.
template <class T>
inline constexpr bool is_real_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

}  // namespace detail

/// A pointer and a row-major shape over memory the caller owns; T may be const. Copying a view copies the
/// pointer, never the elements. A view of T converts to a view of const T.
template <class T, int Rank>
class TensorView {
  static_assert(Rank >= 1, "a TensorView has at least one axis");
  static_assert(std::is_arithmetic_v<std::remove_const_t<T>>, "a TensorView holds arithmetic values");

 public:
  using value_type = std::remove_const_t<T>;
  using element_type = T;
  using Shape = std::array<Index, static_cast<std::size_t>(Rank)>;
  using EigenTensor = Eigen::Tensor<value_type, Rank, Eigen::RowMajor, Index>;
  using EigenMap = Eigen::TensorMap<std::conditional_t<std::is_const_v<T>, const EigenTensor, EigenTensor>,
                                    Eigen::Unaligned>;
  using VectorMap =
      Eigen::Map<std::conditional_t<std::is_const_v<T>, const Eigen::Matrix<value_type, Eigen::Dynamic, 1>,
                                    Eigen::Matrix<value_type, Eigen::Dynamic, 1>>>;

  static constexpr int rank = Rank;

  /// An empty view: every extent 0, no data.
  TensorView() = default;

  /// Views `shape` row-major elements from `data`, which must hold them all. A negative extent, or a null
  /// `data` with a non-zero size, throws shape_error.
  TensorView(T* data, const Shape& shape)
      : data_(data), shape_(shape), size_(detail::checked_size<value_type>("TensorView", "shape", shape)) {
    if (data == nullptr && size_ != 0)
      detail::fail("TensorView", "data is null, but shape ", detail::shape_text(shape), " holds ", size_,
                   " elements");
  }

  /// A view of T is a view of const T.
  template <class U, class = std::enable_if_t<std::is_same_v<const U, T> && !std::is_same_v<U, T>>>
  TensorView(const TensorView<U, Rank>& other) noexcept  // NOLINT(google-explicit-constructor)
      : data_(other.data()), shape_(other.shape()), size_(other.size()) {}

  const Shape& shape() const noexcept { return shape_; }
  Index size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  T* data() const noexcept { return data_; }

  /// The extent of one axis; an axis outside [0, Rank) throws std::out_of_range.
  Index dim(int axis) const {
    if (axis < 0 || axis >= Rank) detail::axis_out_of_range("TensorView::dim", axis, Rank);
    return shape_[static_cast<std::size_t>(axis)];
  }

  /// Unchecked element access (asserted in debug builds), e.g. `x(i, h, w, c)`.
  template <class... Indices>
  EIGEN_ALWAYS_INLINE T& operator()(Indices... indices) const {
    return data_[detail::element_offset(shape_, indices...)];
  }

  /// The same element access as a named member, `x.t(i, h, w, c)`.
  template <class... Indices>
  T& t(Indices... indices) const {
    return (*this)(indices...);
  }

  /// Checked element access: an index outside its extent throws std::out_of_range.
  template <class... Indices>
  T& at(Indices... indices) const {
    return data_[detail::checked_offset("TensorView::at", shape_, indices...)];
  }

  /// Eigen views of the same memory.
  EigenMap tensor() const { return EigenMap(data_, shape_); }
  VectorMap vector() const { return VectorMap(data_, size_); }

 private:
  template <class, int>
  friend class Tensor;
  // A tensor's own view: its shape is already checked.
  TensorView(T* data, const Shape& shape, Index size) noexcept : data_(data), shape_(shape), size_(size) {}

  T* data_ = nullptr;
  Shape shape_{};
  Index size_ = 0;
};

namespace detail {

// Whether views a and b share memory (an empty view shares none).
template <class A, int RankA, class B, int RankB>
bool overlap(const TensorView<A, RankA>& a, const TensorView<B, RankB>& b) {
  if (a.empty() || b.empty()) return false;
  const auto begin = [](const auto& v) { return reinterpret_cast<std::uintptr_t>(v.data()); };
  const auto end = [&](const auto& v) {
    return begin(v) + static_cast<std::uintptr_t>(v.size()) * sizeof(*v.data());
  };
  return begin(a) < end(b) && begin(b) < end(a);
}

// A call reads its inputs while it writes its outputs: an output that shares memory with an input, or with
// another output, would make the results depend on the order of the work.
template <class Out, int RankOut, class In, int RankIn>
void require_apart(const char* function, const char* output, const TensorView<Out, RankOut>& out, const char* input,
                   const TensorView<In, RankIn>& in) {
  if (overlap(out, in))
    fail(function, output, " shares memory with ", input,
         ": a call's outputs must not overlap its inputs or each other");
}

// The same for an element-wise call, whose output may also be exactly its input (written in place).
template <class Out, int RankOut, class In, int RankIn>
void require_apart_or_same(const char* function, const char* output, const TensorView<Out, RankOut>& out,
                           const char* input, const TensorView<In, RankIn>& in) {
  if (static_cast<const void*>(out.data()) == static_cast<const void*>(in.data()) && out.size() == in.size()) return;
  if (overlap(out, in))
    fail(function, output, " shares memory with ", input, " without being ", input,
         " itself: an element-wise call may write in place, but not into a shifted or partial copy");
}

}  // namespace detail

/// Owning, contiguous, row-major and 64-byte aligned (see memory.hpp); a value (see the top of this file).
template <class T, int Rank>
class Tensor {
  static_assert(Rank >= 1, "a Tensor has at least one axis");
  static_assert(std::is_arithmetic_v<T> && !std::is_const_v<T>, "a Tensor holds arithmetic values");

 public:
  using value_type = T;
  using Shape = std::array<Index, static_cast<std::size_t>(Rank)>;
  using EigenTensor = Eigen::Tensor<T, Rank, Eigen::RowMajor, Index>;
  using EigenMap = Eigen::TensorMap<EigenTensor, Eigen::Unaligned>;
  using ConstEigenMap = Eigen::TensorMap<const EigenTensor, Eigen::Unaligned>;
  using VectorMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>;
  using ConstVectorMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;

  static constexpr int rank = Rank;

  /// An empty tensor: every extent 0.
  Tensor() = default;

  /// A zero-filled tensor of the given shape; a negative extent throws shape_error.
  explicit Tensor(const Shape& shape) : Tensor(uninitialized(shape)) { std::fill_n(data_.get(), size_, T(0)); }

  /// A tensor holding `values` in row-major order; their count must equal the shape's size.
  Tensor(const Shape& shape, const std::vector<T>& values) : Tensor(uninitialized(shape)) {
    if (static_cast<Index>(values.size()) != size_)
      detail::fail("Tensor", "shape ", detail::shape_text(shape), " needs ", size_, " values, but got ",
                   values.size());
    std::copy(values.begin(), values.end(), data_.get());
  }

  /// A copy of the elements a view shows.
  explicit Tensor(TensorView<const T, Rank> view) : Tensor(uninitialized(view.shape())) {
    std::copy_n(view.data(), size_, data_.get());
  }

  /// A tensor whose values are unspecified: for an output that is about to be overwritten in full, so that
  /// it is not zero-filled first. A shape_error names `function` and calls the shape `name`.
  static Tensor uninitialized(const Shape& shape, const char* function = "Tensor", const char* name = "shape") {
    Tensor t;
    t.size_ = detail::checked_size<T>(function, name, shape);
    t.shape_ = shape;
    t.data_ = allocate(t.size_);
    return t;
  }

  Tensor(const Tensor& other) : Tensor(other.view()) {}
  Tensor(Tensor&& other) noexcept
      : data_(std::move(other.data_)), shape_(std::exchange(other.shape_, Shape{})),
        size_(std::exchange(other.size_, 0)) {}

  /// Copy assignment reuses this tensor's memory when the sizes match, as a training loop's buffers do.
  Tensor& operator=(const Tensor& other) {
    if (this == &other) return *this;
    if (size_ != other.size_) data_ = allocate(other.size_);
    shape_ = other.shape_;
    size_ = other.size_;
    std::copy_n(other.data_.get(), size_, data_.get());
    return *this;
  }
  Tensor& operator=(Tensor&& other) noexcept {
    data_ = std::move(other.data_);
    shape_ = std::exchange(other.shape_, Shape{});
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  ~Tensor() = default;

  const Shape& shape() const noexcept { return shape_; }
  Index size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// The extent of one axis; an axis outside [0, Rank) throws std::out_of_range.
  Index dim(int axis) const {
    if (axis < 0 || axis >= Rank) detail::axis_out_of_range("Tensor::dim", axis, Rank);
    return shape_[static_cast<std::size_t>(axis)];
  }

  /// Row-major storage; null when the tensor is empty.
  const T* data() const noexcept { return data_.get(); }
  T* data() noexcept { return data_.get(); }

  /// Unchecked element access (asserted in debug builds), e.g. `x(i, h, w, c)`.
  template <class... Indices>
  EIGEN_ALWAYS_INLINE const T& operator()(Indices... indices) const {
    return data_.get()[detail::element_offset(shape_, indices...)];
  }
  template <class... Indices>
  EIGEN_ALWAYS_INLINE T& operator()(Indices... indices) {
    return data_.get()[detail::element_offset(shape_, indices...)];
  }

  /// The same element access as a named member, `x.t(i, h, w, c)`.
  template <class... Indices>
  const T& t(Indices... indices) const {
    return (*this)(indices...);
  }
  template <class... Indices>
  T& t(Indices... indices) {
    return (*this)(indices...);
  }

  /// Checked element access: an index outside its extent throws std::out_of_range.
  template <class... Indices>
  const T& at(Indices... indices) const {
    return data_.get()[detail::checked_offset("Tensor::at", shape_, indices...)];
  }
  template <class... Indices>
  T& at(Indices... indices) {
    return data_.get()[detail::checked_offset("Tensor::at", shape_, indices...)];
  }

  /// Views of the same storage: no copy is made. They are valid until the tensor is destroyed, moved
  /// from or assigned a different size.
  TensorView<T, Rank> view() noexcept { return {data_.get(), shape_, size_}; }
  TensorView<const T, Rank> view() const noexcept { return {data_.get(), shape_, size_}; }
  operator TensorView<T, Rank>() noexcept { return view(); }  // NOLINT(google-explicit-constructor)
  operator TensorView<const T, Rank>() const noexcept { return view(); }  // NOLINT(google-explicit-constructor)

  EigenMap tensor() { return EigenMap(data(), shape_); }
  ConstEigenMap tensor() const { return ConstEigenMap(data(), shape_); }
  VectorMap vector() { return VectorMap(data(), size_); }
  ConstVectorMap vector() const { return ConstVectorMap(data(), size_); }

 private:
  static detail::Block<T> allocate(Index size) {
    if (size == 0) return nullptr;
    return detail::allocate_block<T>(static_cast<std::size_t>(size));
  }

  detail::Block<T> data_;
  Shape shape_{};
  Index size_ = 0;
};

}  // namespace cnnprim
