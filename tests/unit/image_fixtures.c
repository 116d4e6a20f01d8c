/* Test images generated with libpng and libjpeg directly (never through the code under test), and
 * damaged or hostile files built from them byte by byte. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "image_fixtures.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <jpeglib.h>

/* ---- small helpers --------------------------------------------------------------------------- */

void fx_file_free(fx_file *f)
{
    if (!f)
        return;
    free(f->data);
    f->data = NULL;
    f->size = 0;
}

static uint8_t round_u8(double v)
{
    v = floor(v + 0.5);
    return (uint8_t)(v < 0.0 ? 0.0 : v > 255.0 ? 255.0 : v);
}

static double luma(double r, double g, double b)
{
    return 0.299 * r + 0.587 * g + 0.114 * b;
}

int fixture_from_bytes(const void *data, size_t size, fx_file *out)
{
    out->data = malloc(size ? size : 1);
    out->size = size;
    if (!out->data)
        return -1;
    if (size)
        memcpy(out->data, data, size);
    return 0;
}

int fixture_write_bytes(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = size == 0 || fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

int fixture_save(const fx_file *f, const char *path)
{
    return fixture_write_bytes(path, f->data, f->size);
}

int fixture_truncate(fx_file *f, size_t size)
{
    if (size > f->size)
        return -1;
    f->size = size;
    return 0;
}

int fixture_random_bytes(size_t size, uint32_t seed, fx_file *out)
{
    out->data = malloc(size ? size : 1);
    out->size = size;
    if (!out->data)
        return -1;
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < size; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        out->data[i] = (uint8_t)(s >> 24);
    }
    if (size > 0 && (out->data[0] == 0x89 || out->data[0] == 0xFF))
        out->data[0] = 0x42;
    return 0;
}

/* ---- PNG encoding ---------------------------------------------------------------------------- */

typedef struct png_spec {
    int width, height, color_type, bit_depth, interlaced;
    const uint8_t *rows; /* packed rows as the PNG stores them */
    size_t rowbytes;
    const png_color *palette;
    int npalette;
    const uint8_t *palette_alpha; /* tRNS for a palette */
    int nalpha;
    int trans_gray; /* tRNS gray level for a gray image, or -1 */
} png_spec;

typedef struct png_out {
    png_structp png;
    png_infop info;
    uint8_t *data;
    size_t size, cap;
    png_bytep *row_ptrs;
} png_out;

static void fx_png_error(png_structp png, png_const_charp msg)
{
    png_longjmp(png, 1);
}

static void fx_png_warning(png_structp png, png_const_charp msg)
{
}

static void fx_png_write(png_structp png, png_bytep src, size_t len)
{
    png_out *o = png_get_io_ptr(png);
    if (o->size + len > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        while (cap < o->size + len)
            cap *= 2;
        uint8_t *grown = realloc(o->data, cap);
        if (!grown)
            png_error(png, "out of memory");
        o->data = grown;
        o->cap = cap;
    }
    memcpy(o->data + o->size, src, len);
    o->size += len;
}

static void fx_png_flush(png_structp png)
{
}

static int png_encode_inner(png_out *o, const png_spec *s)
{
    if (setjmp(png_jmpbuf(o->png)))
        return -1;
    png_set_write_fn(o->png, o, fx_png_write, fx_png_flush);
    png_set_IHDR(o->png, o->info, (png_uint_32)s->width, (png_uint_32)s->height, s->bit_depth,
                 s->color_type, s->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->palette)
        png_set_PLTE(o->png, o->info, s->palette, s->npalette);
    if (s->palette_alpha)
        png_set_tRNS(o->png, o->info, s->palette_alpha, s->nalpha, NULL);
    if (s->trans_gray >= 0) {
        png_color_16 trans = {.gray = (png_uint_16)s->trans_gray};
        png_set_tRNS(o->png, o->info, NULL, 0, &trans);
    }
    /* An ancillary chunk before the image data, for the CRC tests. */
    png_text text = {.compression = PNG_TEXT_COMPRESSION_NONE,
                     .key = (png_charp) "Software",
                     .text = (png_charp) "ptrain test fixtures"};
    png_set_text(o->png, o->info, &text, 1);
    for (int y = 0; y < s->height; y++)
        o->row_ptrs[y] = (png_bytep)(s->rows + (size_t)y * s->rowbytes);
    png_set_rows(o->png, o->info, o->row_ptrs);
    png_write_png(o->png, o->info, PNG_TRANSFORM_IDENTITY, NULL);
    return 0;
}

