/*
 * scim.h - front header of the SCIM 2.0 service provider (RFC 7643/7644). The identity store
 * it writes to is its own module (store/store.h).
 *
 * Other folders include only this header; the parsers behind it (filter.h, patch.h,
 * resource.h) are scim's own, included by its files and by the tests and fuzzers that test them.
 * The route handlers are registered in sidecar/router.c; every SCIM route uses scim_error_render so
 * that errors (including the HTTP layer's own 401/404/405/413) answer in SCIM Error form.
 */
#ifndef SCIM_SCIM_H
#define SCIM_SCIM_H

#include "core/core.h"
#include "store/store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gh_req;
struct gh_authfail;
struct scim_projection; /* scim/resource.h */

/* What the SCIM routes' handlers use (gh_req_ctx of every SCIM route). Built by the daemon;
 * every pointer borrowed for the server's life. */
struct scim_ctx {
    struct store *store;               /* identity store */
    const struct gh_secret_set *token; /* GATEHOUSE_SCIM_TOKEN */
    bool tls;                          /* our listener speaks TLS (meta.location's scheme) */
    struct gh_authfail *authfail;      /* failed authentications; NULL: not counted */
};

/* Every successful SCIM response carries the store revision this replica is at (store.h). */
#define SCIM_REVISION_HEADER "X-Gatehouse-Revision"

/* ---- route handlers (sidecar/router.c) ---- */
/* The SCIM routes' credential (gh_auth_fn): the SCIM bearer secret. Run by the HTTP layer
 * before the body is read; the handlers below assume it passed. */
enum gh_status scim_auth(struct gh_req *r, struct gh_err *err);
enum gh_status scim_handle_users(struct gh_req *r, struct gh_err *err);  /* /scim/v2/Users[/id] */
enum gh_status scim_handle_groups(struct gh_req *r, struct gh_err *err); /* /scim/v2/Groups[/id] */
enum gh_status scim_handle_spc(struct gh_req *r, struct gh_err *err);    /* ServiceProviderConfig */
enum gh_status scim_handle_rtypes(struct gh_req *r, struct gh_err *err); /* ResourceTypes[/x] */
enum gh_status scim_handle_schemas(struct gh_req *r, struct gh_err *err); /* Schemas[/urn] */
enum gh_status scim_handle_unknown(struct gh_req *r, struct gh_err *err); /* other /scim paths */

/* ---- what SCIM was asked since start (activity.c; the admin page's provisioning status) ---- */
/* One answered request: status 0 means none yet. Strings are copies, cut to their fields. */
struct scim_request_note {
    unsigned status;
    int64_t unix_time; /* seconds */
    char time[32];     /* RFC 3339 UTC with milliseconds */
    char method[16];
    char path[256]; /* decoded, without the query string (a filter may name a user) */
};
struct scim_activity {
    unsigned long requests; /* SCIM requests answered since start, errors included */
    unsigned long errors;   /* ... answered with a status >= 400 (401s from wrong secrets too) */
    struct scim_request_note last, last_error;
};
/* A copy of the counters and the last request and error. Thread-safe. */
void scim_activity_get(struct scim_activity *out);

/* ---- list requests ---- */
/* The query parameters of GET /Users and /Groups as received (decoded; NULL when absent). */
struct scim_list_params {
    const char *filter, *start_index, *count, *sort_by, *sort_order;
    const char *attributes, *excluded; /* attributes, excludedAttributes */
};
/* Parse them into a store query (startIndex/count clamped, count capped at GH_CAP_SCIM_COUNT)
 * and a projection, both allocated in a. GH_E_INVALID with a scimType when one is bad. */
enum gh_status scim_list_params_parse(struct gh_arena *a, enum store_kind kind,
                                      const struct scim_list_params *in, struct store_query *out_q,
                                      struct scim_projection *out_proj, struct gh_err *err);

/*
 * Parse filter text for a resource kind. *out is arena-owned. Errors are GH_E_INVALID with
 * scimType invalidFilter and a message pointing at the offending byte. Length and nesting are
 * capped (GH_CAP_SCIM_FILTER_LEN, GH_CAP_SCIM_FILTER_DEPTH). Thread-safe. Beyond the ABNF, a
 * value may be a bare word (filter.c scim_fp_value), and a date-time compared with a dateTime
 * attribute is normalised to the store's UTC millisecond form (ge/lt may become gt/le).
 */
enum gh_status scim_filter_parse(struct gh_arena *a, enum store_kind kind, const char *text,
                                 struct store_filter **out, struct gh_err *err);

/* ---- declared extension schemas (GATEHOUSE_SCIM_EXTENSIONS, scim/extension.c) ---- */
struct scim_ext_set;
/* Parse "[User:|Group:]<urn>:<attr>:<type>[:multiValued][:caseExact],..." (NULL/blank: empty
 * set) into *out (caller frees with scim_ext_set_free); GH_E_INVALID naming the bad entry. */
enum gh_status scim_ext_set_parse(const char *text, struct scim_ext_set **out, struct gh_err *err);
void scim_ext_set_free(struct scim_ext_set *set); /* NULL: no-op; never while installed */
size_t scim_ext_set_schemas(const struct scim_ext_set *set); /* schemas declared */
size_t scim_ext_set_attrs(const struct scim_ext_set *set);   /* attributes declared */
/* Put set (borrowed, may be NULL) in force for all SCIM requests; at start-up, before threads. */
void scim_ext_install(const struct scim_ext_set *set);

/* ---- errors ---- */
/* The SCIM Error document for err (caller deletes) and its HTTP status in *out_http. */
cJSON *scim_error_body(const struct gh_err *err, unsigned *out_http);
/* Answer err as a SCIM Error (RFC 7644 §3.12), application/scim+json, status as a string. */
void scim_error_render(struct gh_req *r, const struct gh_err *err);

#endif
