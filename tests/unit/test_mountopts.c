/* Mount option parsing (mounts.c) and in-root path resolution (paths.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "husk/utils.h"
#include "rootfs.h"

static husk_mount_opts_t
parse (const char *csv)
{
  husk_mount_opts_t o;
  husk_error_t err = NULL;
  char *copy = xstrdup (csv);
  char *v[64];
  size_t n = 0;
  char *save = NULL;
  for (char *t = strtok_r (copy, ",", &save); t && n < 63; t = strtok_r (NULL, ",", &save))
    v[n++] = t;
  v[n] = NULL;
  cr_assert_eq (husk_mount_opts_parse (v, n, &o, &err), 0);
  cr_assert_null (err);
  /* o.data is its own allocation: the options may go away (leaked here). */
  memset (copy, 'X', strlen (csv));
  free (copy);
  return o;
}

struct flag_case
{
  const char *set, *clear;
  unsigned long flag;
};

static const struct flag_case flag_cases[] = {
  { "ro", "rw", MS_RDONLY },
  { "nosuid", "suid", MS_NOSUID },
  { "nodev", "dev", MS_NODEV },
  { "noexec", "exec", MS_NOEXEC },
  { "sync", "async", MS_SYNCHRONOUS },
  { "mand", "nomand", MS_MANDLOCK },
  { "noatime", "atime", MS_NOATIME },
  { "nodiratime", "diratime", MS_NODIRATIME },
  { "relatime", "norelatime", MS_RELATIME },
  { "strictatime", "nostrictatime", MS_STRICTATIME },
  { "nosymfollow", "symfollow", MS_NOSYMFOLLOW },
  { "lazytime", "nolazytime", MS_LAZYTIME },
  { "silent", "loud", MS_SILENT },
  { "iversion", "noiversion", MS_I_VERSION },
};

Test (mountopts, set_and_clear_pairs)
{
  for (size_t i = 0; i < sizeof flag_cases / sizeof flag_cases[0]; i++)
    {
      const struct flag_case *c = &flag_cases[i];
      char buf[64];
      husk_mount_opts_t o = parse (c->set);
      cr_assert_eq (o.flags, c->flag, "%s", c->set);
      cr_assert_eq (o.clear_flags, 0UL, "%s", c->set);
      cr_assert_null (o.data, "%s", c->set);

      o = parse (c->clear);
      cr_assert_eq (o.flags, 0UL, "%s", c->clear);
      cr_assert_eq (o.clear_flags, c->flag, "%s", c->clear);

      /* The last one wins. */
      snprintf (buf, sizeof buf, "%s,%s", c->set, c->clear);
      o = parse (buf);
      cr_assert_eq (o.flags & c->flag, 0UL, "%s", buf);
      cr_assert_eq (o.clear_flags & c->flag, c->flag, "%s", buf);
      snprintf (buf, sizeof buf, "%s,%s", c->clear, c->set);
      o = parse (buf);
      cr_assert_eq (o.flags & c->flag, c->flag, "%s", buf);
      cr_assert_eq (o.clear_flags & c->flag, 0UL, "%s", buf);
    }
}

Test (mountopts, set_only)
{
  cr_assert_eq (parse ("dirsync").flags, (unsigned long) MS_DIRSYNC);
  cr_assert_eq (parse ("remount").flags, (unsigned long) MS_REMOUNT);
  cr_assert_eq (parse ("defaults").flags, 0UL);
  cr_assert_eq (parse ("nosuid,nodev,noexec,ro").flags,
                (unsigned long) (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY));
}

Test (mountopts, bind_rbind)
{
  husk_mount_opts_t o = parse ("bind");
  cr_assert (o.bind);
  cr_assert_not (o.rbind);
  cr_assert_eq (o.flags, (unsigned long) MS_BIND);
  o = parse ("rbind,ro");
  cr_assert (o.bind);
  cr_assert (o.rbind);
  cr_assert_eq (o.flags, (unsigned long) (MS_BIND | MS_REC | MS_RDONLY));
}

