/* Structure-aware cache files for fuzz_cache (see fuzz_cache_recipe.h). */
#include "fuzz_cache_recipe.h"

#include <fcntl.h>
#include <float.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Data written per dataset, at most: bigger extents are left unwritten (fill values). */
#define MAX_DATA_BYTES ((size_t)1 << 20)
/* Attributes live in the object header, which holds at most 64 KiB. */
#define MAX_ATTR_BYTES ((size_t)60000)
/* Chunks of at most this many bytes (more when one element is bigger). */
#define MAX_CHUNK_BYTES ((size_t)64 << 10)
/* Bytes of text per element of a variable-length string. */
#define VSTR_TEXT 64
#define MAX_RAW   32
#define MAX_RANK  4

/* ---- the byte reader ---- */

typedef struct reader {
    const uint8_t *data;
    size_t size;
    size_t at;
} reader;

static unsigned take(reader *r)
{
    return r->at < r->size ? r->data[r->at++] : 0;
}

/* One of `range` choices: `preferred` when the byte is 0 (or the recipe has ended). */
static unsigned choose(reader *r, unsigned preferred, unsigned range)
{
    return (preferred + take(r)) % range;
}

/* ---- what the recipe decodes to ---- */

enum elem {
    E_U8,
    E_I8,
    E_U16,
    E_I16,
    E_I32,
    E_I32BE,
    E_U32,
    E_I64,
    E_F32,
    E_F64,
    E_STR,
    E_VSTR,
    E_OPAQUE,
    N_ELEMS
};

enum layout { L_CHUNK_SUM, L_CHUNK_DEFLATE_SUM, L_CONTIGUOUS, L_COMPACT, L_CHUNK_PLAIN, N_LAYOUTS };

enum content { C_VALID, C_VALUE, C_RAW };

enum role {
    R_FORMAT,
    R_VERSION,
    R_HEIGHT,
    R_WIDTH,
    R_CHANNELS,
    R_CLASS_NAMES,
    R_LABEL_MODE,
    R_N_SKIPPED,
    R_CREATED,
    R_GENERATOR,
    R_LAYOUT,
    R_MEAN,
    R_STD,
    R_GROUP,
    R_IMAGES,
    R_LABELS,
    R_PATIENT,
    R_SOURCE,
    R_SKIPPED
};

typedef struct item {
    enum role role;
    int split; /* 0..2, or -1: the root */
    const char *name;
} item;

#define SPLIT_ITEMS(s)                                                                             \
    {R_GROUP, s, NULL}, {R_IMAGES, s, "images"}, {R_LABELS, s, "labels"},                          \
        {R_PATIENT, s, "patient"},                                                                 \
    {                                                                                              \
        R_SOURCE, s, "source"                                                                      \
    }

static const item items[] = {
    {R_FORMAT, -1, "format"},
    {R_VERSION, -1, "version"},
    {R_HEIGHT, -1, "height"},
    {R_WIDTH, -1, "width"},
    {R_CHANNELS, -1, "channels"},
    {R_CLASS_NAMES, -1, "class_names"},
    {R_LABEL_MODE, -1, "label_mode"},
    {R_N_SKIPPED, -1, "n_skipped"},
    {R_CREATED, -1, "created"},
    {R_GENERATOR, -1, "generator"},
    {R_LAYOUT, -1, "layout"},
    {R_MEAN, 0, "mean"},
    {R_STD, 0, "std"},
    SPLIT_ITEMS(0),
    SPLIT_ITEMS(1),
    SPLIT_ITEMS(2),
    {R_SKIPPED, -1, "skipped"},
};
#define N_ITEMS ((int)(sizeof items / sizeof items[0]))

static const char *const split_names[3] = {"train", "val", "test"};
static const char *const class_names[6] = {"normal", "bacteria", "virus", "covid", "fungal", "tb"};

