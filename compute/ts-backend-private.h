/* ts-backend-private.h — what a backend implements. Only compute/ includes this.
 *
 * The front-end (ts-ops.c) validates arguments, makes inputs contiguous where a kernel
 * needs that, allocates the output and then hands the backend one TsOp. A backend's
 * kernels only compute: shapes and dtypes are already known to be valid. */
#pragma once

#include "ts-op-list.h"
#include "ts-ops.h"

G_BEGIN_DECLS

/* The op kinds, from the op table (ts-op-list.h says what each one's TsOp holds). */
#define TS_OP_ENUM_ROW(KIND, name, family, cost) TS_OP_##KIND,
typedef enum {
  TS_OP_LIST (TS_OP_ENUM_ROW)
  TS_OP_COUNT
} TsOpKind;
#undef TS_OP_ENUM_ROW

typedef struct {
  TsOpKind  kind;
  TsTensor *src[3];
  TsTensor *dst;
  union {
    struct { float scale, offset; } scale;
    struct { float eps; int groups; gboolean silu; } norm;
    struct { float scale; gboolean causal; TsPrecision precision; } attention;
    struct { gboolean trans_a, trans_b; } matmul;
    TsConv2dParams conv;
    float fill_value;
  } p;
} TsOp;

const char *ts_op_name (TsOpKind kind);
TsOpFamily  ts_op_family (TsOpKind kind);
/* Work model for profiling and benchmarks. */
double ts_op_flops (const TsOp *op);
double ts_op_bytes (const TsOp *op);

/* One op's kernel: computes op->dst; FALSE with *error set on failure. */
typedef gboolean (*TsOpKernel) (TsBackend *be, const TsOp *op, GError **error);

/* The kernel a backend puts in its table for an op it cannot run: the op then fails with a
 * TS_ERROR_UNSUPPORTED error naming the backend and the op. */
gboolean ts_op_unsupported (TsBackend *be, const TsOp *op, GError **error);

typedef struct {
  const char *name;
  void       (*destroy) (TsBackend *be);
  char      *(*describe) (TsBackend *be);
  /* Storage of `bytes` bytes; NULL and a TS_ERROR_OUT_OF_MEMORY error on failure. */
  TsStorage *(*storage_new) (TsBackend *be, size_t bytes, GError **error);
  void       (*storage_free) (TsBackend *be, TsStorage *storage);
  /* Optional: storage over memory the caller owns (a mapped file), without a copy; `release`
   * is called with `owner` when the storage dies. NULL when the backend must copy. */
  TsStorage *(*storage_wrap) (TsBackend *be, const void *data, size_t bytes,
                              GDestroyNotify release, gpointer owner, GError **error);
  gboolean   (*storage_write) (TsBackend *be, TsStorage *s, size_t offset, const void *src,
                               size_t n, GError **error);
  gboolean   (*storage_read) (TsBackend *be, TsStorage *s, size_t offset, void *dst,
                              size_t n, GError **error);
  gboolean   (*sync) (TsBackend *be, GError **error);
  /* The kernel of every op kind (designated initialisers, [TS_OP_COUNT] entries): run or
   * queue one op. A hole (NULL) fails the backend's creation; ts_op_unsupported says "no".
   * NULL for the whole table: a backend that runs no ops (test doubles). */
  const TsOpKernel *kernels;
  /* Optional: called before every kernel (FALSE with *error set refuses the op) and after
   * it, whatever it returned; per-op bookkeeping such as profiling and lost devices. */
  gboolean   (*begin_op) (TsBackend *be, const TsOp *op, GError **error);
  void       (*end_op) (TsBackend *be, const TsOp *op);
  /* Profiling hooks; may be NULL when the backend only uses the generic wall-clock path. */
  void       (*set_profiling) (TsBackend *be, gboolean enabled);
  TsProfileEntry *(*profile) (TsBackend *be, guint *n);
  void       (*profile_reset) (TsBackend *be);
  /* Optional microbenchmarks (see ts_backend_measure_peak). */
  gboolean   (*measure_peak) (TsBackend *be, double *gflops, double *gbytes_per_s, GError **error);
  /* Optional: TRUE once the device is gone for good (see ts_backend_is_lost). */
  gboolean   (*is_lost) (TsBackend *be);
  /* Optional: return memory kept for reuse to the system (see ts_backend_trim). */
  void       (*trim) (TsBackend *be);
  /* Optional: do now the work a weight's first product would do (ts_prepare_linear_weight):
   * w is [n, ...] with k inputs a group, area = kh·kw (1 for a linear weight). */
  gboolean   (*prepare_weight) (TsBackend *be, const TsTensor *w, int64_t n, int64_t k,
                                int64_t area, int64_t groups, GError **error);
} TsBackendClass;

