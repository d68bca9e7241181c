/* husk pause ID: freeze every process of the container. */
#include "cli.h"

int
husk_cmd_pause (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  const char *id;
  optind = 1;
  if (husk_cli_one_id (argc, argv, "pause", &id, err) < 0)
    return -1;
  return husk_container_pause (ctx, id, err);
}
