/* tessera-preferences.h — the preferences window: device, precision on the processor (for
 * every network and per network), model folder and request defaults, every row bound to
 * GSettings. */
#pragma once

#include <adwaita.h>

#include "pipeline/ts-pipeline.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_PREFERENCES (tessera_preferences_get_type ())
G_DECLARE_FINAL_TYPE (TesseraPreferences, tessera_preferences, TESSERA, PREFERENCES,
                      AdwPreferencesWindow)

TesseraPreferences *tessera_preferences_new (GtkWindow *parent, GSettings *settings);

/* Uses the folder as the model if it holds a complete aMUSEd model; otherwise keeps the
 * current one, shows why and returns FALSE with the reason. */
gboolean tessera_preferences_set_model_folder (TesseraPreferences *self, GFile *folder,
                                               GError **error);

/* The CPU backend's precision per network from the settings: a network's own key
 * (cpu-precision-text-encoder, -transformer, -vq) unless it is "default", then cpu-precision's,
 * the one choice for every network. */
void tessera_preferences_read_precision (GSettings *settings, TsPipelineLoadOptions *options);

/* Whether dir looks like a complete diffusers-layout aMUSEd model folder. */
gboolean tessera_model_folder_check (const char *dir, GError **error);

G_END_DECLS
