// Splitting a kernel's work over the threads of a call.
#pragma once

#include <algorithm>
#include <atomic>
#include <exception>

#include "../tensor.hpp"
#include "../threads.hpp"
#include "scratch.hpp"

namespace cnnprim::detail::eigen {

// Below this much work (multiply-adds, or elements read and written) waking the pool's threads costs more
// than they save.
inline constexpr double parallel_work = 1 << 19;

// Runs task(k) for every k in [0, n_tasks); tasks must write nothing another task reads or writes. On the
// calling thread when the call has one thread, one task or less `work` than parallel_work, or when it runs
// on one of the pool's own threads (waiting there for the pool could deadlock it); otherwise on up to
// NumThreads() of the pool's threads, which take tasks in turn while the caller waits. An exception thrown
// by a task (std::bad_alloc from scratch memory) reaches the caller.
template <class Task>
void parallel_for(Threads threads, Index n_tasks, double work, const Task& task) {
  Eigen::ThreadPoolInterface* const pool = threads.pool();
  if (pool == nullptr || pool->NumThreads() < 2 || n_tasks < 2 || work < parallel_work ||
      pool->CurrentThreadId() >= 0) {
    for (Index k = 0; k < n_tasks; ++k) task(k);
    return;
  }
  struct Shared {
    Shared(const Task& task_, Index n_tasks_, unsigned workers) : task(task_), n_tasks(n_tasks_), done(workers) {}
    const Task& task;
    const Index n_tasks;
    std::atomic<Index> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    Eigen::Barrier done;

    void work() {
      try {
        const ScratchScope scope;
        for (Index k; (k = next.fetch_add(1, std::memory_order_relaxed)) < n_tasks;) task(k);
      } catch (...) {
        if (!failed.exchange(true)) error = std::current_exception();
      }
      done.Notify();
    }
  };
  const auto workers = static_cast<unsigned>(std::min<Index>(n_tasks, pool->NumThreads()));
  Shared shared(task, n_tasks, workers);
  // One pointer captured: std::function keeps it without allocating.
  for (unsigned t = 0; t < workers; ++t) pool->Schedule([state = &shared] { state->work(); });
  shared.done.Wait();
  if (shared.failed.load()) std::rethrow_exception(shared.error);
}

// The range of [0, n) that piece k of `pieces` covers: pieces differ in size by at most one.
struct Range {
  Index begin, end;
};
inline Range piece(Index n, Index pieces, Index k) {
  return {n * k / pieces, n * (k + 1) / pieces};
}

}  // namespace cnnprim::detail::eigen
