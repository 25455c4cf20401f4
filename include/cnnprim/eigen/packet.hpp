// The one place cnnprim uses Eigen's packet primitives (Eigen::internal, whose meanings Eigen does not
// promise). Each operation below works on one value (V = T) or on one packet of values (V = Packet<T>) and
// is tested on every supported Eigen version (tests/packet_test.cpp). What they rely on:
// - packet_traits<T>::type and ::size; ploadu, pstoreu, pset1, padd, psub, pmul, pdiv, pmadd (a * b + c), pabs,
//   predux (the sum of the lanes), ptranspose of a PacketBlock of a packet's size: unchanged since Eigen 3.3;
// - comparisons (pcmp_eq, pcmp_lt, pcmp_lt_or_nan) return a lane mask, all bits set where true; pand, por
//   and pselect(mask, a, b) combine masks and values by those bits; predux_any says whether any lane is set.
//   pandnot is avoided: its operands swapped meaning between Eigen 3.3 and 3.4;
// - pmax(a, b) returns a where a == b (Eigen's x86 packets take std::max's order), so that a maximum of zeros keeps
//   the first one's sign. It and predux_max are used only where no lane holds NaN (or their result is then not
//   used): which operand they return then differs between instruction sets.
// - ploadu and pstoreu on a lane mask where unpacket_traits says masked_load_available (floats with AVX and
//   AVX-512 since Eigen 3.4, doubles too in 5.x); elsewhere those functions are not used.
// Three things go past Eigen, with AVX-512, by its intrinsics: bytes to floats and back (load_bytes, store_bytes;
// 8 floats also with AVX2), comparisons into mask registers (select_less, masked_equal, has_nan) and streaming stores
// (store_streaming); and prefetch calls GCC's and clang's builtin, since GCC removes Eigen's.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <Eigen/Core>

#if !EIGEN_VERSION_AT_LEAST(3, 4, 0)
#error "cnnprim needs Eigen 3.4 or 5.x"
#endif
#if EIGEN_VERSION_AT_LEAST(6, 0, 0)
#error "cnnprim supports Eigen 3.4 and 5.x; this Eigen is newer than any it was tested with"
#endif

#include "../tensor.hpp"

