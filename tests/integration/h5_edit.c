/* Damages or inspects an HDF5 file from a test script, through tests/unit/h5_tamper.c:
 *   h5_edit FILE flip DATASET                    invert a byte inside the dataset's data
 *   h5_edit FILE flip-attr OBJECT NAME           invert a bit of a numeric attribute's value
 *   h5_edit FILE delete LINK                     remove a dataset or a group
 *   h5_edit FILE replace DATASET TYPE DIMS       zero-filled, TYPE u8|i16|i32|f32|f64|str16,
 *                                                DIMS like 120x64
 *   h5_edit FILE fill DATASET VALUE              every element of a float dataset (nan, 1e30)
 *   h5_edit FILE attr OBJECT NAME i64|f64|str VALUE
 *   h5_edit FILE attr-strings OBJECT NAME A,B,.. an array of strings
 *   h5_edit FILE cset OBJECT [ATTR]              prints ascii or utf8
 *   h5_edit FILE checksummed DATASET...          exit 1 naming each dataset without a checksum
 * Exit status 0 on success, 1 on failure, 2 on usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_tamper.h"

static int usage(void)
{
    fprintf(stderr, "usage: h5_edit FILE flip|flip-attr|delete|replace|fill|attr|attr-strings|cset|"
                    "checksummed ARGS... (see h5_edit.c)\n");
    return 2;
}

static hid_t parse_type(const char *name)
{
    if (!strcmp(name, "u8"))
        return H5T_STD_U8LE;
    if (!strcmp(name, "i16"))
        return H5T_STD_I16LE;
    if (!strcmp(name, "i32"))
        return H5T_STD_I32LE;
    if (!strcmp(name, "f32"))
        return H5T_IEEE_F32LE;
    if (!strcmp(name, "f64"))
        return H5T_IEEE_F64LE;
    if (!strcmp(name, "str16")) {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, 16);
        return t;
    }
    return -1;
}

static int replace(const char *file, const char *dataset, const char *type_name, char *dims_text)
{
    hsize_t dims[H5S_MAX_RANK];
    int rank = 0;
    for (char *tok = strtok(dims_text, "x"); tok && rank < H5S_MAX_RANK; tok = strtok(NULL, "x"))
        dims[rank++] = strtoull(tok, NULL, 10);
    hid_t type = parse_type(type_name);
    if (type < 0 || rank == 0)
        return usage();
    return h5_tamper_replace(file, dataset, type, rank, dims) ? 1 : 0;
}

static int attr(const char *file, const char *obj, const char *name, const char *kind,
                const char *value)
{
    int rc;
    if (!strcmp(kind, "i64"))
        rc = h5_tamper_attr_i64(file, obj, name, strtoll(value, NULL, 10));
    else if (!strcmp(kind, "f64"))
        rc = h5_tamper_attr_f64(file, obj, name, strtod(value, NULL));
    else if (!strcmp(kind, "str"))
        rc = h5_tamper_attr_str(file, obj, name, value);
    else
        return usage();
    return rc ? 1 : 0;
}

static int attr_strings(const char *file, const char *obj, const char *name, char *list)
{
    const char *values[64];
    size_t n = 0;
    for (char *tok = strtok(list, ","); tok && n < 64; tok = strtok(NULL, ","))
        values[n++] = tok;
    return n && h5_tamper_attr_strings(file, obj, name, values, n) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    const char *file = argv[1], *op = argv[2];
    if (!strcmp(op, "flip") && argc == 4)
        return h5_tamper_flip(file, argv[3]) ? 1 : 0;
    if (!strcmp(op, "flip-attr") && argc == 5)
        return h5_tamper_flip_attr(file, argv[3], argv[4]) ? 1 : 0;
    if (!strcmp(op, "delete") && argc == 4)
        return h5_tamper_delete(file, argv[3]) ? 1 : 0;
    if (!strcmp(op, "replace") && argc == 6)
        return replace(file, argv[3], argv[4], argv[5]);
    if (!strcmp(op, "fill") && argc == 5)
        return h5_tamper_fill_f32(file, argv[3], strtof(argv[4], NULL)) ? 1 : 0;
    if (!strcmp(op, "attr") && argc == 7)
        return attr(file, argv[3], argv[4], argv[5], argv[6]);
    if (!strcmp(op, "attr-strings") && argc == 6)
        return attr_strings(file, argv[3], argv[4], argv[5]);
    if (!strcmp(op, "cset") && (argc == 4 || argc == 5)) {
        int cset = h5_tamper_cset(file, argv[3], argc == 5 ? argv[4] : NULL);
        if (cset < 0)
            return 1;
        puts(cset == H5T_CSET_UTF8 ? "utf8" : cset == H5T_CSET_ASCII ? "ascii" : "other");
        return 0;
    }
    if (!strcmp(op, "checksummed")) {
        int missing = 0;
        for (int i = 3; i < argc; i++)
            if (h5_tamper_has_checksum(file, argv[i]) != 1) {
                printf("no checksum: %s\n", argv[i]);
                missing++;
            }
        return missing ? 1 : 0;
    }
    return usage();
}
