/* JPEG decoding and encoding through libjpeg-turbo's libjpeg API.
 *
 * libjpeg's default error handling prints and calls exit(), and it "recovers" from damaged data by
 * printing a warning and filling the rest of the image with gray. Neither may happen here: errors
 * and warnings alike jump back to the caller, and a damaged file is rejected. */
#include "ptrain/jpeg_io.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jpeglib.h needs FILE and size_t declared first. */
#include <jpeglib.h>
#include <jerror.h>

/* Real progressive files have about ten scans; thousands of tiny scans is a known way to make a
 * small file take minutes to decode. libjpeg-turbo's own tools stop at the same number. */
#define PT_JPEG_MAX_SCANS 500

typedef struct jpeg_error_state {
    struct jpeg_error_mgr mgr; /* first, so that cinfo->err can be cast back to this struct */
    jmp_buf jump;
    int status; /* what the failure means for the caller: PT_ERR_FORMAT or PT_ERR_UNSUPPORTED */
    char reason[JMSG_LENGTH_MAX + 64];
} jpeg_error_state;

static void on_error_exit(j_common_ptr cinfo)
{
    jpeg_error_state *e = (jpeg_error_state *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    e->mgr.format_message(cinfo, text);
    switch (e->mgr.msg_code) {
    case JERR_BAD_PRECISION:      /* 12-bit and 16-bit data: this build decodes 8-bit only */
    case JERR_SOF_UNSUPPORTED:    /* lossless and hierarchical processes */
    case JERR_CONVERSION_NOTIMPL: /* no conversion from the stored colour space to ours */
    case JERR_NOT_COMPILED:
    case JERR_ARITH_NOTIMPL:
        e->status = PT_ERR_UNSUPPORTED;
        snprintf(e->reason, sizeof e->reason, "%s", text);
        break;
    case JWRN_JPEG_EOF:
        e->status = PT_ERR_FORMAT;
        snprintf(e->reason, sizeof e->reason, "truncated JPEG (%s)", text);
        break;
    default:
        e->status = PT_ERR_FORMAT;
        snprintf(e->reason, sizeof e->reason, "%s", text);
        break;
    }
    longjmp(e->jump, 1);
}

static void on_emit_message(j_common_ptr cinfo, int msg_level)
{
    /* Level -1 is a warning: libjpeg met damaged data (the file ends early, a marker is corrupt)
     * and would carry on with made-up pixels. Such an image must not reach training. Levels >= 0
     * are trace messages and pass. */
    if (msg_level < 0)
        on_error_exit(cinfo);
}

static void on_output_message(j_common_ptr cinfo)
{
    /* Library code never prints; messages reach the caller through pt_error. */
}

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->progressive_mode && d->input_scan_number > PT_JPEG_MAX_SCANS) {
        jpeg_error_state *e = (jpeg_error_state *)cinfo->err;
        e->status = PT_ERR_FORMAT;
        snprintf(e->reason, sizeof e->reason, "progressive JPEG with more than %d scans",
                 PT_JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

static struct jpeg_error_mgr *error_state_init(jpeg_error_state *e)
{
    struct jpeg_error_mgr *mgr = jpeg_std_error(&e->mgr);
    mgr->error_exit = on_error_exit;
    mgr->emit_message = on_emit_message;
    mgr->output_message = on_output_message;
    e->status = PT_ERR_FORMAT;
    e->reason[0] = '\0';
    return mgr;
}

int pt_jpeg_sniff(const uint8_t *data, size_t size)
{
    return size >= 2 && data[0] == 0xFF && data[1] == 0xD8;
}

/* Adobe software writes CMYK inverted (255 = no ink), and files carrying its APP14 marker are read
 * that way by every mainstream decoder; others are plain CMYK. Each channel's intensity is then
 * (255 - ink) * (255 - black) / 255, followed by the same luma weights as for RGB. */
static void cmyk_row_to_gray(const uint8_t *src, int width, int inverted, uint8_t *dst)
{
    for (int x = 0; x < width; x++, src += 4) {
        uint32_t c = src[0], m = src[1], y = src[2], k = src[3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        uint64_t luma = 19595u * c + 38470u * m + 7471u * y;
        dst[x] = (uint8_t)((luma * k + 255u * 32768u) / (255u * 65536u));
    }
}

/* Decoder state that must survive a longjmp: it lives in the caller of the function that calls
 * setjmp, and is cleaned up there. */
typedef struct jpeg_read_state {
    struct jpeg_decompress_struct cinfo;
    jpeg_error_state err;
    struct jpeg_progress_mgr progress;
    uint8_t *row;
} jpeg_read_state;

/* Everything libjpeg may jump out of. Returns the status from err state after a jump (reason in
 * s->err.reason, err not yet set), or any other status with err set. */
static int decode_rows(jpeg_read_state *s, const uint8_t *data, size_t size, const char *name,
                       const pt_decode_opts *opts, pt_image *out, pt_error *err)
{
    j_decompress_ptr cinfo = &s->cinfo;
    if (setjmp(s->err.jump))
        return s->err.status;

    jpeg_create_decompress(cinfo);
    s->progress.progress_monitor = on_progress;
    cinfo->progress = &s->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    /* With the whole file in memory libjpeg never suspends, so anything but OK is a bug here. */
    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: JPEG header could not be read", name);

    int64_t pixels = (int64_t)cinfo->image_width * (int64_t)cinfo->image_height;
    if (pixels > opts->max_pixels)
        return pt_error_set(err, PT_ERR_TOO_LARGE,
                            "%s: image is %ux%u pixels, more than --max-pixels %lld", name,
                            cinfo->image_width, cinfo->image_height, (long long)opts->max_pixels);

    int cmyk = 0;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        /* From YCbCr libjpeg hands over Y and skips decoding the chroma altogether. */
        cinfo->out_color_space = JCS_GRAYSCALE;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default:
        return pt_error_set(err, PT_ERR_UNSUPPORTED,
                            "%s: JPEG colour space with %d components is not supported", name,
                            cinfo->num_components);
    }

    if (opts->min_width > 0 || opts->min_height > 0) {
        /* The smallest scale that keeps both sides at or above the minimum; if even full size is
         * smaller, the loop ends at full size. */
        cinfo->scale_denom = 8;
        for (unsigned num = 1; num <= 8; num++) {
            cinfo->scale_num = num;
            jpeg_calc_output_dimensions(cinfo);
            if ((int64_t)cinfo->output_width >= opts->min_width &&
                (int64_t)cinfo->output_height >= opts->min_height)
                break;
        }
    }

    if (!jpeg_start_decompress(cinfo))
        return pt_error_set(err, PT_ERR_FORMAT, "%s: JPEG decoder suspended", name);
    if (cinfo->output_components != (cmyk ? 4 : 1))
        return pt_error_set(err, PT_ERR_UNSUPPORTED,
                            "%s: libjpeg produced %d components where %d were asked for", name,
                            cinfo->output_components, cmyk ? 4 : 1);
    int width = (int)cinfo->output_width;
    int height = (int)cinfo->output_height;
    int status = pt_image_alloc(out, width, height, err);
    if (status != PT_OK)
        return pt_error_set(err, status, "%s: out of memory for a %dx%d image", name, width,
                            height);
    if (cmyk) {
        s->row = malloc((size_t)width * 4);
        if (!s->row)
            return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory for a row", name);
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        JDIMENSION y = cinfo->output_scanline;
        uint8_t *dst = out->pixels + (size_t)y * (size_t)width;
        JSAMPROW row = cmyk ? s->row : dst;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1)
            return pt_error_set(err, PT_ERR_FORMAT, "%s: JPEG decoder stopped at row %u", name,
                                (unsigned)y);
        if (cmyk)
            cmyk_row_to_gray(s->row, width, cinfo->saw_Adobe_marker, dst);
    }
    /* Reads on to the end-of-image marker, so that damage after the last row is noticed too. */
    if (!jpeg_finish_decompress(cinfo))
        return pt_error_set(err, PT_ERR_FORMAT, "%s: JPEG decoder suspended", name);
    return PT_OK;
}

int pt_jpeg_decode(const uint8_t *data, size_t size, const char *name, const pt_decode_opts *opts,
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

    jpeg_read_state *s = calloc(1, sizeof *s);
    if (!s)
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory for a JPEG decoder", name);
    s->cinfo.err = error_state_init(&s->err);
    int status = decode_rows(s, data, size, name, opts, out, err);
    if (status != PT_OK && s->err.reason[0])
        pt_error_set(err, status, "%s: %s", name, s->err.reason);
    jpeg_destroy_decompress(&s->cinfo); /* safe on a struct jpeg_create_decompress never reached */
    free(s->row);
    free(s);
    if (status != PT_OK)
        pt_image_free(out);
    return status;
}

/* ---- writing --------------------------------------------------------------------------------- */

typedef struct jpeg_write_state {
    struct jpeg_compress_struct cinfo;
    jpeg_error_state err;
} jpeg_write_state;

static int encode_rows(jpeg_write_state *s, FILE *f, const uint8_t *pixels, int width, int height,
                       int channels, int quality)
{
    j_compress_ptr cinfo = &s->cinfo;
    if (setjmp(s->err.jump))
        return PT_ERR_IO;

    jpeg_create_compress(cinfo);
    jpeg_stdio_dest(cinfo, f);
    cinfo->image_width = (JDIMENSION)width;
    cinfo->image_height = (JDIMENSION)height;
    cinfo->input_components = channels;
    cinfo->in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, quality, TRUE);
    jpeg_start_compress(cinfo, TRUE);
    size_t stride = (size_t)width * (size_t)channels;
    while (cinfo->next_scanline < cinfo->image_height) {
        /* libjpeg's row type is not const, but compression only reads the rows. */
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo->next_scanline * stride);
        jpeg_write_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_compress(cinfo);
    return PT_OK;
}

