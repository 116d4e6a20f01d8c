/* The shared option table parser of the three programs, and the status-to-exit-code mapping. */
#include <criterion/criterion.h>
#include <string.h>

#include "ptrain/cli.h"
#include "ptrain/train.h"

enum { O_NAME = 1, O_COUNT, O_FLAG };
static const pt_cli_option options[] = {
    {"name", 1, O_NAME}, {"count", 1, O_COUNT}, {"flag", 0, O_FLAG}, {NULL, 0, 0}};

typedef struct seen {
    const char *name;
    long long count;
    int flag;
    const char *args[8];
    int n_args;
} seen;

static int on_option(void *ctx, int id, const char *value, pt_error *err)
{
    seen *s = ctx;
    switch (id) {
    case O_NAME:
        if (!*value)
            return pt_error_set(err, PT_ERR_USAGE, "--name: empty");
        s->name = value;
        return 0;
    case O_COUNT:
        return pt_cli_long(value, 1, 100, &s->count);
    case O_FLAG:
        s->flag = 1;
        return 0;
    }
    return -1;
}

static int on_arg(void *ctx, int id, const char *value, pt_error *err)
{
    seen *s = ctx;
    s->args[s->n_args++] = value;
    return 0;
}

#define ARGV(...) ((char *[]){"prog", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"prog", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(handler_arg, ...)                                                                    \
    pt_cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), options, on_option, handler_arg, &s, &err)

Test(cli, values_in_both_spellings_and_arguments_in_order)
{
    seen s = {0};
    pt_error err;
    cr_assert_eq(PARSE(on_arg, "a.png", "--name", "x", "--count=7", "b.png", "--flag", "c.png"), 0,
                 "%s", err.msg);
    cr_assert_str_eq(s.name, "x");
    cr_assert_eq(s.count, 7);
    cr_assert_eq(s.flag, 1);
    cr_assert_eq(s.n_args, 3);
    cr_assert_str_eq(s.args[0], "a.png");
    cr_assert_str_eq(s.args[1], "b.png");
    cr_assert_str_eq(s.args[2], "c.png");
}

Test(cli, the_second_table_entry_takes_its_value)
{
    /* getopt_long's value 1 means "positional argument" under "-": no entry may map to it */
    seen s = {0};
    pt_error err;
    cr_assert_eq(PARSE(NULL, "--count", "5"), 0, "%s", err.msg);
    cr_assert_eq(s.count, 5);
}

Test(cli, help_and_usage_errors)
{
    seen s = {0};
    pt_error err;
    cr_assert_eq(PARSE(NULL, "--flag", "--help"), 1);
    cr_assert_eq(PARSE(NULL, "--bogus"), PT_ERR_USAGE);
    cr_assert(strstr(err.msg, "unknown or incomplete option '--bogus'"), "%s", err.msg);
    cr_assert_eq(PARSE(NULL, "--name"), PT_ERR_USAGE);
    cr_assert(strstr(err.msg, "'--name'"), "%s", err.msg);
    cr_assert_eq(PARSE(NULL, "--count", "500"), PT_ERR_USAGE);
    cr_assert_str_eq(err.msg, "--count: bad value '500' (see --help)");
    cr_assert_eq(PARSE(NULL, "--name="), PT_ERR_USAGE);
    cr_assert_str_eq(err.msg, "--name: empty");
    cr_assert_eq(PARSE(NULL, "extra"), PT_ERR_USAGE);
    cr_assert(strstr(err.msg, "unexpected argument 'extra'"), "%s", err.msg);
}

Test(cli, exit_codes_from_statuses)
{
    cr_assert_eq(pt_cli_exit_code(PT_OK), 0);
    cr_assert_eq(pt_cli_exit_code(PT_ERR_IO), PT_EXIT_RUNTIME);
    cr_assert_eq(pt_cli_exit_code(PT_ERR_HDF5), PT_EXIT_RUNTIME);
    cr_assert_eq(pt_cli_exit_code(PT_ERR_USAGE), PT_EXIT_USAGE);
    cr_assert_eq(pt_cli_exit_code(PT_STOPPED), PT_EXIT_PREEMPTED);
}
