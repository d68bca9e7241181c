/* husk start ID */
#include "cli.h"

int
husk_cmd_start (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  const char *id;
  optind = 1;
  if (husk_cli_one_id (argc, argv, "start", &id, err) < 0)
    return -1;
  return husk_container_start (ctx, id, err);
}
