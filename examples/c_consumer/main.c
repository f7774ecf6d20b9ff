/* A C99 user of the installed package through the C API: the seed example (a 2x13x13x3 image of
 * ones, a 5x5x3x4 filter whose only nonzero tap is the centre, 2 + c + 0.1 m) and one call of each
 * error class a caller can cause. Exits 0 only when every result and message is as documented. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwconv/dwconv_c.h"

static int failures = 0;

/* A host "thread pool" that runs every task on the calling thread, counting them. */
static int64_t host_tasks = 0;
static void serial_parallel_for(void *pool, dwconv_task_fn task, void *task_context, int64_t count) {
  for (int64_t i = 0; i < count; i++) task(task_context, i);
  *(int64_t *)pool += count;
}

static void expect(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "c_consumer: FAILED: %s (last error: '%s')\n", what, dwconv_last_error());
    failures++;
  }
}

/* An error of `code` whose message contains `needle`. */
static void expect_error(dwconv_status s, dwconv_status code, const char *needle, const char *what) {
  expect(s == code, what);
  expect(strstr(dwconv_last_error(), needle) != NULL, what);
  printf("c_consumer: %s -> %d: %s\n", what, (int)s, dwconv_last_error());
}

int main(void) {
  enum { N = 2, H = 13, W = 13, C = 3, K = 5, M = 4 };
  static float input[N * H * W * C], filter[K * K * C * M], output[N * H * W * C * M];
  dwconv_problem p;
  dwconv_problem_init(&p);
  p.n = N, p.h = H, p.w = W, p.c = C, p.kh = K, p.kw = K, p.m = M;
  for (int i = 0; i < N * H * W * C; i++) input[i] = 1.0f;
  for (int c = 0; c < C; c++)
    for (int m = 0; m < M; m++) filter[((K / 2 * K + K / 2) * C + c) * M + m] = 2.0f + (float)c + 0.1f * (float)m;

  int64_t shape[4];
  expect(dwconv_output_shape(&p, shape) == DWCONV_OK, "output shape");
  expect(shape[0] == N && shape[1] == H && shape[2] == W && shape[3] == C * M, "SAME keeps 13x13, 12 channels");

  dwconv_plan *plan = NULL;
  expect(dwconv_plan_create(&p, &plan) == DWCONV_OK && plan != NULL, "plan");
  expect(dwconv_plan_run(plan, input, filter, NULL, output) == DWCONV_OK, "run");
  expect(strcmp(dwconv_last_error(), "") == 0, "no message after a success");
  printf("c_consumer: dwconv %s, kernel %s (%s)\n", dwconv_version(), dwconv_plan_kernel_name(plan),
         dwconv_plan_kernel_kind(plan) == DWCONV_KERNEL_GENERAL ? "general" : "per-workload");
  printf("c_consumer: pixel (6, 6) =");
  for (int n = 0; n < N; n++)
    for (int co = 0; co < C * M; co++) {
      const float got = output[((n * H + 6) * W + 6) * C * M + co];
      const float want = 2.0f + (float)(co / M) + 0.1f * (float)(co % M);
      if (n == 0) printf(" %g", got);
      expect(fabsf(got - want) < 1e-5f, "pixel (6, 6) of each image");
    }
  printf("\n");

  /* The same on the host's pool: the same output, every task through it. */
  static float again[N * H * W * C * M];
  expect(dwconv_plan_run_parallel(plan, input, filter, NULL, again, serial_parallel_for, &host_tasks) == DWCONV_OK,
         "run on the host's pool");
  expect(memcmp(again, output, sizeof again) == 0 && host_tasks > 0, "the host's pool ran the tasks");
  expect_error(dwconv_plan_run_parallel(plan, input, filter, NULL, again, NULL, NULL), DWCONV_INVALID_ARGUMENT,
               "parallel_for", "null parallel-for");

  /* Errors: the code and a message naming the problem; nothing written. */
  output[0] = -7.0f;
  expect_error(dwconv_plan_run(plan, NULL, filter, NULL, output), DWCONV_INVALID_ARGUMENT, "input",
               "null input");
  expect_error(dwconv_plan_run(plan, input, filter, NULL, (float *)input), DWCONV_INVALID_ARGUMENT, "overlap",
               "output overlapping the input");
  expect(output[0] == -7.0f, "nothing written on an error");
  expect_error(dwconv_plan_run(NULL, input, filter, NULL, output), DWCONV_INVALID_ARGUMENT, "null",
               "null plan");
  dwconv_plan_destroy(plan);

  dwconv_problem bad = p;
  bad.h = 0;
  dwconv_plan *none = (dwconv_plan *)&bad;
  expect_error(dwconv_plan_create(&bad, &none), DWCONV_INVALID_ARGUMENT, "input", "zero height");
  expect(none == NULL, "no plan on an error");
  bad = p;
  bad.stride_w = -2;
  expect_error(dwconv_output_shape(&bad, shape), DWCONV_INVALID_ARGUMENT, "stride", "negative stride");
  bad = p;
  bad.padding = (dwconv_padding)7;
  expect_error(dwconv_plan_create(&bad, &none), DWCONV_INVALID_ARGUMENT, "padding", "padding outside the enum");
  bad = p;
  bad.bias_length = 5;
  expect_error(dwconv_plan_create(&bad, &none), DWCONV_INVALID_ARGUMENT, "bias", "bias length not C*M");
  expect_error(dwconv_depthwise_conv2d(&p, input, NULL, NULL, output), DWCONV_INVALID_ARGUMENT, "filter",
               "null filter");
  expect_error(dwconv_plan_create(NULL, &none), DWCONV_INVALID_ARGUMENT, "null", "null problem");
  dwconv_plan_destroy(NULL);

  if (failures) {
    fprintf(stderr, "c_consumer: %d failures\n", failures);
    return 1;
  }
  printf("c_consumer: all checks passed\n");
  return 0;
}
