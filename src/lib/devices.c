/* husk: device nodes in the container's /dev.
 *
 * The default devices (null, zero, full, random, urandom, tty) plus
 * linux.devices[] (a spec entry with the same path replaces the default).
 * Nodes are made with mknod; in a user namespace, or when mknod is refused,
 * the host's node is bind-mounted onto an empty file instead (runc does the
 * same).  Then the /dev symlinks (fd, stdin, stdout, stderr, core when
 * /proc/kcore exists) and /dev/ptmx -> pts/ptmx.  Nothing here runs when
 * the spec bind-mounts /dev from the host. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "husk/utils.h"
#include "rootfs.h"

static const husk_device_t default_devices[] = {
  { 'c', (char *) "/dev/null", 1, 3, true, 0666, true, true, 0, 0 },
  { 'c', (char *) "/dev/zero", 1, 5, true, 0666, true, true, 0, 0 },
  { 'c', (char *) "/dev/full", 1, 7, true, 0666, true, true, 0, 0 },
  { 'c', (char *) "/dev/random", 1, 8, true, 0666, true, true, 0, 0 },
  { 'c', (char *) "/dev/urandom", 1, 9, true, 0666, true, true, 0, 0 },
  { 'c', (char *) "/dev/tty", 5, 0, true, 0666, true, true, 0, 0 },
};

/* Split "/a/b/c" into a resolved parent fd (created if missing) and "c". */
static int
open_parent (int root_fd, const char *path, const char **base, husk_error_t *err)
{
  const char *slash = strrchr (path, '/');
  husk_autofree char *dir = NULL;

  if (slash == NULL || slash[1] == '\0')
    return husk_error_make (err, EINVAL, "invalid device path `%s`", path);
  *base = slash + 1;
  dir = slash == path ? xstrdup ("/") : xstrndup (path, (size_t) (slash - path));
  return husk_create_in_root (root_fd, dir, true, err);
}

static int
bind_device (int root_fd, const husk_device_t *d, husk_error_t *err)
{
  husk_autoclose int fd = husk_create_in_root (root_fd, d->path, false, err);
  char p[64];

  if (fd < 0)
    return husk_error_wrap (err, "cannot create device `%s`", d->path);
  /* The source is the host's node at the same path. */
  if (mount (d->path, husk_fd_path (p, sizeof p, fd), NULL, MS_BIND, NULL) < 0)
    return husk_error_make (err, errno, "cannot mount `%s` on `%s`", d->path, d->path);
  return 0;
}

static int
create_device (int root_fd, const husk_device_t *d, bool bind, husk_error_t *err)
{
  husk_autoclose int parent = -1;
  const char *base;
  mode_t type, perm = d->has_file_mode ? (d->file_mode & 07777) : 0666;
  struct stat st;

  switch (d->type)
    {
    case 'c':
    case 'u':
      type = S_IFCHR;
      break;
    case 'b':
      type = S_IFBLK;
      break;
    case 'p':
      type = S_IFIFO;
      break;
    default:
      return husk_error_make (err, EINVAL, "device `%s`: unknown type `%c`", d->path, d->type);
    }

  if (bind && type != S_IFIFO)
    return bind_device (root_fd, d, err);

  parent = open_parent (root_fd, d->path, &base, err);
  if (parent < 0)
    return husk_error_wrap (err, "cannot create device `%s`", d->path);
  /* Whatever the image has at that path goes (a file, a stale node). */
  if (fstatat (parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR (st.st_mode))
    unlinkat (parent, base, 0);
  if (mknodat (parent, base, type | perm, makedev (d->major, d->minor)) < 0)
    {
      if (errno == EPERM && type != S_IFIFO)
        return bind_device (root_fd, d, err);
      return husk_error_make (err, errno, "cannot create device `%s`", d->path);
    }
  if (fchmodat (parent, base, perm, 0) < 0)
    return husk_error_make (err, errno, "cannot chmod device `%s`", d->path);
  if (fchownat (parent, base, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0, AT_SYMLINK_NOFOLLOW) < 0)
    return husk_error_make (err, errno, "cannot chown device `%s`", d->path);
  return 0;
}

static int
dev_symlink (int root_fd, const char *target, const char *path, husk_error_t *err)
{
  husk_autoclose int parent = -1;
  const char *base;

  parent = open_parent (root_fd, path, &base, err);
  if (parent < 0)
    return -1;
  if (symlinkat (target, parent, base) < 0 && errno != EEXIST)
    return husk_error_make (err, errno, "cannot create symlink `%s` -> `%s`", path, target);
  return 0;
}

int
husk_devices_setup (const husk_rootfs_ctx_t *ctx, int root_fd, husk_error_t *err)
{
  const husk_linux_t *lx = ctx->spec->linux_;
  const husk_device_t *spec_devs = lx ? lx->devices : NULL;
  size_t n_spec = lx ? lx->devices_len : 0;
  bool bind = ctx->in_userns;
  mode_t old_umask;
  int r = 0;

  if (husk_mounts_binds_dev (ctx->spec))
    return 0;

  old_umask = umask (0);
  for (size_t i = 0; r == 0 && i < sizeof default_devices / sizeof default_devices[0]; i++)
    {
      bool overridden = false;
      for (size_t j = 0; j < n_spec; j++)
        if (strcmp (spec_devs[j].path, default_devices[i].path) == 0)
          overridden = true;
      if (!overridden)
        r = create_device (root_fd, &default_devices[i], bind, err);
    }
  for (size_t j = 0; r == 0 && j < n_spec; j++)
    r = create_device (root_fd, &spec_devs[j], bind, err);
  umask (old_umask);
  if (r < 0)
    return r;

  if (dev_symlink (root_fd, "/proc/self/fd", "/dev/fd", err) < 0
      || dev_symlink (root_fd, "/proc/self/fd/0", "/dev/stdin", err) < 0
      || dev_symlink (root_fd, "/proc/self/fd/1", "/dev/stdout", err) < 0
      || dev_symlink (root_fd, "/proc/self/fd/2", "/dev/stderr", err) < 0)
    return -1;
  if (access ("/proc/kcore", F_OK) == 0 && dev_symlink (root_fd, "/proc/kcore", "/dev/core", err) < 0)
    return -1;

  /* /dev/ptmx -> pts/ptmx (replacing whatever is there). */
  {
    husk_autoclose int dev = husk_create_in_root (root_fd, "/dev", true, err);
    if (dev < 0)
      return -1;
    if (unlinkat (dev, "ptmx", 0) < 0 && errno != ENOENT)
      return husk_error_make (err, errno, "cannot remove `/dev/ptmx`");
    if (symlinkat ("pts/ptmx", dev, "ptmx") < 0)
      return husk_error_make (err, errno, "cannot create symlink `/dev/ptmx` -> `pts/ptmx`");
  }
  return 0;
}
