/*
 * schema.c - DDL of the identity store, as an append-only list of migrations tracked by
 * PRAGMA user_version. Never edit a migration that has shipped: add the next one.
 * Tables are STRICT (SQLite >= 3.37).
 */
#include "scim/schema_int.h"

const char *const scim_schema_migrations[] = {
    /* 1: bookkeeping; the resources arrive with the SCIM issue. */
    "CREATE TABLE gh_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
    "INSERT INTO gh_meta(key, value) VALUES ('created', strftime('%Y-%m-%dT%H:%M:%fZ','now'));",
};

const size_t scim_schema_migration_count =
    sizeof(scim_schema_migrations) / sizeof(scim_schema_migrations[0]);
