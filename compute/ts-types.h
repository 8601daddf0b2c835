/* ts-types.h — element types and small shared definitions of the Tessera engine.
 *
 * Tessera's engine ("libtessera", compute/) knows nothing of GTK: it is tensors, two
 * backends, and the ops the aMUSEd model family needs. */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
  TS_DTYPE_F32,
  TS_DTYPE_F16,
  TS_DTYPE_BF16,
  TS_DTYPE_I32,
  TS_DTYPE_I64,
  TS_DTYPE_U8,
  TS_DTYPE_COUNT
} TsDType;

/* How a network's large weights are held and multiplied on the CPU (docs/cpu-precision.md).
 * F32: exact (the default). BF16: weights and, where the CPU has AVX512_BF16, activations
 * rounded to bfloat16 with f32 accumulation. INT8: weights as int8 with one scale per block of
 * 128 along the inner dimension and, where the CPU has VNNI, activations quantised the same way
 * at run time. Backends without reduced-precision kernels compute in f32. */
typedef enum {
  TS_PRECISION_F32,
  TS_PRECISION_BF16,
  TS_PRECISION_INT8,
} TsPrecision;

const char *ts_precision_name (TsPrecision precision);
/* "f32", "bf16" or "int8"; FALSE for anything else. */
gboolean    ts_precision_from_string (const char *name, TsPrecision *precision);

/* Tensors have 1 to TS_MAX_DIMS dimensions, row-major, last dimension fastest (PyTorch order). */
#define TS_MAX_DIMS 4

size_t      ts_dtype_size (TsDType dtype);
const char *ts_dtype_name (TsDType dtype);
gboolean    ts_dtype_is_float (TsDType dtype);

/* IEEE half and bfloat16 conversions (round to nearest even, NaN/Inf preserved). */
float    ts_f16_to_f32 (uint16_t h);
uint16_t ts_f32_to_f16 (float f);
float    ts_bf16_to_f32 (uint16_t b);
uint16_t ts_f32_to_bf16 (float f);

/* Convert n elements between any two dtypes (float→int truncates toward zero, like C). */
void ts_convert (const void *src, TsDType src_dtype, void *dst, TsDType dst_dtype, size_t n);

#define TS_ERROR (ts_error_quark ())
GQuark ts_error_quark (void);

typedef enum {
  TS_ERROR_INVALID_ARGUMENT, /* wrong shapes, dtypes, parameters */
  TS_ERROR_UNSUPPORTED,      /* valid request the backend cannot do */
  TS_ERROR_OUT_OF_MEMORY,    /* host or device allocation failed */
  TS_ERROR_DEVICE,           /* driver failure, lost device */
  TS_ERROR_NO_DEVICE,        /* no usable device of the kind asked for */
  TS_ERROR_CORRUPT,          /* malformed file or data */
  TS_ERROR_IO,               /* reading or writing failed */
  TS_ERROR_CANCELLED,
} TsErrorCode;

G_END_DECLS
