// The threads a call runs on: the calling thread, or an Eigen::ThreadPool the caller owns.
//
// Every operation takes a Threads as its last argument. By default it is the process-wide default, which
// is the calling thread alone until set_default_threads names a pool: a program that does not ask starts
// no thread. Results are bit-identical for every number of threads: work is split into pieces fixed by the
// shapes, and every sum is taken over the same pieces in the same order whoever computes them.
#pragma once

#include <atomic>

#include <unsupported/Eigen/CXX11/ThreadPool>

namespace cnnprim {

class Threads {
 public:
  /// The process-wide default (see set_default_threads).
  Threads() = default;

  /// A pool of N threads: the calling thread and N - 1 of the pool's threads share the call's work, so that
  /// N cores are busy. Implicit, so that an Eigen::ThreadPool is passed as it is; the pool must outlive the call.
  Threads(Eigen::ThreadPoolInterface& pool) : pool_(&pool), chosen_(true) {}  // NOLINT(google-explicit-constructor)

  /// The calling thread alone, whatever the default.
  static Threads calling_thread() {
    Threads threads;
    threads.chosen_ = true;
    return threads;
  }

  /// The pool that does the work, or null for the calling thread.
  Eigen::ThreadPoolInterface* pool() const { return chosen_ ? pool_ : default_pool().load(std::memory_order_acquire); }

  /// How many threads work on a call.
  int count() const {
    const Eigen::ThreadPoolInterface* p = pool();
    return p == nullptr ? 1 : p->NumThreads();
  }

 private:
  friend void set_default_threads(Threads threads);
  static std::atomic<Eigen::ThreadPoolInterface*>& default_pool() {
    static std::atomic<Eigen::ThreadPoolInterface*> pool{nullptr};
    return pool;
  }

  Eigen::ThreadPoolInterface* pool_ = nullptr;
  bool chosen_ = false;  // false: the default, looked up at each call
};

/// The threads of every call that is given no Threads: a pool, which must outlive those calls, or
/// Threads::calling_thread() (the initial default). Safe to call from any thread; calls already running
/// keep the threads they started with.
inline void set_default_threads(Threads threads) {
  Threads::default_pool().store(threads.pool(), std::memory_order_release);
}

}  // namespace cnnprim