static int png_encode(const png_spec *s, fx_file *out)
{
    out->data = NULL;
    out->size = 0;
    png_out o = {0};
    int rc = -1;
    o.row_ptrs = malloc(sizeof *o.row_ptrs * (size_t)s->height);
    o.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, fx_png_error, fx_png_warning);
    if (!o.row_ptrs || !o.png)
        goto done;
    o.info = png_create_info_struct(o.png);
    if (!o.info)
        goto done;
    rc = png_encode_inner(&o, s);
done:
    if (o.png)
        png_destroy_write_struct(&o.png, o.info ? &o.info : NULL);
    free(o.row_ptrs);
    if (rc != 0) {
        free(o.data);
        return -1;
    }
    out->data = o.data;
    out->size = o.size;
    return 0;
}

/* Packs samples (channels per pixel, each < 2^depth) into PNG rows: MSB first below 8 bits,
 * big-endian at 16. */
static uint8_t *pack_rows(const uint16_t *samples, int w, int h, int channels, int depth,
                          size_t *rowbytes)
{
    size_t rb = ((size_t)w * (size_t)channels * (size_t)depth + 7) / 8;
    uint8_t *rows = calloc(rb * (size_t)h, 1);
    if (!rows)
        return NULL;
    for (int y = 0; y < h; y++) {
        uint8_t *row = rows + (size_t)y * rb;
        for (int i = 0; i < w * channels; i++) {
            unsigned v = samples[(size_t)y * (size_t)w * (size_t)channels + (size_t)i];
            if (depth == 16) {
                row[2 * i] = (uint8_t)(v >> 8);
                row[2 * i + 1] = (uint8_t)v;
            } else if (depth == 8) {
                row[i] = (uint8_t)v;
            } else {
                size_t bit = (size_t)i * (size_t)depth;
                row[bit / 8] |= (uint8_t)(v << (8 - depth - bit % 8));
            }
        }
    }
    *rowbytes = rb;
    return rows;
}

int fixture_png_from_samples(const uint16_t *samples, int w, int h, int channels, int bit_depth,
                             int interlaced, fx_file *out)
{
    static const int types[] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    if (channels < 1 || channels > 4)
        return -1;
    size_t rowbytes;
    uint8_t *rows = pack_rows(samples, w, h, channels, bit_depth, &rowbytes);
    if (!rows)
        return -1;
    png_spec s = {.width = w,
                  .height = h,
                  .color_type = types[channels],
                  .bit_depth = bit_depth,
                  .interlaced = interlaced,
                  .rows = rows,
                  .rowbytes = rowbytes,
                  .trans_gray = -1};
    int rc = png_encode(&s, out);
    free(rows);
    return rc;
}

int fixture_write_png(const char *path, int w, int h, uint8_t value)
{
    uint16_t *samples = malloc(sizeof *samples * (size_t)w * (size_t)h);
    if (!samples)
        return -1;
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        samples[i] = value;
    fx_file f = {0};
    int rc = fixture_png_from_samples(samples, w, h, 1, 8, 0, &f);
    free(samples);
    if (rc == 0)
        rc = fixture_save(&f, path);
    fx_file_free(&f);
    return rc;
}

static const char *const png_kind_names[] = {
    "gray1", "gray2", "gray4", "gray8",  "gray16",   "gray8-trns", "gray-alpha8", "gray-alpha16",
    "rgb8",  "rgb16", "rgba8", "rgba16", "palette8", "palette4",   "palette-trns"};
_Static_assert(sizeof png_kind_names / sizeof png_kind_names[0] == FX_PNG_KIND_COUNT,
               "png_kind_names must name every kind");