/* Where a soft link may point: every dataset of a cache, a group, and nothing. */
static const char *const link_targets[] = {
    "/train/images", "/train/labels", "/train/patient", "/train/source", "/val/images",
    "/val/labels",   "/val/patient",  "/val/source",    "/test/images",  "/test/labels",
    "/test/patient", "/test/source",  "/skipped",       "/train",        "/nowhere",
};
#define N_LINK_TARGETS ((unsigned)(sizeof link_targets / sizeof link_targets[0]))

/* The cache the recipe starts from. */
typedef struct base {
    int multi;
    int n_classes;
    int height;
    int width;
    int64_t rows[3];
    int64_t skipped;
} base;

/* What one item becomes in the file. */
typedef struct spec {
    int present;
    int as_dataset; /* a split group replaced by a dataset */
    enum elem elem;
    size_t width; /* E_STR */
    H5T_cset_t cset;
    H5T_str_t pad;
    int rank; /* -1: null dataspace, 0: scalar */
    hsize_t dims[MAX_RANK];
    enum layout layout;
    enum content content;
    unsigned value; /* C_VALUE: index in interesting[] */
    uint8_t raw[MAX_RAW];
    size_t raw_len;
    int flip;
    unsigned flip_at;
    uint8_t flip_mask;
    int link; /* >= 0: a soft link to link_targets[link] */
} spec;

/* One element's value: a number (integer or float) or a text. */
typedef struct value {
    int64_t i;
    double d;
    int is_float;
    const char *text; /* NULL: print the number */
} value;

static const char long_text[] =
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/* Values at the edges of what the reader checks. */
static const value interesting[] = {
    {0, 0, 0, NULL},
    {1, 0, 0, NULL},
    {-1, 0, 0, NULL},
    {2, 0, 0, NULL},
    {3, 0, 0, NULL},
    {63, 0, 0, NULL},
    {64, 0, 0, NULL},
    {65, 0, 0, NULL},
    {255, 0, 0, NULL},
    {256, 0, 0, NULL},
    {65536, 0, 0, NULL},
    {65537, 0, 0, NULL},
    {INT32_MAX, 0, 0, NULL},
    {INT32_MIN, 0, 0, NULL},
    {INT64_MAX, 0, 0, NULL},
    {INT64_MIN, 0, 0, NULL},
    {0, NAN, 1, NULL},
    {0, INFINITY, 1, NULL},
    {0, -INFINITY, 1, NULL},
    {0, -0.0, 1, NULL},
    {0, 0.5000001, 1, NULL},
    {0, 1.0000001, 1, NULL},
    {0, 4.9e-324, 1, NULL},
    {0, 1e300, 1, NULL},
    {0, 0, 0, ""},
    {0, 0, 0, "single"},
    {0, 0, 0, "multi"},
    {0, 0, 0, "ptrain-cache"},
    {0, 0, 0, "normal"},
    {0, 0, 0, long_text},
    {0, 0, 0, "\xff\xfe\xc3"},
    {0, 0, 0, "a/../../b: x"},
};
#define N_INTERESTING ((unsigned)(sizeof interesting / sizeof interesting[0]))

static const size_t string_widths[] = {1,  2,  3,  7,   8,    16,    31,    32,
                                       63, 64, 65, 128, 4095, 16384, 16385, 70000};

/* ---- decoding ---- */

static void decode_base(reader *r, base *b)
{
    b->multi = take(r) & 1;
    b->n_classes = 1 + (int)choose(r, 2, 6);
    b->height = 1 + (int)choose(r, 3, 8);
    b->width = 1 + (int)choose(r, 4, 8);
    b->rows[0] = choose(r, 3, 9);
    b->rows[1] = choose(r, 2, 9);
    b->rows[2] = choose(r, 2, 9);
    b->skipped = choose(r, 1, 4);
}

static size_t longest_class_name(const base *b)
{
    size_t width = 1;
    for (int c = 0; c < b->n_classes; c++)
        if (strlen(class_names[c]) + 1 > width)
            width = strlen(class_names[c]) + 1;
    return width;
}

