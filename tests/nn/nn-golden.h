/* nn-golden.h — reading the goldens folder (manifest.json + safetensors) for the network tests:
 * case lookup, tolerances, reference tensors, the medium cases' SplitMix64 weights, and the
 * elementwise comparison |got − ref| ≤ abs + rel·|ref|. */
#pragma once

#include "tessera.h"
#include "model/ts-model-config.h"
#include "model/ts-safetensors-writer.h"
#include "model/ts-weights.h"
#include "golden-paths.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The goldens folder: $TESSERA_GOLDENS, else the build-time default. NULL if missing. */
const char *nn_goldens_dir (void);

/* The tiny model's folder as the manifest names it (tiny_model.dir), g_free; NULL and a
 * reason (g_free, if skip_reason is not NULL) without a goldens folder or manifest. */
char *nn_tiny_model_dir (char **skip_reason);

typedef struct {
  JsonObject *root;
} NnManifest;

/* Loaded once per process; NULL (and a skip reason) when the folder or manifest is missing. */
NnManifest *nn_manifest_get (char **skip_reason);
JsonObject *nn_manifest_case (NnManifest *m, const char *name);

typedef struct {
  double abs, rel;
} NnTolerance;

NnTolerance nn_case_tolerance (JsonObject *c);

/* The case's tensor file (the file named by its first tensor entry). */
TsSafetensors *nn_case_open (JsonObject *c, GError **error);
/* A tensor of the case file as f32 / i32 host data (g_free); *shape/ndim filled if non-NULL. */
float   *nn_read_f32 (TsSafetensors *st, const char *name, int *ndim, int64_t *shape);
int32_t *nn_read_i32 (TsSafetensors *st, const char *name, int *ndim, int64_t *shape);
gboolean nn_has (TsSafetensors *st, const char *name);

/* The medium cases' weights, regenerated from the case's "weights" specs (checking each
 * against check_first4 / check_sum_f64) into an in-memory safetensors file. Only specs whose
 * name starts with `prefix` (may be NULL) are made. */
TsWeights *nn_medium_weights (JsonObject *c, const char *prefix, const char *label,
                              GError **error);
/* The case's "config" object as JSON text (g_free). */
char *nn_case_config_json (JsonObject *c);

/* A comparison result for one tensor. */
typedef struct {
  double  max_abs;      /* largest |got − ref| */
  double  worst_ratio;  /* largest |got − ref| / (abs + rel·|ref|); ≤ 1 passes */
  int64_t worst_index;
  int64_t n_bad;
} NnCompare;

NnCompare nn_compare (const float *got, const float *ref, int64_t n, NnTolerance tol);
/* Reports the comparison as a test message and returns whether it passed. */
gboolean  nn_check (const char *what, const float *got, const float *ref, int64_t n,
                    NnTolerance tol);
/* NCHW [B, C, H, W] → channels-last [B, H·W, C] (new buffer). */
float    *nn_nchw_to_nhwc (const float *x, int64_t b, int64_t c, int64_t hw);

/* Backends: "cpu" always; "vulkan" (lavapipe allowed) when a device works, else NULL and a
 * reason. */
TsBackend *nn_backend_new (const char *kind, char **skip_reason);

G_END_DECLS