namespace cnnprim::detail::eigen {

template <class T>
using Packet = typename Eigen::internal::packet_traits<T>::type;

template <class T>
constexpr Index packet_size = Eigen::internal::packet_traits<T>::size;

// Vector registers of the instruction set Eigen's packets come from.
#if defined(__AVX512F__) || defined(__aarch64__)
constexpr int vector_registers = 32;
#else
constexpr int vector_registers = 16;
#endif

// Marks a lambda always inlined (after its parameter list): a register tile built from nested unrolled lambdas
// keeps its arrays in registers only when every one of them is inlined, which size limits may otherwise refuse.
#if defined(__GNUC__)
#define CNNPRIM_INLINE_LAMBDA __attribute__((always_inline))
#else
#define CNNPRIM_INLINE_LAMBDA
#endif

// The same pointer, hidden from the optimizer: a register tile that walks its input with one pointer would
// otherwise have each of its addresses turned into a variable of the enclosing loop, more than there are
// general registers.
template <class T>
EIGEN_ALWAYS_INLINE const T* opaque(const T* p) {
#if defined(__GNUC__)
  asm("" : "+r"(p));
#endif
  return p;
}

template <class V>
constexpr bool is_scalar_v = std::is_floating_point_v<V>;

// The same value, hidden from the optimizer in a vector register: a packet loaded once and used by several
// multiply-adds stays one load, where GCC may otherwise fold the load into each of them.
template <class P>
EIGEN_ALWAYS_INLINE P in_register(P p) {
#if defined(__GNUC__) && defined(__x86_64__)
  asm("" : "+v"(p));
#endif
  return p;
}

// Half a packet (Eigen's unpacket_traits<P>::half: 8 floats of 16, 4 of 8; the smallest packet is its own half)
// and the values a packet holds, found from values: a packet type named as a class template's argument loses
// its attributes, which GCC warns of.
template <class P>
typename Eigen::internal::unpacket_traits<P>::half half_packet(const P&);
template <class P>
constexpr Index lanes(const P&) {
  return Eigen::internal::unpacket_traits<P>::size;
}

// The packet of T that holds n values: Packet<T>, its half or its quarter (n = 1: T itself).
template <class T, Index n>
auto packet_with() {
  using P = Packet<T>;
  using H = decltype(half_packet(P()));
  using Q = decltype(half_packet(H()));
  static_assert(n == 1 || lanes(P()) == n || lanes(H()) == n || lanes(Q()) == n, "no packet of T holds n values");
  if constexpr (n == 1) return T();
  else if constexpr (lanes(P()) == n) return P();
  else if constexpr (lanes(H()) == n) return H();
  else return Q();
}
template <class T, Index n>
using packet_of = decltype(packet_with<T, n>());

// Calls visit(std::integral_constant<Index, n>()) with the widest n of Packet<T>, its half and its quarter that
// divides `count`, and returns true; false when none does (or a packet is one value).
template <class T, class Visit>
bool with_packets_dividing(Index count, Visit visit) {
  using P = Packet<T>;
  using H = decltype(half_packet(P()));
  using Q = decltype(half_packet(H()));
  constexpr Index p = lanes(P()), h = lanes(H()), q = lanes(Q());
  const auto divides = [count](Index n) { return n > 1 && count % n == 0; };
  if (divides(p)) return visit(std::integral_constant<Index, p>()), true;
  if (divides(h)) return visit(std::integral_constant<Index, h>()), true;
  if (divides(q)) return visit(std::integral_constant<Index, q>()), true;
  return false;
}

template <class V, class T>
EIGEN_ALWAYS_INLINE V load(const T* p) {
  if constexpr (is_scalar_v<V>) return *p;
  else return Eigen::internal::ploadu<V>(p);
}

template <class V, class T>
EIGEN_ALWAYS_INLINE void store(T* p, const V& v) {
  if constexpr (is_scalar_v<V>) *p = v;
  else Eigen::internal::pstoreu(p, v);
}

// The square of packet_size<T> rows of `from` (`stride` apart) transposed into `to`: to[i * n + j] = from[j * stride
// + i], the rows read as packets and transposed in registers. (GCC warns that a vector type loses its attributes
// as a template argument, which Eigen's own headers silence for PacketBlock; its packets are only loaded and stored.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wignored-attributes"
#endif
template <class T>
EIGEN_ALWAYS_INLINE void transpose_square(const T* from, Index stride, T* to) {
  constexpr int n = int{packet_size<T>};
  Eigen::internal::PacketBlock<Packet<T>, n> square;
  for (int i = 0; i < n; ++i) square.packet[i] = load<Packet<T>>(from + i * stride);
  Eigen::internal::ptranspose(square);
  for (int i = 0; i < n; ++i) store(to + i * n, square.packet[i]);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// Whether whole packets of T can be stored past the caches (AVX-512's streaming stores): a streamed cache line is
// not first read from memory, nor kept in cache. Worth it for outputs too large to be in cache when next read.
template <class T>
constexpr bool has_streaming_stores =
#if defined(EIGEN_VECTORIZE_AVX512)
    (std::is_same_v<T, float> || std::is_same_v<T, double>) && packet_size<T> * static_cast<Index>(sizeof(T)) == 64;
#else
    false;
#endif

// Stores a whole packet at p, 64-byte aligned, past the caches when Stream (and has_streaming_stores<T>); a single
// value, a smaller packet or Stream false as store does. Streamed stores are weakly ordered: streaming_fence()
// before anyone reads them.
template <bool Stream = true, class T, class V>
EIGEN_ALWAYS_INLINE void store_streaming(T* p, const V& v) {
#if defined(EIGEN_VECTORIZE_AVX512)
  if constexpr (Stream && has_streaming_stores<T> && !is_scalar_v<V>) {
    if constexpr (lanes(V()) == packet_size<T>) {
      if constexpr (std::is_same_v<T, float>) return _mm512_stream_ps(p, v);
      else return _mm512_stream_pd(p, v);
    }
  }
#endif
  store(p, v);
}

EIGEN_ALWAYS_INLINE void streaming_fence() {
#if defined(EIGEN_VECTORIZE_AVX512)
  _mm_sfence();
#endif
}

// A row of `size` elements copied from `from`, as they are computed there, to `to`: the whole 64-byte lines of `to`
// past the caches (store_streaming) as soon as they are complete, so that the stores go out among the computation;
// the partial lines at either end as store does.
template <class T>
class StreamedRow {
 public:
  StreamedRow(const T* from, Index size, T* to) : from_(from), to_(to), size_(size), done_(head()) {}
  // The first `ready` elements of `from` are final: streams their whole lines but for the last `behind` elements.
  // (Flushed up to each pixel just computed, (8, 112, 112, 64)'s average pooling backward took as long as with
  // ordinary stores; 2 KiB behind, 884-951 against 1060-1151 µs.)
  EIGEN_ALWAYS_INLINE void flush(Index ready) {
    for (; done_ + n <= ready - behind; done_ += n) store_streaming(to_ + done_, load<Packet<T>>(from_ + done_));
  }
  // All are.
  void finish() {
    std::copy_n(from_, head(), to_);
    for (; done_ + n <= size_; done_ += n) store_streaming(to_ + done_, load<Packet<T>>(from_ + done_));
    std::copy_n(from_ + done_, size_ - done_, to_ + done_);
  }

 private:
  static constexpr Index n = packet_size<T>, line = 64 / Index{sizeof(T)}, behind = 2048 / Index{sizeof(T)};
  // The elements before to's first line boundary. (A packet is a line where streaming stores exist, a whole
  // fraction of one elsewhere.)
  Index head() const {
    return std::min(size_, (line - static_cast<Index>(reinterpret_cast<std::uintptr_t>(to_) % 64 / sizeof(T))) % line);
  }
  const T* from_;
  T* to_;
  Index size_, done_;
};

// to[0, size) = from[0, size); when Stream, the whole 64-byte lines of `to` past the caches, as StreamedRow does.
template <bool Stream, class T>
void copy_streaming(const T* from, Index size, T* to) {
  if constexpr (Stream && has_streaming_stores<T>) return StreamedRow<T>(from, size, to).finish();
  std::copy_n(from, size, to);
}

template <class V, class T>
EIGEN_ALWAYS_INLINE V constant(T value) {
  if constexpr (is_scalar_v<V>) return value;
  else return Eigen::internal::pset1<V>(value);
}

// A packet of T from as many unsigned bytes (the argmax window positions of max pooling's second form), and
// back, each value exact and below 256.
template <class V, class T>
EIGEN_ALWAYS_INLINE V load_bytes(const std::uint8_t* bytes) {
  if constexpr (is_scalar_v<V>) {
    return static_cast<T>(*bytes);
#if defined(EIGEN_VECTORIZE_AVX512)
  } else if constexpr (std::is_same_v<T, float> && lanes(V()) == 16) {  // one conversion, not 16
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes))));
#endif
#if defined(EIGEN_VECTORIZE_AVX2)
  } else if constexpr (std::is_same_v<T, float> && lanes(V()) == 8) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes))));
