/* test-safetensors.c — the safetensors reader, loader and writer on well-formed files. */
#include "model/ts-safetensors-writer.h"
#include "ts-ops.h"
#include "fake-backend.h"

#include <glib/gstdio.h>
#include <string.h>

static GBytes *
bytes_of (TsSafetensorsWriter *w)
{
  g_autoptr (GError) error = NULL;
  GBytes *b = ts_safetensors_writer_to_bytes (w, &error);
  g_assert_no_error (error);
  return b;
}

/* Every engine dtype, a scalar, an empty tensor and metadata survive a write and a read. */
static void
test_roundtrip (void)
{
  g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  float f32[6] = { 1, -2, 3.5f, 0, 1e-3f, 65504 };
  uint16_t f16[3] = { 0x3c00, 0xc000, 0x7bff };
  int64_t i64[2] = { -1, G_MAXINT64 };
  int32_t i32[1] = { 42 };
  uint8_t u8[5] = { 0, 1, 2, 254, 255 };
  float scalar = 7.25f;
  const int64_t s23[] = { 2, 3 }, s3[] = { 3 }, s2[] = { 2 }, s1[] = { 1 }, s5[] = { 5 },
                s0[] = { 4, 0 };
  g_assert_true (ts_safetensors_writer_add (w, "a.weight", TS_DTYPE_F32, 2, s23, f32, &error));
  g_assert_true (ts_safetensors_writer_add (w, "half", TS_DTYPE_F16, 1, s3, f16, &error));
  g_assert_true (ts_safetensors_writer_add (w, "bf", TS_DTYPE_BF16, 1, s3, f16, &error));
  g_assert_true (ts_safetensors_writer_add (w, "ids", TS_DTYPE_I64, 1, s2, i64, &error));
  g_assert_true (ts_safetensors_writer_add (w, "i32", TS_DTYPE_I32, 1, s1, i32, &error));
  g_assert_true (ts_safetensors_writer_add (w, "bytes", TS_DTYPE_U8, 1, s5, u8, &error));
  g_assert_true (ts_safetensors_writer_add (w, "scalar", TS_DTYPE_F32, 0, NULL, &scalar, &error));
  g_assert_true (ts_safetensors_writer_add (w, "empty", TS_DTYPE_F32, 2, s0, NULL, &error));
  g_assert_true (ts_safetensors_writer_add (w, "ünïcødé/名前", TS_DTYPE_U8, 1, s1, u8, &error));
  ts_safetensors_writer_set_metadata (w, "format", "pt");
  ts_safetensors_writer_set_metadata (w, "note", "\"quoted\" \\ text");

  g_autoptr (GBytes) bytes = bytes_of (w);
  gsize size;
  const guint8 *raw = g_bytes_get_data (bytes, &size);
  guint64 header_len;
  memcpy (&header_len, raw, 8);
  g_assert_cmpuint ((8 + GUINT64_FROM_LE (header_len)) % 8, ==, 0);

  g_autoptr (TsSafetensors) st = ts_safetensors_new_from_bytes (bytes, "roundtrip", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ts_safetensors_n_tensors (st), ==, 9);
  g_assert_cmpstr (ts_safetensors_metadata (st, "format"), ==, "pt");
  g_assert_cmpstr (ts_safetensors_metadata (st, "note"), ==, "\"quoted\" \\ text");
  g_assert_null (ts_safetensors_metadata (st, "absent"));
  guint n_keys;
  g_autofree const char **keys = ts_safetensors_metadata_keys (st, &n_keys);
  g_assert_cmpuint (n_keys, ==, 2);
  g_assert_cmpstr (keys[0], ==, "format");
  g_assert_cmpstr (keys[1], ==, "note");

  const TsSafetensorsTensor *t = ts_safetensors_lookup (st, "a.weight");
  g_assert_nonnull (t);
  g_assert_cmpstr (t->dtype_name, ==, "F32");
  g_assert_cmpint (t->ndim, ==, 2);
  g_assert_cmpint (t->shape[0], ==, 2);
  g_assert_cmpint (t->shape[1], ==, 3);
  g_assert_cmpuint (t->nbytes, ==, sizeof f32);
  g_assert_cmpmem (ts_safetensors_data (st, t), t->nbytes, f32, sizeof f32);

  t = ts_safetensors_lookup (st, "ids");
  g_assert_cmpint (t->dtype, ==, TS_DTYPE_I64);
  g_assert_cmpmem (ts_safetensors_data (st, t), t->nbytes, i64, sizeof i64);
  t = ts_safetensors_lookup (st, "scalar");
  g_assert_cmpint (t->ndim, ==, 0);
  g_assert_cmpuint (t->numel, ==, 1);
  t = ts_safetensors_lookup (st, "empty");
  g_assert_cmpuint (t->numel, ==, 0);
  g_assert_cmpuint (t->nbytes, ==, 0);
  g_assert_nonnull (ts_safetensors_lookup (st, "ünïcødé/名前"));
  g_assert_null (ts_safetensors_lookup (st, "missing"));

  /* tensors come in file order, back to back */
  guint64 end = ts_safetensors_get (st, 0)->offset;
  for (guint i = 0; i < ts_safetensors_n_tensors (st); i++) {
    const TsSafetensorsTensor *x = ts_safetensors_get (st, i);
    g_assert_cmpuint (x->offset, ==, end);
    end += x->nbytes;
  }
  g_assert_cmpuint (end, ==, size);
}

