/* tessera-application.h — the application: settings, the model engine, app-wide actions. */
#pragma once

#include <adwaita.h>

#include "tessera-engine.h"

G_BEGIN_DECLS

#define TESSERA_APP_ID "io.github.tessera.Tessera"

#define TESSERA_TYPE_APPLICATION (tessera_application_get_type ())
G_DECLARE_FINAL_TYPE (TesseraApplication, tessera_application, TESSERA, APPLICATION,
                      AdwApplication)

TesseraApplication *tessera_application_new (void);
GSettings          *tessera_application_get_settings (TesseraApplication *self);
TesseraEngine      *tessera_application_get_engine (TesseraApplication *self);
/* The model folder asked for: TESSERA_MODEL_DIR, else the model-path setting; NULL when
 * neither is set, for the model that ships with Tessera (see tessera_engine_load). */
char               *tessera_application_dup_model_path (TesseraApplication *self);

G_END_DECLS
