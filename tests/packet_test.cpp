// What cnnprim relies on from Eigen's packet primitives (eigen/packet.hpp), lane by lane, against the same
// operation on one value: run on every supported Eigen version and instruction set the suite is built for.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "cnnprim/eigen/packet.hpp"
#include "support/oracle.hpp"

namespace {

using namespace cnnprim::detail::eigen;
using cnnprim::Index;

template <class T>
class Packets : public ::testing::Test {};
TYPED_TEST_SUITE(Packets, oracle::Scalars, oracle::ScalarNames);

// Pairs (a, b) that cover every ordering, ties, signed zeros, infinities and NaN on either side.
template <class T>
std::vector<std::pair<T, T>> operand_pairs() {
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  const T values[] = {T(-2), T(-0.0), T(0), T(1.5), T(3), inf, -inf, nan};
  std::vector<std::pair<T, T>> pairs;
  for (T a : values)
    for (T b : values) pairs.emplace_back(a, b);
  return pairs;
}

bool same_value(double expected, double actual) {
  if (std::isnan(expected)) return std::isnan(actual);
  return expected == actual && std::signbit(expected) == std::signbit(actual);
}

// Applies `packet_op` to packets of the pairs' a and b lanes and `scalar_op` to each pair, and compares.
template <class T, class PacketOp, class ScalarOp>
void expect_lanes_match(PacketOp packet_op, ScalarOp scalar_op, bool compare_sign = true) {
  constexpr Index n = packet_size<T>;
  const auto pairs = operand_pairs<T>();
  for (std::size_t first = 0; first < pairs.size(); first += n) {
    T a[n], b[n], out[n];
    for (Index k = 0; k < n; ++k) {
      const auto& pair = pairs[(first + static_cast<std::size_t>(k)) % pairs.size()];
      a[k] = pair.first;
      b[k] = pair.second;
    }
    store(out, packet_op(load<Packet<T>>(a), load<Packet<T>>(b)));
    for (Index k = 0; k < n; ++k) {
      const T expected = scalar_op(a[k], b[k]);
      if (compare_sign)
        EXPECT_TRUE(same_value(expected, out[k])) << a[k] << ", " << b[k] << ": " << expected << " vs " << out[k];
      else
        EXPECT_TRUE(std::isnan(expected) ? std::isnan(out[k]) : expected == out[k])
            << a[k] << ", " << b[k] << ": " << expected << " vs " << out[k];
    }
  }
}

TYPED_TEST(Packets, ArithmeticMatchesOneValue) {
  using T = TypeParam;
  using P = Packet<T>;
  expect_lanes_match<T>([](P a, P b) { return add(a, b); }, [](T a, T b) { return add(a, b); });
  expect_lanes_match<T>([](P a, P b) { return subtract(a, b); }, [](T a, T b) { return subtract(a, b); });
  expect_lanes_match<T>([](P a, P b) { return multiply(a, b); }, [](T a, T b) { return multiply(a, b); });
  expect_lanes_match<T>([](P a, P) { return magnitude(a); }, [](T a, T) { return std::abs(a); });
  expect_lanes_match<T>([](P a, P b) { return divide(a, b); }, [](T a, T b) { return divide(a, b); });
  // Fused or not, a * b + c with c = 1 gives the same value for these operands, which are exact in binary.
  expect_lanes_match<T>([](P a, P b) { return multiply_add(a, b, constant<P>(T(1))); },
                        [](T a, T b) { return multiply_add(a, b, T(1)); });
}

TYPED_TEST(Packets, MasksSetTheTrueLanes) {
  using T = TypeParam;
  using P = Packet<T>;
  const P one = constant<P>(T(1));
  const auto as_number = [](bool mask) { return mask ? T(1) : T(0); };
  expect_lanes_match<T>([&](P a, P b) { return masked(equal(a, b), one); },
                        [&](T a, T b) { return as_number(equal(a, b)); });
  expect_lanes_match<T>([&](P a, P b) { return masked(less(a, b), one); },
                        [&](T a, T b) { return as_number(less(a, b)); });
  expect_lanes_match<T>([&](P a, P) { return masked(is_nan(a), one); },
                        [&](T a, T) { return as_number(std::isnan(a)); });
  // both and either combine the bits; the order of their operands does not matter.
  expect_lanes_match<T>([&](P a, P b) { return masked(both(is_nan(a), equal(b, b)), one); },
                        [&](T a, T b) { return as_number(std::isnan(a) && !std::isnan(b)); });
  expect_lanes_match<T>([&](P a, P b) { return masked(both(equal(b, b), is_nan(a)), one); },
                        [&](T a, T b) { return as_number(std::isnan(a) && !std::isnan(b)); });
  expect_lanes_match<T>([&](P a, P b) { return masked(either(less(a, b), is_nan(b)), one); },
                        [&](T a, T b) { return as_number(a < b || std::isnan(b)); });
  expect_lanes_match<T>([](P a, P b) { return select(less(a, b), a, b); },
                        [](T a, T b) { return select(less(a, b), a, b); });
  expect_lanes_match<T>([](P a, P b) { return masked(less(b, a), a); }, [](T a, T b) { return b < a ? a : T(0); });
  // The fused forms (mask registers with AVX-512): false where either operand is NaN.
  expect_lanes_match<T>([](P a, P b) { return select_less(a, b, a, b); }, [](T a, T b) { return a < b ? a : b; });
  expect_lanes_match<T>([](P a, P b) { return select_less(b, a, a, b); }, [](T a, T b) { return b < a ? a : b; });
  expect_lanes_match<T>([](P a, P b) { return masked_equal(a, b, a); }, [](T a, T b) { return a == b ? a : T(0); });
  expect_lanes_match<T>([](P a, P b) { return masked_equal(b, a, b); }, [](T a, T b) { return a == b ? b : T(0); });
  EXPECT_EQ(select_less(T(1), T(2), T(5), T(6)), T(5));
  EXPECT_EQ(masked_equal(T(1), T(2), T(5)), T(0));
}

TYPED_TEST(Packets, MaximumWithoutNan) {
  using T = TypeParam;
  constexpr Index n = packet_size<T>;
  for (const auto& [a, b] : operand_pairs<T>()) {
    if (std::isnan(a) || std::isnan(b)) continue;
    T out[n];
    store(out, maximum(constant<Packet<T>>(a), constant<Packet<T>>(b)));
    // std::max's order: a where a == b, the sign of a zero included.
    for (Index k = 0; k < n; ++k) EXPECT_TRUE(same_value(std::max(a, b), out[k])) << a << ", " << b;
    EXPECT_TRUE(same_value(std::max(a, b), maximum(a, b))) << a << ", " << b;
  }
}

TYPED_TEST(Packets, MaxLanesFindsTheLargestLane) {
  using T = TypeParam;
  constexpr Index n = packet_size<T>;
  const T inf = std::numeric_limits<T>::infinity();
  for (Index largest = 0; largest < n; ++largest)
    for (const T top : {T(-0.5), T(0), T(7), inf}) {
      T lanes[n];
      for (Index k = 0; k < n; ++k) lanes[k] = k == largest ? top : T(-1) - T(k);
      EXPECT_EQ(max_lanes(load<Packet<T>>(lanes)), top) << "lane " << largest;
    }
}

TYPED_TEST(Packets, HasNanSeesAnyLane) {
  using T = TypeParam;
  constexpr Index n = packet_size<T>;
  T lanes[n];
  for (Index k = 0; k < n; ++k) lanes[k] = T(k);
  EXPECT_FALSE(has_nan(load<Packet<T>>(lanes)));
  for (Index k = 0; k < n; ++k) {
    lanes[k] = std::numeric_limits<T>::quiet_NaN();
    EXPECT_TRUE(has_nan(load<Packet<T>>(lanes))) << "lane " << k;
    lanes[k] = std::numeric_limits<T>::signaling_NaN();
    EXPECT_TRUE(has_nan(load<Packet<T>>(lanes))) << "lane " << k;
    lanes[k] = std::numeric_limits<T>::infinity();
    EXPECT_FALSE(has_nan(load<Packet<T>>(lanes))) << "lane " << k;
    lanes[k] = T(k);
  }
}

TYPED_TEST(Packets, LoadStoreConstantKeepEveryLane) {
  using T = TypeParam;
  constexpr Index n = packet_size<T>;
  T in[n + 1], out[n + 1];
  for (Index k = 0; k <= n; ++k) in[k] = T(k) + T(0.25);
  out[n] = T(-7);
  store(out, load<Packet<T>>(in + 1));  // unaligned on purpose
  for (Index k = 0; k < n; ++k) EXPECT_EQ(out[k], in[k + 1]);
  EXPECT_EQ(out[n], T(-7)) << "store wrote past its packet";
  store(out, constant<Packet<T>>(T(2.5)));
  for (Index k = 0; k < n; ++k) EXPECT_EQ(out[k], T(2.5));
}

// A square of rows `stride` apart comes out transposed, every value once, nothing written past it.
TYPED_TEST(Packets, TransposeSquareTransposesEveryValue) {
  using T = TypeParam;
  constexpr Index n = packet_size<T>, stride = n + 3;
  std::vector<T> from(static_cast<std::size_t>(n * stride), T(-1)), to(static_cast<std::size_t>(n * n + 1), T(-7));
  for (Index r = 0; r < n; ++r)
    for (Index c = 0; c < n; ++c) from[static_cast<std::size_t>(r * stride + c)] = T(r * 100 + c);
  transpose_square(from.data(), stride, to.data());
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) EXPECT_EQ(to[static_cast<std::size_t>(i * n + j)], T(j * 100 + i)) << i << ", " << j;
  EXPECT_EQ(to.back(), T(-7)) << "transpose_square wrote past its square";
}

