/*
 * fuzz_config_file.c - the KEY=VALUE config file reader and every value parser behind it.
 * The input becomes a memfd read through /proc/self/fd, so no files are left behind.
 */
#define _GNU_SOURCE
#include "sidecar/gatehouse.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("gh-fuzz-config", 0);
    char path[64];
    struct gh_config *cfg = NULL;
    struct gh_err err = {0};
    char *env[] = {NULL};

    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (gh_config_load(path, env, &cfg, &err) == GH_OK) {
            FILE *devnull = fopen("/dev/null", "w");
            gh_config_print(cfg, devnull);
            fclose(devnull);
            gh_config_free(cfg);
        } else {
            GH_ASSERT(err.msg[0] != '\0');
        }
    }
    close(fd);
    return 0;
}
