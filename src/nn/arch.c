/* Architecture text format and presets (see arch.h). */
#include "ptrain/arch.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[PT_LAYER_TYPE_COUNT] = {
    "conv", "batchnorm", "relu", "maxpool", "avgpool", "dense", "dropout", "residual"};
_Static_assert(sizeof type_names / sizeof type_names[0] == PT_LAYER_TYPE_COUNT,
               "layer type names out of step with pt_layer_type");

const char *pt_layer_type_name(pt_layer_type type)
{
    return (unsigned)type < PT_LAYER_TYPE_COUNT ? type_names[type] : NULL;
}

/* ---- presets: the reference architectures of DESIGN.md -----------------------------------------
 */

static const char fmnist_text[] =
    "# fmnist: 1x28x28 -> conv3x3 32 -> ReLU -> maxpool2 -> conv3x3 64 -> ReLU -> maxpool2\n"
    "#         -> dense 128 -> ReLU -> dense (classes)\n"
    "[conv]\nfilters=32\nsize=3\nstride=1\npad=1\n"
    "[relu]\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[conv]\nfilters=64\nsize=3\nstride=1\npad=1\n"
    "[relu]\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[dense]\noutputs=128\n"
    "[relu]\n"
    "[dense]\noutputs=classes\n";

static const char cxr_text[] =
    "# cxr: 1x128x128 -> 4 x [conv3x3 (16, 32, 64, 128) -> BN -> ReLU -> maxpool2]\n"
    "#      -> global average pool -> dense (classes)\n"
    "[conv]\nfilters=16\nsize=3\nstride=1\npad=1\n[batchnorm]\n[relu]\n[maxpool]\nsize=2\nstride="
    "2\n"
    "[conv]\nfilters=32\nsize=3\nstride=1\npad=1\n[batchnorm]\n[relu]\n[maxpool]\nsize=2\nstride="
    "2\n"
    "[conv]\nfilters=64\nsize=3\nstride=1\npad=1\n[batchnorm]\n[relu]\n[maxpool]\nsize=2\nstride="
    "2\n"
    "[conv]\nfilters=128\nsize=3\nstride=1\npad=1\n[batchnorm]\n[relu]\n[maxpool]\nsize=2\nstride="
    "2\n"
    "[avgpool]\n"
    "[dense]\noutputs=classes\n";

typedef struct text_buf {
    char *s;
    size_t len;
    size_t cap;
    int failed;
} text_buf;

