/* Writes the seed corpora of the image, IDX, CSV and architecture harnesses into DIR/<harness>/
 * (tests/fuzz/corpus/ was made with it: `fuzz_make_seeds tests/fuzz/corpus`; the cache seeds
 * come from ptrain-prep, see make_corpus.sh). Small files: libFuzzer mutates them from there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "image_fixtures.h"
#include "ptrain/arch.h"

static const char *out_dir;

static void save(const char *harness, const char *name, const void *data, size_t size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", out_dir, harness);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, harness, name);
    if (fixture_write_bytes(path, data, size) != 0) {
        perror(path);
        exit(1);
    }
}

static void save_gz(const char *harness, const char *name, const void *data, size_t size)
{
    uLongf cap = compressBound((uLong)size) + 32;
    uint8_t *buf = malloc(cap);
    z_stream z = {0};
    /* windowBits 15 + 16: a gzip wrapper, as the .gz files of MNIST have */
    if (!buf || deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        exit(1);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        exit(1);
    save(harness, name, buf, z.total_out);
    deflateEnd(&z);
    free(buf);
}

static void images(void)
{
    const fx_png_kind pngs[] = {FX_PNG_GRAY1,    FX_PNG_GRAY8,        FX_PNG_GRAY16,
                                FX_PNG_RGB8,     FX_PNG_RGBA16,       FX_PNG_GRAY_ALPHA8,
                                FX_PNG_PALETTE4, FX_PNG_PALETTE_TRNS, FX_PNG_GRAY8_TRNS};
    for (size_t i = 0; i < sizeof pngs / sizeof *pngs; i++) {
        for (int interlaced = 0; interlaced < 2; interlaced++) {
            if (interlaced && i % 3 != 0)
                continue;
            fx_file f;
            if (fixture_png_make(pngs[i], 9, 7, interlaced, &f, NULL) != 0)
                exit(1);
            char name[64];
            snprintf(name, sizeof name, "%s%s.png", fx_png_kind_name(pngs[i]),
                     interlaced ? "-interlaced" : "");
            save("image", name, f.data, f.size);
            fx_file_free(&f);
        }
    }
    for (int k = 0; k < FX_JPEG_KIND_COUNT; k++) {
        fx_file f;
        if (fixture_jpeg_make((fx_jpeg_kind)k, 24, 17, 60, &f, NULL) != 0)
            exit(1);
        char name[64];
        snprintf(name, sizeof name, "%s.jpg", fx_jpeg_kind_name((fx_jpeg_kind)k));
        save("image", name, f.data, f.size);
        fx_file_free(&f);
    }
}

static void idx(void)
{
    const uint8_t labels[] = {0, 0, 8, 1, 0, 0, 0, 4, 3, 1, 4, 1};
    uint8_t images[16 + 3 * 5 * 4];
    const uint8_t header[16] = {0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0, 4};
    memcpy(images, header, sizeof header);
    for (size_t i = 16; i < sizeof images; i++)
        images[i] = (uint8_t)(i * 13);
    save("idx", "labels-idx1-ubyte", labels, sizeof labels);
    save("idx", "images-idx3-ubyte", images, sizeof images);
    save_gz("idx", "labels-idx1-ubyte.gz", labels, sizeof labels);
    save_gz("idx", "images-idx3-ubyte.gz", images, sizeof images);
    const uint8_t huge[16] = {0, 0, 8, 3, 0, 0, 0xEA, 0x60, 0, 0, 0, 200, 0, 0, 1, 0x2C};
    save("idx", "huge-header", huge, sizeof huge);
}

static void csv(void)
{
    const char *nih =
        "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
        "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n"
        "00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143\n"
        "00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA,2894,2729,0.143,0.143\n"
        "00000002_000.png,No Finding,0,2,81,M,PA,2500,2048,0.171,0.171\n";
    save("csv", "nih.csv", nih, strlen(nih));
    const char *quoted = "\xEF\xBB\xBF\"Image Index\",\"Finding Labels\",\"Patient ID\"\r\n"
                         "\"a.png\",\"Effusion|Mass\",\"7\"\r\n"
                         "\"b, c.png\",\"say \"\"hi\"\"\",\"8\"\r\n"
                         "\"multi\nline.png\",Hernia,9\r\n";
    save("csv", "quoted-bom-crlf.csv", quoted, strlen(quoted));
    const char *cr = "a,b\rc,d\r\"e\rf\",g";
    save("csv", "cr.csv", cr, strlen(cr));
}

static void archs(void)
{
    const char *presets[] = {"fmnist", "cxr", "resnet18"};
    for (size_t i = 0; i < 3; i++) {
        char *text = pt_arch_preset_text(presets[i]);
        if (!text)
            exit(1);
        char name[64];
        snprintf(name, sizeof name, "%s.arch", presets[i]);
        save("arch", name, text, strlen(text));
        free(text);
    }
    const char *custom = "# every layer type, small\n"
                         "[conv]\nfilters=4\nsize=3\nstride=1\npad=1\n[batchnorm]\n[relu]\n"
                         "[conv]\nfilters=4\nsize=3\npad=1\nbias=0\n[residual]\nfrom=-3\n"
                         "[maxpool]\nsize=2\nstride=2\n[dropout]\np=0.25\n"
                         "[conv]\nfilters=6\nsize=1\ninput=-2\n[avgpool]\n"
                         "[dense]\noutputs=8\n[relu]\n[dense]\noutputs=classes\n";
    save("arch", "every-layer.arch", custom, strlen(custom));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_make_seeds DIR\n");
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    images();
    idx();
    csv();
    archs();
    return 0;
}
