// Splitting a kernel's work over the threads of a call.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
#endif

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

// How long a caller done with its tasks waits for the pool's threads to finish theirs before it sleeps: a
// sleeping caller is woken by the system, which on a call of a few tens of microseconds (pooling a batch of
// small images on 2 threads) took as long as the work it waited for.
inline constexpr std::chrono::microseconds caller_spin{50};

// Tells the core that this thread is waiting in a loop (x86's pause, Arm's yield).
inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
  _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#endif
}

// Whether parallel_for(threads, n_tasks, work, ...) shares its tasks with the pool's threads (see there).
inline bool runs_parallel(Threads threads, Index n_tasks, double work) {
  const Threads chosen = threads.resolved();
  Eigen::ThreadPoolInterface* const pool = chosen.pool();
  // (A part counts its tasks in 32 bits: over 2^32 tasks, each at least an element, run on the caller.) The size
  // is tested first: a small call asks the pool nothing (two virtual calls per pass of a call of a microsecond).
  return pool != nullptr && work >= parallel_work && n_tasks >= 2 && n_tasks < (Index{1} << 32) &&
         chosen.count() >= 2 && pool->CurrentThreadId() < 0;
}

// Runs task(k) for every k in [0, n_tasks); tasks must write nothing another task reads or writes. On the
// calling thread alone when the call has one thread, one task or less `work` than parallel_work, or when it
// runs on one of the pool's own threads (waiting there for the pool could deadlock it). Otherwise the tasks
// are cut into P = min(n_tasks, threads.count()) contiguous parts, the caller runs the first and P - 1 of the
// pool's threads the others:
// - the caller works rather than waits: a waiting caller would compete with workers that spin for a while
//   after their last task;
// - the same part of the same shapes goes to the caller again on the next call, so the data it last
//   touched is still in its core's cache; taking tasks in turn from a shared counter made pooling on
//   cache-resident tensors slower on 2 threads than on 1;
// - a thread that finishes its part takes the tasks left at the end of the others', so that a worker that
//   wakes late, or a core that something else holds for a while, does not leave the call waiting on it;
// - the caller, left with nothing to take, spins for up to caller_spin while the workers finish their last
//   tasks, and only then sleeps.
// Which thread runs a task changes no result: tasks are fixed by the shapes and write apart.
// An exception thrown by a task (std::bad_alloc from scratch memory) reaches the caller.
template <class Task>
void parallel_for(Threads threads, Index n_tasks, double work, const Task& task) {
  const Threads chosen = threads.resolved();
  if (!runs_parallel(chosen, n_tasks, work)) {
    for (Index k = 0; k < n_tasks; ++k) task(k);
    return;
  }
  Eigen::ThreadPoolInterface* const pool = chosen.pool();
  const int count = chosen.count();
  // The tasks of part p not yet taken: [first, last) of its range, both packed in one atomic word (the owner
  // takes the first, others the last), so that no task is taken twice or lost.
  // (A cache line each: its owner's claims stay in its own core's cache.)
  struct alignas(64) Part {
    std::atomic<std::uint64_t> left;
    Index begin;
  };
  // Parts live on the caller's stack, or for pools of more than `on_stack` threads on the heap.
  constexpr Index on_stack = 32;
  struct Shared {
    Shared(const Task& task_, Index n_tasks_, Index parts_)
        : task(task_), parts(parts_), working(parts_ - 1), done(static_cast<unsigned>(parts_ - 1)) {
      if (parts > on_stack) {
        heap = std::make_unique<Part[]>(static_cast<std::size_t>(parts));
        part = heap.get();
      }
      for (Index p = 0; p < parts; ++p) {
        const auto [first, last] = piece(n_tasks_, parts, p);
        part[p].begin = first;
        part[p].left.store(static_cast<std::uint64_t>(last - first) << 32, std::memory_order_relaxed);
      }
    }
    const Task& task;
    const Index parts;
    Part local[on_stack];
    std::unique_ptr<Part[]> heap;
    Part* part = local;
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::atomic<Index> working;  // pool threads not yet done with their part
    Eigen::Barrier done;

    // The next task of part p, from its front (its owner) or its back (another thread); -1 when none is left.
    Index take(Index p, bool front) {
      std::uint64_t left = part[p].left.load(std::memory_order_relaxed);
      for (;;) {
        const std::uint64_t first = left & 0xffffffffu, last = left >> 32;
        if (first >= last) return -1;
        const std::uint64_t rest = front ? left + 1 : left - (std::uint64_t{1} << 32);
        if (part[p].left.compare_exchange_weak(left, rest, std::memory_order_relaxed))
          return part[p].begin + static_cast<Index>(front ? first : last - 1);
      }
    }
    void work(Index own) {
      try {
        for (Index k; !failed.load(std::memory_order_relaxed) && (k = take(own, true)) >= 0;) task(k);
        for (Index p = (own + 1) % parts; p != own; p = (p + 1) % parts)
          for (Index k; !failed.load(std::memory_order_relaxed) && (k = take(p, false)) >= 0;) task(k);
      } catch (...) {
        if (!failed.exchange(true)) error = std::current_exception();
      }
    }
  };
  Shared shared(task, n_tasks, std::min<Index>(n_tasks, count));
  for (Index part = 1; part < shared.parts; ++part)
    // Two words captured: std::function keeps them without allocating.
    pool->Schedule([state = &shared, part] {
      {
        const ScratchScope scope;
        state->work(part);
      }
      state->working.fetch_sub(1, std::memory_order_release);
      state->done.Notify();
    });
  shared.work(0);
  const auto until = std::chrono::steady_clock::now() + caller_spin;
  while (shared.working.load(std::memory_order_acquire) != 0 && std::chrono::steady_clock::now() < until) spin_pause();
  shared.done.Wait();
  if (shared.failed.load()) std::rethrow_exception(shared.error);
}

}  // namespace cnnprim::detail::eigen
