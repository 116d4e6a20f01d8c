/* Test images generated on the fly with libpng and libjpeg, so that no binary fixture is committed
 * and every test states the image it decodes.
 *
 * Functions return 0 on success and -1 on failure (they are test helpers: a failure means the
 * test set-up is broken, and the caller asserts on it). Buffers returned in fx_file are malloc'd;
 * release them with fx_file_free. */
#ifndef PTRAIN_TEST_IMAGE_FIXTURES_H
#define PTRAIN_TEST_IMAGE_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

/* ---- used by other test files (test_scan.c): keep these three stable ------------------------- */

/* Writes a w x h gray JPEG whose every pixel is `value` (quality 100: decodes back exactly). */
int fixture_write_jpeg(const char *path, int w, int h, uint8_t value);

/* Writes a w x h 8-bit gray PNG whose every pixel is `value`. */
int fixture_write_png(const char *path, int w, int h, uint8_t value);

/* Writes size raw bytes to path (creating or truncating it). */
int fixture_write_bytes(const char *path, const void *data, size_t size);

/* ---- images in memory ------------------------------------------------------------------------ */

typedef struct fx_file {
    uint8_t *data;
    size_t size;
} fx_file;

void fx_file_free(fx_file *f);

/* Every PNG colour type and bit depth the decoder has to handle. */
typedef enum fx_png_kind {
    FX_PNG_GRAY1,
    FX_PNG_GRAY2,
    FX_PNG_GRAY4,
    FX_PNG_GRAY8,
    FX_PNG_GRAY16,
    FX_PNG_GRAY8_TRNS, /* gray with one transparent gray level (tRNS) */
    FX_PNG_GRAY_ALPHA8,
    FX_PNG_GRAY_ALPHA16,
    FX_PNG_RGB8,
    FX_PNG_RGB16,
    FX_PNG_RGBA8,
    FX_PNG_RGBA16,
    FX_PNG_PALETTE8,
    FX_PNG_PALETTE4,
    FX_PNG_PALETTE_TRNS, /* palette with per-entry alpha (tRNS) */
    FX_PNG_KIND_COUNT
} fx_png_kind;

const char *fx_png_kind_name(fx_png_kind kind);

/* Encodes a w x h PNG of the given kind (Adam7-interlaced if `interlaced`) holding a fixed
 * pattern that exercises the whole sample range. If expected is not NULL it receives the w*h gray
 * values a correct decoder returns, computed in double precision from the samples written:
 * luma 0.299 R + 0.587 G + 0.114 B, alpha composited onto black, rounded to nearest.
 * Every file carries a tEXt chunk before the image data (see fixture_png_corrupt_chunk). */
int fixture_png_make(fx_png_kind kind, int w, int h, int interlaced, fx_file *out,
                     uint8_t *expected);

/* Encodes samples (channels per pixel: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA; each < 2^bit_depth)
 * as a PNG of that bit depth (1, 2, 4 for gray only, 8, 16). */
int fixture_png_from_samples(const uint16_t *samples, int w, int h, int channels, int bit_depth,
                             int interlaced, fx_file *out);

/* Worst difference between a correct decoder's output and `expected` for this kind: 0 where the
 * conversion is exact, 1 where 16-bit scaling or luma weights round. */
int fx_png_kind_tolerance(fx_png_kind kind);

/* Damages the CRC of the first chunk of the given type ("IDAT", "tEXt"), leaving its data intact,
 * so that the checksum is the only thing wrong. */
int fixture_png_corrupt_chunk(fx_file *f, const char *chunk_type);

/* A hand-built PNG (signature, IHDR, one small IDAT, IEND, all CRCs correct) announcing an 8-bit
 * gray image of width x height, without the pixel data such an image would need. */
int fixture_png_header_only(uint32_t width, uint32_t height, fx_file *out);

typedef enum fx_jpeg_kind {
    FX_JPEG_GRAY,
    FX_JPEG_YCBCR,       /* RGB input stored as YCbCr with 2x2 chroma subsampling (the usual) */
    FX_JPEG_RGB,         /* RGB stored as RGB (Adobe transform 0) */
    FX_JPEG_CMYK,        /* Adobe-style inverted CMYK, stored as CMYK */
    FX_JPEG_YCCK,        /* Adobe-style inverted CMYK, stored as YCCK */
    FX_JPEG_CMYK_PLAIN,  /* CMYK without Adobe marker: 255 = full ink */
    FX_JPEG_PROGRESSIVE, /* RGB input, YCbCr, progressive scans */
    FX_JPEG_KIND_COUNT
} fx_jpeg_kind;

const char *fx_jpeg_kind_name(fx_jpeg_kind kind);

/* Encodes a w x h JPEG of the given kind holding a smooth pattern (JPEG is lossy; smooth content
 * keeps the loss to a level or two at high quality). expected (w*h, may be NULL) receives the
 * gray values of the pattern before compression, computed as for fixture_png_make. CMYK and YCCK
 * samples are stored inverted as Adobe software writes them (255 = no ink), so the reference
 * colour is R = C * K / 255, G = M * K / 255, B = Y * K / 255 on the stored values; CMYK_PLAIN
 * stores ink amounts, R = (255 - C) * (255 - K) / 255 and so on. */
int fixture_jpeg_make(fx_jpeg_kind kind, int w, int h, int quality, fx_file *out,
                      uint8_t *expected);

/* Encodes pixels with fx_jpeg_kind_components(kind) interleaved components (gray, RGB, or
 * CMYK as stored) as a JPEG of the given kind. */
int fixture_jpeg_from_pixels(const uint8_t *pixels, int w, int h, fx_jpeg_kind kind, int quality,
                             fx_file *out);

/* 1 for gray, 4 for the CMYK kinds, 3 for the rest. */
int fx_jpeg_kind_components(fx_jpeg_kind kind);

/* Encodes a w x h gray JPEG of constant `value`. */
int fixture_jpeg_gray_constant(int w, int h, uint8_t value, int quality, fx_file *out);

/* Rewrites the frame header (SOFn) of a JPEG in place: new width and height (if > 0) and sample
 * precision (if > 0). Used to announce absurd sizes or 12-bit data without producing them. */
int fixture_jpeg_patch_sof(fx_file *f, int width, int height, int precision);

/* Shortens f to `size` bytes (a file cut off in transfer). */
int fixture_truncate(fx_file *f, size_t size);

/* A copy of size bytes of data. */
int fixture_from_bytes(const void *data, size_t size, fx_file *out);

/* size bytes from a fixed-seed generator; the first byte is neither a PNG nor a JPEG signature. */
int fixture_random_bytes(size_t size, uint32_t seed, fx_file *out);

/* Writes f to path. */
int fixture_save(const fx_file *f, const char *path);

#endif
