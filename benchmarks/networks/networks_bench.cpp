// Whole networks through cnnprim's public calls: ResNet-18 and MobileNet-v2 forward (batch 1 and 8) and one
// training step of examples/fashion_mnist.cpp's network (batch 64), on 1 and 2 threads; and ResNet-18's layers
// one at a time (batch 1, 1 thread) for the per-layer chart. benchmarks/networks/run.sh runs this beside
// torch_networks.py, which times the same networks in PyTorch.
#include <memory>
#include <string>

#include <benchmark/benchmark.h>
#include <unsupported/Eigen/CXX11/ThreadPool>

#include "fashion_mnist_net.hpp"
#include "networks.hpp"

namespace {

// The threads of state.range(1): the calling thread, alone or with a pool of one fewer.
struct ThreadsOf {
  std::unique_ptr<Eigen::ThreadPool> pool;
  cnnprim::Threads threads = cnnprim::Threads::calling_thread();
  explicit ThreadsOf(benchmark::State& state) {
    const int n = static_cast<int>(state.range(1));
    if (n > 1) {
      pool = std::make_unique<Eigen::ThreadPool>(n - 1);
      threads = cnnprim::Threads(*pool, n);
    }
  }
};

void forward(benchmark::State& state, networks::Network (*build)(cnnprim::Index)) {
  networks::Network net = build(state.range(0));
  net.input().vector().setRandom();
  const ThreadsOf threads(state);
  for (auto _ : state) {
    net.forward(threads.threads);
    benchmark::DoNotOptimize(net.output().data());
  }
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(state.range(0) * state.iterations()),
                                                  benchmark::Counter::kIsRate);
}

void BM_ResNet18(benchmark::State& state) { forward(state, networks::resnet18); }
void BM_MobileNetV2(benchmark::State& state) { forward(state, networks::mobilenet_v2); }
BENCHMARK(BM_ResNet18)->ArgNames({"batch", "threads"})->ArgsProduct({{1, 8}, {1, 2}})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MobileNetV2)->ArgNames({"batch", "threads"})->ArgsProduct({{1, 8}, {1, 2}})->Unit(benchmark::kMillisecond);

// One Adam step of the Fashion-MNIST network on a batch of 64 random images.
void BM_FashionMnistStep(benchmark::State& state) {
  using namespace fashion_mnist;  // NOLINT(google-build-using-namespace)
  std::mt19937 rng(1);
  Network net(rng);
  Buffers buffers(batch);
  buffers.X.vector().setRandom();
  std::vector<int> labels(static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int>(i % n_classes);
  const ThreadsOf threads(state);
  Trainer trainer(Backend::Eigen, threads.threads, net);
  for (auto _ : state) benchmark::DoNotOptimize(trainer.run(buffers, batch, labels.data(), true));
  state.counters["images/s"] =
      benchmark::Counter(static_cast<double>(batch * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FashionMnistStep)
    ->ArgNames({"batch", "threads"})
    ->ArgsProduct({{64}, {1, 2}})
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  // ResNet-18's layers, each alone on the activations a forward pass left (batch 1, the calling thread).
  static networks::Network resnet = networks::resnet18(1);
  resnet.input().vector().setRandom();
  resnet.forward(cnnprim::Threads::calling_thread());
  for (cnnprim::Index k = 0; k < resnet.size(); ++k) {
    if (!resnet.is_conv(k)) continue;
    benchmark::RegisterBenchmark(("BM_ResNet18Layer/" + resnet.name(k)).c_str(), [k](benchmark::State& state) {
      for (auto _ : state) resnet.run(k, cnnprim::Threads::calling_thread());
    })->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
