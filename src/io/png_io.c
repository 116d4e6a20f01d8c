/* PNG decoding and encoding through libpng's low-level API.
 *
 * The low-level API rather than the simplified one: the simplified API converts colour to gray in
 * linear light, which gives a different gray than JPEG's luma for the same picture. Here every
 * colour type is expanded to 8-bit samples and turned into luma (0.299 R + 0.587 G + 0.114 B on
 * the stored values, as libjpeg, PIL and OpenCV do), so a film gets the same pixels whichever
 * format it was saved in. Gamma and colour profiles are ignored for the same reason. */
#include "ptrain/png_io.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptrain/fs.h"

/* State shared with libpng's callbacks and with the cleanup after a longjmp. It lives in the caller
 * of the function that calls setjmp, so nothing in it is lost when libpng jumps back. */
typedef struct png_read_state {
    const uint8_t *data;
    size_t size;
    size_t pos;
    png_structp png;
    png_infop info;
    uint8_t *row; /* one or all decoded rows before conversion to gray */
    char reason[256];
} png_read_state;

/* Largest ancillary chunk libpng may allocate (see decode_rows). */
#define PNG_CHUNK_MAX_BYTES (16u * 1024 * 1024)

static void reader_error(png_structp png, png_const_charp msg)
{
    png_read_state *r = png_get_error_ptr(png);
    snprintf(r->reason, sizeof r->reason, "%s", msg);
    png_longjmp(png, 1);
}

static void reader_warning(png_structp png, png_const_charp msg)
{
    /* libpng warns about ancillary data: a colour profile it dislikes, a duplicate chunk. That does
     * not touch the pixels and is common in real files, so it passes. A CRC mismatch in any chunk
     * means the file was damaged, and a damaged file is rejected rather than half-trusted. */
    if (strstr(msg, "CRC") != NULL)
        reader_error(png, msg);
    /* Over the chunk limit (decode_rows): libpng only warns, then allocates it all anyway. */
    if (strstr(msg, "chunk data is too large") != NULL)
        reader_error(png, msg);
}

static void reader_read(png_structp png, png_bytep dst, size_t len)
{
    png_read_state *r = png_get_io_ptr(png);
    if (len > r->size - r->pos)
        png_error(png, "truncated PNG file (unexpected end of data)");
    memcpy(dst, r->data + r->pos, len);
    r->pos += len;
}

int pt_png_sniff(const uint8_t *data, size_t size)
{
    return size >= 8 && png_sig_cmp(data, 0, 8) == 0;
}

/* Luma with libjpeg's 16-bit fixed-point weights (they sum to 65536, so gray stays gray),
 * composited onto black by alpha, rounded once. The products stay below 2^32 but are summed in 64
 * bits anyway. */
static void row_to_gray(const uint8_t *src, int channels, int width, uint8_t *dst)
{
    switch (channels) {
    case 2:
        for (int x = 0; x < width; x++, src += 2)
            dst[x] = (uint8_t)((src[0] * src[1] + 127u) / 255u);
        break;
    case 3:
        for (int x = 0; x < width; x++, src += 3)
            dst[x] = (uint8_t)((19595u * src[0] + 38470u * src[1] + 7471u * src[2] + 32768u) >> 16);
        break;
    case 4:
        for (int x = 0; x < width; x++, src += 4) {
            uint64_t luma = 19595u * src[0] + 38470u * src[1] + 7471u * src[2];
            dst[x] = (uint8_t)((luma * src[3] + 255u * 32768u) / (255u * 65536u));
        }
        break;
    default:
        memcpy(dst, src, (size_t)width);
        break;
    }
}

/* Everything libpng may jump out of. Returns PT_ERR_FORMAT (reason in r->reason) on a libpng
 * error, or another status with err already set. */
