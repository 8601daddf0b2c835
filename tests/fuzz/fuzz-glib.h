/* fuzz-glib.h — makes every GLib critical (ours or a library's: GdkPixbuf, json-glib) a crash
 * libFuzzer records: a critical is a failed precondition, a function called with arguments
 * it refuses, which hostile input must never cause. Warnings stay messages: loaders use them
 * to report damaged files (the WebP loader for a broken animation). GLib's own fatal path
 * raises SIGTRAP, which libFuzzer does not catch, so this aborts instead. */
#pragma once

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

static inline void
fuzz_glib_abort (const char *domain, const char *message)
{
  fprintf (stderr, "%s-CRITICAL: %s\n", domain ? domain : "GLib", message);
  abort ();
}

static inline void
fuzz_glib_handler (const char *domain, GLogLevelFlags level, const char *message,
                   gpointer data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    fuzz_glib_abort (domain, message);
  g_log_default_handler (domain, level, message, data);
}

static inline GLogWriterOutput
fuzz_glib_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
    const char *domain = NULL, *message = "";
    for (gsize i = 0; i < n_fields; i++) {
      if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = fields[i].value;
      else if (g_str_equal (fields[i].key, "MESSAGE"))
        message = fields[i].value;
    }
    fuzz_glib_abort (domain, message);
  }
  return g_log_writer_default (level, fields, n_fields, data);
}

/* Once, before the first input. */
static inline void
fuzz_glib_make_criticals_fatal (void)
{
  static gsize once;
  if (g_once_init_enter (&once)) {
    g_log_set_default_handler (fuzz_glib_handler, NULL);
    g_log_set_writer_func (fuzz_glib_writer, NULL, NULL);
    g_once_init_leave (&once, 1);
  }
}
