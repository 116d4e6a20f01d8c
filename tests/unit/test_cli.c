/* The shared option parser: every option of a table reaches its handler (the second one too,
 * whose index getopt's "positional argument" code 1 once shadowed), positional arguments in
 * order including those after "--", and the usage errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "ptrain/cli.h"

enum { O_MODEL = 1, O_DATA, O_QUIET };
static const pt_cli_option options[] = {
    {"model", 1, O_MODEL}, {"data", 1, O_DATA}, {"quiet", 0, O_QUIET}, {NULL, 0, 0}};

typedef struct seen {
    const char *model, *data;
    int quiet;
    const char *args[4];
    int n_args;
} seen;

static int on_option(void *ctx, int id, const char *value, pt_error *err)
{
    seen *s = ctx;
    switch (id) {
    case O_MODEL:
        s->model = value;
        return 0;
    case O_DATA:
        if (strcmp(value, "bad") == 0)
            return pt_error_set(err, PT_ERR_USAGE, "--data: '%s' is bad", value);
        s->data = value;
        return 0;
    case O_QUIET:
        s->quiet = 1;
        return 0;
    }
    return -1;
}

static int on_arg(void *ctx, int id, const char *value, pt_error *err)
{
    seen *s = ctx;
    if (s->n_args == 4)
        return -1;
    s->args[s->n_args++] = value;
    return 0;
}

/* Parses the NULL-terminated words after a program name. */
static int parse(const char **words, pt_cli_handler arg_handler, seen *s, pt_error *err)
{
    char *argv[16] = {"prog"};
    int argc = 1;
    for (; words[argc - 1]; argc++)
        argv[argc] = (char *)words[argc - 1];
    memset(s, 0, sizeof *s);
    pt_error_clear(err);
    return pt_cli_parse(argc, argv, options, on_option, arg_handler, s, err);
}

Test(cli, every_option_reaches_its_handler)
{
    seen s;
    pt_error err;
    const char *words[] = {"--model", "m.h5", "--data", "c.h5", "--quiet", NULL};
    cr_assert_eq(parse(words, NULL, &s, &err), 0, "%s", err.msg);
    cr_assert_str_eq(s.model, "m.h5");
    cr_assert_str_eq(s.data, "c.h5");
    cr_assert_eq(s.quiet, 1);
}

Test(cli, positional_arguments_in_order_and_after_double_dash)
{
    seen s;
    pt_error err;
    const char *words[] = {"a", "--data", "c.h5", "b", "--", "--model", NULL};
    cr_assert_eq(parse(words, on_arg, &s, &err), 0, "%s", err.msg);
    cr_assert_str_eq(s.data, "c.h5");
    cr_assert_null(s.model);
    cr_assert_eq(s.n_args, 3);
    cr_assert_str_eq(s.args[0], "a");
    cr_assert_str_eq(s.args[1], "b");
    cr_assert_str_eq(s.args[2], "--model");
}

Test(cli, usage_errors)
{
    seen s;
    pt_error err;
    const char *unknown[] = {"--data", "c.h5", "--nope", NULL};
    cr_assert_eq(parse(unknown, NULL, &s, &err), PT_ERR_USAGE);
    cr_assert_str_eq(err.msg, "unknown or incomplete option '--nope' (see --help)");
    const char *missing[] = {"--model", NULL};
    cr_assert_eq(parse(missing, NULL, &s, &err), PT_ERR_USAGE);
    cr_assert_str_eq(err.msg, "unknown or incomplete option '--model' (see --help)");
    const char *extra[] = {"--data", "c.h5", "x", NULL};
    cr_assert_eq(parse(extra, NULL, &s, &err), PT_ERR_USAGE);
    cr_assert_str_eq(err.msg, "unexpected argument 'x' (see --help)");
    const char *after_dashes[] = {"--", "x", NULL};
    cr_assert_eq(parse(after_dashes, NULL, &s, &err), PT_ERR_USAGE);
    cr_assert_str_eq(err.msg, "unexpected argument 'x' (see --help)");
    const char *own[] = {"--data", "bad", NULL};
    cr_assert_eq(parse(own, NULL, &s, &err), PT_ERR_USAGE);
    cr_assert_str_eq(err.msg, "--data: 'bad' is bad");
}

Test(cli, help_anywhere)
{
    seen s;
    pt_error err;
    const char *words[] = {"--model", "m.h5", "--help", "--nope", NULL};
    cr_assert_eq(parse(words, NULL, &s, &err), 1);
}

Test(cli, exit_codes)
{
    cr_assert_eq(pt_cli_exit_code(PT_OK), 0);
    cr_assert_eq(pt_cli_exit_code(PT_ERR_USAGE), PT_EXIT_USAGE);
    cr_assert_eq(pt_cli_exit_code(PT_ERR_IO), PT_EXIT_RUNTIME);
}