#endif
  } else {
    T values[lanes(V())];
    for (Index l = 0; l < lanes(V()); ++l) values[l] = static_cast<T>(static_cast<int>(bytes[l]));
    return load<V>(values);
  }
}

// (Stream: past the caches, as store_streaming does, `bytes` then 16-byte aligned.)
template <class T, bool Stream = false, class V>
EIGEN_ALWAYS_INLINE void store_bytes(std::uint8_t* bytes, const V& v) {
  if constexpr (is_scalar_v<V>) {
    *bytes = static_cast<std::uint8_t>(v);
#if defined(EIGEN_VECTORIZE_AVX512)
  } else if constexpr (std::is_same_v<T, float> && lanes(V()) == 16) {
    const __m128i packed = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(v));
    if constexpr (Stream) _mm_stream_si128(reinterpret_cast<__m128i*>(bytes), packed);
    else _mm_storeu_si128(reinterpret_cast<__m128i*>(bytes), packed);
#endif
#if defined(EIGEN_VECTORIZE_AVX2)
  } else if constexpr (std::is_same_v<T, float> && lanes(V()) == 8) {  // (values below 256: packing saturates none)
    const __m256i values = _mm256_cvttps_epi32(v);
    const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(values), _mm256_extracti128_si256(values, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(bytes), _mm_packus_epi16(words, words));
#endif
  } else {
    T values[lanes(V())];
    store(values, v);
    for (Index l = 0; l < lanes(V()); ++l) bytes[l] = static_cast<std::uint8_t>(static_cast<int>(values[l]));
  }
}