static void set_string(spec *s, size_t width, int rank, hsize_t dim0)
{
    s->elem = E_STR;
    s->width = width;
    s->rank = rank;
    s->dims[0] = dim0;
}

/* What ptrain-prep writes for the item. */
static spec default_spec(const base *b, const item *it)
{
    spec s;
    memset(&s, 0, sizeof s);
    s.present = 1;
    s.cset = H5T_CSET_UTF8;
    s.pad = H5T_STR_NULLTERM;
    s.layout = L_CHUNK_SUM;
    s.content = C_VALID;
    s.link = -1;
    int64_t n = it->split >= 0 ? b->rows[it->split] : b->skipped;
    switch (it->role) {
    case R_FORMAT:
    case R_LABEL_MODE:
    case R_CREATED:
    case R_GENERATOR:
    case R_LAYOUT:
        set_string(&s, 24, 0, 0);
        break;
    case R_CLASS_NAMES:
        set_string(&s, longest_class_name(b), 1, (hsize_t)b->n_classes);
        break;
    case R_VERSION:
    case R_HEIGHT:
    case R_WIDTH:
    case R_CHANNELS:
    case R_N_SKIPPED:
        s.elem = E_I64;
        break;
    case R_MEAN:
    case R_STD:
        s.elem = E_F64;
        break;
    case R_GROUP:
        break;
    case R_IMAGES:
        s.elem = E_U8;
        s.rank = 3;
        s.dims[0] = (hsize_t)n;
        s.dims[1] = (hsize_t)b->height;
        s.dims[2] = (hsize_t)b->width;
        break;
    case R_LABELS:
        s.elem = b->multi ? E_U8 : E_I32;
        s.rank = b->multi ? 2 : 1;
        s.dims[0] = (hsize_t)n;
        s.dims[1] = (hsize_t)b->n_classes;
        break;
    case R_PATIENT:
    case R_SOURCE:
    case R_SKIPPED:
        set_string(&s, 32, 1, (hsize_t)n);
        break;
    }
    return s;
}

static void decode_type(reader *r, spec *s)
{
    s->elem = (enum elem)(take(r) % N_ELEMS);
    if (s->elem == E_STR)
        s->width = string_widths[take(r) % (sizeof string_widths / sizeof string_widths[0])];
    if (s->elem == E_STR || s->elem == E_VSTR) {
        unsigned bits = take(r);
        s->cset = bits & 1 ? H5T_CSET_ASCII : H5T_CSET_UTF8;
        s->pad = (H5T_str_t)((bits >> 1) % 3);
    }
}

/* A dimension: relative to the cache (rows, sides, classes, one more) or absolute. */
static hsize_t decode_dim(reader *r, const base *b, const item *it)
{
    int64_t n = it->split >= 0 ? b->rows[it->split] : b->skipped;
    const hsize_t dims[] = {(hsize_t)n,
                            (hsize_t)n + 1,
                            (hsize_t)b->height,
                            (hsize_t)b->width,
                            (hsize_t)b->n_classes,
                            (hsize_t)b->n_classes + 1,
                            0,
                            1,
                            2,
                            3,
                            64,
                            65,
                            (hsize_t)1 << 20,
                            (hsize_t)1 << 33};
    return dims[take(r) % (sizeof dims / sizeof dims[0])];
}

static void decode_shape(reader *r, const base *b, const item *it, spec *s)
{
    s->rank = (int)(take(r) % (MAX_RANK + 2)) - 1;
    for (int d = 0; d < s->rank; d++)
        s->dims[d] = decode_dim(r, b, it);
}

static void decode_content(reader *r, spec *s)
{
    if (take(r) & 1) {
        s->content = C_RAW;
        s->raw_len = 1 + take(r) % MAX_RAW;
        for (size_t i = 0; i < s->raw_len; i++)
            s->raw[i] = (uint8_t)take(r);
    } else {
        s->content = C_VALUE;
        s->value = take(r) % N_INTERESTING;
    }
}

