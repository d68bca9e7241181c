#include <criterion/criterion.h>
Test (placeholder, utils) { cr_assert (1); }
