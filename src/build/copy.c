/* husk-build: the file side of COPY, from the build context or from an
 * earlier stage's root (COPY --from): source expansion (wildcards in the
 * last component, `..` kept inside the source root), a content hash of the
 * sources for the cache key, and the copy itself into a rootfs (owners from
 * --chown, modes, times, symlinks as they are; devices and fifos skipped).
 * Every path is resolved inside its root (husk_open_in_root). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include "internal.h"
#include "rootfs.h"
#include "build.h"
#include "copy.h"

static bool
has_glob (const char *s)
{
  return strpbrk (s, "*?[") != NULL;
}

static int
cmp_strp (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Lexically clean a context path; `..` above the context is refused. */
static int
context_path (const char *src, char **out, husk_error_t *err)
{
  char **parts = NULL;
  size_t n = 0;
  husk_autofree char *copy = xstrdup (src);
  char *save = NULL;
  for (char *t = strtok_r (copy, "/", &save); t; t = strtok_r (NULL, "/", &save))
    {
      if (strcmp (t, ".") == 0)
        continue;
      if (strcmp (t, "..") == 0)
        {
          if (n == 0)
            {
              free (parts);
              return husk_error_make (err, 0, "COPY: forbidden path outside the build context: %s", src);
            }
          n--;
          continue;
        }
      parts = xrealloc (parts, (n + 1) * sizeof *parts);
      parts[n++] = t;
    }
  {
    size_t len = 1;
    char *r;
    for (size_t i = 0; i < n; i++)
      len += strlen (parts[i]) + 1;
    r = xmalloc0 (len + 1);
    for (size_t i = 0; i < n; i++)
      {
        if (i)
          strcat (r, "/");
        strcat (r, parts[i]);
      }
    if (*r == '\0')
      {
        free (r);
        r = xstrdup (".");
      }
    *out = r;
  }
  free (parts);
  return 0;
}

int
hb_copy_sources (int src_fd, char *const *srcs, size_t n, char ***out, husk_error_t *err)
{
  husk_autostrv char **v = NULL;
  for (size_t i = 0; i < n; i++)
    {
      husk_autofree char *p = NULL;
      if (context_path (srcs[i], &p, err) < 0)
        return -1;
      if (!has_glob (p))
        {
          husk_autoclose int fd = husk_open_in_root (src_fd, p, O_PATH, 0, err);
          if (fd < 0)
            return husk_error_wrap (err, "COPY: source `%s`", srcs[i]);
          husk_strv_add (&v, p);
          continue;
        }
      {
        char *slash = strrchr (p, '/');
        const char *pattern = slash ? slash + 1 : p;
        husk_autofree char *parent = slash ? xstrndup (p, (size_t) (slash - p)) : xstrdup (".");
        husk_autoclosedir DIR *d = NULL;
        struct dirent *de;
        size_t before = husk_strv_len (v);
        int fd;
        if (has_glob (parent))
          return husk_error_make (err, 0, "COPY: wildcards are only supported in the last component (`%s`)", srcs[i]);
        fd = husk_open_in_root (src_fd, parent, O_RDONLY | O_DIRECTORY, 0, err);
        if (fd < 0)
          return husk_error_wrap (err, "COPY: source `%s`", srcs[i]);
        d = fdopendir (fd);
        if (d == NULL)
          {
            close (fd);
            return husk_error_make (err, errno, "COPY: cannot read `%s`", parent);
          }
        while ((de = readdir (d)))
          if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..") && fnmatch (pattern, de->d_name, FNM_PERIOD) == 0)
            {
              husk_autofree char *m = slash ? xstrdup_printf ("%s/%s", parent, de->d_name) : xstrdup (de->d_name);
              husk_strv_add (&v, m);
            }
        if (husk_strv_len (v) == before)
          return husk_error_make (err, 0, "COPY: no source files match `%s`", srcs[i]);
        qsort (v + before, husk_strv_len (v) - before, sizeof *v, cmp_strp);
      }
    }
  *out = steal_ptr (&v);
  return 0;
}

/* Hash names, types, modes and contents of the node open at fd (for the
 * cache key); children are not followed when they are symlinks. */
