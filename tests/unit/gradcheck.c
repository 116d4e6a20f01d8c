/* Finite-difference gradient checks for the layer tests (see gradcheck.h). */
#include "gradcheck.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ptrain/rng.h"

double gc_check(const char *what, gc_objective f, void *ctx, float *x, const float *grad, size_t n,
                float step, double rtol, double atol, size_t max_points)
{
    size_t stride = n <= max_points ? 1 : (n + max_points - 1) / max_points;
    double worst = 0.0, largest = 0.0;
    for (size_t i = 0; i < n; i += stride) {
        const float saved = x[i];
        const float xp = saved + step, xm = saved - step;
        x[i] = xp;
        const double fp = f(ctx);
        x[i] = xm;
        const double fm = f(ctx);
        x[i] = saved;
        const double numeric = (fp - fm) / ((double)xp - (double)xm);
        const double analytic = grad[i];
        const double scale = fmax(fabs(numeric), fabs(analytic));
        const double err = fabs(numeric - analytic);
        if (err > atol + rtol * scale)
            cr_assert_fail("%s: element %zu: numeric %.7g, analytic %.7g (|diff| %.3g > %.3g + "
                           "%.3g * %.3g)",
                           what, i, numeric, analytic, err, atol, rtol, scale);
        if (err / (atol + rtol * scale) > worst)
            worst = err / (atol + rtol * scale);
        largest = fmax(largest, fabs(analytic));
    }
    /* PTRAIN_GC_VERBOSE=1 shows the margins, for choosing tolerances. */
    if (getenv("PTRAIN_GC_VERBOSE"))
        fprintf(stderr, "gradcheck %-60s used %.3g of tolerance, max |grad| %.3g\n", what, worst,
                largest);
    cr_assert(largest > atol, "%s: every gradient checked is ~0 (max %.3g): the check is vacuous",
              what, largest);
    return worst;
}

double gc_dot(const float *a, const float *b, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++)
        acc += (double)a[i] * b[i];
    return acc;
}

void gc_fill_normal(float *x, size_t n, uint64_t seed, float scale)
{
    pt_rng rng;
    pt_rng_init(&rng, seed, 7);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)pt_rng_normal(&rng) * scale;
}

void gc_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi)
{
    pt_rng rng;
    pt_rng_init(&rng, seed, 11);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)pt_rng_range(&rng, lo, hi);
}

double gc_max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (d > worst || isnan(d))
            worst = isnan(d) ? INFINITY : d;
    }
    return worst;
}
