/* dwconv's C API (C99): the same convolution, validation and kernels as dwconv.h, for programs
 * and languages that reach libraries through a C ABI.
 *
 * Layouts are TensorFlow's (see dwconv.h): input NHWC [N, H, W, C], filter [KH, KW, C, M] dense,
 * bias [C*M] or none, output NHWC [N, OH, OW, C*M] with channel c*M + m. Strides are in elements,
 * 0 = dense; the channel stride is 1.
 *
 * Every function returns a dwconv_status. On an error nothing is written to the outputs and
 * dwconv_last_error() returns the message naming the problem (the same text as the C++ API's
 * Status), owned by the library and valid until the next dwconv_* call on the same thread. */
#ifndef DWCONV_DWCONV_C_H_
#define DWCONV_DWCONV_C_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dwconv_status {
  DWCONV_OK = 0,
  DWCONV_INVALID_ARGUMENT = 1, /* bad shapes, strides, pointers, ... */
  DWCONV_UNSUPPORTED = 2,      /* valid, but no kernel of this build serves it */
  DWCONV_INTERNAL = 3          /* a kernel failed (a bug: please report it) */
} dwconv_status;

typedef enum dwconv_padding {
  DWCONV_PADDING_SAME = 0,    /* TensorFlow SAME: the odd padding pixel goes bottom/right */
  DWCONV_PADDING_VALID = 1,   /* no padding */
  DWCONV_PADDING_EXPLICIT = 2 /* pad_top/bottom/left/right */
} dwconv_padding;

typedef enum dwconv_activation {
  DWCONV_ACTIVATION_NONE = 0,
  DWCONV_ACTIVATION_RELU = 1,
  DWCONV_ACTIVATION_RELU6 = 2,
  DWCONV_ACTIVATION_CLAMP = 3 /* clamp_min, clamp_max */
} dwconv_activation;

typedef enum dwconv_kernel_kind {
  DWCONV_KERNEL_GENERAL = 0,     /* any shape of its class, sizes at run time */
  DWCONV_KERNEL_FIXED_SHAPE = 1, /* generated for this shape (DWCONV_SHAPES) */
  DWCONV_KERNEL_TUNED = 2        /* generated for this shape from the tuning database */
} dwconv_kernel_kind;

/* One convolution problem, without its data. Fill it with dwconv_problem_init() first (which
 * sets stride and dilation 1, SAME padding, no activation, dense tensors), then set the sizes.
 * The output shape follows from the rest (dwconv_output_shape). */
typedef struct dwconv_problem {
  int64_t n, h, w, c;          /* input */
  int64_t kh, kw, m;           /* filter [KH, KW, C, M] */
  int64_t bias_length;         /* 0: no bias; otherwise C*M */
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  dwconv_padding padding;
  int32_t pad_top, pad_bottom, pad_left, pad_right; /* DWCONV_PADDING_EXPLICIT only */
  dwconv_activation activation;
  float clamp_min, clamp_max;                       /* DWCONV_ACTIVATION_CLAMP only */
  int64_t input_stride_n, input_stride_h, input_stride_w;    /* 0: dense */
  int64_t output_stride_n, output_stride_h, output_stride_w; /* 0: dense */
  int32_t num_threads;                              /* 0: all cores */
} dwconv_problem;

typedef struct dwconv_plan dwconv_plan; /* opaque: a validated problem bound to a kernel */

/* Defaults for every field (sizes 0: the caller sets them). */
void dwconv_problem_init(dwconv_problem *problem);

/* The output shape [N, OH, OW, C*M] of a problem, or an error naming what is wrong with it. */
dwconv_status dwconv_output_shape(const dwconv_problem *problem, int64_t shape[4]);

/* Validates the problem completely and picks the kernel for it on this CPU. On success *plan is
 * a new plan (free it with dwconv_plan_destroy); on an error it is set to NULL. */
dwconv_status dwconv_plan_create(const dwconv_problem *problem, dwconv_plan **plan);

/* Runs the plan on the given tensors (bias may be NULL only when the problem has none).
 * Concurrent runs of one plan from several threads are safe. */
dwconv_status dwconv_plan_run(const dwconv_plan *plan, const float *input, const float *filter,
                              const float *bias, float *output);

/* A host program's thread pool (as XNNPACK takes a pthreadpool): run(pool, task, task_context,
 * count) must call task(task_context, i) exactly once for every i in [0, count), on any threads
 * (the caller's included) and in any order, and return when all calls have returned. */
typedef void (*dwconv_task_fn)(void *task_context, int64_t i);
typedef void (*dwconv_parallel_for_fn)(void *pool, dwconv_task_fn task, void *task_context, int64_t count);

/* dwconv_plan_run with the parallel loops on the host's pool instead of dwconv's (num_threads
 * then does not apply). */
dwconv_status dwconv_plan_run_parallel(const dwconv_plan *plan, const float *input, const float *filter,
                                       const float *bias, float *output, dwconv_parallel_for_fn parallel_for,
                                       void *pool);

/* Frees a plan; NULL is ignored. */
void dwconv_plan_destroy(dwconv_plan *plan);

/* The chosen kernel's name, its kind, and why it was chosen (strings owned by the plan). NULL
 * plan: "" and DWCONV_KERNEL_GENERAL. */
const char *dwconv_plan_kernel_name(const dwconv_plan *plan);
dwconv_kernel_kind dwconv_plan_kernel_kind(const dwconv_plan *plan);
const char *dwconv_plan_selection_reason(const dwconv_plan *plan);

/* One call: create, run, destroy. */
dwconv_status dwconv_depthwise_conv2d(const dwconv_problem *problem, const float *input, const float *filter,
                                      const float *bias, float *output);

/* The message of this thread's last failed dwconv_* call ("" after a success). */
const char *dwconv_last_error(void);

/* "MAJOR.MINOR.PATCH" of this library. */
const char *dwconv_version(void);

#ifdef __cplusplus
}
#endif

#endif /* DWCONV_DWCONV_C_H_ */
