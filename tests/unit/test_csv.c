/* The CSV tokenizer (RFC 4180): quoting, doubled quotes, line breaks inside quotes, BOM, CRLF,
 * long records, and clear errors on malformed input. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* Reads every record of text; fields joined with '|' and records with '\n' into out. Returns
 * the status of the last pt_csv_next (0 at a clean end). */
static int read_all(const char *text, size_t size, char *out, size_t cap, pt_error *err)
{
    pt_csv csv;
    pt_csv_init(&csv, text, size, "t.csv");
    out[0] = '\0';
    int status;
    while ((status = pt_csv_next(&csv, err)) > 0) {
        for (int i = 0; i < csv.n_fields; i++) {
            strncat(out, csv.fields[i], cap - strlen(out) - 1);
            strncat(out, i + 1 < csv.n_fields ? "|" : "\n", cap - strlen(out) - 1);
        }
    }
    pt_csv_free(&csv);
    return status;
}

static void expect_records(const char *text, const char *want)
{
    char out[1024];
    pt_error err;
    pt_error_clear(&err);
    cr_assert_eq(read_all(text, strlen(text), out, sizeof out, &err), 0, "%s", err.msg);
    cr_assert_str_eq(out, want);
}

Test(csv, plain_fields_and_trailing_comma)
{
    expect_records("a,b,c\n1,2,3\n", "a|b|c\n1|2|3\n");
    expect_records("a,b,\n", "a|b|\n"); /* NIH rows end with a comma: one empty field more */
    expect_records("a,,c", "a||c\n");   /* no final line break */
    expect_records("\n\na\n\n", "a\n"); /* empty lines are no records */
    expect_records("", "");
}

Test(csv, quoted_fields_hold_commas_quotes_and_line_breaks)
{
    expect_records("\"Effusion|Mass\",x\n", "Effusion|Mass|x\n");
    expect_records("\"a,b\",c\n", "a,b|c\n");
    expect_records("\"say \"\"hi\"\"\",2\n", "say \"hi\"|2\n");
    expect_records("\"two\nlines\",3\nnext,4\n", "two\nlines|3\nnext|4\n");
    expect_records("\"\",\"\"\n", "|\n");
    /* a quote inside an unquoted field is a character */
    expect_records("5\" film,x\n", "5\" film|x\n");
}

Test(csv, bom_crlf_and_cr)
{
    expect_records("\xEF\xBB\xBFImage Index,Patient ID\r\nx.png,7\r\n",
                   "Image Index|Patient ID\nx.png|7\n");
    expect_records("a,b\rc,d\r", "a|b\nc|d\n");
    expect_records("\"q\r\nr\",s\r\n", "q\r\nr|s\n");
}

Test(csv, record_line_numbers_count_breaks_inside_quotes)
{
    const char *text = "h1,h2\n\"multi\nline\",x\n\nlast,y\n";
    pt_csv csv;
    pt_error err;
    pt_csv_init(&csv, text, strlen(text), "t.csv");
    cr_assert_eq(pt_csv_next(&csv, &err), 1);
    cr_assert_eq(csv.record_line, 1);
    cr_assert_eq(pt_csv_next(&csv, &err), 1);
    cr_assert_eq(csv.record_line, 2);
    cr_assert_eq(pt_csv_next(&csv, &err), 1);
    cr_assert_eq(csv.record_line, 5);
    cr_assert_str_eq(csv.fields[0], "last");
    cr_assert_eq(pt_csv_next(&csv, &err), 0);
    pt_csv_free(&csv);
}

Test(csv, long_records)
{
    size_t n = 100000;
    char *text = malloc(n + 16);
    cr_assert_not_null(text);
    memset(text, 'x', n);
    memcpy(text + n, ",y\n", 4);
    pt_csv csv;
    pt_error err;
    pt_csv_init(&csv, text, strlen(text), "t.csv");
    cr_assert_eq(pt_csv_next(&csv, &err), 1, "%s", err.msg);
    cr_assert_eq(strlen(csv.fields[0]), n);
    cr_assert_str_eq(csv.fields[1], "y");
    pt_csv_free(&csv);
    free(text);
}

static void expect_error(const char *text, size_t size, const char *what)
{
    char out[1024];
    pt_error err;
    pt_error_clear(&err);
    cr_assert_eq(read_all(text, size, out, sizeof out, &err), PT_ERR_FORMAT, "%s", text);
    cr_assert(strstr(err.msg, "t.csv: line ") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, what) != NULL, "%s", err.msg);
}

Test(csv, malformed_input_is_a_clear_error)
{
    expect_error("a,b\n\"open,c\n", 12, "not closed");
    expect_error("\"a\"b,c\n", 7, "after the closing quote");
    expect_error("a,b\0c\n", 6, "NUL byte");
    /* over the limits: far too many fields, a record too long */
    size_t n = PT_CSV_MAX_FIELDS + 10;
    char *commas = malloc(n + 1);
    memset(commas, ',', n);
    commas[n] = '\0';
    expect_error(commas, n, "fields");
    free(commas);
    n = PT_CSV_MAX_RECORD + 10;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    expect_error(big, n, "longer than");
    free(big);
}
