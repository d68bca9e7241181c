/* husk list [-f|--format table|json] [-q|--quiet] */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

extern bool husk_cli_root_given;

int
husk_cmd_list (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = { { "format", required_argument, 0, 'f' }, { "quiet", no_argument, 0, 'q' },
                                        { 0, 0, 0, 0 } };
  husk_list_format_t fmt = HUSK_LIST_TABLE;
  bool quiet = false;
  char *out = NULL;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only (argc, argv, "+f:q", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "json") == 0)
          fmt = HUSK_LIST_JSON;
        else if (strcmp (optarg, "table") == 0)
          fmt = HUSK_LIST_TABLE;
        else
          return husk_error_make (err, 0, "list: invalid format option `%s`", optarg);
        break;
      case 'q':
        quiet = true;
        break;
      default:
        return husk_error_make (err, 0, "list: unknown option `%s`", argv[optind - 1]);
      }
  if (optind < argc)
    return husk_error_make (err, 0, "list: unexpected argument `%s`", argv[optind]);
  if (husk_container_list (ctx, quiet ? HUSK_LIST_QUIET : fmt, &out, husk_cli_root_given, err) < 0)
    return -1;
  if (*out)
    printf ("%s\n", out);
  free (out);
  return 0;
}
