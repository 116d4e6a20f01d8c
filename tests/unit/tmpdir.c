/* Temporary directories for the unit tests (see tmpdir.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, nftw */
#endif
#include "tmpdir.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int fixture_mkdtemp(char *out, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int n = snprintf(out, cap, "%s/ptrain-test-XXXXXX", tmp);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return mkdtemp(out) ? 0 : -1;
}

static int rmtree_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    return remove(path);
}

int fixture_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    return nftw(path, rmtree_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}
