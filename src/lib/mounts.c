/* husk: mount options and the spec's mounts[], applied in order inside the
 * rootfs.
 *
 * Each destination is resolved inside the rootfs (husk_create_in_root) and
 * the mount targets that fd through /proc/self/fd/N, so a symlink swapped in
 * by the image cannot redirect it.  After a mount, the new mount is reopened
 * the same way for the follow-up calls (bind remount, propagation, recursive
 * attributes), since the first fd still names the covered directory.
 *
 * cgroup mounts: a `cgroup2` mount, or a `cgroup` mount on a unified host,
 * mounts cgroup2 (falling back to an rbind of the host's /sys/fs/cgroup when
 * the kernel refuses, e.g. in a user namespace without a cgroup namespace).
 * A `cgroup` mount on a v1/hybrid host does what runc does: a tmpfs on the
 * destination and one directory per host hierarchy, either a fresh cgroup
 * mount (new cgroup namespace) or a bind of the container's own cgroup
 * directory from the host; co-mounted controllers get symlinks. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>
#include <linux/magic.h>
#include "husk/utils.h"
#include "rootfs.h"

/* ---- option parsing ------------------------------------------------------ */

enum opt_kind
{
  OPT_FLAG,   /* set flag */
  OPT_CLEAR,  /* clear flag */
  OPT_PROP,   /* propagation */
  OPT_ATTR,   /* recursive attribute set */
  OPT_ATTR_CLR,
  OPT_BIND,
  OPT_RBIND,
  OPT_IDMAP,
  OPT_RIDMAP,
  OPT_TMPCOPYUP,
};

struct mount_opt
{
  const char *name;
  enum opt_kind kind;
  unsigned long long value;
};

static const struct mount_opt mount_opts[] = {
  { "defaults", OPT_FLAG, 0 },
  { "ro", OPT_FLAG, MS_RDONLY },
  { "rw", OPT_CLEAR, MS_RDONLY },
  { "nosuid", OPT_FLAG, MS_NOSUID },
  { "suid", OPT_CLEAR, MS_NOSUID },
  { "nodev", OPT_FLAG, MS_NODEV },
  { "dev", OPT_CLEAR, MS_NODEV },
  { "noexec", OPT_FLAG, MS_NOEXEC },
  { "exec", OPT_CLEAR, MS_NOEXEC },
  { "sync", OPT_FLAG, MS_SYNCHRONOUS },
  { "async", OPT_CLEAR, MS_SYNCHRONOUS },
  { "dirsync", OPT_FLAG, MS_DIRSYNC },
  { "remount", OPT_FLAG, MS_REMOUNT },
  { "mand", OPT_FLAG, MS_MANDLOCK },
  { "nomand", OPT_CLEAR, MS_MANDLOCK },
  { "noatime", OPT_FLAG, MS_NOATIME },
  { "atime", OPT_CLEAR, MS_NOATIME },
  { "nodiratime", OPT_FLAG, MS_NODIRATIME },
  { "diratime", OPT_CLEAR, MS_NODIRATIME },
  { "relatime", OPT_FLAG, MS_RELATIME },
  { "norelatime", OPT_CLEAR, MS_RELATIME },
  { "strictatime", OPT_FLAG, MS_STRICTATIME },
  { "nostrictatime", OPT_CLEAR, MS_STRICTATIME },
  { "nosymfollow", OPT_FLAG, MS_NOSYMFOLLOW },
  { "symfollow", OPT_CLEAR, MS_NOSYMFOLLOW },
  { "lazytime", OPT_FLAG, MS_LAZYTIME },
  { "nolazytime", OPT_CLEAR, MS_LAZYTIME },
  { "iversion", OPT_FLAG, MS_I_VERSION },
  { "noiversion", OPT_CLEAR, MS_I_VERSION },
  { "silent", OPT_FLAG, MS_SILENT },
  { "loud", OPT_CLEAR, MS_SILENT },
  { "bind", OPT_BIND, MS_BIND },
  { "rbind", OPT_RBIND, MS_BIND | MS_REC },
  { "private", OPT_PROP, MS_PRIVATE },
  { "rprivate", OPT_PROP, MS_PRIVATE | MS_REC },
  { "shared", OPT_PROP, MS_SHARED },
  { "rshared", OPT_PROP, MS_SHARED | MS_REC },
  { "slave", OPT_PROP, MS_SLAVE },
  { "rslave", OPT_PROP, MS_SLAVE | MS_REC },
  { "unbindable", OPT_PROP, MS_UNBINDABLE },
  { "runbindable", OPT_PROP, MS_UNBINDABLE | MS_REC },
  { "rro", OPT_ATTR, MOUNT_ATTR_RDONLY },
  { "rrw", OPT_ATTR_CLR, MOUNT_ATTR_RDONLY },
  { "rnosuid", OPT_ATTR, MOUNT_ATTR_NOSUID },
  { "rsuid", OPT_ATTR_CLR, MOUNT_ATTR_NOSUID },
  { "rnodev", OPT_ATTR, MOUNT_ATTR_NODEV },
  { "rdev", OPT_ATTR_CLR, MOUNT_ATTR_NODEV },
  { "rnoexec", OPT_ATTR, MOUNT_ATTR_NOEXEC },
  { "rexec", OPT_ATTR_CLR, MOUNT_ATTR_NOEXEC },
  { "rnodiratime", OPT_ATTR, MOUNT_ATTR_NODIRATIME },
  { "rdiratime", OPT_ATTR_CLR, MOUNT_ATTR_NODIRATIME },
  { "rrelatime", OPT_ATTR, MOUNT_ATTR_RELATIME },
  { "rnorelatime", OPT_ATTR_CLR, MOUNT_ATTR_RELATIME },
  { "rnoatime", OPT_ATTR, MOUNT_ATTR_NOATIME },
  { "ratime", OPT_ATTR_CLR, MOUNT_ATTR_NOATIME },
  { "rstrictatime", OPT_ATTR, MOUNT_ATTR_STRICTATIME },
  { "rnostrictatime", OPT_ATTR_CLR, MOUNT_ATTR_STRICTATIME },
  { "rnosymfollow", OPT_ATTR, MOUNT_ATTR_NOSYMFOLLOW },
  { "rsymfollow", OPT_ATTR_CLR, MOUNT_ATTR_NOSYMFOLLOW },
  { "idmap", OPT_IDMAP, 0 },
  { "ridmap", OPT_RIDMAP, 0 },
  { "tmpcopyup", OPT_TMPCOPYUP, 0 },
};

