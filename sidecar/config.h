/*
 * config.h - the daemon's settings: one table (config.c), one struct, immutable after start.
 *
 * Precedence: defaults < config file (KEY=VALUE, the same GATEHOUSE_* names) < environment.
 * Secrets (GATEHOUSE_SCIM_TOKEN, GATEHOUSE_ADMIN_TOKEN) are hashed at load: only SHA-256 digests
 * are kept, and the clear text is wiped.
 */
#ifndef GH_CONFIG_H
#define GH_CONFIG_H

#include "core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct authz_verifier_opts;
struct jwks_cache_opts;
struct scim_ext_set;

struct gh_config {
    /* listener */
    char *listen_host; /* "127.0.0.1", "::1", "0.0.0.0" */
    int listen_port;   /* 0 = any free port (tests) */
    char *tls_cert;    /* path or NULL */
    char *tls_key;     /* path or NULL */
    int threads;
    int max_connections;
    int max_connections_per_ip; /* 0: no limit */
    int conn_timeout;           /* seconds */
    int header_timeout;         /* seconds from accept to complete headers */
    int body_timeout;           /* seconds from complete headers to complete body */
    long max_body;              /* bytes */
    int max_body_inflight;      /* bytes of bodies being received, all connections */
    int shutdown_grace;         /* seconds to finish in-flight requests */
    /* store */
    char *db;             /* SQLite path or postgresql:// URL */
    int max_staleness;    /* seconds */
    int revision_wait_ms; /* min_revision wait bound */
    int store_poll_ms;    /* change-feed poll */
    int changes_keep;     /* change-log rows kept */
    /* secrets */
    struct gh_secret_set scim_token;
    struct gh_secret_set admin_token;
    int auth_fail_burst;        /* failed authentications an address may make at once */
    int auth_fail_rate;         /* ... and per minute after that */
    int auth_fail_log_interval; /* seconds between summary log lines per address */
    /* declared SCIM extension schemas */
    char *scim_extensions;         /* GATEHOUSE_SCIM_EXTENSIONS as given, or NULL */
    struct scim_ext_set *scim_ext; /* ... parsed (owned; NULL when unset); installed by daemon.c */
    /* tokens and keys (each struct gh_list: a comma-separated setting, owned by the config) */
    char *oidc_discovery;
    struct gh_list issuers;
    struct gh_list audiences;
    struct gh_list tenants;
    struct gh_list algs;
    int leeway; /* seconds */
    struct gh_list required_scopes;
    struct gh_list required_roles;
    int jwks_refresh_min; /* seconds */
    int jwks_refresh_max; /* seconds */
    int jwks_cooldown;    /* seconds between unknown-kid refreshes */
    int jwks_max_stale;   /* seconds a last-good key set may serve after failures */
    int http_timeout;     /* seconds, outbound fetches */
    char *ca_file;        /* extra CA bundle for outbound HTTPS, or NULL */
    bool allow_insecure_http_issuer;
    int token_cache_size;
    /* authorization */
    char *policy; /* path or NULL */
    struct gh_list identity_claims;
    char *decision_log;     /* path, "stderr", or NULL (off) */
    char *ext_authz_origin; /* "path" (Envoy), "x-original" (nginx), "x-forwarded" (Traefik) */
    /* AuthZEN */
    struct gh_secret_set authzen_token; /* PEP bearer secret(s) */
    struct gh_list authzen_roles;       /* app roles an app-only PEP token may carry */
    bool authzen_reasons;               /* always answer with context */
    char *public_url;                   /* scheme://host[:port] or NULL */
    /* the admin page's sign-in */
    char *admin_client_id;     /* Entra app registration, or NULL: no sign-in */
    char *admin_client_secret; /* clear (sent to the token endpoint), or NULL */
    char *admin_group;         /* access group of the administrators, or NULL */
    int admin_session_ttl;     /* seconds */
    /* logging */
    int log_level; /* enum gh_log_level */
};

/* ---- loading ---- */
/* Build a config from defaults, then `file` (may be NULL; else GATEHOUSE_CONFIG from envp is
 * used when set), then the environment `envp` (NULL-terminated "K=V" strings). On failure the
 * message names the setting and its source. Caller frees with gh_config_free. */
enum gh_status gh_config_load(const char *file, char *const *envp, struct gh_config **out_cfg,
                              struct gh_err *err);
void gh_config_free(struct gh_config *cfg);

/* ---- what each module is told: a module's options, filled from cfg (strings and lists
 * borrowed from it). The cache and verifier borrow the filled struct, so it lives as long as
 * they do (the daemon keeps it in struct gh_app). ---- */
void gh_config_jwks_opts(const struct gh_config *cfg, struct jwks_cache_opts *out);
void gh_config_verifier_opts(const struct gh_config *cfg, struct authz_verifier_opts *out);

/* ---- output ---- */
void gh_config_print(const struct gh_config *cfg, FILE *out); /* --print-config, secrets *** */
void gh_config_help(FILE *out);                               /* --help table */
void gh_config_markdown(FILE *out);                           /* README reference table */

/* A store target fit for logs and --print-config: a URL's password (user:secret@ or
 * password=secret) replaced by "***" (in buf; a path is returned as it is). */
const char *gh_config_db_shown(const char *db, char *buf, size_t cap);

#endif