static void decode_layout(reader *r, spec *s)
{
    s->layout = (enum layout)(take(r) % N_LAYOUTS);
    s->flip = take(r) & 1;
    s->flip_at = take(r);
    s->flip_at |= take(r) << 8;
    s->flip_mask = (uint8_t)(1 + take(r) % 255);
}

static void decode_item(reader *r, const base *b, const item *it, spec *s)
{
    /* Half the byte values keep the item: a mutation elsewhere is not masked by an early item
     * (the format attribute) changing too. */
    unsigned op = take(r) % 16;
    if (op >= 8)
        op = 0;
    int attr = it->role < R_GROUP;
    if (it->role == R_GROUP) {
        s->present = op != 1;
        s->as_dataset = op == 2;
        return;
    }
    if (op == 1)
        s->present = 0;
    if (op == 2 || op == 7 || (attr && op == 5))
        decode_type(r, s);
    if (op == 3 || op == 7 || (attr && op == 6))
        decode_shape(r, b, it, s);
    if (op == 4 || op == 7 || (attr && (op == 5 || op == 6)))
        decode_content(r, s);
    if (!attr && op == 5)
        decode_layout(r, s);
    if (!attr && op == 6)
        s->link = (int)(take(r) % N_LINK_TARGETS);
}

/* ---- values ---- */

/* Element i of the item as ptrain-prep would write it. */
static value valid_value(const base *b, const item *it, int64_t i, char *buf, size_t cap)
{
    value v = {0, 0, 0, NULL};
    int k = b->n_classes;
    switch (it->role) {
    case R_FORMAT:
        v.text = "ptrain-cache";
        break;
    case R_VERSION:
        v.i = 1;
        break;
    case R_HEIGHT:
        v.i = b->height;
        break;
    case R_WIDTH:
        v.i = b->width;
        break;
    case R_CHANNELS:
        v.i = 1;
        break;
    case R_CLASS_NAMES:
        v.text = class_names[i % 6];
        break;
    case R_LABEL_MODE:
        v.text = b->multi ? "multi" : "single";
        break;
    case R_N_SKIPPED:
        v.i = b->skipped;
        break;
    case R_CREATED:
        v.text = "2026-11-29T21:00:00Z";
        break;
    case R_GENERATOR:
        v.text = "fuzz_cache";
        break;
    case R_LAYOUT:
        v.text = "flat";
        break;
    case R_MEAN:
        v.d = 0.49;
        v.is_float = 1;
        break;
    case R_STD:
        v.d = 0.23;
        v.is_float = 1;
        break;
    case R_IMAGES:
        v.i = (i * 37 + 11) & 255;
        break;
    case R_LABELS:
        v.i = b->multi ? (i / k + i % k) & 1 : i % k;
        break;
    case R_PATIENT:
        snprintf(buf, cap, "patient%lld", (long long)i);
        v.text = buf;
        break;
    case R_SOURCE:
        snprintf(buf, cap, "%s/img%lld.png", split_names[it->split], (long long)i);
        v.text = buf;
        break;
    case R_SKIPPED:
        snprintf(buf, cap, "bad%lld.png: not a PNG or JPEG", (long long)i);
        v.text = buf;
        break;
    case R_GROUP:
        break;
    }
    return v;
}

/* The text of a value (a number printed). */
static const char *value_text(const value *v, char *buf, size_t cap)
{
    if (v->text)
        return v->text;
    if (v->is_float)
        snprintf(buf, cap, "%.17g", v->d);
    else
        snprintf(buf, cap, "%lld", (long long)v->i);
    return buf;
}

/* The value as an integer: floats truncated and clamped (a cast out of range is undefined). */
static uint64_t value_bits(const value *v)
{
    if (!v->is_float)
        return (uint64_t)v->i;
    if (isnan(v->d))
        return 0;
    if (v->d >= 9.2e18)
        return (uint64_t)INT64_MAX;
    if (v->d <= -9.2e18)
        return (uint64_t)INT64_MIN;
    return (uint64_t)(int64_t)v->d;
}

