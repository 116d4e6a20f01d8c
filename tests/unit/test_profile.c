/* The step profile's arithmetic: how much of the allreduce backward hides. */
#include <criterion/criterion.h>

#include "ptrain/profile.h"

Test(profile, allreduce_hidden_share)
{
    pt_step_profile s = {.steps = 10, .allreduce_alone_s = 0.01, .allreduce_exposed_s = 0.02};
    cr_assert_float_eq(pt_profile_allreduce_hidden(&s), 0.8, 1e-12);
    s.allreduce_exposed_s = 0.5; /* more exposed than the whole allreduce: imbalance, none hidden */
    cr_assert_float_eq(pt_profile_allreduce_hidden(&s), 0.0, 1e-12);
    s.allreduce_alone_s = 0; /* a single rank: not measured */
    cr_assert_float_eq(pt_profile_allreduce_hidden(&s), -1.0, 1e-12);
}
