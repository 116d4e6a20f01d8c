/* libFuzzer harness: the IDX reader (pt_idx_read, and pt_idx_read_header as the scanner uses
 * it) on arbitrary bytes, plain or gzipped. The reader takes a path, so each input is written to
 * one temporary file first. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_tmp.h"
#include "ptrain/idx.h"

/* Where reads go, so that the compiler keeps them. */
volatile size_t fuzz_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_tmp_write("idx", data, size);
    pt_idx idx;
    pt_error err;
    if (pt_idx_read_header(path, &idx, &err) == PT_OK)
        pt_idx_free(&idx);
    if (pt_idx_read(path, &idx, &err) == PT_OK) {
        /* touch every byte: a size that disagrees with the buffer shows up under ASan */
        size_t n = (size_t)idx.dims[0] * pt_idx_record_size(&idx);
        for (size_t i = 0; i < n; i++)
            fuzz_sink += idx.data[i];
        pt_idx_free(&idx);
    }
    return 0;
}
