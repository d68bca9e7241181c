/* husk: error convention.
 *
 * Every fallible function takes `husk_error_t *err` and returns < 0 on
 * failure, having filled *err with an errno value and an allocated message
 * that names the thing and the cause.  On success it returns >= 0 and leaves
 * *err untouched.  Only main() prints errors.  See docs/error-handling.md. */
#ifndef HUSK_ERROR_H
#define HUSK_ERROR_H

#include <stdarg.h>

struct husk_error_s
{
  int status; /* errno value, 0 when the error is not a syscall failure */
  char *msg;  /* full message, already including strerror(status) */
};
typedef struct husk_error_s *husk_error_t;

/* Make a new error: "<fmt>: <strerror(errno_value)>" (no suffix when
 * errno_value is 0).  Always returns -1 (or -errno_value when non-zero) so it
 * can be used as `return husk_error_make (err, errno, "...")`. */
int husk_error_make (husk_error_t *err, int errno_value, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prefix an existing error with context: "<fmt>: <old message>".  Returns -1. */
int husk_error_wrap (husk_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

void husk_error_release (husk_error_t *err);

/* Move the error out of src into dst (dst must be empty). */
void husk_error_move (husk_error_t *dst, husk_error_t *src);

#define husk_auto_error __attribute__ ((cleanup (husk_error_release)))

#endif
