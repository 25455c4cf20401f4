// Instantiates every public function for float and double, compiled with the warnings a strict consumer
// turns on (-Wconversion -Wsign-conversion -Wshadow) as errors: cnnprim's headers must stay silent.
#include <cnnprim/cnnprim.hpp>
int main() {
  using namespace cnnprim;
  numpy::RandomState rng(1);
  auto A = rng.randn<float>(2, 9, 9, 16);
  auto W = rng.randn<float>(3, 3, 16, 16);
  auto b = rng.randn<float>(1, 1, 1, 16);
  auto d = rng.randn<double>(2, 9, 9, 3);
  auto Wd = rng.randn<double>(3, 3, 3, 5);
  auto bd = rng.randn<double>(1, 1, 1, 5);
  for (Backend be : {Backend::Loop, Backend::Eigen}) {
    auto [Z, cache] = conv_forward(A, W, b, {1, 1}, be);
    auto g = conv_backward(Z, cache, be);
    auto [Zd, cd] = conv_forward(d, Wd, bd, {2, 1}, be);
    auto gd = conv_backward(Zd, cd, be);
    auto [P, pc] = pool_forward(Z, {2, 2}, PoolMode::Max, be);
    auto dP = pool_backward(P, pc, be);
    auto [Pd, pcd] = pool_forward(Zd, PoolParams{hparam::f = 2, hparam::stride = 1}, PoolMode::Average, be);
    auto dPd = pool_backward(Pd, pcd, be);
    auto X = zero_pad(A, 2, be);
    (void)g; (void)gd; (void)dP; (void)dPd; (void)X;
  }
  auto m = create_mask_from_window(Tensor<double, 2>({2, 3}));
  auto v = distribute_value(2, {2, 2});
  release_scratch();
  return static_cast<int>(m.size() + v.size()) +
         static_cast<int>(conv_single_step(Tensor<float, 3>({2, 2, 2}), Tensor<float, 3>({2, 2, 2}), 0.5f));
}
