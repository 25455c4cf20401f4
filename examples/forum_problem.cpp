// The forum problem: slide a filter over an array, taking a dot product at each step.
// First a 5x5 array with a 3x3 filter (stride 1), then a 33x33x3 array with a 5x5x3 filter at stride 2.
// Usage: forum_problem [data folder]   (default: the examples/data folder of the source tree)
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <cnnprim/cnnprim.hpp>

#include "example_utils.hpp"

using cnnprim::Index;
using cnnprim::Tensor;

namespace {

// Reads a whitespace-separated array written row-major after one "# shape ..." comment line.
Tensor<double> read_array(const std::string& path, const Tensor<double>::Shape& shape) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string header;
  std::getline(in, header);
  std::vector<double> values;
  for (double v; in >> v;) values.push_back(v);
  return Tensor<double>(shape, values);
}

// A single filter over a single image: the result as an (n_H, n_W) matrix.
Tensor<double, 2> convolve(const Tensor<double>& arr, const Tensor<double>& filter, Index stride) {
  const Tensor<double> no_bias({1, 1, 1, 1});
  const auto Z = cnnprim::conv_forward(arr, filter, no_bias, {stride, /*pad=*/0}).Z;
  return Tensor<double, 2>({Z.dim(1), Z.dim(2)}, std::vector<double>(Z.data(), Z.data() + Z.size()));
}

}  // namespace

int main(int argc, char** argv) {
  return example::run([&] {
    const std::string data = argc > 1 ? argv[1] : CNNPRIM_EXAMPLE_DATA_DIR;

    // Step 1: the 5x5 array and the 3x3 filter, as (m, n_H, n_W, n_C) = (1, 5, 5, 1) and (3, 3, 1, 1).
    const Tensor<double> arr({1, 5, 5, 1}, {0.15, 0.71, 0.26, -0.11, -2.03,  //
                                            0.13, 0.44, -0.11, -0.23, 0.19,  //
                                            -1.44, 0.51, 0.42, 2.58, -0.88,  //
                                            -1.18, 2.73, 2.35, 0.21, -0.29,  //
                                            -1.64, -0.37, 0.27, 0.57, 1.82});
    const Tensor<double> filter({3, 3, 1, 1}, {0.08, 0.27, -0.24,    //
                                               -0.25, -0.11, -0.18,  //
                                               0.44, 1.87, 1.18});
    const auto small = convolve(arr, filter, /*stride=*/1);
    std::printf("5x5 array, 3x3 filter, stride 1:\n%s\n\n", example::format(small, 2).c_str());

    // Step 2: the 33x33x3 array and the 5x5x3 filter from the data files, stride 2.
    const auto big_arr = read_array(data + "/forum_arr_33x33x3.txt", {1, 33, 33, 3});
    const auto big_filter = read_array(data + "/forum_filter_5x5x3.txt", {5, 5, 3, 1});
    const auto big = convolve(big_arr, big_filter, /*stride=*/2);
    std::printf("33x33x3 array, 5x5x3 filter, stride 2: shape %s\n%s\n", cnnprim::format_shape(big.shape()).c_str(),
                example::format(big, 2).c_str());
  });
}
