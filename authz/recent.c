/*
 * recent.c - GET /admin/v1/decisions: the tail of the decision log from the in-memory ring of
 * the last AUTHZ_RECENT_MAX decisions (decision_log.c), newest first, for the admin page. It is
 * there whether or not GATEHOUSE_DECISION_LOG is set, and each entry has the fields of a
 * decision-log line.
 *
 *   ?user=     userName, SCIM id, or (for a subject that is not provisioned) a value of one of
 *              its identity claims; ASCII case-insensitive, whole value
 *   ?dataset=  exact
 *   ?result=   allowed | denied (allow | deny, the log's "result", too)
 *   ?limit=    1..AUTHZ_RECENT_MAX, default AUTHZ_RECENT_DEFAULT
 *
 * Behind policy_admin_auth (its row in sidecar/router.c); it reads no context of its own.
 */
#include "authz/authz.h"
#include "authz/decision_log.h"
#include "core/core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AUTHZ_RECENT_DEFAULT 100

/* The query, and the reply being built. */
struct authz_recent_query {
    const char *user, *dataset;
    int result; /* -1 any, 0 denied, 1 allowed */
    long limit;
    cJSON *arr;
    long n;
};

static bool authz_recent_eq(const char *a, const char *b)
{
    return a != NULL && strcasecmp(a, b) == 0;
}

static bool authz_recent_user_is(const struct authz_decision_entry *e, const char *user)
{
    if (authz_recent_eq(e->subject_user_name, user) || authz_recent_eq(e->subject_id, user))
        return true;
    for (size_t i = 0; e->subject_id == NULL && i < e->nclaims; i++)
        if (authz_recent_eq(e->claim_values[i], user))
            return true;
    return false;
}

/* authz_decision_recent_fn: keep d when it passes the filters; stop at the limit. */
static bool authz_recent_take(void *ctx, const struct authz_decision_recent *d)
{
    struct authz_recent_query *q = ctx;
    cJSON *j;

    if (q->user != NULL && !authz_recent_user_is(&d->e, q->user))
        return true;
    if (q->dataset != NULL && (d->e.dataset == NULL || strcmp(d->e.dataset, q->dataset) != 0))
        return true;
    if (q->result >= 0 && d->e.allowed != (q->result == 1))
        return true;
    j = authz_decision_json(&d->e, d->time);
    if (j == NULL)
        return true;
    if (d->truncated) /* a field was cut to fit the ring's slot; the log file has it whole */
        cJSON_AddTrueToObject(j, "truncated");
    cJSON_AddItemToArray(q->arr, j);
    return ++q->n < q->limit;
}

/* See authz.h. */
enum gh_status authz_handle_decisions(struct gh_req *r, struct gh_err *err)
{
    struct authz_recent_query q = {
        gh_req_query(r, "user"), gh_req_query(r, "dataset"), -1, AUTHZ_RECENT_DEFAULT, NULL, 0};
    const char *result = gh_req_query(r, "result"), *limit = gh_req_query(r, "limit");
    cJSON *body;

    if (result != NULL) {
        if (strcmp(result, "allowed") == 0 || strcmp(result, "allow") == 0)
            q.result = 1;
        else if (strcmp(result, "denied") == 0 || strcmp(result, "deny") == 0)
            q.result = 0;
        else
            return GH_ERR(err, GH_E_INVALID, "result: allowed or denied");
    }
    if (limit != NULL) {
        char *end;
        errno = 0;
        q.limit = strtol(limit, &end, 10);
        if (end == limit || *end != '\0' || errno != 0 || q.limit < 1 || q.limit > AUTHZ_RECENT_MAX)
            return GH_ERR(err, GH_E_INVALID, "limit: an integer from 1 to %d", AUTHZ_RECENT_MAX);
    }
    /* an empty filter value filters nothing (a form's blank field) */
    if (q.user != NULL && q.user[0] == '\0')
        q.user = NULL;
    if (q.dataset != NULL && q.dataset[0] == '\0')
        q.dataset = NULL;
    body = cJSON_CreateObject();
    q.arr = cJSON_AddArrayToObject(body, "decisions");
    authz_decision_recent(authz_recent_take, &q);
    cJSON_AddNumberToObject(body, "count", (double)q.n);
    cJSON_AddNumberToObject(body, "limit", (double)q.limit);
    cJSON_AddNumberToObject(body, "kept", AUTHZ_RECENT_MAX);
    gh_reply_json(r, 200, body);
    return GH_OK;
}
