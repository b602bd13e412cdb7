/*
 * core.h - the ground floor's front header: what every module may use of core/.
 *
 * core/ includes nothing above it: errors, logging, memory, arenas and capped buffers, JSON
 * writing, the HTTP server with its route matching, the metrics registry and the failed-
 * authentication table. The daemon's wiring (config, route table, app) lives in sidecar/.
 */
#ifndef GH_CORE_H
#define GH_CORE_H

#include "arena.h"
#include "authfail.h"
#include "buf.h"
#include "caps.h"
#include "err.h"
#include "http.h"
#include "json.h"
#include "list.h"
#include "log.h"
#include "logbuf.h"
#include "mem.h"
#include "metrics.h"
#include "route.h"
#include "secret.h"

#define GH_VERSION "0.1.0"

#endif
