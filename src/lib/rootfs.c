/* husk: prepare, pivot into and finalize the container's root filesystem.
 *
 * The order follows runc (libcontainer/rootfs_linux.go, standard_init):
 *   prepare   "/" made rslave (or linux.rootfsPropagation), the parent mount
 *             of the rootfs made private if it is shared (pivot_root refuses
 *             a shared parent), the rootfs bind-mounted onto itself, the spec
 *             mounts in order, then the devices and /dev links.
 *   pivot     pivot_root(".", "."), the old root made rslave and detached.
 *   finalize  rootfsPropagation on "/" (unless private: already so),
 *             readonlyPaths, maskedPaths, ro tmpfs remounts, root.readonly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "husk/utils.h"
#include "rootfs.h"

static int
propagation_flags (const char *name, unsigned long *out, husk_error_t *err)
{
  static const struct
  {
    const char *name;
    unsigned long flags;
  } tab[] = {
    { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
    { "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
    { "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
    { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
  };
  *out = 0;
  if (name == NULL || *name == '\0')
    return 0;
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (strcmp (tab[i].name, name) == 0)
      {
        *out = tab[i].flags;
        return 0;
      }
  return husk_error_make (err, EINVAL, "linux.rootfsPropagation: unknown value `%s`", name);
}

static const char *
root_propagation_name (const husk_rootfs_ctx_t *ctx)
{
  return ctx->spec->linux_ ? ctx->spec->linux_->rootfs_propagation : NULL;
}

/* Unescape the octal escapes of a mountinfo field in place. */
static void
unescape_mountinfo (char *s)
{
  char *w = s;
  for (char *r = s; *r;)
    {
      if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0'
          && r[3] <= '7')
        {
          *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
          r += 4;
        }
      else
        *w++ = *r++;
    }
  *w = '\0';
}

/* pivot_root(2) fails when the new root's parent mount is shared: find the
 * mount that holds the rootfs and make it private if it is shared. */
