/*
 * fuzz_jwt_claims.c - the claims of a token whose signature has been checked
 * (authz_token_claims_check: strict JSON object, iss with the {tenantid} template and the signing
 * key's own issuer, aud as string or array, tid allow-list, exp/nbf/iat with leeway; then
 * authz_claims_scope_check: scp / roles). The input is the decoded payload JSON; it is checked
 * under three fixed Entra configurations at a fixed time (FUZZ_NOW):
 *   A single-tenant v2 (issuer from discovery), delegated scope, key without an issuer;
 *   B multi-tenant {tenantid} v1+v2 issuers with a tenant allow-list, app role, key with issuer;
 *   C v1 exact issuer, one tenant, no scope or role required.
 * Invariants checked: an accepted payload has a string iss, an aud of the configuration, a tid
 * of the allow-list (when there is one), a numeric exp not past FUZZ_NOW + leeway, and nbf/iat
 * (when present) not beyond it; the scope check answers GH_OK or GH_E_FORBIDDEN; a rejection is
 * GH_E_UNAUTHORIZED with an error_description of printable ASCII (it goes into a header and the
 * log, so token bytes are quoted safely or not at all).
 */
#include "authz/token.h"
#include "jwks/jwks.h"
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NOW    1700000000
#define FUZZ_LEEWAY 60
#define FUZZ_TID    "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define FUZZ_TID2   "0b6c8a1e-2f3d-4c5b-9a8e-7d6f5e4c3b2a"
#define FUZZ_V2     "https://login.microsoftonline.com/"
#define FUZZ_V1     "https://sts.windows.net/"
#define FUZZ_AUD    "api://gatehouse-test"
#define FUZZ_CLIENT "3f6e8d1a-5b2c-4e7f-9a0b-1c2d3e4f5a6b"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Two of Entra's RSA keys as its JWKS lists them (r2 names the issuer it signs for). */
static const char fuzz_jwks[] =
    "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"r1\",\"n\":\"wW8p42EHuE-oSpDZ7UKbZzikbp"
    "faOcDFgRdo5MfNApL2GOtpxnOA5LqURIUFoEbOSjQK8EL6fLUBfEW_YXR5Vj5uOtHsVVFBAQZEI1LCkZSdywjzIxVNXG"
    "eWFLdpCI1tDeIrNFhOzucBED5f98r6cVwbzcClEigicfchdZVnsXhfPx0RZIB_DGre9qJVOvCdd-zMEh2kdjhT0CNFxP"
    "BEfJqXyEtPAcN_Gz1VdjBBQwuKRnXZ3t23GgjKEXntn0_w9k4d356vCfVzsSnRLDAEYirAdG1r0kGT1Vn71Zr7d8f1z0"
    "IupqBHxKREfH3fEhMYK4ttuKf4LGqTag4Ig6ACqQ\",\"e\":\"AQAB\"},"
    "{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"r2\",\"n\":\"xYJxaZf-DVxWO9gZIOroAcuq47kgC9uzTvEkH"
    "FAjUy9DIjb2FKWbINTaURKZREzuWiZKoPlVhyFXK_rZnovrV74KlnBPyJbGBEoJQ4QdV5zABPYLjmYB8Z34E7Vc-L6IC"
    "H9is6x_jceVKrZ_9h17-KTDHbyKJPJXBCVzNM8kSwLCMjPqoyXcNhAWhm5N6JHhW9FjQeM2L-0jvbntapvbnKPoUp6xx"
    "ouYdhkf-zxb1cFWvy1rdqBgso9n4gFCTu6KUtewLT3N56FkVXxEOcya-ar7GBwXsxAnch22N2eQYZbj7c8gi6CNGdV_6"
    "inDY0imMoBDoWAtuR8lvNFvP-n_BQ\",\"e\":\"AQAB\",\"issuer\":\"" FUZZ_V2 "{tenantid}/v2.0\"}]}";

struct fuzz_cfg {
    const char *env[8];
    const char *set_issuer; /* the discovery document's issuer, or NULL */
    const char *kid;
    /* built once */
    struct gh_config *cfg;
    struct authz_verifier *v;
    struct jwks_set *set;
    const struct jwks_key *key;
};

static struct fuzz_cfg fuzz_cfgs[] = {
    {{"GATEHOUSE_AUDIENCE=" FUZZ_AUD "," FUZZ_CLIENT, "GATEHOUSE_LEEWAY=60",
      "GATEHOUSE_REQUIRED_SCOPES=access_as_user,Files.Read", NULL},
     FUZZ_V2 FUZZ_TID "/v2.0",
     "r1",
     NULL,
     NULL,
     NULL,
     NULL},
    {{"GATEHOUSE_AUDIENCE=" FUZZ_CLIENT, "GATEHOUSE_LEEWAY=60",
      "GATEHOUSE_ISSUER=" FUZZ_V2 "{tenantid}/v2.0," FUZZ_V1 "{tenantid}/",
      "GATEHOUSE_TENANTS=" FUZZ_TID "," FUZZ_TID2, "GATEHOUSE_REQUIRED_ROLES=Gatehouse.Read", NULL},
     NULL,
     "r2",
     NULL,
     NULL,
     NULL,
     NULL},
    {{"GATEHOUSE_AUDIENCE=" FUZZ_AUD, "GATEHOUSE_LEEWAY=60",
      "GATEHOUSE_ISSUER=" FUZZ_V1 FUZZ_TID "/", "GATEHOUSE_TENANTS=" FUZZ_TID, NULL},
     NULL,
     "r1",
     NULL,
     NULL,
     NULL,
     NULL},
};

