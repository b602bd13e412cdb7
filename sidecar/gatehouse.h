/*
 * gatehouse.h - the sidecar's front header: what every other module may use of it.
 */
#ifndef GH_GATEHOUSE_H
#define GH_GATEHOUSE_H

#include "app.h"
#include "arena.h"
#include "authfail.h"
#include "buf.h"
#include "caps.h"
#include "config.h"
#include "err.h"
#include "health.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "router.h"

#define GH_VERSION "0.1.0"

#endif