// Whether a packet of T can be loaded and stored on a mask of its lanes (floats with AVX or AVX-512), and the
// mask's type then.
template <class P>
constexpr bool masked_lanes(const P&) {
  return Eigen::internal::unpacket_traits<P>::masked_load_available &&
         Eigen::internal::unpacket_traits<P>::masked_store_available;
}
template <class T>
constexpr bool has_masked_lanes = masked_lanes(Packet<T>());

template <class P>
typename Eigen::internal::unpacket_traits<P>::mask_t mask_of(const P&);
template <class T>
using LaneMask = decltype(mask_of(Packet<T>()));

template <class T>
EIGEN_ALWAYS_INLINE LaneMask<T> lane_mask(Index begin, Index end) {
  return static_cast<LaneMask<T>>(((std::uint64_t{1} << (end - begin)) - 1) << begin);
}

// A packet whose lane l is base[offset + l] for the lanes of `mask`, zero elsewhere; only the mask's lanes are
// read. Needs has_masked_lanes<T>.
template <class T>
EIGEN_ALWAYS_INLINE Packet<T> load_masked(const T* base, Index offset, LaneMask<T> mask) {
  // base + offset, the address of lane 0, may lie outside the array: computed as an integer.
  const auto lane_0 = reinterpret_cast<std::uintptr_t>(base) + static_cast<std::uintptr_t>(offset) * sizeof(T);
  return Eigen::internal::ploadu<Packet<T>>(reinterpret_cast<const T*>(lane_0), mask);
}

// Stores the first `count` lanes of v (0 < count <= packet_size<T>). Needs has_masked_lanes<T>.
template <class T>
EIGEN_ALWAYS_INLINE void store_lanes(T* p, const Packet<T>& v, Index count) {
  Eigen::internal::pstoreu(p, v, lane_mask<T>(0, count));
}

// The last `count` values of a run (0 < count < packet_size<T>), as the lanes of one masked packet (for_each_piece).
template <class T>
struct Tail {
  Index count;
};

// A piece of a run: a packet of any size or a single value (as for_each_part hands them out), or a Tail's lanes
// (zero beyond them, which are neither read nor written).
template <class V, class T>
EIGEN_ALWAYS_INLINE V load_piece(const T* p, const V&) {
  return load<V>(p);
}
template <class T>
EIGEN_ALWAYS_INLINE Packet<T> load_piece(const T* p, Tail<T> tail) {
  return load_masked(p, 0, lane_mask<T>(0, tail.count));
}
template <class V, class T>
EIGEN_ALWAYS_INLINE void store_piece(T* p, const V& v, const V&) {
  store(p, v);
}
template <class T>
EIGEN_ALWAYS_INLINE void store_piece(T* p, const Packet<T>& v, Tail<T> tail) {
  store_lanes(p, v, tail.count);
}

template <class V>
EIGEN_ALWAYS_INLINE V add(const V& a, const V& b) {
  if constexpr (is_scalar_v<V>) return a + b;
  else return Eigen::internal::padd(a, b);
}

// The sum of a packet's lanes (the value itself for one value).
template <class V>
EIGEN_ALWAYS_INLINE auto sum_lanes(const V& a) {
  if constexpr (is_scalar_v<V>) return a;
  else return Eigen::internal::predux(a);
}

template <class V>
EIGEN_ALWAYS_INLINE V subtract(const V& a, const V& b) {
  if constexpr (is_scalar_v<V>) return a - b;
  else return Eigen::internal::psub(a, b);
}

template <class V>
EIGEN_ALWAYS_INLINE V multiply(const V& a, const V& b) {
  if constexpr (is_scalar_v<V>) return a * b;
  else return Eigen::internal::pmul(a, b);
}

