/*
 * test_config.c - the config table: defaults, precedence, errors naming their source, secrets
 * kept only as digests, cross-setting rules, and the README reference staying in step.
 */
#define _GNU_SOURCE
#include "sidecar/gatehouse.h"

#include <check.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct gh_config *load_ok(const char *file, char *const *envp)
{
    struct gh_config *cfg = NULL;
    struct gh_err err = {0};
    ck_assert_msg(gh_config_load(file, envp, &cfg, &err) == GH_OK, "load failed: %s", err.msg);
    return cfg;
}

static void load_fails(const char *file, char *const *envp, const char *want)
{
    struct gh_config *cfg = NULL;
    struct gh_err err = {0};
    ck_assert_int_eq(gh_config_load(file, envp, &cfg, &err), GH_E_INVALID);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strstr(err.msg, want) != NULL, "error \"%s\" lacks \"%s\"", err.msg, want);
}

static char *write_file(const char *text)
{
    static char path[64];
    int fd;
    snprintf(path, sizeof(path), "/tmp/gh-config-XXXXXX");
    fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* Kubernetes puts <SERVICE>_SERVICE_HOST etc. into pods for a Service named gatehouse-...: they
 * are not settings, and must not stop the daemon; a typo in a real setting still does. */
START_TEST(kubernetes_service_links_ignored)
{
    char *env[] = {"GATEHOUSE_SCIM_SERVICE_HOST=10.0.0.1",
                   "GATEHOUSE_SCIM_SERVICE_PORT=8080",
                   "GATEHOUSE_SCIM_SERVICE_PORT_HTTP=8080",
                   "GATEHOUSE_SCIM_PORT=tcp://10.0.0.1:8080",
                   "GATEHOUSE_SCIM_PORT_8080_TCP=tcp://10.0.0.1:8080",
                   "GATEHOUSE_SCIM_PORT_8080_TCP_ADDR=10.0.0.1",
                   "GATEHOUSE_DB=postgresql://gh:s3cret@db:5432/gh?sslmode=require&password=p4ss",
                   NULL};
    char *typo[] = {"GATEHOUSE_MAX_STALENES=5", NULL};
    char *port_typo[] = {"GATEHOUSE_SCIM_PORT=8080", NULL};
    char shown[256];
    struct gh_config *cfg = load_ok(NULL, env);
    ck_assert_str_eq(gh_config_db_shown(cfg->db, shown, sizeof(shown)),
                     "postgresql://gh:***@db:5432/gh?sslmode=require&password=***");
    ck_assert_str_eq(gh_config_db_shown("/var/lib/gh.db", shown, sizeof(shown)), "/var/lib/gh.db");
    ck_assert_str_eq(gh_config_db_shown("postgresql://gh@db/x", shown, sizeof(shown)),
                     "postgresql://gh@db/x");
    gh_config_free(cfg);
    load_fails(NULL, typo, "GATEHOUSE_MAX_STALENES");
    load_fails(NULL, port_typo, "GATEHOUSE_SCIM_PORT");
}
END_TEST

START_TEST(defaults)
{
    char *env[] = {NULL};
    struct gh_config *cfg = load_ok(NULL, env);
    ck_assert_str_eq(cfg->listen_host, "127.0.0.1");
    ck_assert_int_eq(cfg->listen_port, 8080);
    ck_assert_str_eq(cfg->db, "gatehouse.db");
    ck_assert_int_eq(cfg->scim_token.count, 0);
    ck_assert_uint_eq(cfg->algs.count, 1);
    ck_assert_str_eq(cfg->algs.items[0], "RS256");
    ck_assert_int_eq(cfg->leeway, 60);
    ck_assert_int_eq(cfg->max_body, GH_CAP_BODY_DEFAULT);
    ck_assert_ptr_null(cfg->tls_cert);
    ck_assert_int_eq(cfg->log_level, GH_LOG_INFO);
    ck_assert_uint_eq(cfg->identity_claims.count, 3);
    /* threads: twice the usable CPUs (never more than twice the online ones) */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    ck_assert_int_ge(cfg->threads, 2);
    ck_assert_int_le(cfg->threads, cpus > 32 ? 64 : (int)(2 * (cpus < 1 ? 1 : cpus)));
    ck_assert_int_eq(cfg->threads % 2, 0);
    gh_config_free(cfg);
}
END_TEST

START_TEST(env_beats_file_beats_default)
{
    char *path = write_file("# comment\n\nGATEHOUSE_LEEWAY=10\nGATEHOUSE_THREADS = 3\n"
                            "GATEHOUSE_DB=\"/var/lib/x.db\"\n");
    char *env[] = {"GATEHOUSE_LEEWAY=20", "PATH=/bin", "OTHER_GATEHOUSE_X=1", NULL};
    struct gh_config *cfg = load_ok(path, env);
    ck_assert_int_eq(cfg->leeway, 20);
    ck_assert_int_eq(cfg->threads, 3);
    ck_assert_str_eq(cfg->db, "/var/lib/x.db");
    gh_config_free(cfg);
    unlink(path);
}
END_TEST

START_TEST(config_file_from_env)
{
    char *path = write_file("GATEHOUSE_THREADS=5\n");
    char var[128];
    snprintf(var, sizeof(var), "GATEHOUSE_CONFIG=%s", path);
    char *env[] = {var, NULL};
    struct gh_config *cfg = load_ok(NULL, env);
    ck_assert_int_eq(cfg->threads, 5);
    gh_config_free(cfg);
    unlink(path);
}
END_TEST

START_TEST(errors_name_setting_and_source)
{
    char *path = write_file("GATEHOUSE_THREADS=2\nGATEHOUSE_LISTEN=localhost:99999\n");
    char want[128];
    char *none[] = {NULL};
    snprintf(want, sizeof(want), "%s:2: GATEHOUSE_LISTEN", path);
    load_fails(path, none, want);
    unlink(path);

    path = write_file("GATEHOUSE_TRHEADS=2\n");
    load_fails(path, none, "unknown setting GATEHOUSE_TRHEADS");
    unlink(path);
    path = write_file("just words\n");
    load_fails(path, none, ":1: expected KEY=VALUE");
    unlink(path);
    load_fails("/nonexistent/gatehouse.conf", none, "cannot open config file");

    static const struct {
        const char *var, *want;
    } cases[] = {
        {"GATEHOUSE_LISTEN=nonsense", "environment: GATEHOUSE_LISTEN: expected host:port"},
        {"GATEHOUSE_THREADS=-1", "environment: GATEHOUSE_THREADS: expected an integer from 0"},
        {"GATEHOUSE_THREADS=2x", "GATEHOUSE_THREADS"},
        {"GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=maybe", "GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER"},
        {"GATEHOUSE_LOG_LEVEL=loud", "GATEHOUSE_LOG_LEVEL: expected error, warn"},
        {"GATEHOUSE_ALGS=RS256,none", "none is not allowed"},
        {"GATEHOUSE_ALGS=HS256", "HS256 is not allowed"},
        {"GATEHOUSE_SCIM_TOKEN=short", "secret shorter than 16"},
        {"GATEHOUSE_SCIM_TOKEN=sha256:abc", "64 hex digits"},
        {"GATEHOUSE_SCIM_TOKEN=aaaaaaaaaaaaaaaa1,aaaaaaaaaaaaaaaa2,aaaaaaaaaaaaaaaa3",
         "at most two"},
        {"GATEHOUSE_TLS_CERT=/tmp/x.pem", "GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY go together"},
        {"GATEHOUSE_OIDC_DISCOVERY=ftp://x/", "must be an https:// URL"},
        {"GATEHOUSE_OIDC_DISCOVERY=http://127.0.0.1:9/x", "needs GATEHOUSE_ALLOW_INSECURE"},
        {"GATEHOUSE_IDENTITY_CLAIMS=oid:mail", "GATEHOUSE_IDENTITY_CLAIMS"},
        {"GATEHOUSE_IDENTITY_CLAIMS=a:userName,b:userName,c:userName,d:userName,e:userName,"
         "f:userName,g:userName,h:userName,i:userName",
         "at most 8 pairs"},
        {"GATEHOUSE_EXT_AUTHZ_ORIGIN=auto",
         "GATEHOUSE_EXT_AUTHZ_ORIGIN: expected path, x-original"},
        {"GATEHOUSE_NOT_A_SETTING=1", "environment: unknown setting GATEHOUSE_NOT_A_SETTING"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *env[] = {(char *)cases[i].var, NULL};
        load_fails(NULL, env, cases[i].want);
    }
}
END_TEST

START_TEST(insecure_http_issuer_loopback_only)
{
    char *ok[] = {"GATEHOUSE_OIDC_DISCOVERY=http://127.0.0.1:9/.well-known/openid-configuration",
                  "GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=1", NULL};
    char *bad[] = {"GATEHOUSE_OIDC_DISCOVERY=http://idp.example.com/.well-known/x",
                   "GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=1", NULL};
    gh_config_free(load_ok(NULL, ok));
    load_fails(NULL, bad, "loopback hosts only");
}
END_TEST

START_TEST(secrets_kept_as_digests)
{
    const char *s1 = "current-secret-0123456789", *s2 = "next-secret-9876543210";
    unsigned char d[32];
    char env1[128], env2[160], hex[65];
    SHA256((const unsigned char *)s2, strlen(s2), d);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    snprintf(env1, sizeof(env1), "GATEHOUSE_SCIM_TOKEN=%s, sha256:%s", s1, hex);
    snprintf(env2, sizeof(env2), "GATEHOUSE_ADMIN_TOKEN=%s", s1);
    char *env[] = {env1, env2, NULL};
    struct gh_config *cfg = load_ok(NULL, env);
    ck_assert_int_eq(cfg->scim_token.count, 2);
    ck_assert(gh_secret_set_matches(&cfg->scim_token, s1, strlen(s1)));
    ck_assert(gh_secret_set_matches(&cfg->scim_token, s2, strlen(s2)));
    ck_assert(!gh_secret_set_matches(&cfg->scim_token, s1, strlen(s1) - 1));
    ck_assert(!gh_secret_set_matches(&cfg->scim_token, "", 0));
    ck_assert(gh_secret_set_matches(&cfg->admin_token, s1, strlen(s1)));
    /* the clear text is nowhere in the struct */
    ck_assert_ptr_null(memmem(cfg, sizeof(*cfg), s1, strlen(s1)));
    {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        gh_config_print(cfg, f);
        fclose(f);
        ck_assert_ptr_null(strstr(out, s1));
        ck_assert_ptr_null(strstr(out, hex));
        ck_assert_ptr_nonnull(strstr(out, "GATEHOUSE_SCIM_TOKEN=***,***\n"));
        ck_assert_ptr_nonnull(strstr(out, "GATEHOUSE_ADMIN_TOKEN=***\n"));
        free(out);
    }
    gh_config_free(cfg);
}
END_TEST

/* The admin page's client secret is sent to the token endpoint, so it is kept as text, but
 * --print-config shows *** for it; sign-in without a provider is refused at load. */
START_TEST(admin_signin_settings)
{
    char *env[] = {"GATEHOUSE_OIDC_DISCOVERY=https://login.example/t/v2.0/.well-known/"
                   "openid-configuration",
                   "GATEHOUSE_AUDIENCE=api://x",
                   "GATEHOUSE_ADMIN_CLIENT_ID=client-1",
                   "GATEHOUSE_ADMIN_CLIENT_SECRET=very-secret-value-42",
                   "GATEHOUSE_ADMIN_GROUP=Gatehouse Admins",
                   NULL};
    char *bad[] = {"GATEHOUSE_ADMIN_CLIENT_ID=client-1", NULL};
    struct gh_config *cfg = load_ok(NULL, env);
    struct gh_err err = {0};
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    ck_assert_str_eq(cfg->admin_client_id, "client-1");
    ck_assert_str_eq(cfg->admin_client_secret, "very-secret-value-42");
    ck_assert_str_eq(cfg->admin_group, "Gatehouse Admins");
    ck_assert_int_eq(cfg->admin_session_ttl, 28800);
    gh_config_print(cfg, f);
    fclose(f);
    ck_assert_ptr_null(strstr(out, "very-secret-value-42"));
    ck_assert_ptr_nonnull(strstr(out, "GATEHOUSE_ADMIN_CLIENT_SECRET=***\n"));
    free(out);
    gh_config_free(cfg);
    cfg = NULL;
    ck_assert_int_eq(gh_config_load(NULL, bad, &cfg, &err), GH_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "GATEHOUSE_OIDC_DISCOVERY"));
}
END_TEST

START_TEST(unset_secret_matches_nothing)
{
    struct gh_secret_set none = {0};
    ck_assert(!gh_secret_set_matches(&none, "", 0));
    ck_assert(!gh_secret_set_matches(&none, "anything-at-all-123", 19));
}
END_TEST

START_TEST(lists_and_ipv6)
{
    char *env[] = {"GATEHOUSE_AUDIENCE= api://x , 11111111-2222-3333-4444-555555555555,,",
                   "GATEHOUSE_LISTEN=[::1]:9090", NULL};
    struct gh_config *cfg = load_ok(NULL, env);
    ck_assert_uint_eq(cfg->audiences.count, 2);
    ck_assert_str_eq(cfg->audiences.items[0], "api://x");
    ck_assert(gh_list_contains(&cfg->audiences, "11111111-2222-3333-4444-555555555555"));
    ck_assert(!gh_list_contains(&cfg->audiences, "api://"));
    ck_assert_str_eq(cfg->listen_host, "::1");
    ck_assert_int_eq(cfg->listen_port, 9090);
    gh_config_free(cfg);
}
END_TEST

/* README's configuration reference must name every setting of the table, and nothing else. */
START_TEST(readme_reference_in_step)
{
    char *out = NULL, *readme = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    FILE *r = fopen("README.md", "r");
    long n;
    gh_config_markdown(f);
    fclose(f);
    ck_assert_msg(r != NULL, "README.md not found (run from the repository root)");
    fseek(r, 0, SEEK_END);
    n = ftell(r);
    fseek(r, 0, SEEK_SET);
    readme = calloc(1, (size_t)n + 1);
    ck_assert_int_eq(fread(readme, 1, (size_t)n, r), (size_t)n);
    fclose(r);
    ck_assert_msg(strstr(readme, out) != NULL,
                  "README.md's configuration table differs from `gatehouse --config-reference`");
    free(out);
    free(readme);
}
END_TEST

Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, kubernetes_service_links_ignored);
    tcase_add_test(tc, env_beats_file_beats_default);
    tcase_add_test(tc, config_file_from_env);
    tcase_add_test(tc, errors_name_setting_and_source);
    tcase_add_test(tc, insecure_http_issuer_loopback_only);
    tcase_add_test(tc, secrets_kept_as_digests);
    tcase_add_test(tc, unset_secret_matches_nothing);
    tcase_add_test(tc, admin_signin_settings);
    tcase_add_test(tc, lists_and_ipv6);
    tcase_add_test(tc, readme_reference_in_step);
    suite_add_tcase(s, tc);
    return s;
}
