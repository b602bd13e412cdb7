/*
 * sqlite_schema.c - DDL of the identity store's SQLite backend, as an append-only list of
 * migrations tracked by PRAGMA user_version. Never edit a migration that has shipped: add the
 * next one.
 * Tables are STRICT (SQLite >= 3.37).
 *
 * Layout (issue 3): a resource is one row holding the body as the client sent it (normalised
 * by scim/resource.c) plus indexed copies of the attributes that are looked up: userName (unique,
 * case-insensitive), externalId (indexed, not unique: Entra maps mailNickname to it), group
 * displayName (unique, case-insensitive). Membership is one row per (group, member) in a
 * WITHOUT ROWID table clustered on the group, with an index on the member for "groups of a
 * user": adding one member to a 100,000-member group writes one small row.
 */
#include "store/sqlite_int.h"

const char *const store_sqlite_migrations[] = {
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
     * sqlite_resource.c checks it on insert and deletes a resource's rows with the resource. */
    "CREATE TABLE members ("
    "  group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
    "  member_id TEXT NOT NULL,"
    "  member_type INTEGER NOT NULL,"
    "  PRIMARY KEY (group_id, member_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX members_member ON members(member_id);",

    /* 2: access groups and the links and cut-offs that keep decisions right (issue 5).
     * The link key of a name is lower(trim(name, ASCII whitespace)), the same as
     * store_name_key() (migration 3 replaces the expression with a column). Triggers keep links and
     * cut-offs in the same transaction as the SCIM write that causes them, so an acknowledged write
     * and its effect on decisions cannot part:
     *  - an IdP group created or renamed into an unlinked access group's key, when it is the
     *    only group with that key, is linked; a link is pinned to the group id (renames keep it,
     *    a later group with the old name does not take it over); when the linked group is
     *    deleted the link passes to the only other group with the key, if there is one;
     *  - an access group created is linked at once to the only IdP group with its key;
     *  - removing a user from a linked group (or deleting the group) records a cut-off for
     *    (user, access group); deactivating a user records a cut-off for the user ('' key);
     *    tokens issued up to that second may no longer use what was removed;
     *  - deleting a user leaves tombstones for its userName and externalId, so a user
     *    re-created under the same name does not revive older tokens. */
    "CREATE INDEX groups_link_key ON groups(lower(trim(display_name, char(9,10,11,12,13,32))));"
    "CREATE TABLE access_groups ("
    "  key TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  source TEXT NOT NULL CHECK (source IN ('file', 'admin')),"
    "  grants TEXT NOT NULL,"
    "  created TEXT NOT NULL"
    ") STRICT;"
    "CREATE TABLE access_group_links ("
    "  key TEXT PRIMARY KEY REFERENCES access_groups(key) ON DELETE CASCADE,"
    "  group_id TEXT NOT NULL UNIQUE REFERENCES groups(id) ON DELETE CASCADE,"
    "  linked TEXT NOT NULL"
    ") STRICT;"
    "CREATE TABLE cutoffs ("
    "  user_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  PRIMARY KEY (user_id, key)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE user_tombstones ("
    "  kind INTEGER NOT NULL,"
    "  value TEXT NOT NULL COLLATE NOCASE,"
    "  at INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, value)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TRIGGER groups_link_insert AFTER INSERT ON groups BEGIN"
    "  INSERT OR IGNORE INTO access_group_links(key, group_id, linked)"
    "  SELECT a.key, NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM access_groups a"
    "  WHERE a.key = lower(trim(NEW.display_name, char(9,10,11,12,13,32)))"
    "    AND (SELECT count(*) FROM groups g"
    "         WHERE lower(trim(g.display_name, char(9,10,11,12,13,32))) = a.key) = 1;"
    "END;"
    "CREATE TRIGGER groups_link_rename AFTER UPDATE OF display_name ON groups"
    "  WHEN NOT EXISTS (SELECT 1 FROM access_group_links WHERE group_id = NEW.id) BEGIN"
    "  INSERT OR IGNORE INTO access_group_links(key, group_id, linked)"
    "  SELECT a.key, NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM access_groups a"
    "  WHERE a.key = lower(trim(NEW.display_name, char(9,10,11,12,13,32)))"
    "    AND (SELECT count(*) FROM groups g"
    "         WHERE lower(trim(g.display_name, char(9,10,11,12,13,32))) = a.key) = 1;"
    "END;"
    "CREATE TRIGGER access_groups_link AFTER INSERT ON access_groups BEGIN"
    "  INSERT OR IGNORE INTO access_group_links(key, group_id, linked)"
    "  SELECT NEW.key, g.id, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM groups g"
    "  WHERE lower(trim(g.display_name, char(9,10,11,12,13,32))) = NEW.key"
    "    AND (SELECT count(*) FROM groups g2"
    "         WHERE lower(trim(g2.display_name, char(9,10,11,12,13,32))) = NEW.key) = 1;"
    "END;"
    /* an ambiguity that ends (one of two groups with an unlinked access group's key is deleted
     * or renamed away) links the one left; a group that held the link never passes it on */
    "CREATE TRIGGER groups_unambiguous_delete BEFORE DELETE ON groups"
    "  WHEN NOT EXISTS (SELECT 1 FROM access_group_links WHERE group_id = OLD.id) BEGIN"
    "  INSERT OR IGNORE INTO access_group_links(key, group_id, linked)"
    "  SELECT a.key, g.id, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM access_groups a"
    "  JOIN groups g ON lower(trim(g.display_name, char(9,10,11,12,13,32))) = a.key"
    "  WHERE a.key = lower(trim(OLD.display_name, char(9,10,11,12,13,32))) AND g.id <> OLD.id"
    "    AND NOT EXISTS (SELECT 1 FROM access_group_links l WHERE l.key = a.key)"
    "    AND (SELECT count(*) FROM groups g2"
    "         WHERE lower(trim(g2.display_name, char(9,10,11,12,13,32))) = a.key) = 2;"
    "END;"
    "CREATE TRIGGER groups_unambiguous_rename AFTER UPDATE OF display_name ON groups"
    "  WHEN lower(trim(OLD.display_name, char(9,10,11,12,13,32))) <>"
    "       lower(trim(NEW.display_name, char(9,10,11,12,13,32))) BEGIN"
    "  INSERT OR IGNORE INTO access_group_links(key, group_id, linked)"
    "  SELECT a.key, g.id, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM access_groups a"
    "  JOIN groups g ON lower(trim(g.display_name, char(9,10,11,12,13,32))) = a.key"
    "  WHERE a.key = lower(trim(OLD.display_name, char(9,10,11,12,13,32)))"
    "    AND NOT EXISTS (SELECT 1 FROM access_group_links l WHERE l.key = a.key)"
    "    AND (SELECT count(*) FROM groups g2"
    "         WHERE lower(trim(g2.display_name, char(9,10,11,12,13,32))) = a.key) = 1;"
    "END;"
    "CREATE TRIGGER members_cutoff AFTER DELETE ON members WHEN OLD.member_type = 0 BEGIN"
    "  INSERT INTO cutoffs(user_id, key, at)"
    "  SELECT OLD.member_id, l.key, CAST(strftime('%s','now') AS INTEGER) + 1"
    "  FROM access_group_links l WHERE l.group_id = OLD.group_id"
    "  ON CONFLICT(user_id, key) DO UPDATE SET at = max(at, excluded.at);"
    "END;"
    "CREATE TRIGGER groups_cutoff BEFORE DELETE ON groups BEGIN"
    "  INSERT INTO cutoffs(user_id, key, at)"
    "  SELECT m.member_id, l.key, CAST(strftime('%s','now') AS INTEGER) + 1"
    "  FROM members m JOIN access_group_links l ON l.group_id = m.group_id"
    "  WHERE m.group_id = OLD.id AND m.member_type = 0"
    "  ON CONFLICT(user_id, key) DO UPDATE SET at = max(at, excluded.at);"
    "END;"
    "CREATE TRIGGER users_deactivated AFTER UPDATE OF active ON users"
    "  WHEN OLD.active = 1 AND NEW.active = 0 BEGIN"
    "  INSERT INTO cutoffs(user_id, key, at)"
    "  VALUES (NEW.id, '', CAST(strftime('%s','now') AS INTEGER) + 1)"
    "  ON CONFLICT(user_id, key) DO UPDATE SET at = max(at, excluded.at);"
    "END;"
    "CREATE TRIGGER users_deleted AFTER DELETE ON users BEGIN"
    "  INSERT INTO user_tombstones(kind, value, at)"
    "  VALUES (0, OLD.user_name, CAST(strftime('%s','now') AS INTEGER) + 1)"
    "  ON CONFLICT(kind, value) DO UPDATE SET at = max(at, excluded.at);"
    "  INSERT INTO user_tombstones(kind, value, at)"
    "  SELECT 1, OLD.external_id, CAST(strftime('%s','now') AS INTEGER) + 1"
    "  WHERE OLD.external_id IS NOT NULL"
    "  ON CONFLICT(kind, value) DO UPDATE SET at = max(at, excluded.at);"
    "  DELETE FROM cutoffs WHERE user_id = OLD.id;"
    "END;"
    /* a userName or externalId given up by a user leaves a tombstone too, so a token of the
     * old holder cannot resolve to whoever takes the value next */
    "CREATE TRIGGER users_renamed AFTER UPDATE OF user_name, external_id ON users BEGIN"
    "  INSERT INTO user_tombstones(kind, value, at)"
    "  SELECT 0, OLD.user_name, CAST(strftime('%s','now') AS INTEGER) + 1"
    "  WHERE OLD.user_name <> NEW.user_name COLLATE NOCASE"
    "  ON CONFLICT(kind, value) DO UPDATE SET at = max(at, excluded.at);"
    "  INSERT INTO user_tombstones(kind, value, at)"
    "  SELECT 1, OLD.external_id, CAST(strftime('%s','now') AS INTEGER) + 1"
    "  WHERE OLD.external_id IS NOT NULL AND OLD.external_id IS NOT NEW.external_id"
    "  ON CONFLICT(kind, value) DO UPDATE SET at = max(at, excluded.at);"
    "END;",

    /* 3: the link key becomes a column (issue 10). Migration 2 restated store_name_key() as
     * lower(trim(display_name, char(9,10,11,12,13,32))) in its index and triggers, a second copy
     * that could drift from the C one. groups.name_key now holds store_name_key(display_name),
     * written by the backend through gh_name_key() (sqlite.c) on every insert and rename and
     * backfilled here the same way; the index and the link triggers use the column, so the rule
     * exists once, in C. The column is added (not the table rebuilt), so it cannot be NOT NULL:
     * the two guard triggers refuse a group written without it. The link triggers are the same
     * as in migration 2 with the expression replaced by the column; a rename is now a change of
     * the key (UPDATE OF name_key), which every rename writes. */
    "ALTER TABLE groups ADD COLUMN name_key TEXT;"
    "UPDATE groups SET name_key = gh_name_key(display_name);"
    "DROP INDEX groups_link_key;"
    "CREATE INDEX groups_name_key ON groups(name_key);"
    "CREATE TRIGGER groups_name_key_insert BEFORE INSERT ON groups WHEN NEW.name_key IS NULL BEGIN"
    "  SELECT RAISE(ABORT, 'groups.name_key not set');"
    "END;"
    "CREATE TRIGGER groups_name_key_update BEFORE UPDATE OF name_key ON groups"
    "  WHEN NEW.name_key IS NULL BEGIN"
    "  SELECT RAISE(ABORT, 'groups.name_key not set');"
    "END;"
    "DROP TRIGGER groups_link_insert;"
    "DROP TRIGGER groups_link_rename;"
    "DROP TRIGGER access_groups_link;"
    "DROP TRIGGER groups_unambiguous_delete;"
    "DROP TRIGGER groups_unambiguous_rename;"
    "CREATE TRIGGER groups_link_insert AFTER INSERT ON groups BEGIN"
    "  INSERT OR IGNORE INTO access_group_links(key, group_id, linked)"
    "  SELECT a.key, NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM access_groups a"
    "  WHERE a.key = NEW.name_key"
    "    AND (SELECT count(*) FROM groups g WHERE g.name_key = a.key) = 1;"
    "END;"
    "CREATE TRIGGER groups_link_rename AFTER UPDATE OF name_key ON groups"
    "  WHEN NOT EXISTS (SELECT 1 FROM access_group_links WHERE group_id = NEW.id) BEGIN"
    "  INSERT OR IGNORE INTO access_group_links(key, group_id, linked)"
    "  SELECT a.key, NEW.id, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM access_groups a"
    "  WHERE a.key = NEW.name_key"
    "    AND (SELECT count(*) FROM groups g WHERE g.name_key = a.key) = 1;"
    "END;"
    "CREATE TRIGGER access_groups_link AFTER INSERT ON access_groups BEGIN"
    "  INSERT OR IGNORE INTO access_group_links(key, group_id, linked)"
    "  SELECT NEW.key, g.id, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM groups g"
    "  WHERE g.name_key = NEW.key"
    "    AND (SELECT count(*) FROM groups g2 WHERE g2.name_key = NEW.key) = 1;"
    "END;"
    "CREATE TRIGGER groups_unambiguous_delete BEFORE DELETE ON groups"
    "  WHEN NOT EXISTS (SELECT 1 FROM access_group_links WHERE group_id = OLD.id) BEGIN"
    "  INSERT OR IGNORE INTO access_group_links(key, group_id, linked)"
    "  SELECT a.key, g.id, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM access_groups a"
    "  JOIN groups g ON g.name_key = a.key"
    "  WHERE a.key = OLD.name_key AND g.id <> OLD.id"
    "    AND NOT EXISTS (SELECT 1 FROM access_group_links l WHERE l.key = a.key)"
    "    AND (SELECT count(*) FROM groups g2 WHERE g2.name_key = a.key) = 2;"
    "END;"
    "CREATE TRIGGER groups_unambiguous_rename AFTER UPDATE OF name_key ON groups"
    "  WHEN OLD.name_key <> NEW.name_key BEGIN"
    "  INSERT OR IGNORE INTO access_group_links(key, group_id, linked)"
    "  SELECT a.key, g.id, strftime('%Y-%m-%dT%H:%M:%fZ','now') FROM access_groups a"
    "  JOIN groups g ON g.name_key = a.key"
    "  WHERE a.key = OLD.name_key"
    "    AND NOT EXISTS (SELECT 1 FROM access_group_links l WHERE l.key = a.key)"
    "    AND (SELECT count(*) FROM groups g2 WHERE g2.name_key = a.key) = 1;"
    "END;",
};

const size_t store_sqlite_migration_count =
    sizeof(store_sqlite_migrations) / sizeof(store_sqlite_migrations[0]);
