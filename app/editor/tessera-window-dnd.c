/* tessera-window-dnd.c — dropping pictures (files, or image data from a browser) anywhere on
 * the window. Onto the blank canvas they open; onto a picture the user chooses: Open it instead,
 * Place it over the picture (centred, scaled to fit, and masked so Inpaint can blend it in),
 * or Restyle it. */
#include "tessera-window-private.h"

#include <glib/gi18n.h>
#include <string.h>

#include "tessera-image-decode.h"
#include "tessera-image-io.h"

/* Image data (a browser drag) arrives as the encoded picture's bytes, which Tessera's own
 * decoder reads in a worker, within its limits. GTK's texture deserializer would decode it on
 * the main thread without them: a 176-byte JPEG kept libjpeg busy for minutes
 * (docs/reliability.md). */
static const char *const image_mime_types[] = { "image/png", "image/jpeg", "image/webp" };

/* Reads at most one chunk past the decoder's byte limit, so that the decoder refuses the
 * picture with its size in the message rather than the drop failing without a word. */
#define DROP_CHUNK ((gsize) 65536)

typedef struct {
  GByteArray *buf;
} DropRead;

static void
drop_read_free (gpointer data)
{
  DropRead *r = data;
  g_clear_pointer (&r->buf, g_byte_array_unref);
  g_free (r);
}

static void read_next_chunk (GdkContentDeserializer *deserializer);

static void
on_chunk_read (GObject *stream, GAsyncResult *result, gpointer data)
{
  GdkContentDeserializer *deserializer = data;
  GError *error = NULL;
  g_autoptr (GBytes) chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (stream), result,
                                                               &error);
  if (!chunk) {
    gdk_content_deserializer_return_error (deserializer, error);
    return;
  }
  DropRead *r = gdk_content_deserializer_get_task_data (deserializer);
  gsize n = g_bytes_get_size (chunk);
  if (n > 0 && r->buf->len <= TESSERA_IMAGE_MAX_BYTES) {
    g_byte_array_append (r->buf, g_bytes_get_data (chunk, NULL), (guint) n);
    read_next_chunk (deserializer);
    return;
  }
  g_value_take_boxed (gdk_content_deserializer_get_value (deserializer),
                      g_byte_array_free_to_bytes (g_steal_pointer (&r->buf)));
  gdk_content_deserializer_return_success (deserializer);
}

static void
read_next_chunk (GdkContentDeserializer *deserializer)
{
  g_input_stream_read_bytes_async (gdk_content_deserializer_get_input_stream (deserializer),
                                   DROP_CHUNK,
                                   gdk_content_deserializer_get_priority (deserializer),
                                   gdk_content_deserializer_get_cancellable (deserializer),
                                   on_chunk_read, deserializer);
}

static void
deserialize_image_bytes (GdkContentDeserializer *deserializer)
{
  DropRead *r = g_new0 (DropRead, 1);
  r->buf = g_byte_array_new ();
  gdk_content_deserializer_set_task_data (deserializer, r, drop_read_free);
  read_next_chunk (deserializer);
}

static void
register_image_bytes_deserializers (void)
{
  static gsize done;
  if (!g_once_init_enter (&done))
    return;
  for (guint i = 0; i < G_N_ELEMENTS (image_mime_types); i++)
    gdk_content_register_deserializer (image_mime_types[i], G_TYPE_BYTES,
                                       deserialize_image_bytes, NULL, NULL);
  g_once_init_leave (&done, 1);
}

/* Whether there is a picture worth asking about: anything beyond the first blank canvas. */
static gboolean
has_picture (TesseraWindow *self)
{
  return g_list_model_get_n_items (G_LIST_MODEL (self->history)) > 1
         || tessera_history_entry_get_kind (tessera_history_get_current (self->history))
                != TESSERA_ENTRY_NEW;
}

/* A dropped picture, straight RGBA, with a name for the history. */
typedef struct {
  GBytes *rgba;
  int width, height;
  char *name;
  gboolean restyle;   /* opened to be restyled: the mode follows */
} Dropped;

static void
dropped_free (Dropped *d)
{
  g_bytes_unref (d->rgba);
  g_free (d->name);
  g_free (d);
}

static void
open_dropped_now (TesseraWindow *self, gpointer data)
{
  Dropped *d = data;
  tessera_window_start_document (self, d->rgba, d->width, d->height, d->name);
  if (d->restyle) {
    tessera_window_set_mode (self, TS_MODE_RESTYLE);
    gtk_widget_grab_focus (GTK_WIDGET (self->prompt_entry));
  }
}

/* A dropped picture opened is a new document, as Open Image makes one: after "Save
 * changes?" when the old one has unsaved work. */
static void
open_dropped (TesseraWindow *self, Dropped *d, gboolean restyle)
{
  Dropped *copy = g_new0 (Dropped, 1);
  copy->rgba = g_bytes_ref (d->rgba);
  copy->width = d->width;
  copy->height = d->height;
  copy->name = g_strdup (d->name);
  copy->restyle = restyle;
  tessera_window_replace_document (self, open_dropped_now, copy, (GDestroyNotify) dropped_free);
}

