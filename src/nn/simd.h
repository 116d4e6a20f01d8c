/* Small fixed-width vectors for the kernels compiled once per instruction set (isa.h).
 *
 * A kernel source includes this header and is compiled three times, with PT_ISA_VARIANT 0
 * (baseline), 1 (AVX2) or 2 (AVX-512) and the matching -m flags (src/nn/CMakeLists.txt). The
 * types have the same lanes on every variant, so the arithmetic, and therefore every rounding, is
 * the same: only the registers differ. GCC's generic vectors are written with its vector
 * extensions; where GCC handles a width badly on one variant (it spills eight-double vectors on
 * AVX2), that variant spells the same lanes as two halves. */
#ifndef PTRAIN_SIMD_H
#define PTRAIN_SIMD_H

#include <string.h>

#ifndef PT_ISA_VARIANT
#error "simd.h is for the per-ISA kernel sources (PT_ISA_VARIANT is set by the build)"
#endif

/* The name of a kernel table for this variant: PT_KERNELS(pt_bn_kernels) is pt_bn_kernels_avx2. */
#define PT_KERNELS_CAT2(a, b) a##_##b
#define PT_KERNELS_CAT(a, b)  PT_KERNELS_CAT2(a, b)
#define PT_KERNELS(table)     PT_KERNELS_CAT(table, PT_KERNELS_SUFFIX)

typedef float f32x8 __attribute__((vector_size(32)));
typedef int i32x8 __attribute__((vector_size(32)));
typedef float f32x4 __attribute__((vector_size(16)));
typedef double f64x4 __attribute__((vector_size(32)));

