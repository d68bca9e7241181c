/* husk features: runtime-spec features.md JSON. */
#include <stdlib.h>
#include "cli.h"

int
husk_cmd_features (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  char *json = NULL;
  if (husk_features_json (&json, err) < 0)
    return -1;
  printf ("%s\n", json);
  free (json);
  return 0;
}