/* Paints the dropped picture, scaled to fit and centred, over the document, and masks where
 * it landed so one Inpaint blends its edges. */
static void
place_dropped (TesseraWindow *self, Dropped *d)
{
  g_autoptr (GError) error = NULL;
  int W = tessera_document_get_width (self->document);
  int H = tessera_document_get_height (self->document);
  double s = MIN (1.0, MIN ((double) W / d->width, (double) H / d->height));
  int pw = MAX (1, (int) (d->width * s)), ph = MAX (1, (int) (d->height * s));
  int ox = (W - pw) / 2, oy = (H - ph) / 2;
  const guint8 *src = g_bytes_get_data (d->rgba, NULL);
  guint8 *layer = g_try_malloc0 ((gsize) W * H * 4);
  guint8 *cover = g_try_malloc0 ((gsize) W * H);
  if (!layer || !cover) {
    g_free (layer);
    g_free (cover);
    tessera_window_toast (self, _("Not enough memory to place the picture"));
    return;
  }
  /* Nearest sampling is enough for placing; the model repaints the seams anyway. */
  for (int y = 0; y < ph; y++)
    for (int x = 0; x < pw; x++) {
      int sx = MIN (d->width - 1, (int) (x / s)), sy = MIN (d->height - 1, (int) (y / s));
      gsize o = (gsize) (oy + y) * W + ox + x;
      memcpy (layer + o * 4, src + ((gsize) sy * d->width + sx) * 4, 4);
      cover[o] = src[((gsize) sy * d->width + sx) * 4 + 3];
    }
  g_autoptr (GBytes) layer_b = g_bytes_new_take (layer, (gsize) W * H * 4);
  g_autoptr (GBytes) cover_b = g_bytes_new_take (cover, (gsize) W * H);
  if (!tessera_document_composite_rgba (self->document, layer_b, cover_b, &error)
      || !tessera_document_set_mask_bytes (self->document, cover_b, &error)) {
    tessera_window_toast (self, error->message);
    return;
  }
  g_autofree char *label = g_strdup_printf (_("Placed %s"), d->name);
  tessera_window_commit (self, TESSERA_ENTRY_OPEN, label,
                         TESSERA_CHANGE_IMAGE | TESSERA_CHANGE_MASK, NULL, NULL);
  tessera_window_set_mode (self, TS_MODE_INPAINT);
}

static void
on_drop_choice (AdwMessageDialog *dialog, const char *response, TesseraWindow *self)
{
  Dropped *d = g_object_get_data (G_OBJECT (dialog), "dropped");
  if (g_str_equal (response, "open")) {
    open_dropped (self, d, FALSE);
  } else if (g_str_equal (response, "place")) {
    place_dropped (self, d);
  } else if (g_str_equal (response, "restyle")) {
    open_dropped (self, d, TRUE);
  }
}

static void
offer_choices (TesseraWindow *self, Dropped *d)
{
  if (!has_picture (self)) {
    open_dropped (self, d, FALSE);
    dropped_free (d);
    return;
  }
  GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Use the Dropped Picture"),
                                              NULL);
  adw_message_dialog_format_body (ADW_MESSAGE_DIALOG (dialog),
                                  _("“%s” can replace the picture, be placed over it, or be "
                                    "restyled with a prompt."), d->name);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _("_Cancel"),
                                    "restyle", _("_Restyle"), "place", _("_Place"), "open",
                                    _("_Open"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "place",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "place");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "dropped", d, (GDestroyNotify) dropped_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_drop_choice), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_file_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (TesseraWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  Dropped *d = g_new0 (Dropped, 1);
  d->rgba = tessera_image_load_finish (result, &d->width, &d->height, &error);
  if (!d->rgba) {
    g_free (d);
    tessera_window_toast (self, error->message);
    return;
  }
  GFile *file = g_object_get_data (G_OBJECT (result), "file");
  d->name = file ? g_file_get_basename (file) : g_strdup (_("dropped picture"));
  offer_choices (self, d);
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, TesseraWindow *self)
{
  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST)) {
    GSList *files = g_value_get_boxed (value);
    if (!files)
      return FALSE;
    GFile *file = files->data;
    g_autofree char *name = g_file_get_basename (file);
    /* A project replaces the document, whatever is on the canvas. */
    if (name && g_str_has_suffix (name, ".ora")) {
      tessera_window_open_file (self, file);
      return TRUE;
    }
    tessera_image_load_async (file, NULL, on_file_loaded, g_object_ref (self));
    return TRUE;
  }
  if (G_VALUE_HOLDS (value, G_TYPE_BYTES) && g_value_get_boxed (value)) {
    tessera_image_decode_async (g_value_get_boxed (value), NULL, on_file_loaded,
                                g_object_ref (self));
    return TRUE;
  }
  tessera_window_toast (self, _("That doesn’t look like an image"));
  return FALSE;
}

void
tessera_window_dnd_init (TesseraWindow *self)
{
  register_image_bytes_deserializers ();
  GtkDropTarget *drop = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (drop, (GType[]) { GDK_TYPE_FILE_LIST, G_TYPE_BYTES }, 2);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  /* The whole window, not only the canvas: a picture dropped on the history, the request bar
   * or the header bar is just as clearly meant for the document. */
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));
}
