#include <errno.h>
#include "build.h"
int hb_cmd_load (const hb_globals_t *g, int argc, char **argv, husk_error_t *err) { return husk_error_make (err, ENOSYS, "todo"); }
int hb_cmd_save (const hb_globals_t *g, int argc, char **argv, husk_error_t *err) { return husk_error_make (err, ENOSYS, "todo"); }
#include <errno.h>
