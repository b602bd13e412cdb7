/*
 * caps.h - every cap on untrusted input, in one place (curl's "toobig" discipline).
 * Each cap says why it is the size it is.
 */
#ifndef GH_CAPS_H
#define GH_CAPS_H

/* Default request-body cap; GATEHOUSE_MAX_BODY overrides. Entra's largest requests (a PATCH
 * adding a few hundred members) are far below 1 MiB. */
#define GH_CAP_BODY_DEFAULT (1024 * 1024)
/* Per-route body caps (struct gh_route.body_cap), each at most GATEHOUSE_MAX_BODY.
 * /v1/authorize and /v1/ext_authz: a decision request is {"dataset","action"} or up to
 * GH_CAP_AUTHZ_CHECKS checks of a dataset name (<= 256 bytes) and an action: 100 checks are
 * ~30 KiB of JSON, so 64 KiB leaves room for whitespace and never more. */
#define GH_CAP_BODY_AUTHZ (64L * 1024)
/* AuthZEN /access/v1: up to GH_CAP_AUTHZ_CHECKS evaluations, each an entity triple that may
 * carry the PEP's properties and context (ignored here, but a standard PEP sends them). */
#define GH_CAP_BODY_AUTHZEN (256L * 1024)
/* The admin API: one access group (a name and a few grants) per request. */
#define GH_CAP_BODY_ADMIN (64L * 1024)
/* The ops routes take no body; a few KiB are tolerated (some clients send an empty JSON object),
 * and are held to the header deadline since these routes have no credential. */
#define GH_CAP_BODY_OPS (4L * 1024)
/* Bodies up to this size are not counted against GATEHOUSE_MAX_BODY_INFLIGHT: a body this small
 * costs less than the connection's own MHD pool (GH_CAP_CONN_MEMORY), which the connection limit
 * already bounds, and leaving it out keeps a shared counter off the /v1/authorize hot path. */
#define GH_CAP_BODY_UNCOUNTED ((size_t)16 * 1024)
/* Request header block: MHD's per-connection memory pool holds the request line and all
 * headers, and MHD zeroes the whole pool between keep-alive requests: 96 KiB cost ~1.4 us of a
 * ~17 us decision more than 32 KiB (bench/decision_path.sh), so it is libmicrohttpd's default,
 * 32 KiB, as small as a JWT of GH_CAP_JWT plus ordinary headers allows. MHD 0.9.75 takes an
 * Authorization header of up to ~30,000 bytes in it (34,000: 431), so a token just past
 * GH_CAP_JWT still gets an RFC 6750 401. */
#define GH_CAP_CONN_MEMORY (32 * 1024)
/* A bearer JWT: Entra access tokens stop at 200 group ids (~11 KiB; more become a groups
 * overage claim), so about twice that. */
#define GH_CAP_JWT (24 * 1024)
/* OIDC discovery and JWKS documents (Entra's JWKS is ~10 KiB). */
#define GH_CAP_DISCOVERY (256 * 1024)
#define GH_CAP_JWKS      (256 * 1024)
/* SCIM list page size (ServiceProviderConfig filter.maxResults). */
#define GH_CAP_SCIM_COUNT 1000
/* SCIM filter: bytes and nesting depth (parentheses, not, value paths). */
#define GH_CAP_SCIM_FILTER_LEN   4096
#define GH_CAP_SCIM_FILTER_DEPTH 16
/* Value filters in one attributes/excludedAttributes list (emails[type eq "work"]): each is
 * evaluated on every element of every resource a page returns. */
#define GH_CAP_SCIM_PROJ_FILTERS 16
/* Top-level "urn:..." members of one SCIM resource body (extension objects and URN-qualified
 * attributes). Entra sends the enterprise extension and a few custom attributes; each member is
 * matched against the schemas list, so an unbounded number would cost quadratic time. */
#define GH_CAP_SCIM_URN_MEMBERS 256
/* JSON nesting (request bodies, JWT header and payload, policy file): SCIM resources and PATCH
 * bodies nest at most 5 deep, a policy 4, an Entra token 3. The strict check (core/json.c)
 * refuses deeper input before cJSON's recursive parser sees it. */
#define GH_CAP_JSON_DEPTH 32
/* Policy file size. */
#define GH_CAP_POLICY (4L * 1024 * 1024)
/* Config file size and line length. */
#define GH_CAP_CONFIG_FILE (64L * 1024)
#define GH_CAP_CONFIG_LINE 4096
/* /v1/authorize checks in one request. */
#define GH_CAP_AUTHZ_CHECKS 100
/* Client addresses whose failed authentications are tracked at once (about 80 bytes each). A
 * fixed table, so an attacker spraying addresses cannot grow memory; legitimate clients that
 * fail at the same moment are a handful. */
#define GH_CAP_AUTHFAIL_ADDRS 4096
/* GATEHOUSE_SCIM_EXTENSIONS (scim/extension.c): declared schemas and attributes in all, a URN's
 * and an attribute name's length. Each attribute path is matched against every declared URN, and
 * Entra's custom attributes are a handful per application. */
#define GH_CAP_SCIM_EXT_SCHEMAS 16
#define GH_CAP_SCIM_EXT_ATTRS   64
#define GH_CAP_SCIM_EXT_URN     200
#define GH_CAP_SCIM_EXT_NAME    64
/* Most GATEHOUSE_IDENTITY_CLAIMS pairs (each is a lookup tried in order). */
#define GH_IDENT_PAIRS_MAX 8

#endif
