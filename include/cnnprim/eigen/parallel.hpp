// Splitting a kernel's work over the threads of a call.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>

#include "../tensor.hpp"
#include "../threads.hpp"
#include "scratch.hpp"

namespace cnnprim::detail::eigen {

// The range of [0, n) that piece k of `pieces` covers: pieces differ in size by at most one.
struct Range {
  Index begin, end;
};
inline Range piece(Index n, Index pieces, Index k) {
  return {n * k / pieces, n * (k + 1) / pieces};
}

// How many pieces to cut each image's n_H output rows into, so that even one image is shared among threads.
inline Index row_pieces(Index m, Index n_H) { return std::min(n_H, (16 + m - 1) / m); }

// Below this much work (multiply-adds, or elements read and written) waking the pool's threads costs more
// than they save.
inline constexpr double parallel_work = 1 << 19;

// Runs task(k) for every k in [0, n_tasks); tasks must write nothing another task reads or writes. On the
// calling thread alone when the call has one thread, one task or less `work` than parallel_work, or when it
// runs on one of the pool's own threads (waiting there for the pool could deadlock it). Otherwise the tasks
// are cut into P = min(n_tasks, NumThreads()) contiguous parts, the caller runs the first and P - 1 of the
// pool's threads the others:
// - a pool of N threads keeps N cores busy, not N + 1 (a waiting caller would compete with workers that
//   spin for a while after their last task);
// - the same part of the same shapes goes to the caller again on the next call, so the data it last
//   touched is still in its core's cache; taking tasks in turn from a shared counter made pooling on
//   cache-resident tensors slower on 2 threads than on 1.
// An exception thrown by a task (std::bad_alloc from scratch memory) reaches the caller.
template <class Task>
void parallel_for(Threads threads, Index n_tasks, double work, const Task& task) {
  Eigen::ThreadPoolInterface* const pool = threads.pool();
  if (pool == nullptr || pool->NumThreads() < 2 || n_tasks < 2 || work < parallel_work ||
      pool->CurrentThreadId() >= 0) {
    for (Index k = 0; k < n_tasks; ++k) task(k);
    return;
  }
  struct Shared {
    Shared(const Task& task_, Index n_tasks_, Index parts_)
        : task(task_), n_tasks(n_tasks_), parts(parts_), done(static_cast<unsigned>(parts_ - 1)) {}
    const Task& task;
    const Index n_tasks, parts;
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    Eigen::Barrier done;

    void work(Index part) {
      try {
        const auto [first, last] = piece(n_tasks, parts, part);
        for (Index k = first; k < last && !failed.load(std::memory_order_relaxed); ++k) task(k);
      } catch (...) {
        if (!failed.exchange(true)) error = std::current_exception();
      }
    }
  };
  Shared shared(task, n_tasks, std::min<Index>(n_tasks, pool->NumThreads()));
  for (Index part = 1; part < shared.parts; ++part)
    // Two words captured: std::function keeps them without allocating.
    pool->Schedule([state = &shared, part] {
      {
        const ScratchScope scope;
        state->work(part);
      }
      state->done.Notify();
    });
  shared.work(0);
  shared.done.Wait();
  if (shared.failed.load()) std::rethrow_exception(shared.error);
}

}  // namespace cnnprim::detail::eigen
