/*
 * store.h - the identity store (SQLite). store.c is the only file in the tree with SQL.
 *
 * Opened once at start-up; thread-safe. Every write is one transaction committed with
 * synchronous=FULL in WAL mode, so a write that was acknowledged survives a crash or power loss.
 */
#ifndef SCIM_STORE_H
#define SCIM_STORE_H

#include "sidecar/err.h"

#include <stdbool.h>

struct scim_store;

/* ---- lifecycle ---- */
/* Open (creating if needed) the database at path and migrate it to the current schema.
 * Caller frees with scim_store_close. */
enum gh_status scim_store_open(const char *path, struct scim_store **out_store, struct gh_err *err);
void scim_store_close(struct scim_store *s); /* NULL is a no-op */
int scim_store_schema_version(struct scim_store *s);
/* Readiness probe for /readyz (ctx is the store). */
bool scim_store_ready(void *ctx, const char **out_reason);

#endif
