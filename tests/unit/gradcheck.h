/* Finite-difference gradient checks for the layer tests.
 *
 * The layers are float32, so the check is arranged to be meaningful in float: the scalar
 * objective is L = sum(out * r) for a fixed random r (so dL/dout = r is what backward receives),
 * accumulated in double; each input element is moved by +-step and
 *     numeric = (L(x + step) - L(x - step)) / (x_plus - x_minus)
 * with x_plus, x_minus the float values actually stored (so rounding of x +- step does not count
 * as error). Outputs an element does not touch are recomputed bit-identically and cancel, so the
 * noise is only the rounding of the outputs it does touch, ~1e-7 * sqrt(touched) / step.
 * An element passes when |numeric - analytic| <= atol + rtol * max(|numeric|, |analytic|). */
#ifndef PTRAIN_TEST_GRADCHECK_H
#define PTRAIN_TEST_GRADCHECK_H

#include <stddef.h>
#include <stdint.h>

/* Runs the forward pass for the current inputs and returns the objective, in double. */
typedef double (*gc_objective)(void *ctx);

/* Compares grad (n) with central differences of f with respect to x (n), checking at most
 * max_points elements (all if n <= max_points, else an evenly spread subset). Fails the current
 * Criterion test, naming `what` and the element, on the first mismatch; also fails if every
 * gradient checked is below atol (a check that could not fail). Leaves x as it found it.
 * Returns the largest fraction of the tolerance used, err / (atol + rtol * scale), for
 * calibrating tolerances (PTRAIN_GC_VERBOSE=1 in the environment prints it). */
double gc_check(const char *what, gc_objective f, void *ctx, float *x, const float *grad, size_t n,
                float step, double rtol, double atol, size_t max_points);

/* sum(a * b) over n floats, in double. */
double gc_dot(const float *a, const float *b, size_t n);

/* Fills x (n) with standard normal values * scale from a fixed seed. */
void gc_fill_normal(float *x, size_t n, uint64_t seed, float scale);

/* Fills x (n) with uniform values in [lo, hi) from a fixed seed. */
void gc_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);

/* Largest |a - b| / (1 + |b|) over n floats: the comparison of two implementations. */
double gc_max_rel_diff(const float *a, const float *b, size_t n);

#endif
