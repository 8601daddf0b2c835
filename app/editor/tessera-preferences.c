/* tessera-preferences.c — AdwPreferencesWindow bound to the application's GSettings. */
#include "tessera-preferences.h"

#include <glib/gi18n.h>

struct _TesseraPreferences {
  AdwPreferencesWindow parent_instance;

  AdwComboRow *device_row;
  AdwComboRow *precision_row;
  AdwExpanderRow *networks_row;
  AdwComboRow *text_encoder_row;
  AdwComboRow *transformer_row;
  AdwComboRow *vq_row;
  AdwActionRow *kernels_row;
  AdwActionRow *model_row;
  GtkAdjustment *steps_adjustment;
  GtkAdjustment *guidance_adjustment;
  GtkAdjustment *variants_adjustment;

  GSettings *settings;
};

G_DEFINE_FINAL_TYPE (TesseraPreferences, tessera_preferences, ADW_TYPE_PREFERENCES_WINDOW)

/* Same order as the combo rows' strings. */
static const char *const devices[] = { "auto", "cpu", "vulkan", NULL };
static const char *const precisions[] = { "f32", "bf16", "int8", NULL };
/* A network's own precision: "default" follows cpu-precision. */
static const char *const network_precisions[] = { "default", "f32", "bf16", "int8", NULL };

static TsPrecision
precision_setting (GSettings *settings, const char *key, TsPrecision fallback)
{
  g_autofree char *id = g_settings_get_string (settings, key);
  TsPrecision precision;
  return ts_precision_from_string (id, &precision) ? precision : fallback;
}

void
tessera_preferences_read_precision (GSettings *settings, TsPipelineLoadOptions *options)
{
  TsPrecision all = precision_setting (settings, "cpu-precision", TS_PRECISION_F32);
  *options = (TsPipelineLoadOptions) {
    .text_encoder = precision_setting (settings, "cpu-precision-text-encoder", all),
    .transformer = precision_setting (settings, "cpu-precision-transformer", all),
    .vq = precision_setting (settings, "cpu-precision-vq", all),
  };
}

static const char *
precision_label (TsPrecision precision)
{
  /* Translators: the precision "f32" in a list of the networks' precisions */
  return precision == TS_PRECISION_F32 ? _("exact") : ts_precision_name (precision);
}

/* The expander row says what each network computes at, whatever its own row shows. */
static void
show_precisions (TesseraPreferences *self)
{
  TsPipelineLoadOptions o;
  tessera_preferences_read_precision (self->settings, &o);
  /* Translators: each %s is a precision: "exact", "bf16" or "int8" */
  g_autofree char *summary =
      g_strdup_printf (_("Text encoder %s, transformer %s, image decoder %s"),
                       precision_label (o.text_encoder), precision_label (o.transformer),
                       precision_label (o.vq));
  adw_expander_row_set_subtitle (self->networks_row, summary);
}

/* Which kernels bf16 and int8 products use on this processor (`tessera-cli info` prints the
 * same), and what it means when the processor has no instructions for them. */
static void
show_kernels (TesseraPreferences *self)
{
  gboolean bf16_native, int8_native;
  const char *bf16 = ts_backend_cpu_kernels (TS_PRECISION_BF16, &bf16_native);
  const char *int8 = ts_backend_cpu_kernels (TS_PRECISION_INT8, &int8_native);
  g_autoptr (GString) s = g_string_new (NULL);
  /* Translators: %s is a kernel's technical name, e.g. "avx512-bf16 (bf16 x bf16 dot products,
   * f32 sums)" */
  g_string_append_printf (s, _("bfloat16: %s"), bf16);
  g_string_append_c (s, '\n');
  /* Translators: %s is a kernel's technical name, e.g. "avx512-vnni (int8 x int8 blocks of 128,
   * f32 sums)" */
  g_string_append_printf (s, _("8-bit integers: %s"), int8);
  if (!bf16_native || !int8_native) {
    g_string_append_c (s, '\n');
    g_string_append (s, _("Portable kernels widen the weights to f32: no faster than exact "
                          "(int8 still uses less memory)"));
  }
  g_autofree char *escaped = g_markup_escape_text (s->str, -1);
  adw_action_row_set_subtitle (self->kernels_row, escaped);
}

gboolean
tessera_model_folder_check (const char *dir, GError **error)
{
  /* What the pipeline opens: the index and one folder per network, plus the tokenizer. */
  static const char *const parts[] = { "model_index.json", "transformer", "vqvae",
                                       "text_encoder", "tokenizer", "scheduler" };
  g_autofree char *name = g_filename_display_name (dir);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, _("“%s” is not a folder"), name);
    return FALSE;
  }
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++) {
    g_autofree char *path = g_build_filename (dir, parts[i], NULL);
    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("“%s” is not a complete aMUSEd model: “%s” is missing. Download the whole "
                     "model folder, with all its subfolders."), name, parts[i]);
      return FALSE;
    }
  }
  return TRUE;
}

static void
show_model_path (TesseraPreferences *self)
{
  g_autofree char *path = g_settings_get_string (self->settings, "model-path");
  g_autofree char *shown = *path ? g_filename_display_name (path)
                                 : g_strdup (_("The model that comes with Tessera"));
  adw_action_row_set_subtitle (self->model_row, shown);
}

