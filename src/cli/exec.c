/* husk exec: runs a new process inside a container (see the exec issue). */
#include "cli.h"

int
husk_cmd_exec (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  return husk_error_make (err, 0, "exec: not implemented yet");
}
