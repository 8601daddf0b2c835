/* ts-safetensors-private.h — what the reader, the loader and the writer share. */
#pragma once

#include "ts-safetensors.h"

G_BEGIN_DECLS

struct _TsSafetensors {
  gint                 ref_count;
  char                *path;       /* as given; names the file in every error */
  GBytes              *bytes;      /* the whole file (a mapping, or memory) */
  gboolean             mapped;     /* bytes are a read-only private mapping of the file */
  const guint8        *base;
  gsize                size;
  guint64              data_start; /* 8 + header length */
  TsSafetensorsTensor *tensors;    /* sorted by offset */
  guint                n_tensors;
  guint64              data_bytes;
  GHashTable          *by_name;    /* name → TsSafetensorsTensor* */
  GHashTable          *metadata;   /* key → value */
  GStringChunk        *strings;    /* names, dtype names, metadata */
};

typedef struct {
  const char *name;
  size_t      size;
  TsDType     dtype;    /* TS_DTYPE_COUNT when the engine cannot load it */
} TsStDTypeInfo;

/* NULL for names that are not safetensors dtypes. */
const TsStDTypeInfo *ts_st_dtype_lookup (const char *name);

G_END_DECLS
