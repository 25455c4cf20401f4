#include <limits>

#include <gtest/gtest.h>

#include <cnnprim/params.hpp>

#include "support/oracle.hpp"

using cnnprim::Index;
using cnnprim::output_size;

TEST(OutputSize, NotebookFormula) {
  EXPECT_EQ(output_size(4, 2, 2, 2), 4);   // the notebook's conv_forward
  EXPECT_EQ(output_size(5, 3, 0, 1), 3);   // the forum's 5x5 with a 3x3 filter
  EXPECT_EQ(output_size(33, 5, 0, 2), 15); // the forum's 33x33 at stride 2
  EXPECT_EQ(output_size(6, 3, 0, 1), 4);   // the lecture's layer
  EXPECT_EQ(output_size(224, 7, 3, 2), 112);
}

TEST(OutputSize, WindowDoesNotDivideRoundsDown) {
  EXPECT_EQ(output_size(7, 3, 0, 2), 3);
  EXPECT_EQ(output_size(8, 3, 0, 2), 3);
  EXPECT_EQ(output_size(5, 2, 0, 4), 1);  // stride larger than f
}

TEST(OutputSize, PadLargerThanFilter) { EXPECT_EQ(output_size(3, 2, 3, 1), 8); }

TEST(OutputSize, ZeroInputWithPadding) { EXPECT_EQ(output_size(0, 2, 1, 1), 1); }

TEST(OutputSize, InvalidArgumentsThrow) {
  EXPECT_EQ(oracle::error_message([] { output_size(4, 0, 0, 1); }), "output_size: f must be at least 1, but got f = 0");
  EXPECT_EQ(oracle::error_message([] { output_size(4, 2, 0, 0); }),
            "output_size: stride must be at least 1, but got stride = 0");
  EXPECT_EQ(oracle::error_message([] { output_size(4, 2, -1, 1); }),
            "output_size: pad must be non-negative, but got pad = -1");
  EXPECT_EQ(oracle::error_message([] { output_size(4, 5, 0, 1); }),
            "output_size: f = 5 must not exceed n_prev, but n_prev = 4");
  EXPECT_EQ(oracle::error_message([] { output_size(1, 5, 1, 1); }),
            "output_size: f = 5 must not exceed n_prev + 2 * pad, but n_prev = 1 and pad = 1");
  EXPECT_EQ(oracle::error_message([] { output_size(-2, 1, 0, 1); }),
            "output_size: n_prev must be non-negative, but got n_prev = -2");
}

TEST(OutputSize, HugePadThrowsInsteadOfOverflowing) {
  const Index huge = std::numeric_limits<Index>::max() / 2;
  EXPECT_NE(oracle::error_message([&] { output_size(4, 2, huge, 1); }).find("output_size: pad = "), std::string::npos);
}

TEST(Params, Defaults) {
  EXPECT_EQ(cnnprim::ConvParams{}.stride, 1);
  EXPECT_EQ(cnnprim::ConvParams{}.pad, 0);
  EXPECT_EQ(cnnprim::PoolParams{}.f, 2);
  EXPECT_EQ(cnnprim::PoolParams{}.stride, 2);
  EXPECT_STREQ(cnnprim::to_string(cnnprim::Backend::Eigen), "Eigen");
  EXPECT_STREQ(cnnprim::to_string(cnnprim::PoolMode::Average), "average");
}
