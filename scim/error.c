/*
 * error.c - SCIM Error responses (RFC 7644 §3.12) for every failure on a SCIM route, including
 * those the HTTP layer decides before a handler runs (404 unknown path, 405, 413).
 *
 * "status" is a string, scimType is set only where RFC 7644 defines one (400, and 409
 * uniqueness), and the body is application/scim+json like every SCIM response (ENTRA.md §1.4).
 * Server-side failures (5xx) carry a generic detail: the precise cause is in the log, not on
 * the wire. A 503 (the store cannot write, shutting down) says "retry later" in the detail and
 * in Retry-After (RFC 9110 §10.2.3), so nothing the client sent is lost if it retries.
 */
#include "core/core.h"
#include "scim/activity_int.h"
#include "scim/filter.h"
#include "scim/patch.h"
#include "scim/resource.h"
#include "scim/scim.h"

#include <stdio.h>
#include <string.h>

/* Seconds a client should wait before retrying a 503. Entra keeps its own retry schedule
 * (ENTRA.md §1.24: hours apart) and ignores the header; other SCIM clients back off this long
 * instead of hammering a full disk. */
#define SCIM_ERROR_RETRY_AFTER "120"

/*
 * The SCIM Error document for err and its HTTP status (see scim.h). Caller owns the result
 * (cJSON_Delete). Thread-safe.
 */
cJSON *scim_error_body(const struct gh_err *err, unsigned *out_http)
{
    enum gh_status st = err != NULL && err->status ? err->status : GH_E_INTERNAL;
    unsigned http = gh_status_http(st);
    const char *scim_type = err != NULL ? err->scim_type : NULL;
    cJSON *j = cJSON_CreateObject();
    char status[16];

    cJSON_AddItemToArray(cJSON_AddArrayToObject(j, "schemas"), cJSON_CreateString(SCIM_MSG_ERROR));
    snprintf(status, sizeof(status), "%u", http);
    cJSON_AddStringToObject(j, "status", status);
    if (st == GH_E_CONFLICT && scim_type == NULL)
        scim_type = SCIM_ST_UNIQUENESS;
    if (http == 400 && scim_type == NULL)
        scim_type = SCIM_ST_INVALID_VALUE;
    if (scim_type != NULL && (http == 400 || http == 409))
        cJSON_AddStringToObject(j, "scimType", scim_type);
    /* the cause of a 5xx (an SQLite message, a path) stays in the log */
    if (http == 503)
        cJSON_AddStringToObject(j, "detail",
                                "temporarily unavailable; retry later (see the gatehouse log)");
    else if (http >= 500)
        cJSON_AddStringToObject(j, "detail", "internal error; see the gatehouse log");
    else
        cJSON_AddStringToObject(j, "detail",
                                err != NULL && err->msg[0] ? err->msg : gh_status_name(st));
    *out_http = http;
    return j;
}

/* Render err on r (see scim.h). Thread-safe. */
void scim_error_render(struct gh_req *r, const struct gh_err *err)
{
    unsigned http = 500;
    cJSON *j = scim_error_body(err, &http);
    char *text;

    /* RFC 6750 §3.1: realm only without credentials, invalid_token for a wrong secret */
    if (err != NULL && err->status == GH_E_UNAUTHORIZED)
        gh_reply_bearer_challenge(r, "gatehouse-scim", err, NULL);
    /* one Retry-After: the HTTP layer's in-flight budget already set its own (seconds) */
    if (http == 503 && !gh_reply_has_header(r, "Retry-After"))
        gh_reply_header(r, "Retry-After", SCIM_ERROR_RETRY_AFTER);
    text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (text == NULL) { /* cJSON could not allocate: a bare 500 still says what it is */
        gh_reply(r, 500, SCIM_CONTENT_TYPE, "", 0);
        scim_activity_note(r);
        return;
    }
    gh_reply(r, http, SCIM_CONTENT_TYPE, text, strlen(text));
    cJSON_free(text);
    scim_activity_note(r); /* the provisioning status counts errors too */
}
