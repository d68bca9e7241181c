/* husk create [-b|--bundle DIR] [--console-socket S] [--pidfd-socket S] [--pid-file F]
 *             [--no-pivot] [--no-new-keyring] [--preserve-fds N] ID */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

int
husk_cli_one_id (int argc, char **argv, const char *cmd, const char **id, husk_error_t *err)
{
  if (optind >= argc)
    return husk_error_make (err, 0, "%s: container id required (\"husk %s [options] <container-id>\")", cmd, cmd);
  if (argc - optind > 1)
    return husk_error_make (err, 0, "%s: expected one container id, got %d arguments", cmd, argc - optind);
  *id = argv[optind];
  return 0;
}

int
husk_cli_parse_create (int argc, char **argv, bool run, husk_create_opts_t *o, husk_error_t *err)
{
  static const struct option opts[] = {
    { "bundle", required_argument, 0, 'b' },
    { "console-socket", required_argument, 0, OPT_CONSOLE_SOCKET },
    { "pid-file", required_argument, 0, OPT_PID_FILE },
    { "no-pivot", no_argument, 0, OPT_NO_PIVOT },
    { "no-new-keyring", no_argument, 0, OPT_NO_NEW_KEYRING },
    { "preserve-fds", required_argument, 0, OPT_PRESERVE_FDS },
    { "no-subreaper", no_argument, 0, OPT_NO_SUBREAPER },
    { "pidfd-socket", required_argument, 0, OPT_PIDFD_SOCKET },
    { "detach", no_argument, 0, 'd' },
    { "keep", no_argument, 0, OPT_KEEP },
    { "config", required_argument, 0, 'f' },
    { 0, 0, 0, 0 },
  };
  int c;
  memset (o, 0, sizeof *o);
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only (argc, argv, run ? "+b:df:" : "+b:f:", opts, NULL)) != -1)
    switch (c)
      {
      case 'b':
        o->bundle = optarg;
        break;
      case 'f':
        o->config_path = optarg;
        break;
      case OPT_CONSOLE_SOCKET:
        o->console_socket = optarg;
        break;
      case OPT_PID_FILE:
        o->pid_file = optarg;
        break;
      case OPT_NO_PIVOT:
        o->no_pivot = true;
        break;
      case OPT_NO_NEW_KEYRING:
        o->no_new_keyring = true;
        break;
      case OPT_PRESERVE_FDS:
        {
          char *end;
          long n = strtol (optarg, &end, 10);
          if (*end || n < 0 || n > 1024)
            return husk_error_make (err, 0, "--preserve-fds: invalid value `%s`", optarg);
          o->preserve_fds = (int) n;
          break;
        }
      case OPT_NO_SUBREAPER:
        break;
      case OPT_PIDFD_SOCKET:
        o->pidfd_socket = optarg;
        break;
      case 'd':
        if (!run)
          break; /* conmon/go-runc may send --detach to create: accepted */
        o->detach = true;
        break;
      case OPT_KEEP:
        if (!run)
          return husk_error_make (err, 0, "create: unknown option `--keep`");
        o->keep = true;
        break;
      default:
        return husk_error_make (err, 0, "%s: unknown option `%s`", run ? "run" : "create", argv[optind - 1]);
      }
  return optind;
}

int
husk_cmd_create (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  husk_create_opts_t o;
  const char *id;
  if (husk_cli_parse_create (argc, argv, false, &o, err) < 0)
    return -1;
  if (husk_cli_one_id (argc, argv, "create", &id, err) < 0)
    return -1;
  return husk_container_create (ctx, id, &o, err);
}
