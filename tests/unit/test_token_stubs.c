/*
 * test_token_stubs.c - TEMPORARY weak stand-ins for sidecar/metrics.c until the foundation lands
 * on main; a real definition in libgatehouse.a wins over these. Delete after `git merge main`.
 */
#include "sidecar/metrics.h"

__attribute__((weak)) void gh_metrics_family(struct gh_buf *out, const char *name, const char *type,
                                             const char *help)
{
    gh_buf_printf(out, NULL, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

__attribute__((weak)) void gh_metrics_sample(struct gh_buf *out, const char *name,
                                             const char *labels, double value)
{
    gh_buf_printf(out, NULL, "%s%s%s%s %g\n", name, labels[0] ? "{" : "", labels,
                  labels[0] ? "}" : "", value);
}