gboolean
tessera_preferences_set_model_folder (TesseraPreferences *self, GFile *folder, GError **error)
{
  g_autofree char *path = g_file_get_path (folder);
  GError *local = NULL;
  if (!path) {
    g_set_error_literal (&local, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                         _("The model folder must be on this computer"));
  } else if (tessera_model_folder_check (path, &local)) {
    g_settings_set_string (self->settings, "model-path", path);
    return TRUE;
  }
  AdwToast *toast = adw_toast_new (local->message);
  adw_toast_set_timeout (toast, 0);   /* long message: stays until dismissed */
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), toast);
  g_propagate_error (error, local);
  return FALSE;
}

static void
on_folder_response (GtkNativeDialog *dialog, int response, TesseraPreferences *self)
{
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
    tessera_preferences_set_model_folder (self, folder, NULL);
  }
  g_object_unref (dialog);
}

static void
on_choose_model (GtkButton *button, TesseraPreferences *self)
{
  GtkFileChooserNative *d = gtk_file_chooser_native_new (_("Choose a Model Folder"),
                                                         GTK_WINDOW (self),
                                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                                         _("_Select"), _("_Cancel"));
  g_signal_connect (d, "response", G_CALLBACK (on_folder_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (d));
}

static void
on_reset_model (GtkButton *button, TesseraPreferences *self)
{
  g_settings_reset (self->settings, "model-path");
}

/* A string setting ↔ a combo row's index; data: the NULL-terminated list of the ids. */
static gboolean
choice_get (GValue *value, GVariant *variant, gpointer data)
{
  const char *const *ids = data;
  const char *id = g_variant_get_string (variant, NULL);
  for (guint i = 0; ids[i]; i++)
    if (g_str_equal (id, ids[i])) {
      g_value_set_uint (value, i);
      return TRUE;
    }
  return FALSE;
}

static GVariant *
choice_set (const GValue *value, const GVariantType *type, gpointer data)
{
  const char *const *ids = data;
  guint i = g_value_get_uint (value);
  return i < g_strv_length ((char **) ids) ? g_variant_new_string (ids[i]) : NULL;
}

static void
tessera_preferences_dispose (GObject *object)
{
  TesseraPreferences *self = TESSERA_PREFERENCES (object);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), TESSERA_TYPE_PREFERENCES);
  G_OBJECT_CLASS (tessera_preferences_parent_class)->dispose (object);
}

static void
tessera_preferences_class_init (TesseraPreferencesClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  G_OBJECT_CLASS (klass)->dispose = tessera_preferences_dispose;
  gtk_widget_class_set_template_from_resource (
      widget_class, "/io/github/tessera/Tessera/tessera-preferences.ui");
  gtk_widget_class_bind_template_child (widget_class, TesseraPreferences, device_row);
  gtk_widget_class_bind_template_child (widget_class, TesseraPreferences, precision_row);
  gtk_widget_class_bind_template_child (widget_class, TesseraPreferences, networks_row);
  gtk_widget_class_bind_template_child (widget_class, TesseraPreferences, text_encoder_row);
  gtk_widget_class_bind_template_child (widget_class, TesseraPreferences, transformer_row);
  gtk_widget_class_bind_template_child (widget_class, TesseraPreferences, vq_row);
  gtk_widget_class_bind_template_child (widget_class, TesseraPreferences, kernels_row);
  gtk_widget_class_bind_template_child (widget_class, TesseraPreferences, model_row);
  gtk_widget_class_bind_template_child (widget_class, TesseraPreferences, steps_adjustment);
  gtk_widget_class_bind_template_child (widget_class, TesseraPreferences, guidance_adjustment);
  gtk_widget_class_bind_template_child (widget_class, TesseraPreferences, variants_adjustment);
  gtk_widget_class_bind_template_callback (widget_class, on_choose_model);
  gtk_widget_class_bind_template_callback (widget_class, on_reset_model);
}

static void
tessera_preferences_init (TesseraPreferences *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

TesseraPreferences *
tessera_preferences_new (GtkWindow *parent, GSettings *settings)
{
  TesseraPreferences *self = g_object_new (TESSERA_TYPE_PREFERENCES, "transient-for", parent,
                                           NULL);
  self->settings = g_object_ref (settings);
  g_settings_bind_with_mapping (settings, "device", self->device_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, choice_get, choice_set,
                                (gpointer) devices, NULL);
  g_settings_bind_with_mapping (settings, "cpu-precision", self->precision_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, choice_get, choice_set,
                                (gpointer) precisions, NULL);
  const struct { const char *key; AdwComboRow *row; } networks[] = {
    { "cpu-precision-text-encoder", self->text_encoder_row },
    { "cpu-precision-transformer", self->transformer_row },
    { "cpu-precision-vq", self->vq_row },
  };
  for (guint i = 0; i < G_N_ELEMENTS (networks); i++) {
    g_settings_bind_with_mapping (settings, networks[i].key, networks[i].row, "selected",
                                  G_SETTINGS_BIND_DEFAULT, choice_get, choice_set,
                                  (gpointer) network_precisions, NULL);
    g_autofree char *signal = g_strconcat ("changed::", networks[i].key, NULL);
    g_signal_connect_object (settings, signal, G_CALLBACK (show_precisions), self,
                             G_CONNECT_SWAPPED);
  }
  g_signal_connect_object (settings, "changed::cpu-precision", G_CALLBACK (show_precisions),
                           self, G_CONNECT_SWAPPED);
  show_precisions (self);
  show_kernels (self);
  g_settings_bind (settings, "steps", self->steps_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "guidance", self->guidance_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "variants", self->variants_adjustment, "value",
                   G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_object (settings, "changed::model-path", G_CALLBACK (show_model_path), self,
                           G_CONNECT_SWAPPED);
  show_model_path (self);
  return self;
}
