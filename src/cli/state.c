/* husk state ID: the runtime-spec state JSON. */
#include <stdlib.h>
#include "cli.h"

int
husk_cmd_state (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  const char *id;
  char *json = NULL;
  optind = 1;
  if (husk_cli_one_id (argc, argv, "state", &id, err) < 0)
    return -1;
  if (husk_container_state_json (ctx, id, &json, err) < 0)
    return -1;
  fputs (json, stdout);
  free (json);
  return 0;
}
