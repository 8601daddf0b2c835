/* cpu-precision.h — reduced-precision weights on the CPU backend (docs/cpu-precision.md).
 *
 * A weight loaded for a network that asked for bf16 or int8 keeps its ordinary f32/f16/bf16
 * tensor (embedding lookups and any other reader see the exact values); the CPU backend
 * records the wish on the tensor's storage, and the first matrix product that uses it as a
 * linear weight (b of [N, K] with trans_b, shared by the batch), or the first convolution
 * that multiplies it as a GEMM (kernel [O, Cg, kh, kw] as [O, Cg·kh·kw], cpu-conv.c), packs
 * it once:
 *  - bf16: bfloat16 (round to nearest even), K padded with zeros to TS_CPU_BF16_PAD;
 *  - int8: int8 in blocks of TS_CPU_QBLOCK along K, one f32 scale per block
 *    (scale = max|w|/127, q = round(w/scale), so |w − q·scale| ≤ scale/2).
 * Both are laid out for register-blocked GEMM kernels: the weight's rows (the product's
 * output columns) go in panels of TS_CPU_NR, padded with zero rows, and within a panel K is
 * interleaved so one 64-byte load holds the same K slice of all 16 columns: bf16 pairs
 * [K/2][16][2] (one VDPBF16PS against a broadcast pair of activations), int8 groups of four
 * [K/4][16][4] (one VPDPBUSD against a broadcast group), scales and offsets [blocks][16].
 * A convolution with groups packs each group's rows as panels of their own (a group is a
 * view). The products then run through the kernels cpu-dispatch.c picks for this CPU. */
#pragma once

#include "cpu-util.h"

G_BEGIN_DECLS

#define TS_CPU_BF16_PAD 32
#define TS_CPU_QBLOCK   128
#define TS_CPU_NR       16   /* weight rows (output columns) per packed panel */

typedef struct {
  TsPrecision precision;
  int64_t     n, k, kp;  /* rows, inner size, inner size padded to the block */
  int64_t     groups;    /* n rows in `groups` equal runs, each its own panels */
  int64_t     np;        /* panels per group: ceil (n / groups / TS_CPU_NR) */
  uint16_t   *bf16;      /* [groups·np][kp/2][16][2] (bf16) */
  int8_t     *q;         /* [groups·np][kp/4][16][4] (int8) */
  float      *scale;     /* [groups·np][kp / QBLOCK][16] (int8) */
  int32_t    *offset;    /* [groups·np][kp / QBLOCK][16] (int8): −128·Σq, taking back what
                          * VNNI's unsigned activations (q + 128) add to each block's product */
  int64_t     area;      /* a convolution kernel packed taps-major ([kh·kw][Cg] for each
                          * output, ts_cpu_conv_taps_major): its kh·kw; 0 otherwise */
} TsCpuPacked;

/* Where panel P's data starts. */
static inline const uint16_t *
ts_cpu_packed_bf16_panel (const TsCpuPacked *p, int64_t panel)
{
  return p->bf16 + panel * p->kp * TS_CPU_NR;
}
static inline const int8_t *
ts_cpu_packed_q_panel (const TsCpuPacked *p, int64_t panel)
{
  return p->q + panel * p->kp * TS_CPU_NR;
}
static inline int64_t
ts_cpu_packed_block_index (const TsCpuPacked *p, int64_t panel, int64_t block)
{
  return (panel * (p->kp / TS_CPU_QBLOCK) + block) * TS_CPU_NR;
}
/* Group g's rows as a packed weight of its own (a view: nothing to free). */
TsCpuPacked ts_cpu_packed_group (const TsCpuPacked *p, int64_t g);

/* ---- on storages (cpu-backend.c) ---- */

/* Records that `t` (a weight on the CPU backend) should be multiplied at `precision`
 * (TS_PRECISION_F32: exactly again, dropping a packed form). No-op for other backends. */
void ts_cpu_weight_set_precision (TsTensor *t, TsPrecision precision);
/* The same; with `file_pages` TRUE, t's bytes are a read-only private mapping of a file
 * (ts_safetensors_is_mapped) and their whole pages are given back (MADV_DONTNEED) once the
 * packed form exists: resident memory then holds the packed copy only, and whatever reads t
 * later (an embedding lookup, a convolution) maps the pages again from the file. */
void ts_cpu_weight_set_precision_full (TsTensor *t, TsPrecision precision, gboolean file_pages);
/* The packed form of b for a product with n outputs and inner size k, packed on first use;
 * NULL when no precision was asked for b (or b is not that shape), or with *error set when
 * packing ran out of memory (then *failed is TRUE). `groups` (1 for a linear weight): the
 * rows are that many equal runs, multiplied separately (a grouped convolution). */
const TsCpuPacked *ts_cpu_weight_packed (TsBackend *be, const TsTensor *b, int64_t n, int64_t k,
                                         int64_t groups, gboolean *failed, GError **error);
/* The same for a convolution kernel [n, Cg, kh, kw] (k = Cg·kh·kw, area = kh·kw): packed
 * taps-major where ts_cpu_conv_taps_major says so (then the result's `area` is set). */
