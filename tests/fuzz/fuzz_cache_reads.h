/* What both cache harnesses do with a cache file: pt_cache_open, then a read of every split's
 * images, labels (single or multi), patients and sources, and of /skipped, each bounded to 8 rows
 * and 4 MiB per split so that a header announcing a huge split cannot make the harness allocate
 * it. Every failure is an answer (the reader refused the file); only a crash, a leak or a
 * sanitizer report is a finding. `log` (NULL in the harnesses) gets one line per call: what it
 * returned. */
#ifndef PTRAIN_FUZZ_CACHE_READS_H
#define PTRAIN_FUZZ_CACHE_READS_H

#include <stdio.h>

void fuzz_cache_read_all(const char *path, FILE *log);

#endif
