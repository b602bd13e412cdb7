/*
 * scim_client.h - the SCIM client the end-to-end suites share: start the real daemon with a SCIM
 * secret, send one SCIM request to "the daemon in use", check the invariants every SCIM response
 * must hold (application/scim+json; no nulls; the SCIM Error shape on errors), and read JSON back.
 *
 * The daemon in use is set with scim_client_use (or scim_e2e_start) and read with
 * scim_client_proc; it is borrowed: whoever started it stops it. Everything else returned is
 * owned by the caller as stated per function. Failures abort the test (ck_assert).
 */
#ifndef GH_TEST_SCIM_CLIENT_H
#define GH_TEST_SCIM_CLIENT_H

#include "tests/support/fixture.h"
#include "tests/support/support.h"

#include <check.h>
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCIM_TOKEN   "e2e-scim-secret-0123456789abcdef"
#define SCIM_TOKEN_2 "e2e-scim-next-secret-fedcba9876543210"
#define SCIM_AUTH    "Authorization: Bearer " SCIM_TOKEN
#define SCIM_CT      "Content-Type: application/scim+json"
#define ENT_URN      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

struct scim_res {
    long status;
    cJSON *json; /* NULL when the body is empty */
    char etag[64];
    char location[512];
    char allow[128];
    char *raw; /* owned body text */
};

/* ---- the daemon in use ---- */
/* Send the requests below to p (borrowed; NULL: none). */
void scim_client_use(struct gh_proc *p);
/* The daemon in use (borrowed; NULL when none). */
struct gh_proc *scim_client_proc(void);
/* Start the daemon with both SCIM secrets and info logging, and use it (a Check fixture). */
void scim_e2e_start(void);
/* Stop the daemon in use; it must exit 0 on SIGTERM (under SANITIZE builds a leak or an ASan
 * report makes the exit status non-zero, so this also checks the daemon side). */
void scim_e2e_stop(void);

/* Start gh_fixture_start(opts) (fixture.h) and use its daemon; stop with scim_e2e_fixture_stop. */
struct gh_fixture *scim_e2e_fixture_start(const struct gh_fixture_opts *opts);
/* gh_fixture_stop; the daemon must have exited 0, as in scim_e2e_stop. */
void scim_e2e_fixture_stop(struct gh_fixture *fx);

/* ---- requests ---- */
/* One request to path (under the daemon's URL) with the SCIM secret (auth NULL) or the given
 * Authorization header line ("" for none), and extra (NULL or one more header line). Asserts the
 * SCIM response invariants. Caller frees with scim_res_free. */
struct scim_res scim_call_h(const char *method, const char *path, const char *body,
                            const char *auth, const char *extra);
/* scim_call_h with the SCIM secret and no extra header. */
struct scim_res scim_call(const char *method, const char *path, const char *body);
void scim_res_free(struct scim_res *r);
/* POST a body and return the new id (asserting 201); caller frees. */
char *scim_create(const char *endpoint, const char *body);
char *scim_create_user(const char *user_name);
char *scim_create_group(const char *display_name);
/* GET a list with a filter and return totalResults (asserting a ListResponse). */
int scim_count(const char *endpoint, const char *filter);
/* One request with the SCIM secret, asserting its status is want. */
void scim_ok(const char *method, const char *path, const char *body, long want);
/* One Entra-style member PATCH of a group: op ("add", "remove", …) of the user uid (204). */
void scim_member_op(const char *op, const char *gid, const char *uid);
/* The ids of a group's members, as a sorted comma list in out. */
void scim_members(const char *gid, char *out, size_t cap);

/* ---- reading JSON ---- */
/* A string member by dotted path ("meta.version", "name.givenName"; a "urn:" key is the whole
 * rest); NULL when absent. Borrowed from j. */
const char *scim_str(const cJSON *j, const char *path);
/* A number member (asserted to be one). */
int scim_int(const cJSON *j, const char *name);

/* ---- paths ---- */
/* Percent-encode a query value (curl sends the URL as given). Returns one of 8 rotating static
 * buffers: valid for the next 7 calls. */
const char *scim_q(const char *s);
/* prefix + a (e.g. "/scim/v2/Users/" + id); one of 4 rotating static buffers. */
const char *scim_path2(const char *prefix, const char *a);
/* The literal before "%s" in fmt, which must end in %s; one of 4 rotating static buffers. */
const char *scim_fmt_prefix(const char *fmt);
/* scim_path("/scim/v2/Users/%s", id) */
#define scim_path(fmt, a) scim_path2(scim_fmt_prefix(fmt), (a))

#endif
