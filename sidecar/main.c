/*
 * main.c - command line only: options, configuration, then gh_daemon_run().
 * Exit status: 0 clean stop, 1 could not start, 2 bad usage or configuration.
 */
#include "daemon.h"
#include "gatehouse.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

extern char **environ;

static void gh_main_usage(FILE *out)
{
    fprintf(out, "usage: gatehouse [--config FILE] [--print-config] [--help] [--version]\n");
}

int main(int argc, char **argv)
{
    const char *file = NULL;
    bool print = false, markdown = false;
    struct gh_config *cfg = NULL;
    struct gh_err err = {0};
    int code;

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
