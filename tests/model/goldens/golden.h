/* golden.h — the golden-data harness: cases come from manifest.json of a goldens folder
 * (../shared/goldens, or $TESSERA_GOLDENS), each run by the handler of its kind ("group" in
 * the manifest). Handlers report what they compared, per tensor, with the worst error.
 *
 * Adding a kind: write golden-<kind>.c with a GoldenRunFunc, declare it below and put it in
 * the table in golden-main.c; a case of a kind that no test handles fails with its name. */
#pragma once

#include "model/ts-safetensors.h"

#include <json-glib/json-glib.h>

typedef struct {
  const char *dir;      /* the goldens folder */
  JsonObject *manifest;
  JsonObject *spec;     /* this case's manifest entry */
  const char *name;
  const char *kind;
  GHashTable *files;    /* relative path → TsSafetensors*, opened on demand */
} GoldenCase;

typedef void (*GoldenRunFunc) (GoldenCase *gc);

/* Handlers, one per case kind. */
void golden_run_tokenizer (GoldenCase *gc);

/* ---- helpers for handlers ------------------------------------------------------------- */

/* `rel` inside the goldens folder; g_free. */
char *golden_path (const GoldenCase *gc, const char *rel);

/* The manifest entry of a tensor of this case (its "tensors" map), or NULL. */
JsonObject *golden_tensor_spec (const GoldenCase *gc, const char *tensor);
/* A tensor of this case, found through the manifest; fails the test when absent. */
const TsSafetensorsTensor *golden_tensor (GoldenCase *gc, const char *tensor,
                                          TsSafetensors **file);
/* Its contents as `dtype` (converted where allowed), newly allocated; *n elements. */
void *golden_read (GoldenCase *gc, const char *tensor, TsDType dtype, guint64 *n);

typedef struct {
  const char *tensor;
  guint64     compared;  /* values */
  guint64     mismatched;
  double      worst_abs;
  double      worst_rel;
  guint64     worst_at;
} GoldenStats;

/* Integers: exact. Reports and returns TRUE when all match. */
gboolean golden_compare_i64 (GoldenCase *gc, const char *tensor, const int64_t *got,
                             const int64_t *ref, guint64 n, GoldenStats *stats);
/* Floats: |got - ref| <= abs + rel·|ref| elementwise. */
gboolean golden_compare_f32 (GoldenCase *gc, const char *tensor, const float *got,
                             const float *ref, guint64 n, double abs, double rel,
                             GoldenStats *stats);
/* One report line: "<case>: <tensor> [shape] <dtype>: ..." */
void golden_report (GoldenCase *gc, const GoldenStats *stats, const char *extra);
