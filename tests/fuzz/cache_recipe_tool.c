/* fuzz_cache_recipe RECIPE OUT.h5: writes the cache a fuzz_cache input describes, then makes the
 * harness's reads and prints what each returned (a finding explained; h5dump OUT.h5 shows the
 * file). fuzz_cache_recipe --read FILE.h5: only the reads, of any file (a fuzz_cache_bytes input).
 * Not a harness; see fuzz_cache_recipe.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_cache_reads.h"
#include "fuzz_cache_recipe.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fuzz_cache_recipe RECIPE OUT.h5 | --read FILE.h5\n");
        return 2;
    }
    if (strcmp(argv[1], "--read") == 0) {
        fuzz_cache_read_all(argv[2], stdout);
        return 0;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    static uint8_t recipe[1 << 20];
    size_t size = fread(recipe, 1, sizeof recipe, f);
    int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        perror(argv[1]);
        return 1;
    }
    if (fuzz_cache_recipe_write(recipe, size, argv[2]) != 0) {
        fprintf(stderr, "%s: HDF5 could not create the file\n", argv[2]);
        return 1;
    }
    fuzz_cache_read_all(argv[2], stdout);
    return 0;
}
