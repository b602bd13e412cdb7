/*
 * idp.h - a real OpenID provider on loopback for tests (libmicrohttpd, port 0).
 *
 * Serves, for tenant T:
 *   GET /T/v2.0/.well-known/openid-configuration  -> {"issuer":..., "jwks_uri":...}
 *   GET /T/discovery/v2.0/keys                    -> the current JWKS
 * Keys can be rotated and responses made failing, garbled, empty, oversized or slow at any
 * time; fetches are counted. Thread-safe; everything it returns is borrowed from the idp.
 */
#ifndef GH_TEST_IDP_H
#define GH_TEST_IDP_H

#include <stddef.h>

struct gh_mint_key;
struct gh_idp;

enum gh_idp_mode {
    GH_IDP_OK = 0,
    GH_IDP_FAIL,    /* 500 */
    GH_IDP_GARBLED, /* 200 with a body that is not JSON */
    GH_IDP_EMPTY,   /* 200 {"keys":[]} */
    GH_IDP_HUGE,    /* 200 with 1 MiB of JSON-looking bytes */
    GH_IDP_CLOSE,   /* the server drops the connection */
};

/* Start on 127.0.0.1:0 for tenant id tid. Issuer defaults to the Entra v2 form
 * https://login.microsoftonline.com/<tid>/v2.0. Aborts the test on failure. */
struct gh_idp *gh_idp_start(const char *tid);
/* The same over HTTPS with a PEM certificate and key (copied by MHD before returning). */
struct gh_idp *gh_idp_start_tls(const char *tid, const char *cert_pem, const char *key_pem);
void gh_idp_stop(struct gh_idp *idp); /* NULL is a no-op */
const char *gh_idp_discovery_url(const struct gh_idp *idp);
const char *gh_idp_jwks_url(const struct gh_idp *idp);
const char *gh_idp_issuer(const struct gh_idp *idp);
void gh_idp_set_issuer(struct gh_idp *idp, const char *issuer);
/* Publish exactly these keys (replaces the set: removed keys disappear). */
void gh_idp_set_keys(struct gh_idp *idp, struct gh_mint_key *const *keys, size_t n);
void gh_idp_set_jwks_raw(struct gh_idp *idp, const char *doc);
void gh_idp_set_mode(struct gh_idp *idp, enum gh_idp_mode jwks_mode, enum gh_idp_mode disc_mode);
void gh_idp_set_delay_ms(struct gh_idp *idp, int ms);      /* before every answer */
void gh_idp_set_max_age(struct gh_idp *idp, long seconds); /* -1: no Cache-Control */
unsigned gh_idp_jwks_fetches(const struct gh_idp *idp);
unsigned gh_idp_discovery_fetches(const struct gh_idp *idp);
/* Poll (bounded) until the JWKS fetch count reaches n; returns the count seen. */
unsigned gh_idp_wait_jwks_fetches(const struct gh_idp *idp, unsigned n, int timeout_ms);

/* A gatehouse config pointing at this IdP (discovery URL, insecure loopback allowed, audience
 * "api://gatehouse-test", refresh min 1 s, http timeout 2 s) plus `extra` "K=V" strings
 * (NULL-terminated, may be NULL; later entries win). Caller frees with gh_config_free. */
struct gh_config *gh_idp_config(const struct gh_idp *idp, const char *const *extra);
#define GH_IDP_AUDIENCE "api://gatehouse-test"

#endif