static int decode_rows(png_read_state *r, const char *name, const pt_decode_opts *opts,
                       pt_image *out, pt_error *err)
{
    if (setjmp(png_jmpbuf(r->png)))
        return PT_ERR_FORMAT;

    /* libpng's own default limit (1e6 per side) would reject some announced sizes as corrupt
     * before ours could call them too large; ours is the one the user controls. */
    png_set_user_limits(r->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    /* A chunk announces its own length (up to 2^31 - 1), and libpng allocates that much for an
     * ancillary chunk (text, colour profile, ...) before reading it: fuzzing found a 108-byte file
     * that cost 2 GB. No real X-ray carries metadata anywhere near this: a larger chunk makes the
     * file damaged (reader_warning turns libpng's warning into an error). Image data (IDAT) is
     * streamed and not subject to it. */
    png_set_chunk_malloc_max(r->png, PNG_CHUNK_MAX_BYTES);
    png_set_read_fn(r->png, r, reader_read);
    png_read_info(r->png, r->info);

    png_uint_32 width = png_get_image_width(r->png, r->info);
    png_uint_32 height = png_get_image_height(r->png, r->info);
    if ((int64_t)width * (int64_t)height > opts->max_pixels)
        return pt_error_set(err, PT_ERR_TOO_LARGE,
                            "%s: image is %ux%u pixels, more than --max-pixels %lld", name,
                            (unsigned)width, (unsigned)height, (long long)opts->max_pixels);

    /* Palette -> RGB, gray below 8 bits -> 8 bits (scaled to 0..255), tRNS -> alpha. */
    png_set_expand(r->png);
    /* Rounds 16-bit samples to 8 (png_set_strip_16 would truncate). */
    png_set_scale_16(r->png);
    int passes = png_set_interlace_handling(r->png);
    png_read_update_info(r->png, r->info);

    int channels = png_get_channels(r->png, r->info);
    size_t rowbytes = png_get_rowbytes(r->png, r->info);
    if (png_get_bit_depth(r->png, r->info) != 8 || channels < 1 || channels > 4 ||
        rowbytes != (size_t)width * (size_t)channels)
        return pt_error_set(err, PT_ERR_UNSUPPORTED,
                            "%s: PNG layout not reducible to 8-bit samples (%d channels)", name,
                            channels);

    int status = pt_image_alloc(out, (int)width, (int)height, err);
    if (status != PT_OK)
        return pt_error_set(err, status, "%s: out of memory for a %ux%u image", name,
                            (unsigned)width, (unsigned)height);

    /* Gray rows go straight into the image; others need a buffer, holding every row when
     * interlaced because each Adam7 pass adds pixels to rows read before. */
    if (channels > 1) {
        size_t nrows = passes > 1 ? height : 1;
        r->row = malloc(rowbytes * nrows);
        if (!r->row)
            return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory for %zu bytes of rows", name,
                                rowbytes * nrows);
    }
    for (int pass = 0; pass < passes; pass++) {
        for (png_uint_32 y = 0; y < height; y++) {
            uint8_t *dst = out->pixels + (size_t)y * width;
            uint8_t *row = channels == 1 ? dst : r->row + (passes > 1 ? y * rowbytes : 0);
            png_read_row(r->png, row, NULL);
            if (channels > 1 && passes == 1)
                row_to_gray(row, channels, (int)width, dst);
        }
    }
    if (channels > 1 && passes > 1) {
        for (png_uint_32 y = 0; y < height; y++)
            row_to_gray(r->row + y * rowbytes, channels, (int)width,
                        out->pixels + (size_t)y * width);
    }
    /* Reads to IEND so that damage after the last row (a bad CRC, a cut-off end) is noticed. */
    png_read_end(r->png, NULL);
    return PT_OK;
}

int pt_png_decode(const uint8_t *data, size_t size, const char *name, const pt_decode_opts *opts,
                  pt_image *out, pt_error *err)
{
    memset(out, 0, sizeof *out);
    pt_decode_opts defaults = pt_decode_opts_default();
    if (!opts)
        opts = &defaults;
    if (!name)
        name = "<memory>";
    if (!data || size == 0)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: empty file", name);
    if (!pt_png_sniff(data, size))
        return pt_error_set(err, PT_ERR_FORMAT, "%s: not a PNG file (bad signature)", name);

    png_read_state r = {.data = data, .size = size};
    r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r, reader_error, reader_warning);
    if (!r.png)
        return pt_error_set(err, PT_ERR_NOMEM, "%s: cannot create a libpng reader", name);
    int status;
    r.info = png_create_info_struct(r.png);
    if (!r.info) {
        status = pt_error_set(err, PT_ERR_NOMEM, "%s: cannot create a libpng info struct", name);
        goto done;
    }
    status = decode_rows(&r, name, opts, out, err);
    if (status == PT_ERR_FORMAT && r.reason[0])
        pt_error_set(err, status, "%s: %s", name, r.reason);
done:
    png_destroy_read_struct(&r.png, r.info ? &r.info : NULL, NULL);
    free(r.row);
    if (status != PT_OK)
        pt_image_free(out);
    return status;
}

/* ---- writing --------------------------------------------------------------------------------- */

typedef struct png_write_state {
    png_structp png;
    png_infop info;
    char reason[256];
} png_write_state;

