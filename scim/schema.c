/*
 * schema.c - DDL of the identity store, as an append-only list of migrations tracked by
 * PRAGMA user_version. Never edit a migration that has shipped: add the next one.
 * Tables are STRICT (SQLite >= 3.37).
 *
 * Layout (issue 3): a resource is one row holding the body as the client sent it (normalised
 * by resource.c) plus indexed copies of the attributes that are looked up: userName (unique,
 * case-insensitive), externalId (indexed, not unique: Entra maps mailNickname to it), group
 * displayName (unique, case-insensitive). Membership is one row per (group, member) in a
 * WITHOUT ROWID table clustered on the group, with an index on the member for "groups of a
 * user": adding one member to a 100,000-member group writes one small row.
 */
#include "scim/schema_int.h"

const char *const scim_schema_migrations[] = {
    /* 1: bookkeeping, users, groups, membership */
    "CREATE TABLE gh_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
    "INSERT INTO gh_meta(key, value) VALUES ('created', strftime('%Y-%m-%dT%H:%M:%fZ','now'));"
    "CREATE TABLE users ("
    "  id TEXT PRIMARY KEY,"
    "  user_name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    "  external_id TEXT,"
    "  display_name TEXT,"
    "  active INTEGER NOT NULL DEFAULT 1,"
    "  version INTEGER NOT NULL,"
    "  created TEXT NOT NULL,"
    "  modified TEXT NOT NULL,"
    "  body TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX users_external_id ON users(external_id);"
    "CREATE TABLE groups ("
    "  id TEXT PRIMARY KEY,"
    "  display_name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
    "  external_id TEXT,"
    "  version INTEGER NOT NULL,"
    "  created TEXT NOT NULL,"
    "  modified TEXT NOT NULL,"
    "  body TEXT NOT NULL"
    ") STRICT;"
    "CREATE INDEX groups_external_id ON groups(external_id);"
    /* member_type: 0 user, 1 group. No foreign key on member_id (it names a user or a group);
     * store.c checks it on insert and deletes a resource's rows with the resource. */
    "CREATE TABLE members ("
    "  group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
    "  member_id TEXT NOT NULL,"
    "  member_type INTEGER NOT NULL,"
    "  PRIMARY KEY (group_id, member_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX members_member ON members(member_id);",
};

const size_t scim_schema_migration_count =
    sizeof(scim_schema_migrations) / sizeof(scim_schema_migrations[0]);
