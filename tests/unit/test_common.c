/* Errors, string helpers and the counter-based RNG. */
#include <criterion/criterion.h>
#include <string.h>

#include "ptrain/common.h"
#include "ptrain/fs.h"
#include "ptrain/rng.h"

Test(common, every_code_has_its_own_description)
{
    int codes[] = {PT_OK,          PT_ERR_IO,          PT_ERR_NOMEM,
                   PT_ERR_FORMAT,  PT_ERR_UNSUPPORTED, PT_ERR_TOO_LARGE,
                   PT_ERR_INVALID, PT_ERR_HDF5,        PT_ERR_MPI,
                   PT_ERR_EMPTY};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_neq(pt_strerror(codes[i]), "unknown error");
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(pt_strerror(codes[i]), pt_strerror(codes[j]));
    }
    cr_assert_str_eq(pt_strerror(-999), "unknown error");
}

Test(common, error_set_formats_and_returns_the_code)
{
    pt_error err;
    pt_error_clear(&err);
    int rc = pt_error_set(&err, PT_ERR_IO, "%s: %d", "file.png", 42);
    cr_assert_eq(rc, PT_ERR_IO);
    cr_assert_eq(err.code, PT_ERR_IO);
    cr_assert_str_eq(err.msg, "file.png: 42");
    cr_assert_eq(pt_error_set(NULL, PT_ERR_FORMAT, "ignored"), PT_ERR_FORMAT);
}

Test(common, long_messages_are_truncated_not_overflowed)
{
    pt_error err;
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    pt_error_set(&err, PT_ERR_IO, "%s", big);
    cr_assert_eq(strlen(err.msg), PT_ERROR_MSG_MAX - 1);
}

Test(common, strlcpy_truncates_and_reports)
{
    char buf[5];
    cr_assert_eq(pt_strlcpy(buf, "abcd", sizeof buf), 0);
    cr_assert_str_eq(buf, "abcd");
    cr_assert_eq(pt_strlcpy(buf, "abcdef", sizeof buf), -1);
    cr_assert_str_eq(buf, "abcd");
}

Test(common, read_file_names_the_missing_file)
{
    uint8_t *data;
    size_t size;
    pt_error err;
    int rc = pt_fs_read_file("/nonexistent/ptrain-test.png", &data, &size, &err);
    cr_assert_eq(rc, PT_ERR_IO);
    cr_assert(strstr(err.msg, "/nonexistent/ptrain-test.png") != NULL, "%s", err.msg);
    cr_assert_null(data);
}

Test(rng, same_key_same_stream_and_different_keys_differ)
{
    pt_rng a, b, c;
    pt_rng_init(&a, 7, 3);
    pt_rng_init(&b, 7, 3);
    pt_rng_init(&c, 7, 4);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = pt_rng_next_u64(&a);
        cr_assert_eq(x, pt_rng_next_u64(&b));
        differ += x != pt_rng_next_u64(&c);
    }
    cr_assert_geq(differ, 99);
}

Test(rng, uniform_and_normal_have_the_right_moments)
{
    pt_rng r;
    pt_rng_init(&r, 1, 0);
    const int n = 200000;
    double sum = 0, sum_n = 0, sum_n2 = 0;
    for (int i = 0; i < n; i++) {
        double u = pt_rng_uniform(&r);
        cr_assert(u >= 0.0 && u < 1.0);
        sum += u;
        double z = pt_rng_normal(&r);
        sum_n += z;
        sum_n2 += z * z;
    }
    cr_assert_float_eq(sum / n, 0.5, 0.005);
    cr_assert_float_eq(sum_n / n, 0.0, 0.01);
    cr_assert_float_eq(sum_n2 / n, 1.0, 0.02);
}

Test(rng, below_stays_in_range_and_covers_it)
{
    pt_rng r;
    pt_rng_init(&r, 2, 0);
    int seen[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint64_t v = pt_rng_below(&r, 7);
        cr_assert_lt(v, 7);
        seen[v]++;
    }
    for (int i = 0; i < 7; i++)
        cr_assert(seen[i] > 850 && seen[i] < 1150, "bucket %d: %d", i, seen[i]);
}

Test(common, read_file_refuses_a_directory)
{
    uint8_t *data;
    size_t size;
    pt_error err;
    cr_assert_eq(pt_fs_read_file("/tmp", &data, &size, &err), PT_ERR_IO);
    cr_assert(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);
}
