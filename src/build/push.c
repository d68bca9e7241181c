#include <errno.h>
#include "build.h"
int hb_cmd_push (const hb_globals_t *g, int argc, char **argv, husk_error_t *err) { return husk_error_make (err, ENOSYS, "todo"); }
#include <errno.h>
