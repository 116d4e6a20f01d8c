/* IDX files: generated ones (plain and gzipped, good and broken) and the real Fashion-MNIST. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ptrain/idx.h"

#if defined(__SANITIZE_ADDRESS__)
#define PT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PT_ASAN 1
#endif
#endif

/* Fashion-MNIST is a declared dependency (Debian's dataset-fashion-mnist, which
 * slurm/install-deps.sh installs and `make test` runs first), so a missing data set FAILS this
 * test, as it fails the integration tests prep_fashion_mnist and train_fashion_mnist, with the
 * same message (tests/integration/lib.sh, fashion_mnist_dir). Never a skip: a green run must
 * include the one check on real data. PTRAIN_FASHION_MNIST_DIR points at another copy (a machine
 * without Debian packages). See tests/README.md. */
#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* fashion_file: the path of one Fashion-MNIST file into buf; fails the test if it is missing. */
static const char *fashion_file(char *buf, size_t size, const char *name)
{
    const char *dir = getenv("PTRAIN_FASHION_MNIST_DIR");
    if (!dir || !*dir)
        dir = FASHION_DIR;
    cr_assert_lt((size_t)snprintf(buf, size, "%s/%s", dir, name), size);
    if (access(buf, R_OK) != 0)
        cr_assert_fail("Fashion-MNIST is missing: no %s. Install Debian's dataset-fashion-mnist "
                       "(slurm/install-deps.sh does) or set PTRAIN_FASHION_MNIST_DIR to a folder "
                       "holding the four IDX .gz files",
                       buf);
    return buf;
}

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

/* 60000 x 200 x 300: 3.6 GB announced by a 16-byte header. */
static const uint8_t huge_header[] = {0, 0, 8, 3, 0, 0, 0xEA, 0x60, 0, 0, 0, 200, 0, 0, 1, 0x2C};

/* The reader must compare what the header announces with what the file can hold BEFORE it
 * allocates: fuzzing ran at 194 inputs/s while every 16-byte input made it allocate gigabytes.
 * Outside ASan (which needs its own address space) the test caps the address space at 1 GiB more
 * than in use, so a reader that allocates first fails with "out of memory" instead. */
static void limit_address_space(void)
{
#ifndef PT_ASAN
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    cr_assert_not_null(f);
    cr_assert_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (1UL << 30);
    cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
#endif
}

Test(idx, header_announcing_more_than_the_file_holds_is_refused_before_allocating)
{
    char plain[] = "/tmp/ptrain-idx-huge-XXXXXX";
    char gz[] = "/tmp/ptrain-idx-huge-gz-XXXXXX";
    close(mkstemp(plain));
    close(mkstemp(gz));
    uint8_t body[64] = {0};
    write_idx(plain, 0, huge_header, sizeof huge_header, body, sizeof body);
    write_idx(gz, 1, huge_header, sizeof huge_header, body, sizeof body);
    limit_address_space();
    const char *paths[] = {plain, gz};
    for (int i = 0; i < 2; i++) {
        pt_idx idx;
        pt_error err;
        cr_assert_eq(pt_idx_read(paths[i], &idx, &err), PT_ERR_FORMAT, "%s: %s", paths[i], err.msg);
        cr_assert(strstr(err.msg, "announces") != NULL, "%s", err.msg);
        cr_assert_null(idx.data);
        /* the scanner reads only the header, and gets the same answer */
        cr_assert_eq(pt_idx_read_header(paths[i], &idx, &err), PT_ERR_FORMAT, "%s", err.msg);
    }
    unlink(plain);
    unlink(gz);
}

Test(idx, gzip_stream_shorter_than_announced_is_truncated)
{
    /* 4 images of 64x64 announced, one delivered: the gzip bound cannot tell, the read must */
    const uint8_t header[] = {0, 0, 8, 3, 0, 0, 0, 4, 0, 0, 0, 64, 0, 0, 0, 64};
    uint8_t body[64 * 64];
    memset(body, 7, sizeof body);
    char gz[] = "/tmp/ptrain-idx-short-gz-XXXXXX";
    close(mkstemp(gz));
    write_idx(gz, 1, header, sizeof header, body, sizeof body);
    pt_idx idx;
    pt_error err;
    cr_assert_eq(pt_idx_read(gz, &idx, &err), PT_ERR_FORMAT);
    cr_assert(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
    cr_assert_null(idx.data);
    cr_assert_eq(pt_idx_read_header(gz, &idx, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(idx.dims[0], 4);
    cr_assert_null(idx.data);
    unlink(gz);
}

/* A FIFO named like an IDX file: the reader must not wait for a writer. */
Test(idx, fifo_is_refused_without_blocking)
{
    char dir[] = "/tmp/ptrain-idx-fifo-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    alarm(10); /* a blocking open would hang: let SIGALRM fail the test instead */
    pt_idx idx;
    pt_error err;
    cr_assert_eq(pt_idx_read(path, &idx, &err), PT_ERR_IO);
    cr_assert(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);
    cr_assert_eq(pt_idx_read_header(path, &idx, &err), PT_ERR_IO);
    alarm(0);
    unlink(path);
    rmdir(dir);
}

Test(idx, real_fashion_mnist)
{
    char labels_path[4096], images_path[4096];
    fashion_file(labels_path, sizeof labels_path, "t10k-labels-idx1-ubyte.gz");
    fashion_file(images_path, sizeof images_path, "t10k-images-idx3-ubyte.gz");
    pt_idx labels, images;
    pt_error err;
    cr_assert_eq(pt_idx_read(labels_path, &labels, &err), PT_OK, "%s", err.msg);
    cr_assert_eq(pt_idx_read(images_path, &images, &err), PT_OK, "%s", err.msg);
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