static double value_double(const value *v)
{
    return v->is_float ? v->d : (double)v->i;
}

static size_t elem_size(const spec *s)
{
    static const size_t sizes[N_ELEMS] = {1, 1, 2, 2, 4, 4, 4, 8, 4, 8, 0, sizeof(char *), 1};
    return s->elem == E_STR ? s->width : sizes[s->elem];
}

/* Stores the value as one element of the spec's type (not E_VSTR) at dst, zero-filled. */
static void encode(const spec *s, const value *v, uint8_t *dst)
{
    size_t size = elem_size(s);
    memset(dst, 0, size);
    if (s->elem == E_STR) {
        char buf[64];
        const char *text = value_text(v, buf, sizeof buf);
        size_t len = strlen(text);
        memcpy(dst, text, len < size ? len : size);
    } else if (s->elem == E_F32) {
        double d = value_double(v);
        float f = d > FLT_MAX ? INFINITY : d < -FLT_MAX ? -INFINITY : (float)d;
        memcpy(dst, &f, sizeof f);
    } else if (s->elem == E_F64) {
        double d = value_double(v);
        memcpy(dst, &d, sizeof d);
    } else {
        uint64_t bits = value_bits(v);
        for (size_t b = 0; b < size; b++) {
            size_t at = s->elem == E_I32BE ? size - 1 - b : b;
            dst[at] = (uint8_t)(bits >> (8 * b));
        }
    }
}

/* Element i of the item as the recipe says: valid, one interesting value, or recipe bytes. */
static void element(const base *b, const item *it, const spec *s, int64_t i, uint8_t *dst,
                    char *text, size_t text_cap)
{
    char buf[64];
    if (s->content == C_RAW) {
        size_t size = s->elem == E_VSTR ? text_cap - 1 : elem_size(s);
        uint8_t *out = s->elem == E_VSTR ? (uint8_t *)text : dst;
        for (size_t j = 0; j < size; j++)
            out[j] = s->raw[((size_t)i * size + j) % s->raw_len];
        if (s->elem == E_VSTR)
            text[size] = '\0';
        return;
    }
    value v =
        s->content == C_VALUE ? interesting[s->value] : valid_value(b, it, i, buf, sizeof buf);
    if (s->elem == E_VSTR)
        snprintf(text, text_cap, "%s", value_text(&v, buf, sizeof buf));
    else
        encode(s, &v, dst);
}

/* ---- HDF5 objects ---- */

static hid_t make_type(const spec *s)
{
    static const hid_t *const bases[N_ELEMS] = {&H5T_STD_U8LE_g,
                                                &H5T_STD_I8LE_g,
                                                &H5T_STD_U16LE_g,
                                                &H5T_STD_I16LE_g,
                                                &H5T_STD_I32LE_g,
                                                &H5T_STD_I32BE_g,
                                                &H5T_STD_U32LE_g,
                                                &H5T_STD_I64LE_g,
                                                &H5T_IEEE_F32LE_g,
                                                &H5T_IEEE_F64LE_g,
                                                NULL,
                                                NULL,
                                                NULL};
    H5open();
    if (s->elem == E_OPAQUE) {
        hid_t type = H5Tcreate(H5T_OPAQUE, 1);
        if (type >= 0 && H5Tset_tag(type, "fuzz") < 0) {
            H5Tclose(type);
            return -1;
        }
        return type;
    }
    if (s->elem != E_STR && s->elem != E_VSTR)
        return H5Tcopy(*bases[s->elem]);
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type >= 0 && (H5Tset_size(type, s->elem == E_VSTR ? H5T_VARIABLE : s->width) < 0 ||
                      H5Tset_cset(type, s->cset) < 0 || H5Tset_strpad(type, s->pad) < 0)) {
        H5Tclose(type);
        return -1;
    }
    return type;
}

