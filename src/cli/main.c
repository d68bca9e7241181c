/* husk: an OCI container runtime.  Global flags, dispatch, and the only
 * place that prints errors and picks the exit code (see docs/error-handling.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "config.h"
#include "seccomp-filter.h"

int husk_cli_exit_status;
bool husk_cli_root_given;

static const struct
{
  const char *name;
  husk_cmd_fn fn;
  const char *help;
} commands[] = {
  { "create", husk_cmd_create, "create a container" },
  { "start", husk_cmd_start, "start a created container (run its process)" },
  { "run", husk_cmd_run, "create and start a container" },
  { "state", husk_cmd_state, "print the state of a container" },
  { "kill", husk_cmd_kill, "send a signal to the container's init" },
  { "delete", husk_cmd_delete, "delete a container and what it holds" },
  { "list", husk_cmd_list, "list containers" },
  { "exec", husk_cmd_exec, "run a new process in a container" },
  { "ps", husk_cmd_ps, "list the processes of a container" },
  { "pause", husk_cmd_pause, "freeze every process of a container" },
  { "resume", husk_cmd_resume, "thaw a paused container" },
  { "update", husk_cmd_update, "change the resource limits of a container" },
  { "events", husk_cmd_events, "print container stats and events" },
  { "spec", husk_cmd_spec, "write a default config.json" },
  { "features", husk_cmd_features, "print the features this runtime supports" },
};

static void
usage (FILE *f)
{
  fprintf (f, "usage: husk [global options] COMMAND [options] [ARGS]\n\n"
              "global options:\n"
              "  --root DIR               state directory (default %s)\n"
              "  --log FILE               log file (default stderr)\n"
              "  --log-format text|json   log format\n"
              "  --debug                  debug logging\n"
              "  --systemd-cgroup         use the systemd cgroup manager (not supported)\n"
              "  --rootless true|false|auto\n"
              "  -v, --version            print the version\n\ncommands:\n",
           HUSK_DEFAULT_ROOT);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

static void
version (void)
{
  const char *sv = husk_seccomp_version ();
  printf ("husk version %s\ncommit: %s\nspec: %s\n", HUSK_VERSION, HUSK_COMMIT, HUSK_SPEC_VERSION);
  if (sv)
    printf ("libseccomp: %s\n", sv);
}

static int
parse_bool (const char *s)
{
  if (strcmp (s, "true") == 0 || strcmp (s, "1") == 0)
    return 1;
  if (strcmp (s, "false") == 0 || strcmp (s, "0") == 0)
    return 0;
  if (strcmp (s, "auto") == 0)
    return -1;
  return -2;
}

int
main (int argc, char **argv)
{
  enum
  {
    G_ROOT = 1,
    G_LOG,
    G_LOG_FORMAT,
    G_DEBUG,
    G_SYSTEMD,
    G_ROOTLESS,
    G_VERSION,
    G_HELP,
    G_CRIU,
    G_CGMANAGER,
    G_LOG_LEVEL,
  };
  static const struct option opts[] = {
    { "root", required_argument, 0, G_ROOT },
    { "log", required_argument, 0, G_LOG },
    { "log-format", required_argument, 0, G_LOG_FORMAT },
    { "log-level", required_argument, 0, G_LOG_LEVEL },
    { "debug", no_argument, 0, G_DEBUG },
    { "systemd-cgroup", no_argument, 0, G_SYSTEMD },
    { "cgroup-manager", required_argument, 0, G_CGMANAGER },
    { "rootless", optional_argument, 0, G_ROOTLESS },
    { "criu", required_argument, 0, G_CRIU },
    { "version", no_argument, 0, G_VERSION },
    { "help", no_argument, 0, G_HELP },
    { 0, 0, 0, 0 },
  };
  husk_context_t ctx = { .rootless = -1 };
  husk_auto_error husk_error_t err = NULL;
  const char *log_path = NULL;
  husk_log_format_t log_format = HUSK_LOG_TEXT;
  husk_autofree char *root_buf = NULL;
  int c;

  opterr = 0;
  while ((c = getopt_long_only (argc, argv, "+vh", opts, NULL)) != -1)
    switch (c)
      {
      case G_ROOT:
        ctx.root = optarg;
        husk_cli_root_given = true;
        break;
      case G_LOG:
        log_path = optarg;
        break;
      case G_LOG_FORMAT:
        if (strcmp (optarg, "json") == 0)
          log_format = HUSK_LOG_JSON;
        else if (strcmp (optarg, "text") == 0)
          log_format = HUSK_LOG_TEXT;
        else
          {
            fprintf (stderr, "husk: invalid log format `%s` (text or json)\n", optarg);
            return 1;
          }
        break;
      case G_LOG_LEVEL:
        if (strcmp (optarg, "debug") == 0)
          ctx.debug = true;
        break;
      case G_DEBUG:
        ctx.debug = true;
        break;
      case G_SYSTEMD:
        ctx.systemd_cgroup = true;
        break;
      case G_CGMANAGER:
        ctx.systemd_cgroup = strcmp (optarg, "systemd") == 0;
        break;
      case G_ROOTLESS:
        {
          const char *v = optarg;
          if (v == NULL && optind < argc && parse_bool (argv[optind]) > -2)
            v = argv[optind++];
          ctx.rootless = v ? parse_bool (v) : 1;
          if (ctx.rootless == -2)
            {
              fprintf (stderr, "husk: invalid --rootless value `%s`\n", v);
              return 1;
            }
          break;
        }
      case G_CRIU:
        break;
      case 'v':
      case G_VERSION:
        version ();
        return 0;
      case 'h':
      case G_HELP:
        usage (stdout);
        return 0;
      default:
        fprintf (stderr, "husk: unknown global option `%s`\n", argv[optind - 1]);
        usage (stderr);
        return 1;
      }

  if (husk_log_init (log_path, log_format, ctx.debug, &err) < 0)
    {
      fprintf (stderr, "%s\n", err->msg);
      return 1;
    }
  if (ctx.root == NULL)
    {
      const char *xdg = getenv ("XDG_RUNTIME_DIR");
      if (geteuid () != 0 && xdg && *xdg)
        ctx.root = root_buf = xstrdup_printf ("%s/husk", xdg);
      else
        ctx.root = HUSK_DEFAULT_ROOT;
    }
  if (optind >= argc)
    {
      usage (stderr);
      return 1;
    }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (argv[optind], commands[i].name) == 0)
      {
        int sub_argc = argc - optind;
        char **sub_argv = argv + optind;
        if (commands[i].fn (&ctx, sub_argc, sub_argv, &err) < 0)
          {
            const char *msg = err && err->msg ? err->msg : "unknown error";
            husk_log_error (msg);
            if (!husk_log_to_stderr ())
              fprintf (stderr, "%s\n", msg);
            return strcmp (commands[i].name, "exec") == 0 ? 255 : 1;
          }
        return husk_cli_exit_status;
      }
  fprintf (stderr, "husk: unknown command `%s`\n", argv[optind]);
  return 1;
}
