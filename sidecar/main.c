/*
 * main.c - command line only: options, configuration, then gh_daemon_run().
 * Exit status: 0 clean stop, 1 could not start, 2 bad usage or configuration.
 */
#include "daemon.h"
#include "demo.h"
#include "gatehouse.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

extern char **environ;

static void gh_main_usage(FILE *out)
{
    fprintf(out, "usage: gatehouse [--config FILE] [--print-config] [--help] [--version]\n"
                 "       gatehouse migrate-store --from FILE.db --to postgresql://...\n"
                 "       gatehouse demo [--dir DIR] [--listen HOST:PORT] [--issuer-listen "
                 "HOST:PORT] [--policy FILE]\n"
                 "       gatehouse mint-token [--dir DIR] --sub SUB --upn UPN [--oid OID] "
                 "[--ttl SECONDS]\n");
}

/* gatehouse migrate-store --from FILE.db --to URL: copy a SQLite store into an empty PostgreSQL
 * one and verify it (store_migrate). 0 when copied and verified, 1 when not, 2 bad usage. */
static int gh_main_migrate(int argc, char **argv)
{
    const char *from = NULL, *to = NULL;
    static const char *const names[] = {"users", "groups",   "memberships", "access groups",
                                        "links", "cut-offs", "tombstones"};
    struct store_migrate_report rep;
    struct gh_err err = {0};
    char shown[512];

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else {
            gh_main_usage(stderr);
            return 2;
        }
    }
    if (from == NULL || to == NULL) {
        gh_main_usage(stderr);
        return 2;
    }
    umask(077);
    gh_log_set_level(GH_LOG_WARN);
    if (store_migrate(from, to, &rep, &err) != GH_OK) {
        fprintf(stderr, "gatehouse: migrate-store: %s\n", err.msg);
        return 1;
    }
    printf("copied %s -> %s\n", from, gh_config_db_shown(to, shown, sizeof(shown)));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        printf("  %-14s %lld\n", names[i], (long long)rep.rows[i]);
    printf("verified: the target's index loads %lld users and %lld user memberships; %lld users "
           "and groups read back with the same version (ETag) and body\n",
           (long long)rep.index_users, (long long)rep.index_memberships,
           (long long)rep.etags_checked);
    return 0;
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    bool print = false, markdown = false;
    struct gh_config *cfg = NULL;
    struct gh_err err = {0};
    int code;

    if (argc > 1 && strcmp(argv[1], "migrate-store") == 0)
        return gh_main_migrate(argc, argv);
    /* a local try-out with a development issuer (NOT FOR PRODUCTION; sidecar/demo.h) */
    if (argc > 1 && strcmp(argv[1], "demo") == 0)
        return gh_demo_main(argc, argv);
    if (argc > 1 && strcmp(argv[1], "mint-token") == 0)
        return gh_demo_mint_main(argc, argv);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            gh_config_help(stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("gatehouse %s\n", GH_VERSION);
            return 0;
        } else if (strcmp(argv[i], "--print-config") == 0) {
            print = true;
        } else if (strcmp(argv[i], "--config-reference") == 0) {
            markdown = true;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            file = argv[i] + 9;
        } else {
            fprintf(stderr, "gatehouse: unknown option %s\n", argv[i]);
            gh_main_usage(stderr);
            return 2;
        }
    }
    if (markdown) {
        gh_config_markdown(stdout);
        return 0;
    }
    if (gh_config_load(file, environ, &cfg, &err) != GH_OK) {
        fprintf(stderr, "gatehouse: %s\n", err.msg);
        return 2;
    }
    if (print) {
        gh_config_print(cfg, stdout);
        gh_config_free(cfg);
        return 0;
    }
    gh_log_set_level((enum gh_log_level)cfg->log_level);
    /* The database and decision log hold personal data: nobody else may read them. */
    umask(077);
    code = gh_daemon_run(cfg);
    gh_config_free(cfg);
    return code;
}