static int
make_parent_mount_private (const char *rootfs, husk_error_t *err)
{
  husk_autofree char *info = NULL, *best = NULL;
  bool best_shared = false;
  size_t best_len = 0;
  char *save = NULL;

  if (husk_read_file ("/proc/self/mountinfo", &info, NULL, err) < 0)
    return -1;
  for (char *line = strtok_r (info, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[7] = { 0 }, *s2 = NULL, *t;
      int i = 0;
      bool shared = false;
      size_t l;

      for (t = strtok_r (line, " ", &s2); t && strcmp (t, "-") != 0; t = strtok_r (NULL, " ", &s2))
        {
          if (i < 7)
            f[i] = t;
          if (i >= 6 && strncmp (t, "shared:", 7) == 0)
            shared = true;
          i++;
        }
      if (i < 6)
        continue;
      unescape_mountinfo (f[4]);
      l = strlen (f[4]);
      if (strcmp (f[4], "/") == 0)
        l = 0;
      else if (strncmp (rootfs, f[4], l) != 0 || (rootfs[l] != '/' && rootfs[l] != '\0'))
        continue;
      /* Later lines stack on top of earlier ones at the same point. */
      if (best == NULL || l >= best_len)
        {
          free (best);
          best = xstrdup (l == 0 ? "/" : f[4]);
          best_len = l;
          best_shared = shared;
        }
    }
  if (best && best_shared && mount (NULL, best, NULL, MS_PRIVATE, NULL) < 0)
    return husk_error_make (err, errno, "cannot make `%s` private", best);
  return 0;
}

int
husk_rootfs_prepare (const husk_rootfs_ctx_t *ctx, husk_error_t *err)
{
  husk_autoclose int root_fd = -1;
  unsigned long prop = 0;

  if (ctx->host_mountns)
    goto mounts;
  if (propagation_flags (root_propagation_name (ctx), &prop, err) < 0)
    return -1;
  /* runc's default is rslave: host mounts still propagate in, nothing the
     container mounts propagates out. */
  if (prop == 0)
    prop = MS_SLAVE | MS_REC;
  /* An unbindable root cannot be bind-mounted onto itself: stay private
   * until finalize applies the requested propagation to the new "/". */
  if (prop & MS_UNBINDABLE)
    prop = MS_PRIVATE | MS_REC;
  if (mount (NULL, "/", NULL, prop, NULL) < 0)
    return husk_error_make (err, errno, "cannot change the propagation of `/`");
  if (make_parent_mount_private (ctx->rootfs, err) < 0)
    return -1;
  if (mount (ctx->rootfs, ctx->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return husk_error_make (err, errno, "cannot bind-mount the rootfs `%s`", ctx->rootfs);

mounts:
  root_fd = open (ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    return husk_error_make (err, errno, "cannot open the rootfs `%s`", ctx->rootfs);

  if (husk_mounts_apply (ctx, root_fd, err) < 0)
    return -1;
  if (husk_devices_setup (ctx, root_fd, err) < 0)
    return -1;
  return 0;
}

int
husk_rootfs_pivot (const husk_rootfs_ctx_t *ctx, husk_error_t *err)
{
  husk_autoclose int oldroot = -1, newroot = -1;

  newroot = open (ctx->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (newroot < 0)
    return husk_error_make (err, errno, "cannot open the rootfs `%s`", ctx->rootfs);

  if (ctx->no_pivot)
    {
      if (fchdir (newroot) < 0)
        return husk_error_make (err, errno, "cannot chdir to the rootfs `%s`", ctx->rootfs);
      if (mount (".", "/", NULL, MS_MOVE, NULL) < 0)
        return husk_error_make (err, errno, "cannot move the rootfs `%s` to `/`", ctx->rootfs);
      if (chroot (".") < 0)
        return husk_error_make (err, errno, "cannot chroot to the rootfs `%s`", ctx->rootfs);
    }
  else
    {
      oldroot = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (oldroot < 0)
        return husk_error_make (err, errno, "cannot open `/`");
      if (fchdir (newroot) < 0)
        return husk_error_make (err, errno, "cannot chdir to the rootfs `%s`", ctx->rootfs);
      /* pivot_root(".", "."): the old root ends up stacked on the new one,
         no put_old directory needed inside the image. */
      if (syscall (SYS_pivot_root, ".", ".") < 0)
        return husk_error_make (err, errno, "pivot_root to `%s`", ctx->rootfs);
      if (fchdir (oldroot) < 0)
        return husk_error_make (err, errno, "cannot chdir to the old root");
      /* Make it rslave first so the detach does not propagate to the host. */
      if (mount (NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
        return husk_error_make (err, errno, "cannot make the old root rslave");
      if (umount2 (".", MNT_DETACH) < 0)
        return husk_error_make (err, errno, "cannot unmount the old root");
    }
  if (chdir ("/") < 0)
    return husk_error_make (err, errno, "cannot chdir to `/`");
  return 0;
}

/* Bind a path onto itself and make it read-only (runc's readonlyPath). */
static int
readonly_path (int root_fd, const char *path, husk_error_t *err)
{
  husk_auto_error husk_error_t tmp = NULL;
  husk_autoclose int fd = husk_open_in_root (root_fd, path, O_PATH, 0, &tmp);
  husk_autoclose int newfd = -1;
  char p[64];

  if (fd < 0)
    {
      if (tmp->status == ENOENT)
        return 0;
      husk_error_move (err, &tmp);
      return -1;
    }
  husk_fd_path (p, sizeof p, fd);
  if (mount (p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
    return husk_error_make (err, errno, "cannot mount `%s` on `%s`", path, path);
  newfd = husk_open_in_root (root_fd, path, O_PATH, 0, err);
  if (newfd < 0)
    return -1;
  /* Keep nosuid/nodev/noexec of the mount it came from. */
  {
    struct statvfs sv;
    unsigned long flags = MS_RDONLY;
    if (fstatvfs (newfd, &sv) == 0)
      {
        if (sv.f_flag & ST_NOSUID)
          flags |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
          flags |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
          flags |= MS_NOEXEC;
      }
    if (husk_remount_bind (newfd, path, flags, err) < 0)
      return -1;
  }
  return 0;
}

/* Hide a path: /dev/null over a file, a read-only empty tmpfs over a dir. */
static int
mask_path (int root_fd, const char *path, husk_error_t *err)
{
  husk_auto_error husk_error_t tmp = NULL;
  husk_autoclose int fd = husk_open_in_root (root_fd, path, O_PATH, 0, &tmp);
  struct stat st;
  char p[64];

  if (fd < 0)
    {
      if (tmp->status == ENOENT)
        return 0;
      husk_error_move (err, &tmp);
      return -1;
    }
  if (fstat (fd, &st) < 0)
    return husk_error_make (err, errno, "cannot stat `%s`", path);
  husk_fd_path (p, sizeof p, fd);
  if (S_ISDIR (st.st_mode))
    {
      if (mount ("tmpfs", p, "tmpfs", MS_RDONLY, NULL) < 0)
        return husk_error_make (err, errno, "cannot mount `tmpfs` on `%s`", path);
    }
  else if (mount ("/dev/null", p, NULL, MS_BIND, NULL) < 0)
    return husk_error_make (err, errno, "cannot mount `/dev/null` on `%s`", path);
  return 0;
}

int
husk_rootfs_finalize (const husk_rootfs_ctx_t *ctx, husk_error_t *err)
{
  const husk_linux_t *lx = ctx->spec->linux_;
  husk_autoclose int root_fd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  unsigned long prop = 0;

  if (root_fd < 0)
    return husk_error_make (err, errno, "cannot open `/`");
  if (ctx->host_mountns)
    prop = 0;
  else if (propagation_flags (root_propagation_name (ctx), &prop, err) < 0)
    return -1;
  /* Applied after pivot so it affects the container's "/" only; private
     needs nothing (the rootfs was bound under an rslave/rprivate root). */
  if (prop && !(prop & MS_PRIVATE) && mount (NULL, "/", NULL, prop, NULL) < 0)
    return husk_error_make (err, errno, "cannot set the propagation of `/` to `%s`",
                            root_propagation_name (ctx));

  if (access ("/proc/self/fd", F_OK) < 0
      && ((lx && (lx->readonly_paths_len || lx->masked_paths_len)) || ctx->spec->root_readonly))
    return husk_error_make (err, errno, "cannot finalize the rootfs: `/proc` is not mounted");

  for (size_t i = 0; lx && i < lx->readonly_paths_len; i++)
    if (readonly_path (root_fd, lx->readonly_paths[i], err) < 0)
      return husk_error_wrap (err, "linux.readonlyPaths");
  for (size_t i = 0; lx && i < lx->masked_paths_len; i++)
    if (mask_path (root_fd, lx->masked_paths[i], err) < 0)
      return husk_error_wrap (err, "linux.maskedPaths");

  if (husk_mounts_finalize (ctx, root_fd, err) < 0)
    return -1;

  if (ctx->spec->root_readonly)
    {
      unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
      struct statvfs sv;
      if (mount (NULL, "/", NULL, flags, NULL) < 0)
        {
          /* Keep the flags the kernel locks in a user namespace. */
          if (errno != EPERM || statvfs ("/", &sv) < 0)
            return husk_error_make (err, errno, "cannot remount `/` read-only");
          if (sv.f_flag & ST_NOSUID)
            flags |= MS_NOSUID;
          if (sv.f_flag & ST_NODEV)
            flags |= MS_NODEV;
          if (sv.f_flag & ST_NOEXEC)
            flags |= MS_NOEXEC;
          if (sv.f_flag & ST_NOATIME)
            flags |= MS_NOATIME;
          if (sv.f_flag & ST_NODIRATIME)
            flags |= MS_NODIRATIME;
          if (sv.f_flag & ST_RELATIME)
            flags |= MS_RELATIME;
          if (mount (NULL, "/", NULL, flags, NULL) < 0)
            return husk_error_make (err, errno, "cannot remount `/` read-only");
        }
    }
  return 0;
}

int
husk_rootfs_unmount_under (const char *path, husk_error_t *err)
{
  husk_autofclose FILE *f = fopen ("/proc/self/mountinfo", "re");
  char *line = NULL;
  size_t cap = 0, n = 0, plen = strlen (path);
  char **targets = NULL;

  if (f == NULL)
    return husk_error_make (err, errno, "cannot open `/proc/self/mountinfo`");
  while (getline (&line, &cap, f) > 0)
    {
      char mp[4096];
      /* fields: id parent major:minor root mountpoint ... */
      if (sscanf (line, "%*s %*s %*s %*s %4095s", mp) != 1)
        continue;
      if (strncmp (mp, path, plen) != 0 || (mp[plen] != '/' && mp[plen] != '\0'))
        continue;
      targets = xrealloc (targets, (n + 1) * sizeof *targets);
      targets[n++] = xstrdup (mp);
    }
  free (line);
  /* later mounts sit on top of earlier ones: undo in reverse order */
  while (n > 0)
    {
      n--;
      umount2 (targets[n], MNT_DETACH);
      free (targets[n]);
    }
  free (targets);
  return 0;
}
