/* husk: allocation, cleanup helpers, file I/O and parsing. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "husk/utils.h"

void *
xmalloc (size_t size)
{
  void *p = malloc (size ? size : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
xmalloc0 (size_t size)
{
  void *p = calloc (1, size ? size : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
xrealloc (void *p, size_t size)
{
  p = realloc (p, size ? size : 1);
  if (p == NULL)
    abort ();
  return p;
}

char *
xstrdup (const char *s)
{
  char *r;
  if (s == NULL)
    return NULL;
  r = strdup (s);
  if (r == NULL)
    abort ();
  return r;
}

char *
xstrndup (const char *s, size_t n)
{
  char *r = strndup (s, n);
  if (r == NULL)
    abort ();
  return r;
}

int
xasprintf (char **out, const char *fmt, ...)
{
  va_list ap;
  int r;
  va_start (ap, fmt);
  r = vasprintf (out, fmt, ap);
  va_end (ap);
  if (r < 0)
    abort ();
  return r;
}

char *
xstrdup_printf (const char *fmt, ...)
{
  va_list ap;
  char *s;
  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return s;
}

void
husk_freep (void *p)
{
  void **pp = (void **) p;
  free (*pp);
  *pp = NULL;
}

void
husk_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
  *fd = -1;
}

void
husk_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
  *f = NULL;
}

void
husk_closedirp (DIR **d)
{
  if (*d)
    closedir (*d);
  *d = NULL;
}

void
husk_strv_free (char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

void
husk_strvfreep (char ***v)
{
  husk_strv_free (*v);
  *v = NULL;
}

size_t
husk_strv_len (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

void
husk_strv_add (char ***v, const char *s)
{
  size_t n = husk_strv_len (*v);
  *v = xrealloc (*v, (n + 2) * sizeof **v);
  (*v)[n] = xstrdup (s);
  (*v)[n + 1] = NULL;
}

void
husk_strv_setkv (char ***v, const char *k, const char *val)
{
  size_t kl = strlen (k);
  husk_autofree char *kv = xstrdup_printf ("%s=%s", k, val);
  for (size_t i = 0; *v && (*v)[i]; i++)
    if (strncmp ((*v)[i], k, kl) == 0 && (*v)[i][kl] == '=')
      {
        free ((*v)[i]);
        (*v)[i] = steal_ptr (&kv);
        return;
      }
  husk_strv_add (v, kv);
}

ssize_t
husk_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  size_t done = 0;
  while (done < len)
    {
      ssize_t w = write (fd, p + done, len - done);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      done += (size_t) w;
    }
  return (ssize_t) done;
}

ssize_t
husk_read_all (int fd, void *buf, size_t len)
{
  char *p = buf;
  size_t done = 0;
  while (done < len)
    {
      ssize_t r = read (fd, p + done, len - done);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (r == 0)
        break;
      done += (size_t) r;
    }
  return (ssize_t) done;
}

int
husk_read_fd (int fd, const char *what, char **out, size_t *len, husk_error_t *err)
{
  size_t cap = 4096, n = 0;
  husk_autofree char *buf = xmalloc (cap + 1);
  for (;;)
    {
      ssize_t r;
      if (n == cap)
        {
          cap *= 2;
          buf = xrealloc (buf, cap + 1);
        }
      r = read (fd, buf + n, cap - n);
      if (r < 0)
        {
          if (errno == EINTR)
            continue;
          return husk_error_make (err, errno, "cannot read `%s`", what);
        }
      if (r == 0)
        break;
      n += (size_t) r;
    }
  buf[n] = '\0';
  if (len)
    *len = n;
  *out = steal_ptr (&buf);
  return 0;
}

int
husk_read_file_at (int dirfd, const char *path, char **out, size_t *len, husk_error_t *err)
{
  husk_autoclose int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot open `%s`", path);
  return husk_read_fd (fd, path, out, len, err);
}

int
husk_read_file (const char *path, char **out, size_t *len, husk_error_t *err)
{
  return husk_read_file_at (AT_FDCWD, path, out, len, err);
}

int
husk_write_file_at (int dirfd, const char *path, const void *data, size_t len, husk_error_t *err)
{
  husk_autoclose int fd = openat (dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot open `%s`", path);
  if (husk_write_all (fd, data, len) < 0)
    return husk_error_make (err, errno, "cannot write `%s`", path);
  return 0;
}

int
husk_write_file (const char *path, const void *data, size_t len, husk_error_t *err)
{
  return husk_write_file_at (AT_FDCWD, path, data, len, err);
}

int
husk_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, husk_error_t *err)
{
  husk_autofree char *tmp = NULL;
  const char *slash = strrchr (path, '/');
  husk_autoclose int fd = -1;

  if (slash)
    xasprintf (&tmp, "%.*s/.%s.tmp%d", (int) (slash - path), path, slash + 1, (int) getpid ());
  else
    xasprintf (&tmp, ".%s.tmp%d", path, (int) getpid ());
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot create `%s`", tmp);
  if (husk_write_all (fd, data, len) < 0)
    {
      int e = errno;
      unlink (tmp);
      return husk_error_make (err, e, "cannot write `%s`", tmp);
    }
  if (rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return husk_error_make (err, e, "cannot rename `%s` to `%s`", tmp, path);
    }
  return 0;
}

int
husk_write_pid_file (const char *path, pid_t pid, husk_error_t *err)
{
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%d", (int) pid);
  husk_autofree char *abs = NULL;
  if (path[0] != '/')
    {
      husk_autofree char *cwd = getcwd (NULL, 0);
      if (cwd == NULL)
        return husk_error_make (err, errno, "pid file `%s`: cannot get the current directory", path);
      abs = xstrdup_printf ("%s/%s", cwd, path);
      path = abs;
    }
  return husk_write_file_atomic (path, buf, (size_t) n, 0644, err);
}

int
husk_mkdir_p (const char *path, mode_t mode, husk_error_t *err)
{
  husk_autofree char *p = xstrdup (path);
  for (char *s = p + 1; *s; s++)
    {
      if (*s != '/')
        continue;
      *s = '\0';
      if (mkdir (p, mode) < 0 && errno != EEXIST)
        return husk_error_make (err, errno, "cannot create directory `%s`", p);
      *s = '/';
    }
  if (mkdir (p, mode) < 0 && errno != EEXIST)
    return husk_error_make (err, errno, "cannot create directory `%s`", p);
  return 0;
}

static int
rm_rf_at (int dfd, const char *name, dev_t dev, husk_error_t *err)
{
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT)
        return 0;
      return husk_error_make (err, errno, "cannot stat `%s`", name);
    }
  if (S_ISDIR (st.st_mode))
    {
      husk_autoclosedir DIR *d = NULL;
      struct dirent *de;
      int fd;
      if (st.st_dev != dev)
        return husk_error_make (err, EXDEV, "cannot remove `%s`", name);
      fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return husk_error_make (err, errno, "cannot open `%s`", name);
      d = fdopendir (fd);
      if (d == NULL)
        {
          close (fd);
          return husk_error_make (err, errno, "cannot open `%s`", name);
        }
      while ((de = readdir (d)))
        {
          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          if (rm_rf_at (dirfd (d), de->d_name, dev, err) < 0)
            return -1;
        }
      if (unlinkat (dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return husk_error_make (err, errno, "cannot remove `%s`", name);
      return 0;
    }
  if (unlinkat (dfd, name, 0) < 0 && errno != ENOENT)
    return husk_error_make (err, errno, "cannot remove `%s`", name);
  return 0;
}

int
husk_rm_rf (const char *path, husk_error_t *err)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    return errno == ENOENT ? 0 : husk_error_make (err, errno, "cannot stat `%s`", path);
  return rm_rf_at (AT_FDCWD, path, st.st_dev, err);
}

int
husk_parse_u64 (const char *s, uint64_t *out)
{
  char *end;
  unsigned long long v;
  if (s == NULL || *s == '\0' || !isdigit ((unsigned char) *s))
    return -1;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno || *end)
    return -1;
  *out = v;
  return 0;
}

int
husk_parse_i64 (const char *s, int64_t *out)
{
  char *end;
  long long v;
  if (s == NULL || *s == '\0')
    return -1;
  errno = 0;
  v = strtoll (s, &end, 10);
  if (errno || *end || end == s)
    return -1;
  *out = v;
  return 0;
}

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static int
fds_walk (int from, bool cloexec, husk_error_t *err)
{
  husk_autoclosedir DIR *d = opendir ("/proc/self/fd");
  struct dirent *de;
  if (d == NULL)
    return husk_error_make (err, errno, "cannot open `/proc/self/fd`");
  while ((de = readdir (d)))
    {
      int fd;
      if (de->d_name[0] == '.')
        continue;
      fd = atoi (de->d_name);
      if (fd < from || fd == dirfd (d))
        continue;
      if (cloexec)
        fcntl (fd, F_SETFD, FD_CLOEXEC);
      else
        close (fd);
    }
  return 0;
}

int
husk_close_fds_from (int from, husk_error_t *err)
{
  if (syscall (SYS_close_range, (unsigned) from, ~0U, 0) == 0)
    return 0;
  return fds_walk (from, false, err);
}

int
husk_cloexec_fds_from (int from, husk_error_t *err)
{
  if (syscall (SYS_close_range, (unsigned) from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return 0;
  return fds_walk (from, true, err);
}

char *
husk_now_rfc3339nano (void)
{
  struct timespec ts;
  struct tm tm;
  char buf[64];
  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return xstrdup_printf ("%s.%09ldZ", buf, ts.tv_nsec);
}

int
husk_proc_start_time (pid_t pid, uint64_t *out, husk_error_t *err)
{
  char path[64];
  husk_autofree char *buf = NULL;
  husk_auto_error husk_error_t tmp = NULL;
  char *p;
  int field;

  *out = 0;
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  if (husk_read_file (path, &buf, NULL, &tmp) < 0)
    {
      if (tmp->status == ENOENT || tmp->status == ESRCH)
        return 0;
      husk_error_move (err, &tmp);
      return -1;
    }
  p = strrchr (buf, ')');
  if (p == NULL)
    return husk_error_make (err, 0, "cannot parse `%s`", path);
  /* p is at ")", the end of field 2; start time is field 22 */
  for (field = 2; field < 22 && p; field++)
    p = strchr (p + 1, ' ');
  if (p == NULL)
    return husk_error_make (err, 0, "cannot parse `%s`", path);
  *out = strtoull (p + 1, NULL, 10);
  return 0;
}
