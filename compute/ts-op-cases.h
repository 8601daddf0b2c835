/* ts-op-cases.h — the one list of op cases: small calls of every op, each with its inputs
 * and the error allowed against the CPU backend. It drives `tessera-cli selfcheck`, the
 * CPU-vs-reference tests, both Vulkan test programs (every backend against the CPU) and
 * `tessera-bench ops` (which runs the same calls at the model's shapes). A test checks that
 * together the cases run every op kind of the op table (ts-op-list.h). */
#pragma once

#include "ts-ops.h"

G_BEGIN_DECLS

typedef struct {
  int     ndim;
  int64_t shape[4];
  TsDType dtype;   /* float inputs are uniform in [-2, 2); integer inputs are ids in [0, 16) */
} TsOpCaseInput;

typedef struct {
  const char   *name;       /* unique; what selfcheck prints */
  /* The call: in[i] for i < n_inputs, NULL after (optional inputs left out). Parameters
   * that depend on the size (attention scale, group counts) are derived from the inputs, so
   * the same call serves the small checks and the benchmark's model-size shapes. */
  TsTensor   *(*run) (TsBackend *be, TsTensor *const *in);
  int           n_inputs;
  TsOpCaseInput inputs[3];
  double        tolerance;  /* normalised squared error allowed against the CPU backend */
} TsOpCase;

/* The cases, in a fixed order; *n receives their count. */
const TsOpCase *ts_op_cases (guint *n);
/* The case called `name`, or NULL. */
const TsOpCase *ts_op_case_find (const char *name);

/* A tensor for one input, its values drawn from rand (see TsOpCaseInput); NULL with the
 * backend's error set on failure. */
TsTensor *ts_op_case_input (TsBackend *be, const TsOpCaseInput *input, GRand *rand);

/* Run the case on `be` with `inputs` (NULL: the case's own) and inputs drawn from a GRand
 * seeded with `seed`; returns the output as f32 host values (integer outputs converted),
 * its element count in *n_out, or NULL with *error set. */
float *ts_op_case_run (TsBackend *be, const TsOpCase *c, const TsOpCaseInput *inputs,
                       guint32 seed, gint64 *n_out, GError **error);

G_END_DECLS
