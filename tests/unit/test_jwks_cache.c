/*
 * test_jwks_cache.c - the key cache against the loopback IdP: first load and readiness,
 * periodic refresh honouring max-age (rotation: new kid in, removed kid out), outages of every
 * kind keep the last good set, max-stale, unknown-kid refresh with cooldown and single flight,
 * and readers that never wait for a fetch. All waits are bounded polls.
 */
#include "jwks/jwks.h"
#include "sidecar/gatehouse.h"
#include "tests/support/idp.h"
#include "tests/support/mint.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TID "72f988bf-86f1-41af-91ab-2d7cd011db47"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static bool has_kid(struct jwks_cache *c, const char *kid)
{
    struct jwks_set *s = jwks_cache_acquire(c);
    bool found = s != NULL && jwks_set_key_find(s, kid, strlen(kid)) != NULL;
    jwks_set_release(s);
    return found;
}

/* Poll until has_kid(c, kid) == want (bounded). */
static bool wait_kid(struct jwks_cache *c, const char *kid, bool want, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        if (has_kid(c, kid) == want)
            return true;
        sleep_ms(20);
    }
    return false;
}

struct fixture {
    struct gh_idp *idp;
    struct gh_mint_key *k1, *k2;
    struct gh_config *cfg;
    struct jwks_cache_opts opts; /* borrowed by cache */
    struct jwks_cache *cache;
};

static void fixture_start(struct fixture *f, const char *const *extra, bool start)
{
    struct gh_err err = {0};

    f->idp = gh_idp_start(TID);
    f->k1 = gh_mint_key_load("rsa1", "kid-one");
    f->k2 = gh_mint_key_load("rsa2", "kid-two");
    gh_idp_set_keys(f->idp, &f->k1, 1);
    f->cfg = gh_idp_config(f->idp, extra);
    gh_config_jwks_opts(f->cfg, &f->opts);
    ck_assert_int_eq(jwks_cache_new(&f->opts, &f->cache, &err), GH_OK);
    if (start) {
        ck_assert_int_eq(jwks_cache_start(f->cache, &err), GH_OK);
        ck_assert_msg(wait_kid(f->cache, "kid-one", true, 5000), "first key set never loaded");
    }
}

static void fixture_stop(struct fixture *f)
{
    jwks_cache_free(f->cache);
    gh_config_free(f->cfg);
    gh_mint_key_free(f->k1);
    gh_mint_key_free(f->k2);
    gh_idp_stop(f->idp);
}

START_TEST(first_load_sets_ready)
{
    struct fixture f;
    const char *reason = NULL;
    struct jwks_set *s;
    struct jwks_cache_stats st;

    fixture_start(&f, NULL, false);
    ck_assert(!jwks_cache_ready(f.cache, &reason));
    ck_assert_str_eq(reason, "signing keys not loaded yet");
    ck_assert_ptr_null(jwks_cache_acquire(f.cache));
    ck_assert_int_eq(jwks_cache_start(f.cache, NULL), GH_OK);
    ck_assert(wait_kid(f.cache, "kid-one", true, 5000));
    ck_assert(jwks_cache_ready(f.cache, &reason));
    s = jwks_cache_acquire(f.cache);
    ck_assert_str_eq(jwks_set_issuer(s), gh_idp_issuer(f.idp));
    jwks_set_release(s);
    jwks_cache_stats_get(f.cache, &st);
    ck_assert_uint_eq(st.keys, 1);
    ck_assert_uint_eq(st.fetches, 1);
    ck_assert_uint_eq(gh_idp_discovery_fetches(f.idp), 1);
    fixture_stop(&f);
}
END_TEST

START_TEST(not_ready_while_idp_down)
{
    struct fixture f;
    const char *reason = NULL;
    struct jwks_cache_stats st;

    fixture_start(&f, NULL, false);
    gh_idp_set_mode(f.idp, GH_IDP_FAIL, GH_IDP_OK);
    ck_assert_int_eq(jwks_cache_start(f.cache, NULL), GH_OK);
    /* first attempt plus the 1 s retry */
    ck_assert_uint_ge(gh_idp_wait_jwks_fetches(f.idp, 2, 5000), 2);
    ck_assert(!jwks_cache_ready(f.cache, &reason));
    /* the IdP counts the fetch before the cache has recorded its failure: poll (bounded) */
    for (int i = 0; i < 200; i++) {
        jwks_cache_stats_get(f.cache, &st);
        if (st.failures >= 2)
            break;
        usleep(10 * 1000);
    }
    ck_assert_uint_ge(st.failures, 2);
    /* recovery: the retry loop picks the keys up without a restart */
    gh_idp_set_mode(f.idp, GH_IDP_OK, GH_IDP_OK);
    ck_assert(wait_kid(f.cache, "kid-one", true, 6000));
    ck_assert(jwks_cache_ready(f.cache, &reason));
    fixture_stop(&f);
}
END_TEST

