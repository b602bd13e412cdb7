/*
 * caps.h - every cap on untrusted input, in one place (curl's "toobig" discipline).
 * Each cap says why it is the size it is.
 */
#ifndef GH_CAPS_H
#define GH_CAPS_H

/* Default request-body cap; GATEHOUSE_MAX_BODY overrides. Entra's largest requests (a PATCH
 * adding a few hundred members) are far below 1 MiB. */
#define GH_CAP_BODY_DEFAULT (1024 * 1024)
/* Request header block: MHD's per-connection memory pool holds the request line and all
 * headers, and MHD zeroes the whole pool between keep-alive requests (256 KiB cost a fifth of
 * the CPU at 100k req/s), so it is as small as a 64 KiB JWT (GH_CAP_JWT) plus ordinary headers
 * allows. An access token with 200 group ids is ~11 KiB. */
#define GH_CAP_CONN_MEMORY (96 * 1024)
/* A bearer JWT; Entra tokens with 200 groups are ~11 KiB. */
#define GH_CAP_JWT (64 * 1024)
/* OIDC discovery and JWKS documents (Entra's JWKS is ~10 KiB). */
#define GH_CAP_DISCOVERY (256 * 1024)
#define GH_CAP_JWKS      (256 * 1024)
/* SCIM list page size (ServiceProviderConfig filter.maxResults). */
#define GH_CAP_SCIM_COUNT 1000
/* SCIM filter: bytes and nesting depth (parentheses, not, value paths). */
#define GH_CAP_SCIM_FILTER_LEN   4096
#define GH_CAP_SCIM_FILTER_DEPTH 16
/* JSON nesting (request bodies, JWT header and payload, policy file): SCIM resources and PATCH
 * bodies nest at most 5 deep, a policy 4, an Entra token 3. The strict check (sidecar/json.c)
 * refuses deeper input before cJSON's recursive parser sees it. */
#define GH_CAP_JSON_DEPTH 32
/* Policy file size. */
#define GH_CAP_POLICY (4L * 1024 * 1024)
/* Config file size and line length. */
#define GH_CAP_CONFIG_FILE (64L * 1024)
#define GH_CAP_CONFIG_LINE 4096
/* /v1/authorize checks in one request. */
#define GH_CAP_AUTHZ_CHECKS 100
/* Most GATEHOUSE_IDENTITY_CLAIMS pairs (each is a lookup tried in order). */
#define GH_IDENT_PAIRS_MAX 8

#endif
