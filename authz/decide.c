/*
 * decide.c - the decision rules listed in decide.h. Every path sets a reason an operator can act
 * on; a denial never says less than which rule denied.
 */
#include "authz/decide.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void authz_fmt_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* See decide.h. */
void authz_decide(const struct authz_facts *f, int64_t iat, const char *dataset,
                  enum policy_action action, struct authz_result *out)
{
    const char *act = policy_action_name(action);
    char when[32], issued[32];
    const struct authz_membership *revoked = NULL;
    struct gh_span w;

    out->allowed = false;
    if (f->stale != NULL) {
        snprintf(out->reason, sizeof(out->reason), "%s", f->stale);
        return;
    }
    if (f->tenant_mismatch != NULL) {
        snprintf(out->reason, sizeof(out->reason),
                 "token tenant %s is not the provisioned tenant %s", f->tenant_mismatch,
                 f->expected_tenant != NULL ? f->expected_tenant : "(unknown)");
        return;
    }
    if (!f->provisioned) {
        snprintf(out->reason, sizeof(out->reason), "subject is not provisioned (%s)",
                 f->unresolved != NULL ? f->unresolved : "no matching SCIM user");
        return;
    }
    if (!f->active) {
        snprintf(out->reason, sizeof(out->reason), "user %s is deactivated (active=false)",
                 f->user_name);
        return;
    }
    if (iat < f->user_not_before) {
        authz_fmt_time(iat, issued, sizeof(issued));
        authz_fmt_time(f->user_not_before, when, sizeof(when));
        snprintf(out->reason, sizeof(out->reason),
                 "user %s was deprovisioned at %s, after this token was issued (%s): sign in "
                 "again",
                 f->user_name, when, issued);
        return;
    }
    for (size_t i = 0; i < f->nmemberships; i++) {
        const struct authz_membership *m = &f->memberships[i];
        if (!policy_grants_allow(m->group->grants, m->group->ngrants, dataset, action))
            continue;
        if (iat < m->not_before) {
            revoked = m;
            continue;
        }
        out->allowed = true;
        /* the allowing reasons by hand (a span, cut as snprintf cuts): every decision has one */
        gh_span_init(&w, out->reason, sizeof(out->reason) - 1);
        gh_span_lit(&w, "access group \"");
        gh_span_puts(&w, m->group->name);
        gh_span_lit(&w, "\" (IdP group \"");
        gh_span_puts(&w, m->via != NULL ? m->via : m->group->name);
        gh_span_lit(&w, "\") grants ");
        gh_span_puts(&w, act);
        gh_span_lit(&w, " on ");
        gh_span_puts(&w, dataset);
        *w.p = '\0';
        return;
    }
    if (policy_grants_allow(f->defaults, f->ndefaults, dataset, action)) {
        out->allowed = true;
        gh_span_init(&w, out->reason, sizeof(out->reason) - 1);
        gh_span_lit(&w, "default_grants give every active provisioned user ");
        gh_span_puts(&w, act);
        gh_span_lit(&w, " on ");
        gh_span_puts(&w, dataset);
        *w.p = '\0';
        return;
    }
    if (revoked != NULL) {
        authz_fmt_time(iat, issued, sizeof(issued));
        authz_fmt_time(revoked->not_before, when, sizeof(when));
        snprintf(out->reason, sizeof(out->reason),
                 "membership of %s in access group \"%s\" changed at %s, after this token was "
                 "issued (%s): sign in again",
                 f->user_name, revoked->group->name, when, issued);
        return;
    }
    snprintf(out->reason, sizeof(out->reason),
             "no access group of %s (member of %zu) grants %s on %s", f->user_name, f->nmemberships,
             act, dataset);
}