const char *fx_png_kind_name(fx_png_kind kind)
{
    return (int)kind >= 0 && kind < FX_PNG_KIND_COUNT ? png_kind_names[kind] : "?";
}

int fx_png_kind_tolerance(fx_png_kind kind)
{
    switch (kind) {
    case FX_PNG_GRAY_ALPHA16: /* alpha and gray are each rounded to 8 bits before compositing */
    case FX_PNG_RGB8:         /* fixed-point luma weights round differently near .5 */
    case FX_PNG_RGB16:
    case FX_PNG_RGBA8:
    case FX_PNG_RGBA16:
    case FX_PNG_PALETTE8:
    case FX_PNG_PALETTE4:
    case FX_PNG_PALETTE_TRNS:
        return 1;
    default:
        return 0;
    }
}

/* A pattern that runs through the whole 8-bit range in a few rows; salt gives each channel its
 * own. */
static unsigned pattern8(int x, int y, int salt)
{
    return (unsigned)(x * 7 + y * 13 + x * y * 3 + salt * 41) & 255u;
}

static unsigned pattern16(int x, int y, int salt)
{
    return (pattern8(x, y, salt) << 8) | ((unsigned)(x * 29 + y * 17 + salt * 11) & 255u);
}

int fixture_png_make(fx_png_kind kind, int w, int h, int interlaced, fx_file *out,
                     uint8_t *expected)
{
    out->data = NULL;
    out->size = 0;
    int channels = 1, depth = 8, color_type = PNG_COLOR_TYPE_GRAY;
    switch (kind) {
    case FX_PNG_GRAY1:
        depth = 1;
        break;
    case FX_PNG_GRAY2:
        depth = 2;
        break;
    case FX_PNG_GRAY4:
        depth = 4;
        break;
    case FX_PNG_GRAY8:
    case FX_PNG_GRAY8_TRNS:
        break;
    case FX_PNG_GRAY16:
        depth = 16;
        break;
    case FX_PNG_GRAY_ALPHA8:
    case FX_PNG_GRAY_ALPHA16:
        channels = 2;
        depth = kind == FX_PNG_GRAY_ALPHA16 ? 16 : 8;
        color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
        break;
    case FX_PNG_RGB8:
    case FX_PNG_RGB16:
        channels = 3;
        depth = kind == FX_PNG_RGB16 ? 16 : 8;
        color_type = PNG_COLOR_TYPE_RGB;
        break;
    case FX_PNG_RGBA8:
    case FX_PNG_RGBA16:
        channels = 4;
        depth = kind == FX_PNG_RGBA16 ? 16 : 8;
        color_type = PNG_COLOR_TYPE_RGB_ALPHA;
        break;
    case FX_PNG_PALETTE8:
    case FX_PNG_PALETTE_TRNS:
        color_type = PNG_COLOR_TYPE_PALETTE;
        break;
    case FX_PNG_PALETTE4:
        depth = 4;
        color_type = PNG_COLOR_TYPE_PALETTE;
        break;
    default:
        return -1;
    }

    /* Palette entries with unrelated R, G, B, and alphas including 0 and 255. */
    int npalette = color_type == PNG_COLOR_TYPE_PALETTE ? 1 << depth : 0;
    png_color palette[256];
    uint8_t palette_alpha[256];
    for (int i = 0; i < npalette; i++) {
        palette[i].red = (png_byte)(i * 37 + 11);
        palette[i].green = (png_byte)(i * 91 + 3);
        palette[i].blue = (png_byte)(255 - i * 53);
        palette_alpha[i] = (uint8_t)(i % 5 == 0 ? 0 : i % 5 == 1 ? 255 : i * 67 + 5);
    }
    const int trans_gray = 77;

    uint16_t *samples = malloc(sizeof *samples * (size_t)w * (size_t)h * (size_t)channels);
    if (!samples)
        return -1;
    unsigned maxv = depth == 16 ? 65535u : (1u << depth) - 1u;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint16_t *s = samples + ((size_t)y * (size_t)w + (size_t)x) * (size_t)channels;
            double gray = 0.0;
            for (int c = 0; c < channels; c++)
                s[c] =
                    (uint16_t)(depth == 16 ? pattern16(x, y, c) : pattern8(x, y, c) % (maxv + 1));
            if (color_type == PNG_COLOR_TYPE_PALETTE) {
                const png_color *p = &palette[s[0]];
                gray = luma(p->red, p->green, p->blue);
                if (kind == FX_PNG_PALETTE_TRNS)
                    gray *= palette_alpha[s[0]] / 255.0;
            } else {
                double v[4];
                for (int c = 0; c < channels; c++)
                    v[c] = s[c] * 255.0 / maxv;
                if (channels <= 2)
                    gray = v[0];
                else
                    gray = luma(v[0], v[1], v[2]);
                if (channels == 2 || channels == 4)
                    gray *= v[channels - 1] / 255.0;
                if (kind == FX_PNG_GRAY8_TRNS && s[0] == trans_gray)
                    gray = 0.0;
            }
            if (expected)
                expected[(size_t)y * (size_t)w + (size_t)x] = round_u8(gray);
        }
    }
    size_t rowbytes;
    uint8_t *rows = pack_rows(samples, w, h, channels, depth, &rowbytes);
    free(samples);
    if (!rows)
        return -1;
    png_spec spec = {.width = w,
                     .height = h,
                     .color_type = color_type,
                     .bit_depth = depth,
                     .interlaced = interlaced,
                     .rows = rows,
                     .rowbytes = rowbytes,
                     .palette = npalette ? palette : NULL,
                     .npalette = npalette,
                     .palette_alpha = kind == FX_PNG_PALETTE_TRNS ? palette_alpha : NULL,
                     .nalpha = npalette,
                     .trans_gray = kind == FX_PNG_GRAY8_TRNS ? trans_gray : -1};
    int rc = png_encode(&spec, out);
    free(rows);
    return rc;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int fixture_png_corrupt_chunk(fx_file *f, const char *chunk_type)
{
    size_t pos = 8;
    while (pos + 12 <= f->size) {
        uint32_t len = be32(f->data + pos);
        if (pos + 12 + len > f->size)
            return -1;
        if (memcmp(f->data + pos + 4, chunk_type, 4) == 0) {
            f->data[pos + 8 + len] ^= 0x5A; /* first CRC byte: data intact, checksum wrong */
            return 0;
        }
        pos += 12 + len;
    }
    return -1;
}