/* Elements in the extent, saturating at SIZE_MAX. */
static size_t element_count(const spec *s)
{
    size_t n = 1;
    for (int d = 0; d < s->rank; d++) {
        if (s->dims[d] != 0 && n > SIZE_MAX / s->dims[d])
            return SIZE_MAX;
        n *= (size_t)s->dims[d];
    }
    return s->rank < 0 ? 0 : n;
}

static int is_chunked(enum layout layout)
{
    return layout == L_CHUNK_SUM || layout == L_CHUNK_DEFLATE_SUM || layout == L_CHUNK_PLAIN;
}

/* The extent; chunked datasets may grow in every dimension (a zero extent can be chunked then). */
static hid_t make_space(const spec *s, int chunked)
{
    if (s->rank < 0)
        return H5Screate(H5S_NULL);
    if (s->rank == 0)
        return H5Screate(H5S_SCALAR);
    hsize_t maxdims[MAX_RANK] = {H5S_UNLIMITED, H5S_UNLIMITED, H5S_UNLIMITED, H5S_UNLIMITED};
    return H5Screate_simple(s->rank, s->dims, chunked ? maxdims : NULL);
}

/* The layout actually used: scalars cannot be chunked, unwritten (too big) data must be, and
 * compact data must fit in the object header. */
static enum layout effective_layout(const spec *s, int written, size_t bytes)
{
    if (s->rank <= 0)
        return s->layout == L_COMPACT && bytes <= MAX_ATTR_BYTES ? L_COMPACT : L_CONTIGUOUS;
    /* HDF5 filters no variable-length data */
    if (s->elem == E_VSTR && (is_chunked(s->layout) || !written))
        return L_CHUNK_PLAIN;
    if (!written)
        return is_chunked(s->layout) ? s->layout : L_CHUNK_PLAIN;
    if (s->layout == L_COMPACT && bytes > MAX_ATTR_BYTES)
        return L_CONTIGUOUS;
    return s->layout;
}

static hid_t make_dcpl(const spec *s, enum layout layout, hid_t type, const uint8_t *fill)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0)
        return -1;
    int ok = 1;
    if (layout == L_COMPACT)
        ok = H5Pset_layout(dcpl, H5D_COMPACT) >= 0;
    if (is_chunked(layout)) {
        /* Filled from the last dimension up to MAX_CHUNK_BYTES: few chunks per dataset (small
         * ones by the hundred thousand made one input take 1.5 s and 800 MB in HDF5). */
        hsize_t chunk[MAX_RANK];
        size_t bytes = elem_size(s);
        for (int d = s->rank - 1; d >= 0; d--) {
            hsize_t fit = bytes >= MAX_CHUNK_BYTES ? 1 : (hsize_t)(MAX_CHUNK_BYTES / bytes);
            hsize_t extent = s->dims[d] == 0 ? 1 : s->dims[d];
            chunk[d] = extent < fit ? extent : fit;
            bytes *= (size_t)chunk[d];
        }
        ok = H5Pset_chunk(dcpl, s->rank, chunk) >= 0 &&
             (layout != L_CHUNK_DEFLATE_SUM || H5Pset_deflate(dcpl, 4) >= 0) &&
             (layout == L_CHUNK_PLAIN || H5Pset_fletcher32(dcpl) >= 0);
    }
    if (ok && fill)
        ok = H5Pset_fill_value(dcpl, type, fill) >= 0;
    if (!ok) {
        H5Pclose(dcpl);
        return -1;
    }
    return dcpl;
}

/* The item's data in the file type's memory layout (E_VSTR: pointers into *texts). */
static void *make_data(const base *b, const item *it, const spec *s, size_t n, char **texts)
{
    size_t size = elem_size(s);
    uint8_t *data = calloc(n ? n : 1, size);
    *texts = s->elem == E_VSTR ? calloc(n ? n : 1, VSTR_TEXT) : NULL;
    if (!data || (s->elem == E_VSTR && !*texts)) {
        free(data);
        free(*texts);
        *texts = NULL;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char *text = s->elem == E_VSTR ? *texts + i * VSTR_TEXT : NULL;
        element(b, it, s, (int64_t)i, data + i * size, text, VSTR_TEXT);
        if (text)
            memcpy(data + i * size, &text, sizeof text);
    }
    return data;
}

