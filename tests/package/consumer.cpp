// Runs the notebook's conv_single_step through the packaged library and checks its printed value.
#include <cmath>
#include <cstdio>

#include "notebook_step.hpp"

int main() {
  const double Z = notebook_conv_single_step();
  std::printf("Z = %.15f\n", Z);
  return std::abs(Z - -6.999089450680221) < 1e-12 ? 0 : 1;
}
