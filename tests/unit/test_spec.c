#include <criterion/criterion.h>
Test (placeholder, spec) { cr_assert (1); }
