// Instantiates every public function, for float and double (the second forms for float, on a pool) and the
// element accessors, compiled with the warnings a strict consumer turns on (-Wconversion -Wsign-conversion
// -Wshadow) as errors: cnnprim's headers must stay silent.
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
    // The second forms, into the caller's tensors, on a pool of one thread beside the caller.
    Eigen::ThreadPool pool(1);
    const Threads two(pool, 2);
    Tensor<float> Z2(Z.shape()), dA2(A.shape()), dW2(W.shape()), db2(b.shape()), X2(X.shape());
    conv_forward(A, W, b, {1, 1}, Z2, be, two);
    conv_forward(A, W, ConvParams{1, 1}, Z2.view(), be, pool);
    conv_backward_data(Z2, W, {1, 1}, dA2, be, two);
    conv_backward_weights(Z2, A, {1, 1}, dW2, db2, be, two);
    zero_pad(A, 2, X2, be);
    Tensor<float> P2(P.shape()), dZ2(Z.shape());
    pool_forward(Z, {2, 2}, PoolMode::Average, P2, be, two);
    pool_backward(P2, Z, {2, 2}, PoolMode::Average, dZ2, be, two);
    auto dPm = pool_backward(P, pc, PoolMode::Average, be, Threads::calling_thread());
    (void)g; (void)gd; (void)dP; (void)dPd; (void)X; (void)gw; (void)dPp; (void)dPm;
    (void)output_size(7, 3, 1, 0, 2, 2, true);
  }
  // Element access with int and Index subscripts, on tensors and views, const and not.
  Tensor<float> x({1, 2, 2, 1});
  const Tensor<float>& cx = x;
  const TensorView<float> vx = x;
  const TensorView<const float> cvx = cx;
  const Index last = 1;
  x(0, 1, 1, 0) = x.t(0, last, 0, 0) + x.at(0, 0, last, 0) + cx(0, 0, 0, 0) + cx.t(0, 1, 1, 0) + cx.at(0, 1, 0, 0);
  vx(0, 0, 0, 0) = vx.t(0, last, 1, 0) + vx.at(0, 1, last, 0) + cvx(0, 1, 0, 0) + cvx.t(0, 0, 1, 0) +
                   cvx.at(0, 1, 1, 0) + cx.tensor()(0, 1, 1, 0) + cx.vector()(last) + x.vector().sum();
  auto m = create_mask_from_window(Tensor<double, 2>({2, 3}));
  auto v = distribute_value(2, {2, 2});
  auto vf = distribute_value(0.5f, {2, 3});
  Tensor<double, 2> given({1, 2}, {rng.random_sample(), rng.standard_normal()});
  given = Tensor<double, 2>::uninitialized({2, given.dim(1)});
  rng.seed(2);
  set_default_threads(Threads::calling_thread());
  release_scratch();
  return static_cast<int>(m.size() + v.size() + vf.size() + given.size() + Threads().count() + vx.dim(3)) +
         static_cast<int>(conv_single_step(Tensor<float, 3>({2, 2, 2}), Tensor<float, 3>({2, 2, 2}), 0.5f));
}