static int
hash_fd (hb_sha256_t *h, int fd, const char *rel, husk_error_t *err)
{
  struct stat st;
  char line[PATH_MAX + 64];
  if (fstat (fd, &st) < 0)
    return husk_error_make (err, errno, "COPY: cannot stat `%s`", rel);
  snprintf (line, sizeof line, "%s %o\n", rel, (unsigned) st.st_mode);
  hb_sha256_update (h, line, strlen (line));
  if (S_ISREG (st.st_mode))
    {
      char buf[1 << 16];
      ssize_t n;
      while ((n = read (fd, buf, sizeof buf)) > 0)
        hb_sha256_update (h, buf, (size_t) n);
      if (n < 0)
        return husk_error_make (err, errno, "COPY: cannot read `%s`", rel);
    }
  else if (S_ISDIR (st.st_mode))
    {
      struct dirent **names = NULL;
      char self[64];
      int n, ret = 0;
      snprintf (self, sizeof self, "/proc/self/fd/%d", fd);
      n = scandir (self, &names, NULL, alphasort);
      if (n < 0)
        return husk_error_make (err, errno, "COPY: cannot read `%s`", rel);
      for (int i = 0; i < n; i++)
        {
          const char *nm = names[i]->d_name;
          if (ret == 0 && strcmp (nm, ".") && strcmp (nm, ".."))
            {
              husk_autofree char *child = xstrdup_printf ("%s/%s", rel, nm);
              struct stat cst;
              if (fstatat (fd, nm, &cst, AT_SYMLINK_NOFOLLOW) < 0)
                ret = husk_error_make (err, errno, "COPY: cannot stat `%s`", child);
              else if (S_ISLNK (cst.st_mode))
                {
                  char target[PATH_MAX];
                  ssize_t tn = readlinkat (fd, nm, target, sizeof target);
                  snprintf (line, sizeof line, "%s -> ", child);
                  hb_sha256_update (h, line, strlen (line));
                  if (tn > 0)
                    hb_sha256_update (h, target, (size_t) tn);
                }
              else if (S_ISREG (cst.st_mode) || S_ISDIR (cst.st_mode))
                {
                  husk_autoclose int cfd = openat (fd, nm, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                  ret = cfd < 0 ? husk_error_make (err, errno, "COPY: cannot open `%s`", child)
                                : hash_fd (h, cfd, child, err);
                }
            }
          free (names[i]);
        }
      free (names);
      return ret;
    }
  return 0;
}

int
hb_copy_hash (int src_fd, char *const *srcs, char **out, husk_error_t *err)
{
  hb_sha256_t *h = hb_sha256_new ();
  for (size_t i = 0; srcs && srcs[i]; i++)
    {
      husk_autoclose int fd = husk_open_in_root (src_fd, srcs[i], O_RDONLY, 0, err);
      if (fd < 0 || hash_fd (h, fd, srcs[i], err) < 0)
        {
          hb_sha256_free (h);
          return -1;
        }
    }
  *out = hb_sha256_finish (h);
  return 0;
}

typedef struct
{
  uid_t uid;
  gid_t gid;
} owner_t;

static int copy_node (int sdir, const char *sname, int ddir, const char *dname, const owner_t *o, husk_error_t *err);

static int
copy_file_fd (int in, const struct stat *st, int ddir, const char *dname, const owner_t *o, husk_error_t *err)
{
  husk_autoclose int out = -1;
  struct stat dst;
  struct timespec ts[2] = { st->st_atim, st->st_mtim };
  char buf[1 << 16];
  ssize_t n;
  if (fstatat (ddir, dname, &dst, AT_SYMLINK_NOFOLLOW) == 0 && hb_rm_rf_at (ddir, dname, err) < 0)
    return -1;
  out = openat (ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return husk_error_make (err, errno, "COPY: cannot create `%s`", dname);
  while ((n = read (in, buf, sizeof buf)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || husk_write_all (out, buf, (size_t) n) < 0)
        return husk_error_make (err, errno, "COPY: cannot copy to `%s`", dname);
    }
  if (fchown (out, o->uid, o->gid) < 0 || fchmod (out, st->st_mode & 07777) < 0)
    return husk_error_make (err, errno, "COPY: cannot set the owner or mode of `%s`", dname);
  futimens (out, ts);
  return 0;
}

static int
copy_dir_contents (int sfd, int dfd, const owner_t *o, husk_error_t *err)
{
  struct dirent **names = NULL;
  char self[64];
  int n, ret = 0;
  snprintf (self, sizeof self, "/proc/self/fd/%d", sfd);
  n = scandir (self, &names, NULL, alphasort);
  if (n < 0)
    return husk_error_make (err, errno, "COPY: cannot read a source directory");
  for (int i = 0; i < n; i++)
    {
      if (ret == 0 && strcmp (names[i]->d_name, ".") && strcmp (names[i]->d_name, ".."))
        ret = copy_node (sfd, names[i]->d_name, dfd, names[i]->d_name, o, err);
      free (names[i]);
    }
  free (names);
  return ret;
}

static int
copy_node (int sdir, const char *sname, int ddir, const char *dname, const owner_t *o, husk_error_t *err)
{
  struct stat st, dst;
  struct timespec ts[2];
  bool exists = fstatat (ddir, dname, &dst, AT_SYMLINK_NOFOLLOW) == 0;

  if (fstatat (sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return husk_error_make (err, errno, "COPY: cannot stat `%s`", sname);
  ts[0] = st.st_atim;
  ts[1] = st.st_mtim;
  if (exists && !(S_ISDIR (st.st_mode) && S_ISDIR (dst.st_mode)) && hb_rm_rf_at (ddir, dname, err) < 0)
    return -1;

  if (S_ISDIR (st.st_mode))
    {
      husk_autoclose int sfd = openat (sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      husk_autoclose int dfd = -1;
      if (sfd < 0)
        return husk_error_make (err, errno, "COPY: cannot open `%s`", sname);
      if (mkdirat (ddir, dname, 0755) < 0 && errno != EEXIST)
        return husk_error_make (err, errno, "COPY: cannot create `%s`", dname);
      dfd = openat (ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dfd < 0)
        return husk_error_make (err, errno, "COPY: cannot open `%s`", dname);
      if (copy_dir_contents (sfd, dfd, o, err) < 0)
        return -1;
      if (fchown (dfd, o->uid, o->gid) < 0 || fchmod (dfd, st.st_mode & 07777) < 0)
        return husk_error_make (err, errno, "COPY: cannot set the owner or mode of `%s`", dname);
      futimens (dfd, ts);
      return 0;
    }
  if (S_ISLNK (st.st_mode))
    {
      char target[PATH_MAX];
      ssize_t n = readlinkat (sdir, sname, target, sizeof target - 1);
      if (n < 0)
        return husk_error_make (err, errno, "COPY: cannot read link `%s`", sname);
      target[n] = '\0';
      if (symlinkat (target, ddir, dname) < 0)
        return husk_error_make (err, errno, "COPY: cannot create symlink `%s`", dname);
      fchownat (ddir, dname, o->uid, o->gid, AT_SYMLINK_NOFOLLOW);
      utimensat (ddir, dname, ts, AT_SYMLINK_NOFOLLOW);
      return 0;
    }
  if (S_ISREG (st.st_mode))
    {
      husk_autoclose int in = openat (sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (in < 0)
        return husk_error_make (err, errno, "COPY: cannot open `%s`", sname);
      return copy_file_fd (in, &st, ddir, dname, o, err);
    }
  return 0; /* devices, fifos, sockets: not copied */
}

int
hb_copy_into (int src_fd, const char *rootfs, char *const *srcs, const char *dest, bool dest_dir, const char *chown,
              husk_error_t *err)
{
  husk_autoclose int rootfd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  owner_t o = { 0, 0 };
  if (srcs == NULL || srcs[0] == NULL)
    return 0;
  if (rootfd < 0)
    return husk_error_make (err, errno, "cannot open `%s`", rootfs);
  if (chown && hb_resolve_user (rootfd, chown, &o.uid, &o.gid, NULL, NULL, err) < 0)
    return husk_error_wrap (err, "COPY --chown=%s", chown);

  for (size_t i = 0; srcs[i]; i++)
    {
      /* Sources named in config.txt are followed (inside the context). */
      husk_autoclose int in = husk_open_in_root (src_fd, srcs[i], O_RDONLY, 0, err);
      husk_autoclose int dpath = -1;
      husk_autoclose int ddir = -1;
      husk_autofree char *dparent = NULL;
      const char *base = strrchr (srcs[i], '/') ? strrchr (srcs[i], '/') + 1 : srcs[i];
      const char *dname;
      struct stat st;

      if (in < 0 || fstat (in, &st) < 0)
        return in < 0 ? -1 : husk_error_make (err, errno, "COPY: cannot stat `%s`", srcs[i]);
      if (!S_ISDIR (st.st_mode) && !S_ISREG (st.st_mode))
        return husk_error_make (err, 0, "COPY: `%s` is not a file or a directory", srcs[i]);
      if (S_ISREG (st.st_mode) && !dest_dir)
        {
          /* An existing directory as destination takes the file inside. */
          husk_auto_error husk_error_t e2 = NULL;
          ddir = husk_open_in_root (rootfd, dest, O_RDONLY | O_DIRECTORY, 0, &e2);
        }
      if (ddir >= 0)
        dname = base;
      else if (S_ISDIR (st.st_mode) || dest_dir)
        {
          dpath = husk_create_in_root (rootfd, dest, true, err);
          if (dpath < 0)
            return husk_error_wrap (err, "COPY: destination `%s`", dest);
          ddir = openat (dpath, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          dname = base;
        }
      else
        {
          const char *dslash = strrchr (dest, '/');
          dparent = xstrndup (dest, (size_t) (dslash - dest));
          dname = dslash + 1;
          dpath = husk_create_in_root (rootfd, *dparent ? dparent : "/", true, err);
          if (dpath < 0)
            return husk_error_wrap (err, "COPY: destination `%s`", dest);
          ddir = openat (dpath, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
      if (ddir < 0)
        return husk_error_make (err, errno, "COPY: cannot open `%s`", dest);
      if (S_ISDIR (st.st_mode))
        {
          if (copy_dir_contents (in, ddir, &o, err) < 0)
            return -1;
        }
      else if (copy_file_fd (in, &st, ddir, dname, &o, err) < 0)
        return -1;
    }
  return 0;
}


/* ---- ADD: archives and URLs -------------------------------------------- */

bool
hb_is_url (const char *s)
{
  return strncmp (s, "http://", 7) == 0 || strncmp (s, "https://", 8) == 0;
}

bool
hb_is_tar_archive (int fd)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  bool yes;
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_bzip2 (a);
  archive_read_support_filter_xz (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_format_tar (a);
  yes = archive_read_open_fd (a, fd, 16384) == ARCHIVE_OK && archive_read_next_header (a, &e) == ARCHIVE_OK;
  archive_read_free (a);
  lseek (fd, 0, SEEK_SET);
  return yes;
}

int
hb_add_extract (int archive_fd, const char *name, const char *rootfs, const char *dest, husk_error_t *err)
{
  husk_autoclose int rootfd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  husk_autoclose int dpath = -1;
  husk_autoclose int ddir = -1;
  if (rootfd < 0)
    return husk_error_make (err, errno, "cannot open `%s`", rootfs);
  dpath = husk_create_in_root (rootfd, dest, true, err);
  if (dpath < 0)
    return husk_error_wrap (err, "ADD: destination `%s`", dest);
  ddir = openat (dpath, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ddir < 0)
    return husk_error_make (err, errno, "ADD: cannot open `%s`", dest);
  return hb_unpack_layer_fd (ddir, archive_fd, name, HB_UNPACK_APPLY, err);
}

static size_t
write_to_fd (char *p, size_t size, size_t n, void *fdp)
{
  return husk_write_all (*(int *) fdp, p, size * n) < 0 ? 0 : size * n;
}

int
hb_download_url (const char *url, int fd, husk_error_t *err)
{
  CURL *c = curl_easy_init ();
  char errbuf[CURL_ERROR_SIZE] = "";
  long filetime = -1;
  CURLcode r;
  if (c == NULL)
    return husk_error_make (err, ENOMEM, "ADD: cannot start a download");
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt (c, CURLOPT_FILETIME, 1L);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, write_to_fd);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &fd);
  r = curl_easy_perform (c);
  if (r == CURLE_OK)
    curl_easy_getinfo (c, CURLINFO_FILETIME, &filetime);
  curl_easy_cleanup (c);
  if (r != CURLE_OK)
    return husk_error_make (err, 0, "ADD %s: %s", url, *errbuf ? errbuf : curl_easy_strerror (r));
  /* docker: mode 0600, and the mtime from Last-Modified when the server sends one */
  fchmod (fd, 0600);
  if (filetime > 0)
    {
      struct timespec ts[2] = { { .tv_sec = filetime }, { .tv_sec = filetime } };
      futimens (fd, ts);
    }
  return 0;
}

/* The file name a URL gives (its last path component), or NULL. */
char *
hb_url_basename (const char *url)
{
  const char *p = strstr (url, "://");
  const char *end, *slash;
  p = p ? p + 3 : url;
  end = p + strcspn (p, "?#");
  slash = memrchr (p, '/', (size_t) (end - p));
  if (slash == NULL || slash + 1 == end)
    return NULL;
  return xstrndup (slash + 1, (size_t) (end - slash - 1));
}