/* Notes for backends:
 * - Inputs of every op are contiguous unless the comment above says otherwise; "small"
 *   parameter tensors (norm weights, biases, gamma/beta) always arrive as f32. Large weights
 *   (matmul b, conv weights, embedding tables) keep their dtype: f32, f16 or bf16.
 * - An op's dst shares no memory with its inputs, except where the comment above says it
 *   may be src0 itself: then each output element is written after the reads it depends on.
 * - Ops may run asynchronously: a storage whose last tensor is unreffed may still be used by
 *   queued work, so storage_free must defer the release until that work has completed. */

/* Every backend struct starts with this. */
struct _TsBackend {
  const TsBackendClass *klass;
  TsBackendKind         kind;
  GError               *error;        /* sticky; see ts_backend_take_error */
  gboolean              profiling;
  GHashTable           *wall_profile; /* op name → TsProfileEntry*, for backends without hooks */
  /* The memory budget, enforced by the front-end before every storage allocation. */
  guint64               mem_budget;   /* 0: none */
  guint64               mem_used, mem_peak;
};

/* Storage refcounting is done by the front-end through this header, which every backend
 * storage struct begins with. */
struct _TsStorage {
  gint   ref_count;
  size_t size;
  size_t charged; /* bytes counted against the backend's budget (0 for wrapped memory) */
};

void ts_backend_init_base (TsBackend *be, const TsBackendClass *klass, TsBackendKind kind);
void ts_backend_finalize_base (TsBackend *be);
/* The budget TESSERA_MEMORY_BUDGET gives backends of `kind`: TRUE and *bytes (0: none)
 * when it names one, FALSE when unset or malformed (a malformed value is reported on stderr).
 * Syntax: SIZE or KIND:SIZE items, comma-separated, SIZE a byte count with an optional K, M
 * or G suffix (binary units), e.g. "vulkan:3G,cpu:12G" or "2.5G". */
gboolean ts_memory_budget_from_env (TsBackendKind kind, guint64 *bytes);

/* Run (or queue) one op through the backend's kernel table, with its begin/end hooks; FALSE
 * with *error set on failure. The front end's way in, and tests' way past the front end. */
gboolean ts_backend_run_op (TsBackend *be, const TsOp *op, GError **error);

/* Record a failure unless an error is already set (takes ownership of err). */
void ts_backend_propagate_error (TsBackend *be, GError *err);

TsStorage *ts_storage_ref (TsStorage *s);
void       ts_storage_unref (TsBackend *be, TsStorage *s);

/* New tensor over fresh storage (contiguous). */
TsTensor  *ts_tensor_new_uninit (TsBackend *be, TsDType dtype, int ndim, const int64_t *shape);
/* New contiguous tensor over memory the caller owns (a mapped file) when the backend can wrap
 * host memory; `release(owner)` runs when the storage dies. Returns NULL with *error set
 * (TS_ERROR_UNSUPPORTED when the backend has no storage_wrap hook: callers copy instead). */
TsTensor  *ts_tensor_new_wrapped (TsBackend *be, TsDType dtype, int ndim, const int64_t *shape,
                                  const void *data, GDestroyNotify release, gpointer owner,
                                  GError **error);
/* Rows of a tensor: product of all dimensions but the last. */
int64_t    ts_tensor_rows (const TsTensor *t);

/* Backends in this build. */
TsBackend *ts_cpu_backend_new (int n_threads, GError **error);
TsBackend *ts_vulkan_backend_new (int device_index, gboolean allow_cpu_device, GError **error);

G_END_DECLS
