/* The threads of a rank: OpenMP (GCC's libgomp, a compiler runtime rather than a dependency),
 * used by net.c to run every layer on all of a rank's threads.
 *
 * Work is always cut into a fixed number of SLICES (the --threads count), never into "however
 * many threads OpenMP happens to give": a slice's share of the batch and the order in which the
 * slices' partial sums are added are fixed by that count alone, so the result is bit-identical
 * whether the slices run on that many threads, on fewer, or one after another on one thread (a
 * build without OpenMP does exactly that). PT_OMP(directive) is #pragma directive under OpenMP and
 * nothing otherwise, so the code reads the same either way and -Wunknown-pragmas stays quiet. */
#ifndef PTRAIN_THREADS_H
#define PTRAIN_THREADS_H

#ifdef _OPENMP
#include <omp.h>
#define PT_OMP(directive) _Pragma(#directive)
static inline int pt_thread_id(void)
{
    return omp_get_thread_num();
}
static inline int pt_thread_count(void)
{
    return omp_get_num_threads();
}
#else
#define PT_OMP(directive)
static inline int pt_thread_id(void)
{
    return 0;
}
static inline int pt_thread_count(void)
{
    return 1;
}
#endif

/* for (int k = first slice of this thread; k < slices; k += threads): the slices a thread of the
 * current team runs, statically: thread i takes slices i, i + team, ... */
#define PT_FOR_MY_SLICES(k, slices)                                                                \
    for (int k = pt_thread_id(); k < (slices); k += pt_thread_count())

#endif