// Bytes to a packet (whole, half or quarter) and back are exact for every byte value and touch only their packet's
// bytes.
template <class T, class V>
void expect_bytes_round_trip_every_value() {
  constexpr Index n = lanes(V());
  for (int first = 0; first < 256; first += static_cast<int>(n)) {
    std::uint8_t in[n + 1], out[n + 1];
    for (Index k = 0; k <= n; ++k) in[k] = static_cast<std::uint8_t>((first + k) % 256);
    out[n] = 7;
    const V values = load_bytes<V, T>(in);
    T lanes_of[n];
    store(lanes_of, values);
    for (Index k = 0; k < n; ++k) EXPECT_EQ(lanes_of[k], T((first + k) % 256)) << n << " lanes";
    store_bytes<T>(out, values);
    for (Index k = 0; k < n; ++k) EXPECT_EQ(out[k], in[k]) << n << " lanes";
    EXPECT_EQ(out[n], 7) << "store_bytes wrote past its packet of " << n;
    EXPECT_EQ((load_bytes<T, T>(in + 1)), T(in[1]));
  }
}

TYPED_TEST(Packets, BytesRoundTripEveryValue) {
  using T = TypeParam;
  using H = decltype(half_packet(Packet<T>()));
  expect_bytes_round_trip_every_value<T, Packet<T>>();
  expect_bytes_round_trip_every_value<T, H>();
  expect_bytes_round_trip_every_value<T, decltype(half_packet(H()))>();
}

