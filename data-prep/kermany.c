/* Patient ids and pneumonia subtypes from Kermany file names (see kermany.h). */
#include "kermany.h"

#include <ctype.h>
#include <string.h>

#include "ptrain/common.h"

/* Length of s without its extension (the part after the last dot, if any). */
static size_t stem_length(const char *s)
{
    const char *dot = strrchr(s, '.');
    return dot && dot != s ? (size_t)(dot - s) : strlen(s);
}

static void copy_prefix(char *dst, size_t cap, const char *src, size_t len)
{
    if (cap == 0)
        return;
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* "personN_<kind>_M": the patient is everything before the first underscore. */
static pt_subtype parse_person(const char *stem, size_t len, char *patient, size_t cap)
{
    if (len < 7 || strncmp(stem, "person", 6) != 0 || !isdigit((unsigned char)stem[6]))
        return PT_SUBTYPE_UNKNOWN;
    const char *underscore = memchr(stem, '_', len);
    if (!underscore)
        return PT_SUBTYPE_UNKNOWN;
    const char *kind = underscore + 1;
    size_t kind_len = len - (size_t)(kind - stem);
    pt_subtype subtype = PT_SUBTYPE_UNKNOWN;
    if (kind_len >= 8 && strncmp(kind, "bacteria", 8) == 0)
        subtype = PT_SUBTYPE_BACTERIA;
    else if (kind_len >= 5 && strncmp(kind, "virus", 5) == 0)
        subtype = PT_SUBTYPE_VIRUS;
    if (subtype != PT_SUBTYPE_UNKNOWN)
        copy_prefix(patient, cap, stem, (size_t)(underscore - stem));
    return subtype;
}

/* "[PREFIX-]IM-XXXX-YYYY": the patient is everything before the last dash. */
static pt_subtype parse_im(const char *stem, size_t len, char *patient, size_t cap)
{
    const char *im = NULL;
    if (len >= 3 && strncmp(stem, "IM-", 3) == 0)
        im = stem;
    else {
        const char *found = strstr(stem, "-IM-");
        if (found && (size_t)(found - stem) < len)
            im = found + 1;
    }
    if (!im)
        return PT_SUBTYPE_UNKNOWN;
    const char *last_dash = NULL;
    for (const char *p = im + 3; p < stem + len; p++)
        if (*p == '-')
            last_dash = p;
    if (!last_dash || last_dash == im + 2)
        return PT_SUBTYPE_UNKNOWN;
    copy_prefix(patient, cap, stem, (size_t)(last_dash - stem));
    return PT_SUBTYPE_NORMAL;
}

pt_subtype pt_kermany_parse_name(const char *name, char *patient, size_t cap)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    size_t len = stem_length(base);

    pt_subtype subtype = parse_person(base, len, patient, cap);
    if (subtype == PT_SUBTYPE_UNKNOWN)
        subtype = parse_im(base, len, patient, cap);
    if (subtype == PT_SUBTYPE_UNKNOWN)
        copy_prefix(patient, cap, base, len);
    return subtype;
}
