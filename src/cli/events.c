/* husk events [--stats] [--interval DUR] ID */
#include "cli.h"

int
husk_cmd_events (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  return husk_error_make (err, 0, "events: not implemented yet");
}