/* A byte to flip in the file once it is closed. */
typedef struct flip {
    haddr_t addr;
    uint8_t mask;
} flip;

#define MAX_FLIPS 16

/* Remembers a byte of the dataset's stored data (of its first chunk when chunked). */
static void plan_flip(hid_t dset, const spec *s, enum layout layout, flip *flips, int *n_flips)
{
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    if (*n_flips >= MAX_FLIPS || layout == L_COMPACT || H5Dflush(dset) < 0)
        return;
    if (layout == L_CONTIGUOUS) {
        addr = H5Dget_offset(dset);
        size = H5Dget_storage_size(dset);
    } else {
        hid_t space = H5Dget_space(dset);
        hsize_t offset[MAX_RANK];
        unsigned mask;
        if (space < 0 || H5Dget_chunk_info(dset, space, 0, offset, &mask, &addr, &size) < 0)
            addr = HADDR_UNDEF;
        if (space >= 0)
            H5Sclose(space);
    }
    H5Eclear2(H5E_DEFAULT);
    if (addr == HADDR_UNDEF || size == 0)
        return;
    flips[*n_flips].addr = addr + s->flip_at % size;
    flips[*n_flips].mask = s->flip_mask;
    (*n_flips)++;
}

static void write_dataset(hid_t parent, const char *name, const base *b, const item *it,
                          const spec *s, flip *flips, int *n_flips)
{
    if (s->link >= 0) {
        H5Lcreate_soft(link_targets[s->link], parent, name, H5P_DEFAULT, H5P_DEFAULT);
        return;
    }
    size_t n = element_count(s);
    size_t size = elem_size(s);
    int written = n != SIZE_MAX && n <= MAX_DATA_BYTES / size &&
                  (s->elem != E_VSTR || n <= MAX_DATA_BYTES / VSTR_TEXT);
    enum layout layout = effective_layout(s, written, written ? n * size : SIZE_MAX);
    uint8_t fill[70000];
    char text[VSTR_TEXT];
    int has_fill = !written && s->elem != E_VSTR && size <= sizeof fill;
    if (has_fill)
        element(b, it, s, 0, fill, text, sizeof text);
    hid_t type = make_type(s);
    hid_t space = make_space(s, is_chunked(layout));
    hid_t dcpl = type >= 0 ? make_dcpl(s, layout, type, has_fill ? fill : NULL) : -1;
    hid_t dset = -1;
    if (space >= 0 && dcpl >= 0)
        dset = H5Dcreate2(parent, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dset >= 0 && written && n > 0) {
        char *texts = NULL;
        void *data = make_data(b, it, s, n, &texts);
        /* (no flips in variable-length strings: their data are heap addresses that libhdf5
         * itself would follow) */
        if (data && H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 && s->flip &&
            s->elem != E_VSTR)
            plan_flip(dset, s, layout, flips, n_flips);
        free(data);
        free(texts);
    }
    if (dset >= 0)
        H5Dclose(dset);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
}

static void write_attribute(hid_t obj, const base *b, const item *it, spec s)
{
    size_t size = elem_size(&s);
    size_t n = element_count(&s);
    for (int d = 0; d < s.rank; d++)
        if (s.dims[d] > 80)
            s.dims[d] = 80;
    n = element_count(&s);
    if (n > MAX_ATTR_BYTES / size || (s.elem == E_VSTR && n > MAX_ATTR_BYTES / VSTR_TEXT)) {
        s.rank = 0;
        n = 1;
    }
    if (size > MAX_ATTR_BYTES)
        return; /* HDF5 cannot store it in an object header: as deleted */
    hid_t type = make_type(&s);
    hid_t space = make_space(&s, 0);
    hid_t attr = -1;
    if (type >= 0 && space >= 0)
        attr = H5Acreate2(obj, it->name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr >= 0 && n > 0) {
        char *texts = NULL;
        void *data = make_data(b, it, &s, n, &texts);
        if (data)
            H5Awrite(attr, type, data);
        free(data);
        free(texts);
    }
    if (attr >= 0)
        H5Aclose(attr);
    if (space >= 0)
        H5Sclose(space);
    if (type >= 0)
        H5Tclose(type);
}

