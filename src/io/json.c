/* Streaming JSON writer (see json.h). Output is indented two spaces per level. */
#include "ptrain/json.h"

#include <inttypes.h>
#include <math.h>

void pt_json_init(pt_json *j, FILE *f)
{
    j->f = f;
    j->depth = 0;
    j->count[0] = 0;
}

static void indent(pt_json *j)
{
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

static void write_escaped(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

/* Comma and newline before a member, then its key. */
static void member(pt_json *j, const char *key)
{
    if (j->depth > 0) {
        fputs(j->count[j->depth] ? ",\n" : "\n", j->f);
        indent(j);
    }
    j->count[j->depth]++;
    if (key) {
        write_escaped(j->f, key);
        fputs(": ", j->f);
    }
}

static void open_level(pt_json *j, const char *key, char bracket)
{
    member(j, key);
    fputc(bracket, j->f);
    if (j->depth + 1 < PT_JSON_MAX_DEPTH)
        j->depth++;
    j->count[j->depth] = 0;
}

static void close_level(pt_json *j, char bracket)
{
    int had_members = j->count[j->depth] > 0;
    if (j->depth > 0)
        j->depth--;
    if (had_members) {
        fputc('\n', j->f);
        indent(j);
    }
    fputc(bracket, j->f);
    if (j->depth == 0)
        fputc('\n', j->f);
}

void pt_json_begin_object(pt_json *j, const char *key)
{
    open_level(j, key, '{');
}
void pt_json_end_object(pt_json *j)
{
    close_level(j, '}');
}
void pt_json_begin_array(pt_json *j, const char *key)
{
    open_level(j, key, '[');
}
void pt_json_end_array(pt_json *j)
{
    close_level(j, ']');
}

void pt_json_string(pt_json *j, const char *key, const char *value)
{
    member(j, key);
    if (value)
        write_escaped(j->f, value);
    else
        fputs("null", j->f);
}

void pt_json_number(pt_json *j, const char *key, double value)
{
    member(j, key);
    if (isfinite(value))
        fprintf(j->f, "%.10g", value);
    else
        fputs("null", j->f);
}

void pt_json_int(pt_json *j, const char *key, int64_t value)
{
    member(j, key);
    fprintf(j->f, "%" PRId64, value);
}

void pt_json_bool(pt_json *j, const char *key, int value)
{
    member(j, key);
    fputs(value ? "true" : "false", j->f);
}

void pt_json_raw(pt_json *j, const char *key, const char *json)
{
    member(j, key);
    fputs(json, j->f);
}
