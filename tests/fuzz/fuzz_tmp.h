/* For harnesses whose entry point takes a path: one temporary file per fuzzing process,
 * rewritten with each input, removed at exit. */
#ifndef PTRAIN_FUZZ_TMP_H
#define PTRAIN_FUZZ_TMP_H

#include <stddef.h>
#include <stdint.h>

/* Writes data to this process's temporary file (its name ends in `suffix`) and returns its
 * path; aborts if the file cannot be written (the harness itself is broken then). */
const char *fuzz_tmp_write(const char *suffix, const uint8_t *data, size_t size);

#endif