#define N_MOUNT_OPTS (sizeof mount_opts / sizeof mount_opts[0])

const char *const husk_mount_option_names[] = {
  "defaults", "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async",
  "dirsync", "remount", "mand", "nomand", "noatime", "atime", "nodiratime", "diratime",
  "relatime", "norelatime", "strictatime", "nostrictatime", "nosymfollow", "symfollow",
  "lazytime", "nolazytime", "iversion", "noiversion", "silent", "loud", "bind", "rbind",
  "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable",
  "rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec", "rnodiratime",
  "rdiratime", "rrelatime", "rnorelatime", "rnoatime", "ratime", "rstrictatime",
  "rnostrictatime", "rnosymfollow", "rsymfollow", "idmap", "ridmap", "tmpcopyup", NULL,
};

int
husk_mount_opts_parse (char *const *options, size_t n, husk_mount_opts_t *out, husk_error_t *err)
{
  size_t data_len = 0, data_cap = 0;
  char *data = NULL;

  memset (out, 0, sizeof *out);
  for (size_t i = 0; i < n; i++)
    {
      const char *o = options[i];
      const struct mount_opt *m = NULL;

      if (o == NULL)
        break;
      for (size_t j = 0; j < N_MOUNT_OPTS; j++)
        if (strcmp (mount_opts[j].name, o) == 0)
          {
            m = &mount_opts[j];
            break;
          }
      if (m == NULL)
        {
          size_t l = strlen (o);
          if (l == 0)
            continue;
          if (data_len + l + 2 > data_cap)
            {
              data_cap = (data_len + l + 2) * 2;
              data = xrealloc (data, data_cap);
            }
          if (data_len)
            data[data_len++] = ',';
          memcpy (data + data_len, o, l);
          data_len += l;
          data[data_len] = '\0';
          continue;
        }
      switch (m->kind)
        {
        case OPT_FLAG:
          out->flags |= m->value;
          out->clear_flags &= ~m->value;
          break;
        case OPT_CLEAR:
          out->flags &= ~m->value;
          out->clear_flags |= m->value;
          break;
        case OPT_BIND:
          out->bind = true;
          out->flags |= MS_BIND;
          break;
        case OPT_RBIND:
          out->bind = out->rbind = true;
          out->flags |= MS_BIND | MS_REC;
          break;
        case OPT_PROP:
          /* The last propagation type wins; recursion is sticky. */
          out->propagation = (out->propagation & MS_REC) | m->value;
          break;
        case OPT_ATTR:
          out->attr_set |= m->value;
          out->attr_clr &= ~m->value;
          /* mount_setattr(2): an access-time mode needs MOUNT_ATTR__ATIME
             cleared too. */
          if ((m->value & MOUNT_ATTR__ATIME) == m->value)
            {
              out->attr_set &= ~MOUNT_ATTR__ATIME;
              out->attr_set |= m->value;
              out->attr_clr |= MOUNT_ATTR__ATIME;
            }
          break;
        case OPT_ATTR_CLR:
          out->attr_clr |= m->value;
          out->attr_set &= ~m->value;
          break;
        case OPT_IDMAP:
          out->idmap = true;
          break;
        case OPT_RIDMAP:
          out->idmap = out->ridmap = true;
          break;
        case OPT_TMPCOPYUP:
          out->tmpcopyup = true;
          break;
        }
    }
  out->data = data;
  (void) err;
  return 0;
}