/* A split: its group (or a dataset in its place) and its four datasets; /train's statistics. */
static void write_split(hid_t file, int split, const base *b, const spec *specs, flip *flips,
                        int *n_flips)
{
    int first = -1;
    for (int i = 0; i < N_ITEMS; i++)
        if (items[i].role == R_GROUP && items[i].split == split)
            first = i;
    const spec *group_spec = &specs[first];
    if (!group_spec->present)
        return;
    if (group_spec->as_dataset) {
        spec scalar = default_spec(b, &items[first + 1]);
        scalar.rank = 0;
        write_dataset(file, split_names[split], b, &items[first + 1], &scalar, flips, n_flips);
        return;
    }
    hid_t group = H5Gcreate2(file, split_names[split], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (group < 0)
        return;
    for (int i = first + 1; i < first + 5; i++)
        if (specs[i].present)
            write_dataset(group, items[i].name, b, &items[i], &specs[i], flips, n_flips);
    for (int i = 0; split == 0 && i < N_ITEMS; i++)
        if (items[i].role >= R_MEAN && items[i].role <= R_STD && specs[i].present)
            write_attribute(group, b, &items[i], specs[i]);
    H5Gclose(group);
}

static void apply_flips(const char *path, const flip *flips, int n_flips)
{
    if (n_flips == 0)
        return;
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return;
    for (int i = 0; i < n_flips; i++) {
        uint8_t byte;
        if (pread(fd, &byte, 1, (off_t)flips[i].addr) == 1) {
            byte ^= flips[i].mask;
            if (pwrite(fd, &byte, 1, (off_t)flips[i].addr) != 1)
                break;
        }
    }
    close(fd);
}

/* The file itself: HDF5 1.8 format as ptrain-prep writes it (object headers checksummed), built
 * in memory and written once at close. */
static hid_t create_file(const char *path)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hid_t file = -1;
    if (fapl >= 0 && H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) >= 0 &&
        H5Pset_fapl_core(fapl, (size_t)1 << 20, 1) >= 0)
        file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (fapl >= 0)
        H5Pclose(fapl);
    return file;
}

int fuzz_cache_recipe_write(const uint8_t *recipe, size_t size, const char *path)
{
    if (!getenv("FUZZ_CACHE_H5_ERRORS"))
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    reader r = {recipe, size, 0};
    base b;
    decode_base(&r, &b);
    spec specs[N_ITEMS];
    for (int i = 0; i < N_ITEMS; i++) {
        specs[i] = default_spec(&b, &items[i]);
        decode_item(&r, &b, &items[i], &specs[i]);
    }
    hid_t file = create_file(path);
    if (file < 0)
        return -1;
    flip flips[MAX_FLIPS];
    int n_flips = 0;
    for (int i = 0; i < N_ITEMS; i++)
        if (items[i].split < 0 && items[i].role < R_GROUP && specs[i].present)
            write_attribute(file, &b, &items[i], specs[i]);
    for (int s = 0; s < 3; s++)
        write_split(file, s, &b, specs, flips, &n_flips);
    for (int i = 0; i < N_ITEMS; i++)
        if (items[i].role == R_SKIPPED && specs[i].present)
            write_dataset(file, items[i].name, &b, &items[i], &specs[i], flips, &n_flips);
    if (H5Fclose(file) < 0)
        return -1;
    apply_flips(path, flips, n_flips);
    return 0;
}
