/* husk spec [-b|--bundle DIR] [--rootless] */
#include "cli.h"

int
husk_cmd_spec (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = { { "bundle", required_argument, 0, 'b' },
                                        { "rootless", no_argument, 0, 'r' }, { 0, 0, 0, 0 } };
  const char *dir = ".";
  bool rootless = false;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only (argc, argv, "+b:", opts, NULL)) != -1)
    switch (c)
      {
      case 'b':
        dir = optarg;
        break;
      case 'r':
        rootless = true;
        break;
      default:
        return husk_error_make (err, 0, "spec: unknown option `%s`", argv[optind - 1]);
      }
  return husk_spec_generate (dir, rootless, err);
}
