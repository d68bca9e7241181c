/* husk: `events`: usage statistics (runc's types.Stats) and OOM
 * notifications of a container's cgroup.
 *
 *   --stats       one {"type":"stats","id":ID,"data":STATS} and return
 *   stream        a stats event every interval (the first one after one
 *                 interval, like runc's time.Tick), plus {"type":"oom","id":ID}
 *                 whenever the cgroup's OOM-kill counter grows; the stream
 *                 ends (successfully) when the container's init exits.
 *
 * The OOM-kill counter is `oom_kill` in memory.events (cgroup v2) or in
 * memory.oom_control (v1, kernel >= 4.13).  It is sampled every
 * OOM_POLL_MS: cheaper and simpler than an eventfd per hierarchy, and it
 * also counts kills that happened while nobody was listening on a fd.
 *
 * The state dir is locked only while the state is read: `kill`, `delete`
 * and `update` must not wait for a stream that runs for hours. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "cgroup-internal.h"
#include "container-internal.h"

#define OOM_POLL_MS 100

/* Go's time.ParseDuration, restricted to what a positive interval needs:
 * one or more "<decimal><unit>" with units ns, us (µs, μs), ms, s, m, h. */
int
husk_duration_parse (const char *s, uint64_t *ns_out, husk_error_t *err)
{
  static const struct
  {
    const char *name;
    uint64_t ns;
  } units[] = {
    /* clang-format off */
    { "ns", 1ULL },
    { "us", 1000ULL },
    { "\xc2\xb5s", 1000ULL }, /* U+00B5 micro sign */
    { "\xce\xbcs", 1000ULL }, /* U+03BC Greek small mu */
    { "ms", 1000000ULL },
    { "s", 1000000000ULL },
    { "m", 60000000000ULL },
    { "h", 3600000000000ULL },
    /* clang-format on */
  };
  const char *p = s;
  long double total = 0;

  if (s == NULL || *s == '\0')
    return husk_error_make (err, 0, "invalid duration `%s`", s ? s : "");
  if (*p == '+')
    p++;
  if (strcmp (p, "0") == 0)
    {
      *ns_out = 0;
      return 0;
    }
  while (*p)
    {
      long double v = 0, scale = 1;
      bool digits = false, frac = false;
      size_t best = 0, k;
      uint64_t unit = 0;
      for (; (*p >= '0' && *p <= '9') || (*p == '.' && !frac); p++)
        {
          if (*p == '.')
            {
              frac = true;
              continue;
            }
          digits = true;
          if (frac)
            {
              scale /= 10;
              v += (long double) (*p - '0') * scale;
            }
          else
            v = v * 10 + (long double) (*p - '0');
        }
      if (!digits)
        return husk_error_make (err, 0, "invalid duration `%s`", s);
      for (k = 0; k < sizeof units / sizeof units[0]; k++)
        {
          size_t n = strlen (units[k].name);
          /* longest match: "ms" before "m" */
          if (strncmp (p, units[k].name, n) == 0 && n > best)
            {
              best = n;
              unit = units[k].ns;
            }
        }
      if (best == 0)
        {
          if (*p == '\0')
            return husk_error_make (err, 0, "missing unit in duration `%s` (e.g. 5s, 100ms, 1m)", s);
          return husk_error_make (err, 0, "unknown unit `%.*s` in duration `%s`", (int) strcspn (p, "0123456789."), p,
                                  s);
        }
      p += best;
      total += v * (long double) unit;
      if (total > (long double) INT64_MAX)
        return husk_error_make (err, 0, "invalid duration `%s`: too large", s);
    }
  *ns_out = (uint64_t) total;
  return 0;
}

/* Open a container that must be running (or paused) and load its cgroup;
 * the state dir is unlocked again before returning. */
static int
open_cgroup (husk_context_t *ctx, const char *id, husk_cgroup_t **cg, pid_t *pid, uint64_t *start_time,
             husk_error_t *err)
{
  husk_container_t c;
  int r = -1;
  *cg = NULL;
  if (husk_container_open (ctx, id, &c, err) < 0)
    goto out;
  if (husk_container_status (&c) == HUSK_STATUS_STOPPED)
    {
      husk_error_make (err, 0, "container not running");
      goto out;
    }
  if (c.state.cgroup == NULL)
    {
      husk_error_make (err, 0, "container `%s` has no cgroup", id);
      goto out;
    }
  if (husk_cgroup_load (c.state.cgroup, cg, err) < 0)
    goto out;
  *pid = c.state.pid;
  *start_time = c.state.start_time;
  r = 0;
out:
  husk_container_close (&c);
  return r;
}

