#include <criterion/criterion.h>
Test (placeholder, names) { cr_assert (1); }
