#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <cnnprim/numpy/random.hpp>

using cnnprim::Index;
using cnnprim::numpy::RandomState;

namespace {

// One block of tests/data/numpy_randn.txt: a header line ("seed=S n=N") and numpy's values, printed with
// repr() so that they read back as the same doubles.
struct Block {
  std::string header;
  std::vector<double> values;
};

std::vector<Block> read_blocks() {
  std::ifstream in(CNNPRIM_TEST_DATA_DIR "/numpy_randn.txt");
  EXPECT_TRUE(in.good());
  std::vector<Block> blocks;
  std::string header, body;
  while (std::getline(in, header)) {
    if (header.empty() || header[0] == '#') continue;
    std::getline(in, body);
    std::istringstream values(body);
    Block block{header.substr(0, header.rfind(' ')), {}};
    for (double v; values >> v;) block.values.push_back(v);
    blocks.push_back(block);
  }
  return blocks;
}

}  // namespace

// For each seed: np.random.seed(s); randn(1); randn(3); randn(2); randn(7); randn(1000). Odd lengths leave a
// cached gauss value that the next call must start from; 1000 values cross the polar method's rejections.
TEST(NumpyRandom, RandnMatchesNumpyBitForBit) {
  const std::vector<Block> blocks = read_blocks();
  ASSERT_EQ(blocks.size(), 31u);
  std::size_t next = 0;
  for (std::uint32_t seed : {0u, 1u, 2u, 123u, 2024u, 4294967295u}) {
    RandomState rng(seed);
    for (Index n : {1, 3, 2, 7, 1000}) {
      const Block& block = blocks[next++];
      ASSERT_EQ(block.header, "seed=" + std::to_string(seed) + " n=" + std::to_string(n));
      const auto x = rng.randn<double>(n);
      ASSERT_EQ(static_cast<std::size_t>(x.size()), block.values.size());
      for (Index k = 0; k < n; ++k)
        ASSERT_EQ(x(k), block.values[static_cast<std::size_t>(k)]) << block.header << ", value " << k;
    }
  }
}

TEST(NumpyRandom, RandomSampleMatchesNumpy) {
  const std::vector<Block> blocks = read_blocks();
  const Block& block = blocks.back();
  ASSERT_EQ(block.header, "random_sample seed=1 n=20");
  RandomState rng(1);
  for (std::size_t k = 0; k < block.values.size(); ++k) ASSERT_EQ(rng.random_sample(), block.values[k]) << k;
}

TEST(NumpyRandom, NotebookFirstValues) {
  RandomState rng(1);
  const auto x = rng.randn<double>(2, 3);
  EXPECT_EQ(x(0, 0), 1.6243453636632417);
  EXPECT_EQ(x(0, 1), -0.6117564136500754);
  EXPECT_EQ(x(1, 2), -2.3015386968802827);
}

TEST(NumpyRandom, RankIsTheNumberOfExtents) {
  RandomState rng(1);
  const cnnprim::Tensor<double, 3> a = rng.randn<double>(4, 4, 3);
  const cnnprim::Tensor<float, 4> b = rng.randn<float>(1, 2, 3, 4);
  EXPECT_EQ(a.shape(), (std::array<Index, 3>{4, 4, 3}));
  EXPECT_EQ(b.size(), 24);
}

TEST(NumpyRandom, FloatIsTheRoundedDouble) {
  RandomState d(7), f(7);
  const auto x = d.randn<double>(101);
  const auto y = f.randn<float>(101);
  for (Index k = 0; k < 101; ++k) ASSERT_EQ(y(k), static_cast<float>(x(k))) << k;
}

TEST(NumpyRandom, ReseedingRestartsAndDropsTheCachedValue) {
  RandomState rng(3);
  const auto first = rng.randn<double>(5);
  rng.seed(3);  // 5 values left a cached one; seeding must drop it
  const auto again = rng.randn<double>(5);
  for (Index k = 0; k < 5; ++k) EXPECT_EQ(first(k), again(k));
}

TEST(NumpyRandom, EmptyDrawLeavesTheStreamAlone) {
  RandomState a(9), b(9);
  EXPECT_EQ(a.randn<double>(0).size(), 0);
  EXPECT_EQ(a.randn<double>(3)(2), b.randn<double>(3)(2));
}