/* Appends one chunk with its CRC (over type and data, as the PNG spec defines it). */
static size_t put_chunk(uint8_t *dst, const char *type, const uint8_t *data, uint32_t len)
{
    put_be32(dst, len);
    memcpy(dst + 4, type, 4);
    if (len)
        memcpy(dst + 8, data, len);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, dst + 4, 4 + len);
    put_be32(dst + 8 + len, (uint32_t)crc);
    return 12 + len;
}

int fixture_png_header_only(uint32_t width, uint32_t height, fx_file *out)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    uint8_t ihdr[13];
    put_be32(ihdr, width);
    put_be32(ihdr + 4, height);
    ihdr[8] = 8; /* bit depth */
    ihdr[9] = 0; /* gray */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    /* A few rows' worth of compressed zeros: enough to reach the first IDAT, nowhere near the
     * image announced. */
    uint8_t raw[64] = {0};
    uint8_t zbuf[128];
    uLongf zlen = sizeof zbuf;
    if (compress2(zbuf, &zlen, raw, sizeof raw, 9) != Z_OK)
        return -1;
    out->data = malloc(8 + 25 + 12 + zlen + 12);
    if (!out->data)
        return -1;
    size_t pos = 0;
    memcpy(out->data, sig, 8);
    pos += 8;
    pos += put_chunk(out->data + pos, "IHDR", ihdr, 13);
    pos += put_chunk(out->data + pos, "IDAT", zbuf, (uint32_t)zlen);
    pos += put_chunk(out->data + pos, "IEND", NULL, 0);
    out->size = pos;
    return 0;
}

