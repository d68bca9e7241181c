/* husk-build: extract image layers into a directory with libarchive.
 *
 * libarchive only reads the tar stream (any of tar, tar+gzip, tar+zstd); the
 * files are written here, never by archive_write_disk, so that every path is
 * resolved inside the target directory: the parent of each entry is opened
 * with husk_open_in_root() (openat2 RESOLVE_IN_ROOT, or a component walk),
 * the entry is made with the *at() calls on that fd and its last component is
 * never followed.  A symlink in the layer that points out of the root (to
 * "/etc" or "../../..") therefore resolves to a path inside it, the way the
 * container will see it.  Names that climb above the root with `..` are
 * refused; absolute names are taken relative to the root.
 *
 * Whiteouts: `.wh.NAME` removes NAME of the lower layers, `.wh..wh..opq`
 * empties its directory of lower content (HB_UNPACK_APPLY), or both are
 * written in overlayfs form (HB_UNPACK_OVERLAY).  Entries of the layer itself
 * are never removed by its own whiteouts: the names the layer wrote (and their
 * parents) are kept in a tsearch() set. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include "build.h"
#include "rootfs.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

typedef struct
{
  char *path;
  struct timespec ts[2];
} dir_time_t;

typedef struct
{
  int root_fd;
  hb_unpack_mode_t mode;
  const char *what;
  bool root;        /* euid 0: owners and devices are applied */
  void *seen;       /* tsearch set of the names this layer wrote (and their parents) */
  dir_time_t *dirs; /* mtimes of directories, set when the layer is done */
  size_t n_dirs;
  const int *lowers; /* OVERLAY: the layers below, top first (hardlinks into them) */
  size_t n_lowers;
} unpack_t;

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (a, b);
}

static void
seen_add (unpack_t *u, const char *path)
{
  husk_autofree char *p = xstrdup (path);
  for (;;)
    {
      char *slash;
      if (tfind (p, &u->seen, cmp_str) == NULL)
        {
          char *k = xstrdup (p);
          tsearch (k, &u->seen, cmp_str);
        }
      slash = strrchr (p, '/');
      if (slash == NULL)
        break;
      *slash = '\0';
    }
}

static bool
seen_has (unpack_t *u, const char *path)
{
  return tfind (path, &u->seen, cmp_str) != NULL;
}

/* Lexically clean an entry name into "a/b/c" ("" for the root itself).
 * Leading slashes are dropped; `..` may not climb above the root. */
static int
clean_name (const char *name, char **out, husk_error_t *err)
{
  size_t len = strlen (name);
  husk_autofree char *res = xmalloc (len + 1);
  size_t rlen = 0;
  const char *p = name;

  while (*p)
    {
      const char *e = strchrnul (p, '/');
      size_t n = (size_t) (e - p);
      if (n == 0 || (n == 1 && p[0] == '.'))
        ;
      else if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          if (rlen == 0)
            return husk_error_make (err, 0, "entry `%s` points outside the rootfs", name);
          while (rlen > 0 && res[rlen - 1] != '/')
            rlen--;
          if (rlen > 0)
            rlen--;
        }
      else
        {
          if (rlen > 0)
            res[rlen++] = '/';
          memcpy (res + rlen, p, n);
          rlen += n;
        }
      p = *e ? e + 1 : e;
    }
  res[rlen] = '\0';
  *out = steal_ptr (&res);
  return 0;
}

