/*
 * fuzz_ext_authz.c - what /v1/ext_authz reads of a proxy's request (authz_ext_check_parse): the
 * original method and path from each of the three origins (path, x-original, x-forwarded), the
 * path's normal form, route-rule matching against a fixed policy, and the X-Gatehouse-Dataset /
 * -Action fallback.
 * The input is a request head: "GET /v1/ext_authz/payroll/x" then "Name: value" lines (LF or
 * CRLF); a second copy of a single-valued header is what gh_req_header_count reports.
 * Invariants checked, for every origin: an accepted request has a non-empty dataset within
 * POLICY_NAME_MAX and a known action; a dataset from the headers is only taken when no route
 * rule matches; a rejection is GH_E_INVALID with a message.
 */
#include "authz/authz.h"
#include "authz/decide.h"
#include "policies/policy.h"
#include "sidecar/gatehouse.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_policy[] =
    "{\"access_groups\":[{\"name\":\"Payroll Analysts\",\"grants\":[{\"dataset\":\"payroll\","
    "\"actions\":[\"unprotect\"]}]}],"
    "\"routes\":[{\"method\":\"GET\",\"path_prefix\":\"/payroll/\",\"dataset\":\"payroll\","
    "\"action\":\"unprotect\"},{\"path_prefix\":\"/payroll\",\"dataset\":\"payroll\","
    "\"action\":\"protect\"},{\"method\":\"POST\",\"path_prefix\":\"/hr/reports\","
    "\"dataset\":\"hr\",\"action\":\"protect\"}]}";

struct fuzz_hdr {
    const char *name;
    size_t off; /* offsetof(struct authz_ext_request, ...) or SIZE_MAX: counted only */
};

static const struct fuzz_hdr fuzz_hdrs[] = {
    {"X-Gatehouse-Dataset", offsetof(struct authz_ext_request, dataset)},
    {"X-Gatehouse-Action", offsetof(struct authz_ext_request, action)},
    {"X-Original-URI", offsetof(struct authz_ext_request, x_original_uri)},
    {"X-Original-Method", offsetof(struct authz_ext_request, x_original_method)},
    {"X-Forwarded-Uri", offsetof(struct authz_ext_request, x_forwarded_uri)},
    {"X-Forwarded-Method", offsetof(struct authz_ext_request, x_forwarded_method)},
    {"Authorization", SIZE_MAX},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct policy_doc *doc;
    static const char *const origins[] = {"path", "x-original", "x-forwarded"};
    char *s = gh_xstrndup((const char *)data, size);
    struct authz_ext_request in = {0};
    unsigned seen[sizeof(fuzz_hdrs) / sizeof(fuzz_hdrs[0])] = {0};
    char *line, *next;

    if (doc == NULL)
        GH_ASSERT(policy_doc_parse(fuzz_policy, strlen(fuzz_policy), &doc, NULL) == GH_OK);
    /* request line: method SP path (path may be missing: then it is the bare prefix) */
    next = strchr(s, '\n');
    if (next != NULL)
        *next++ = '\0';
    s[strcspn(s, "\r")] = '\0';
    in.method = s;
    in.path = "/v1/ext_authz";
    if ((line = strchr(s, ' ')) != NULL) {
        *line++ = '\0';
        if (strncmp(line, "/v1/ext_authz", 13) == 0)
            in.path = line;
    }
    for (line = next; line != NULL; line = next) {
        char *colon;
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        line[strcspn(line, "\r")] = '\0';
        if ((colon = strchr(line, ':')) == NULL)
            continue;
        *colon++ = '\0';
        colon += strspn(colon, " \t");
        for (size_t i = 0; i < sizeof(fuzz_hdrs) / sizeof(fuzz_hdrs[0]); i++) {
            if (strcasecmp(line, fuzz_hdrs[i].name) != 0)
                continue;
            if (++seen[i] == 2 && in.repeated == NULL)
                in.repeated = fuzz_hdrs[i].name;
            if (seen[i] == 1 && fuzz_hdrs[i].off != SIZE_MAX)
                *(const char **)((char *)&in + fuzz_hdrs[i].off) = colon;
        }
    }

    for (size_t o = 0; o < sizeof(origins) / sizeof(origins[0]); o++) {
        struct gh_arena *a = gh_arena_new();
        struct authz_check check = {0};
        struct gh_err err = {0};

        if (authz_ext_check_parse(a, origins[o], doc, &in, &check, &err) == GH_OK) {
            GH_ASSERT(check.dataset != NULL && check.dataset[0] != '\0');
            GH_ASSERT(strlen(check.dataset) <= POLICY_NAME_MAX);
            GH_ASSERT(check.action == POLICY_ACTION_PROTECT ||
                      check.action == POLICY_ACTION_UNPROTECT);
            GH_ASSERT(in.repeated == NULL);
            if (check.dataset == in.dataset)
                GH_ASSERT(in.action != NULL);
        } else {
            GH_ASSERT(err.status == GH_E_INVALID && err.msg[0] != '\0');
        }
        gh_arena_free(a);
    }
    free(s);
    return 0;
}