/* fuzz_cfgs[i].v's rules, filled from fuzz_cfgs[i].cfg (borrowed by the verifier) */
static struct authz_verifier_opts fuzz_vopts[sizeof(fuzz_cfgs) / sizeof(fuzz_cfgs[0])];

static void fuzz_init(void)
{
    struct gh_err err = {0};

    gh_log_set_level(GH_LOG_ERROR);
    for (size_t i = 0; i < sizeof(fuzz_cfgs) / sizeof(fuzz_cfgs[0]); i++) {
        struct fuzz_cfg *f = &fuzz_cfgs[i];
        GH_ASSERT(gh_config_load(NULL, (char *const *)f->env, &f->cfg, &err) == GH_OK);
        /* the claim checks never touch the key cache: no cache (and no network) is needed */
        gh_config_verifier_opts(f->cfg, &fuzz_vopts[i]);
        GH_ASSERT(authz_verifier_new(&fuzz_vopts[i], NULL, &f->v, &err) == GH_OK);
        GH_ASSERT(jwks_set_parse(fuzz_jwks, strlen(fuzz_jwks), f->set_issuer, &f->set, &err) ==
                  GH_OK);
        f->key = jwks_set_key_find(f->set, f->kid, strlen(f->kid));
        GH_ASSERT(f->key != NULL);
    }
}

static bool fuzz_list_has(const struct gh_list *l, const char *s)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

static void fuzz_check_ok(const struct fuzz_cfg *f, const cJSON *p, int64_t exp)
{
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(p, "iss");
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(p, "aud");
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(p, "tid");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(p, "exp");
    const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(p, "nbf");
    const cJSON *iat = cJSON_GetObjectItemCaseSensitive(p, "iat");
    bool aud_ok = false;

    GH_ASSERT(cJSON_IsObject(p) && cJSON_IsString(iss));
    if (cJSON_IsString(aud)) {
        aud_ok = fuzz_list_has(&f->cfg->audiences, aud->valuestring);
    } else {
        const cJSON *a;
        GH_ASSERT(cJSON_IsArray(aud));
        cJSON_ArrayForEach(a, aud)
        {
            GH_ASSERT(cJSON_IsString(a));
            aud_ok = aud_ok || fuzz_list_has(&f->cfg->audiences, a->valuestring);
        }
    }
    GH_ASSERT(aud_ok);
    if (f->cfg->tenants.count > 0)
        GH_ASSERT(cJSON_IsString(tid) && fuzz_list_has(&f->cfg->tenants, tid->valuestring));
    GH_ASSERT(cJSON_IsNumber(e) && exp >= 0 && (int64_t)e->valuedouble == exp);
    GH_ASSERT(FUZZ_NOW <= exp + FUZZ_LEEWAY);
    if (nbf != NULL)
        GH_ASSERT(cJSON_IsNumber(nbf) && nbf->valuedouble < FUZZ_NOW + FUZZ_LEEWAY + 1);
    if (iat != NULL)
        GH_ASSERT(cJSON_IsNumber(iat) && iat->valuedouble < FUZZ_NOW + FUZZ_LEEWAY + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    /* authz_token_claims_check wants the decoded segment NUL-terminated at size */
    char *payload = memcpy(gh_xcalloc(1, size + 1), data, size); /* every byte, NULs too */

    if (!ready) {
        fuzz_init();
        ready = true;
    }
    for (size_t i = 0; i < sizeof(fuzz_cfgs) / sizeof(fuzz_cfgs[0]); i++) {
        const struct fuzz_cfg *f = &fuzz_cfgs[i];
        struct gh_err err = {0};
        cJSON *p = NULL;
        int64_t exp = -1;
        enum gh_status st;

        st =
            authz_token_claims_check(f->v, payload, size, f->set, f->key, FUZZ_NOW, &p, &exp, &err);
        if (st == GH_OK) {
            fuzz_check_ok(f, p, exp);
            st = authz_claims_scope_check(f->v, p, &err);
            GH_ASSERT(st == GH_OK || st == GH_E_FORBIDDEN);
            if (f->cfg->required_scopes.count == 0 && f->cfg->required_roles.count == 0)
                GH_ASSERT(st == GH_OK);
        } else {
            GH_ASSERT(st == GH_E_UNAUTHORIZED && p == NULL && err.status == st);
            GH_ASSERT(err.msg[0] != '\0');
        }
        if (st != GH_OK)
            for (const char *c = err.msg; *c; c++)
                GH_ASSERT(*c >= 0x20 && *c < 0x7f);
        cJSON_Delete(p);
    }
    free(payload);
    return 0;
}
