/* husk: resolve paths inside the container rootfs without leaving it.
 *
 * husk_open_in_root() uses openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
 * when the kernel has it.  Otherwise (ENOSYS, or a seccomp filter saying
 * EPERM) it walks the path one component at a time, keeping an fd for every
 * directory on the way down: ".." pops to the previous fd (never above the
 * root), symlinks are read with readlinkat() and their target is spliced into
 * the rest of the path, absolute targets restart from the root.  No string is
 * ever resolved by the kernel from "/" or through "..", so neither a symlink
 * nor a concurrent rename can take the walk out of the root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "husk/utils.h"
#include "rootfs.h"

#define MAX_SYMLINKS 40

static int openat2_unsupported;

static int
open_in_root_openat2 (int root_fd, const char *path, int flags, mode_t mode)
{
  struct open_how how = { 0 };
  int fd;

  how.flags = (uint64_t) (flags | O_CLOEXEC);
  if (flags & (O_CREAT | __O_TMPFILE))
    how.mode = mode;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  do
    fd = (int) syscall (SYS_openat2, root_fd, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

/* A stack of directory fds from the root down to the current directory. */
typedef struct
{
  int *fds;
  size_t len, cap;
} dirstack_t;

static void
dirstack_push (dirstack_t *s, int fd)
{
  if (s->len == s->cap)
    {
      s->cap = s->cap ? s->cap * 2 : 16;
      s->fds = xrealloc (s->fds, s->cap * sizeof (int));
    }
  s->fds[s->len++] = fd;
}

static void
dirstack_pop (dirstack_t *s)
{
  /* Index 0 is the caller's root_fd: never closed, never popped. */
  if (s->len > 1)
    close (s->fds[--s->len]);
}

static void
dirstack_reset (dirstack_t *s)
{
  while (s->len > 1)
    dirstack_pop (s);
}

static void
dirstack_free (dirstack_t *s)
{
  dirstack_reset (s);
  free (s->fds);
  s->fds = NULL;
}

static inline int
dirstack_top (dirstack_t *s)
{
  return s->fds[s->len - 1];
}

/* Pop the next component off *rest (in place); NULL when none is left.
 * Sets *last when nothing but slashes follows. */
static char *
next_component (char **rest, bool *last)
{
  char *p = *rest, *c;
  while (*p == '/')
    p++;
  if (*p == '\0')
    {
      *rest = p;
      return NULL;
    }
  c = p;
  while (*p && *p != '/')
    p++;
  if (*p)
    *p++ = '\0';
  while (*p == '/')
    p++;
  *rest = p;
  *last = (*p == '\0');
  return c;
}

static int
open_in_root_walk (int root_fd, const char *path, int flags, mode_t mode)
{
  dirstack_t st = { 0 };
  husk_autofree char *buf = xstrdup (path);
  char *rest = buf;
  int symlinks = 0;
  int ret = -1, saved;

  dirstack_push (&st, root_fd);

  for (;;)
    {
      bool last = false;
      char *name = next_component (&rest, &last);
      struct stat sb;
      int fd;

      if (name == NULL)
        {
          /* The path named a directory we already hold (e.g. "/" or "a/.."). */
          if (flags & O_CREAT && flags & O_EXCL)
            {
              errno = EEXIST;
              break;
            }
          ret = openat (dirstack_top (&st), ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
          break;
        }
      if (strcmp (name, ".") == 0)
        continue;
      if (strcmp (name, "..") == 0)
        {
          dirstack_pop (&st);
          continue;
        }

      if (last)
        {
          /* Final component: symlinks are followed unless O_NOFOLLOW. */
          if (!(flags & O_NOFOLLOW) && fstatat (dirstack_top (&st), name, &sb, AT_SYMLINK_NOFOLLOW) == 0
              && S_ISLNK (sb.st_mode))
            goto symlink;
          ret = openat (dirstack_top (&st), name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
          break;
        }

      fd = openat (dirstack_top (&st), name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        break;
      if (fstat (fd, &sb) < 0)
        {
          saved = errno;
          close (fd);
          errno = saved;
          break;
        }
      if (S_ISDIR (sb.st_mode))
        {
          dirstack_push (&st, fd);
          continue;
        }
      close (fd);
      if (!S_ISLNK (sb.st_mode))
        {
          errno = ENOTDIR;
          break;
        }

    symlink:
      {
        char target[PATH_MAX];
        ssize_t n;
        char *joined;

        if (++symlinks > MAX_SYMLINKS)
          {
            errno = ELOOP;
            break;
          }
        n = readlinkat (dirstack_top (&st), name, target, sizeof target - 1);
        if (n < 0)
          break;
        target[n] = '\0';
        if (target[0] == '/')
          dirstack_reset (&st);
        joined = xstrdup_printf ("%s/%s", target, rest);
        free (buf);
        buf = joined;
        rest = buf;
      }
    }

  saved = errno;
  dirstack_free (&st);
  errno = saved;
  return ret;
}

int
husk_open_in_root (int root_fd, const char *path, int flags, mode_t mode, husk_error_t *err)
{
  int fd;

  if (!openat2_unsupported)
    {
      fd = open_in_root_openat2 (root_fd, path, flags, mode);
      if (fd >= 0)
        return fd;
      if (errno != ENOSYS && errno != EPERM && errno != E2BIG)
        return husk_error_make (err, errno, "cannot open `%s` inside the rootfs", path);
      if (errno == ENOSYS)
        openat2_unsupported = 1;
    }
  fd = open_in_root_walk (root_fd, path, flags, mode);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot open `%s` inside the rootfs", path);
  return fd;
}

/* For tests: force the component walk. */
void
husk_paths_force_walk (bool force)
{
  openat2_unsupported = force;
}

int
husk_create_in_root (int root_fd, const char *path, bool is_dir, husk_error_t *err)
{
  husk_autofree char *buf = xstrdup (path);
  husk_autoclose int parent = -1;
  char *rest = buf;
  size_t prefix_end = 0;
  const char *name;
  bool last = false;
  int fd;

  parent = fcntl (root_fd, F_DUPFD_CLOEXEC, 3);
  if (parent < 0)
    return husk_error_make (err, errno, "cannot dup the rootfs fd");

  /* A path that is the root itself. */
  if (strspn (path, "/") == strlen (path))
    return steal_fd (&parent);

  while ((name = next_component (&rest, &last)))
    {
      husk_autofree char *prefix = NULL;

      prefix_end = (size_t) (rest - buf);
      /* path[0..prefix_end) covers every component up to and including name. */
      prefix = xstrndup (path, prefix_end);

      if (!last || is_dir)
        {
          if (mkdirat (parent, name, 0755) < 0 && errno != EEXIST)
            {
              /* The parent may be a symlink resolved inside the root: retry
                 through a full resolution below. */
              if (errno != ENOENT && errno != ENOTDIR)
                return husk_error_make (err, errno, "cannot create directory `%s` inside the rootfs", prefix);
            }
          fd = husk_open_in_root (root_fd, prefix, O_PATH | O_DIRECTORY, 0, err);
          if (fd < 0)
            return -1;
          close (parent);
          parent = fd;
          continue;
        }

      /* Last component, a file. */
      fd = openat (parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd >= 0)
        close (fd);
      else if (errno != EEXIST)
        return husk_error_make (err, errno, "cannot create file `%s` inside the rootfs", path);
      return husk_open_in_root (root_fd, path, O_PATH, 0, err);
    }
  return steal_fd (&parent);
}
