/* What the Kermany chest X-ray file names say: the patient and the kind of pneumonia.
 *
 *   person1_bacteria_1.jpeg      patient "person1", bacterial pneumonia
 *   person1_virus_6.jpeg         patient "person1", viral pneumonia
 *   IM-0115-0001.jpeg            patient "IM-0115", normal
 *   NORMAL2-IM-0927-0001.jpeg    patient "NORMAL2-IM-0927", normal
 * Any other name is its own patient (the name without extension), subtype unknown. */
#ifndef PTRAIN_KERMANY_H
#define PTRAIN_KERMANY_H

#include <stddef.h>

typedef enum pt_subtype {
    PT_SUBTYPE_UNKNOWN,
    PT_SUBTYPE_NORMAL, /* an IM-xxxx name: the normal films */
    PT_SUBTYPE_BACTERIA,
    PT_SUBTYPE_VIRUS
} pt_subtype;

/* Parses a file name (a path is fine: only the last component is read). Writes the patient id,
 * NUL-terminated and truncated to cap, into patient. Returns the subtype the name announces. */
pt_subtype pt_kermany_parse_name(const char *name, char *patient, size_t cap);

#endif