// |a|.
template <class V>
EIGEN_ALWAYS_INLINE V magnitude(const V& a) {
  if constexpr (is_scalar_v<V>) return std::abs(a);
  else return Eigen::internal::pabs(a);
}

template <class V>
EIGEN_ALWAYS_INLINE V divide(const V& a, const V& b) {
  if constexpr (is_scalar_v<V>) return a / b;
  else return Eigen::internal::pdiv(a, b);
}

// a * b + c
template <class V>
EIGEN_ALWAYS_INLINE V multiply_add(const V& a, const V& b, const V& c) {
  if constexpr (is_scalar_v<V>) return a * b + c;
  else return Eigen::internal::pmadd(a, b, c);
}

// Calls op(j, V()) over [0, length): whole packets (V = Packet<T>), then at most one of each smaller half
// packet, then single values (V = T). A run of a window row of few channels, 9 to 15 values, takes 2 or 3
// vector operations and a few single ones, where a loop of whole packets would leave all of it to single ones.
template <class T, class Op>
EIGEN_ALWAYS_INLINE void for_each_part(Index length, Op op) {
  using P = Packet<T>;
  using H = decltype(half_packet(P()));
  using Q = decltype(half_packet(H()));
  constexpr Index p = lanes(P()), h = lanes(H()), q = lanes(Q());
  Index j = 0;
  for (; j + p <= length; j += p) op(j, P());
  if constexpr (h < p) {
    if (j + h <= length) op(j, H()), j += h;
  }
  if constexpr (q < h) {
    if (j + q <= length) op(j, Q()), j += q;
  }
  for (; j < length; ++j) op(j, T());
}

// Calls op(j, piece) over [0, length) in pieces that load_piece and store_piece read and write: where masked lanes
// exist, whole packets (Packet<T>()) and then one Tail<T> of the values left, a masked packet where for_each_part
// takes a half, a quarter and single values (in a sum, a chain of dependent operations); elsewhere for_each_part's.
template <class T, class Op>
EIGEN_ALWAYS_INLINE void for_each_piece(Index length, Op op) {
  if constexpr (has_masked_lanes<T>) {
    constexpr Index p = packet_size<T>;
    Index j = 0;
    for (; j + p <= length; j += p) op(j, Packet<T>());
    if (j < length) op(j, Tail<T>{length - j});
  } else {
    for_each_part<T>(length, op);
  }
}

// Calls op(j, V()) for packets that cover [0, length) together: packets of the widest of Packet<T>, its half
// and its quarter that is no longer than `length` (single values below that), the last ending at `length`, so
// that it may overlap the one before. For sums kept in registers and stored, not for updates of memory (a load
// that overlaps a store just made waits for it): an element two packets hold is the same sum in both. A run of
// 15 takes two packets of 8, where for_each_part takes five operations.
template <class T, class Op>
EIGEN_ALWAYS_INLINE void for_each_covering_packet(Index length, Op op) {
  using P = Packet<T>;
  using H = decltype(half_packet(P()));
  using Q = decltype(half_packet(H()));
  const auto cover = [&](auto v) CNNPRIM_INLINE_LAMBDA {
    constexpr Index n = lanes(decltype(v)());
    Index j = 0;
    for (; j + n <= length; j += n) op(j, v);
    if (j < length) op(length - n, v);
  };
  if (length >= lanes(P())) cover(P());
  else if (length >= lanes(H())) cover(H());
  else if (length >= lanes(Q())) cover(Q());
  else
    for (Index j = 0; j < length; ++j) op(j, T());
}

template <class T>
EIGEN_ALWAYS_INLINE void prefetch(const T* p) {
#if defined(__GNUC__)
  // (Not Eigen::internal::prefetch: GCC takes that call for one without effects and removes it.)
  __builtin_prefetch(p);
#else
  Eigen::internal::prefetch(p);
#endif
}

// Masks: bool for one value, a packet with all bits set in its true lanes.
template <class V>
EIGEN_ALWAYS_INLINE auto equal(const V& a, const V& b) {
  if constexpr (is_scalar_v<V>) return a == b;
  else return Eigen::internal::pcmp_eq(a, b);
}

template <class V>
EIGEN_ALWAYS_INLINE auto less(const V& a, const V& b) {
  if constexpr (is_scalar_v<V>) return a < b;
  else return Eigen::internal::pcmp_lt(a, b);
}

