/* husk: small shared helpers (allocation, cleanup attributes, file I/O). */
#ifndef HUSK_UTILS_H
#define HUSK_UTILS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <dirent.h>
#include <sys/types.h>
#include "husk/error.h"

/* Allocation failure aborts: error paths stay about syscalls and input. */
void *xmalloc (size_t size);
void *xmalloc0 (size_t size);
void *xrealloc (void *p, size_t size);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
int xasprintf (char **out, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
char *xstrdup_printf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

void husk_freep (void *p);        /* void **  */
void husk_closep (int *fd);       /* int *    */
void husk_fclosep (FILE **f);
void husk_closedirp (DIR **d);
void husk_strvfreep (char ***v);  /* NULL-terminated string vectors */

#define husk_autofree __attribute__ ((cleanup (husk_freep)))
#define husk_autoclose __attribute__ ((cleanup (husk_closep)))
#define husk_autofclose __attribute__ ((cleanup (husk_fclosep)))
#define husk_autoclosedir __attribute__ ((cleanup (husk_closedirp)))
#define husk_autostrv __attribute__ ((cleanup (husk_strvfreep)))

static inline int
steal_fd (int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

static inline void *
steal_ptr (void *pp)
{
  void **p = (void **) pp;
  void *r = *p;
  *p = NULL;
  return r;
}

void husk_strv_free (char **v);
size_t husk_strv_len (char *const *v);
void husk_strv_add (char ***v, const char *s); /* append a copy of s */
void husk_strv_setkv (char ***v, const char *k, const char *val); /* set K=V, replacing K */

/* Read a whole file (or fd); *len gets the size (may be NULL).  NUL-terminated. */
int husk_read_file (const char *path, char **out, size_t *len, husk_error_t *err);
int husk_read_fd (int fd, const char *what, char **out, size_t *len, husk_error_t *err);
int husk_read_file_at (int dirfd, const char *path, char **out, size_t *len, husk_error_t *err);

/* Write data to path, O_CREAT|O_TRUNC (mode 0644 unless given). */
int husk_write_file (const char *path, const void *data, size_t len, husk_error_t *err);
int husk_write_file_at (int dirfd, const char *path, const void *data, size_t len, husk_error_t *err);
/* Write atomically: a temp file in the same directory, fsync-free, then rename. */
int husk_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, husk_error_t *err);

/* --pid-file: the pid as digits, no newline, written atomically; a relative
 * path is made absolute first (what callers such as containerd read). */
int husk_write_pid_file (const char *path, pid_t pid, husk_error_t *err);

/* write()/read() that loop over EINTR and short counts. */
ssize_t husk_write_all (int fd, const void *buf, size_t len);
ssize_t husk_read_all (int fd, void *buf, size_t len);

/* mkdir -p; existing directories are fine. */
int husk_mkdir_p (const char *path, mode_t mode, husk_error_t *err);
/* rm -rf (does not cross mount points). */
int husk_rm_rf (const char *path, husk_error_t *err);

/* Parse helpers: return -1 on junk or overflow. */
int husk_parse_u64 (const char *s, uint64_t *out);
int husk_parse_i64 (const char *s, int64_t *out);

/* Close every fd >= from. */
int husk_close_fds_from (int from, husk_error_t *err);
/* Mark every fd >= from close-on-exec. */
int husk_cloexec_fds_from (int from, husk_error_t *err);

/* Current time as RFC3339Nano UTC ("2026-08-19T10:00:00.123456789Z"). */
char *husk_now_rfc3339nano (void);

/* Process start time (field 22 of /proc/PID/stat); 0 if the process is gone. */
int husk_proc_start_time (pid_t pid, uint64_t *out, husk_error_t *err);

#endif
