/*
 * decision_log.h - the decision log: one JSON line per check (GATEHOUSE_DECISION_LOG).
 *
 *   {"decision_id":"…","time":"2026-11-22T08:00:00.123Z","subject":{"id":…,"userName":…},
 *    "tenant":"…","dataset":"payroll","action":"unprotect","allowed":false,"result":"deny",
 *    "reason":"…","token_id":"<uti or jti>","revision":42,
 *    "policy_revision":"3f9a0c1d2e4b5a69"}
 *
 * For a subject that is not provisioned (id null), subject also holds "claims": the values of
 * the GATEHOUSE_IDENTITY_CLAIMS claims in the token, e.g. {"oid":"…","upn":null,…}.
 *
 * Never the token itself. Each thread buffers its lines (core/logbuf.h) and writes whole lines,
 * within 500 ms and when the log is closed, on an O_APPEND descriptor, so concurrent writers never
 * interleave within a line; lines of different threads may be up to that far out of time order.
 * Thread-safe.
 */
#ifndef AUTHZ_DECISION_LOG_H
#define AUTHZ_DECISION_LOG_H

#include "core/core.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct authz_decision_log;

struct authz_decision_entry {
    const char *decision_id;
    const char *subject_id;        /* may be NULL (not provisioned) */
    const char *subject_user_name; /* may be NULL */
    const char *tenant;            /* may be NULL */
    const char *dataset;
    const char *action;
    bool allowed;
    const char *reason;
    const char *token_id; /* uti or jti, may be NULL */
    /* When subject_id is NULL: the configured identity claims (distinct names) and the token's
     * values for them (an entry may be NULL: absent), logged as subject.claims. */
    const char *const *claim_names;
    const char *const *claim_values;
    size_t nclaims;
    int64_t revision;            /* the store revision the decision read */
    const char *policy_revision; /* policy_snapshot_revision of the snapshot it read */
};

/* ---- lifecycle: authz_decision_log_open / _close are in authz.h (the daemon opens it) ---- */

/* ---- writing ---- */
/* Append one line (buffered); log may be NULL (logging off: only the counters move). A failed
 * write is counted and reported once in the daemon log, never fails the decision. */
void authz_decision_log_write(struct authz_decision_log *log, const struct authz_decision_entry *e);
/* A fresh random decision id (UUID v4 text) into buf (>= 37 bytes). */
void authz_decision_id_new(char *buf, size_t cap);
/* ---- the recent decisions (an in-memory ring, whether or not the log is open) ---- */
/* How many: the admin page's decision tail (GET /admin/v1/decisions). */
#define AUTHZ_RECENT_MAX 1000
/* One of them as the walk hands it over: e's strings, the arrays it points to and time are
 * borrowed for the callback only. A field too long for the ring's slot is cut (truncated). */
struct authz_decision_recent {
    struct authz_decision_entry e;
    const char *time; /* as in the log line */
    bool truncated;
    uint64_t seq; /* the decision's number since start (from 1) */
};
/* Return false to stop the walk. */
typedef bool (*authz_decision_recent_fn)(void *ctx, const struct authz_decision_recent *d);
/* Walk the last AUTHZ_RECENT_MAX decisions (one per check), newest first. Thread-safe; fn runs
 * outside the ring's lock, so it may take its time. */
void authz_decision_recent(authz_decision_recent_fn fn, void *ctx);
/* e (decided at time) as its decision-log line, as JSON (caller deletes); NULL only when
 * cJSON cannot allocate. */
cJSON *authz_decision_json(const struct authz_decision_entry *e, const char *time);
/* authz_decision_log_counts (the counters) is in authz.h. */

#endif
