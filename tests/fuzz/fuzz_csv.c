/* libFuzzer harness: the CSV tokenizer (data-prep/csv.c) on arbitrary bytes, every record and
 * field read back. */
#include <stdint.h>
#include <string.h>

#include "csv.h"

/* Where reads go, so that the compiler keeps them. */
volatile size_t fuzz_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pt_csv csv;
    pt_error err;
    pt_csv_init(&csv, (const char *)data, size, "fuzz.csv");
    while (pt_csv_next(&csv, &err) > 0)
        for (int i = 0; i < csv.n_fields; i++)
            fuzz_sink += strlen(csv.fields[i]);
    pt_csv_free(&csv);
    return 0;
}
