/* husk-build: transfer progress — bars on a TTY, plain lines on a pipe. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "registry.h"

typedef struct
{
  char *label; /* "Copying blob 0123456789ab" */
  int64_t total, done;
  char *status; /* NULL while running */
} item_t;

struct hb_progress
{
  FILE *out;
  bool tty;
  item_t *items;
  size_t n;
  size_t drawn; /* lines of the bar block on screen */
  double last_draw;
};

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
human (char *buf, size_t n, int64_t v)
{
  if (v >= 1000 * 1000 * 1000)
    snprintf (buf, n, "%.2f GB", v / 1e9);
  else if (v >= 1000 * 1000)
    snprintf (buf, n, "%.1f MB", v / 1e6);
  else if (v >= 1000)
    snprintf (buf, n, "%.1f kB", v / 1e3);
  else
    snprintf (buf, n, "%lld B", (long long) v);
}

hb_progress_t *
hb_progress_new (FILE *out, bool quiet)
{
  hb_progress_t *p;
  if (quiet)
    return NULL;
  p = xmalloc0 (sizeof *p);
  p->out = out;
  p->tty = isatty (fileno (out)) && getenv ("TERM") && strcmp (getenv ("TERM"), "dumb") != 0;
  return p;
}

void
hb_progress_free (hb_progress_t *p)
{
  size_t i;
  if (p == NULL)
    return;
  for (i = 0; i < p->n; i++)
    {
      free (p->items[i].label);
      free (p->items[i].status);
    }
  free (p->items);
  free (p);
}

static void
draw_item (hb_progress_t *p, item_t *it)
{
  char d[32], t[32];
  human (d, sizeof d, it->done);
  human (t, sizeof t, it->total);
  if (it->status)
    fprintf (p->out, "\r\033[K%s %s\n", it->label, it->status);
  else if (it->total > 0)
    {
      const int width = 30;
      int fill = (int) ((double) it->done / it->total * width);
      if (fill > width)
        fill = width;
      fprintf (p->out, "\r\033[K%s [%.*s%s%*s] %s / %s\n", it->label, fill,
               "==============================", fill < width ? ">" : "", fill < width ? width - fill - 1 : 0, "", d,
               t);
    }
  else
    fprintf (p->out, "\r\033[K%s %s\n", it->label, d);
}

static void
redraw (hb_progress_t *p, bool force)
{
  size_t i;
  double now = now_s ();
  if (!force && now - p->last_draw < 0.1)
    return;
  p->last_draw = now;
  if (p->drawn)
    fprintf (p->out, "\033[%zuA", p->drawn);
  for (i = 0; i < p->n; i++)
    draw_item (p, &p->items[i]);
  p->drawn = p->n;
  fflush (p->out);
}

int
hb_progress_add (hb_progress_t *p, const char *verb, const char *digest, int64_t total)
{
  item_t *it;
  if (p == NULL)
    return -1;
  p->items = xrealloc (p->items, sizeof *p->items * (p->n + 1));
  it = &p->items[p->n];
  memset (it, 0, sizeof *it);
  it->label = xstrdup_printf ("%s %.12s", verb, digest && strncmp (digest, "sha256:", 7) == 0 ? digest + 7 : digest);
  it->total = total;
  p->n++;
  if (p->tty)
    redraw (p, true);
  else
    {
      char t[32] = "";
      if (total >= 0)
        human (t, sizeof t, total);
      fprintf (p->out, "%s%s%s%s\n", it->label, total >= 0 ? " (" : "", t, total >= 0 ? ")" : "");
      fflush (p->out);
    }
  return (int) p->n - 1;
}

void
hb_progress_update (hb_progress_t *p, int item, int64_t done)
{
  if (p == NULL || item < 0 || (size_t) item >= p->n)
    return;
  p->items[item].done = done;
  if (p->tty)
    redraw (p, false);
}

void
hb_progress_finish (hb_progress_t *p, int item, const char *status)
{
  item_t *it;
  if (p == NULL || item < 0 || (size_t) item >= p->n)
    return;
  it = &p->items[item];
  free (it->status);
  it->status = xstrdup (status);
  if (p->tty)
    redraw (p, true);
  else
    {
      fprintf (p->out, "%s %s\n", it->label, status);
      fflush (p->out);
    }
}

void
hb_progress_line (hb_progress_t *p, const char *fmt, ...)
{
  va_list ap;
  size_t i;
  if (p == NULL)
    return;
  if (p->tty && p->drawn)
    {
      /* Messages go below a finished bar block; start a new block. */
      for (i = 0; i < p->n; i++)
        {
          free (p->items[i].label);
          free (p->items[i].status);
        }
      p->n = 0;
      p->drawn = 0;
    }
  va_start (ap, fmt);
  vfprintf (p->out, fmt, ap);
  va_end (ap);
  fputc ('\n', p->out);
  fflush (p->out);
}
