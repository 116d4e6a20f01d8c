/* Patient ids and subtypes from the real Kermany file name patterns. */
#include <criterion/criterion.h>

#include "kermany.h"

static void check(const char *name, pt_subtype want_subtype, const char *want_patient)
{
    char patient[64];
    pt_subtype got = pt_kermany_parse_name(name, patient, sizeof patient);
    cr_assert_eq(got, want_subtype, "%s: subtype %d, want %d", name, got, want_subtype);
    cr_assert_str_eq(patient, want_patient, "%s", name);
}

Test(kermany, pneumonia_names)
{
    check("person1_bacteria_1.jpeg", PT_SUBTYPE_BACTERIA, "person1");
    check("person1_virus_6.jpeg", PT_SUBTYPE_VIRUS, "person1");
    check("person1946_bacteria_4874.jpeg", PT_SUBTYPE_BACTERIA, "person1946");
    check("person100_virus_184.jpeg", PT_SUBTYPE_VIRUS, "person100");
}

Test(kermany, normal_names)
{
    check("IM-0115-0001.jpeg", PT_SUBTYPE_NORMAL, "IM-0115");
    check("NORMAL2-IM-0927-0001.jpeg", PT_SUBTYPE_NORMAL, "NORMAL2-IM-0927");
    check("IM-0001-0001.jpeg", PT_SUBTYPE_NORMAL, "IM-0001");
}

Test(kermany, directories_are_ignored)
{
    check("chest_xray/train/PNEUMONIA/person3_virus_15.jpeg", PT_SUBTYPE_VIRUS, "person3");
    check("train/NORMAL/NORMAL2-IM-1427-0001.jpeg", PT_SUBTYPE_NORMAL, "NORMAL2-IM-1427");
}

Test(kermany, other_names_are_their_own_patient)
{
    check("00000001_000.png", PT_SUBTYPE_UNKNOWN, "00000001_000");
    check("scan.jpeg", PT_SUBTYPE_UNKNOWN, "scan");
    check("person_bacteria_1.jpeg", PT_SUBTYPE_UNKNOWN, "person_bacteria_1");
    check("person7_fungus_1.jpeg", PT_SUBTYPE_UNKNOWN, "person7_fungus_1");
    check("noextension", PT_SUBTYPE_UNKNOWN, "noextension");
}

Test(kermany, patient_is_truncated_to_the_buffer)
{
    char patient[5];
    pt_kermany_parse_name("NORMAL2-IM-0927-0001.jpeg", patient, sizeof patient);
    cr_assert_str_eq(patient, "NORM");
}