static void writer_error(png_structp png, png_const_charp msg)
{
    png_write_state *w = png_get_error_ptr(png);
    snprintf(w->reason, sizeof w->reason, "%s", msg);
    png_longjmp(png, 1);
}

static void writer_warning(png_structp png, png_const_charp msg)
{
    /* Nothing we write draws a warning; one would be a bug to look at, not a reason to fail. */
}

static int encode_rows(png_write_state *w, FILE *f, const uint8_t *pixels, int width, int height,
                       int channels)
{
    if (setjmp(png_jmpbuf(w->png)))
        return PT_ERR_IO;
    static const int color_types[] = {0, PNG_COLOR_TYPE_GRAY, 0, PNG_COLOR_TYPE_RGB,
                                      PNG_COLOR_TYPE_RGB_ALPHA};
    png_init_io(w->png, f);
    /* zlib level 1 with the Paeth-free "sub/up" filters: within a few percent of the default's
     * size on films and plots, several times faster to write. */
    png_set_compression_level(w->png, 1);
    png_set_filter(w->png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB | PNG_FILTER_UP);
    png_set_IHDR(w->png, w->info, (png_uint_32)width, (png_uint_32)height, 8, color_types[channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(w->png, w->info);
    size_t stride = (size_t)width * (size_t)channels;
    for (int y = 0; y < height; y++)
        png_write_row(w->png, pixels + (size_t)y * stride);
    png_write_end(w->png, NULL);
    return PT_OK;
}

int pt_png_write_file(const char *path, const uint8_t *pixels, int width, int height, int channels,
                      pt_error *err)
{
    if (!pixels || width <= 0 || height <= 0 || (channels != 1 && channels != 3 && channels != 4))
        return pt_error_set(err, PT_ERR_INVALID, "%s: cannot write a %dx%d PNG with %d channels",
                            path, width, height, channels);
    char tmp[PT_PATH_MAX];
    FILE *f = pt_fs_open_temp(path, tmp, err);
    if (!f)
        return err ? err->code : PT_ERR_IO;

    int status;
    png_write_state w = {0};
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, writer_error, writer_warning);
    if (!w.png) {
        status = pt_error_set(err, PT_ERR_NOMEM, "%s: cannot create a libpng writer", path);
        goto done;
    }
    w.info = png_create_info_struct(w.png);
    if (!w.info) {
        status = pt_error_set(err, PT_ERR_NOMEM, "%s: cannot create a libpng info struct", path);
        goto done;
    }
    status = encode_rows(&w, f, pixels, width, height, channels);
    if (status != PT_OK)
        pt_error_set(err, status, "%s: %s", path, w.reason[0] ? w.reason : "PNG write failed");
done:
    if (w.png)
        png_destroy_write_struct(&w.png, w.info ? &w.info : NULL);
    if (status != PT_OK) {
        fclose(f);
        remove(tmp); /* a half-written image must never appear under the final name */
        return status;
    }
    return pt_fs_close_commit(f, tmp, path, err);
}

int pt_png_encode_memory(const uint8_t *pixels, int width, int height, int channels, uint8_t **out,
                         size_t *size, pt_error *err)
{
    *out = NULL;
    *size = 0;
    if (!pixels || width <= 0 || height <= 0 || (channels != 1 && channels != 3 && channels != 4))
        return pt_error_set(err, PT_ERR_INVALID, "cannot encode a %dx%d PNG with %d channels",
                            width, height, channels);
    /* open_memstream gives the FILE * that encode_rows writes to, growing a buffer we own */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return pt_error_set(err, PT_ERR_NOMEM, "PNG encode: open_memstream: %s", strerror(errno));
    int status;
    png_write_state w = {0};
    w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, writer_error, writer_warning);
    if (!w.png) {
        status = pt_error_set(err, PT_ERR_NOMEM, "cannot create a libpng writer");
        goto done;
    }
    w.info = png_create_info_struct(w.png);
    if (!w.info) {
        status = pt_error_set(err, PT_ERR_NOMEM, "cannot create a libpng info struct");
        goto done;
    }
    status = encode_rows(&w, f, pixels, width, height, channels);
    if (status != PT_OK)
        pt_error_set(err, status, "PNG encode: %s", w.reason[0] ? w.reason : "failed");
done:
    if (w.png)
        png_destroy_write_struct(&w.png, w.info ? &w.info : NULL);
    if (fclose(f) != 0 && status == PT_OK)
        status = pt_error_set(err, PT_ERR_NOMEM, "PNG encode: %s", strerror(errno));
    if (status != PT_OK) {
        free(buf);
        return status;
    }
    *out = (uint8_t *)buf;
    *size = len;
    return PT_OK;
}