int
hb_rm_rf_at (int at_fd, const char *name, husk_error_t *err)
{
  struct stat st;
  if (fstatat (at_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : husk_error_make (err, errno, "cannot stat `%s`", name);
  if (S_ISDIR (st.st_mode))
    {
      husk_autoclosedir DIR *d = NULL;
      struct dirent *de;
      int fd = openat (at_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return husk_error_make (err, errno, "cannot open `%s`", name);
      d = fdopendir (fd);
      if (d == NULL)
        {
          close (fd);
          return husk_error_make (err, errno, "cannot open `%s`", name);
        }
      while ((errno = 0, de = readdir (d)))
        {
          if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
            continue;
          if (hb_rm_rf_at (dirfd (d), de->d_name, err) < 0)
            return -1;
        }
      if (unlinkat (at_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return husk_error_make (err, errno, "cannot remove `%s`", name);
      return 0;
    }
  if (unlinkat (at_fd, name, 0) < 0 && errno != ENOENT)
    return husk_error_make (err, errno, "cannot remove `%s`", name);
  return 0;
}

/* Open (creating directories as needed) the parent directory of an entry. */
static int
open_parent (unpack_t *u, const char *parent, husk_error_t *err)
{
  husk_auto_error husk_error_t e2 = NULL;
  int fd;
  if (*parent == '\0')
    {
      fd = fcntl (u->root_fd, F_DUPFD_CLOEXEC, 3);
      return fd < 0 ? husk_error_make (err, errno, "cannot dup the root fd") : fd;
    }
  fd = husk_open_in_root (u->root_fd, parent, O_PATH | O_DIRECTORY, 0, &e2);
  if (fd >= 0)
    return fd;
  if (e2->status != ENOENT)
    {
      husk_error_move (err, &e2);
      return -1;
    }
  return husk_create_in_root (u->root_fd, parent, true, err);
}

static void
split_name (char *name, const char **parent, const char **base)
{
  char *slash = strrchr (name, '/');
  if (slash == NULL)
    {
      *parent = "";
      *base = name;
    }
  else
    {
      *slash = '\0';
      *parent = name;
      *base = slash + 1;
    }
}

/* Remove everything in dir (a path inside the root) that this layer did not write. */
static int
opaque_clear (unpack_t *u, int dfd, const char *dir, husk_error_t *err)
{
  husk_autoclosedir DIR *d = NULL;
  struct dirent *de;
  int fd = fcntl (dfd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot dup a directory fd");
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return husk_error_make (err, errno, "cannot read directory `%s`", dir);
    }
  while ((errno = 0, de = readdir (d)))
    {
      husk_autofree char *child = NULL;
      struct stat st;
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      child = *dir ? xstrdup_printf ("%s/%s", dir, de->d_name) : xstrdup (de->d_name);
      if (!seen_has (u, child))
        {
          if (hb_rm_rf_at (dirfd (d), de->d_name, err) < 0)
            return -1;
          continue;
        }
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode))
        {
          husk_autoclose int cfd = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (cfd < 0)
            return husk_error_make (err, errno, "cannot open `%s`", child);
          if (opaque_clear (u, cfd, child, err) < 0)
            return -1;
        }
    }
  return 0;
}

static int
apply_whiteout (unpack_t *u, const char *name, const char *parent, const char *base, husk_error_t *err)
{
  husk_autoclose int pfd = -1;
  bool opaque = strcmp (base, WH_OPAQUE) == 0;
  const char *target = base + strlen (WH_PREFIX);

  if (!opaque && (*target == '\0' || strcmp (target, ".") == 0 || strcmp (target, "..") == 0))
    return husk_error_make (err, 0, "invalid whiteout `%s`", name);

  if (u->mode == HB_UNPACK_OVERLAY)
    {
      pfd = open_parent (u, parent, err);
      if (pfd < 0)
        return -1;
      if (opaque)
        {
          char buf[64];
          husk_autoclose int dfd = openat (pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (dfd < 0 || fsetxattr (dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
            return husk_error_make (err, errno, "cannot mark `%s` opaque (%s)", *parent ? parent : "/",
                                    husk_fd_path (buf, sizeof buf, pfd));
          return 0;
        }
      if (hb_rm_rf_at (pfd, target, err) < 0)
        return -1;
      if (mknodat (pfd, target, S_IFCHR | 0000, makedev (0, 0)) < 0)
        return husk_error_make (err, errno, "cannot make whiteout for `%s`", name);
      return 0;
    }

  /* APPLY: a missing parent means there is nothing to delete. */
  if (*parent)
    {
      husk_auto_error husk_error_t e2 = NULL;
      pfd = husk_open_in_root (u->root_fd, parent, O_RDONLY | O_DIRECTORY, 0, &e2);
      if (pfd < 0)
        {
          if (e2->status == ENOENT || e2->status == ENOTDIR)
            return 0;
          husk_error_move (err, &e2);
          return -1;
        }
    }
  else
    {
      pfd = openat (u->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (pfd < 0)
        return husk_error_make (err, errno, "cannot open the root");
    }
  if (opaque)
    return opaque_clear (u, pfd, parent, err);
  {
    husk_autofree char *full = *parent ? xstrdup_printf ("%s/%s", parent, target) : xstrdup (target);
    if (seen_has (u, full))
      return 0;
  }
  return hb_rm_rf_at (pfd, target, err);
}

static int
write_data (struct archive *a, int fd, const char *name, int64_t size, husk_error_t *err)
{
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block (a, &buf, &len, &off)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      const char *p = buf;
      while (len > 0)
        {
          ssize_t w = pwrite (fd, p, len, off);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return husk_error_make (err, errno, "cannot write `%s`", name);
          p += w;
          len -= (size_t) w;
          off += w;
        }
    }
  if (r != ARCHIVE_EOF)
    return husk_error_make (err, 0, "cannot read the data of `%s`: %s", name, archive_error_string (a));
  /* Sparse files may end in a hole. */
  if (ftruncate (fd, size) < 0)
    return husk_error_make (err, errno, "cannot size `%s`", name);
  return 0;
}

static int
set_xattrs (unpack_t *u, struct archive_entry *e, int pfd, const char *base, const char *name, husk_error_t *err)
{
  const char *xname;
  const void *val;
  size_t len;
  if (archive_entry_xattr_reset (e) == 0)
    return 0;
  while (archive_entry_xattr_next (e, &xname, &val, &len) == ARCHIVE_OK)
    {
      char path[PATH_MAX];
      /* overlayfs reads its own xattrs (redirect, metacopy, ...) from lower
         dirs: a layer must never set them. */
      if (strncmp (xname, "trusted.overlay.", 16) == 0)
        continue;
      snprintf (path, sizeof path, "/proc/self/fd/%d/%s", pfd, base);
      if (lsetxattr (path, xname, val, len, 0) < 0)
        {
          if (errno == ENOTSUP || errno == EPERM || (!u->root && errno == EACCES))
            continue;
          return husk_error_make (err, errno, "cannot set xattr `%s` on `%s`", xname, name);
        }
    }
  return 0;
}

/* OVERLAY mode: a hardlink to a file of a lower layer cannot be a link
 * across directories; copy the file (what a copy-up would do). */
static int
copy_from_lower (unpack_t *u, const char *target, int pfd, const char *base, const char *name, husk_error_t *err)
{
  for (size_t i = 0; i < u->n_lowers; i++)
    {
      husk_auto_error husk_error_t e2 = NULL;
      husk_autoclose int in = husk_open_in_root (u->lowers[i], target, O_RDONLY | O_NOFOLLOW, 0, &e2);
      husk_autoclose int out = -1;
      struct stat st;
      char buf[1 << 16];
      ssize_t n;
      if (in < 0 || fstat (in, &st) < 0 || !S_ISREG (st.st_mode))
        continue;
      out = openat (pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (out < 0)
        return husk_error_make (err, errno, "cannot create `%s`", name);
      while ((n = read (in, buf, sizeof buf)) != 0)
        {
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0 || husk_write_all (out, buf, (size_t) n) < 0)
            return husk_error_make (err, errno, "cannot copy `%s` for hardlink `%s`", target, name);
        }
      if (u->root && fchown (out, st.st_uid, st.st_gid) < 0)
        return husk_error_make (err, errno, "cannot chown `%s`", name);
      if (fchmod (out, st.st_mode & 07777) < 0)
        return husk_error_make (err, errno, "cannot chmod `%s`", name);
      {
        struct timespec ts[2] = { st.st_atim, st.st_mtim };
        futimens (out, ts);
      }
      return 0;
    }
  return husk_error_make (err, ENOENT, "cannot link `%s` to `%s`", name, target);
}

static int
extract_entry (unpack_t *u, struct archive *a, struct archive_entry *e, const char *name, husk_error_t *err)
{
  husk_autofree char *buf = xstrdup (name);
  husk_autoclose int pfd = -1;
  husk_autoclose int fd = -1;
  const char *parent, *base;
  mode_t type = archive_entry_filetype (e);
  mode_t perm = archive_entry_perm (e) & 07777;
  const char *hardlink = archive_entry_hardlink (e);
  struct stat st;
  struct timespec ts[2];

  split_name (buf, &parent, &base);
  pfd = open_parent (u, parent, err);
  if (pfd < 0)
    return -1;

  if (fstatat (pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (!(S_ISDIR (st.st_mode) && type == AE_IFDIR && hardlink == NULL))
        if (hb_rm_rf_at (pfd, base, err) < 0)
          return -1;
    }
  else if (errno != ENOENT)
    return husk_error_make (err, errno, "cannot stat `%s`", name);

  if (hardlink)
    {
      husk_autofree char *target = NULL;
      husk_autoclose int tpfd = -1;
      const char *tparent, *tbase;
      husk_autofree char *target_full = NULL;
      if (clean_name (hardlink, &target, err) < 0)
        return husk_error_wrap (err, "hardlink `%s`", name);
      target_full = xstrdup (target);
      split_name (target, &tparent, &tbase);
      if (*tbase == '\0')
        return husk_error_make (err, 0, "hardlink `%s` to the root", name);
      tpfd = husk_open_in_root (u->root_fd, *tparent ? tparent : ".", O_PATH | O_DIRECTORY, 0, err);
      if (tpfd < 0)
        return husk_error_wrap (err, "hardlink `%s`", name);
      if (linkat (tpfd, tbase, pfd, base, 0) < 0)
        {
          if (errno == ENOENT && u->n_lowers > 0)
            return copy_from_lower (u, target_full, pfd, base, name, err);
          return husk_error_make (err, errno, "cannot link `%s` to `%s`", name, hardlink);
        }
      return 0;
    }

  switch (type)
    {
    case AE_IFDIR:
      if (mkdirat (pfd, base, 0700) < 0 && errno != EEXIST)
        return husk_error_make (err, errno, "cannot create directory `%s`", name);
      break;
    case AE_IFREG:
      fd = openat (pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        return husk_error_make (err, errno, "cannot create `%s`", name);
      if (write_data (a, fd, name, archive_entry_size (e), err) < 0)
        return -1;
      break;
    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (e);
        if (target == NULL)
          return husk_error_make (err, 0, "symlink `%s` without a target", name);
        if (symlinkat (target, pfd, base) < 0)
          return husk_error_make (err, errno, "cannot create symlink `%s`", name);
        break;
      }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      if (mknodat (pfd, base, type | perm, archive_entry_rdev (e)) < 0)
        {
          if (!u->root && errno == EPERM)
            return 0; /* rootless: devices cannot be made */
          return husk_error_make (err, errno, "cannot create device `%s`", name);
        }
      break;
    default:
      return 0; /* sockets and the like: skipped */
    }

  if (u->root
      && fchownat (pfd, base, (uid_t) archive_entry_uid (e), (gid_t) archive_entry_gid (e), AT_SYMLINK_NOFOLLOW) < 0)
    return husk_error_make (err, errno, "cannot chown `%s`", name);
  if (set_xattrs (u, e, pfd, base, name, err) < 0)
    return -1;
  if (type != AE_IFLNK)
    {
      int r = fd >= 0 ? fchmod (fd, perm) : fchmodat (pfd, base, perm, 0);
      if (r < 0)
        return husk_error_make (err, errno, "cannot chmod `%s`", name);
    }
  ts[0].tv_sec = archive_entry_atime_is_set (e) ? archive_entry_atime (e) : archive_entry_mtime (e);
  ts[0].tv_nsec = archive_entry_atime_is_set (e) ? archive_entry_atime_nsec (e) : archive_entry_mtime_nsec (e);
  ts[1].tv_sec = archive_entry_mtime (e);
  ts[1].tv_nsec = archive_entry_mtime_nsec (e);
  if (type == AE_IFDIR)
    {
      u->dirs = xrealloc (u->dirs, (u->n_dirs + 1) * sizeof *u->dirs);
      u->dirs[u->n_dirs].path = xstrdup (name);
      memcpy (u->dirs[u->n_dirs].ts, ts, sizeof ts);
      u->n_dirs++;
    }
  else if (utimensat (pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return husk_error_make (err, errno, "cannot set the times of `%s`", name);
  return 0;
}

static void
unpack_clear (unpack_t *u)
{
  tdestroy (u->seen, free);
  u->seen = NULL;
  for (size_t i = 0; i < u->n_dirs; i++)
    free (u->dirs[i].path);
  free (u->dirs);
  u->dirs = NULL;
  u->n_dirs = 0;
}

static void
archive_freep (struct archive **a)
{
  if (*a)
    archive_read_free (*a);
}

/* The blob as libarchive reads it, hashed on the way when a digest is expected. */
typedef struct
{
  int fd;
  hb_sha256_t *sha;
  char buf[1 << 16];
} blob_reader_t;

static la_ssize_t
blob_read (struct archive *a, void *data, const void **out)
{
  blob_reader_t *br = data;
  ssize_t n;
  do
    n = read (br->fd, br->buf, sizeof br->buf);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      archive_set_error (a, errno, "read error");
      return -1;
    }
  if (br->sha && n > 0)
    hb_sha256_update (br->sha, br->buf, (size_t) n);
  *out = br->buf;
  return n;
}

/* After the archive: hash what libarchive did not read and compare. */
static int
blob_verify (blob_reader_t *br, const char *digest, const char *what, husk_error_t *err)
{
  husk_autofree char *got = NULL;
  ssize_t n;
  while ((n = read (br->fd, br->buf, sizeof br->buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      hb_sha256_update (br->sha, br->buf, (size_t) n);
  if (n < 0)
    return husk_error_make (err, errno, "cannot read layer `%s`", what);
  got = hb_sha256_finish (br->sha);
  br->sha = NULL;
  if (strcmp (got, digest) != 0)
    return husk_error_make (err, 0, "layer `%s`: digest mismatch: expected %s, got %s", what, digest, got);
  return 0;
}

static int
unpack_stream (int root_fd, int blob_fd, const char *digest, const char *what, hb_unpack_mode_t mode, const int *lowers,
               size_t n_lowers, husk_error_t *err)
{
  __attribute__ ((cleanup (archive_freep))) struct archive *a = archive_read_new ();
  husk_autofree blob_reader_t *br = xmalloc0 (sizeof *br);
  struct archive_entry *e;
  unpack_t u = {
    .root_fd = root_fd, .mode = mode, .what = what, .root = geteuid () == 0, .lowers = lowers, .n_lowers = n_lowers
  };
  int r, ret = 0;

  br->fd = blob_fd;
  br->sha = digest ? hb_sha256_new () : NULL;
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_filter_bzip2 (a); /* not in layers, but ADD takes them */
  archive_read_support_filter_xz (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_empty (a);
  if (archive_read_open (a, br, NULL, blob_read, NULL) != ARCHIVE_OK)
    {
      hb_sha256_free (br->sha);
      return husk_error_make (err, 0, "cannot read layer `%s`: %s", what, archive_error_string (a));
    }

  while ((r = archive_read_next_header (a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
    {
      husk_autofree char *name = NULL;
      husk_autofree char *copy = NULL;
      const char *parent, *base;
      const char *raw = archive_entry_pathname (e);

      if (raw == NULL)
        {
          ret = husk_error_make (err, 0, "layer `%s`: entry without a name", what);
          break;
        }
      if (clean_name (raw, &name, err) < 0)
        {
          ret = husk_error_wrap (err, "layer `%s`", what);
          break;
        }
      if (*name == '\0')
        continue; /* the root itself keeps the mode of the directory we unpack into */
      copy = xstrdup (name);
      split_name (copy, &parent, &base);
      if (strncmp (base, WH_PREFIX, strlen (WH_PREFIX)) == 0)
        {
          ret = apply_whiteout (&u, name, parent, base, err);
          if (ret < 0)
            {
              husk_error_wrap (err, "layer `%s`", what);
              break;
            }
          continue;
        }
      seen_add (&u, name);
      if (extract_entry (&u, a, e, name, err) < 0)
        {
          ret = husk_error_wrap (err, "layer `%s`", what);
          break;
        }
    }
  if (ret == 0 && r != ARCHIVE_EOF)
    ret = husk_error_make (err, 0, "cannot read layer `%s`: %s", what, archive_error_string (a));

  /* Directory times last, deepest first (children changed them). */
  for (size_t i = u.n_dirs; ret == 0 && i > 0; i--)
    {
      husk_auto_error husk_error_t e2 = NULL;
      husk_autoclose int fd
          = husk_open_in_root (root_fd, u.dirs[i - 1].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, &e2);
      if (fd >= 0)
        futimens (fd, u.dirs[i - 1].ts);
    }
  unpack_clear (&u);
  if (ret == 0 && br->sha)
    ret = blob_verify (br, digest, what, err);
  hb_sha256_free (br->sha);
  return ret;
}

int
hb_unpack_layer_fd (int root_fd, int blob_fd, const char *what, hb_unpack_mode_t mode, husk_error_t *err)
{
  return unpack_stream (root_fd, blob_fd, NULL, what, mode, NULL, 0, err);
}

static int
unpack_blob (hb_store_t *s, const hb_desc_t *layer, int root_fd, hb_unpack_mode_t mode, const int *lowers,
             size_t n_lowers, husk_error_t *err)
{
  husk_autofree char *path = hb_store_blob_path (s, layer->digest);
  husk_autoclose int fd = -1;
  if (path == NULL)
    return husk_error_make (err, 0, "invalid layer digest `%s`", layer->digest ? layer->digest : "");
  if (hb_layer_compression (layer->media_type) == HB_COMPRESS_UNKNOWN)
    return husk_error_make (err, 0, "unsupported layer media type `%s`", layer->media_type ? layer->media_type : "");
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot open layer `%s`", layer->digest);
  return unpack_stream (root_fd, fd, layer->digest, layer->digest, mode, lowers, n_lowers, err);
}

/* A fresh directory next to dest, for rename(2) into place. */
static int
sibling_tmpdir (const char *dest, char **out, husk_error_t *err)
{
  husk_autofree char *tmpl = xstrdup_printf ("%s.tmp-XXXXXX", dest);
  if (mkdtemp (tmpl) == NULL)
    return husk_error_make (err, errno, "cannot create a directory next to `%s`", dest);
  *out = steal_ptr (&tmpl);
  return 0;
}

int
hb_unpack_image (hb_store_t *s, const hb_manifest_t *m, const char *dest, husk_error_t *err)
{
  husk_autofree char *tmp = NULL;
  husk_autoclose int root_fd = -1;
  struct stat st;

  if (lstat (dest, &st) == 0)
    return husk_error_make (err, EEXIST, "cannot unpack into `%s`", dest);
  if (sibling_tmpdir (dest, &tmp, err) < 0)
    return -1;
  if (chmod (tmp, 0755) < 0)
    goto fail_errno;
  root_fd = open (tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    goto fail_errno;
  for (size_t i = 0; i < m->layers_len; i++)
    if (unpack_blob (s, &m->layers[i], root_fd, HB_UNPACK_APPLY, NULL, 0, err) < 0)
      goto fail;
  if (rename (tmp, dest) < 0)
    goto fail_errno;
  return 0;

fail_errno:
  husk_error_make (err, errno, "cannot unpack into `%s`", dest);
fail:
  {
    husk_auto_error husk_error_t e2 = NULL;
    husk_rm_rf (tmp, &e2);
  }
  return -1;
}

/* One layer into <store>/layers/<hex>, with the dirs of the layers below. */
static int
layer_dir_one (hb_store_t *s, const char *layers, const hb_desc_t *layer, const char *key, char **const lower_paths,
               size_t n_lower, char **path, husk_error_t *err)
{
  husk_autofree char *dest = NULL;
  husk_autofree char *tmp = NULL;
  husk_autofree int *lfds = NULL;
  husk_autoclose int root_fd = -1;
  struct stat st;
  int ret = -1;

  if (key == NULL || !hb_digest_valid (key))
    return husk_error_make (err, 0, "invalid layer id `%s`", key ? key : "");
  dest = xstrdup_printf ("%s/%s", layers, key + strlen ("sha256:"));
  if (stat (dest, &st) == 0)
    {
      *path = steal_ptr (&dest);
      return 0;
    }
  if (sibling_tmpdir (dest, &tmp, err) < 0)
    return -1;
  lfds = xmalloc0 ((n_lower + 1) * sizeof *lfds);
  for (size_t i = 0; i < n_lower; i++)
    lfds[i] = -1;
  if (chmod (tmp, 0755) < 0)
    {
      husk_error_make (err, errno, "cannot unpack layer into `%s`", dest);
      goto out;
    }
  root_fd = open (tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    {
      husk_error_make (err, errno, "cannot unpack layer into `%s`", dest);
      goto out;
    }
  /* lower_paths are bottom first; the unpacker wants top first. */
  for (size_t i = 0; i < n_lower; i++)
    {
      lfds[i] = open (lower_paths[n_lower - 1 - i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (lfds[i] < 0)
        {
          husk_error_make (err, errno, "cannot open `%s`", lower_paths[n_lower - 1 - i]);
          goto out;
        }
    }
  if (unpack_blob (s, layer, root_fd, HB_UNPACK_OVERLAY, lfds, n_lower, err) < 0)
    goto out;
  if (rename (tmp, dest) < 0)
    {
      /* Someone else unpacked it meanwhile: use theirs. */
      if (errno != EEXIST && errno != ENOTEMPTY)
        {
          husk_error_make (err, errno, "cannot unpack layer into `%s`", dest);
          goto out;
        }
    }
  else
    free (steal_ptr (&tmp));
  *path = steal_ptr (&dest);
  ret = 0;
out:
  for (size_t i = 0; i < n_lower; i++)
    if (lfds[i] >= 0)
      close (lfds[i]);
  if (tmp)
    {
      husk_auto_error husk_error_t e2 = NULL;
      husk_rm_rf (tmp, &e2);
    }
  return ret;
}

int
hb_layer_dirs (hb_store_t *s, const hb_desc_t *layers, char *const *diff_ids, size_t n, char ***paths,
               husk_error_t *err)
{
  husk_autofree char *dir = NULL;
  char **v = xmalloc0 ((n + 1) * sizeof *v);
  if (hb_store_subdir (s, "layers", true, &dir, err) < 0)
    {
      free (v);
      return -1;
    }
  for (size_t i = 0; i < n; i++)
    if (layer_dir_one (s, dir, &layers[i], diff_ids ? diff_ids[i] : layers[i].digest, v, i, &v[i], err) < 0)
      {
        husk_strv_free (v);
        return -1;
      }
  *paths = v;
  return 0;
}

/* ---- directories -> layers (build steps) ------------------------------- */

/* The tar stream goes through two libarchive writers: `tar` (pax, no filter)
 * whose output is hashed for the diff-id and handed to `gz` (raw format, gzip
 * filter) whose output is hashed for the digest and written to a store temp
 * file.  The upper directory of an overlay is walked in name order; its
 * whiteouts (char 0:0) become `.wh.NAME` and opaque directories
 * (trusted.overlay.opaque=y) get a `.wh..wh..opq` entry. */
typedef struct
{
  struct archive *tar, *gz;
  hb_sha256_t *diff, *digest;
  int out_fd;
  int64_t size;
  bool failed;
  int err_no;
  /* hardlinks: first path of each (dev, ino) with nlink > 1 */
  dev_t *devs;
  ino_t *inos;
  char **paths;
  size_t n_links;
} pack_t;

static la_ssize_t
gz_write (struct archive *a, void *data, const void *buf, size_t len)
{
  pack_t *p = data;
  hb_sha256_update (p->digest, buf, len);
  if (husk_write_all (p->out_fd, buf, len) < 0)
    {
      archive_set_error (a, errno, "cannot write the layer");
      return -1;
    }
  p->size += (int64_t) len;
  return (la_ssize_t) len;
}

static la_ssize_t
tar_write (struct archive *a, void *data, const void *buf, size_t len)
{
  pack_t *p = data;
  hb_sha256_update (p->diff, buf, len);
  if (archive_write_data (p->gz, buf, len) < 0)
    {
      archive_set_error (a, EIO, "gzip: %s", archive_error_string (p->gz));
      return -1;
    }
  return (la_ssize_t) len;
}

static int
pack_add_xattrs (struct archive_entry *e, const char *procpath, bool *opaque)
{
  char list[65536];
  ssize_t n = llistxattr (procpath, list, sizeof list);
  *opaque = false;
  for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t) strlen (list + i) + 1)
    {
      const char *name = list + i;
      char val[65536];
      ssize_t vn = lgetxattr (procpath, name, val, sizeof val);
      if (vn < 0)
        continue;
      if (strncmp (name, "trusted.overlay.", 16) == 0)
        {
          if (strcmp (name, "trusted.overlay.opaque") == 0 && vn == 1 && val[0] == 'y')
            *opaque = true;
          continue;
        }
      archive_entry_xattr_add_entry (e, name, val, (size_t) vn);
    }
  return 0;
}

static int
pack_header (pack_t *p, struct archive_entry *e, const char *rel, husk_error_t *err)
{
  if (archive_write_header (p->tar, e) < ARCHIVE_WARN)
    return husk_error_make (err, 0, "cannot add `%s` to the layer: %s", rel, archive_error_string (p->tar));
  return 0;
}

static int
cmp_names (const struct dirent **a, const struct dirent **b)
{
  return strcmp ((*a)->d_name, (*b)->d_name);
}

static int
no_dots (const struct dirent *d)
{
  return strcmp (d->d_name, ".") != 0 && strcmp (d->d_name, "..") != 0;
}

static int pack_dir (pack_t *p, int dfd, const char *rel, husk_error_t *err);

static int
pack_one (pack_t *p, int dfd, const char *name, const char *rel, husk_error_t *err)
{
  struct archive_entry *e;
  struct stat st;
  char procpath[PATH_MAX];
  bool opaque = false;
  int ret = 0;

  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return husk_error_make (err, errno, "cannot stat `%s`", rel);
  snprintf (procpath, sizeof procpath, "/proc/self/fd/%d/%s", dfd, name);

  e = archive_entry_new ();
  if (S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0))
    {
      /* overlayfs whiteout */
      husk_autofree char *wh = NULL;
      const char *slash = strrchr (rel, '/');
      wh = slash ? xstrdup_printf ("%.*s/" WH_PREFIX "%s", (int) (slash - rel), rel, slash + 1)
                 : xstrdup_printf (WH_PREFIX "%s", rel);
      archive_entry_set_pathname (e, wh);
      archive_entry_set_filetype (e, AE_IFREG);
      archive_entry_set_perm (e, 0);
      archive_entry_set_size (e, 0);
      archive_entry_set_mtime (e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
      ret = pack_header (p, e, rel, err);
      archive_entry_free (e);
      return ret;
    }

  archive_entry_copy_stat (e, &st);
  archive_entry_set_pathname (e, rel);
  archive_entry_unset_atime (e);
  archive_entry_unset_ctime (e);
  archive_entry_unset_birthtime (e);
  pack_add_xattrs (e, procpath, &opaque);

  if (S_ISLNK (st.st_mode))
    {
      char target[PATH_MAX];
      ssize_t n = readlinkat (dfd, name, target, sizeof target - 1);
      if (n < 0)
        {
          archive_entry_free (e);
          return husk_error_make (err, errno, "cannot read link `%s`", rel);
        }
      target[n] = '\0';
      archive_entry_set_symlink (e, target);
      archive_entry_set_size (e, 0);
    }
  else if (S_ISREG (st.st_mode) && st.st_nlink > 1)
    {
      for (size_t i = 0; i < p->n_links; i++)
        if (p->devs[i] == st.st_dev && p->inos[i] == st.st_ino)
          {
            archive_entry_set_hardlink (e, p->paths[i]);
            archive_entry_set_size (e, 0);
            ret = pack_header (p, e, rel, err);
            archive_entry_free (e);
            return ret;
          }
      p->devs = xrealloc (p->devs, (p->n_links + 1) * sizeof *p->devs);
      p->inos = xrealloc (p->inos, (p->n_links + 1) * sizeof *p->inos);
      p->paths = xrealloc (p->paths, (p->n_links + 1) * sizeof *p->paths);
      p->devs[p->n_links] = st.st_dev;
      p->inos[p->n_links] = st.st_ino;
      p->paths[p->n_links++] = xstrdup (rel);
    }
  else if (!S_ISREG (st.st_mode))
    archive_entry_set_size (e, 0);

  ret = pack_header (p, e, rel, err);
  archive_entry_free (e);
  if (ret < 0)
    return -1;

  if (S_ISREG (st.st_mode))
    {
      husk_autoclose int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      char buf[1 << 16];
      ssize_t n;
      int64_t left = st.st_size;
      if (fd < 0)
        return husk_error_make (err, errno, "cannot open `%s`", rel);
      while (left > 0 && (n = read (fd, buf, sizeof buf)) != 0)
        {
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return husk_error_make (err, errno, "cannot read `%s`", rel);
          if (n > left)
            n = (ssize_t) left;
          if (archive_write_data (p->tar, buf, (size_t) n) < 0)
            return husk_error_make (err, 0, "cannot add `%s` to the layer: %s", rel, archive_error_string (p->tar));
          left -= n;
        }
      if (left > 0)
        return husk_error_make (err, 0, "`%s` shrank while it was added to the layer", rel);
    }
  else if (S_ISDIR (st.st_mode))
    {
      husk_autoclose int sub = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        return husk_error_make (err, errno, "cannot open `%s`", rel);
      if (opaque)
        {
          husk_autofree char *wh = xstrdup_printf ("%s/" WH_OPAQUE, rel);
          e = archive_entry_new ();
          archive_entry_set_pathname (e, wh);
          archive_entry_set_filetype (e, AE_IFREG);
          archive_entry_set_perm (e, 0);
          archive_entry_set_size (e, 0);
          archive_entry_set_mtime (e, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
          ret = pack_header (p, e, rel, err);
          archive_entry_free (e);
          if (ret < 0)
            return -1;
        }
      return pack_dir (p, sub, rel, err);
    }
  return 0;
}

static int
pack_dir (pack_t *p, int dfd, const char *rel, husk_error_t *err)
{
  struct dirent **names = NULL;
  char self[64];
  int n, ret = 0;
  snprintf (self, sizeof self, "/proc/self/fd/%d", dfd);
  n = scandir (self, &names, no_dots, cmp_names);
  if (n < 0)
    return husk_error_make (err, errno, "cannot read directory `%s`", *rel ? rel : "/");
  for (int i = 0; i < n; i++)
    {
      if (ret == 0)
        {
          husk_autofree char *child
              = *rel ? xstrdup_printf ("%s/%s", rel, names[i]->d_name) : xstrdup (names[i]->d_name);
          ret = pack_one (p, dfd, names[i]->d_name, child, err);
        }
      free (names[i]);
    }
  free (names);
  return ret;
}

static void
pack_clear (pack_t *p)
{
  if (p->tar)
    archive_write_free (p->tar);
  if (p->gz)
    archive_write_free (p->gz);
  hb_sha256_free (p->diff);
  hb_sha256_free (p->digest);
  for (size_t i = 0; i < p->n_links; i++)
    free (p->paths[i]);
  free (p->paths);
  free (p->devs);
  free (p->inos);
}

int
hb_layer_from_dir (hb_store_t *s, const char *dir, hb_desc_t *layer, char **diff_id, husk_error_t *err)
{
  pack_t p = { .out_fd = -1 };
  husk_autofree char *tmp = NULL;
  husk_autofree char *digest = NULL;
  husk_autofree char *diff = NULL;
  husk_autoclose int dfd = -1;
  struct archive_entry *e;
  int ret = -1;

  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return husk_error_make (err, errno, "cannot open `%s`", dir);
  if (hb_store_tmpfile (s, &tmp, &p.out_fd, err) < 0)
    return -1;
  p.diff = hb_sha256_new ();
  p.digest = hb_sha256_new ();

  p.gz = archive_write_new ();
  archive_write_add_filter_gzip (p.gz);
  archive_write_set_options (p.gz, "gzip:!timestamp");
  archive_write_set_format_raw (p.gz);
  archive_write_set_bytes_in_last_block (p.gz, 1);
  if (archive_write_open (p.gz, &p, NULL, gz_write, NULL) != ARCHIVE_OK)
    {
      husk_error_make (err, 0, "gzip: %s", archive_error_string (p.gz));
      goto out;
    }
  e = archive_entry_new ();
  archive_entry_set_pathname (e, "layer.tar");
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_write_header (p.gz, e);
  archive_entry_free (e);

  p.tar = archive_write_new ();
  archive_write_set_format_pax_restricted (p.tar);
  archive_write_set_bytes_per_block (p.tar, 10240);
  if (archive_write_open (p.tar, &p, NULL, tar_write, NULL) != ARCHIVE_OK)
    {
      husk_error_make (err, 0, "tar: %s", archive_error_string (p.tar));
      goto out;
    }
  if (pack_dir (&p, dfd, "", err) < 0)
    goto out;
  if (archive_write_close (p.tar) != ARCHIVE_OK)
    {
      husk_error_make (err, 0, "tar: %s", archive_error_string (p.tar));
      goto out;
    }
  if (archive_write_close (p.gz) != ARCHIVE_OK)
    {
      husk_error_make (err, 0, "gzip: %s", archive_error_string (p.gz));
      goto out;
    }
  close (p.out_fd);
  p.out_fd = -1;
  diff = hb_sha256_finish (p.diff);
  p.diff = NULL;
  digest = hb_sha256_finish (p.digest);
  p.digest = NULL;
  if (hb_store_put_file_verified (s, tmp, digest, err) < 0)
    {
      free (steal_ptr (&tmp)); /* removed by put */
      goto out;
    }
  free (steal_ptr (&tmp));
  layer->media_type = xstrdup (HB_MT_OCI_LAYER_GZIP);
  layer->digest = steal_ptr (&digest);
  layer->size = p.size;
  *diff_id = steal_ptr (&diff);
  ret = 0;

out:
  if (p.out_fd >= 0)
    close (p.out_fd);
  if (tmp)
    unlink (tmp);
  pack_clear (&p);
  return ret;
}
