/* husk events [--stats] [--interval DUR] ID
 * --stats: one {"type":"stats","id":ID,"data":{...}} line (what go-runc's
 * Stats() reads); otherwise a stream of stats events every DUR (Go duration
 * syntax, default 5s) and oom events, until the container stops. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include "cli.h"

enum
{
  OPT_STATS = 1,
  OPT_INTERVAL,
};

static int
print_event (const char *line, void *data, husk_error_t *err)
{
  (void) data;
  if (printf ("%s\n", line) < 0 || fflush (stdout) == EOF)
    {
      /* the reader went away (EPIPE): stop quietly */
      if (errno == EPIPE)
        return husk_error_make (err, EPIPE, "events: output closed");
      return husk_error_make (err, errno, "events: cannot write to stdout");
    }
  return 0;
}

int
husk_cmd_events (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = {
    { "stats", no_argument, 0, OPT_STATS },
    { "interval", required_argument, 0, OPT_INTERVAL },
    { 0, 0, 0, 0 },
  };
  const char *id;
  uint64_t interval = 5ULL * 1000000000ULL;
  bool stats = false;
  int c;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only (argc, argv, "+", opts, NULL)) != -1)
    {
      switch (c)
        {
        case OPT_STATS:
          stats = true;
          break;
        case OPT_INTERVAL:
          if (husk_duration_parse (optarg, &interval, err) < 0)
            return husk_error_wrap (err, "events: --interval");
          if (interval == 0)
            return husk_error_make (err, 0, "events: duration interval must be greater than 0");
          break;
        default:
          if (optopt == OPT_INTERVAL)
            return husk_error_make (err, 0, "events: --interval needs a value (e.g. 5s)");
          return husk_error_make (err, 0, "events: unknown option `%s`", argv[optind - 1]);
        }
    }
  if (husk_cli_one_id (argc, argv, "events", &id, err) < 0)
    return -1;
  /* a closed pipe is an error on write, not a silent death */
  signal (SIGPIPE, SIG_IGN);
  if (husk_container_events (ctx, id, interval, stats, print_event, NULL, err) < 0)
    {
      if (*err && (*err)->status == EPIPE)
        {
          husk_error_release (err);
          return 0;
        }
      return -1;
    }
  return 0;
}
