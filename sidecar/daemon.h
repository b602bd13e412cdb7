/*
 * daemon.h - the server's life: build the app, listen, serve, handle signals, shut down.
 */
#ifndef GH_DAEMON_H
#define GH_DAEMON_H

#include "config.h"

/* A hook run on SIGHUP (e.g. policy reload), on the signal-handling thread. */
typedef void (*gh_reload_fn)(void *ctx);

/* A hook run once the server listens, on the main thread before it waits for signals: port is
 * the bound port (the one GATEHOUSE_LISTEN asked for, or the free one port 0 got). Signals are
 * blocked in that thread, so threads it starts inherit the mask. `gatehouse demo` uses it. */
typedef void (*gh_listening_fn)(void *ctx, int port);

/* Run until SIGTERM/SIGINT; returns the process exit status (0 on a clean stop, 1 when the
 * daemon could not start). cfg is borrowed for the whole run. */
int gh_daemon_run(const struct gh_config *cfg);
/* Register a SIGHUP hook (start-up only, at most 8). */
void gh_daemon_on_reload(gh_reload_fn fn, void *ctx);
/* Register the listening hook (start-up only, one; NULL removes it). */
void gh_daemon_on_listening(gh_listening_fn fn, void *ctx);

#endif