int pt_jpeg_write_file(const char *path, const uint8_t *pixels, int width, int height, int channels,
                       int quality, pt_error *err)
{
    if (!pixels || width <= 0 || height <= 0 || width > JPEG_MAX_DIMENSION ||
        height > JPEG_MAX_DIMENSION || (channels != 1 && channels != 3))
        return pt_error_set(err, PT_ERR_INVALID, "%s: cannot write a %dx%d JPEG with %d channels",
                            path, width, height, channels);
    if (quality < 1 || quality > 100)
        return pt_error_set(err, PT_ERR_INVALID, "%s: JPEG quality %d is not in 1..100", path,
                            quality);
    FILE *f = fopen(path, "wb");
    if (!f)
        return pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));

    int status;
    jpeg_write_state *s = calloc(1, sizeof *s);
    if (!s) {
        status = pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory for a JPEG encoder", path);
        goto done;
    }
    s->cinfo.err = error_state_init(&s->err);
    status = encode_rows(s, f, pixels, width, height, channels, quality);
    if (status != PT_OK)
        pt_error_set(err, status, "%s: %s", path,
                     s->err.reason[0] ? s->err.reason : "JPEG write failed");
    jpeg_destroy_compress(&s->cinfo);
    free(s);
done:
    if (fclose(f) != 0 && status == PT_OK)
        status = pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));
    if (status != PT_OK)
        remove(path); /* a half-written image must not be mistaken for a good one later */
    return status;
}
