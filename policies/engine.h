/*
 * engine.h - the running policy: the policy file (reloaded on SIGHUP and on change), the access
 * groups of both sources as kept in the store, and immutable snapshots for decisions.
 *
 * Readers take a snapshot (a counted reference) and never hold a lock while deciding; a reload
 * or an admin change builds a new snapshot and swaps it in. An invalid policy file never
 * replaces a running one: the reload fails, the old policy stays, the reason is logged.
 */
#ifndef POLICY_ENGINE_H
#define POLICY_ENGINE_H

#include "core/core.h"
#include "policies/policy.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct store;
struct policy_engine;
struct policy_snapshot;

/* ---- lifecycle ---- */
/* Load the policy file at path (GATEHOUSE_POLICY; NULL: none; a bad file is an error here; copied)
 * and sync its access groups into the store. store is borrowed for the engine's life. Caller frees
 * with policy_engine_free. */
enum gh_status policy_engine_new(const char *path, struct store *store,
                                 struct policy_engine **out_pe, struct gh_err *err);
/* Start the thread that reloads the file when it changes (polling its mtime, size and inode
 * every interval_ms). */
enum gh_status policy_engine_watch(struct policy_engine *pe, int interval_ms, struct gh_err *err);
void policy_engine_free(struct policy_engine *pe); /* stops the watcher; NULL is a no-op */

/* ---- changes ---- */
/* Re-read the policy file; on any error the running policy stays and the error is returned (the
 * SIGHUP hook and the watcher log it). Thread-safe. */
enum gh_status policy_engine_reload(struct policy_engine *pe, struct gh_err *err);
void policy_engine_reload_hook(void *ctx); /* gh_daemon_on_reload adapter (ctx: the engine) */
/* store_on_access_change adapter (ctx: the engine): another replica created or deleted an access
 * group in the shared store; the snapshot is rebuilt from the store (failures are logged). */
void policy_engine_store_changed(void *ctx);
/* Create an admin access group from {"name":…,"grants":[…]}; GH_E_INVALID (bad body),
 * GH_E_CONFLICT (exists). Linked at once to the IdP group of that name. */
enum gh_status policy_engine_group_create(struct policy_engine *pe, const cJSON *body,
                                          struct gh_err *err);
/* The checks behind it, without the store: name (borrowed from body), link key, grants (caller
 * frees with policy_grants_free). The admin API's body parser (fuzzed). */
enum gh_status policy_group_body_parse(const cJSON *body, const char **out_name,
                                       char out_key[POLICY_NAME_MAX + 1],
                                       struct policy_grant **out_grants, size_t *out_n,
                                       struct gh_err *err);
/* Replace the grants (and the spelling of the name) of the admin access group `name` from
 * {"name":…,"grants":[…]} ("name" may be left out). A name with another link key is refused
 * (GH_E_INVALID): the link is pinned to the key, so a rename is a create and a delete.
 * GH_E_NOT_FOUND; GH_E_CONFLICT for a file-declared group. */
enum gh_status policy_engine_group_update(struct policy_engine *pe, const char *name,
                                          const cJSON *body, struct gh_err *err);
/* The policy file's path (GATEHOUSE_POLICY; borrowed for the engine's life), or NULL: none. */
const char *policy_engine_path(const struct policy_engine *pe);
/* Delete an admin access group by name. */
enum gh_status policy_engine_group_delete(struct policy_engine *pe, const char *name,
                                          struct gh_err *err);
/* Reloads that succeeded / failed since start (metrics). */
void policy_engine_counts(const struct policy_engine *pe, unsigned long *out_ok,
                          unsigned long *out_failed);

/* ---- snapshots ---- */
/* The current snapshot: a counted reference the caller gives back with policy_snapshot_release.
 * Thread-safe. */
struct policy_snapshot *policy_engine_acquire(struct policy_engine *pe);
void policy_snapshot_release(struct policy_snapshot *snap);
/* The access group with this link key, or NULL (borrowed from the snapshot). */
const struct policy_group *policy_snapshot_group(const struct policy_snapshot *snap,
                                                 const char *key);
/* The policy file's document (default_grants, routes); never NULL (empty without a file). */
const struct policy_doc *policy_snapshot_doc(const struct policy_snapshot *snap);
size_t policy_snapshot_group_count(const struct policy_snapshot *snap);
const struct policy_group *policy_snapshot_group_at(const struct policy_snapshot *snap, size_t i);
/* The policy revision: the first POLICY_REVISION_LEN hex digits of a SHA-256 over a canonical
 * form of the snapshot's policy (default grants, routes, access groups of both sources with their
 * grants; not the links), so replicas running the same policy report the same revision.
 * Computed once when the snapshot is built; borrowed from it. */
#define POLICY_REVISION_LEN 16
const char *policy_snapshot_revision(const struct policy_snapshot *snap);
/* The same digest for doc with access groups groups[0..n) (sorted by key, strcmp), into out: a
 * candidate policy's revision before it is applied (the dry run). */
void policy_revision_compute(const struct policy_doc *doc, const struct policy_group *groups,
                             size_t n, char out[POLICY_REVISION_LEN + 1]);

#endif
