/* husk exec [options] ID COMMAND [ARGS...] | husk exec -p process.json ID
 * Foreground: exits with the process's status (128+signal when killed);
 * a setup failure exits 255, like runc. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

enum
{
  X_CONSOLE = 2000,
  X_PIDFILE,
  X_CWD,
  X_NNP,
  X_PRESERVE,
  X_CGROUP,
  X_IGNORE_PAUSED,
  X_APPARMOR,
  X_LABEL,
  X_PIDFD,
};

static int
parse_u32 (const char *s, uint32_t *out)
{
  uint64_t v;
  if (husk_parse_u64 (s, &v) < 0 || v > UINT32_MAX)
    return -1;
  *out = (uint32_t) v;
  return 0;
}

int
husk_cmd_exec (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = {
    { "console-socket", required_argument, 0, X_CONSOLE },
    { "pidfd-socket", required_argument, 0, X_PIDFD },
    { "cwd", required_argument, 0, X_CWD },
    { "env", required_argument, 0, 'e' },
    { "tty", no_argument, 0, 't' },
    { "user", required_argument, 0, 'u' },
    { "additional-gids", required_argument, 0, 'g' },
    { "process", required_argument, 0, 'p' },
    { "detach", no_argument, 0, 'd' },
    { "pid-file", required_argument, 0, X_PIDFILE },
    { "process-label", required_argument, 0, X_LABEL },
    { "apparmor", required_argument, 0, X_APPARMOR },
    { "no-new-privs", no_argument, 0, X_NNP },
    { "cap", required_argument, 0, 'c' },
    { "preserve-fds", required_argument, 0, X_PRESERVE },
    { "cgroup", required_argument, 0, X_CGROUP },
    { "ignore-paused", no_argument, 0, X_IGNORE_PAUSED },
    { 0, 0, 0, 0 },
  };
  husk_exec_opts_t o;
  const char *process_file = NULL;
  husk_autofree char **env = xmalloc0 (sizeof (char *) * (size_t) argc);
  husk_autofree char **caps = xmalloc0 (sizeof (char *) * (size_t) argc);
  husk_autofree uint32_t *gids = xmalloc0 (sizeof (uint32_t) * (size_t) argc);
  int c, status = 0;

  memset (&o, 0, sizeof o);
  o.env = env;
  o.caps = caps;
  o.gids = gids;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only (argc, argv, "+e:tu:g:p:dc:", opts, NULL)) != -1)
    switch (c)
      {
      case X_CONSOLE:
        o.console_socket = optarg;
        break;
      case X_PIDFD:
        o.pidfd_socket = optarg;
        break;
      case X_CWD:
        o.cwd = optarg;
        break;
      case 'e':
        env[o.env_len++] = optarg;
        break;
      case 't':
        o.tty = true;
        break;
      case 'u':
        {
          husk_autofree char *u = xstrdup (optarg);
          char *colon = strchr (u, ':');
          if (colon)
            *colon = '\0';
          if (parse_u32 (u, &o.uid) < 0 || (colon && parse_u32 (colon + 1, &o.gid) < 0))
            return husk_error_make (err, 0, "exec: --user `%s`: expected uid[:gid] as numbers", optarg);
          o.has_user = true;
          o.has_gid = colon != NULL;
          break;
        }
      case 'g':
        if (parse_u32 (optarg, &gids[o.gids_len]) < 0)
          return husk_error_make (err, 0, "exec: --additional-gids `%s`: expected a number", optarg);
        o.gids_len++;
        break;
      case 'p':
        process_file = optarg;
        break;
      case 'd':
        o.detach = true;
        break;
      case X_PIDFILE:
        o.pid_file = optarg;
        break;
      case X_LABEL:
        o.process_label = optarg;
        break;
      case X_APPARMOR:
        o.apparmor = optarg;
        break;
      case X_NNP:
        o.no_new_privs = true;
        break;
      case 'c':
        caps[o.caps_len++] = optarg;
        break;
      case X_PRESERVE:
        {
          uint32_t n;
          if (parse_u32 (optarg, &n) < 0 || n > 1024)
            return husk_error_make (err, 0, "exec: --preserve-fds: invalid value `%s`", optarg);
          o.preserve_fds = (int) n;
          break;
        }
      case X_CGROUP:
        o.cgroup = optarg;
        break;
      case X_IGNORE_PAUSED:
        o.ignore_paused = true;
        break;
      default:
        return husk_error_make (err, 0, "exec: unknown option `%s`", argv[optind - 1]);
      }
  if (optind >= argc)
    return husk_error_make (err, 0, "exec: container id required (\"husk exec [options] <container-id> <command>\")");
  if (process_file)
    {
      husk_autofree char *json = NULL;
      size_t len;
      if (argc - optind > 1)
        return husk_error_make (err, 0, "exec: --process and a command cannot be used together");
      if (husk_read_file (process_file, &json, &len, err) < 0)
        return -1;
      if (husk_process_parse (json, len, &o.process, err) < 0)
        return husk_error_wrap (err, "exec: %s", process_file);
    }
  else
    {
      o.args = argv + optind + 1;
      o.args_len = (size_t) (argc - optind - 1);
    }
  {
    int r = husk_container_exec (ctx, argv[optind], &o, &status, err);
    husk_process_free (o.process);
    if (r < 0)
      return -1;
  }
  husk_cli_exit_status = status;
  return 0;
}
