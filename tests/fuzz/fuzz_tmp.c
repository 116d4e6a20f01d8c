/* One temporary file per fuzzing process (see fuzz_tmp.h). */
#include "fuzz_tmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char tmp_path[256];

static void remove_tmp(void)
{
    if (tmp_path[0])
        unlink(tmp_path);
}

const char *fuzz_tmp_write(const char *suffix, const uint8_t *data, size_t size)
{
    if (!tmp_path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(tmp_path, sizeof tmp_path, "%s/ptrain-fuzz-%ld.%s", dir ? dir : "/tmp",
                 (long)getpid(), suffix);
        atexit(remove_tmp);
    }
    FILE *f = fopen(tmp_path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(tmp_path);
        abort();
    }
    return tmp_path;
}
