/*
 * schema_int.h - the store's DDL migrations (private to scim/).
 */
#ifndef SCIM_SCHEMA_INT_H
#define SCIM_SCHEMA_INT_H

#include <stddef.h>

/* Migration i (0-based) brings the schema from user_version i to i+1. Each is one SQL script run
 * in one transaction together with the user_version bump. */
extern const char *const scim_schema_migrations[];
extern const size_t scim_schema_migration_count;

#endif