const TsCpuPacked *ts_cpu_conv_weight_packed (TsBackend *be, const TsTensor *b, int64_t n,
                                              int64_t k, int64_t area, int64_t groups,
                                              gboolean *failed, GError **error);

/* ---- packing (cpu-pack.c) ---- */

TsCpuPacked *ts_cpu_pack (TsBackend *be, const void *w, TsDType dtype, int64_t n, int64_t k,
                          int64_t groups, TsPrecision precision, GError **error);
void         ts_cpu_packed_free (TsCpuPacked *p);
size_t       ts_cpu_packed_bytes (const TsCpuPacked *p);
/* One row of k f32 values as bf16 [kp] (zero padded), and as int8 blocks for the VNNI
 * kernels: u8 = q + 128 [kp] and one scale per block (the same rule as the weights). */
void ts_cpu_row_to_bf16 (const float *x, int64_t k, int64_t kp, uint16_t *out);
/* Rows per tile of the VDPBF16PS kernel's activations, and that form: rows [0, rows) (at most
 * TS_CPU_BF16_ROWS; the tile's other rows get copies of the last, whose sums the kernel never
 * stores) of x (stride lda) as bf16 pairs, row r's pair (2p, 2p + 1) at
 * tile[(p · TS_CPU_BF16_ROWS + r) · 2], zero past k up to kp. `scratch` is
 * TS_CPU_BF16_ROWS · kp values. */
#define TS_CPU_BF16_ROWS 8
/* M (0) … M (7): the kernels' full 8-row tiles written out with named sums (GCC 12 keeps
 * arrays of vector sums on the stack). */
#define TS_CPU_ROWS8(M) M (0) M (1) M (2) M (3) M (4) M (5) M (6) M (7)
void ts_cpu_rows_to_bf16_tile (const float *x, int64_t lda, int64_t rows, int64_t k, int64_t kp,
                               uint16_t *scratch, uint16_t *tile);
/* The same tile from rows already in bf16, wherever they lie: tile[(p · 8 + r) · 2 + e] =
 * row[r][2p + e] for p < pairs (a convolution's taps gathered from a bf16 image). */
void ts_cpu_pairs_to_bf16_tile (const uint16_t *const row[TS_CPU_BF16_ROWS], int64_t pairs,
                                uint16_t *tile);
void ts_cpu_row_quantise (const float *x, int64_t k, int64_t kp, uint8_t *u, float *scale);
/* dst[c, r] (row stride ldd) = src[r, c] (row stride lds): a convolution's im2col columns
 * into the rows the packed products read (cpu-conv.c). */
void ts_cpu_transpose_f32 (const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst,
                           int64_t ldd);

/* ---- kernels (cpu-dispatch.c picks; cpu-matmul-bf16.c, cpu-matmul-int8.c) ---- */

typedef enum {
  TS_CPU_KERNELS_AUTO,     /* the best this CPU has */
  TS_CPU_KERNELS_PORTABLE, /* widen to f32 and OpenBLAS sgemm (AVX2/FMA or whatever it has) */
  TS_CPU_KERNELS_AVX_VNNI, /* int8 on the 256-bit AVX-VNNI kernel where the CPU has it
                            * (tests: CPUs with AVX512_VNNI too would never run it), bf16
                            * portable */
  TS_CPU_KERNELS_BF16_DOT, /* bf16 on the VDPBF16PS kernel where the CPU has AVX512_BF16
                            * (activations rounded to bf16 too), int8 as AUTO */
  TS_CPU_KERNELS_BF16_FMA, /* bf16 on the FMA kernel (bf16 weights, f32 activations) where
                            * the CPU has AVX-512, int8 as AUTO */
} TsCpuKernelChoice;

/* Which kernels the products use from now on (tests). TESSERA_CPU_KERNELS=avx2 (or
 * "portable") at start-up forces the portable ones, =avx-vnni the 256-bit int8 kernel,
 * =avx512-bf16 the VDPBF16PS kernel for bf16, =avx512-fma the FMA kernel for bf16. */
void        ts_cpu_kernels_choose (TsCpuKernelChoice choice);
const char *ts_cpu_bf16_kernel_name (void);
const char *ts_cpu_int8_kernel_name (void);
/* What the CPU offers, whatever was chosen. */
gboolean    ts_cpu_has_avx512_bf16 (void);
/* Whether VDPBF16PS runs at FMA's rate here (AUTO then takes it for bf16). */
gboolean    ts_cpu_bf16_dot_at_full_rate (void);
gboolean    ts_cpu_has_avx2 (void);   /* and FMA: the activation rows' 256-bit forms */
gboolean    ts_cpu_has_avx512 (void); /* F, BW, VL: the bf16 FMA kernel */
/* Whether the activation rows are prepared with AVX-512 (else AVX2, else scalar: the same
 * bits on every path); not with the 256-bit or portable kernels chosen, so that tests on an
 * AVX-512 machine reach the AVX2 forms too. */