template <class V>
EIGEN_ALWAYS_INLINE auto is_nan(const V& a) {
  if constexpr (is_scalar_v<V>) return std::isnan(a);
  else return Eigen::internal::pcmp_lt_or_nan(a, a);
}

template <class Mask>
EIGEN_ALWAYS_INLINE Mask both(const Mask& a, const Mask& b) {
  if constexpr (std::is_same_v<Mask, bool>) return a && b;
  else return Eigen::internal::pand(a, b);
}

template <class Mask>
EIGEN_ALWAYS_INLINE Mask either(const Mask& a, const Mask& b) {
  if constexpr (std::is_same_v<Mask, bool>) return a || b;
  else return Eigen::internal::por(a, b);
}

// mask ? a : b, lane by lane.
template <class V, class Mask>
EIGEN_ALWAYS_INLINE V select(const Mask& mask, const V& a, const V& b) {
  if constexpr (is_scalar_v<V>) return mask ? a : b;
  else return Eigen::internal::pselect(mask, a, b);
}

// mask ? a : 0, lane by lane.
template <class V, class Mask>
EIGEN_ALWAYS_INLINE V masked(const Mask& mask, const V& a) {
  if constexpr (is_scalar_v<V>) return mask ? a : V(0);
  else return Eigen::internal::pand(mask, a);
}

// a < b ? then : otherwise, and a == b ? then : 0, lane by lane. With AVX-512 (the overloads below) a comparison
// sets a mask register that a blend or a zeroing move reads; through pcmp_lt and pselect (or pand) it is first
// spread into a vector and tested back, two more instructions in max pooling's innermost loops.
template <class V>
EIGEN_ALWAYS_INLINE V select_less(const V& a, const V& b, const V& then, const V& otherwise) {
  return select(less(a, b), then, otherwise);
}

template <class V>
EIGEN_ALWAYS_INLINE V masked_equal(const V& a, const V& b, const V& then) {
  return masked(equal(a, b), then);
}

#if defined(EIGEN_VECTORIZE_AVX512)
EIGEN_ALWAYS_INLINE __m512 select_less(const __m512& a, const __m512& b, const __m512& then, const __m512& otherwise) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), otherwise, then);
}
EIGEN_ALWAYS_INLINE __m512d select_less(const __m512d& a, const __m512d& b, const __m512d& then,
                                        const __m512d& otherwise) {
  return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, b, _CMP_LT_OQ), otherwise, then);
}
EIGEN_ALWAYS_INLINE __m512 masked_equal(const __m512& a, const __m512& b, const __m512& then) {
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ), then);
}
EIGEN_ALWAYS_INLINE __m512d masked_equal(const __m512d& a, const __m512d& b, const __m512d& then) {
  return _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(a, b, _CMP_EQ_OQ), then);
}
#endif

template <class V>
EIGEN_ALWAYS_INLINE bool has_nan(const V& a) {
  if constexpr (is_scalar_v<V>) return std::isnan(a);
  else return Eigen::internal::predux_any(is_nan(a));
}
// With AVX-512 one comparison into a mask register, tested as it is: through is_nan and predux_any the mask was
// spread into a vector and tested back, two more instructions for every block of max pooling's windows.
#if defined(EIGEN_VECTORIZE_AVX512)
EIGEN_ALWAYS_INLINE bool has_nan(const __m512& a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q) != 0; }
EIGEN_ALWAYS_INLINE bool has_nan(const __m512d& a) { return _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q) != 0; }
#endif

// The larger of a and b where neither is NaN; which one it returns otherwise is not specified.
template <class V>
EIGEN_ALWAYS_INLINE V maximum(const V& a, const V& b) {
  if constexpr (is_scalar_v<V>) return a < b ? b : a;
  else return Eigen::internal::pmax(a, b);
}

// The largest lane of a, which holds no NaN.
template <class V>
EIGEN_ALWAYS_INLINE auto max_lanes(const V& a) {
  if constexpr (is_scalar_v<V>) return a;
  else return Eigen::internal::predux_max(a);
}

}  // namespace cnnprim::detail::eigen
