/* ts-fault.c — the TESSERA_FAULT plan (see ts-fault.h). */
#include "ts-fault.h"

#include <stdio.h>
#include <string.h>

typedef struct {
  guint64  at;    /* 0: this kind never fails */
  gboolean onward;
} FaultRule;

static const char *const kind_names[TS_FAULT_N_KINDS] = { "alloc", "vk-alloc", "device-lost",
                                                              "write" };

static FaultRule rules[TS_FAULT_N_KINDS];
static gssize    counts[TS_FAULT_N_KINDS];
static gsize     env_once;
static gboolean  configured; /* by a call: the environment no longer applies */

static gboolean
parse_rule (const char *item, FaultRule *plan, GError **error)
{
  const char *colon = strchr (item, ':');
  for (int k = 0; colon && k < TS_FAULT_N_KINDS; k++) {
    if (strlen (kind_names[k]) != (size_t) (colon - item) ||
        strncmp (item, kind_names[k], colon - item) != 0)
      continue;
    char *end = NULL;
    guint64 n = g_ascii_strtoull (colon + 1, &end, 10);
    gboolean onward = end && *end == '+';
    if (end == colon + 1 || n == 0 || *(end + onward) != '\0')
      break;
    plan[k] = (FaultRule) { n, onward };
    return TRUE;
  }
  g_set_error (error, TS_ERROR, TS_ERROR_INVALID_ARGUMENT,
               "TESSERA_FAULT: \"%s\" is not kind:N or kind:N+ with N ≥ 1 and kind one of "
               "alloc, vk-alloc, device-lost, write", item);
  return FALSE;
}

gboolean
ts_fault_configure (const char *spec, GError **error)
{
  FaultRule plan[TS_FAULT_N_KINDS] = { { 0 } };
  gboolean ok = TRUE;
  if (spec && *spec) {
    g_auto (GStrv) items = g_strsplit (spec, ",", -1);
    for (int i = 0; ok && items[i]; i++)
      ok = parse_rule (g_strstrip (items[i]), plan, error);
  }
  if (!ok)
    memset (plan, 0, sizeof plan);
  memcpy (rules, plan, sizeof rules);
  for (int k = 0; k < TS_FAULT_N_KINDS; k++)
    counts[k] = 0;
  configured = TRUE;
  return ok;
}

gboolean
ts_fault_hit (TsFaultKind kind)
{
  if (g_once_init_enter (&env_once)) {
    GError *err = NULL;
    if (!configured && !ts_fault_configure (g_getenv ("TESSERA_FAULT"), &err)) {
      fprintf (stderr, "Tessera: %s; no faults injected\n", err->message);
      g_error_free (err);
    }
    g_once_init_leave (&env_once, 1);
  }
  const FaultRule *r = &rules[kind];
  if (r->at == 0)
    return FALSE;
  guint64 n = (guint64) g_atomic_pointer_add (&counts[kind], 1) + 1;
  return r->onward ? n >= r->at : n == r->at;
}
