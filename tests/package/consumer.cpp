// Runs the notebook's conv_forward through the packaged library and checks one printed value.
#include <cmath>
#include <cstdio>

#include "notebook_mean.hpp"

int main() {
  const double mean = notebook_mean();
  std::printf("Z's mean = %.13f\n", mean);
  return std::abs(mean - 0.0489952035289) < 1e-12 ? 0 : 1;
}
