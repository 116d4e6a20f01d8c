/* Test shim for integration/prep_faults.sh, loaded with LD_PRELOAD: on the rank named by
 * PTRAIN_TEST_FAIL_RANK, the first realloc(NULL, 4096) made by ptrain-prep's own code fails.
 * That call is how prep starts its list of skipped files (src/dist/prep.c, append_skip; the scan
 * that makes the other one runs on rank 0 only), so that rank runs out of memory there, on cue. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

void *realloc(void *ptr, size_t size)
{
    static void *(*real)(void *, size_t);
    static int failed;
    if (!real)
        real = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
    if (!failed && !ptr && size == 4096) {
        const char *want = getenv("PTRAIN_TEST_FAIL_RANK");
        const char *rank = getenv("OMPI_COMM_WORLD_RANK");
        Dl_info caller;
        if (want && rank && strcmp(want, rank) == 0 &&
            dladdr(__builtin_return_address(0), &caller) && caller.dli_fname &&
            strstr(caller.dli_fname, "ptrain-prep")) {
            failed = 1;
            return NULL;
        }
    }
    return real(ptr, size);
}