void
husk_mount_opts_free (husk_mount_opts_t *o)
{
  free (o->data);
  o->data = NULL;
}

static void
mount_opts_cleanup (husk_mount_opts_t *o)
{
  husk_mount_opts_free (o);
}
#define auto_mount_opts __attribute__ ((cleanup (mount_opts_cleanup)))

/* ---- helpers ------------------------------------------------------------- */

char *
husk_fd_path (char *buf, size_t len, int fd)
{
  snprintf (buf, len, "/proc/self/fd/%d", fd);
  return buf;
}

/* Flags a bind remount may carry (everything else is a mount(2) verb). */
#define REMOUNT_FLAGS                                                                              \
  (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME         \
   | MS_STRICTATIME | MS_NOSYMFOLLOW | MS_SYNCHRONOUS | MS_DIRSYNC | MS_MANDLOCK | MS_LAZYTIME)

static unsigned long
statvfs_locked_flags (const char *path)
{
  struct statvfs sv;
  unsigned long f = 0;
  if (statvfs (path, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_NOSUID)
    f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME)
    f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME)
    f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME)
    f |= MS_RELATIME;
  if (sv.f_flag & ST_RDONLY)
    f |= MS_RDONLY;
  return f;
}

int
husk_remount_bind (int fd, const char *what, unsigned long flags, husk_error_t *err)
{
  char p[64];
  unsigned long locked;

  husk_fd_path (p, sizeof p, fd);
  flags &= REMOUNT_FLAGS;
  if (mount (NULL, p, NULL, MS_REMOUNT | MS_BIND | flags, NULL) == 0)
    return 0;
  if (errno != EPERM)
    return husk_error_make (err, errno, "cannot remount `%s`", what);
  /* In a user namespace the flags of the source mount are locked: keep
     them, only ever adding restrictions (as runc does). */
  locked = statvfs_locked_flags (p) & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY);
  if (!(flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)))
    locked |= statvfs_locked_flags (p) & (MS_NOATIME | MS_RELATIME | MS_NODIRATIME);
  if (mount (NULL, p, NULL, MS_REMOUNT | MS_BIND | flags | locked, NULL) < 0)
    return husk_error_make (err, errno, "cannot remount `%s`", what);
  return 0;
}

static bool
is_type (const char *type, const char *name)
{
  return type && strcmp (type, name) == 0;
}

static bool
mount_is_bind (const husk_mount_t *m, const husk_mount_opts_t *o)
{
  return o->bind || is_type (m->type, "bind") || is_type (m->type, "rbind");
}

/* Lexically clean an absolute path ("//a/./b/" -> "/a/b"); ".." kept as is. */
static char *
clean_path (const char *path)
{
  char *out = xmalloc (strlen (path) + 2), *w = out;
  const char *p = path;
  *w++ = '/';
  while (*p)
    {
      const char *s;
      size_t l;
      while (*p == '/')
        p++;
      s = p;
      while (*p && *p != '/')
        p++;
      l = (size_t) (p - s);
      if (l == 0 || (l == 1 && s[0] == '.'))
        continue;
      if (l == 2 && s[0] == '.' && s[1] == '.')
        {
          if (w > out + 1)
            {
              while (w > out && *--w != '/')
                ;
              if (w == out)
                w = out + 1;
            }
          continue;
        }
      if (w > out + 1)
        *w++ = '/';
      memcpy (w, s, l);
      w += l;
    }
  *w = '\0';
  return out;
}

bool
husk_mounts_binds_dev (const husk_spec_t *spec)
{
  for (size_t i = 0; i < spec->mounts_len; i++)
    {
      const husk_mount_t *m = &spec->mounts[i];
      auto_mount_opts husk_mount_opts_t o = { 0 };
      husk_autofree char *dest = clean_path (m->destination);
      husk_mount_opts_parse (m->options, m->options_len, &o, NULL);
      if (strcmp (dest, "/dev") == 0 && mount_is_bind (m, &o))
        return true;
    }
  return false;
}

/* runc's rule: nothing may be mounted inside /proc except procfs itself on
 * /proc and a few files lxcfs-style tools replace. */