static char *
temp_path (const char *name)
{
  g_autofree char *dir = g_dir_make_tmp ("ts-safetensors-XXXXXX", NULL);
  g_assert_nonnull (dir);
  return g_build_filename (dir, name, NULL);
}

static void
remove_temp (const char *path)
{
  g_unlink (path);
  g_autofree char *dir = g_path_get_dirname (path);
  g_rmdir (dir);
}

static gboolean
fill_ramp (void *dst, size_t size, gpointer user_data, GError **error)
{
  float *f = dst;
  for (size_t i = 0; i < size / sizeof (float); i++)
    f[i] = (float) i * GPOINTER_TO_INT (user_data);
  return TRUE;
}

static gboolean
fill_fail (void *dst, size_t size, gpointer user_data, GError **error)
{
  g_set_error (error, TS_ERROR, TS_ERROR_IO, "fill failed on purpose");
  return FALSE;
}

/* Files on disk are mapped; data produced at write time lands where the header says. */
static void
test_file_and_fill (void)
{
  g_autofree char *path = temp_path ("filled.safetensors");
  g_autoptr (GError) error = NULL;
  {
    g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
    const int64_t shape[] = { 3, 100 };
    g_assert_true (ts_safetensors_writer_add_fill (w, "ramp", TS_DTYPE_F32, 2, shape, fill_ramp,
                                                   GINT_TO_POINTER (2), NULL, &error));
    g_assert_true (ts_safetensors_writer_write (w, path, &error));
    g_assert_no_error (error);
  }
  g_autoptr (TsSafetensors) st = ts_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ts_safetensors_path (st), ==, path);
  const TsSafetensorsTensor *t = ts_safetensors_lookup (st, "ramp");
  const float *f = ts_safetensors_data (st, t);
  for (int i = 0; i < 300; i++)
    g_assert_cmpfloat (f[i], ==, 2.0f * i);
  g_assert_cmpuint (ts_safetensors_data_bytes (st), ==, 1200);

  /* a failing fill leaves no file behind and keeps the old one */
  {
    g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
    const int64_t shape[] = { 4 };
    g_assert_true (ts_safetensors_writer_add_fill (w, "x", TS_DTYPE_F32, 1, shape, fill_fail,
                                                   NULL, NULL, &error));
    g_assert_false (ts_safetensors_writer_write (w, path, &error));
    g_assert_error (error, TS_ERROR, TS_ERROR_IO);
    g_clear_error (&error);
  }
  g_autoptr (TsSafetensors) again = ts_safetensors_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ts_safetensors_lookup (again, "ramp"));
  remove_temp (path);

  g_assert_null (ts_safetensors_open ("/nonexistent/x.safetensors", &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_IO);
}

