/*
 * fixture.c - the loopback IdP and the daemon pointed at it (see fixture.h), written once for
 * every end-to-end suite, `make hostile` and `make crashtest`. The daemon's settings are built
 * once at start (in the order: token validation, secrets, files, extra) and reused by every
 * restart, so a restarted daemon is the same configuration on the same files.
 */
#include "tests/support/fixture.h"
#include "tests/support/idp.h"
#include "tests/support/mint.h"
#include "tests/support/support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GH_FIXTURE_ENV_MAX 48

struct gh_fixture_env {
    char *v[GH_FIXTURE_ENV_MAX + 1];
    size_t n;
};

/* Append "name=value" (name NULL: value is a whole "K=V" already), copied. */
static void gh_fixture_env_add(struct gh_fixture_env *e, const char *name, const char *value)
{
    size_t len = (name != NULL ? strlen(name) + 1 : 0) + strlen(value) + 1;
    char *kv = malloc(len);

    ck_assert_msg(e->n < GH_FIXTURE_ENV_MAX, "fixture: more than %d settings", GH_FIXTURE_ENV_MAX);
    if (name != NULL)
        snprintf(kv, len, "%s=%s", name, value);
    else
        snprintf(kv, len, "%s", value);
    e->v[e->n++] = kv;
    e->v[e->n] = NULL;
}

static void gh_fixture_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "fixture: cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* See fixture.h. */
struct gh_fixture *gh_fixture_start(const struct gh_fixture_opts *o)
{
    struct gh_fixture *fx = calloc(1, sizeof(*fx));
    struct gh_fixture_env e = {{NULL}, 0};
    const char *tid = o->tid != NULL ? o->tid : GH_FIXTURE_TID;

    fx->dir = gh_tmpdir_new();
    snprintf(fx->policy_path, sizeof(fx->policy_path), "%s/policy.json", fx->dir);
    snprintf(fx->decision_log, sizeof(fx->decision_log), "%s/decisions.log", fx->dir);
    snprintf(fx->db_path, sizeof(fx->db_path), "%s/gatehouse.db", fx->dir);
    fx->fsize_limit = o->fsize_limit;
    snprintf(fx->tid, sizeof(fx->tid), "%s", tid);
    if (!o->no_idp) {
        bool tls = o->idp_cert_pem != NULL;
        fx->idp = tls ? gh_idp_start_tls(tid, o->idp_cert_pem, o->idp_key_pem) : gh_idp_start(tid);
        fx->key = gh_mint_key_load("rsa1", "kid-one");
        gh_idp_set_keys(fx->idp, &fx->key, 1);
        gh_fixture_env_add(&e, "GATEHOUSE_OIDC_DISCOVERY", gh_idp_discovery_url(fx->idp));
        /* plain http is accepted for a loopback issuer only with this opt-in */
        if (!tls)
            gh_fixture_env_add(&e, "GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER", "1");
        gh_fixture_env_add(&e, "GATEHOUSE_AUDIENCE", GH_IDP_AUDIENCE);
    }
    if (o->scim_token != NULL)
        gh_fixture_env_add(&e, "GATEHOUSE_SCIM_TOKEN", o->scim_token);
    if (o->admin_token != NULL)
        gh_fixture_env_add(&e, "GATEHOUSE_ADMIN_TOKEN", o->admin_token);
    if (o->policy != NULL) {
        gh_fixture_write(fx->policy_path, o->policy);
        gh_fixture_env_add(&e, "GATEHOUSE_POLICY", fx->policy_path);
    }
    if (o->decision_log)
        gh_fixture_env_add(&e, "GATEHOUSE_DECISION_LOG", fx->decision_log);
    if (o->db_in_dir)
        gh_fixture_env_add(&e, "GATEHOUSE_DB", fx->db_path);
    for (size_t i = 0; o->extra != NULL && o->extra[i] != NULL; i++)
        gh_fixture_env_add(&e, NULL, o->extra[i]);
    fx->env = calloc(e.n + 1, sizeof(char *));
    memcpy(fx->env, e.v, (e.n + 1) * sizeof(char *));
    fx->wait_ready = !o->no_wait_ready;
    if (!o->no_daemon)
        gh_fixture_daemon_start(fx);
    return fx;
}

/* See fixture.h. */
void gh_fixture_daemon_start(struct gh_fixture *fx)
{
    ck_assert_msg(fx->proc == NULL, "fixture: the daemon is already running");
    fx->proc = gh_proc_start_fsize((const char *const *)fx->env, fx->wait_ready, fx->fsize_limit);
}

/* See fixture.h. */
int gh_fixture_daemon_stop(struct gh_fixture *fx)
{
    int rc = 0;
    if (fx->proc != NULL)
        rc = gh_proc_stop(fx->proc);
    fx->proc = NULL;
    return rc;
}

/* See fixture.h. */
int gh_fixture_stop(struct gh_fixture *fx)
{
    int rc;
    if (fx == NULL)
        return 0;
    rc = gh_fixture_daemon_stop(fx);
    gh_idp_stop(fx->idp);
    gh_mint_key_free(fx->key);
    for (size_t i = 0; fx->env[i] != NULL; i++)
        free(fx->env[i]);
    free(fx->env);
    gh_tmpdir_remove(fx->dir);
    free(fx);
    return rc;
}

/* See fixture.h. */
cJSON *gh_fixture_claims(const struct gh_fixture *fx)
{
    return gh_mint_claims(gh_idp_issuer(fx->idp), GH_IDP_AUDIENCE, fx->tid);
}

/* See fixture.h. */
char *gh_fixture_token(const struct gh_fixture *fx, cJSON *claims)
{
    cJSON *c = claims != NULL ? claims : gh_fixture_claims(fx);
    char *t = gh_mint_jwt(fx->key, "RS256", c);
    cJSON_Delete(c);
    return t;
}
