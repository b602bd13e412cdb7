/*
 * gatehouse.h - the sidecar's front header: the daemon's wiring (config, route table, ops
 * endpoints, the app it builds) over the ground floor, for main.c and the tests. Modules below
 * the sidecar include core/core.h and their own front headers, never this.
 */
#ifndef GH_GATEHOUSE_H
#define GH_GATEHOUSE_H

#include "app.h"
#include "config.h"
#include "console.h"
#include "core/core.h"
#include "health.h"
#include "page.h"
#include "router.h"

#endif
