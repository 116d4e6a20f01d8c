/* The instruction set ptrain's own kernels run on, chosen once per process at run time.
 *
 * One binary serves every x86-64 node: the hot loops (batch norm, ReLU, pooling, ...) are
 * compiled three times, for the x86-64 baseline (SSE2), for AVX2+FMA (x86-64-v3) and for AVX-512
 * (x86-64-v4), and each layer takes the table of the path in use (see the *_kernels.h files in
 * src/nn). The widest path this CPU supports is used, unless PTRAIN_ISA=sse2|avx2|avx512 in the
 * environment asks for another (tests and benchmarks; a path the CPU lacks is an error, never a
 * crash).
 *
 * The paths compute the same operations in the same order (no fused multiply-add, the same
 * partial sums), so they give the same bits, with two exceptions, which fuse multiply and add:
 * on AVX-512 most of the Winograd layers' tile products run on the project's own GEMM kernels
 * (wg_gemm.h), and on AVX2 and AVX-512 the small-map convolutions (smallconv_kernels.h: 3x3 on
 * 2x2 and 4x4 maps, ResNet-18's last stages; their 4x4 weight gradient also sums in another order
 * on AVX2 than on AVX-512) do. So a model trained on avx512 differs in
 * rounding from one trained on sse2 or avx2, and those two are bit-identical unless the network
 * has a small-map layer; the same path, ranks and threads always give the same bits. The unit
 * tests check every path the CPU has against the baseline, bit for bit or, for those products,
 * within stated tolerances. OpenBLAS picks its own kernels:
 * see pt_isa_blas_core(). On other architectures only the baseline exists (named "generic"). */
#ifndef PTRAIN_ISA_H
#define PTRAIN_ISA_H

#include "ptrain/common.h"

typedef enum pt_isa {
    PT_ISA_BASE = 0,   /* x86-64 SSE2 ("sse2"), or the compiler's default elsewhere ("generic") */
    PT_ISA_AVX2 = 1,   /* AVX2 + FMA (x86-64-v3) */
    PT_ISA_AVX512 = 2, /* AVX-512 F/BW/CD/DQ/VL (x86-64-v4) */
    PT_ISA_COUNT
} pt_isa;

/* "sse2", "avx2", "avx512" (or "generic" for the baseline off x86-64). */
const char *pt_isa_name(pt_isa isa);

/* Whether this CPU (and operating system) can run the path. */
int pt_isa_supported(pt_isa isa);

/* The widest supported path. */
pt_isa pt_isa_best(void);

/* The path named by name ("sse2", "generic", "avx2", "avx512"); PT_ERR_INVALID if unknown,
 * PT_ERR_UNSUPPORTED (message naming the CPU's best) if this CPU cannot run it. */
int pt_isa_parse(const char *name, pt_isa *out, pt_error *err);

/* Chooses the path for this process: PTRAIN_ISA if set, else the best. Idempotent; the
 * programs call it at start so that a bad PTRAIN_ISA is reported before any work. */
int pt_isa_init(pt_error *err);

/* The path in use (chosen by pt_isa_init, or the best if it was never called). */
pt_isa pt_isa_active(void);

/* Switches the path (tests and benchmarks compare paths in one process). isa must be
 * supported. */
void pt_isa_force(pt_isa isa);

/* The name of the OpenBLAS core in use (openblas_get_corename()), e.g. "SkylakeX" or "Haswell";
 * "unknown" if the BLAS does not say. */
const char *pt_isa_blas_core(void);

#endif
