/* CSV records, RFC 4180 (see csv.h). */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

void pt_csv_init(pt_csv *csv, const char *data, size_t size, const char *name)
{
    memset(csv, 0, sizeof *csv);
    csv->data = data;
    csv->size = size;
    csv->name = name ? name : "<csv>";
    csv->line = 1;
    /* Excel's "CSV UTF-8" starts with a byte-order mark, which would otherwise become part of
     * the first column's name. */
    if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        csv->pos = 3;
}

void pt_csv_free(pt_csv *csv)
{
    free(csv->buf);
    free(csv->starts);
    free(csv->fields);
    memset(csv, 0, sizeof *csv);
}

static int put_byte(pt_csv *csv, char c, pt_error *err)
{
    if (csv->buf_len >= PT_CSV_MAX_RECORD)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: line %ld: record longer than %d bytes",
                            csv->name, csv->record_line, PT_CSV_MAX_RECORD);
    if (csv->buf_len == csv->buf_cap) {
        size_t cap = csv->buf_cap ? 2 * csv->buf_cap : 256;
        char *grown = realloc(csv->buf, cap);
        if (!grown)
            return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", csv->name);
        csv->buf = grown;
        csv->buf_cap = cap;
    }
    csv->buf[csv->buf_len++] = c;
    return PT_OK;
}

static int start_field(pt_csv *csv, pt_error *err)
{
    if (csv->n_fields >= PT_CSV_MAX_FIELDS)
        return pt_error_set(err, PT_ERR_FORMAT, "%s: line %ld: more than %d fields", csv->name,
                            csv->record_line, PT_CSV_MAX_FIELDS);
    if (csv->n_fields == csv->starts_cap) {
        int cap = csv->starts_cap ? 2 * csv->starts_cap : 32;
        size_t *grown = realloc(csv->starts, (size_t)cap * sizeof *grown);
        if (!grown)
            return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", csv->name);
        csv->starts = grown;
        csv->starts_cap = cap;
    }
    csv->starts[csv->n_fields++] = csv->buf_len;
    return PT_OK;
}

/* Consumes a line break at pos (CRLF, LF or CR) if there is one; 1 if it did. */
static int eat_line_break(pt_csv *csv)
{
    if (csv->pos >= csv->size)
        return 0;
    char c = csv->data[csv->pos];
    if (c == '\n') {
        csv->pos++;
    } else if (c == '\r') {
        csv->pos++;
        if (csv->pos < csv->size && csv->data[csv->pos] == '\n')
            csv->pos++;
    } else {
        return 0;
    }
    csv->line++;
    return 1;
}

/* A quoted field, pos just after its opening quote. Line breaks inside count as lines. */
static int read_quoted(pt_csv *csv, pt_error *err)
{
    long opened = csv->line;
    for (;;) {
        if (csv->pos >= csv->size)
            return pt_error_set(err, PT_ERR_FORMAT,
                                "%s: line %ld: quoted field not closed before the end of the file",
                                csv->name, opened);
        char c = csv->data[csv->pos];
        if (c == '"') {
            if (csv->pos + 1 < csv->size && csv->data[csv->pos + 1] == '"') {
                csv->pos += 2; /* "" is one quote */
                int status = put_byte(csv, '"', err);
                if (status != PT_OK)
                    return status;
                continue;
            }
            csv->pos++;
            return PT_OK;
        }
        if (c == '\0')
            return pt_error_set(err, PT_ERR_FORMAT, "%s: line %ld: NUL byte (not a text file)",
                                csv->name, csv->line);
        int crlf = c == '\r' && csv->pos + 1 < csv->size && csv->data[csv->pos + 1] == '\n';
        if (c == '\n' || (c == '\r' && !crlf))
            csv->line++;
        csv->pos++;
        int status = put_byte(csv, c, err);
        if (status != PT_OK)
            return status;
    }
}

/* An unquoted field: everything up to a comma, a line break or the end. */
static int read_plain(pt_csv *csv, pt_error *err)
{
    while (csv->pos < csv->size) {
        char c = csv->data[csv->pos];
        if (c == ',' || c == '\n' || c == '\r')
            return PT_OK;
        if (c == '\0')
            return pt_error_set(err, PT_ERR_FORMAT, "%s: line %ld: NUL byte (not a text file)",
                                csv->name, csv->line);
        csv->pos++;
        int status = put_byte(csv, c, err);
        if (status != PT_OK)
            return status;
    }
    return PT_OK;
}

/* Points csv->fields at the fields of the record just read. */
static int finish_record(pt_csv *csv, pt_error *err)
{
    char **fields = realloc(csv->fields, (size_t)csv->n_fields * sizeof *fields);
    if (!fields)
        return pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", csv->name);
    csv->fields = fields;
    for (int i = 0; i < csv->n_fields; i++)
        fields[i] = csv->buf + csv->starts[i];
    return 1;
}

int pt_csv_next(pt_csv *csv, pt_error *err)
{
    csv->n_fields = 0;
    csv->buf_len = 0;
    while (eat_line_break(csv)) /* empty lines are no records */
        ;
    if (csv->pos >= csv->size)
        return 0;
    csv->record_line = csv->line;
    for (;;) {
        int status = start_field(csv, err);
        if (status == PT_OK && csv->pos < csv->size && csv->data[csv->pos] == '"') {
            csv->pos++;
            status = read_quoted(csv, err);
            if (status == PT_OK && csv->pos < csv->size && csv->data[csv->pos] != ',' &&
                csv->data[csv->pos] != '\n' && csv->data[csv->pos] != '\r')
                status = pt_error_set(err, PT_ERR_FORMAT,
                                      "%s: line %ld: text after the closing quote of a field",
                                      csv->name, csv->line);
        } else if (status == PT_OK) {
            status = read_plain(csv, err);
        }
        if (status == PT_OK)
            status = put_byte(csv, '\0', err);
        if (status != PT_OK)
            return status;
        if (csv->pos < csv->size && csv->data[csv->pos] == ',') {
            csv->pos++;
            continue; /* a comma at the very end still opens one (empty) field */
        }
        eat_line_break(csv);
        return finish_record(csv, err);
    }
}
