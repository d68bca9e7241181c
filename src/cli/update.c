/* husk update [-r|--resources FILE|-] ID: apply LinuxResources to a live container. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

int
husk_cmd_update (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = { { "resources", required_argument, 0, 'r' }, { 0, 0, 0, 0 } };
  const char *file = NULL, *id;
  husk_autofree char *json = NULL;
  husk_resources_t *res = NULL;
  size_t len;
  int c, r;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only (argc, argv, "+r:", opts, NULL)) != -1)
    {
      if (c != 'r')
        return husk_error_make (err, 0, "update: unknown or not yet supported option `%s`", argv[optind - 1]);
      file = optarg;
    }
  if (husk_cli_one_id (argc, argv, "update", &id, err) < 0)
    return -1;
  if (file == NULL)
    return husk_error_make (err, 0, "update: --resources FILE|- is required");
  if (strcmp (file, "-") == 0 ? husk_read_fd (0, "stdin", &json, &len, err) : husk_read_file (file, &json, &len, err))
    return -1;
  if (husk_resources_parse (json, len, &res, err) < 0)
    return husk_error_wrap (err, "update: %s", file);
  r = husk_container_update (ctx, id, res, err);
  husk_resources_free (res);
  return r;
}
