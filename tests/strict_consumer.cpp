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
    Tensor<std::uint8_t> argmax(Pd.shape());
    Tensor<double> Pmax(Pd.shape()), dZd(Zd.shape());
    max_pool_forward(Zd, PoolParams{2, 1}, Pmax, argmax, be);
    max_pool_backward(Pmax, argmax, PoolParams{2, 1}, dZd, be);
    auto X = zero_pad(A, 2, be);
    ConvParams depthwise;
    depthwise.groups = 16;
    depthwise.strides = Axes{2, 1};
    depthwise.padding = Padding{0, 1, 1, 1};
    depthwise.dilation = {1, 2};
    depthwise.activation = Activation::relu6();
    auto [Zw, cw] = conv_forward(A, rng.randn<float>(3, 3, 1, 16), depthwise, be);
    auto gw = conv_backward(Zw, cw, be);
    ConvParams same;
    same.same = true;
    same.groups = 2;
    auto [Zs, cs] = conv_forward(A, rng.randn<float>(3, 2, 8, 16), b, same, be);
    Tensor<float> dZs(Zs.shape()), dWs(cs.W.shape());
    activation_backward(Zs, Zs, same.activation, dZs);
    conv_backward_weights(dZs, A, same, dWs, be);
    PoolParams padded;
    padded.window = Axes{3, 2};
    padded.padding = Padding{1, 1, 0, 1};
    padded.ceil_mode = true;
    padded.count_include_pad = true;
    auto [Pp, pp] = pool_forward(Zd, padded, PoolMode::Average, be);
    auto dPp = pool_backward(Pp, pp, be);
    (void)g; (void)gd; (void)dP; (void)dPd; (void)X; (void)gw; (void)dPp;
    (void)output_size(7, 3, 1, 0, 2, 2, true);
  }
  auto m = create_mask_from_window(Tensor<double, 2>({2, 3}));
  auto v = distribute_value(2, {2, 2});
  release_scratch();
  return static_cast<int>(m.size() + v.size()) +
         static_cast<int>(conv_single_step(Tensor<float, 3>({2, 2, 2}), Tensor<float, 3>({2, 2, 2}), 0.5f));
}