/* max-age=1 with REFRESH_MIN=1: the periodic refresh swaps in the new set and the removed
 * kid disappears. */
START_TEST(periodic_refresh_rotates_keys)
{
    struct fixture f;

    fixture_start(&f, NULL, false);
    gh_idp_set_max_age(f.idp, 1);
    ck_assert_int_eq(jwks_cache_start(f.cache, NULL), GH_OK);
    ck_assert(wait_kid(f.cache, "kid-one", true, 5000));
    gh_idp_set_keys(f.idp, &f.k2, 1);
    ck_assert_msg(wait_kid(f.cache, "kid-two", true, 5000), "new kid not picked up");
    ck_assert_msg(!has_kid(f.cache, "kid-one"), "removed kid still served");
    fixture_stop(&f);
}
END_TEST

/* max-age is clamped up to REFRESH_MIN: max-age=0 must not turn into a fetch loop. */
START_TEST(max_age_clamped_to_refresh_min)
{
    static const char *const extra[] = {"GATEHOUSE_JWKS_REFRESH_MIN=3", NULL};
    struct fixture f;
    unsigned n;

    fixture_start(&f, extra, false);
    gh_idp_set_max_age(f.idp, 0);
    ck_assert_int_eq(jwks_cache_start(f.cache, NULL), GH_OK);
    ck_assert(wait_kid(f.cache, "kid-one", true, 5000));
    sleep_ms(1500);
    n = gh_idp_jwks_fetches(f.idp);
    ck_assert_uint_eq(n, 1);
    fixture_stop(&f);
}
END_TEST

/* Every kind of bad answer keeps the last good set. */
START_TEST(outage_keeps_last_good_set)
{
    static const enum gh_idp_mode modes[] = {GH_IDP_FAIL, GH_IDP_GARBLED, GH_IDP_EMPTY, GH_IDP_HUGE,
                                             GH_IDP_CLOSE};
    struct fixture f;
    const char *reason;
    struct jwks_cache_stats st;

    fixture_start(&f, NULL, false);
    gh_idp_set_max_age(f.idp, 1);
    ck_assert_int_eq(jwks_cache_start(f.cache, NULL), GH_OK);
    ck_assert(wait_kid(f.cache, "kid-one", true, 5000));
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        unsigned before = gh_idp_jwks_fetches(f.idp);
        gh_idp_set_mode(f.idp, modes[i], GH_IDP_OK);
        ck_assert_uint_ge(gh_idp_wait_jwks_fetches(f.idp, before + 1, 5000), before + 1);
        sleep_ms(50); /* let the refresh thread finish handling the answer */
        ck_assert_msg(has_kid(f.cache, "kid-one"), "mode %zu dropped the good set", i);
        ck_assert(jwks_cache_ready(f.cache, &reason));
    }
    jwks_cache_stats_get(f.cache, &st);
    ck_assert_uint_ge(st.failures, 5);
    ck_assert_uint_eq(st.keys, 1);
    fixture_stop(&f);
}
END_TEST

START_TEST(stale_set_is_not_served)
{
    struct fixture f;
    const char *reason = NULL;

    fixture_start(&f, NULL, true);
    /* the smallest configurable bound is 60 s; tighten it in place for the test */
    f.opts.max_stale_s = 0;
    sleep_ms(1100);
    ck_assert_ptr_null(jwks_cache_acquire(f.cache));
    ck_assert(!jwks_cache_ready(f.cache, &reason));
    ck_assert_str_eq(reason, "signing keys are stale");
    fixture_stop(&f);
}
END_TEST

START_TEST(unknown_kid_forces_one_refresh)
{
    static const char *const extra[] = {"GATEHOUSE_JWKS_COOLDOWN=30", NULL};
    struct fixture f;
    struct gh_mint_key *both[2];
    struct jwks_cache_stats st;

    fixture_start(&f, extra, true);
    both[0] = f.k1;
    both[1] = f.k2;
    gh_idp_set_keys(f.idp, both, 2);
    ck_assert(jwks_cache_refresh_unknown_kid(f.cache));
    ck_assert(has_kid(f.cache, "kid-two"));
    ck_assert_uint_eq(gh_idp_jwks_fetches(f.idp), 2);
    /* within the cooldown: no fetch, immediate answer */
    ck_assert(!jwks_cache_refresh_unknown_kid(f.cache));
    ck_assert_uint_eq(gh_idp_jwks_fetches(f.idp), 2);
    jwks_cache_stats_get(f.cache, &st);
    ck_assert_uint_eq(st.forced, 1);
    ck_assert_uint_eq(st.forced_skipped, 1);
    fixture_stop(&f);
}
END_TEST

static void *flood_thread(void *arg)
{
    for (int i = 0; i < 20; i++)
        jwks_cache_refresh_unknown_kid(arg);
    return NULL;
}

