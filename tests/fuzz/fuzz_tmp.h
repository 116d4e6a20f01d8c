/* For harnesses whose entry point takes a path: one temporary file per fuzzing process,
 * rewritten with each input, removed at exit. It lives in $TMPDIR, else in /dev/shm (memory: the
 * cache harnesses write a file per input), else in /tmp. */
#ifndef PTRAIN_FUZZ_TMP_H
#define PTRAIN_FUZZ_TMP_H

#include <stddef.h>
#include <stdint.h>

/* This process's temporary file name (ending in `suffix`; the same for every call), for a
 * harness that writes the file itself. */
const char *fuzz_tmp_path(const char *suffix);

/* Writes data to this process's temporary file and returns its path; aborts if the file cannot
 * be written (the harness itself is broken then). */
const char *fuzz_tmp_write(const char *suffix, const uint8_t *data, size_t size);

#endif
