/* One temporary file per fuzzing process (see fuzz_tmp.h). */
#include "fuzz_tmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_path[256];

static void remove_tmp(void)
{
    if (tmp_path[0])
        unlink(tmp_path);
}

const char *fuzz_tmp_path(const char *suffix)
{
    if (!tmp_path[0]) {
        const char *dir = getenv("TMPDIR");
        struct stat st;
        if (!dir || !*dir)
            dir = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(tmp_path, sizeof tmp_path, "%s/ptrain-fuzz-%ld.%s", dir, (long)getpid(), suffix);
        atexit(remove_tmp);
    }
    return tmp_path;
}

const char *fuzz_tmp_write(const char *suffix, const uint8_t *data, size_t size)
{
    const char *path = fuzz_tmp_path(suffix);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}
