/* IDX files: generated ones (plain and gzipped, good and broken) and the real Fashion-MNIST. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ptrain/idx.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static void write_idx(const char *path, int gz, const uint8_t *header, size_t header_len,
                      const uint8_t *body, size_t body_len)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(gzwrite(f, header, (unsigned)header_len), (int)header_len);
        if (body_len)
            cr_assert_eq(gzwrite(f, body, (unsigned)body_len), (int)body_len);
        cr_assert_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        cr_assert_eq(fwrite(header, 1, header_len, f), header_len);
        cr_assert_eq(fwrite(body, 1, body_len, f), body_len);
        cr_assert_eq(fclose(f), 0);
    }
}

static const uint8_t images_header[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};

static void check_images(const char *path)
{
    pt_idx idx;
    pt_error err;
    cr_assert_eq(pt_idx_read(path, &idx, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(idx.n_dims, 3);
    cr_assert_eq(idx.dims[0], 2);
    cr_assert_eq(idx.dims[1], 3);
    cr_assert_eq(idx.dims[2], 4);
    cr_assert_eq(pt_idx_record_size(&idx), 12);
    for (int i = 0; i < 24; i++)
        cr_assert_eq(idx.data[i], i * 10);
    pt_idx_free(&idx);
}

Test(idx, plain_and_gzipped_images)
{
    uint8_t body[24];
    for (int i = 0; i < 24; i++)
        body[i] = (uint8_t)(i * 10);
    char plain[] = "/tmp/ptrain-idx-XXXXXX";
    char gz[] = "/tmp/ptrain-idx-gz-XXXXXX";
    close(mkstemp(plain));
    close(mkstemp(gz));
    write_idx(plain, 0, images_header, sizeof images_header, body, sizeof body);
    write_idx(gz, 1, images_header, sizeof images_header, body, sizeof body);
    check_images(plain);
    check_images(gz);
    unlink(plain);
    unlink(gz);
}

Test(idx, truncated_and_foreign_files_fail_with_a_reason)
{
    uint8_t body[10] = {0};
    char path[] = "/tmp/ptrain-idx-bad-XXXXXX";
    close(mkstemp(path));
    pt_idx idx;
    pt_error err;

    write_idx(path, 0, images_header, sizeof images_header, body, sizeof body);
    cr_assert_eq(pt_idx_read(path, &idx, &err), PT_ERR_FORMAT);
    cr_assert(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
    cr_assert_null(idx.data);

    const uint8_t floats[] = {0, 0, 0x0d, 1, 0, 0, 0, 1};
    write_idx(path, 0, floats, sizeof floats, body, 4);
    cr_assert_eq(pt_idx_read(path, &idx, &err), PT_ERR_FORMAT);
    cr_assert(strstr(err.msg, path) != NULL, "%s", err.msg);

    const uint8_t zero_dim[] = {0, 0, 8, 1, 0, 0, 0, 0};
    write_idx(path, 0, zero_dim, sizeof zero_dim, body, 0);
    cr_assert_eq(pt_idx_read(path, &idx, &err), PT_ERR_FORMAT);

    cr_assert_eq(pt_idx_read("/nonexistent/idx", &idx, &err), PT_ERR_IO);
    unlink(path);
}

Test(idx, real_fashion_mnist)
{
    if (access(FASHION_DIR "/t10k-labels-idx1-ubyte.gz", R_OK) != 0) {
        cr_skip_test("Debian's dataset-fashion-mnist is not installed (slurm/install-deps.sh)");
    }
    pt_idx labels, images;
    pt_error err;
    cr_assert_eq(pt_idx_read(FASHION_DIR "/t10k-labels-idx1-ubyte.gz", &labels, &err), PT_OK, "%s",
                 err.msg);
    cr_assert_eq(pt_idx_read(FASHION_DIR "/t10k-images-idx3-ubyte.gz", &images, &err), PT_OK, "%s",
                 err.msg);
    cr_assert_eq(labels.n_dims, 1);
    cr_assert_eq(labels.dims[0], 10000);
    cr_assert_eq(images.dims[0], 10000);
    cr_assert_eq(images.dims[1], 28);
    cr_assert_eq(images.dims[2], 28);
    int per_class[10] = {0};
    for (int i = 0; i < 10000; i++) {
        cr_assert_lt(labels.data[i], 10);
        per_class[labels.data[i]]++;
    }
    for (int c = 0; c < 10; c++)
        cr_assert_eq(per_class[c], 1000, "class %d", c); /* the test set is balanced */
    pt_idx_free(&labels);
    pt_idx_free(&images);
}