// A streamed store writes its packet and nothing past it, once the fence is passed.
TYPED_TEST(Packets, StreamingStoreKeepsEveryLane) {
  using T = TypeParam;
  constexpr Index n = packet_size<T>;
  alignas(64) T out[2 * n];
  T in[n];
  for (Index k = 0; k < n; ++k) in[k] = T(k) - T(0.75);
  for (Index k = 0; k < 2 * n; ++k) out[k] = T(-7);
  store_streaming(out, load<Packet<T>>(in));
  store_streaming(out + n + 1, T(3));
  streaming_fence();
  for (Index k = 0; k < n; ++k) EXPECT_EQ(out[k], in[k]);
  EXPECT_EQ(out[n], T(-7)) << "store_streaming wrote past its packet";
  EXPECT_EQ(out[n + 1], T(3));
  // The argmax's bytes, streamed from a packet: 16-byte aligned.
  alignas(16) std::uint8_t bytes[n + 1];
  bytes[n] = 9;
  store_bytes<T, true>(bytes, add(load<Packet<T>>(in), constant<Packet<T>>(T(1))));  // k + 0.25
  streaming_fence();
  for (Index k = 0; k < n; ++k) EXPECT_EQ(bytes[k], static_cast<std::uint8_t>(k)) << "lane " << k;
  EXPECT_EQ(bytes[n], 9) << "store_bytes wrote past its packet";
}