static void
test_writer_errors (void)
{
  g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  float x = 1;
  const int64_t s1[] = { 1 }, neg[] = { -1 }, huge[] = { G_MAXINT64, 4 };
  g_assert_true (ts_safetensors_writer_add (w, "x", TS_DTYPE_F32, 1, s1, &x, &error));
  const struct { const char *name; int ndim; const int64_t *shape; const char *msg; } bad[] = {
    { "x", 1, s1, "duplicate" },
    { "", 1, s1, "invalid tensor name" },
    { "__metadata__", 1, s1, "invalid tensor name" },
    { "\xff", 1, s1, "invalid tensor name" },
    { "neg", 1, neg, "invalid shape" },
    { "huge", 2, huge, "invalid shape" },
    { "dims", 9, s1, "dimensions" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_assert_false (ts_safetensors_writer_add (w, bad[i].name, TS_DTYPE_F32, bad[i].ndim,
                                               bad[i].shape, &x, &error));
    g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, bad[i].msg));
    g_clear_error (&error);
  }
}

/* Host reads convert between float types; integers only read as themselves. */
static void
test_read_convert (void)
{
  g_autoptr (GError) error = NULL;
  const char header[] =
    "{\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]},"
    "\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[24,28]},"
    "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[28,32]},"
    "\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[32,40]},"
    "\"s\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[40,42]}}";
  GByteArray *file = g_byte_array_new ();
  guint64 n = GUINT64_TO_LE (sizeof header - 1);
  g_byte_array_append (file, (guint8 *) &n, 8);
  g_byte_array_append (file, (const guint8 *) header, sizeof header - 1);
  double d[3] = { 0.5, -3.0, 1e10 };
  uint16_t h[2] = { 0x3c00, 0xbc00 };  /* 1, -1 */
  uint16_t b[2] = { 0x4040, 0xc000 };  /* 3, -2 */
  int64_t i = 12345;
  int16_t s = 7;
  g_byte_array_append (file, (guint8 *) d, sizeof d);
  g_byte_array_append (file, (guint8 *) h, sizeof h);
  g_byte_array_append (file, (guint8 *) b, sizeof b);
  g_byte_array_append (file, (guint8 *) &i, sizeof i);
  g_byte_array_append (file, (guint8 *) &s, sizeof s);
  g_autoptr (GBytes) bytes = g_byte_array_free_to_bytes (file);
  g_autoptr (TsSafetensors) st = ts_safetensors_new_from_bytes (bytes, "convert", &error);
  g_assert_no_error (error);

  /* the header is 8 + 299 bytes long: every tensor is misaligned, so reads go through a copy */
  float f[3];
  g_assert_true (ts_safetensors_read (st, ts_safetensors_lookup (st, "d"), TS_DTYPE_F32, f,
                                      sizeof f, &error));
  g_assert_cmpfloat (f[0], ==, 0.5f);
  g_assert_cmpfloat (f[1], ==, -3.0f);
  g_assert_cmpfloat (f[2], ==, 1e10f);
  uint16_t half[3];
  g_assert_true (ts_safetensors_read (st, ts_safetensors_lookup (st, "d"), TS_DTYPE_F16, half,
                                      sizeof half, &error));
  g_assert_cmpfloat (ts_f16_to_f32 (half[0]), ==, 0.5f);
  g_assert_cmpfloat (ts_f16_to_f32 (half[1]), ==, -3.0f);
  g_assert_true (ts_safetensors_read (st, ts_safetensors_lookup (st, "h"), TS_DTYPE_F32, f,
                                      2 * sizeof (float), &error));
  g_assert_cmpfloat (f[0], ==, 1.0f);
  g_assert_cmpfloat (f[1], ==, -1.0f);
  g_assert_true (ts_safetensors_read (st, ts_safetensors_lookup (st, "b"), TS_DTYPE_F32, f,
                                      2 * sizeof (float), &error));
  g_assert_cmpfloat (f[0], ==, 3.0f);
  g_assert_cmpfloat (f[1], ==, -2.0f);
  int64_t got_i;
  g_assert_true (ts_safetensors_read (st, ts_safetensors_lookup (st, "i"), TS_DTYPE_I64, &got_i,
                                      sizeof got_i, &error));
  g_assert_cmpint (got_i, ==, 12345);
  g_assert_no_error (error);

  g_assert_false (ts_safetensors_read (st, ts_safetensors_lookup (st, "i"), TS_DTYPE_F32, f,
                                       sizeof (float), &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (ts_safetensors_read (st, ts_safetensors_lookup (st, "h"), TS_DTYPE_F32, f,
                                       sizeof f, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (ts_safetensors_read (st, ts_safetensors_lookup (st, "s"), TS_DTYPE_F32, f,
                                       sizeof (float), &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "I16"));
}

static TsSafetensors *
make_weights_file (const char *path)
{
  g_autoptr (TsSafetensorsWriter) w = ts_safetensors_writer_new ();
  g_autoptr (GError) error = NULL;
  float a[12];
  for (int i = 0; i < 12; i++)
    a[i] = (float) i - 5.5f;
  uint16_t h[4] = { 0x3c00, 0x4000, 0x4200, 0x4400 }; /* 1 2 3 4 */
  float scalar = 3;
  const int64_t s34[] = { 3, 4 }, s4[] = { 4 }, s5d[] = { 1, 1, 1, 1, 1 };
  g_assert_true (ts_safetensors_writer_add (w, "a", TS_DTYPE_F32, 2, s34, a, &error));
  g_assert_true (ts_safetensors_writer_add (w, "h", TS_DTYPE_F16, 1, s4, h, &error));
  g_assert_true (ts_safetensors_writer_add (w, "scalar", TS_DTYPE_F32, 0, NULL, &scalar, &error));
  g_assert_true (ts_safetensors_writer_add (w, "five", TS_DTYPE_F32, 5, s5d, &scalar, &error));
  g_assert_true (ts_safetensors_writer_write (w, path, &error));
  g_assert_no_error (error);
  TsSafetensors *st = ts_safetensors_open (path, &error);
  g_assert_no_error (error);
  return st;
}

/* A backend that can wrap host memory gets tensors pointing into the mapping, which stays
 * alive (after the TsSafetensors is gone) until the last tensor dies. */
static void
test_load_zero_copy (void)
{
  g_autofree char *path = temp_path ("zc.safetensors");
  TsSafetensors *st = make_weights_file (path);
  TsBackend *be = fake_backend_new (TRUE);
  FakeBackendStats *stats = fake_backend_stats (be);
  g_autoptr (GError) error = NULL;

  const TsSafetensorsTensor *info = ts_safetensors_lookup (st, "a");
  TsTensor *a = ts_safetensors_load (st, info, be, TS_DTYPE_COUNT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (stats->n_wrapped, ==, 1);
  g_assert_cmpint (stats->n_new, ==, 0);
  g_assert_true (fake_backend_data (a) == ts_safetensors_data (st, info));
  g_assert_cmpint (a->ndim, ==, 2);
  g_assert_cmpint (a->shape[0], ==, 3);
  g_assert_cmpint (a->shape[1], ==, 4);
  g_assert_true (ts_tensor_is_contiguous (a));

  /* converting means copying */
  TsTensor *h = ts_safetensors_load (st, ts_safetensors_lookup (st, "h"), be, TS_DTYPE_F32,
                                     &error);
  g_assert_no_error (error);
  g_assert_cmpint (stats->n_new, ==, 1);
  g_autofree float *hv = ts_tensor_read_f32 (h, &error);
  g_assert_cmpfloat (hv[3], ==, 4.0f);

  /* scalars load as [1]; more than 4 dimensions cannot be loaded */
  TsTensor *sc = ts_safetensors_load (st, ts_safetensors_lookup (st, "scalar"), be,
                                      TS_DTYPE_COUNT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sc->ndim, ==, 1);
  g_assert_cmpint (sc->shape[0], ==, 1);
  g_assert_null (ts_safetensors_load (st, ts_safetensors_lookup (st, "five"), be,
                                      TS_DTYPE_COUNT, &error));
  g_assert_error (error, TS_ERROR, TS_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "five"));
  g_clear_error (&error);

  ts_safetensors_unref (st);
  remove_temp (path); /* the mapping outlives the name */
  g_autofree float *av = ts_tensor_read_f32 (a, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat (av[i], ==, (float) i - 5.5f);
  ts_tensor_unref (a);
  ts_tensor_unref (h);
  ts_tensor_unref (sc);
  g_assert_cmpint (stats->n_released, ==, 2);
  g_assert_cmpint (stats->n_live, ==, 0);
  ts_backend_free (be);
}

/* A backend without storage_wrap gets copies. */
static void
test_load_copy (void)
{
  g_autofree char *path = temp_path ("copy.safetensors");
  g_autoptr (TsSafetensors) st = make_weights_file (path);
  TsBackend *be = fake_backend_new (FALSE);
  FakeBackendStats *stats = fake_backend_stats (be);
  g_autoptr (GError) error = NULL;
  TsTensor *a = ts_safetensors_load (st, ts_safetensors_lookup (st, "a"), be, TS_DTYPE_COUNT,
                                     &error);
  g_assert_no_error (error);
  g_assert_cmpint (stats->n_wrapped, ==, 0);
  g_assert_cmpint (stats->n_new, ==, 1);
  g_assert_true (fake_backend_data (a) != ts_safetensors_data (st, ts_safetensors_lookup (st, "a")));
  g_autofree float *av = ts_tensor_read_f32 (a, &error);
  g_assert_cmpfloat (av[11], ==, 5.5f);
  TsTensor *h = ts_safetensors_load (st, ts_safetensors_lookup (st, "h"), be, TS_DTYPE_BF16,
                                     &error);
  g_assert_no_error (error);
  g_assert_cmpint (h->dtype, ==, TS_DTYPE_BF16);
  g_autofree float *hv = ts_tensor_read_f32 (h, &error);
  g_assert_cmpfloat (hv[1], ==, 2.0f);
  ts_tensor_unref (a);
  ts_tensor_unref (h);
  g_assert_cmpint (stats->n_live, ==, 0);
  ts_backend_free (be);
  remove_temp (path);
}

/* The real CPU backend, when this build has it: loads are zero-copy and read back exactly. */
static void
test_load_cpu (void)
{
  g_autoptr (GError) error = NULL;
  TsBackend *be = ts_backend_new_cpu (1, &error);
  if (!be) {
    g_test_skip_printf ("no CPU backend: %s", error->message);
    return;
  }
  g_autofree char *path = temp_path ("cpu.safetensors");
  TsSafetensors *st = make_weights_file (path);
  TsTensor *a = ts_safetensors_load (st, ts_safetensors_lookup (st, "a"), be, TS_DTYPE_COUNT,
                                     &error);
  g_assert_no_error (error);
  ts_safetensors_unref (st);
  remove_temp (path);
  TsTensor *b = ts_scale (be, a, 2.0f, 1.0f);
  g_assert_nonnull (b);
  g_autofree float *bv = ts_tensor_read_f32 (b, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 12; i++)
    g_assert_cmpfloat (bv[i], ==, 2.0f * ((float) i - 5.5f) + 1.0f);
  ts_tensor_unref (b);
  ts_tensor_unref (a);
  ts_backend_free (be);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/safetensors/roundtrip", test_roundtrip);
  g_test_add_func ("/safetensors/file-and-fill", test_file_and_fill);
  g_test_add_func ("/safetensors/writer-errors", test_writer_errors);
  g_test_add_func ("/safetensors/read-convert", test_read_convert);
  g_test_add_func ("/safetensors/load-zero-copy", test_load_zero_copy);
  g_test_add_func ("/safetensors/load-copy", test_load_copy);
  g_test_add_func ("/safetensors/load-cpu", test_load_cpu);
  return g_test_run ();
}
