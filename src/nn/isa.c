/* Run-time choice of the kernels' instruction set (see isa.h). */
#include "ptrain/isa.h"

#include <stdlib.h>
#include <string.h>

/* One process-wide choice, like the CPU it describes: set once at start (or by a test). */
static int active_isa = -1;

static const char *const isa_names[PT_ISA_COUNT] = {
#if defined(__x86_64__)
    "sse2",
#else
    "generic",
#endif
    "avx2", "avx512"};

const char *pt_isa_name(pt_isa isa)
{
    return isa >= 0 && isa < PT_ISA_COUNT ? isa_names[isa] : "?";
}

int pt_isa_supported(pt_isa isa)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    switch (isa) {
    case PT_ISA_BASE:
        return 1;
    case PT_ISA_AVX2:
        /* (x86-64-v3 also has F16C, MOVBE, ... which every AVX2+FMA CPU has and Clang 14's
         * builtin cannot name) */
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case PT_ISA_AVX512:
        /* the x86-64-v4 set the AVX-512 variant is compiled for */
        return pt_isa_supported(PT_ISA_AVX2) && __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512cd") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    default:
        return 0;
    }
#else
    return isa == PT_ISA_BASE;
#endif
}

pt_isa pt_isa_best(void)
{
    for (int isa = PT_ISA_COUNT - 1; isa > PT_ISA_BASE; isa--)
        if (pt_isa_supported((pt_isa)isa))
            return (pt_isa)isa;
    return PT_ISA_BASE;
}

int pt_isa_parse(const char *name, pt_isa *out, pt_error *err)
{
    for (int isa = 0; isa < PT_ISA_COUNT; isa++) {
        int same = !strcmp(name, isa_names[isa]) ||
                   (isa == PT_ISA_BASE && (!strcmp(name, "sse2") || !strcmp(name, "generic")));
        if (!same)
            continue;
        if (!pt_isa_supported((pt_isa)isa))
            return pt_error_set(err, PT_ERR_UNSUPPORTED,
                                "PTRAIN_ISA=%s: this CPU cannot run it (the widest it runs is %s)",
                                name, pt_isa_name(pt_isa_best()));
        *out = (pt_isa)isa;
        return PT_OK;
    }
    return pt_error_set(err, PT_ERR_INVALID, "PTRAIN_ISA=%s: not sse2, avx2 or avx512", name);
}

int pt_isa_init(pt_error *err)
{
    const char *want = getenv("PTRAIN_ISA");
    pt_isa isa = pt_isa_best();
    if (want && *want) {
        int status = pt_isa_parse(want, &isa, err);
        if (status != PT_OK)
            return status;
    }
    active_isa = isa;
    return PT_OK;
}

pt_isa pt_isa_active(void)
{
    if (active_isa < 0)
        active_isa = pt_isa_best();
    return (pt_isa)active_isa;
}

void pt_isa_force(pt_isa isa)
{
    active_isa = isa;
}

/* OpenBLAS's own report of its kernels; declared here so that nothing else needs its headers. */
char *openblas_get_corename(void);

const char *pt_isa_blas_core(void)
{
    const char *name = openblas_get_corename();
    return name && *name ? name : "unknown";
}
