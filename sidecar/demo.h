/*
 * demo.h - `gatehouse demo` and `gatehouse mint-token`: the first two minutes without a tenant.
 *
 * `gatehouse demo` makes a fresh state directory (default var/demo: the store, SCIM and admin
 * secrets, the development issuer's key, all 0600), starts the development issuer (devissuer.h,
 * NOT FOR PRODUCTION) and the daemon itself (gh_daemon_run) on loopback, pointed at that issuer
 * and at the example policy, provisions users and groups over SCIM HTTP, asks the admin API and
 * /v1/authorize, and prints each request as a curl command with the reply it got. It stays in
 * the foreground until SIGINT/SIGTERM, like the daemon.
 *
 * `gatehouse mint-token` signs an access token with the key of a demo state directory; it refuses
 * any other directory, so it can mint only for the development issuer.
 *
 * Parsed options borrow their strings from argv.
 */
#ifndef GH_DEMO_H
#define GH_DEMO_H

#include "core/core.h"

#define GH_DEMO_DIR      "var/demo"
#define GH_DEMO_LISTEN   "127.0.0.1:8080"
#define GH_DEMO_ISSUER   "127.0.0.1:0"
#define GH_DEMO_POLICY   "policies/examples/policy.json"
#define GH_DEMO_AUDIENCE "api://gatehouse-demo"
#define GH_DEMO_TENANT   "00000000-0000-4000-8000-0000000de300"
#define GH_DEMO_TTL      3600L
/* The admin page's sign-in against the development issuer: its client id, and the access group
 * (in the example policy) whose members are administrators. */
#define GH_DEMO_ADMIN_CLIENT_ID "gatehouse-admin-demo"
#define GH_DEMO_ADMIN_GROUP     "Gatehouse Admins"
/* The last line `gatehouse demo` prints once everything above it has been run and checked. */
#define GH_DEMO_READY_LINE "gatehouse demo is ready; Ctrl-C stops it."

struct gh_demo_opts {
    const char *dir;           /* state directory (created, or reused only when it is a demo's) */
    const char *listen;        /* gatehouse's host:port, loopback only */
    const char *issuer_listen; /* the development issuer's host:port, loopback only (port 0) */
    const char *policy;        /* the policy file */
    const char *self;          /* the binary as printed in commands (argv[0]) */
};

struct gh_demo_mint_opts {
    const char *dir;
    const char *sub, *upn, *oid; /* oid may be NULL */
    long ttl_s;
};

/* `gatehouse demo [--dir D] [--listen H:P] [--issuer-listen H:P] [--policy F]` (argv[1] is
 * "demo"). Fills defaults; GH_E_INVALID names a bad or unknown option. */
enum gh_status gh_demo_args_parse(int argc, char **argv, struct gh_demo_opts *out,
                                  struct gh_err *err);
/* `gatehouse mint-token [--dir D] --sub S --upn U [--oid O] [--ttl SECONDS]`. */
enum gh_status gh_demo_mint_args_parse(int argc, char **argv, struct gh_demo_mint_opts *out,
                                       struct gh_err *err);
/* Split "host:port" or "[v6]:port" into host (cap bytes) and *out_port; loopback hosts only. */
enum gh_status gh_demo_addr_parse(const char *s, char *host, size_t cap, int *out_port,
                                  struct gh_err *err);

/* The commands' mains: the process exit status (0 clean stop / token printed, 1 could not run,
 * 2 bad usage). */
int gh_demo_main(int argc, char **argv);
int gh_demo_mint_main(int argc, char **argv);

#endif