static inline f32x8 f32x8_load(const float *p)
{
    f32x8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void f32x8_store(float *p, f32x8 v)
{
    memcpy(p, &v, sizeof v);
}

static inline f32x8 f32x8_set1(float x)
{
    return (f32x8){x, x, x, x, x, x, x, x};
}

#if PT_ISA_VARIANT == 1
typedef struct f64x8 {
    f64x4 lo, hi;
} f64x8;

static inline f64x8 f64x8_zero(void)
{
    return (f64x8){{0, 0, 0, 0}, {0, 0, 0, 0}};
}

static inline f64x8 f64x8_from_f32(f32x8 v)
{
    f32x4 lo = {v[0], v[1], v[2], v[3]}, hi = {v[4], v[5], v[6], v[7]};
    return (f64x8){__builtin_convertvector(lo, f64x4), __builtin_convertvector(hi, f64x4)};
}

static inline f64x8 f64x8_add(f64x8 a, f64x8 b)
{
    return (f64x8){a.lo + b.lo, a.hi + b.hi};
}

static inline f64x8 f64x8_mul(f64x8 a, f64x8 b)
{
    return (f64x8){a.lo * b.lo, a.hi * b.hi};
}

static inline void f64x8_store(double *p, f64x8 v)
{
    memcpy(p, &v.lo, sizeof v.lo);
    memcpy(p + 4, &v.hi, sizeof v.hi);
}
#else
typedef double f64x8 __attribute__((vector_size(64)));

static inline f64x8 f64x8_zero(void)
{
    return (f64x8){0, 0, 0, 0, 0, 0, 0, 0};
}

static inline f64x8 f64x8_from_f32(f32x8 v)
{
    return __builtin_convertvector(v, f64x8);
}

static inline f64x8 f64x8_add(f64x8 a, f64x8 b)
{
    return a + b;
}

static inline f64x8 f64x8_mul(f64x8 a, f64x8 b)
{
    return a * b;
}

static inline void f64x8_store(double *p, f64x8 v)
{
    memcpy(p, &v, sizeof v);
}
#endif

/* Sixteen float lanes: one register on AVX-512, two on AVX2, four on the baseline. Spelled as
 * halves and quarters there: GCC spills a 64-byte generic vector on narrower machines. */
#if PT_ISA_VARIANT == 2
typedef float f32x16 __attribute__((vector_size(64)));

static inline f32x16 f32x16_load(const float *p)
{
    f32x16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void f32x16_store(float *p, f32x16 v)
{
    memcpy(p, &v, sizeof v);
}

static inline f32x16 f32x16_set1(float x)
{
    return (f32x16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
}

/* a + w * x: a multiply, then an add (never fused: -ffp-contract=off) */
static inline f32x16 f32x16_madd(f32x16 a, f32x16 w, f32x16 x)
{
    return a + w * x;
}
#elif PT_ISA_VARIANT == 1
typedef struct f32x16 {
    f32x8 lo, hi;
} f32x16;

static inline f32x16 f32x16_load(const float *p)
{
    return (f32x16){f32x8_load(p), f32x8_load(p + 8)};
}

static inline void f32x16_store(float *p, f32x16 v)
{
    f32x8_store(p, v.lo);
    f32x8_store(p + 8, v.hi);
}

static inline f32x16 f32x16_set1(float x)
{
    return (f32x16){f32x8_set1(x), f32x8_set1(x)};
}

static inline f32x16 f32x16_madd(f32x16 a, f32x16 w, f32x16 x)
{
    return (f32x16){a.lo + w.lo * x.lo, a.hi + w.hi * x.hi};
}
#else
typedef struct f32x16 {
    f32x4 a, b, c, d;
} f32x16;

static inline f32x4 f32x4_load(const float *p)
{
    f32x4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline f32x16 f32x16_load(const float *p)
{
    return (f32x16){f32x4_load(p), f32x4_load(p + 4), f32x4_load(p + 8), f32x4_load(p + 12)};
}

static inline void f32x16_store(float *p, f32x16 v)
{
    memcpy(p, &v.a, sizeof v.a);
    memcpy(p + 4, &v.b, sizeof v.b);
    memcpy(p + 8, &v.c, sizeof v.c);
    memcpy(p + 12, &v.d, sizeof v.d);
}

static inline f32x16 f32x16_set1(float x)
{
    const f32x4 one = {x, x, x, x};
    return (f32x16){one, one, one, one};
}

static inline f32x16 f32x16_madd(f32x16 a, f32x16 w, f32x16 x)
{
    return (f32x16){a.a + w.a * x.a, a.b + w.b * x.b, a.c + w.c * x.c, a.d + w.d * x.d};
}
#endif

/* One register of floats on each path: 16 lanes on AVX-512, 8 on AVX2, 4 on the baseline, for
 * the kernels whose register blocking follows the width (wg_gemm.c, smallconv_kernels.c). Unlike
 * the fixed-width types above, the lanes differ by path, and so may the rounding of a sum that is
 * split across them. */
#if PT_ISA_VARIANT == 2
#define PT_VL 16
#elif PT_ISA_VARIANT == 1
#define PT_VL 8
#else
#define PT_VL 4
#endif
#if PT_ISA_VARIANT > 0
#include <immintrin.h>
#endif

typedef float ptvec __attribute__((vector_size(4 * PT_VL)));

static inline __attribute__((always_inline)) ptvec ptvec_load(const float *p)
{
    ptvec v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void ptvec_store(float *p, ptvec v)
{
    memcpy(p, &v, sizeof v);
}

static inline __attribute__((always_inline)) ptvec ptvec_set1(float x)
{
#if PT_VL == 16
    return (ptvec){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x};
#elif PT_VL == 8
    return (ptvec){x, x, x, x, x, x, x, x};
#else
    return (ptvec){x, x, x, x};
#endif
}

/* acc + a * b: one fused multiply-add on AVX2 and AVX-512 (the project builds with
 * -ffp-contract=off, so it is asked for by name); a multiply and an add on the baseline. */
static inline __attribute__((always_inline)) ptvec ptvec_fma(ptvec a, ptvec b, ptvec acc)
{
#if PT_ISA_VARIANT == 2
    return (ptvec)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)acc);
#elif PT_ISA_VARIANT == 1
    return (ptvec)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)acc);
#else
    return acc + a * b;
#endif
}

/* Copies n 32-bit words (floats or int32) from src to dst, reading and writing nothing past them:
 * the short, odd-sized tails of the kernels' rows. A memcpy of a size the compiler cannot see is a
 * library call, which on Fashion-MNIST's 12-column tails cost more than the arithmetic; the wide
 * paths use masked loads and stores instead. */
#if PT_ISA_VARIANT == 2
#include <immintrin.h>
static inline void pt_copy32(void *dst, const void *src, int n)
{
    float *d = dst;
    const float *s = src;
    for (; n >= 16; n -= 16, d += 16, s += 16)
        _mm512_storeu_ps(d, _mm512_loadu_ps(s));
    if (n > 0) {
        const __mmask16 m = (__mmask16)((1u << n) - 1u);
        _mm512_mask_storeu_ps(d, m, _mm512_maskz_loadu_ps(m, s));
    }
}
#elif PT_ISA_VARIANT == 1
#include <immintrin.h>
static inline void pt_copy32(void *dst, const void *src, int n)
{
    float *d = dst;
    const float *s = src;
    for (; n >= 8; n -= 8, d += 8, s += 8)
        _mm256_storeu_ps(d, _mm256_loadu_ps(s));
    if (n > 0) {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
        _mm256_maskstore_ps(d, m, _mm256_maskload_ps(s, m));
    }
}
#else
static inline void pt_copy32(void *dst, const void *src, int n)
{
    memcpy(dst, src, (size_t)n * 4);
}
#endif

#endif