// A streamed row is the source's elements, whatever the destination's place in a line and the row's length, with
// nothing written before or after it: flushed as it is computed (a packet, then a pixel of 40 values, at a time), or
// all at once by copy_streaming.
TYPED_TEST(Packets, StreamedRowCopiesEveryElementOnce) {
  using T = TypeParam;
  const Index line = 64 / Index{sizeof(T)};
  for (Index size : {Index{0}, Index{1}, line - 1, line, line + 1, 3 * line + 5, Index{1000}, Index{2000}})
    for (Index offset = 0; offset < line; ++offset)
      for (Index step : {Index{0}, packet_size<T>, Index{40}}) {
        SCOPED_TRACE(testing::Message() << "size " << size << ", offset " << offset << ", step " << step);
        std::vector<T> from(static_cast<std::size_t>(size));
        for (Index k = 0; k < size; ++k) from[static_cast<std::size_t>(k)] = T(k) + T(0.25);
        std::vector<T, Eigen::aligned_allocator<T>> to(static_cast<std::size_t>(size + 2 * line), T(-7));
        T* const row = to.data() + line + offset;
        if (step == 0) {
          copy_streaming<true>(from.data(), size, row);
        } else {
          StreamedRow<T> streamed(from.data(), size, row);
          for (Index ready = 0; ready < size; ready += step) streamed.flush(ready);
          streamed.finish();
        }
        streaming_fence();
        for (Index k = -line - offset; k < size + line - offset; ++k) {
          const T expected = k < 0 || k >= size ? T(-7) : from[static_cast<std::size_t>(k)];
          ASSERT_EQ(row[k], expected) << "element " << k;
        }
      }
}

// Where packets have masked loads and stores: only the mask's lanes are read (lane l from base[offset + l],
// the others zero) and only the first `count` lanes are written.
TYPED_TEST(Packets, MaskedLanesTouchOnlyTheirLanes) {
  using T = TypeParam;
  if constexpr (has_masked_lanes<T>) {
    constexpr Index n = packet_size<T>;
    T in[3 * n], out[n + 1];
    for (Index k = 0; k < 3 * n; ++k) in[k] = T(k) + T(0.5);
    for (Index begin = 0; begin < n; ++begin)
      for (Index end = begin + 1; end <= n; ++end) {
        const Index offset = n - begin;  // lane `begin` reads in[n]
        T lanes_of[n];
        store(lanes_of, load_masked(in, offset, lane_mask<T>(begin, end)));
        for (Index l = 0; l < n; ++l)
          EXPECT_EQ(lanes_of[l], l >= begin && l < end ? in[offset + l] : T(0)) << begin << ", " << end << ": " << l;
      }
    for (Index count = 1; count <= n; ++count) {
      for (Index k = 0; k <= n; ++k) out[k] = T(-7);
      store_lanes(out, load<Packet<T>>(in), count);
      for (Index k = 0; k <= n; ++k) EXPECT_EQ(out[k], k < count ? in[k] : T(-7)) << count << ": " << k;
    }
  } else {
    GTEST_SKIP() << "no masked loads and stores for this packet";
  }
}

