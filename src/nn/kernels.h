/* Kernel tables: each hot module's inner loops, compiled once per instruction set (isa.h,
 * simd.h). A module declares its table type and the three instances with PT_KERNELS_DECLARE and
 * takes the active one with PT_KERNELS_ACTIVE at the start of each call. */
#ifndef PTRAIN_KERNELS_H
#define PTRAIN_KERNELS_H

#include "ptrain/isa.h"

#define PT_KERNELS_DECLARE(type, table) extern const type table##_sse2, table##_avx2, table##_avx512

/* The instance for isa; the baseline for anything else. */
#define PT_KERNELS_FOR(table, isa)                                                                 \
    ((isa) == PT_ISA_AVX512 ? &table##_avx512                                                      \
     : (isa) == PT_ISA_AVX2 ? &table##_avx2                                                        \
                            : &table##_sse2)

#define PT_KERNELS_ACTIVE(table) PT_KERNELS_FOR(table, pt_isa_active())

#endif
