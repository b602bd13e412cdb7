/*
 * fixture.h - the end-to-end fixture most suites share: a loopback IdP (idp.h) publishing one
 * RSA key ("kid-one", tests/data/keys/rsa1.pem), and the real daemon (support.h proc) pointed at
 * it, with the SCIM and admin secrets, a policy file and any other GATEHOUSE_* settings a test
 * asks for. Either half can be left out: `no_idp` for a daemon without token validation,
 * `no_daemon` to script the IdP (or change settings) before the daemon starts.
 *
 * gh_fixture_start returns an owned fixture; gh_fixture_stop frees it and everything in it.
 * Pointers in the fixture are borrowed from it. Failures abort the test (ck_assert).
 */
#ifndef GH_TEST_FIXTURE_H
#define GH_TEST_FIXTURE_H

#include <cjson/cJSON.h>
#include <stdbool.h>

struct gh_idp;
struct gh_mint_key;
struct gh_proc;

/* The tenant every suite's tokens come from unless opts.tid says otherwise. */
#define GH_FIXTURE_TID "72f988bf-86f1-41af-91ab-2d7cd011db47"

/* All fields are optional: a zeroed struct is the IdP plus a daemon that validates its tokens
 * (discovery URL, insecure loopback issuer allowed, audience GH_IDP_AUDIENCE), waiting for
 * /readyz. Strings are copied; nothing here needs to outlive gh_fixture_start. */
struct gh_fixture_opts {
    const char *tid;          /* NULL: GH_FIXTURE_TID */
    bool no_idp;              /* no IdP, no token settings: the daemon alone */
    const char *idp_cert_pem; /* the IdP over HTTPS with this certificate (no insecure opt-in) */
    const char *idp_key_pem;  /* ... and this key */
    bool no_daemon;           /* start the daemon later with gh_fixture_daemon_start */
    bool no_wait_ready;       /* do not wait for /readyz (only for "listening") */
    const char *scim_token;   /* GATEHOUSE_SCIM_TOKEN */
    const char *admin_token;  /* GATEHOUSE_ADMIN_TOKEN */
    const char *policy;       /* written to <dir>/policy.json, named by GATEHOUSE_POLICY */
    bool decision_log;        /* GATEHOUSE_DECISION_LOG=<dir>/decisions.log */
    bool db_in_dir;           /* GATEHOUSE_DB=<dir>/gatehouse.db: kept across daemon restarts */
    long long fsize_limit;    /* RLIMIT_FSIZE soft limit for the daemon (0: unchanged) */
    const char *const *extra; /* more "K=V" settings, NULL-terminated, after the ones above */
};

struct gh_fixture {
    struct gh_idp *idp;      /* NULL with no_idp */
    struct gh_mint_key *key; /* rsa1 as "kid-one", published by the IdP; NULL with no_idp */
    struct gh_proc *proc;    /* the running daemon; NULL before it starts or after it stops */
    char *dir;               /* a temp directory removed by gh_fixture_stop */
    char policy_path[600];   /* <dir>/policy.json */
    char decision_log[600];  /* <dir>/decisions.log */
    char db_path[600];       /* <dir>/gatehouse.db */
    long long fsize_limit;   /* applied at each daemon start; a test may change it in between */
    bool wait_ready;         /* each daemon start waits for /readyz */
    char tid[64];            /* the tenant of gh_fixture_claims */
    char **env;              /* the daemon's settings, owned */
};

/* Start the IdP and (unless no_daemon) the daemon. Caller frees with gh_fixture_stop. */
struct gh_fixture *gh_fixture_start(const struct gh_fixture_opts *opts);
/* Start the daemon (again) with the fixture's settings; the previous one must be stopped. */
void gh_fixture_daemon_start(struct gh_fixture *fx);
/* Stop the daemon; returns its exit status (0 when none was running). */
int gh_fixture_daemon_stop(struct gh_fixture *fx);
/* Stop the daemon, the IdP, free the key and remove the directory. Returns the daemon's exit
 * status (0 when none was running). NULL is a no-op returning 0. */
int gh_fixture_stop(struct gh_fixture *fx);

/* Typical Entra claims from the fixture's IdP for its tenant (caller owns the tree). */
cJSON *gh_fixture_claims(const struct gh_fixture *fx);
/* claims (taken and deleted; NULL: gh_fixture_claims) signed RS256 with the fixture's key.
 * Caller frees. */
char *gh_fixture_token(const struct gh_fixture *fx, cJSON *claims);

#endif
