#include <criterion/criterion.h>
Test (placeholder, seccomp) { cr_assert (1); }
