/* husk delete [-f|--force] ID */
#include "cli.h"

int
husk_cmd_delete (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = { { "force", no_argument, 0, 'f' }, { 0, 0, 0, 0 } };
  bool force = false;
  const char *id;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only (argc, argv, "+f", opts, NULL)) != -1)
    {
      if (c != 'f')
        return husk_error_make (err, 0, "delete: unknown option `%s`", argv[optind - 1]);
      force = true;
    }
  if (husk_cli_one_id (argc, argv, "delete", &id, err) < 0)
    return -1;
  return husk_container_delete (ctx, id, force, err);
}