/* ---- JPEG encoding --------------------------------------------------------------------------- */

typedef struct jpeg_out {
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    unsigned char *buf;
    unsigned long size;
} jpeg_out;

static void fx_jpeg_error(j_common_ptr cinfo)
{
    jpeg_out *o = (jpeg_out *)cinfo->client_data;
    longjmp(o->jump, 1);
}

static void fx_jpeg_output(j_common_ptr cinfo)
{
}

static int jpeg_encode_inner(jpeg_out *o, const uint8_t *pixels, int w, int h, fx_jpeg_kind kind,
                             int quality)
{
    j_compress_ptr c = &o->cinfo;
    if (setjmp(o->jump))
        return -1;
    jpeg_create_compress(c);
    c->client_data = o;
    jpeg_mem_dest(c, &o->buf, &o->size);
    c->image_width = (JDIMENSION)w;
    c->image_height = (JDIMENSION)h;
    int components = 3;
    c->in_color_space = JCS_RGB;
    if (kind == FX_JPEG_GRAY) {
        components = 1;
        c->in_color_space = JCS_GRAYSCALE;
    } else if (kind == FX_JPEG_CMYK || kind == FX_JPEG_YCCK || kind == FX_JPEG_CMYK_PLAIN) {
        components = 4;
        c->in_color_space = JCS_CMYK;
    }
    c->input_components = components;
    jpeg_set_defaults(c);
    if (kind == FX_JPEG_RGB)
        jpeg_set_colorspace(c, JCS_RGB);
    if (kind == FX_JPEG_CMYK || kind == FX_JPEG_CMYK_PLAIN)
        jpeg_set_colorspace(c, JCS_CMYK);
    if (kind == FX_JPEG_YCCK)
        jpeg_set_colorspace(c, JCS_YCCK); /* the default for CMYK input is to store CMYK */
    if (kind == FX_JPEG_CMYK_PLAIN)
        c->write_Adobe_marker = FALSE; /* decoders then read the samples as plain ink amounts */
    if (components == 4) {
        /* Full-resolution chroma: CMYK gray needs every channel, and the test wants precision. */
        for (int i = 0; i < c->num_components; i++)
            c->comp_info[i].h_samp_factor = c->comp_info[i].v_samp_factor = 1;
    }
    jpeg_set_quality(c, quality, TRUE);
    if (kind == FX_JPEG_PROGRESSIVE)
        jpeg_simple_progression(c);
    jpeg_start_compress(c, TRUE);
    size_t stride = (size_t)w * (size_t)components;
    while (c->next_scanline < c->image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)c->next_scanline * stride);
        jpeg_write_scanlines(c, &row, 1);
    }
    jpeg_finish_compress(c);
    return 0;
}

int fixture_jpeg_from_pixels(const uint8_t *pixels, int w, int h, fx_jpeg_kind kind, int quality,
                             fx_file *out)
{
    out->data = NULL;
    out->size = 0;
    jpeg_out *o = calloc(1, sizeof *o);
    if (!o)
        return -1;
    o->cinfo.err = jpeg_std_error(&o->mgr);
    o->mgr.error_exit = fx_jpeg_error;
    o->mgr.output_message = fx_jpeg_output;
    o->cinfo.client_data = o;
    int rc = jpeg_encode_inner(o, pixels, w, h, kind, quality);
    jpeg_destroy_compress(&o->cinfo);
    if (rc == 0) {
        out->data = o->buf;
        out->size = o->size;
    } else {
        free(o->buf);
    }
    free(o);
    return rc;
}

int fx_jpeg_kind_components(fx_jpeg_kind kind)
{
    switch (kind) {
    case FX_JPEG_GRAY:
        return 1;
    case FX_JPEG_CMYK:
    case FX_JPEG_YCCK:
    case FX_JPEG_CMYK_PLAIN:
        return 4;
    default:
        return 3;
    }
}

static const char *const jpeg_kind_names[] = {"gray", "ycbcr",      "rgb",        "cmyk",
                                              "ycck", "cmyk-plain", "progressive"};