/* 32 threads x 20 unknown-kid refresh requests against a slow IdP: one fetch. */
START_TEST(unknown_kid_flood_single_flight)
{
    static const char *const extra[] = {"GATEHOUSE_JWKS_COOLDOWN=30", NULL};
    struct fixture f;
    pthread_t th[32];

    fixture_start(&f, extra, true);
    gh_idp_set_delay_ms(f.idp, 300);
    for (int i = 0; i < 32; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, flood_thread, f.cache), 0);
    for (int i = 0; i < 32; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_eq(gh_idp_jwks_fetches(f.idp), 2); /* initial load + one forced */
    fixture_stop(&f);
}
END_TEST

struct waiter {
    struct jwks_cache *c;
    double ms;
};

static void *slow_refresh_thread(void *arg)
{
    struct waiter *w = arg;
    double t0 = now_ms();
    jwks_cache_refresh_unknown_kid(w->c);
    w->ms = now_ms() - t0;
    return NULL;
}

/* While an unknown-kid refresh waits on a slow IdP, readers of known keys do not wait. */
START_TEST(known_kids_never_wait)
{
    static const char *const extra[] = {"GATEHOUSE_JWKS_COOLDOWN=0", NULL};
    struct fixture f;
    struct waiter w;
    pthread_t th;
    double worst = 0;

    fixture_start(&f, extra, true);
    gh_idp_set_delay_ms(f.idp, 1000);
    w.c = f.cache;
    ck_assert_int_eq(pthread_create(&th, NULL, slow_refresh_thread, &w), 0);
    sleep_ms(100);
    for (int i = 0; i < 200; i++) {
        double t0 = now_ms(), d;
        ck_assert(has_kid(f.cache, "kid-one"));
        d = now_ms() - t0;
        worst = d > worst ? d : worst;
    }
    pthread_join(th, NULL);
    ck_assert_msg(worst < 250.0, "a reader waited %.1f ms", worst); /* the fetch takes 1000 */
    ck_assert_msg(w.ms >= 800.0, "the refresh did not wait for the fetch (%.0f ms)", w.ms);
    fixture_stop(&f);
}
END_TEST

/* With 2 HTTP workers only one request may wait for a forced refresh; the others answer at once
 * (a flood of bogus kids cannot occupy every worker while the IdP is slow). */
START_TEST(waiters_are_capped)
{
    static const char *const extra[] = {"GATEHOUSE_JWKS_COOLDOWN=30", "GATEHOUSE_THREADS=2", NULL};
    struct fixture f;
    struct waiter w;
    struct jwks_cache_stats st;
    pthread_t th;
    double t0, d;

    fixture_start(&f, extra, true);
    gh_idp_set_delay_ms(f.idp, 1000);
    w.c = f.cache;
    ck_assert_int_eq(pthread_create(&th, NULL, slow_refresh_thread, &w), 0);
    ck_assert_uint_ge(gh_idp_wait_jwks_fetches(f.idp, 2, 5000), 2); /* the forced fetch began */
    t0 = now_ms();
    ck_assert(!jwks_cache_refresh_unknown_kid(f.cache));
    d = now_ms() - t0;
    ck_assert_msg(d < 250.0, "second waiter blocked %.0f ms", d);
    pthread_join(th, NULL);
    ck_assert_msg(w.ms >= 800.0, "the first caller did not wait for the fetch (%.0f ms)", w.ms);
    jwks_cache_stats_get(f.cache, &st);
    ck_assert_uint_eq(st.forced, 1);
    ck_assert_uint_ge(st.forced_skipped, 1);
    fixture_stop(&f);
}
END_TEST

START_TEST(metrics_exposition)
{
    struct fixture f;
    struct gh_buf out;

    fixture_start(&f, NULL, true);
    gh_buf_init(&out, 1 << 20);
    jwks_cache_metrics(f.cache, &out);
    ck_assert(strstr(gh_buf_str(&out), "gatehouse_jwks_keys 1") != NULL);
    ck_assert(strstr(gh_buf_str(&out), "gatehouse_jwks_fetches_total 1") != NULL);
    ck_assert(strstr(gh_buf_str(&out), "gatehouse_jwks_age_seconds") != NULL);
    gh_buf_free(&out);
    fixture_stop(&f);
}
END_TEST

Suite *jwks_cache_suite(void)
{
    Suite *s = suite_create("jwks_cache");
    TCase *tc = tcase_create("cache");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, first_load_sets_ready);
    tcase_add_test(tc, not_ready_while_idp_down);
    tcase_add_test(tc, periodic_refresh_rotates_keys);
    tcase_add_test(tc, max_age_clamped_to_refresh_min);
    tcase_add_test(tc, outage_keeps_last_good_set);
    tcase_add_test(tc, stale_set_is_not_served);
    tcase_add_test(tc, unknown_kid_forces_one_refresh);
    tcase_add_test(tc, unknown_kid_flood_single_flight);
    tcase_add_test(tc, known_kids_never_wait);
    tcase_add_test(tc, waiters_are_capped);
    tcase_add_test(tc, metrics_exposition);
    suite_add_tcase(s, tc);
    return s;
}
