/*
 * daemon.h - the server's life: build the app, listen, serve, handle signals, shut down.
 */
#ifndef GH_DAEMON_H
#define GH_DAEMON_H

#include "config.h"

/* A hook run on SIGHUP (e.g. policy reload), on the signal-handling thread. */
typedef void (*gh_reload_fn)(void *ctx);

/* Run until SIGTERM/SIGINT; returns the process exit status (0 on a clean stop, 1 when the
 * daemon could not start). cfg is borrowed for the whole run. */
int gh_daemon_run(const struct gh_config *cfg);
/* Register a SIGHUP hook (start-up only, at most 8). */
void gh_daemon_on_reload(gh_reload_fn fn, void *ctx);

#endif
