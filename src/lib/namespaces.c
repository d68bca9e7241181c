/* husk: namespaces: which to create, joining by path, id maps, time offsets. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "internal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

int
husk_ns_new_flags (const husk_spec_t *spec)
{
  int flags = 0;
  if (spec->linux_ == NULL)
    return 0;
  for (size_t i = 0; i < spec->linux_->namespaces_len; i++)
    if (spec->linux_->namespaces[i].path == NULL)
      flags |= husk_ns_clone_flag (spec->linux_->namespaces[i].type);
  return flags;
}

bool
husk_ns_any_path (const husk_spec_t *spec)
{
  if (spec->linux_ == NULL)
    return false;
  for (size_t i = 0; i < spec->linux_->namespaces_len; i++)
    if (spec->linux_->namespaces[i].path)
      return true;
  return false;
}

static int
write_map (pid_t pid, const char *file, const husk_idmap_t *m, size_t n, husk_error_t *err)
{
  char path[64];
  char buf[4096];
  size_t off = 0;
  if (n == 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    {
      int w = snprintf (buf + off, sizeof buf - off, "%u %u %u\n", m[i].container_id, m[i].host_id, m[i].size);
      if (w < 0 || (size_t) w >= sizeof buf - off)
        return husk_error_make (err, E2BIG, "cannot write `%s`", file);
      off += (size_t) w;
    }
  snprintf (path, sizeof path, "/proc/%d/%s", (int) pid, file);
  if (husk_write_file (path, buf, off, err) < 0)
    return husk_error_wrap (err, "cannot set up the user namespace");
  return 0;
}

/* An unprivileged caller may only map its own id (one entry of size 1);
 * anything more goes through the setuid newuidmap/newgidmap helpers
 * (Debian's uidmap), which check /etc/subuid and /etc/subgid. */
static bool
needs_helper (const husk_idmap_t *m, size_t n, uid_t own)
{
  if (geteuid () == 0 || n == 0)
    return false;
  return !(n == 1 && m[0].host_id == own && m[0].size == 1);
}

static int
run_map_helper (const char *helper, pid_t pid, const husk_idmap_t *m, size_t n, husk_error_t *err)
{
  husk_autostrv char **argv = xmalloc0 (sizeof (char *) * (3 * n + 3));
  husk_autofree char *out = NULL;
  husk_autoclose int rd = -1;
  size_t k = 0, len = 0;
  int pipefd[2], status;
  pid_t child;

  argv[k++] = xstrdup (helper);
  argv[k++] = xstrdup_printf ("%d", (int) pid);
  for (size_t i = 0; i < n; i++)
    {
      argv[k++] = xstrdup_printf ("%u", m[i].container_id);
      argv[k++] = xstrdup_printf ("%u", m[i].host_id);
      argv[k++] = xstrdup_printf ("%u", m[i].size);
    }
  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return husk_error_make (err, errno, "cannot create a pipe for %s", helper);
  rd = pipefd[0];
  child = fork ();
  if (child < 0)
    {
      close (pipefd[1]);
      return husk_error_make (err, errno, "cannot fork %s", helper);
    }
  if (child == 0)
    {
      dup2 (pipefd[1], 1);
      dup2 (pipefd[1], 2);
      execvp (helper, argv);
      dprintf (2, "cannot run %s: %s (it comes with the uidmap package)", helper, strerror (errno));
      _exit (127);
    }
  close (pipefd[1]);
  husk_read_fd (rd, helper, &out, &len, NULL);
  while (waitpid (child, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
    out[--len] = '\0';
  return husk_error_make (err, EPERM, "cannot set up the user namespace: %s failed: %s", helper,
                          len ? out : "no output");
}

int
husk_ns_write_id_maps (pid_t pid, const husk_spec_t *spec, husk_error_t *err)
{
  const husk_linux_t *l = spec->linux_;
  bool uid_helper = needs_helper (l->uid_mappings, l->uid_mappings_len, geteuid ());
  bool gid_helper = needs_helper (l->gid_mappings, l->gid_mappings_len, getegid ());

  if (uid_helper ? run_map_helper ("newuidmap", pid, l->uid_mappings, l->uid_mappings_len, err) < 0
                 : write_map (pid, "uid_map", l->uid_mappings, l->uid_mappings_len, err) < 0)
    return -1;
  if (gid_helper)
    return run_map_helper ("newgidmap", pid, l->gid_mappings, l->gid_mappings_len, err);
  if (geteuid () != 0 && l->gid_mappings_len)
    {
      /* user_namespaces(7): an unprivileged gid_map needs setgroups denied */
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/setgroups", (int) pid);
      if (husk_write_file (path, "deny", 4, err) < 0)
        return husk_error_wrap (err, "cannot set up the user namespace");
    }
  return write_map (pid, "gid_map", l->gid_mappings, l->gid_mappings_len, err);
}

static int
join_one (const husk_namespace_t *ns, husk_error_t *err)
{
  husk_autoclose int fd = open (ns->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot open %s namespace `%s`", husk_ns_type_name (ns->type), ns->path);
  if (setns (fd, husk_ns_clone_flag (ns->type)) < 0)
    return husk_error_make (err, errno, "cannot join %s namespace `%s`", husk_ns_type_name (ns->type), ns->path);
  return 0;
}

/* Join every namespace given by path: the user namespace first (it owns the
 * others), then the rest; mount last so the other paths still resolve. */
int
husk_ns_join_paths (const husk_spec_t *spec, husk_error_t *err)
{
  const husk_linux_t *l = spec->linux_;
  const husk_namespace_t *mnt = NULL;
  if (l == NULL)
    return 0;
  for (size_t i = 0; i < l->namespaces_len; i++)
    if (l->namespaces[i].path && l->namespaces[i].type == HUSK_NS_USER && join_one (&l->namespaces[i], err) < 0)
      return -1;
  for (size_t i = 0; i < l->namespaces_len; i++)
    {
      const husk_namespace_t *ns = &l->namespaces[i];
      if (ns->path == NULL || ns->type == HUSK_NS_USER)
        continue;
      if (ns->type == HUSK_NS_MOUNT)
        {
          mnt = ns;
          continue;
        }
      if (join_one (ns, err) < 0)
        return -1;
    }
  if (mnt && join_one (mnt, err) < 0)
    return -1;
  return 0;
}

int
husk_ns_set_time_offsets (const husk_time_offsets_t *t, husk_error_t *err)
{
  char buf[128];
  int n = 0;
  if (t == NULL)
    return 0;
  if (t->has_monotonic)
    n += snprintf (buf + n, sizeof buf - n, "monotonic %lld %u\n", (long long) t->monotonic_secs, t->monotonic_nsecs);
  if (t->has_boottime)
    n += snprintf (buf + n, sizeof buf - n, "boottime %lld %u\n", (long long) t->boottime_secs, t->boottime_nsecs);
  if (n == 0)
    return 0;
  if (husk_write_file ("/proc/self/timens_offsets", buf, (size_t) n, err) < 0)
    return husk_error_wrap (err, "cannot set time namespace offsets");
  return 0;
}
