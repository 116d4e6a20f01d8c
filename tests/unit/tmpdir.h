/* Temporary directories for the unit tests. */
#ifndef PTRAIN_TEST_TMPDIR_H
#define PTRAIN_TEST_TMPDIR_H

#include <stddef.h>

/* Creates a fresh directory under $TMPDIR (or /tmp) and stores its path in out. 0 or -1. */
int fixture_mkdtemp(char *out, size_t cap);

/* Removes a directory tree created by fixture_mkdtemp; missing paths are not an error. */
int fixture_rmtree(const char *path);

#endif