int
husk_container_stats_json (husk_context_t *ctx, const char *id, char **json, husk_error_t *err)
{
  husk_autocgroup husk_cgroup_t *cg = NULL;
  pid_t pid;
  uint64_t start;
  if (open_cgroup (ctx, id, &cg, &pid, &start, err) < 0)
    return -1;
  if (husk_cgroup_stats_json (cg, json, err) < 0)
    return husk_error_wrap (err, "container `%s`: cannot read statistics", id);
  return 0;
}

/* {"type":TYPE,"id":ID[,"data":DATA]} */
static char *
event_line (const char *type, const char *id, const char *data)
{
  yajl_gen g = husk_json_gen_new (false, NULL);
  husk_autofree char *head = NULL;
  yajl_gen_map_open (g);
  husk_json_kv_str (g, "type", type);
  husk_json_kv_str (g, "id", id);
  yajl_gen_map_close (g);
  head = husk_json_gen_finish (g);
  if (data == NULL)
    return steal_ptr (&head);
  head[strlen (head) - 1] = '\0'; /* drop the closing brace, splice the data in */
  return xstrdup_printf ("%s,\"data\":%s}", head, data);
}

/* The cgroup's OOM-kill count; false when the host has no such counter. */
static bool
oom_kill_count (husk_cgroup_t *cg, uint64_t *out)
{
  husk_cg_hier_t *h = husk_cg_find (cg, "memory");
  const char *file = "memory.oom_control";
  husk_autofree char *text = NULL;
  husk_auto_error husk_error_t tmp = NULL;
  if (h == NULL)
    {
      h = husk_cg_find (cg, NULL);
      file = "memory.events";
    }
  if (h == NULL || husk_cg_read (h, file, &text, &tmp) < 0)
    return false;
  for (char *p = text; p && *p; p = strchr (p, '\n'), p = p ? p + 1 : NULL)
    if (strncmp (p, "oom_kill ", 9) == 0)
      {
        *out = strtoull (p + 9, NULL, 10);
        return true;
      }
  return false;
}

static uint64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

int
husk_container_events (husk_context_t *ctx, const char *id, uint64_t interval_ns, bool stats_only, husk_event_cb_t cb,
                       void *data, husk_error_t *err)
{
  husk_autocgroup husk_cgroup_t *cg = NULL;
  husk_autoclose int pidfd = -1;
  uint64_t start, oom = 0, interval_ms, next;
  bool have_oom;
  pid_t pid;

  if (!stats_only && interval_ns == 0)
    return husk_error_make (err, EINVAL, "duration interval must be greater than 0");
  if (open_cgroup (ctx, id, &cg, &pid, &start, err) < 0)
    return -1;
  if (stats_only)
    {
      husk_autofree char *stats = NULL, *line = NULL;
      if (husk_cgroup_stats_json (cg, &stats, err) < 0)
        return husk_error_wrap (err, "container `%s`: cannot read statistics", id);
      line = event_line ("stats", id, stats);
      return cb (line, data, err);
    }

  interval_ms = interval_ns / 1000000;
  if (interval_ms == 0)
    interval_ms = 1;
  have_oom = oom_kill_count (cg, &oom);
  pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  next = now_ms () + interval_ms;
  for (;;)
    {
      uint64_t now = now_ms (), count;
      uint64_t wait = next > now ? next - now : 0;
      bool alive;
      if (have_oom && wait > OOM_POLL_MS)
        wait = OOM_POLL_MS;
      if (pidfd >= 0)
        {
          struct pollfd p = { .fd = pidfd, .events = POLLIN };
          if (poll (&p, 1, (int) wait) < 0 && errno != EINTR)
            return husk_error_make (err, errno, "poll");
        }
      else
        {
          struct timespec ts = { (time_t) (wait / 1000), (long) (wait % 1000) * 1000000L };
          nanosleep (&ts, NULL);
        }
      alive = husk_pid_alive (pid, start);

      /* an OOM kill that stopped the container is still reported */
      if (have_oom && oom_kill_count (cg, &count) && count > oom)
        {
          husk_autofree char *line = event_line ("oom", id, NULL);
          oom = count;
          if (cb (line, data, err) < 0)
            return -1;
        }
      if (!alive)
        return 0;
      if (now_ms () >= next)
        {
          husk_autofree char *stats = NULL;
          husk_auto_error husk_error_t tmp = NULL;
          next += interval_ms;
          if (next < now_ms ())
            next = now_ms () + interval_ms; /* suspended or very slow: do not burst */
          /* the cgroup may vanish under us (delete): skip, the next round ends the stream */
          if (husk_cgroup_stats_json (cg, &stats, &tmp) == 0)
            {
              husk_autofree char *line = event_line ("stats", id, stats);
              if (cb (line, data, err) < 0)
                return -1;
            }
        }
    }
}
