/* being written */
#include <criterion/criterion.h>

Test(ckpt, placeholder)
{
}
