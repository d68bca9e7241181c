#include <criterion/criterion.h>
Test (placeholder, cgroup) { cr_assert (1); }
