/* CSV records (RFC 4180) from a buffer in memory: fields separated by commas, records by CRLF,
 * LF or CR; a field in double quotes may hold commas, line breaks and doubled quotes (""), and a
 * UTF-8 byte-order mark at the start is skipped. Empty lines are skipped. A quote inside an
 * unquoted field is kept as a character (spreadsheets write `5" film`); text after a closing
 * quote, an unterminated quoted field, a NUL byte, more than PT_CSV_MAX_FIELDS fields or a record
 * longer than PT_CSV_MAX_RECORD bytes is an error naming the line.
 *
 *   pt_csv csv;
 *   pt_csv_init(&csv, data, size, "Data_Entry_2017.csv");
 *   while ((status = pt_csv_next(&csv, err)) > 0)
 *       use(csv.fields, csv.n_fields, csv.record_line);
 *   pt_csv_free(&csv);                                     status: 0 at the end, < 0 an error */
#ifndef PTRAIN_CSV_H
#define PTRAIN_CSV_H

#include <stddef.h>

#include "ptrain/common.h"

#define PT_CSV_MAX_FIELDS 4096
#define PT_CSV_MAX_RECORD (1 << 20)

typedef struct pt_csv {
    const char *data;
    size_t size;
    size_t pos;
    const char *name; /* in messages */
    long line;        /* the line the reader is on (1-based) */
    long record_line; /* the line where the record last returned starts */
    /* The record last returned: n_fields NUL-terminated fields, valid until the next call. */
    char **fields;
    int n_fields;
    /* storage: the fields' bytes one after the other, each NUL-terminated */
    char *buf;
    size_t buf_len, buf_cap;
    size_t *starts; /* offset of each field in buf */
    int starts_cap;
} pt_csv;

/* Reads from data[0..size) (not copied: it must outlive the reader). */
void pt_csv_init(pt_csv *csv, const char *data, size_t size, const char *name);

/* The next record: 1 when one was read (csv->fields, csv->n_fields), 0 at the end of the data,
 * or a negative PT_ERR_FORMAT / PT_ERR_NOMEM with the message in err. */
int pt_csv_next(pt_csv *csv, pt_error *err);

void pt_csv_free(pt_csv *csv);

#endif