static int
check_proc_dest (const char *dest, const husk_mount_t *m, husk_error_t *err)
{
  static const char *const allowed[] = {
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
    "/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/sys/kernel/ns_last_pid",
    "/proc/net/dev", "/proc/bus/pci", NULL,
  };
  if (strncmp (dest, "/proc", 5) != 0 || (dest[5] != '\0' && dest[5] != '/'))
    return 0;
  if (strcmp (dest, "/proc") == 0)
    {
      if (is_type (m->type, "proc"))
        return 0;
      if (m->source)
        {
          struct statfs sf;
          if (statfs (m->source, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
            return 0;
        }
      return husk_error_make (err, 0, "cannot mount `%s` on `%s`: only a procfs may be mounted on /proc",
                              m->source ? m->source : m->type, dest);
    }
  for (size_t i = 0; allowed[i]; i++)
    if (strcmp (dest, allowed[i]) == 0)
      return 0;
  if (m->source && strncmp (m->source, "/proc/", 6) == 0)
    return 0;
  return husk_error_make (err, 0, "cannot mount `%s` on `%s`: mounts inside /proc are not allowed",
                          m->source ? m->source : (m->type ? m->type : "none"), dest);
}

/* Copy the contents of src (a directory fd) into dst (a directory fd). */
static int
copy_tree (int src, int dst, const char *what, husk_error_t *err)
{
  husk_autoclosedir DIR *d = NULL;
  struct dirent *de;
  int sfd = fcntl (src, F_DUPFD_CLOEXEC, 3);

  if (sfd < 0)
    return husk_error_make (err, errno, "tmpcopyup `%s`", what);
  d = fdopendir (sfd);
  if (d == NULL)
    {
      close (sfd);
      return husk_error_make (err, errno, "tmpcopyup `%s`", what);
    }
  rewinddir (d);
  while ((de = readdir (d)))
    {
      struct stat st;
      const char *n = de->d_name;

      if (strcmp (n, ".") == 0 || strcmp (n, "..") == 0)
        continue;
      if (fstatat (src, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return husk_error_make (err, errno, "tmpcopyup `%s/%s`", what, n);
      if (S_ISDIR (st.st_mode))
        {
          husk_autoclose int s2 = -1, d2 = -1;
          if (mkdirat (dst, n, st.st_mode & 07777) < 0 && errno != EEXIST)
            return husk_error_make (err, errno, "tmpcopyup `%s/%s`", what, n);
          s2 = openat (src, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          d2 = openat (dst, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (s2 < 0 || d2 < 0)
            return husk_error_make (err, errno, "tmpcopyup `%s/%s`", what, n);
          if (copy_tree (s2, d2, what, err) < 0)
            return -1;
        }
      else if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX];
          ssize_t l = readlinkat (src, n, target, sizeof target - 1);
          if (l < 0)
            return husk_error_make (err, errno, "tmpcopyup `%s/%s`", what, n);
          target[l] = '\0';
          if (symlinkat (target, dst, n) < 0)
            return husk_error_make (err, errno, "tmpcopyup `%s/%s`", what, n);
        }
      else if (S_ISREG (st.st_mode))
        {
          husk_autoclose int in = openat (src, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
          husk_autoclose int out = -1;
          char buf[65536];
          ssize_t r;
          if (in < 0)
            return husk_error_make (err, errno, "tmpcopyup `%s/%s`", what, n);
          out = openat (dst, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 07777);
          if (out < 0)
            return husk_error_make (err, errno, "tmpcopyup `%s/%s`", what, n);
          while ((r = read (in, buf, sizeof buf)) > 0)
            if (husk_write_all (out, buf, (size_t) r) < 0)
              return husk_error_make (err, errno, "tmpcopyup `%s/%s`", what, n);
          if (r < 0)
            return husk_error_make (err, errno, "tmpcopyup `%s/%s`", what, n);
        }
      else if (mknodat (dst, n, st.st_mode, st.st_rdev) < 0)
        return husk_error_make (err, errno, "tmpcopyup `%s/%s`", what, n);
      if (fchownat (dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return husk_error_make (err, errno, "tmpcopyup: chown `%s/%s`", what, n);
      if (!S_ISLNK (st.st_mode) && fchmodat (dst, n, st.st_mode & 07777, 0) < 0)
        return husk_error_make (err, errno, "tmpcopyup: chmod `%s/%s`", what, n);
    }
  return 0;
}

/* ---- idmapped mounts ----------------------------------------------------- */

static int
write_idmap (pid_t pid, const char *file, const husk_idmap_t *m, size_t n, husk_error_t *err)
{
  char path[64];
  husk_autofree char *buf = xstrdup ("");
  for (size_t i = 0; i < n; i++)
    {
      char *nb = xstrdup_printf ("%s%u %u %u\n", buf, m[i].container_id, m[i].host_id, m[i].size);
      free (buf);
      buf = nb;
    }
  snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, file);
  return husk_write_file (path, buf, strlen (buf), err);
}

/* A user namespace fd with the mount's mappings: a child unshares a user
 * namespace and waits; the parent writes its maps and opens its ns.  The
 * child names itself by its pid in the procfs we see (readlink /proc/self):
 * clone()'s return value is a pid in our own, possibly new, pid namespace,
 * which is not the one /proc was mounted for before pivot. */
int
husk_idmap_userns_fd (const husk_mount_t *m, husk_error_t *err)
{
  int go[2], back[2];
  pid_t pid;
  char path[64], procpid[32] = { 0 };
  husk_autoclose int fd = -1;
  ssize_t n;
  int r = 0;

  if (pipe2 (go, O_CLOEXEC) < 0)
    return husk_error_make (err, errno, "pipe");
  if (pipe2 (back, O_CLOEXEC) < 0)
    {
      int e = errno;
      close (go[0]);
      close (go[1]);
      return husk_error_make (err, e, "pipe");
    }
  pid = (pid_t) syscall (SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0)
    {
      int e = errno;
      close (go[0]);
      close (go[1]);
      close (back[0]);
      close (back[1]);
      return husk_error_make (err, e, "cannot create a user namespace for the idmapped mount `%s`",
                              m->destination);
    }
  if (pid == 0)
    {
      char c, self[32];
      ssize_t l;
      close (go[1]);
      close (back[0]);
      l = readlink ("/proc/self", self, sizeof self - 1);
      if (l > 0)
        (void) !write (back[1], self, (size_t) l);
      close (back[1]);
      (void) !read (go[0], &c, 1);
      _exit (0);
    }
  close (go[0]);
  close (back[1]);
  n = husk_read_all (back[0], procpid, sizeof procpid - 1);
  close (back[0]);
  if (n <= 0)
    r = husk_error_make (err, n < 0 ? errno : 0, "cannot find the idmap helper process in /proc");
  else
    {
      pid_t ppid = (pid_t) atoi (procpid);
      snprintf (path, sizeof path, "/proc/%d/setgroups", (int) ppid);
      husk_write_file (path, "deny", 4, NULL);
      if (write_idmap (ppid, "uid_map", m->uid_mappings, m->uid_mappings_len, err) < 0
          || write_idmap (ppid, "gid_map", m->gid_mappings, m->gid_mappings_len, err) < 0)
        r = -1;
      if (r == 0)
        {
          snprintf (path, sizeof path, "/proc/%d/ns/user", (int) ppid);
          fd = open (path, O_RDONLY | O_CLOEXEC);
          if (fd < 0)
            r = husk_error_make (err, errno, "cannot open `%s`", path);
        }
    }
  close (go[1]);
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  if (r < 0)
    return husk_error_wrap (err, "idmapped mount `%s`", m->destination);
  return steal_fd (&fd);
}

/* A detached copy of source with the mount's id mapping.  Made by the
 * runtime in the host's user namespace: idmapping needs privilege over the
 * source filesystem's user namespace, which the container's lacks. */
int
husk_idmap_tree_fd (const husk_mount_t *m, const char *source, bool rbind, bool ridmap, husk_error_t *err)
{
  husk_autoclose int tree = -1, userns = -1;
  struct mount_attr attr = { 0 };
  unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rbind || ridmap ? AT_RECURSIVE : 0);

  if (m->uid_mappings_len == 0 || m->gid_mappings_len == 0)
    return husk_error_make (err, EINVAL, "idmapped mount `%s` needs uidMappings and gidMappings",
                            m->destination);
  tree = (int) syscall (SYS_open_tree, AT_FDCWD, source, flags);
  if (tree < 0)
    return husk_error_make (err, errno, "cannot clone `%s` for the idmapped mount `%s`", source,
                            m->destination);
  userns = husk_idmap_userns_fd (m, err);
  if (userns < 0)
    return -1;
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = (uint64_t) userns;
  /* idmap maps the top mount only; ridmap the submounts too */
  if (syscall (SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (ridmap ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0)
    return husk_error_make (err, errno, "cannot idmap the mount `%s`", m->destination);
  return steal_fd (&tree);
}

/* Attach the idmapped copy of source on target_fd (made by the runtime when
 * it could, else here). */
static int
mount_idmapped (const husk_rootfs_ctx_t *ctx, const husk_mount_t *m, const husk_mount_opts_t *o,
                const char *source, int target_fd, husk_error_t *err)
{
  size_t idx = (size_t) (m - ctx->spec->mounts);
  husk_autoclose int tree = -1;

  if (ctx->idmap_fds && ctx->idmap_fds[idx] >= 0)
    {
      tree = fcntl (ctx->idmap_fds[idx], F_DUPFD_CLOEXEC, 0);
      if (tree < 0)
        return husk_error_make (err, errno, "idmapped mount `%s`", m->destination);
    }
  else if ((tree = husk_idmap_tree_fd (m, source, o->rbind, o->ridmap, err)) < 0)
    return -1;
  if (syscall (SYS_move_mount, tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
      < 0)
    return husk_error_make (err, errno, "cannot mount `%s` on `%s`", source, m->destination);
  return 0;
}

/* ---- cgroup -------------------------------------------------------------- */

struct cg_hier
{
  char *mountpoint; /* host mount point, "/sys/fs/cgroup/cpu,cpuacct" */
  char *fstype;     /* "cgroup" | "cgroup2" */
  char *root;       /* mountinfo root field */
};

/* Our cgroup path for a hierarchy named `name` (basename of the mount). */
static char *
own_cgroup_path (const char *procself_cgroup, const char *name, bool v2)
{
  husk_autofree char *copy = xstrdup (procself_cgroup);
  char *save = NULL;
  for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *c1 = strchr (line, ':'), *c2;
      if (c1 == NULL || (c2 = strchr (c1 + 1, ':')) == NULL)
        continue;
      *c2 = '\0';
      if (v2)
        {
          if (c1[1] == '\0')
            return xstrdup (c2 + 1);
          continue;
        }
      {
        const char *ctrl = c1 + 1;
        if (strncmp (ctrl, "name=", 5) == 0)
          ctrl += 5;
        if (strcmp (ctrl, name) == 0)
          return xstrdup (c2 + 1);
      }
    }
  return xstrdup ("/");
}

static int
mount_cgroup_v1 (const husk_rootfs_ctx_t *ctx, int root_fd, const husk_mount_t *m,
                 const husk_mount_opts_t *o, int target_fd, const char *dest, husk_error_t *err)
{
  husk_autofree char *mountinfo = NULL, *selfcg = NULL;
  husk_autoclose int tmpfs_fd = -1;
  unsigned long flags = o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  char p[64];
  char *save = NULL;

  if (mount ("tmpfs", husk_fd_path (p, sizeof p, target_fd), "tmpfs", flags & ~MS_RDONLY, "mode=755") < 0)
    return husk_error_make (err, errno, "cannot mount `tmpfs` on `%s`", dest);
  tmpfs_fd = husk_open_in_root (root_fd, dest, O_PATH | O_DIRECTORY, 0, err);
  if (tmpfs_fd < 0)
    return -1;
  if (husk_read_file ("/proc/self/mountinfo", &mountinfo, NULL, err) < 0
      || husk_read_file ("/proc/self/cgroup", &selfcg, NULL, err) < 0)
    return -1;

  for (char *line = strtok_r (mountinfo, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[10] = { 0 };
      char *sep, *mp, *fstype, *name, *s2 = NULL;
      int i = 0;
      husk_autoclose int sub = -1;
      husk_autofree char *cgpath = NULL, *src = NULL;
      bool v2;

      sep = strstr (line, " - ");
      if (sep == NULL)
        continue;
      *sep = '\0';
      for (char *t = strtok_r (line, " ", &s2); t && i < 10; t = strtok_r (NULL, " ", &s2))
        f[i++] = t;
      if (i < 5)
        continue;
      mp = f[4];
      fstype = strtok_r (sep + 3, " ", &s2);
      if (fstype == NULL || (strcmp (fstype, "cgroup") != 0 && strcmp (fstype, "cgroup2") != 0))
        continue;
      if (strncmp (mp, "/sys/fs/cgroup/", 15) != 0 || strchr (mp + 15, '/'))
        continue;
      name = mp + 15;
      {
        /* Skip hierarchies hidden under a later mount (their mountinfo
         * line stays, but the path now shows something else). */
        struct stat mst;
        unsigned maj, min;
        if (sscanf (f[2], "%u:%u", &maj, &min) != 2 || stat (mp, &mst) < 0 || major (mst.st_dev) != maj
            || minor (mst.st_dev) != min)
          continue;
      }
      v2 = strcmp (fstype, "cgroup2") == 0;
      cgpath = own_cgroup_path (selfcg, name, v2);

      if (mkdirat (tmpfs_fd, name, 0755) < 0 && errno != EEXIST)
        return husk_error_make (err, errno, "cannot create `%s/%s`", dest, name);
      sub = openat (tmpfs_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        return husk_error_make (err, errno, "cannot open `%s/%s`", dest, name);
      husk_fd_path (p, sizeof p, sub);
      if (ctx->new_cgroupns)
        {
          husk_autofree char *data = NULL;
          if (!v2)
            data = strncmp (name, "systemd", 7) == 0 && !strchr (name, ',')
                       ? xstrdup_printf ("name=%s", name)
                       : xstrdup (name);
          if (mount ("cgroup", p, fstype, flags, data) < 0)
            return husk_error_make (err, errno, "cannot mount `%s` on `%s/%s`", fstype, dest, name);
        }
      else
        {
          husk_autoclose int mfd = -1;
          src = xstrdup_printf ("%s%s", mp, cgpath);
          if (mount (src, p, NULL, MS_BIND | MS_REC, NULL) < 0)
            return husk_error_make (err, errno, "cannot mount `%s` on `%s/%s`", src, dest, name);
          mfd = openat (tmpfs_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (mfd < 0)
            return husk_error_make (err, errno, "cannot open `%s/%s`", dest, name);
          if (flags & REMOUNT_FLAGS && husk_remount_bind (mfd, dest, flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
            return -1;
        }
      /* Co-mounted controllers ("cpu,cpuacct") get one symlink each. */
      if (strchr (name, ','))
        {
          husk_autofree char *parts = xstrdup (name);
          char *s3 = NULL;
          for (char *c = strtok_r (parts, ",", &s3); c; c = strtok_r (NULL, ",", &s3))
            if (symlinkat (name, tmpfs_fd, c) < 0 && errno != EEXIST)
              return husk_error_make (err, errno, "cannot create `%s/%s`", dest, c);
        }
    }

  if (o->flags & MS_RDONLY)
    {
      husk_fd_path (p, sizeof p, tmpfs_fd);
      if (mount (NULL, p, NULL, MS_REMOUNT | flags | MS_RDONLY, NULL) < 0)
        return husk_error_make (err, errno, "cannot remount `%s` read-only", dest);
    }
  return 0;
}

static int
mount_cgroup (const husk_rootfs_ctx_t *ctx, int root_fd, const husk_mount_t *m, const husk_mount_opts_t *o,
              int target_fd, const char *dest, husk_error_t *err)
{
  struct statfs sf;
  unsigned long flags = o->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  bool unified = statfs ("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
  char p[64];

  husk_fd_path (p, sizeof p, target_fd);
  if (is_type (m->type, "cgroup") && !unified)
    return mount_cgroup_v1 (ctx, root_fd, m, o, target_fd, dest, err);

  if (mount ("cgroup2", p, "cgroup2", flags, o->data) == 0)
    return 0;
  if (errno != EPERM && errno != EBUSY)
    return husk_error_make (err, errno, "cannot mount `cgroup2` on `%s`", dest);
  /* No cgroup namespace (or not allowed): bind the host's hierarchy. */
  {
    husk_autoclose int fd = -1;
    if (mount ("/sys/fs/cgroup", p, NULL, MS_BIND | MS_REC, NULL) < 0)
      return husk_error_make (err, errno, "cannot mount `/sys/fs/cgroup` on `%s`", dest);
    fd = husk_open_in_root (root_fd, dest, O_PATH, 0, err);
    if (fd < 0)
      return -1;
    if (flags & REMOUNT_FLAGS)
      return husk_remount_bind (fd, dest, flags, err);
  }
  return 0;
}

/* ---- one mount ----------------------------------------------------------- */

static int
bind_from (const char *source, int target_fd, bool rec, const char *dest, husk_error_t *err)
{
  char p[64];
  if (mount (source, husk_fd_path (p, sizeof p, target_fd), NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
    return husk_error_make (err, errno, "cannot mount `%s` on `%s`", source, dest);
  return 0;
}

static int
mount_one (const husk_rootfs_ctx_t *ctx, int root_fd, const husk_mount_t *m, husk_error_t *err)
{
  auto_mount_opts husk_mount_opts_t o = { 0 };
  husk_autofree char *dest = clean_path (m->destination);
  husk_autofree char *source = NULL;
  husk_autoclose int target = -1, newfd = -1, before = -1;
  const char *type = m->type;
  bool bind, is_dir = true, bound = false;
  unsigned long flags;
  char p[64];

  if (husk_mount_opts_parse (m->options, m->options_len, &o, err) < 0)
    return -1;
  bind = mount_is_bind (m, &o);
  if (check_proc_dest (dest, m, err) < 0)
    return -1;

  if (bind)
    {
      struct stat st;
      if (m->source == NULL)
        return husk_error_make (err, 0, "bind mount on `%s` has no source", dest);
      if (m->source[0] == '/' || ctx->bundle == NULL)
        source = xstrdup (m->source);
      else
        source = xstrdup_printf ("%s/%s", ctx->bundle, m->source);
      if (stat (source, &st) < 0)
        return husk_error_make (err, errno, "cannot mount `%s` on `%s`", source, dest);
      is_dir = S_ISDIR (st.st_mode);
    }
  else
    source = xstrdup (m->source ? m->source : (type ? type : "none"));

  target = husk_create_in_root (root_fd, dest, is_dir, err);
  if (target < 0)
    return husk_error_wrap (err, "cannot mount `%s` on `%s`", source, dest);
  husk_fd_path (p, sizeof p, target);

  flags = o.flags & ~(MS_BIND | MS_REC);

  if (o.idmap)
    {
      if (!bind)
        return husk_error_make (err, EINVAL, "cannot mount `%s` on `%s`: idmap needs a bind mount", source, dest);
      if (mount_idmapped (ctx, m, &o, source, target, err) < 0)
        return -1;
      bound = true;
    }
  else if (bind)
    {
      if (bind_from (source, target, o.rbind || is_type (type, "rbind"), dest, err) < 0)
        return -1;
      bound = true;
    }
  else if (is_type (type, "cgroup") || is_type (type, "cgroup2"))
    {
      if (mount_cgroup (ctx, root_fd, m, &o, target, dest, err) < 0)
        return -1;
    }
  else
    {
      const char *fstype = type ? type : "none";
      unsigned long mflags = flags;

      /* tmpfs and /dev stay writable until finalize (runc): devices and
         tmpcopyup write into them. */
      if (is_type (type, "tmpfs") || strcmp (dest, "/dev") == 0)
        mflags &= ~MS_RDONLY;
      if (o.tmpcopyup)
        {
          before = husk_open_in_root (root_fd, dest, O_RDONLY | O_DIRECTORY, 0, err);
          if (before < 0)
            return -1;
        }
      if (mount (source, p, fstype, mflags, o.data) < 0)
        {
          int e = errno;
          if (is_type (type, "sysfs") && (e == EPERM || e == EBUSY) && !ctx->new_netns)
            {
              /* sysfs belongs to the network namespace: bind the host's. */
              if (bind_from ("/sys", target, true, dest, err) < 0)
                return -1;
              bound = true;
              flags |= MS_RDONLY;
            }
          else if (is_type (type, "mqueue") && (e == EPERM || e == EBUSY))
            {
              if (bind_from ("/dev/mqueue", target, true, dest, err) < 0)
                return -1;
              bound = true;
            }
          else
            return husk_error_make (err, e, "cannot mount `%s` on `%s`", fstype, dest);
        }
    }

  newfd = husk_open_in_root (root_fd, dest, O_PATH, 0, err);
  if (newfd < 0)
    return -1;

  if (bound && (flags & REMOUNT_FLAGS))
    if (husk_remount_bind (newfd, dest, flags, err) < 0)
      return -1;

  /* The host's /sys standing in for sysfs: its submounts go read-only too. */
  if (bound && is_type (type, "sysfs"))
    {
      struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
      if (syscall (SYS_mount_setattr, newfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0
          && errno != ENOSYS)
        return husk_error_make (err, errno, "cannot make `%s` read-only", dest);
    }

  if (before >= 0)
    {
      husk_autoclose int dst = husk_open_in_root (root_fd, dest, O_RDONLY | O_DIRECTORY, 0, err);
      if (dst < 0)
        return -1;
      if (copy_tree (before, dst, dest, err) < 0)
        return -1;
    }

  if (o.propagation)
    if (mount (NULL, husk_fd_path (p, sizeof p, newfd), NULL, o.propagation, NULL) < 0)
      return husk_error_make (err, errno, "cannot change the propagation of `%s`", dest);

  if (o.attr_set || o.attr_clr)
    {
      struct mount_attr attr = { 0 };
      attr.attr_set = o.attr_set;
      attr.attr_clr = o.attr_clr;
      if (syscall (SYS_mount_setattr, newfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
        return husk_error_make (err, errno, "cannot set recursive mount attributes on `%s`", dest);
    }
  return 0;
}

int
husk_mounts_apply (const husk_rootfs_ctx_t *ctx, int root_fd, husk_error_t *err)
{
  const husk_spec_t *spec = ctx->spec;
  for (size_t i = 0; i < spec->mounts_len; i++)
    if (mount_one (ctx, root_fd, &spec->mounts[i], err) < 0)
      return -1;
  return 0;
}

int
husk_mounts_finalize (const husk_rootfs_ctx_t *ctx, int root_fd, husk_error_t *err)
{
  const husk_spec_t *spec = ctx->spec;
  for (size_t i = 0; i < spec->mounts_len; i++)
    {
      const husk_mount_t *m = &spec->mounts[i];
      auto_mount_opts husk_mount_opts_t o = { 0 };
      husk_autofree char *dest = clean_path (m->destination);
      husk_autoclose int fd = -1;
      char p[64];

      husk_mount_opts_parse (m->options, m->options_len, &o, NULL);
      if (!(o.flags & MS_RDONLY) || mount_is_bind (m, &o))
        continue;
      if (!is_type (m->type, "tmpfs") && strcmp (dest, "/dev") != 0)
        continue;
      fd = husk_open_in_root (root_fd, dest, O_PATH | O_DIRECTORY, 0, err);
      if (fd < 0)
        return -1;
      husk_fd_path (p, sizeof p, fd);
      if (mount (NULL, p, NULL, MS_REMOUNT | (o.flags & REMOUNT_FLAGS), NULL) < 0)
        return husk_error_make (err, errno, "cannot remount `%s` read-only", dest);
    }
  return 0;
}
