/* husk: cgroups, the common part.
 *
 * Mode detection, finding the hierarchies (/proc/self/mountinfo and
 * /proc/self/cgroup), resolving cgroupsPath the way runc's cgroupfs driver
 * does, creating and removing exactly the directories husk made, joining,
 * freezing, signalling and listing.  What differs between the layouts
 * (writing resources, stats) is in cgroup-v1.c and cgroup-v2.c behind
 * husk_cgroup_ops_t.
 *
 * Paths: an absolute cgroupsPath is taken from each hierarchy's root; a
 * relative one is put under the caller's own cgroup of that hierarchy (on a
 * unified host, under the parent of the caller's cgroup, like runc's fs2,
 * because the caller's own cgroup has processes and so cannot delegate
 * controllers).  With no cgroupsPath the default is runc's: the relative path
 * "<id>".  The path is cleaned lexically ("/" + path, then `.` and `..`
 * resolved) before it is joined, so `..` never leaves the hierarchy. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include "cgroup-internal.h"
#include "husk/utils.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CGROUP_ROOT "/sys/fs/cgroup"

/* The v1 hierarchies husk joins (runc's legacy subsystems + name=systemd). */
static const char *const v1_known[] = {
  "cpu",    "cpuacct",    "cpuset", "memory", "devices", "freezer", "blkio",        "pids",
  "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc", "name=systemd", NULL,
};

/* Controllers enabled in cgroup.subtree_control on a unified host. */
static const char *const v2_controllers[] = {
  "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc", NULL,
};

static void
msleep (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* --- pure helpers ------------------------------------------------------- */

char *
husk_cgroup_clean_path (const char *path)
{
  size_t len = path ? strlen (path) : 0;
  char *out = xmalloc (len + 2);
  size_t o = 0;
  const char *p = path ? path : "";

  out[o++] = '/';
  while (*p)
    {
      const char *end;
      size_t n;
      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      end = strchrnul (p, '/');
      n = (size_t) (end - p);
      if (n == 1 && p[0] == '.')
        ;
      else if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          /* drop the last component; at "/" stay at "/" */
          while (o > 1 && out[o - 1] != '/')
            o--;
          if (o > 1)
            o--;
        }
      else
        {
          if (o > 1)
            out[o++] = '/';
          memcpy (out + o, p, n);
          o += n;
        }
      p = end;
    }
  out[o] = '\0';
  return out;
}

