/* The core's single-precision peak on one thread, per vector width: the ceiling a whole training
 * step is measured against (tests/bench/layer_report.sh).
 *   fma_peak      prints "WIDTH LANES OP GFLOP/s" lines, or "WIDTH LANES OP skipped: REASON"
 *
 * sse    4 lanes, a multiply and an add (SSE has no FMA; what ptrain's sse2 path can issue)
 * avx2   8 lanes, FMA (x86-64-v3, ptrain's avx2 path)
 * avx512 16 lanes, FMA (x86-64-v4, ptrain's avx512 path)
 *
 * Each width runs ACCUMULATORS independent chains acc = acc * m + a, enough to keep every FMA (or
 * multiply and add) port busy through the instruction latency (4 cycles x 2 ports = 8 chains for
 * FMA on current x86; a multiply then an add take longer and may issue on 3 ports). 14 chains plus
 * m and a fill the 16 SSE / AVX registers without spilling; measured here, 8 chains gave 10-15%
 * less, 10-14 the same within noise, 16 and more spilled. The wider paths are compiled with target
 * attributes and chosen with __builtin_cpu_supports, so the tool needs no -march flag and runs on
 * any x86-64. The chains converge to a / (1 - m) = 1, never overflow or go subnormal; m and a are
 * read from volatiles and the sums are printed, so the compiler can neither fold nor drop the loop.
 * The figure is the best of 3 windows of ~0.1 s after a ~0.05 s warm-up (another process can only
 * slow a window down). */
#include <immintrin.h>
#include <stdio.h>

#include "ptrain/common.h"

#define ACCUMULATORS 14
#define ITERATIONS   20000 /* per timed call: ~0.1-0.5 ms, short against a window */
#define WARMUP_S     0.05
#define WINDOW_S     0.1
#define WINDOWS      3

static volatile float multiplier = 0.9999999f;
static volatile float addend = 1e-7f;

/* Every kernel runs `iterations` rounds over all accumulators and returns the sum of the lanes of
 * every accumulator (1.0 each, once converged), so its work is used. */
typedef float (*peak_kernel)(long iterations);

static float sse_mul_add(long iterations)
{
    const __m128 m = _mm_set1_ps(multiplier), a = _mm_set1_ps(addend);
    __m128 acc[ACCUMULATORS];
    for (int i = 0; i < ACCUMULATORS; i++)
        acc[i] = _mm_set1_ps((float)i / ACCUMULATORS);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < ACCUMULATORS; i++)
            acc[i] = _mm_add_ps(_mm_mul_ps(acc[i], m), a);
    __m128 sum = acc[0];
    for (int i = 1; i < ACCUMULATORS; i++)
        sum = _mm_add_ps(sum, acc[i]);
    float lanes[4];
    _mm_storeu_ps(lanes, sum);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

__attribute__((target("avx2,fma"))) static float avx2_fma(long iterations)
{
    const __m256 m = _mm256_set1_ps(multiplier), a = _mm256_set1_ps(addend);
    __m256 acc[ACCUMULATORS];
    for (int i = 0; i < ACCUMULATORS; i++)
        acc[i] = _mm256_set1_ps((float)i / ACCUMULATORS);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < ACCUMULATORS; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], m, a);
    __m256 sum = acc[0];
    for (int i = 1; i < ACCUMULATORS; i++)
        sum = _mm256_add_ps(sum, acc[i]);
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    float total = 0;
    for (int i = 0; i < 8; i++)
        total += lanes[i];
    return total;
}

__attribute__((target("avx512f"))) static float avx512_fma(long iterations)
{
    const __m512 m = _mm512_set1_ps(multiplier), a = _mm512_set1_ps(addend);
    __m512 acc[ACCUMULATORS];
    for (int i = 0; i < ACCUMULATORS; i++)
        acc[i] = _mm512_set1_ps((float)i / ACCUMULATORS);
    for (long it = 0; it < iterations; it++)
        for (int i = 0; i < ACCUMULATORS; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], m, a);
    __m512 sum = acc[0];
    for (int i = 1; i < ACCUMULATORS; i++)
        sum = _mm512_add_ps(sum, acc[i]);
    return _mm512_reduce_add_ps(sum);
}

static int has_sse(void)
{
    return 1; /* part of x86-64 */
}

static int has_avx2_fma(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static int has_avx512f(void)
{
    return __builtin_cpu_supports("avx512f");
}

typedef struct width {
    const char *name;
    int lanes;
    const char *op;
    const char *needs; /* the CPU features, for the line of a width that is skipped */
    int (*supported)(void);
    peak_kernel kernel;
} width;

/* Calls the kernel for at least `seconds`; returns GFLOP/s (2 flops per lane per multiply-add)
 * and adds the kernel's results to *checksum. */
static double run_window(const width *w, double seconds, double *checksum)
{
    double t0 = pt_now_seconds(), elapsed = 0;
    long calls = 0;
    do {
        *checksum += w->kernel(ITERATIONS);
        calls++;
        elapsed = pt_now_seconds() - t0;
    } while (elapsed < seconds);
    double flops = 2.0 * w->lanes * ACCUMULATORS * (double)ITERATIONS * (double)calls;
    return flops / elapsed / 1e9;
}

int main(void)
{
    __builtin_cpu_init();
    const width widths[] = {
        {"sse", 4, "mul+add", "SSE", has_sse, sse_mul_add},
        {"avx2", 8, "fma", "AVX2+FMA", has_avx2_fma, avx2_fma},
        {"avx512", 16, "fma", "AVX-512F", has_avx512f, avx512_fma},
    };
    double checksum = 0;
    printf("# width lanes op GFLOP/s (1 thread, %d accumulators, best of %d x %.1f s)\n",
           ACCUMULATORS, WINDOWS, WINDOW_S);
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++) {
        const width *w = &widths[i];
        if (!w->supported()) {
            printf("%-7s %2d %-7s skipped: the CPU has no %s\n", w->name, w->lanes, w->op,
                   w->needs);
            continue;
        }
        run_window(w, WARMUP_S, &checksum);
        double best = 0;
        for (int r = 0; r < WINDOWS; r++) {
            double rate = run_window(w, WINDOW_S, &checksum);
            best = rate > best ? rate : best;
        }
        printf("%-7s %2d %-7s %8.1f\n", w->name, w->lanes, w->op, best);
    }
    /* the sums keep the loops alive; every accumulator converges to 1 */
    printf("# checksum %.6g\n", checksum);
    return 0;
}
