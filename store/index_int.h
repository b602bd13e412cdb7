/*
 * index_int.h - inside the store: the in-memory decision index (private to store/; the store's
 * tests may include it).
 *
 * Decisions never run SQL. Each process keeps, in memory, what a decision reads: users by id,
 * by userName (ASCII case-insensitive) and by externalId, each user's direct groups, each
 * group's displayName and link, the cut-offs and the tombstones. It is built by replaying the
 * backend's change feed (store_int.h): a load streams the whole state as upserts, then every
 * committed write's change rows are applied in revision order. Readers (request threads) take a
 * read lock for one lookup; the applier builds each batch outside the lock and holds the write
 * lock only to apply it. A reload (first start, or a replica that fell behind the pruned log)
 * builds a fresh index beside the old one and swaps them.
 *
 * Owned by struct store (store.c); every function here is called through store.c.
 */
#ifndef STORE_INDEX_INT_H
#define STORE_INDEX_INT_H

#include "store/store_int.h"

#include <stdbool.h>
#include <stdint.h>

struct store_index;

/* A new, empty index at revision 0. Caller frees with store_index_free. */
struct store_index *store_index_new(void);
void store_index_free(struct store_index *ix); /* NULL is a no-op */

/* Replace the whole content with what s->ops->load streams (the write lock is held only for the
 * swap). On failure the old content stays. */
enum gh_status store_index_reload(struct store_index *ix, struct store *s, struct gh_err *err);
/* Apply every committed change after the index's revision, in batches, reloading when the log
 * was pruned past it. On success the index was current at the time the call started
 * (store_index_age is measured from then). Callers are serialised by the index. *out_access is
 * set when an access group was created, changed or deleted (policy snapshots must be rebuilt). */
enum gh_status store_index_sync(struct store_index *ix, struct store *s, bool *out_access,
                                struct gh_err *err);

/* The revision the index is at (lock-free). */
int64_t store_index_revision(const struct store_index *ix);
/* Milliseconds since the index last knew it was current (CLOCK_MONOTONIC; lock-free);
 * INT64_MAX while it is known to be behind (store_index_mark_behind). */
int64_t store_index_age_ms(const struct store_index *ix);
/* Milliseconds since the revision last moved (the index's first load counts as a move). */
int64_t store_index_revision_age_ms(const struct store_index *ix);
/* The index is known to miss a committed write (this process committed it and could not read
 * it back): its age is INT64_MAX until a sync or reload that starts after this call succeeds. */
void store_index_mark_behind(struct store_index *ix);
/* Wait until the index reaches rev or timeout_ms passes; true when it did. */
bool store_index_wait(struct store_index *ix, int64_t rev, int timeout_ms);

/* See store_subject_lookup (store.h): one lookup under the read lock. */
enum gh_status store_index_lookup(struct store_index *ix, enum store_user_key key,
                                  const char *value, store_subject_fn fn_sub,
                                  store_access_fn fn_access, void *ctx, int64_t *out_not_before,
                                  int64_t *out_rev, struct gh_err *err);

/* Sizes for /metrics and tests. */
struct store_index_counts {
    size_t users, groups, memberships, links, cutoffs, tombstones;
};
void store_index_counts(struct store_index *ix, struct store_index_counts *out);

#endif