uint64_t
husk_cgroup_shares_to_weight (uint64_t shares)
{
  if (shares == 0)
    return 0;
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t
husk_cgroup_blkio_to_io_weight (uint64_t weight)
{
  if (weight == 0)
    return 0;
  if (weight < 10)
    weight = 10;
  if (weight > 1000)
    weight = 1000;
  return 1 + (weight - 10) * 9999 / 990;
}

int
husk_cgroup_swap_to_v2 (int64_t swap, int64_t memory, int64_t *out, husk_error_t *err)
{
  /* v1 compatibility: unlimited memory and no swap value means both unlimited */
  if (memory == -1 && swap == 0)
    {
      *out = -1;
      return 0;
    }
  if (swap == -1 || swap == 0)
    {
      *out = swap;
      return 0;
    }
  if (memory == 0 || memory == -1)
    return husk_error_make (err, 0, "unable to set swap limit without memory limit");
  if (memory < 0)
    return husk_error_make (err, 0, "invalid memory value: %lld", (long long) memory);
  if (swap < memory)
    return husk_error_make (err, 0, "memory+swap limit should be >= memory limit");
  *out = swap - memory;
  return 0;
}

/* --- mode --------------------------------------------------------------- */

int
husk_cgroup_mode (husk_cgroup_mode_t *out, husk_error_t *err)
{
  static int cached = -1;
  struct statfs sfs;

  if (cached >= 0)
    {
      *out = (husk_cgroup_mode_t) cached;
      return 0;
    }
  if (statfs (CGROUP_ROOT, &sfs) < 0)
    return husk_error_make (err, errno, "cannot statfs `%s`", CGROUP_ROOT);
  if (sfs.f_type == CGROUP2_SUPER_MAGIC)
    cached = HUSK_CGROUP_UNIFIED;
  else if (statfs (CGROUP_ROOT "/unified", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
    cached = HUSK_CGROUP_HYBRID;
  else
    cached = HUSK_CGROUP_LEGACY;
  *out = (husk_cgroup_mode_t) cached;
  return 0;
}

/* --- file access -------------------------------------------------------- */

int
husk_cg_write (const husk_cg_hier_t *h, const char *file, const char *value, husk_error_t *err)
{
  husk_autofree char *path = xstrdup_printf ("%s/%s", h->dir, file);
  husk_autoclose int fd = open (path, O_WRONLY | O_CLOEXEC);
  size_t len = strlen (value);
  ssize_t w;

  if (fd < 0)
    return husk_error_make (err, errno, "cannot set `%s` to `%s`", file, value);
  do
    w = write (fd, value, len);
  while (w < 0 && errno == EINTR);
  if (w < 0)
    return husk_error_make (err, errno, "cannot set `%s` to `%s`", file, value);
  return 0;
}

int
husk_cg_writef (const husk_cg_hier_t *h, const char *file, husk_error_t *err, const char *fmt, ...)
{
  husk_autofree char *value = NULL;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&value, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return husk_cg_write (h, file, value, err);
}

int
husk_cg_read (const husk_cg_hier_t *h, const char *file, char **out, husk_error_t *err)
{
  husk_autofree char *path = xstrdup_printf ("%s/%s", h->dir, file);
  return husk_read_file (path, out, NULL, err);
}

bool
husk_cg_has_file (const husk_cg_hier_t *h, const char *file)
{
  husk_autofree char *path = xstrdup_printf ("%s/%s", h->dir, file);
  return access (path, F_OK) == 0;
}

static bool
controllers_have (const char *list, const char *name)
{
  size_t n = strlen (name);
  const char *p = list;
  while (p && *p)
    {
      const char *end = strchrnul (p, ',');
      if ((size_t) (end - p) == n && strncmp (p, name, n) == 0)
        return true;
      p = *end ? end + 1 : end;
    }
  return false;
}

husk_cg_hier_t *
husk_cg_find (husk_cgroup_t *cg, const char *controller)
{
  for (size_t i = 0; i < cg->n; i++)
    {
      if (controller == NULL ? cg->h[i].v2 : (!cg->h[i].v2 && controllers_have (cg->h[i].controllers, controller)))
        return &cg->h[i];
    }
  return NULL;
}

/* --- discovery ---------------------------------------------------------- */

typedef struct
{
  bool v2;
  char *controllers;
  char *mount;
  char *root; /* the mount's root inside the hierarchy */
  char dev[32];
} mnt_t;

static void
mnts_free (mnt_t *m, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (m[i].controllers);
      free (m[i].mount);
      free (m[i].root);
    }
  free (m);
}

static char *
unescape_octal (const char *s)
{
  char *r = xmalloc (strlen (s) + 1), *o = r;
  while (*s)
    {
      if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0'
          && s[3] <= '7')
        {
          *o++ = (char) (((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
          s += 4;
        }
      else
        *o++ = *s++;
    }
  *o = '\0';
  return r;
}

/* The cgroup mounts: v1 hierarchies with a known controller (first mount of
 * each), and the cgroup2 mount at /sys/fs/cgroup or /sys/fs/cgroup/unified. */
static int
read_mounts (husk_cgroup_mode_t mode, mnt_t **out, size_t *out_len, husk_error_t *err)
{
  husk_autofree char *buf = NULL;
  mnt_t *m = NULL;
  size_t n = 0;
  char *save = NULL;
  const char *v2_at = mode == HUSK_CGROUP_UNIFIED ? CGROUP_ROOT : CGROUP_ROOT "/unified";

  if (husk_read_file ("/proc/self/mountinfo", &buf, NULL, err) < 0)
    return -1;
  for (char *line = strtok_r (buf, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[6] = { 0 }, *sep, *fstype, *super, *sp = NULL, *tmp;
      int i = 0;
      bool v2, dup = false;
      husk_autofree char *controllers = NULL;

      sep = strstr (line, " - ");
      if (sep == NULL)
        continue;
      *sep = '\0';
      for (tmp = strtok_r (line, " ", &sp); tmp && i < 6; tmp = strtok_r (NULL, " ", &sp))
        f[i++] = tmp;
      if (i < 5)
        continue;
      fstype = strtok_r (sep + 3, " ", &sp);
      strtok_r (NULL, " ", &sp); /* source */
      super = strtok_r (NULL, " ", &sp);
      if (fstype == NULL || super == NULL)
        continue;
      if (strcmp (fstype, "cgroup2") == 0)
        v2 = true;
      else if (strcmp (fstype, "cgroup") == 0)
        v2 = false;
      else
        continue;

      if (v2)
        {
          husk_autofree char *mp = unescape_octal (f[4]);
          if (mode == HUSK_CGROUP_LEGACY || strcmp (mp, v2_at) != 0)
            continue;
          controllers = xstrdup ("");
        }
      else
        {
          char *sp2 = NULL;
          size_t cl = 0;
          if (mode == HUSK_CGROUP_UNIFIED)
            continue;
          controllers = xmalloc0 (strlen (super) + 1);
          for (char *o = strtok_r (super, ",", &sp2); o; o = strtok_r (NULL, ",", &sp2))
            for (int k = 0; v1_known[k]; k++)
              if (strcmp (o, v1_known[k]) == 0)
                {
                  if (cl)
                    controllers[cl++] = ',';
                  strcpy (controllers + cl, o);
                  cl += strlen (o);
                }
          if (cl == 0)
            continue;
        }
      for (size_t k = 0; k < n; k++)
        if (strcmp (m[k].dev, f[2]) == 0 || (v2 && m[k].v2))
          dup = true;
      if (dup)
        continue;
      m = xrealloc (m, (n + 1) * sizeof *m);
      memset (&m[n], 0, sizeof m[n]);
      m[n].v2 = v2;
      m[n].controllers = steal_ptr (&controllers);
      m[n].mount = unescape_octal (f[4]);
      m[n].root = unescape_octal (f[3]);
      snprintf (m[n].dev, sizeof m[n].dev, "%s", f[2]);
      n++;
    }
  *out = m;
  *out_len = n;
  return 0;
}

/* The caller's own cgroup in the hierarchy of mount m (from /proc/self/cgroup). */
static int
own_cgroup (const char *proc_cgroup, const mnt_t *m, char **out, husk_error_t *err)
{
  husk_autofree char *copy = xstrdup (proc_cgroup);
  char *save = NULL;
  for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *c1 = strchr (line, ':'), *c2;
      if (c1 == NULL || (c2 = strchr (c1 + 1, ':')) == NULL)
        continue;
      *c2 = '\0';
      if (m->v2 ? (strncmp (line, "0:", 2) == 0 && c1[1] == '\0') : false)
        {
          *out = xstrdup (c2 + 1);
          return 0;
        }
      if (!m->v2 && c1[1] != '\0')
        {
          /* same hierarchy when a controller of the line is one of the mount's */
          char *sp = NULL;
          for (char *c = strtok_r (c1 + 1, ",", &sp); c; c = strtok_r (NULL, ",", &sp))
            if (controllers_have (m->controllers, c))
              {
                *out = xstrdup (c2 + 1);
                return 0;
              }
        }
    }
  return husk_error_make (err, ENOENT, "cannot find the own cgroup for `%s` in `/proc/self/cgroup`",
                          m->mount);
}

/* Directory of hierarchy path `path` on mount m: strip the mount's root. */
static char *
hier_dir (const mnt_t *m, const char *path)
{
  size_t rl = strlen (m->root);
  if (strcmp (m->root, "/") != 0 && strncmp (path, m->root, rl) == 0 && (path[rl] == '/' || path[rl] == '\0'))
    return xstrdup_printf ("%s%s", m->mount, path + rl);
  return xstrdup_printf ("%s%s", m->mount, strcmp (path, "/") == 0 ? "" : path);
}

static void
hier_clear (husk_cg_hier_t *h)
{
  free (h->controllers);
  free (h->mount);
  free (h->path);
  free (h->dir);
  memset (h, 0, sizeof *h);
}

/* --- create ------------------------------------------------------------- */

static void
enable_controllers (const char *dir)
{
  husk_autofree char *avail = NULL, *path = xstrdup_printf ("%s/cgroup.controllers", dir);
  husk_autofree char *ctl = xstrdup_printf ("%s/cgroup.subtree_control", dir);
  husk_auto_error husk_error_t tmp = NULL;

  if (husk_read_file (path, &avail, NULL, &tmp) < 0)
    return;
  for (int i = 0; v2_controllers[i]; i++)
    {
      char word[32];
      husk_autoclose int fd = -1;
      const char *p = avail;
      bool have = false;
      size_t n = strlen (v2_controllers[i]);
      while (*p)
        {
          while (*p == ' ' || *p == '\n')
            p++;
          if (strncmp (p, v2_controllers[i], n) == 0 && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            have = true;
          while (*p && *p != ' ' && *p != '\n')
            p++;
        }
      if (!have)
        continue;
      /* EBUSY (processes in a non-root domain), ENOENT, EOPNOTSUPP: leave
       * that controller off, the apply step says so if it is needed. */
      fd = open (ctl, O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        return;
      snprintf (word, sizeof word, "+%s", v2_controllers[i]);
      if (write (fd, word, strlen (word)) < 0)
        continue;
    }
}

static void
copy_cpuset (const char *parent, const char *dir, const char *file)
{
  husk_autofree char *pp = xstrdup_printf ("%s/%s", parent, file);
  husk_autofree char *cp = xstrdup_printf ("%s/%s", dir, file);
  husk_autofree char *pv = NULL, *cv = NULL;
  husk_auto_error husk_error_t tmp = NULL;

  if (husk_read_file (cp, &cv, NULL, &tmp) < 0 || strspn (cv, " \n") != strlen (cv))
    return;
  if (husk_read_file (pp, &pv, NULL, &tmp) < 0)
    return;
  husk_write_file (cp, pv, strlen (pv), &tmp);
}

static int rm_cgroup_dir (const char *dir, bool retry, husk_error_t *err);

static int
hier_destroy (husk_cg_hier_t *h, husk_error_t *err)
{
  husk_autofree char *dir = xstrdup (h->dir);
  int ret = 0;

  for (int i = 0; i < h->created; i++)
    {
      char *slash;
      if (i == 0)
        ret = rm_cgroup_dir (dir, true, err);
      else if (rmdir (dir) < 0 && errno != ENOENT)
        break; /* a parent still used by another container: fine */
      if (ret < 0)
        return ret;
      slash = strrchr (dir, '/');
      if (slash == NULL || slash == dir)
        break;
      *slash = '\0';
    }
  h->created = 0;
  return 0;
}

static int
hier_create (husk_cg_hier_t *h, bool is_cpuset, bool enable, husk_error_t *err)
{
  husk_autofree char *rel = xstrdup (h->dir + strlen (h->mount));
  husk_autofree char *cur = xstrdup (h->mount);
  int total = 0, index = 0, first_created = -1;
  char *save = NULL;

  for (const char *p = rel; *p; p++)
    if (*p == '/' && p[1] && p[1] != '/')
      total++;
  for (char *c = strtok_r (rel, "/", &save); c; c = strtok_r (NULL, "/", &save), index++)
    {
      char *next = xstrdup_printf ("%s/%s", cur, c);
      if (enable)
        enable_controllers (cur);
      bool made = mkdir (next, 0755) == 0;
      int mkdir_errno = made ? 0 : errno;
      if (made && first_created < 0)
        first_created = index;
      if (made || mkdir_errno == EEXIST)
        {
          /* Every empty level gets its parent's cpus/mems, also levels
           * someone else made (like runc); non-empty ones are kept. */
          if (is_cpuset)
            {
              copy_cpuset (cur, next, "cpuset.cpus");
              copy_cpuset (cur, next, "cpuset.mems");
            }
        }
      else
        {
          husk_error_make (err, mkdir_errno, "cannot create cgroup `%s`", next);
          free (next);
          if (first_created >= 0)
            {
              husk_auto_error husk_error_t tmp = NULL;
              free (h->dir);
              h->dir = steal_ptr (&cur);
              h->created = index - first_created;
              hier_destroy (h, &tmp);
            }
          return -1;
        }
      free (cur);
      cur = next;
    }
  h->created = first_created < 0 ? 0 : total - first_created;
  return 0;
}

static int
open_unified (husk_cgroup_t *cg)
{
  husk_cg_hier_t *h = husk_cg_find (cg, NULL);
  /* Only a leaf husk made itself: on some kernels a cgroup that ever saw a
   * write to cgroup.kill SIGKILLs every later CLONE_INTO_CGROUP child
   * (the fork compares kill sequence numbers of two different cgroups).
   * A pre-existing leaf is joined through cgroup.procs instead. */
  if (h == NULL || h->created == 0)
    return -1;
  if (cg->unified_fd < 0)
    cg->unified_fd = open (h->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  return cg->unified_fd;
}

static husk_cgroup_t *
cgroup_new (husk_cgroup_mode_t mode)
{
  husk_cgroup_t *cg = xmalloc0 (sizeof *cg);
  cg->mode = mode;
  cg->ops = mode == HUSK_CGROUP_UNIFIED ? &husk_cgroup_v2_ops : &husk_cgroup_v1_ops;
  cg->unified_fd = -1;
  return cg;
}

int
husk_cgroup_create (const char *cgroups_path, const char *id, const husk_resources_t *res,
                    husk_cgroup_t **out, husk_error_t *err)
{
  husk_autocgroup husk_cgroup_t *cg = NULL;
  husk_cgroup_mode_t mode;
  mnt_t *m = NULL;
  size_t mn = 0;
  husk_autofree char *proc_cgroup = NULL, *inner = NULL;
  const char *given = cgroups_path && *cgroups_path ? cgroups_path : id;
  bool relative;

  if (given == NULL || *given == '\0')
    return husk_error_make (err, EINVAL, "cannot create cgroup: no cgroupsPath and no id");
  if (strpbrk (given, "\n\t"))
    return husk_error_make (err, EINVAL, "invalid cgroupsPath `%s`", given);
  relative = given[0] != '/';
  inner = husk_cgroup_clean_path (given);
  if (strcmp (inner, "/") == 0)
    return husk_error_make (err, EINVAL, "cgroupsPath `%s` does not name a cgroup below %s", given,
                            relative ? "the caller's cgroup" : "the root");

  if (husk_cgroup_mode (&mode, err) < 0)
    return -1;
  cg = cgroup_new (mode);
  if (read_mounts (mode, &m, &mn, err) < 0)
    return -1;
  if (relative && husk_read_file ("/proc/self/cgroup", &proc_cgroup, NULL, err) < 0)
    {
      mnts_free (m, mn);
      return -1;
    }

  for (size_t i = 0; i < mn; i++)
    {
      husk_cg_hier_t *h;
      husk_autofree char *path = NULL;
      if (relative)
        {
          husk_autofree char *own = NULL, *joined = NULL;
          if (own_cgroup (proc_cgroup, &m[i], &own, err) < 0)
            {
              mnts_free (m, mn);
              return -1;
            }
          if (m[i].v2 && mode == HUSK_CGROUP_UNIFIED)
            {
              /* runc fs2: the caller's cgroup has processes, use its parent */
              char *slash = strrchr (own, '/');
              if (slash && slash != own)
                *slash = '\0';
              else if (slash)
                slash[1] = '\0';
            }
          joined = xstrdup_printf ("%s/%s", own, inner);
          path = husk_cgroup_clean_path (joined);
        }
      else
        path = xstrdup (inner);
      cg->h = xrealloc (cg->h, (cg->n + 1) * sizeof *cg->h);
      h = &cg->h[cg->n++];
      memset (h, 0, sizeof *h);
      h->v2 = m[i].v2;
      h->controllers = xstrdup (m[i].controllers);
      h->mount = xstrdup (m[i].mount);
      h->dir = hier_dir (&m[i], path);
      h->path = steal_ptr (&path);
    }
  mnts_free (m, mn);
  if (cg->n == 0)
    return husk_error_make (err, ENOENT, "cannot create cgroup: no cgroup hierarchy is mounted");

  for (size_t i = 0; i < cg->n; i++)
    {
      husk_cg_hier_t *h = &cg->h[i];
      bool cpuset = !h->v2 && controllers_have (h->controllers, "cpuset");
      bool enable = h->v2 && mode == HUSK_CGROUP_UNIFIED;
      if (hier_create (h, cpuset, enable, err) < 0)
        {
          husk_auto_error husk_error_t tmp = NULL;
          for (size_t k = 0; k < i; k++)
            hier_destroy (&cg->h[k], &tmp);
          return -1;
        }
    }
  open_unified (cg);
  (void) res;
  *out = steal_ptr (&cg);
  return 0;
}

int
husk_cgroup_unified_fd (husk_cgroup_t *cg)
{
  return open_unified (cg);
}

const char *
husk_cgroup_path (const husk_cgroup_t *cg)
{
  for (size_t i = 0; i < cg->n; i++)
    if (cg->h[i].v2)
      return cg->h[i].path;
  return cg->n ? cg->h[0].path : "/";
}

int
husk_cgroup_enter (husk_cgroup_t *cg, pid_t pid, husk_error_t *err)
{
  for (size_t i = 0; i < cg->n; i++)
    if (husk_cg_writef (&cg->h[i], "cgroup.procs", err, "%d", (int) pid) < 0)
      return husk_error_wrap (err, "cannot join cgroup `%s`", cg->h[i].dir);
  return 0;
}

static bool
controller_listed (const char *list, const char *controllers)
{
  /* list "cpu,memory" names v1 controllers; controllers is e.g. "cpu,cpuacct" */
  husk_autofree char *l = xstrdup (list);
  char *save = NULL;
  for (char *t = strtok_r (l, ",", &save); t; t = strtok_r (NULL, ",", &save))
    {
      husk_autofree char *c = xstrdup (controllers);
      char *save2 = NULL;
      for (char *u = strtok_r (c, ",", &save2); u; u = strtok_r (NULL, ",", &save2))
        if (strcmp (t, u) == 0)
          return true;
    }
  return false;
}

int
husk_cgroup_enter_sub (husk_cgroup_t *cg, const char *spec, pid_t pid, husk_error_t *err)
{
  const char *colon = strchr (spec, ':');
  husk_autofree char *ctrls = colon ? xstrndup (spec, (size_t) (colon - spec)) : NULL;
  const char *sub = colon ? colon + 1 : spec;
  husk_autofree char *clean = husk_cgroup_clean_path (sub);
  for (size_t i = 0; i < cg->n; i++)
    {
      husk_cg_hier_t h = cg->h[i];
      husk_autofree char *dir = NULL;
      struct stat st;
      if (ctrls && (h.v2 || !controller_listed (ctrls, h.controllers)))
        {
          if (husk_cg_writef (&cg->h[i], "cgroup.procs", err, "%d", (int) pid) < 0)
            return -1;
          continue;
        }
      dir = xstrdup_printf ("%s%s", h.dir, clean);
      if (stat (dir, &st) < 0 || !S_ISDIR (st.st_mode))
        return husk_error_make (err, ENOENT, "--cgroup: sub-cgroup `%s` of the container", dir);
      h.dir = dir;
      if (husk_cg_writef (&h, "cgroup.procs", err, "%d", (int) pid) < 0)
        return -1;
    }
  return 0;
}

int
husk_cgroup_apply (husk_cgroup_t *cg, const husk_resources_t *res, bool update, husk_error_t *err)
{
  return cg->ops->apply (cg, res, update, err);
}

/* --- devices ------------------------------------------------------------ */

void
husk_cgroup_set_spec_devices (husk_cgroup_t *cg, const husk_device_t *devs, size_t len)
{
  free (cg->spec_devs);
  cg->spec_devs = NULL;
  cg->spec_devs_len = 0;
  if (len == 0)
    return;
  cg->spec_devs = xmalloc0 (len * sizeof *cg->spec_devs);
  for (size_t i = 0; i < len; i++)
    {
      if (devs[i].type != 'c' && devs[i].type != 'b' && devs[i].type != 'u')
        continue; /* fifos have no device rule */
      cg->spec_devs[cg->spec_devs_len++] = (husk_cg_dev_rule_t){
        .allow = true,
        .type = devs[i].type == 'u' ? 'c' : devs[i].type,
        .major = devs[i].major,
        .minor = devs[i].minor,
        .access = HUSK_CG_ACC_ALL,
      };
    }
}

/* runc's specconv AllowedDevices, appended after the spec's rules. */
static const husk_cg_dev_rule_t default_devices[] = {
  { true, 'c', -1, -1, HUSK_CG_ACC_MKNOD }, /* mknod of any device */
  { true, 'b', -1, -1, HUSK_CG_ACC_MKNOD },
  { true, 'c', 1, 3, HUSK_CG_ACC_ALL },     /* /dev/null */
  { true, 'c', 1, 8, HUSK_CG_ACC_ALL },     /* /dev/random */
  { true, 'c', 1, 7, HUSK_CG_ACC_ALL },     /* /dev/full */
  { true, 'c', 5, 0, HUSK_CG_ACC_ALL },     /* /dev/tty */
  { true, 'c', 1, 5, HUSK_CG_ACC_ALL },     /* /dev/zero */
  { true, 'c', 1, 9, HUSK_CG_ACC_ALL },     /* /dev/urandom */
  { true, 'c', 136, -1, HUSK_CG_ACC_ALL },  /* /dev/pts/N */
  { true, 'c', 5, 2, HUSK_CG_ACC_ALL },     /* /dev/ptmx */
  { true, 'c', 10, 200, HUSK_CG_ACC_ALL },  /* /dev/net/tun */
};

size_t
husk_cg_device_rules (husk_cgroup_t *cg, const husk_resources_t *res, bool update, husk_cg_dev_rule_t **out)
{
  size_t n_user = res ? res->devices_len : 0;
  size_t n_def = sizeof default_devices / sizeof default_devices[0];
  size_t n = 0;
  husk_cg_dev_rule_t *r;

  *out = NULL;
  if (update && n_user == 0)
    return 0;
  r = xmalloc0 ((n_user + cg->spec_devs_len + n_def) * sizeof *r);
  for (size_t i = 0; i < n_user; i++)
    {
      const husk_device_rule_t *d = &res->devices[i];
      unsigned acc = 0;
      if (d->access == NULL)
        acc = HUSK_CG_ACC_ALL;
      else
        for (const char *a = d->access; *a; a++)
          acc |= *a == 'r' ? HUSK_CG_ACC_READ : *a == 'w' ? HUSK_CG_ACC_WRITE : *a == 'm' ? HUSK_CG_ACC_MKNOD : 0;
      r[n++] = (husk_cg_dev_rule_t){
        .allow = d->allow,
        .type = d->type ? d->type : 'a',
        .major = d->has_major ? d->major : -1,
        .minor = d->has_minor ? d->minor : -1,
        .access = acc,
      };
    }
  for (size_t i = 0; i < cg->spec_devs_len; i++)
    r[n++] = cg->spec_devs[i];
  for (size_t i = 0; i < n_def; i++)
    r[n++] = default_devices[i];
  *out = r;
  return n;
}

/* --- freeze ------------------------------------------------------------- */

static int
freeze_v1 (husk_cg_hier_t *h, bool freeze, husk_error_t *err)
{
  const char *want = freeze ? "FROZEN" : "THAWED";
  for (int i = 0; i < 500; i++)
    {
      husk_autofree char *state = NULL;
      if (i % 5 == 0 && husk_cg_write (h, "freezer.state", want, err) < 0)
        return -1;
      if (husk_cg_read (h, "freezer.state", &state, err) < 0)
        return -1;
      if (strncmp (state, want, strlen (want)) == 0)
        return 0;
      msleep (i < 10 ? 1 : 10);
    }
  if (freeze)
    {
      husk_auto_error husk_error_t tmp = NULL;
      husk_cg_write (h, "freezer.state", "THAWED", &tmp);
    }
  return husk_error_make (err, EBUSY, "cannot %s cgroup `%s`: timed out", freeze ? "freeze" : "thaw", h->dir);
}

static int
events_frozen (husk_cg_hier_t *h, bool *frozen, husk_error_t *err)
{
  husk_autofree char *ev = NULL;
  char *p;
  if (husk_cg_read (h, "cgroup.events", &ev, err) < 0)
    return -1;
  p = strstr (ev, "frozen ");
  *frozen = p && p[7] == '1';
  return 0;
}

static int
freeze_v2 (husk_cg_hier_t *h, bool freeze, husk_error_t *err)
{
  if (husk_cg_write (h, "cgroup.freeze", freeze ? "1" : "0", err) < 0)
    return -1;
  for (int i = 0; i < 1000; i++)
    {
      bool frozen;
      if (events_frozen (h, &frozen, err) < 0)
        return -1;
      if (frozen == freeze)
        return 0;
      msleep (i < 10 ? 1 : 10);
    }
  if (freeze)
    {
      husk_auto_error husk_error_t tmp = NULL;
      husk_cg_write (h, "cgroup.freeze", "0", &tmp);
    }
  return husk_error_make (err, EBUSY, "cannot %s cgroup `%s`: timed out", freeze ? "freeze" : "thaw", h->dir);
}

/* v1 freezer when the container has one (legacy and hybrid hosts), else
 * cgroup.freeze of the cgroup2 tree. */
int
husk_cgroup_freeze (husk_cgroup_t *cg, bool freeze, husk_error_t *err)
{
  husk_cg_hier_t *h = husk_cg_find (cg, "freezer");
  if (h)
    return freeze_v1 (h, freeze, err);
  h = husk_cg_find (cg, NULL);
  if (h && husk_cg_has_file (h, "cgroup.freeze"))
    return freeze_v2 (h, freeze, err);
  return husk_error_make (err, ENOTSUP, "cannot %s the container: no freezer cgroup", freeze ? "pause" : "resume");
}

int
husk_cgroup_is_frozen (husk_cgroup_t *cg, bool *out, husk_error_t *err)
{
  husk_cg_hier_t *h = husk_cg_find (cg, "freezer");
  husk_autofree char *s = NULL;
  *out = false;
  if (h)
    {
      if (husk_cg_read (h, "freezer.state", &s, err) < 0)
        return -1;
      *out = strncmp (s, "FROZEN", 6) == 0;
      return 0;
    }
  h = husk_cg_find (cg, NULL);
  if (h && husk_cg_has_file (h, "cgroup.freeze"))
    {
      if (husk_cg_read (h, "cgroup.freeze", &s, err) < 0)
        return -1;
      *out = s[0] == '1';
    }
  return 0;
}

/* --- processes ---------------------------------------------------------- */

static husk_cg_hier_t *
procs_hier (husk_cgroup_t *cg)
{
  static const char *const order[] = { "freezer", "devices", "pids", "memory", NULL };
  husk_cg_hier_t *h = husk_cg_find (cg, NULL);
  for (int i = 0; h == NULL && order[i]; i++)
    h = husk_cg_find (cg, order[i]);
  return h ? h : (cg->n ? &cg->h[0] : NULL);
}

int
husk_cgroup_pids (husk_cgroup_t *cg, pid_t **pids, size_t *len, husk_error_t *err)
{
  husk_cg_hier_t *h = procs_hier (cg);
  husk_autofree char *buf = NULL;
  pid_t *v = NULL;
  size_t n = 0;
  char *save = NULL;

  *pids = NULL;
  *len = 0;
  if (h == NULL)
    return husk_error_make (err, ENOENT, "the container has no cgroup");
  if (husk_cg_read (h, "cgroup.procs", &buf, err) < 0)
    return -1;
  for (char *l = strtok_r (buf, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      v = xrealloc (v, (n + 1) * sizeof *v);
      v[n++] = (pid_t) atoi (l);
    }
  *pids = v;
  *len = n;
  return 0;
}

int
husk_cgroup_kill_all (husk_cgroup_t *cg, int sig, husk_error_t *err)
{
  husk_cg_hier_t *h2 = husk_cg_find (cg, NULL);
  husk_autofree pid_t *done = NULL;
  size_t ndone = 0;

  /* cgroup.kill only when something is there to kill: a write leaves a
   * mark some kernels trip over later (see open_unified). */
  if (sig == SIGKILL && h2 && husk_cg_has_file (h2, "cgroup.kill"))
    {
      husk_autofree char *events = NULL;
      husk_autofree char *path = xstrdup_printf ("%s/cgroup.events", h2->dir);
      if (husk_read_file (path, &events, NULL, NULL) == 0 && strstr (events, "populated 0"))
        return 0;
      return husk_cg_write (h2, "cgroup.kill", "1", err);
    }

  /* Signal every process once; for SIGKILL go on while new ones appear
   * (forks racing with us), up to a bound. */
  for (int round = 0; round < (sig == SIGKILL ? 100 : 1); round++)
    {
      husk_autofree pid_t *pids = NULL;
      size_t n, fresh = 0;
      if (husk_cgroup_pids (cg, &pids, &n, err) < 0)
        return -1;
      for (size_t i = 0; i < n; i++)
        {
          bool seen = false;
          for (size_t k = 0; k < ndone && !seen; k++)
            seen = done[k] == pids[i];
          if (seen)
            continue;
          if (kill (pids[i], sig) < 0 && errno != ESRCH)
            return husk_error_make (err, errno, "cannot send signal %d to pid %d", sig, (int) pids[i]);
          done = xrealloc (done, (ndone + 1) * sizeof *done);
          done[ndone++] = pids[i];
          fresh++;
        }
      if (fresh == 0)
        break;
      msleep (5);
    }
  return 0;
}

/* --- destroy ------------------------------------------------------------ */

/* rmdir a cgroup directory and the cgroups the container made below it,
 * retrying for about a second while the kernel still sees it busy. */
static int
rm_cgroup_tree (const char *dir)
{
  husk_autoclosedir DIR *d = opendir (dir);
  struct dirent *de;
  if (d == NULL)
    return errno == ENOENT ? 0 : -1;
  while ((de = readdir (d)))
    {
      husk_autofree char *sub = NULL;
      if (de->d_type != DT_DIR || strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      sub = xstrdup_printf ("%s/%s", dir, de->d_name);
      if (rm_cgroup_tree (sub) < 0)
        return -1;
    }
  if (rmdir (dir) < 0 && errno != ENOENT)
    return -1;
  return 0;
}

static int
rm_cgroup_dir (const char *dir, bool retry, husk_error_t *err)
{
  for (int i = 0;; i++)
    {
      if (rm_cgroup_tree (dir) == 0)
        return 0;
      if (!retry || errno != EBUSY || i >= 100)
        return husk_error_make (err, errno, "cannot remove cgroup `%s`", dir);
      msleep (10);
    }
}

int
husk_cgroup_destroy (husk_cgroup_t *cg, husk_error_t *err)
{
  int ret = 0;
  for (size_t i = 0; i < cg->n; i++)
    {
      husk_auto_error husk_error_t tmp = NULL;
      if (hier_destroy (&cg->h[i], &tmp) < 0 && ret == 0)
        {
          husk_error_move (err, &tmp);
          ret = -1;
        }
    }
  if (cg->unified_fd >= 0)
    {
      close (cg->unified_fd);
      cg->unified_fd = -1;
    }
  return ret;
}

void
husk_cgroup_free (husk_cgroup_t *cg)
{
  if (cg == NULL)
    return;
  for (size_t i = 0; i < cg->n; i++)
    hier_clear (&cg->h[i]);
  free (cg->h);
  free (cg->spec_devs);
  if (cg->unified_fd >= 0)
    close (cg->unified_fd);
  free (cg);
}

void
husk_cgroup_freep (husk_cgroup_t **cg)
{
  husk_cgroup_free (*cg);
  *cg = NULL;
}

/* --- save / load -------------------------------------------------------- */

/* "husk-cgroup 1 <mode>\n" then one line per hierarchy:
 * "<v2>\t<created>\t<controllers or ->\t<mount>\t<path>\t<dir>\n". */
char *
husk_cgroup_save (const husk_cgroup_t *cg)
{
  char *out = xstrdup_printf ("husk-cgroup 1 %d\n", (int) cg->mode);
  for (size_t i = 0; i < cg->n; i++)
    {
      const husk_cg_hier_t *h = &cg->h[i];
      char *line = xstrdup_printf ("%s%d\t%d\t%s\t%s\t%s\t%s\n", out, h->v2 ? 1 : 0, h->created,
                                   *h->controllers ? h->controllers : "-", h->mount, h->path, h->dir);
      free (out);
      out = line;
    }
  return out;
}

int
husk_cgroup_load (const char *saved, husk_cgroup_t **out, husk_error_t *err)
{
  husk_autocgroup husk_cgroup_t *cg = NULL;
  husk_autofree char *copy = xstrdup (saved ? saved : "");
  char *save = NULL, *line;
  int mode;

  line = strtok_r (copy, "\n", &save);
  if (line == NULL || sscanf (line, "husk-cgroup 1 %d", &mode) != 1 || mode < 0 || mode > HUSK_CGROUP_LEGACY)
    return husk_error_make (err, EINVAL, "invalid saved cgroup state");
  cg = cgroup_new ((husk_cgroup_mode_t) mode);
  while ((line = strtok_r (NULL, "\n", &save)))
    {
      char *f[6];
      char *sp = line;
      husk_cg_hier_t *h;
      for (int i = 0; i < 6; i++)
        {
          f[i] = strsep (&sp, "\t");
          if (f[i] == NULL)
            return husk_error_make (err, EINVAL, "invalid saved cgroup state: `%s`", line);
        }
      cg->h = xrealloc (cg->h, (cg->n + 1) * sizeof *cg->h);
      h = &cg->h[cg->n++];
      memset (h, 0, sizeof *h);
      h->v2 = strcmp (f[0], "1") == 0;
      h->created = atoi (f[1]);
      h->controllers = xstrdup (strcmp (f[2], "-") == 0 ? "" : f[2]);
      h->mount = xstrdup (f[3]);
      h->path = xstrdup (f[4]);
      h->dir = xstrdup (f[5]);
      if (strncmp (h->dir, h->mount, strlen (h->mount)) != 0 || strstr (h->dir, "/../"))
        return husk_error_make (err, EINVAL, "invalid saved cgroup state: `%s`", h->dir);
    }
  open_unified (cg);
  *out = steal_ptr (&cg);
  return 0;
}

char *
husk_cg_rdma_line (const husk_rdma_t *r)
{
  husk_autofree char *handles = r->has_hca_handles ? xstrdup_printf (" hca_handle=%u", r->hca_handles) : NULL;
  husk_autofree char *objects = r->has_hca_objects ? xstrdup_printf (" hca_object=%u", r->hca_objects) : NULL;
  return xstrdup_printf ("%s%s%s", r->device, handles ? handles : "", objects ? objects : "");
}
