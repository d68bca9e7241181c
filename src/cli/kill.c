/* husk kill [-a|--all] ID [SIGNAL]  (default SIGTERM; number or name) */
#include <signal.h>
#include "cli.h"

int
husk_cmd_kill (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = { { "all", no_argument, 0, 'a' }, { 0, 0, 0, 0 } };
  bool all = false;
  int c, sig = SIGTERM;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only (argc, argv, "+a", opts, NULL)) != -1)
    {
      if (c != 'a')
        return husk_error_make (err, 0, "kill: unknown option `%s`", argv[optind - 1]);
      all = true;
    }
  if (optind >= argc)
    return husk_error_make (err, 0, "kill: container id required (\"husk kill [options] <container-id> [signal]\")");
  if (argc - optind > 2)
    return husk_error_make (err, 0, "kill: too many arguments");
  if (argc - optind == 2)
    {
      sig = husk_signal_parse (argv[optind + 1]);
      if (sig < 0)
        return husk_error_make (err, 0, "kill: unknown signal `%s`", argv[optind + 1]);
    }
  return husk_container_kill (ctx, argv[optind], sig, all, err);
}
