// The threads a call runs on: the calling thread alone, or with an Eigen::ThreadPool the caller owns.
//
// Every operation takes a Threads as its last argument. By default it is the process-wide default, which
// is the calling thread alone until set_default_threads names a pool: a program that does not ask starts
// no thread. Results are bit-identical for every number of threads: work is split into pieces fixed by the
// shapes, and every sum is taken over the same pieces in the same order whoever computes them.
#pragma once

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include <unsupported/Eigen/CXX11/ThreadPool>

namespace cnnprim {

class Threads {
 public:
  /// The process-wide default (see set_default_threads).
  Threads() = default;

  /// The calling thread and the pool's threads, no more than the machine has cores
  /// (std::thread::hardware_concurrency()). On N cores give a pool of N - 1 threads: a pool of N runs the same
  /// N threads and leaves one idle, which Eigen 3.4's pool wakes at every call, to spin beside those that work.
  /// Implicit, so that an Eigen::ThreadPool is passed as it is; the pool must outlive the call.
  Threads(Eigen::ThreadPoolInterface& pool) : pool_(&pool), chosen_(true) {}  // NOLINT(google-explicit-constructor)

  /// `count` threads whatever the cores: the calling thread and count - 1 of the pool's. Throws
  /// std::invalid_argument unless 1 <= count <= pool.NumThreads() + 1.
  Threads(Eigen::ThreadPoolInterface& pool, int count) : pool_(&pool), count_(count), chosen_(true) {
    if (count < 1 || count > pool.NumThreads() + 1)
      throw std::invalid_argument("Threads: count = " + std::to_string(count) + " must be in [1, " +
                                  std::to_string(pool.NumThreads() + 1) + "], the calling thread and the pool's " +
                                  std::to_string(pool.NumThreads()));
  }

  /// The calling thread alone, whatever the default.
  static Threads calling_thread() {
    Threads threads;
    threads.chosen_ = true;
    return threads;
  }

  /// The pool that shares the work, or null for the calling thread alone.
  Eigen::ThreadPoolInterface* pool() const { return resolved().pool_; }

  /// How many threads work on a call, the calling thread included.
  int count() const { return resolved().threads(); }

  /// The threads a call made now runs on: this choice, or the default as it stands (read once, so that its pool
  /// and count agree while another thread sets the default).
  Threads resolved() const {
    if (chosen_) return *this;
    Threads threads = calling_thread();
    threads.pool_ = default_pool().load(std::memory_order_acquire);
    threads.count_ = default_count().load(std::memory_order_acquire);
    return threads;
  }

 private:
  friend void set_default_threads(Threads threads);
  static std::atomic<Eigen::ThreadPoolInterface*>& default_pool() {
    static std::atomic<Eigen::ThreadPoolInterface*> pool{nullptr};
    return pool;
  }
  static std::atomic<int>& default_count() {
    static std::atomic<int> count{0};
    return count;
  }
  // The machine's cores, 0 when unknown; read once, the query being a call into the system.
  static int cores() {
    static const int n = static_cast<int>(std::min(std::thread::hardware_concurrency(), 1024u));
    return n;
  }

  int threads() const {
    if (pool_ == nullptr) return 1;
    const int most = pool_->NumThreads() + 1;
    // (A default count read beside another set_default_threads' pool is held to that pool's size.)
    if (count_ > 0) return std::min(count_, most);
    return cores() > 0 ? std::min(most, cores()) : most;
  }

  Eigen::ThreadPoolInterface* pool_ = nullptr;
  int count_ = 0;        // 0: as many as the cores allow
  bool chosen_ = false;  // false: the default, looked up at each call
};

/// The threads of every call that is given no Threads: a pool, which must outlive those calls, or
/// Threads::calling_thread() (the initial default). Safe to call from any thread; calls already running
/// keep the threads they started with.
inline void set_default_threads(Threads threads) {
  const Threads chosen = threads.resolved();
  Threads::default_count().store(chosen.count_, std::memory_order_release);
  Threads::default_pool().store(chosen.pool_, std::memory_order_release);
}

}  // namespace cnnprim
