/* husk run [create's flags] [-d|--detach] [--keep] ID
 * Exits with the container's status (128+signal when killed). */
#include "cli.h"

int
husk_cmd_run (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  husk_create_opts_t o;
  const char *id;
  int status = 0;
  if (husk_cli_parse_create (argc, argv, true, &o, err) < 0)
    return -1;
  if (husk_cli_one_id (argc, argv, "run", &id, err) < 0)
    return -1;
  if (husk_container_run (ctx, id, &o, &status, err) < 0)
    return -1;
  husk_cli_exit_status = status;
  return 0;
}