_Static_assert(sizeof jpeg_kind_names / sizeof jpeg_kind_names[0] == FX_JPEG_KIND_COUNT,
               "jpeg_kind_names must name every kind");

const char *fx_jpeg_kind_name(fx_jpeg_kind kind)
{
    return (int)kind >= 0 && kind < FX_JPEG_KIND_COUNT ? jpeg_kind_names[kind] : "?";
}

/* A linear ramp from lo to hi across n positions. */
static double ramp(int i, int n, double lo, double hi)
{
    return n > 1 ? lo + (hi - lo) * i / (n - 1) : lo;
}

int fixture_jpeg_make(fx_jpeg_kind kind, int w, int h, int quality, fx_file *out, uint8_t *expected)
{
    int comps = fx_jpeg_kind_components(kind);
    uint8_t *pixels = malloc((size_t)w * (size_t)h * (size_t)comps);
    if (!pixels)
        return -1;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = pixels + ((size_t)y * (size_t)w + (size_t)x) * (size_t)comps;
            double gray;
            if (comps == 1) {
                p[0] = round_u8(ramp(x + y, w + h - 1, 20, 220));
                gray = p[0];
            } else if (comps == 3) {
                p[0] = round_u8(ramp(x, w, 30, 220));
                p[1] = round_u8(ramp(y, h, 40, 210));
                p[2] = round_u8(ramp(x, w, 220, 40));
                gray = luma(p[0], p[1], p[2]);
            } else {
                p[0] = round_u8(ramp(x, w, 60, 240));
                p[1] = round_u8(ramp(y, h, 200, 100));
                p[2] = round_u8(ramp(x + y, w + h - 1, 120, 220));
                p[3] = round_u8(ramp(y, h, 230, 170));
                double r = p[0], g = p[1], b = p[2], k = p[3];
                if (kind == FX_JPEG_CMYK_PLAIN) {
                    r = 255 - r;
                    g = 255 - g;
                    b = 255 - b;
                    k = 255 - k;
                }
                gray = luma(r * k / 255, g * k / 255, b * k / 255);
            }
            if (expected)
                expected[(size_t)y * (size_t)w + (size_t)x] = round_u8(gray);
        }
    }
    int rc = fixture_jpeg_from_pixels(pixels, w, h, kind, quality, out);
    free(pixels);
    return rc;
}

int fixture_jpeg_gray_constant(int w, int h, uint8_t value, int quality, fx_file *out)
{
    uint8_t *pixels = malloc((size_t)w * (size_t)h);
    if (!pixels)
        return -1;
    memset(pixels, value, (size_t)w * (size_t)h);
    int rc = fixture_jpeg_from_pixels(pixels, w, h, FX_JPEG_GRAY, quality, out);
    free(pixels);
    return rc;
}

int fixture_write_jpeg(const char *path, int w, int h, uint8_t value)
{
    fx_file f = {0};
    int rc = fixture_jpeg_gray_constant(w, h, value, 100, &f);
    if (rc == 0)
        rc = fixture_save(&f, path);
    fx_file_free(&f);
    return rc;
}

int fixture_jpeg_patch_sof(fx_file *f, int width, int height, int precision)
{
    size_t pos = 2;
    while (pos + 4 <= f->size) {
        if (f->data[pos] != 0xFF)
            return -1;
        uint8_t marker = f->data[pos + 1];
        size_t len = (size_t)f->data[pos + 2] << 8 | f->data[pos + 3];
        if (marker == 0xDA || pos + 2 + len > f->size)
            return -1; /* reached the scan without a frame header */
        int is_sof =
            marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (is_sof) {
            uint8_t *seg = f->data + pos + 4;
            if (precision > 0)
                seg[0] = (uint8_t)precision;
            if (height > 0) {
                seg[1] = (uint8_t)(height >> 8);
                seg[2] = (uint8_t)height;
            }
            if (width > 0) {
                seg[3] = (uint8_t)(width >> 8);
                seg[4] = (uint8_t)width;
            }
            return 0;
        }
        pos += 2 + len;
    }
    return -1;
}
