/*
 * http_int.h - what daemon.c needs of the HTTP layer (private to sidecar/).
 */
#ifndef GH_HTTP_INT_H
#define GH_HTTP_INT_H

#include "app.h"
#include "config.h"
#include "err.h"

#include <stdbool.h>

struct gh_server;

/* Start listening per cfg (TLS when cert/key are set). app is borrowed until gh_server_stop. */
enum gh_status gh_server_start(const struct gh_config *cfg, struct gh_app *app,
                               struct gh_server **out_srv, struct gh_err *err);
int gh_server_port(const struct gh_server *srv);
/* Stop accepting new connections (close the listen socket). */
void gh_server_quiesce(struct gh_server *srv);
/* Requests currently being handled. */
long gh_server_inflight(const struct gh_server *srv);
/* Stop all threads and close every connection; frees srv. */
void gh_server_stop(struct gh_server *srv);

#endif
