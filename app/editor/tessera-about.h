/* tessera-about.h — the About window: version, licence, developers, and one legal section
 * per training-data source of the loaded model (its data_sources.json). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* model_dir: the loaded model's folder, NULL when none is loaded. */
GtkWidget *tessera_about_window_new (GtkWindow *parent, const char *model_dir);

G_END_DECLS
