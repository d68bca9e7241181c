/* husk: the error convention (see docs/error-handling.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "husk/error.h"
#include "husk/utils.h"

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  return s;
}

int
husk_error_make (husk_error_t *err, int errno_value, const char *fmt, ...)
{
  va_list ap;
  husk_autofree char *msg = NULL;
  struct husk_error_s *e;

  va_start (ap, fmt);
  msg = vformat (fmt, ap);
  va_end (ap);

  e = xmalloc0 (sizeof *e);
  e->status = errno_value;
  if (errno_value)
    e->msg = xstrdup_printf ("%s: %s", msg, strerror (errno_value));
  else
    e->msg = steal_ptr (&msg);

  if (err)
    {
      husk_error_release (err);
      *err = e;
    }
  else
    {
      free (e->msg);
      free (e);
    }
  return errno_value > 0 ? -errno_value : -1;
}

int
husk_error_wrap (husk_error_t *err, const char *fmt, ...)
{
  va_list ap;
  husk_autofree char *ctx = NULL;
  char *old;

  if (err == NULL || *err == NULL)
    return -1;
  va_start (ap, fmt);
  ctx = vformat (fmt, ap);
  va_end (ap);
  old = (*err)->msg;
  (*err)->msg = xstrdup_printf ("%s: %s", ctx, old ? old : "");
  free (old);
  return (*err)->status > 0 ? -(*err)->status : -1;
}

void
husk_error_release (husk_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}

void
husk_error_move (husk_error_t *dst, husk_error_t *src)
{
  husk_error_release (dst);
  *dst = *src;
  *src = NULL;
}