gboolean    ts_cpu_rows_avx512 (void);
/* Whether the bf16 kernel in use rounds the activations to bf16 too (VDPBF16PS). */
gboolean    ts_cpu_bf16_rounds_activations (void);
gboolean    ts_cpu_has_avx512_vnni (void);
gboolean    ts_cpu_has_avx_vnni (void);

/* c[m, n] (row stride ldc) = a[m, k] · wᵀ (+ bias[n]), a f32 row-major (stride lda). */
gboolean ts_cpu_packed_matmul (TsBackend *be, const TsCpuPacked *w, const float *a, int64_t m,
                               int64_t lda, const float *bias, float *c, int64_t ldc,
                               GError **error);

/* The same product on the calling thread alone, for use inside a parallel region (a
 * convolution's band of output positions): `scratch` holds at least
 * ts_cpu_packed_rows_scratch (w, m) bytes, 64-byte aligned, for the activations' packed form
 * (or the portable path's widened weights). */
size_t ts_cpu_packed_rows_scratch (const TsCpuPacked *w, int64_t m);
void   ts_cpu_packed_matmul_rows (const TsCpuPacked *w, const float *a, int64_t m, int64_t lda,
                                  const float *bias, float *c, int64_t ldc, void *scratch);

/* Whether a convolution at `precision` with Cg input channels a group packs its kernel
 * taps-major and reads its input as rows of whole pixels in the kernel's form (cpu-conv.c):
 * one group, and int8 on a VNNI kernel with Cg a multiple of TS_CPU_QBLOCK (a block never
 * spans two taps), or bf16 on the VDPBF16PS kernel with Cg a multiple of TS_CPU_BF16_PAD (no
 * padding between taps). Its rows' K order is then [kh·kw][Cg]. */
gboolean ts_cpu_conv_taps_major (TsPrecision precision, int64_t cg, int64_t groups);
/* Whether a convolution with `taps` (Cg·kh·kw) inputs and `og` outputs a group runs the
 * direct loops, which read its kernel as it is (never packed); `pointwise`: 1×1, stride 1,
 * no padding. */
gboolean ts_cpu_conv_direct (int64_t taps, int64_t og, gboolean pointwise);
/* c[m, n] = a·wᵀ (+ bias) for activations already in the int8 kernels' form (u8 [m, kp]
 * and scales [m, kp / TS_CPU_QBLOCK]), on the calling thread; only where
 * ts_cpu_conv_taps_major holds for int8 (a VNNI kernel). */
void ts_cpu_int8_matmul_prepared (const TsCpuPacked *w, const uint8_t *a8, const float *as,
                                  int64_t m, const float *bias, float *c, int64_t ldc);

/* The same for bf16 activations already in tiles (ts_cpu_rows_to_bf16_tile's form, [m
 * rounded up to TS_CPU_BF16_ROWS, kp]); only where ts_cpu_conv_taps_major holds for bf16. */
void ts_cpu_bf16_matmul_prepared (const TsCpuPacked *w, const uint16_t *tiles, int64_t m,
                                  const float *bias, float *c, int64_t ldc);
/* GEMM kernels (cpu-matmul-bf16.c, cpu-matmul-int8.c): c[i, j] += Σ a[i, k]·w[j, k] for
 * rows i < m of the prepared activations (bf16 in tiles of TS_CPU_BF16_ROWS rows, each
 * [kp/2][8][2] / u8 [m, kp] with scales [m, nb]),
 * weight columns [j0, j1) of w (j0 a multiple of TS_CPU_NR) and K in [k0, k1) (multiples of
 * 32 for bf16, of TS_CPU_QBLOCK for int8); a points at row 0's start, c at (row 0, column
 * j0). c is accumulated into, except with `overwrite`: then c is written without being
 * read, the sums starting from bias[0, j1 − j0) (zero when bias is NULL); setting c
 * beforehand cost a pass over it. */
void ts_cpu_bf16_gemm_avx512 (const uint16_t *a, int64_t m, const TsCpuPacked *w, int64_t j0,
                              int64_t j1, int64_t k0, int64_t k1, float *c, int64_t ldc,
                              gboolean overwrite, const float *bias);
/* The same with f32 activations a [m, lda] (exact) and the bf16 weights widened in registers
 * (FMA), over the whole K; `overwrite` and bias as above. */
void ts_cpu_bf16_gemm_fma512 (const float *a, int64_t lda, int64_t m, const TsCpuPacked *w,
                              int64_t j0, int64_t j1, float *c, int64_t ldc, gboolean overwrite,
                              const float *bias);
/* The int8 kernels, `overwrite` and bias as above. */
void ts_cpu_int8_gemm_avx512 (const uint8_t *a, const float *as, int64_t m,
                              const TsCpuPacked *w, int64_t j0, int64_t j1, int64_t k0,
                              int64_t k1, float *c, int64_t ldc, gboolean overwrite,
                              const float *bias);
void ts_cpu_int8_gemm_avxvnni (const uint8_t *a, const float *as, int64_t m,
                               const TsCpuPacked *w, int64_t j0, int64_t j1, int64_t k0,
                               int64_t k1, float *c, int64_t ldc, gboolean overwrite,
                               const float *bias);

G_END_DECLS
