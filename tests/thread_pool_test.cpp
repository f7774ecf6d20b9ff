// The runtime's thread pool (runtime/src/thread_pool.h) on its own: every task index runs
// exactly once, failures come back, and loops issued while it is busy (other callers, nested
// loops) go to Halide's pool and still run every index once.
#include "thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <chrono>
#include <thread>
#include <vector>

namespace {

using dwconv::detail::pool_do_par_for;
using dwconv::detail::pool_set_threads;

struct Counts {
  explicit Counts(int n) : hits(n) {}
  std::vector<std::atomic<int>> hits;
  int min = 0;
  int fail_at = INT_MIN;  // this index returns an error
  int nested = 0;    // each task runs a nested loop of this size into `inner`
  Counts *inner = nullptr;
};

int count_task(void *, int i, uint8_t *closure) {
  Counts &c = *reinterpret_cast<Counts *>(closure);
  c.hits[i - c.min]++;
  if (c.nested > 0) {
    if (int rc = pool_do_par_for(nullptr, count_task, 0, c.nested, reinterpret_cast<uint8_t *>(c.inner))) return rc;
  }
  return i == c.fail_at ? -7 : 0;
}

// Every index of [min, min + size) ran exactly `times` times.
::testing::AssertionResult each_ran(const Counts &c, int times) {
  for (size_t i = 0; i < c.hits.size(); i++) {
    if (c.hits[i].load() != times)
      return ::testing::AssertionFailure() << "task " << c.min + int(i) << " ran " << c.hits[i].load() << " times, not " << times;
  }
  return ::testing::AssertionSuccess();
}

int run(Counts &c) { return pool_do_par_for(nullptr, count_task, c.min, int(c.hits.size()), reinterpret_cast<uint8_t *>(&c)); }

TEST(ThreadPool, EveryTaskOnceAtEachThreadCount) {
  for (int threads : {1, 2, 3, 0}) {
    pool_set_threads(threads);
    for (int size : {0, 1, 2, 3, 7, 64, 1000}) {
      Counts c(size);
      c.min = 5 - size;  // negative and positive indices
      EXPECT_EQ(run(c), 0);
      EXPECT_TRUE(each_ran(c, 1)) << "threads " << threads << ", size " << size;
    }
  }
}

// Back-to-back loops (workers still spinning) and loops after the workers went to sleep.
TEST(ThreadPool, BackToBackAndAfterSleep) {
  pool_set_threads(2);
  for (int round = 0; round < 200; round++) {
    Counts c(13);
    EXPECT_EQ(run(c), 0);
    ASSERT_TRUE(each_ran(c, 1)) << "round " << round;
    if (round % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

TEST(ThreadPool, FirstFailureIsReturned) {
  for (int threads : {1, 2}) {
    pool_set_threads(threads);
    Counts c(100);
    c.fail_at = 17;
    EXPECT_EQ(run(c), -7) << "threads " << threads;
    for (auto &h : c.hits) EXPECT_LE(h.load(), 1);
  }
}

TEST(ThreadPool, NestedLoopsRunEveryTask) {
  pool_set_threads(2);
  Counts inner(9), outer(6);
  outer.nested = 9;
  outer.inner = &inner;
  EXPECT_EQ(run(outer), 0);
  EXPECT_TRUE(each_ran(outer, 1));
  EXPECT_TRUE(each_ran(inner, 6));
}

TEST(ThreadPool, ConcurrentCallers) {
  pool_set_threads(2);
  std::vector<std::thread> users;
  std::atomic<int> bad{0};
  for (int u = 0; u < 4; u++) {
    users.emplace_back([&, u] {
      for (int round = 0; round < 100; round++) {
        Counts c(3 + u * 5 + round % 7);
        if (run(c) != 0 || !each_ran(c, 1)) bad++;
      }
    });
  }
  for (auto &t : users) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
