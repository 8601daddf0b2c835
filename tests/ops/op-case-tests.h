/* op-case-tests.h — running the shared op cases (compute/ts-op-cases.c) under GTest: one
 * test per case, a backend against the CPU backend, and which op families a case runs. */
#pragma once

#include "tessera.h"
#include "ts-backend-private.h"

G_BEGIN_DECLS

/* The case's inputs on `be`, drawn with `seed` (as ts_op_case_run draws them); values[i]
 * (may be NULL) receives input i's exact contents as f32 (ids converted). */
void op_case_make_inputs (TsBackend *be, const TsOpCase *c, guint32 seed, TsTensor **in,
                          float **values);

/* A bit (1 << TsOpFamily) for every op family the case runs, found by running it on `cpu`
 * with profiling on; *kinds (may be NULL) gets a bit (1 << TsOpKind) per op kind. */
guint op_case_families (TsBackend *cpu, const TsOpCase *c, guint64 *kinds);

/* Registers `prefix`/<case name> (spaces as '-') with the case as data, for every case that
 * runs an op of a family in `include` and none of a family in `exclude` (family bits). */
void op_case_add_tests (const char *prefix, TsBackend *cpu, guint include, guint exclude,
                        GTestDataFunc func);
/* The same, one test per variant: `prefix`/<case>/<variants[v]>, data an OpCaseTest. */
void op_case_add_variant_tests (const char *prefix, TsBackend *cpu, guint include,
                                guint exclude, const char *const *variants, int n_variants,
                                GTestDataFunc func);
/* What a test registered by op_case_add_variant_tests gets. */
typedef struct {
  const TsOpCase *op_case;
  int             variant;
} OpCaseTest;

/* Runs the case on `be` and on `cpu` with the same inputs and compares the results within
 * the case's tolerance (same element count, no NaN or Inf), failing the test otherwise. */
void op_case_check_backend (TsBackend *be, TsBackend *cpu, const TsOpCase *c);

#define OP_FAMILY_BIT(f) (1u << (f))
#define OP_FAMILIES_HEAVY (OP_FAMILY_BIT (TS_OP_FAMILY_MATMUL) | \
                           OP_FAMILY_BIT (TS_OP_FAMILY_ATTENTION) | \
                           OP_FAMILY_BIT (TS_OP_FAMILY_CONV) | OP_FAMILY_BIT (TS_OP_FAMILY_NEAREST))
#define OP_FAMILIES_SIMPLE (OP_FAMILY_BIT (TS_OP_FAMILY_ELEMENTWISE) | \
                            OP_FAMILY_BIT (TS_OP_FAMILY_NORM) | OP_FAMILY_BIT (TS_OP_FAMILY_LAYOUT))

G_END_DECLS
