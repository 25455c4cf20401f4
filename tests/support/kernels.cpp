// The Eigen backend's kernels for one scalar type (CNNPRIM_TEST_SCALAR), linked into every test program and the
// fuzz target.
#include "kernels.hpp"

CNNPRIM_TEST_KERNELS(, CNNPRIM_TEST_SCALAR)
