// Index, the owning row-major Tensor<T, Rank>, and its cheap Eigen views.
//
// Rank 4 is NHWC (m, n_H, n_W, n_C); filters are HWIO (f, f, n_C_prev, n_C); a window is (f, f, n_C_prev).
// Copies share their storage until one of them is written (copy on write), so a cache that keeps a
// tensor costs no deep copy and still sees the values it was given, whatever the caller does later.
#pragma once

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>
#include <cstring>
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

namespace cnnprim {

using Index = std::ptrdiff_t;

template <class T, int Rank = 4>
class Tensor {
  static_assert(Rank >= 1, "a Tensor has at least one axis");
  static_assert(std::is_arithmetic_v<T>, "a Tensor holds arithmetic values");

 public:
  using value_type = T;
  using Shape = std::array<Index, Rank>;
  using EigenTensor = Eigen::Tensor<T, Rank, Eigen::RowMajor, Index>;
  using EigenMap = Eigen::TensorMap<EigenTensor, Eigen::Unaligned>;
  using ConstEigenMap = Eigen::TensorMap<const EigenTensor, Eigen::Unaligned>;
  using VectorMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>;
  using ConstVectorMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;

  static constexpr int rank = Rank;

  /// An empty tensor: every extent 0.
  Tensor() = default;

  /// A zero-filled tensor of the given shape; a negative extent throws shape_error.
  explicit Tensor(const Shape& shape) : shape_(shape), size_(checked_size(shape)), storage_(allocate(size_)) {
    if (size_ > 0) std::fill_n(storage_.get(), size_, T(0));
  }

  /// A tensor holding `values` in row-major order; their count must equal the shape's size.
  Tensor(const Shape& shape, const std::vector<T>& values) : shape_(shape), size_(checked_size(shape)) {
    if (static_cast<Index>(values.size()) != size_)
      detail::fail("Tensor", "shape ", format_shape(shape), " needs ", size_, " values, but got ", values.size());
    storage_ = allocate(size_);
    std::copy(values.begin(), values.end(), storage_.get());
  }

  /// A tensor whose values are unspecified: for an output that is about to be overwritten in full, so that
  /// it is not zero-filled first.
  static Tensor uninitialized(const Shape& shape) {
    Tensor t;
    t.shape_ = shape;
    t.size_ = checked_size(shape);
    t.storage_ = allocate(t.size_);
    return t;
  }

  const Shape& shape() const noexcept { return shape_; }
  Index size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  /// The extent of one axis; an axis outside [0, Rank) throws std::out_of_range.
  Index dim(int axis) const {
    if (axis < 0 || axis >= Rank)
      throw std::out_of_range("Tensor::dim: axis " + std::to_string(axis) + " is outside [0, " +
                              std::to_string(Rank) + ")");
    return shape_[static_cast<std::size_t>(axis)];
  }

  /// Read-only row-major storage.
  const T* data() const noexcept { return storage_.get(); }
  /// Writable row-major storage; first detaches from any copy that shares it.
  T* data() {
    detach();
    return storage_.get();
  }

  /// Unchecked element access (asserted in debug builds), e.g. `x(i, h, w, c)`.
  template <class... Indices>
  const T& operator()(Indices... indices) const {
    return storage_.get()[offset(indices...)];
  }
  template <class... Indices>
  T& operator()(Indices... indices) {
    const Index at = offset(indices...);
    return data()[at];
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
    check_bounds(indices...);
    return (*this)(indices...);
  }
  template <class... Indices>
  T& at(Indices... indices) {
    check_bounds(indices...);
    return (*this)(indices...);
  }

  /// Eigen views of the same storage: no copy is made.
  EigenMap tensor() { return EigenMap(data(), shape_); }
  ConstEigenMap tensor() const { return ConstEigenMap(data(), shape_); }
  VectorMap vector() { return VectorMap(data(), size_); }
  ConstVectorMap vector() const { return ConstVectorMap(data(), size_); }

  /// True when this tensor and `other` share storage (a copy nobody has written yet).
  bool shares_storage_with(const Tensor& other) const noexcept {
    return storage_ != nullptr && storage_ == other.storage_;
  }

 private:
  struct AlignedDelete {
    void operator()(T* p) const noexcept { ::operator delete[](p, std::align_val_t{alignment}); }
  };
  // A cache line: full-width SIMD loads never straddle two lines.
  static constexpr std::size_t alignment = 64;

  static std::shared_ptr<T> allocate(Index size) {
    if (size == 0) return {};
    void* p = ::operator new[](static_cast<std::size_t>(size) * sizeof(T), std::align_val_t{alignment});
    return std::shared_ptr<T>(static_cast<T*>(p), AlignedDelete{});
  }

  // Takes the shape by value: with a const reference, GCC 12 at -O3 with AVX-512 (-march=native on such a
  // machine) folded a constant shape such as {3, 3, 3, 0} into {3, 3, 3, 3} in the copy the
  // constructor keeps (tests/tensor_test.cpp, ConstantShapeWithZeroSurvivesOptimization).
  static Index checked_size(Shape shape) {
    Index size = 1;
    for (Index extent : shape)
      if (extent < 0) detail::fail("Tensor", "extents must be non-negative, but shape is ", format_shape(shape));
    for (Index extent : shape) {
      if (extent != 0 && size > std::numeric_limits<Index>::max() / static_cast<Index>(sizeof(T)) / extent)
        detail::fail("Tensor", "shape ", format_shape(shape), " holds more elements than memory can address");
      size *= extent;
    }
    return size;
  }

  void detach() {
    if (storage_ && storage_.use_count() > 1) {
      std::shared_ptr<T> copy = allocate(size_);
      std::memcpy(copy.get(), storage_.get(), static_cast<std::size_t>(size_) * sizeof(T));
      storage_ = std::move(copy);
    }
  }

  template <class... Indices>
  Index offset(Indices... indices) const {
    static_assert(sizeof...(Indices) == Rank, "give one index per axis");
    const std::array<Index, Rank> index{static_cast<Index>(indices)...};
    Index at = 0;
    for (int k = 0; k < Rank; ++k) {
      assert(index[k] >= 0 && index[k] < shape_[k]);
      at = at * shape_[k] + index[k];
    }
    return at;
  }

  template <class... Indices>
  void check_bounds(Indices... indices) const {
    static_assert(sizeof...(Indices) == Rank, "give one index per axis");
    const std::array<Index, Rank> index{static_cast<Index>(indices)...};
    for (int k = 0; k < Rank; ++k)
      if (index[k] < 0 || index[k] >= shape_[k])
        throw std::out_of_range("Tensor::at: index " + format_shape(index) + " is outside shape " +
                                format_shape(shape_));
  }

  Shape shape_{};
  Index size_ = 0;
  std::shared_ptr<T> storage_;
};

}  // namespace cnnprim
