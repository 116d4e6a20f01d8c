/* A minimal streaming JSON writer for config.json and summary.json: objects, arrays, strings
 * (escaped), numbers (NaN and infinities written as null, which JSON has no number for). */
#ifndef PTRAIN_JSON_H
#define PTRAIN_JSON_H

#include <stdint.h>
#include <stdio.h>

#define PT_JSON_MAX_DEPTH 16

typedef struct pt_json {
    FILE *f;
    int depth;
    int count[PT_JSON_MAX_DEPTH]; /* members written at each level, for commas */
} pt_json;

void pt_json_init(pt_json *j, FILE *f);

/* key is the member name inside an object, NULL inside an array or at the top. */
void pt_json_begin_object(pt_json *j, const char *key);
void pt_json_end_object(pt_json *j);
void pt_json_begin_array(pt_json *j, const char *key);
void pt_json_end_array(pt_json *j);
void pt_json_string(pt_json *j, const char *key, const char *value); /* NULL value: null */
void pt_json_number(pt_json *j, const char *key, double value);
void pt_json_int(pt_json *j, const char *key, int64_t value);
void pt_json_bool(pt_json *j, const char *key, int value);
/* A value that is already JSON text, copied as is (e.g. an element of an earlier file's array,
 * written at the same depth so its indentation fits). */
void pt_json_raw(pt_json *j, const char *key, const char *json);

#endif