static void appendf(text_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void appendf(text_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? 2 * b->cap : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
}

/* ResNet-18 (He et al. 2016) as torchvision builds it, with a 1-channel stem: conv7x7/2 64, BN,
 * ReLU, maxpool3x3/2, four stages of two basic blocks (64, 128, 256, 512; the first block of
 * stages 2-4 strides by 2 with a 1x1/2 conv + BN shortcut), global average pool, dense. Convs
 * followed by batch norm carry no bias, as in torchvision. */
static char *resnet18_text(void)
{
    text_buf b = {0};
    appendf(&b, "# resnet18: 1x224x224, the standard ResNet-18 with a 1-channel stem\n");
    appendf(&b, "[conv]\nfilters=64\nsize=7\nstride=2\npad=3\nbias=0\n[batchnorm]\n[relu]\n");
    appendf(&b, "[maxpool]\nsize=3\nstride=2\npad=1\n");
    const int widths[4] = {64, 128, 256, 512};
    for (int stage = 0; stage < 4; stage++) {
        for (int block = 0; block < 2; block++) {
            int down = stage > 0 && block == 0;
            int w = widths[stage];
            appendf(&b, "# stage %d block %d\n", stage + 1, block + 1);
            appendf(&b,
                    "[conv]\nfilters=%d\nsize=3\nstride=%d\npad=1\nbias=0\n[batchnorm]\n[relu]\n",
                    w, down ? 2 : 1);
            appendf(&b, "[conv]\nfilters=%d\nsize=3\nstride=1\npad=1\nbias=0\n[batchnorm]\n", w);
            if (down) {
                /* shortcut from the block input, 6 layers above the 1x1 conv */
                appendf(&b, "[conv]\ninput=-6\nfilters=%d\nsize=1\nstride=2\npad=0\nbias=0\n", w);
                appendf(&b, "[batchnorm]\n[residual]\nfrom=-3\n[relu]\n");
            } else {
                appendf(&b, "[residual]\nfrom=-6\n[relu]\n");
            }
        }
    }
    appendf(&b, "[avgpool]\n[dense]\noutputs=classes\n");
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

char *pt_arch_preset_text(const char *preset)
{
    if (strcmp(preset, "fmnist") == 0)
        return strdup(fmnist_text);
    if (strcmp(preset, "cxr") == 0)
        return strdup(cxr_text);
    if (strcmp(preset, "resnet18") == 0)
        return resnet18_text();
    return NULL;
}

/* ---- parsing ------------------------------------------------------------------------------------
 */

void pt_arch_free(pt_arch *arch)
{
    free(arch->layers);
    free(arch->text);
    memset(arch, 0, sizeof *arch);
}

static void warn(pt_arch *arch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(pt_arch *arch, const char *fmt, ...)
{
    if (arch->n_warnings >= PT_ARCH_MAX_WARNINGS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(arch->warnings[arch->n_warnings++], sizeof arch->warnings[0], fmt, ap);
    va_end(ap);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static pt_layer_spec default_spec(pt_layer_type type, int line)
{
    pt_layer_spec s = {.type = type, .input = -1, .from = 0, .line = line};
    switch (type) {
    case PT_LAYER_CONV:
        s.size = 3;
        s.stride = 1;
        s.pad = 1;
        s.bias = 1;
        break;
    case PT_LAYER_MAXPOOL:
        s.size = 2;
        s.stride = 2;
        s.pad = 0;
        break;
    case PT_LAYER_DENSE:
        s.bias = 1;
        break;
    case PT_LAYER_DROPOUT:
        s.p = 0.5f;
        break;
    default:
        break;
    }
    return s;
}

/* Which keys each layer type reads. */
static int key_applies(pt_layer_type type, const char *key)
{
    if (strcmp(key, "input") == 0)
        return 1;
    switch (type) {
    case PT_LAYER_CONV:
        return !strcmp(key, "filters") || !strcmp(key, "size") || !strcmp(key, "stride") ||
               !strcmp(key, "pad") || !strcmp(key, "bias");
    case PT_LAYER_MAXPOOL:
        return !strcmp(key, "size") || !strcmp(key, "stride") || !strcmp(key, "pad");
    case PT_LAYER_DENSE:
        return !strcmp(key, "outputs") || !strcmp(key, "bias");
    case PT_LAYER_DROPOUT:
        return !strcmp(key, "p");
    case PT_LAYER_RESIDUAL:
        return !strcmp(key, "from");
    default:
        return 0;
    }
}

static int parse_int(const char *v, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return -1;
    *out = (int)x;
    return 0;
}

static int set_key(pt_layer_spec *s, const char *key, const char *value, const char *name, int line,
                   pt_error *err)
{
    int bad = 0;
    if (!strcmp(key, "input"))
        bad = parse_int(value, -1000, -1, &s->input);
    else if (!strcmp(key, "from"))
        bad = parse_int(value, -1000, -1, &s->from);
    else if (!strcmp(key, "filters"))
        bad = parse_int(value, 1, 65536, &s->filters);
    else if (!strcmp(key, "size"))
        bad = parse_int(value, 1, 64, &s->size);
    else if (!strcmp(key, "stride"))
        bad = parse_int(value, 1, 64, &s->stride);
    else if (!strcmp(key, "pad"))
        bad = parse_int(value, 0, 64, &s->pad);
    else if (!strcmp(key, "bias"))
        bad = parse_int(value, 0, 1, &s->bias);
    else if (!strcmp(key, "outputs")) {
        if (!strcmp(value, "classes"))
            s->outputs = PT_ARCH_CLASSES;
        else
            bad = parse_int(value, 1, 1 << 24, &s->outputs);
    } else if (!strcmp(key, "p")) {
        char *end;
        double p = strtod(value, &end);
        bad = end == value || *end || !(p >= 0.0 && p < 1.0);
        s->p = (float)p;
    }
    if (bad)
        return pt_error_set(err, PT_ERR_INVALID, "%s:%d: bad value '%s' for %s", name, line, value,
                            key);
    return PT_OK;
}

static int check_layer(const pt_layer_spec *s, int index, const char *name, pt_error *err)
{
    if (s->type == PT_LAYER_CONV && s->filters <= 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s:%d: [conv] needs filters=", name, s->line);
    if (s->type == PT_LAYER_DENSE && s->outputs == 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s:%d: [dense] needs outputs=", name, s->line);
    if (s->type == PT_LAYER_RESIDUAL && s->from == 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s:%d: [residual] needs from=", name, s->line);
    /* index -1 is the network input; a layer may read anything from it on */
    if (index + s->input < -1 || (s->type == PT_LAYER_RESIDUAL && index + s->from < -1))
        return pt_error_set(err, PT_ERR_INVALID, "%s:%d: refers to a layer before the input", name,
                            s->line);
    return PT_OK;
}

int pt_arch_parse(const char *text, const char *name, pt_arch *arch, pt_error *err)
{
    memset(arch, 0, sizeof *arch);
    pt_strlcpy(arch->name, name, sizeof arch->name);
    arch->text = strdup(text);
    char *copy = strdup(text);
    if (!arch->text || !copy) {
        free(copy);
        pt_arch_free(arch);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    int status = PT_OK, cap = 0, line_no = 0;
    pt_layer_spec *current = NULL;
    char *next = copy;
    while (next && status == PT_OK) {
        char *line = next;
        char *newline = strchr(line, '\n');
        if (newline)
            *newline = '\0';
        next = newline ? newline + 1 : NULL;
        line_no++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *t = trim(line);
        if (!*t)
            continue;
        if (*t == '[') {
            char *close = strchr(t, ']');
            if (!close || *trim(close + 1)) {
                status = pt_error_set(err, PT_ERR_INVALID, "%s:%d: bad section header '%s'", name,
                                      line_no, t);
                break;
            }
            *close = '\0';
            const char *section = trim(t + 1);
            int type = -1;
            for (int i = 0; i < PT_LAYER_TYPE_COUNT; i++)
                if (!strcmp(section, type_names[i]))
                    type = i;
            if (type < 0) {
                status = pt_error_set(err, PT_ERR_INVALID,
                                      "%s:%d: unknown layer [%s] (conv, batchnorm, relu, maxpool, "
                                      "avgpool, dense, dropout, residual)",
                                      name, line_no, section);
                break;
            }
            if (arch->n_layers == cap) {
                cap = cap ? 2 * cap : 32;
                pt_layer_spec *grown = realloc(arch->layers, (size_t)cap * sizeof *grown);
                if (!grown) {
                    status = pt_error_set(err, PT_ERR_NOMEM, "out of memory");
                    break;
                }
                arch->layers = grown;
            }
            current = &arch->layers[arch->n_layers++];
            *current = default_spec((pt_layer_type)type, line_no);
            continue;
        }
        char *eq = strchr(t, '=');
        if (!eq) {
            status = pt_error_set(err, PT_ERR_INVALID, "%s:%d: expected key=value, got '%s'", name,
                                  line_no, t);
            break;
        }
        *eq = '\0';
        char *key = trim(t), *value = trim(eq + 1);
        if (!current) {
            warn(arch, "%s:%d: '%s' before any [layer] section is ignored", name, line_no, key);
            continue;
        }
        if (!key_applies(current->type, key)) {
            warn(arch, "%s:%d: [%s] does not use '%s'; ignored", name, line_no,
                 type_names[current->type], key);
            continue;
        }
        status = set_key(current, key, value, name, line_no, err);
    }
    for (int i = 0; status == PT_OK && i < arch->n_layers; i++)
        status = check_layer(&arch->layers[i], i, name, err);
    if (status == PT_OK && arch->n_layers == 0)
        status = pt_error_set(err, PT_ERR_INVALID, "%s: no layers", name);
    free(copy);
    if (status != PT_OK)
        pt_arch_free(arch);
    return status;
}

int pt_arch_preset(const char *preset, pt_arch *arch, pt_error *err)
{
    char *text = pt_arch_preset_text(preset);
    if (!text)
        return pt_error_set(err, PT_ERR_INVALID, "'%s' is not a preset (fmnist, cxr, resnet18)",
                            preset);
    int status = pt_arch_parse(text, preset, arch, err);
    if (status == PT_OK && !strcmp(preset, "fmnist"))
        arch->design_height = arch->design_width = 28;
    else if (status == PT_OK && !strcmp(preset, "cxr"))
        arch->design_height = arch->design_width = 128;
    else if (status == PT_OK && !strcmp(preset, "resnet18"))
        arch->design_height = arch->design_width = 224;
    free(text);
    return status;
}
