/* husk: --log FILE and --log-format text|json.  Library code never prints;
 * main() hands the final error to husk_log_error(). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

static int log_fd = -1;
static husk_log_format_t log_format = HUSK_LOG_TEXT;
static bool log_debug;

int
husk_log_init (const char *path, husk_log_format_t format, bool debug, husk_error_t *err)
{
  log_format = format;
  log_debug = debug;
  if (path == NULL || *path == '\0')
    return 0;
  log_fd = open (path, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return husk_error_make (err, errno, "cannot open log file `%s`", path);
  return 0;
}

bool
husk_log_to_stderr (void)
{
  return log_fd < 0;
}

static void
write_line (const char *level, const char *msg)
{
  int fd = log_fd >= 0 ? log_fd : 2;
  if (log_format == HUSK_LOG_JSON)
    {
      husk_autofree char *t = NULL;
      struct timespec ts;
      struct tm tm;
      char buf[64];
      yajl_gen g = husk_json_gen_new (false, NULL);
      clock_gettime (CLOCK_REALTIME, &ts);
      gmtime_r (&ts.tv_sec, &tm);
      strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
      yajl_gen_map_open (g);
      husk_json_kv_str (g, "level", level);
      husk_json_kv_str (g, "msg", msg);
      husk_json_kv_str (g, "time", buf);
      yajl_gen_map_close (g);
      t = husk_json_gen_finish (g);
      dprintf (fd, "%s\n", t);
    }
  else if (log_fd >= 0)
    {
      char buf[64];
      time_t now = time (NULL);
      struct tm tm;
      gmtime_r (&now, &tm);
      strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
      dprintf (fd, "time=\"%s\" level=%s msg=\"%s\"\n", buf, level, msg);
    }
  else
    dprintf (fd, "%s%s\n", strcmp (level, "error") == 0 ? "" : "husk: ", msg);
}

void
husk_log_error (const char *msg)
{
  write_line ("error", msg);
}

void
husk_log_warning (const char *fmt, ...)
{
  husk_autofree char *m = NULL;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&m, fmt, ap) < 0)
    m = NULL;
  va_end (ap);
  if (m)
    write_line ("warning", m);
}

void
husk_log_debug (const char *fmt, ...)
{
  husk_autofree char *m = NULL;
  va_list ap;
  if (!log_debug)
    return;
  va_start (ap, fmt);
  if (vasprintf (&m, fmt, ap) < 0)
    m = NULL;
  va_end (ap);
  if (m)
    write_line ("debug", m);
}
