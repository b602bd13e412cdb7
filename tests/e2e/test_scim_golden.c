/*
 * test_scim_golden.c - replays the golden SCIM cases of tests/data/scim/NNN-*.txt (format in
 * tests/data/scim/README.md) against a fresh daemon each: Entra's request bodies as data, the
 * expected status and a JSON subset of the response.
 */
#include "tests/support/scim_client.h"

#include <dirent.h>

#define GOLDEN_MAX 64

static char golden_files[GOLDEN_MAX][700];
static int golden_count;

struct golden_var {
    char name[32];
    char value[64];
};

struct golden {
    struct golden_var vars[32];
    int nvars;
};

/* Substitute ${name} in s; returns a malloc'ed string. */
static char *golden_subst(const struct golden *g, const char *s)
{
    size_t cap = strlen(s) * 2 + 256, n = 0;
    char *out = malloc(cap);
    while (*s) {
        const char *end;
        if (s[0] == '$' && s[1] == '{' && (end = strchr(s, '}')) != NULL) {
            int found = 0;
            for (int i = 0; i < g->nvars; i++)
                if (strlen(g->vars[i].name) == (size_t)(end - s - 2) &&
                    strncmp(g->vars[i].name, s + 2, (size_t)(end - s - 2)) == 0) {
                    size_t l = strlen(g->vars[i].value);
                    if (n + l + 1 >= cap)
                        out = realloc(out, cap = cap * 2 + l);
                    memcpy(out + n, g->vars[i].value, l);
                    n += l;
                    found = 1;
                    break;
                }
            ck_assert_msg(found, "unknown variable in %s", s);
            s = end + 1;
            continue;
        }
        if (n + 2 >= cap)
            out = realloc(out, cap *= 2);
        out[n++] = *s++;
    }
    out[n] = '\0';
    return out;
}

/* Is want a subset of got ("*" matches anything)? Explains the first mismatch in why. */
static int golden_subset(const cJSON *want, const cJSON *got, char *why, size_t cap, const char *at)
{
    char here[256];
    if (cJSON_IsString(want) && strcmp(want->valuestring, "*") == 0)
        return got != NULL || (snprintf(why, cap, "%s: missing", at), 0);
    if (got == NULL) {
        snprintf(why, cap, "%s: missing", at);
        return 0;
    }
    if (cJSON_IsObject(want)) {
        const cJSON *w;
        if (!cJSON_IsObject(got)) {
            snprintf(why, cap, "%s: not an object", at);
            return 0;
        }
        cJSON_ArrayForEach(w, want)
        {
            snprintf(here, sizeof(here), "%s.%s", at, w->string);
            if (!golden_subset(w, cJSON_GetObjectItemCaseSensitive(got, w->string), why, cap, here))
                return 0;
        }
        return 1;
    }
    if (cJSON_IsArray(want)) {
        if (!cJSON_IsArray(got) || cJSON_GetArraySize(want) != cJSON_GetArraySize(got)) {
            snprintf(why, cap, "%s: array length differs", at);
            return 0;
        }
        for (int i = 0; i < cJSON_GetArraySize(want); i++) {
            snprintf(here, sizeof(here), "%s[%d]", at, i);
            if (!golden_subset(cJSON_GetArrayItem(want, i), cJSON_GetArrayItem(got, i), why, cap,
                               here))
                return 0;
        }
        return 1;
    }
    if (!cJSON_Compare(want, got, true)) {
        char *a = cJSON_PrintUnformatted(want), *b = cJSON_PrintUnformatted(got);
        snprintf(why, cap, "%s: want %s got %s", at, a, b);
        free(a);
        free(b);
        return 0;
    }
    return 1;
}

static void golden_trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* Run the exchange: method/path/body, then check status and the expected subset. */
static void golden_exchange(struct golden *g, const char *file, int line, const char *reqline,
                            const char *body, long status, const char *expect)
{
    char method[16], rawpath[2048], name[32] = "";
    int n = sscanf(reqline, "%15s %2047s @%31s", method, rawpath, name);
    ck_assert_msg(n >= 2, "%s:%d: bad request line", file, line);
    char *path = golden_subst(g, rawpath);
    char *b = *body ? golden_subst(g, body) : NULL;
    struct scim_res r = scim_call(method, path, b);
    ck_assert_msg(r.status == status, "%s:%d: %s %s: status %ld, want %ld: %s", file, line, method,
                  path, r.status, status, r.raw);
    if (*expect) {
        char *e = golden_subst(g, expect), why[512] = "";
        cJSON *want = cJSON_Parse(e);
        ck_assert_msg(want != NULL, "%s:%d: expected JSON does not parse", file, line);
        ck_assert_msg(golden_subset(want, r.json, why, sizeof(why), "$"), "%s:%d: %s\n%s", file,
                      line, why, r.raw);
        cJSON_Delete(want);
        free(e);
    }
    if (name[0] && r.status == 201) {
        ck_assert(g->nvars < 32);
        snprintf(g->vars[g->nvars].name, sizeof(g->vars[0].name), "%s", name);
        snprintf(g->vars[g->nvars].value, sizeof(g->vars[0].value), "%s", scim_str(r.json, "id"));
        g->nvars++;
    }
    scim_res_free(&r);
    free(path);
    free(b);
}

START_TEST(golden_case)
{
    const char *file = golden_files[_i];
    FILE *f = fopen(file, "r");
    struct golden g = {0};
    char line[16384], reqline[16384] = "";
    char *body = calloc(1, 65536), *expect = calloc(1, 65536);
    int state = 0, lineno = 0, reqno = 0; /* 0 none, 1 body, 2 expect */
    long status = 0;

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        golden_trim(line);
        if (line[0] == '#' && state != 1)
            continue;
        if (line[0] == '>') {
            if (state == 2)
                golden_exchange(&g, file, reqno, reqline, body, status, expect);
            snprintf(reqline, sizeof(reqline), "%s", line + 2);
            body[0] = expect[0] = '\0';
            reqno = lineno;
            state = 1;
        } else if (line[0] == '<') {
            ck_assert_msg(state == 1, "%s:%d: response without request", file, lineno);
            status = strtol(line + 2, NULL, 10);
            state = 2;
        } else if (state == 1 && line[0]) {
            strncat(body, line, 65535 - strlen(body));
        } else if (state == 2 && line[0]) {
            strncat(expect, line, 65535 - strlen(expect));
        }
    }
    if (state == 2)
        golden_exchange(&g, file, reqno, reqline, body, status, expect);
    ck_assert_msg(state == 2, "%s: ends without a response", file);
    fclose(f);
    free(body);
    free(expect);
}
END_TEST

static int golden_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

Suite *scim_golden_suite(void)
{
    Suite *s = suite_create("scim_golden");
    TCase *tc = tcase_create("golden");
    const char *src = getenv("GH_SRCDIR");
    char dir[400];
    DIR *d;
    struct dirent *e;

    snprintf(dir, sizeof(dir), "%s/tests/data/scim", src && *src ? src : ".");
    d = opendir(dir);
    while (d != NULL && (e = readdir(d)) != NULL && golden_count < GOLDEN_MAX) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".txt") == 0)
            snprintf(golden_files[golden_count++], sizeof(golden_files[0]), "%s/%s", dir,
                     e->d_name);
    }
    if (d != NULL)
        closedir(d);
    qsort(golden_files, (size_t)golden_count, sizeof(golden_files[0]), golden_cmp);
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, scim_e2e_start, scim_e2e_stop);
    tcase_add_loop_test(tc, golden_case, 0, golden_count);
    suite_add_tcase(s, tc);
    return s;
}