// for_each_part covers [0, length) once, in order, with parts no larger than a packet and single values only
// for the last few (fewer than the smallest packet); the copy through each part's load and store is exact and
// touches nothing past the run.
TYPED_TEST(Packets, PartsCoverARunOnce) {
  using T = TypeParam;
  constexpr Index n = packet_size<T>;
  for (Index length = 0; length <= 4 * n + 3; ++length) {
    std::vector<T> in(static_cast<std::size_t>(length) + 1), out(static_cast<std::size_t>(length) + 1, T(-7));
    for (Index k = 0; k <= length; ++k) in[static_cast<std::size_t>(k)] = T(k) + T(0.5);
    std::vector<int> covered(static_cast<std::size_t>(length), 0);
    Index next = 0, singles = 0;
    for_each_part<T>(length, [&](Index j, auto v) {
      using V = decltype(v);
      const Index size = is_scalar_v<V> ? 1 : lanes(v);
      EXPECT_EQ(j, next) << "length " << length;
      EXPECT_LE(size, n);
      singles += is_scalar_v<V>;
      for (Index k = j; k < j + size; ++k) ++covered[static_cast<std::size_t>(k)];
      store(out.data() + j, load<V>(in.data() + j));
      next = j + size;
    });
    EXPECT_EQ(next, length);
    for (Index k = 0; k < length; ++k) {
      EXPECT_EQ(covered[static_cast<std::size_t>(k)], 1) << "length " << length << ", element " << k;
      EXPECT_EQ(out[static_cast<std::size_t>(k)], in[static_cast<std::size_t>(k)]);
    }
    EXPECT_EQ(out[static_cast<std::size_t>(length)], T(-7)) << "a part wrote past the run of " << length;
    EXPECT_LT(singles, n == 1 ? 1 << 30 : 4) << "length " << length;
  }
}

// for_each_piece covers [0, length) once, in order: with masked lanes, whole packets and then one Tail of the values
// left, whose load holds zeros past them; otherwise for_each_part's parts. The copy through load_piece and
// store_piece is exact and touches nothing past the run.
TYPED_TEST(Packets, PiecesCoverARunOnce) {
  using T = TypeParam;
  constexpr Index n = packet_size<T>;
  for (Index length = 0; length <= 3 * n + 1; ++length) {
    std::vector<T> in(static_cast<std::size_t>(length) + 1), out(static_cast<std::size_t>(length) + 1, T(-7));
    for (Index k = 0; k <= length; ++k) in[static_cast<std::size_t>(k)] = T(k) + T(0.5);
    Index next = 0, tails = 0;
    for_each_piece<T>(length, [&](Index j, auto piece) {
      using Piece = decltype(piece);
      const auto x = load_piece(in.data() + j, piece);
      Index size = 0;
      if constexpr (std::is_same_v<Piece, Tail<T>>) {
        size = piece.count;
        ++tails;
        EXPECT_TRUE(has_masked_lanes<T>);
        EXPECT_GT(size, 0);
        EXPECT_LT(size, n);
        EXPECT_EQ(j + size, length) << "the tail ends the run";
        T lanes_of[n];
        store(lanes_of, x);
        for (Index l = size; l < n; ++l) EXPECT_EQ(lanes_of[l], T(0)) << length << ": lane " << l;
      } else {
        size = is_scalar_v<Piece> ? 1 : lanes(piece);
        if (has_masked_lanes<T>) {
          EXPECT_EQ(size, n) << "only whole packets before the tail";
        }
      }
      EXPECT_EQ(j, next) << "length " << length;
      store_piece(out.data() + j, x, piece);
      next = j + size;
    });
    EXPECT_EQ(next, length);
    EXPECT_EQ(tails, has_masked_lanes<T> && length % n != 0);
    for (Index k = 0; k < length; ++k) EXPECT_EQ(out[static_cast<std::size_t>(k)], in[static_cast<std::size_t>(k)]);
    EXPECT_EQ(out[static_cast<std::size_t>(length)], T(-7)) << "a piece wrote past the run of " << length;
  }
}

}  // namespace
