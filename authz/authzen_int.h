/*
 * authzen_int.h - private to authz/: the AuthZEN Authorization API 1.0 request body as
 * authzen.c reads it (tested and fuzzed on its own).
 *
 * One body shape serves both endpoints: /access/v1/evaluation reads subject, resource, action
 * and context; /access/v1/evaluations also reads "evaluations" (each item defaulting to the
 * top-level subject, resource, action and context) and options.evaluations_semantic. Without an
 * evaluations array, or with an empty one, it is one evaluation (AuthZEN 1.0 §Access
 * Evaluations API Request).
 */
#ifndef AUTHZ_AUTHZEN_INT_H
#define AUTHZ_AUTHZEN_INT_H

#include "core/core.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest subject/resource type or id and action name accepted (bytes); longer is a 400. */
#define AUTHZ_AUTHZEN_STR_MAX 1024
/* The gatehouse option asking for each decision's context (reason, decision_id, revision). */
#define AUTHZ_AUTHZEN_OPT_CONTEXT "gatehouse_context"

enum authz_authzen_semantic {
    AUTHZ_AUTHZEN_EXECUTE_ALL = 0,       /* "execute_all" (the default) */
    AUTHZ_AUTHZEN_DENY_ON_FIRST_DENY,    /* "deny_on_first_deny": stop after the first false */
    AUTHZ_AUTHZEN_PERMIT_ON_FIRST_PERMIT /* "permit_on_first_permit": stop after the first true */
};

/* One evaluation, defaults applied (all strings borrowed from the parsed body). */
struct authz_authzen_eval {
    const char *subject_type, *subject_id;
    const char *resource_type, *resource_id;
    const char *action;
};

struct authz_authzen_request {
    struct authz_authzen_eval *evals; /* n entries (arena) */
    size_t n;                         /* 1..GH_CAP_AUTHZ_CHECKS */
    bool batch; /* a non-empty evaluations array: the reply is {"evaluations":[...]} */
    enum authz_authzen_semantic semantic;
    bool want_context; /* options.gatehouse_context is true */
};

/* Read a parsed body (json, borrowed; it must outlive *out) for /access/v1/evaluation
 * (evaluations false: an "evaluations" member is ignored as unknown) or /access/v1/evaluations.
 * GH_E_INVALID names the first member that is missing or of the wrong type (a 400 per AuthZEN
 * 1.0 §JSON Serialization); unknown members are ignored. Thread-safe. */
enum gh_status authz_authzen_body_parse(struct gh_arena *a, const cJSON *json, bool evaluations,
                                        struct authz_authzen_request *out, struct gh_err *err);
const char *authz_authzen_semantic_name(enum authz_authzen_semantic s);

#endif
