/* husk resume ID: thaw a paused container. */
#include "cli.h"

int
husk_cmd_resume (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  const char *id;
  optind = 1;
  if (husk_cli_one_id (argc, argv, "resume", &id, err) < 0)
    return -1;
  return husk_container_resume (ctx, id, err);
}