Test (mountopts, propagation)
{
  static const struct
  {
    const char *name;
    unsigned long flags;
  } cases[] = {
    { "private", MS_PRIVATE },       { "rprivate", MS_PRIVATE | MS_REC },
    { "shared", MS_SHARED },         { "rshared", MS_SHARED | MS_REC },
    { "slave", MS_SLAVE },           { "rslave", MS_SLAVE | MS_REC },
    { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      husk_mount_opts_t o = parse (cases[i].name);
      cr_assert_eq (o.propagation, cases[i].flags, "%s", cases[i].name);
      cr_assert_eq (o.flags, 0UL, "%s: propagation is not a mount flag", cases[i].name);
    }
  cr_assert_eq (parse ("rbind,rprivate").propagation, (unsigned long) (MS_PRIVATE | MS_REC));
  cr_assert_eq (parse ("shared,slave").propagation, (unsigned long) MS_SLAVE);
}

Test (mountopts, recursive_attrs)
{
  static const struct
  {
    const char *name;
    unsigned long long set, clr;
  } cases[] = {
    { "rro", MOUNT_ATTR_RDONLY, 0 },
    { "rrw", 0, MOUNT_ATTR_RDONLY },
    { "rnosuid", MOUNT_ATTR_NOSUID, 0 },
    { "rsuid", 0, MOUNT_ATTR_NOSUID },
    { "rnodev", MOUNT_ATTR_NODEV, 0 },
    { "rdev", 0, MOUNT_ATTR_NODEV },
    { "rnoexec", MOUNT_ATTR_NOEXEC, 0 },
    { "rexec", 0, MOUNT_ATTR_NOEXEC },
    { "rnodiratime", MOUNT_ATTR_NODIRATIME, 0 },
    { "rdiratime", 0, MOUNT_ATTR_NODIRATIME },
    { "rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME },
    { "rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
    { "rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
    { "rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0 },
    { "rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      husk_mount_opts_t o = parse (cases[i].name);
      cr_assert_eq (o.attr_set, cases[i].set, "%s", cases[i].name);
      cr_assert_eq (o.attr_clr, cases[i].clr, "%s", cases[i].name);
      cr_assert_eq (o.flags, 0UL, "%s", cases[i].name);
      cr_assert_null (o.data, "%s", cases[i].name);
    }
  {
    husk_mount_opts_t o = parse ("rro,rnosuid,rnoexec");
    cr_assert_eq (o.attr_set, (unsigned long long) (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC));
    o = parse ("rro,rrw");
    cr_assert_eq (o.attr_set, 0ULL);
    cr_assert_eq (o.attr_clr, (unsigned long long) MOUNT_ATTR_RDONLY);
    /* switching atime mode replaces the previous one */
    o = parse ("rnoatime,rstrictatime");
    cr_assert_eq (o.attr_set, (unsigned long long) MOUNT_ATTR_STRICTATIME);
    cr_assert_eq (o.attr_clr & MOUNT_ATTR__ATIME, (unsigned long long) MOUNT_ATTR__ATIME);
  }
}

Test (mountopts, extensions)
{
  husk_mount_opts_t o = parse ("tmpcopyup");
  cr_assert (o.tmpcopyup);
  cr_assert_null (o.data);
  o = parse ("idmap");
  cr_assert (o.idmap);
  cr_assert_not (o.ridmap);
  o = parse ("ridmap");
  cr_assert (o.idmap);
  cr_assert (o.ridmap);
}

Test (mountopts, data_joined)
{
  husk_mount_opts_t o = parse ("nosuid,mode=755,strictatime,size=65536k");
  cr_assert_str_eq (o.data, "mode=755,size=65536k");
  cr_assert_eq (o.flags, (unsigned long) (MS_NOSUID | MS_STRICTATIME));
  o = parse ("newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec");
  cr_assert_str_eq (o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  o = parse ("ro");
  cr_assert_null (o.data);
}

Test (mountopts, empty_and_free)
{
  husk_mount_opts_t o;
  husk_error_t err = NULL;
  char *v[] = { (char *) "size=1k", NULL };
  cr_assert_eq (husk_mount_opts_parse (NULL, 0, &o, &err), 0);
  cr_assert_eq (o.flags, 0UL);
  cr_assert_null (o.data);
  cr_assert_eq (husk_mount_opts_parse (v, 1, &o, &err), 0);
  cr_assert_str_eq (o.data, "size=1k");
  husk_mount_opts_free (&o);
  cr_assert_null (o.data);
}

Test (mountopts, names_table)
{
  /* every name in the table parses as something other than data */
  for (size_t i = 0; husk_mount_option_names[i]; i++)
    {
      husk_mount_opts_t o = parse (husk_mount_option_names[i]);
      cr_assert_null (o.data, "%s", husk_mount_option_names[i]);
    }
}

/* ---- paths.c ------------------------------------------------------------- */

static char root[1024];
static int root_fd = -1;

static void
mk (const char *rel, bool dir)
{
  char p[PATH_MAX];
  snprintf (p, sizeof p, "%s/%s", root, rel);
  if (dir)
    cr_assert (mkdir (p, 0755) == 0 || errno == EEXIST, "mkdir %s", p);
  else
    {
      int fd = open (p, O_CREAT | O_WRONLY, 0644);
      cr_assert_geq (fd, 0, "create %s", p);
      cr_assert_eq (write (fd, rel, strlen (rel)), (ssize_t) strlen (rel));
      close (fd);
    }
}

static void
ln (const char *target, const char *rel)
{
  char p[PATH_MAX];
  snprintf (p, sizeof p, "%s/%s", root, rel);
  cr_assert_eq (symlink (target, p), 0, "symlink %s", p);
}

static void
setup_tree (void)
{
  char tmpl[] = "/tmp/husk-paths-XXXXXX";
  cr_assert_not_null (mkdtemp (tmpl));
  /* The root sits a few levels deep so that escaping upwards is possible
     if the resolver were broken. */
  snprintf (root, sizeof root, "%s/a/b/root", tmpl);
  {
    char p[PATH_MAX];
    snprintf (p, sizeof p, "%s/a", tmpl);
    mkdir (p, 0755);
    snprintf (p, sizeof p, "%s/a/b", tmpl);
    mkdir (p, 0755);
    snprintf (p, sizeof p, "%s/a/b/secret", tmpl);
    int fd = open (p, O_CREAT | O_WRONLY, 0644);
    cr_assert_geq (fd, 0);
    cr_assert_eq (write (fd, "host", 4), 4);
    close (fd);
  }
  mkdir (root, 0755);
  mk ("etc", true);
  mk ("etc/hostname", false);
  mk ("secret", false); /* the in-root file every escape should land on */
  mk ("dir", true);
  mk ("dir/sub", true);
  ln ("/etc", "evil");                 /* absolute: must mean <root>/etc */
  ln ("/etc", "dir/sub/abs");          /* absolute, from below the root */
  ln ("../../..", "dir/sub/up");       /* climbs past the root */
  ln ("../../../../../../secret", "dir/deepup");
  ln ("loop2", "loop1");
  ln ("loop1", "loop2");
  ln ("/nonexistent/x", "dangling");
  ln ("/proc/self/root", "magic");
  root_fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cr_assert_geq (root_fd, 0);
}

static void
teardown_tree (void)
{
  char top[PATH_MAX];
  husk_error_t err = NULL;
  husk_paths_force_walk (false);
  if (root_fd >= 0)
    close (root_fd);
  /* root is <tmp>/a/b/root */
  snprintf (top, sizeof top, "%s", root);
  for (int i = 0; i < 3; i++)
    *strrchr (top, '/') = '\0';
  husk_rm_rf (top, &err);
  husk_error_release (&err);
}

/* Read the file at path via husk_open_in_root and return its content. */
static char *
read_in_root (const char *path)
{
  husk_error_t err = NULL;
  char buf[256];
  ssize_t n;
  int fd = husk_open_in_root (root_fd, path, O_RDONLY, 0, &err);
  if (fd < 0)
    {
      husk_error_release (&err);
      return NULL;
    }
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  cr_assert_geq (n, 0);
  buf[n] = '\0';
  return xstrdup (buf);
}

static int
open_errno (const char *path, int flags)
{
  husk_error_t err = NULL;
  int fd = husk_open_in_root (root_fd, path, flags, 0, &err);
  int e;
  if (fd >= 0)
    {
      close (fd);
      return 0;
    }
  cr_assert_not_null (err);
  e = err->status;
  husk_error_release (&err);
  return e;
}

static bool
same_file_as (int fd, const char *rel)
{
  struct stat a, b;
  char p[PATH_MAX];
  snprintf (p, sizeof p, "%s/%s", root, rel);
  cr_assert_eq (fstat (fd, &a), 0);
  if (stat (p, &b) < 0)
    return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void
check_resolution (void)
{
  char *s;

  s = read_in_root ("/etc/hostname");
  cr_assert_str_eq (s, "etc/hostname");
  free (s);
  s = read_in_root ("evil/hostname");
  cr_assert_str_eq (s, "etc/hostname", "absolute symlink must stay inside");
  free (s);
  s = read_in_root ("dir/sub/abs/hostname");
  cr_assert_str_eq (s, "etc/hostname", "absolute symlink restarts at the root");
  free (s);
  s = read_in_root ("/../../../secret");
  cr_assert_str_eq (s, "secret", ".. must stop at the root");
  free (s);
  s = read_in_root ("dir/sub/up/secret");
  cr_assert_str_eq (s, "secret", "relative symlink climbing out must stop at the root");
  free (s);
  s = read_in_root ("dir/deepup");
  cr_assert_str_eq (s, "secret");
  free (s);
  s = read_in_root ("dir/sub/up/up/../evil/hostname");
  cr_assert_null (s, "dir/sub/up is the root, which has no `up`");
  s = read_in_root ("dir/sub/../sub/up/evil/hostname");
  cr_assert_str_eq (s, "etc/hostname");
  free (s);

  cr_assert_eq (open_errno ("loop1", O_RDONLY), ELOOP);
  cr_assert_eq (open_errno ("loop1/x", O_RDONLY), ELOOP);
  cr_assert_eq (open_errno ("dangling", O_RDONLY), ENOENT);
  cr_assert_eq (open_errno ("etc/hostname/x", O_RDONLY), ENOTDIR);

  /* "/" and "." are the root itself */
  {
    husk_error_t err = NULL;
    int fd = husk_open_in_root (root_fd, "/", O_PATH | O_DIRECTORY, 0, &err);
    cr_assert_geq (fd, 0);
    cr_assert (same_file_as (fd, "."));
    close (fd);
    fd = husk_open_in_root (root_fd, "dir/sub/up", O_PATH | O_DIRECTORY, 0, &err);
    cr_assert_geq (fd, 0);
    cr_assert (same_file_as (fd, "."));
    close (fd);
    /* O_NOFOLLOW|O_PATH gives the link itself */
    fd = husk_open_in_root (root_fd, "evil", O_PATH | O_NOFOLLOW, 0, &err);
    cr_assert_geq (fd, 0);
    {
      struct stat st;
      cr_assert_eq (fstat (fd, &st), 0);
      cr_assert (S_ISLNK (st.st_mode));
    }
    close (fd);
  }
}

Test (paths, open_in_root_openat2, .init = setup_tree, .fini = teardown_tree)
{
  check_resolution ();
  /* openat2 refuses magic links; the walk reads them as plain links */
  cr_assert_neq (open_errno ("magic/etc", O_RDONLY), 0);
}

Test (paths, open_in_root_walk, .init = setup_tree, .fini = teardown_tree)
{
  husk_paths_force_walk (true);
  check_resolution ();
  /* /proc/self/root read as a link inside the root: <root>/proc/... is absent */
  cr_assert_eq (open_errno ("magic/etc", O_RDONLY), ENOENT);
}

static void
check_create (void)
{
  husk_error_t err = NULL;
  struct stat st;
  char p[PATH_MAX];
  int fd;

  fd = husk_create_in_root (root_fd, "/new/a/b", true, &err);
  cr_assert_geq (fd, 0, "%s", err ? err->msg : "");
  cr_assert (same_file_as (fd, "new/a/b"));
  close (fd);

  /* through the absolute symlink: lands in <root>/etc */
  fd = husk_create_in_root (root_fd, "/evil/created", true, &err);
  cr_assert_geq (fd, 0, "%s", err ? err->msg : "");
  cr_assert (same_file_as (fd, "etc/created"));
  close (fd);

  fd = husk_create_in_root (root_fd, "/dir/sub/abs/created2", true, &err);
  cr_assert_geq (fd, 0, "%s", err ? err->msg : "");
  cr_assert (same_file_as (fd, "etc/created2"));
  close (fd);

  /* through the climbing symlink: lands at the root */
  fd = husk_create_in_root (root_fd, "dir/sub/up/fromup", true, &err);
  cr_assert_geq (fd, 0, "%s", err ? err->msg : "");
  cr_assert (same_file_as (fd, "fromup"));
  close (fd);
  snprintf (p, sizeof p, "%s/../fromup", root);
  cr_assert_neq (stat (p, &st), 0, "nothing may be created outside the root");

  /* .. above the root */
  fd = husk_create_in_root (root_fd, "/../../../outside/x", false, &err);
  cr_assert_geq (fd, 0, "%s", err ? err->msg : "");
  cr_assert (same_file_as (fd, "outside/x"));
  cr_assert_eq (fstat (fd, &st), 0);
  cr_assert (S_ISREG (st.st_mode));
  close (fd);
  snprintf (p, sizeof p, "%s/../../../outside", root);
  cr_assert_neq (stat (p, &st), 0);

  /* a file: created empty; an existing file is kept */
  fd = husk_create_in_root (root_fd, "/evil/hostname", false, &err);
  cr_assert_geq (fd, 0);
  cr_assert (same_file_as (fd, "etc/hostname"));
  close (fd);
  {
    char *s = read_in_root ("etc/hostname");
    cr_assert_str_eq (s, "etc/hostname");
    free (s);
  }

  /* the root itself */
  fd = husk_create_in_root (root_fd, "/", true, &err);
  cr_assert_geq (fd, 0);
  cr_assert (same_file_as (fd, "."));
  close (fd);

  /* a loop fails */
  fd = husk_create_in_root (root_fd, "/loop1/x", true, &err);
  cr_assert_lt (fd, 0);
  cr_assert_not_null (err);
  husk_error_release (&err);

  /* a file in the way of a directory fails */
  fd = husk_create_in_root (root_fd, "/etc/hostname/x", true, &err);
  cr_assert_lt (fd, 0);
  husk_error_release (&err);
}

Test (paths, create_in_root_openat2, .init = setup_tree, .fini = teardown_tree)
{
  check_create ();
}

Test (paths, create_in_root_walk, .init = setup_tree, .fini = teardown_tree)
{
  husk_paths_force_walk (true);
  check_create ();
}
