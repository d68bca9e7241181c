/* husk: operations on an existing container: state, kill, delete, list,
 * pause/resume, ps, update, stats. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "container-internal.h"
#include "rootfs.h"

bool
husk_wait_pid_exit (pid_t pid, int timeout_ms)
{
  int fd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (fd >= 0)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      int r;
      do
        r = poll (&p, 1, timeout_ms);
      while (r < 0 && errno == EINTR);
      close (fd);
      if (r == 0)
        return false;
    }
  /* The process may be a zombie nobody reaps: that counts as exited. */
  for (int i = 0; i < timeout_ms / 10 + 1; i++)
    {
      if (!husk_pid_alive (pid, 0))
        return true;
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep (&ts, NULL);
    }
  return !husk_pid_alive (pid, 0);
}

char *
husk_seccomp_state_json (const husk_state_t *st, const husk_spec_t *spec)
{
  husk_autofree char *state = husk_state_json (st, HUSK_STATUS_CREATING, spec, false);
  yajl_gen g = husk_json_gen_new (false, NULL);
  husk_autofree char *out = NULL;
  husk_autofree char *res = NULL;
  yajl_gen_map_open (g);
  husk_json_kv_str (g, "ociVersion", HUSK_SPEC_VERSION);
  husk_json_str (g, "fds");
  yajl_gen_array_open (g);
  husk_json_str (g, "seccompFd");
  yajl_gen_array_close (g);
  husk_json_kv_int (g, "pid", st->pid);
  if (spec->linux_ && spec->linux_->seccomp && spec->linux_->seccomp->listener_metadata)
    husk_json_kv_str (g, "metadata", spec->linux_->seccomp->listener_metadata);
  husk_json_str (g, "state");
  /* splice the state object in: close the map by hand */
  yajl_gen_map_close (g);
  out = husk_json_gen_finish (g);
  /* out ends with `"state"}`: replace the final `}` by `:<state>}` */
  out[strlen (out) - 1] = '\0';
  res = xstrdup_printf ("%s:%s}", out, state);
  return steal_ptr (&res);
}

static int
load_cgroup (husk_container_t *c, husk_cgroup_t **cg, husk_error_t *err)
{
  *cg = NULL;
  if (c->state.cgroup == NULL)
    return 0;
  return husk_cgroup_load (c->state.cgroup, cg, err);
}

int
husk_container_state_json (husk_context_t *ctx, const char *id, char **json, husk_error_t *err)
{
  husk_container_t c;
  husk_spec_t *spec = NULL;
  int r = husk_container_open (ctx, id, &c, err);
  if (r == 0)
    {
      husk_status_t s = husk_container_status (&c);
      husk_container_load_spec (&c, &spec, NULL);
      free (c.state.owner);
      c.state.owner = xstrdup ("");
      *json = husk_state_json (&c.state, s, spec, true);
      husk_spec_free (spec);
    }
  husk_container_close (&c);
  return r;
}

static int
signal_init (husk_container_t *c, int sig, husk_error_t *err)
{
  int fd = (int) syscall (SYS_pidfd_open, c->state.pid, 0);
  int r;
  if (fd >= 0 && husk_pid_alive (c->state.pid, c->state.start_time))
    {
      r = (int) syscall (SYS_pidfd_send_signal, fd, sig, NULL, 0);
      close (fd);
    }
  else
    {
      if (fd >= 0)
        close (fd);
      errno = ESRCH;
      r = -1;
    }
  if (r < 0)
    {
      if (errno == ESRCH)
        return husk_error_make (err, 0, "container not running");
      return husk_error_make (err, errno, "cannot send signal %d to the container init", sig);
    }
  return 0;
}

int
husk_container_kill (husk_context_t *ctx, const char *id, int sig, bool all, husk_error_t *err)
{
  husk_container_t c;
  husk_cgroup_t *cg = NULL;
  husk_status_t s;
  int r = -1;
  if (husk_container_open (ctx, id, &c, err) < 0)
    goto out;
  s = husk_container_status (&c);
  if (s == HUSK_STATUS_STOPPED)
    {
      husk_error_make (err, 0, "container not running");
      goto out;
    }
  if (load_cgroup (&c, &cg, err) < 0)
    goto out;
  /* --all, or SIGKILL to a container without its own pid namespace: every
   * process of the cgroup (runc does the latter on its own). */
  if (cg && (all || (sig == SIGKILL && !c.state.own_pidns)))
    {
      if (husk_cgroup_kill_all (cg, sig, err) < 0)
        goto out;
      r = 0;
    }
  else
    r = signal_init (&c, sig, err);
  if (r == 0 && s == HUSK_STATUS_PAUSED && sig == SIGKILL && cg)
    husk_cgroup_freeze (cg, false, NULL);
out:
  if (cg)
    husk_cgroup_free (cg);
  husk_container_close (&c);
  return r;
}

int
husk_container_destroy (husk_container_t *c, const husk_spec_t *spec, husk_error_t *err)
{
  husk_cgroup_t *cg = NULL;
  if (load_cgroup (c, &cg, err) < 0)
    return -1;
  if (cg)
    {
      husk_cgroup_kill_all (cg, SIGKILL, NULL);
      if (husk_cgroup_destroy (cg, err) < 0)
        {
          husk_cgroup_free (cg);
          return -1;
        }
      husk_cgroup_free (cg);
    }
  if (c->state.host_mounts && c->state.rootfs)
    husk_rootfs_unmount_under (c->state.rootfs, NULL);
  if (husk_rm_rf (c->dir, err) < 0)
    return -1;
  if (spec && spec->hooks && spec->hooks->poststop.len)
    {
      husk_autofree char *st = husk_state_json (&c->state, HUSK_STATUS_STOPPED, spec, false);
      husk_hooks_run_warn (&spec->hooks->poststop, "poststop", st);
    }
  return 0;
}

int
husk_container_delete (husk_context_t *ctx, const char *id, bool force, husk_error_t *err)
{
  husk_container_t c;
  husk_spec_t *spec = NULL;
  husk_status_t s;
  int r = -1;
  if (husk_container_open (ctx, id, &c, err) < 0)
    {
      if (force && *err && strstr ((*err)->msg, "does not exist"))
        {
          /* A dir without state.json: a create still running (wait for its
           * lock; it either finishes or cleans up) or one that crashed. */
          if (c.dirfd >= 0 && flock (c.dirfd, LOCK_EX) == 0 && faccessat (c.dirfd, "state.json", F_OK, 0) == 0)
            {
              husk_error_release (err);
              husk_container_close (&c);
              return husk_container_delete (ctx, id, force, err);
            }
          if (c.dir)
            husk_rm_rf (c.dir, NULL);
          husk_error_release (err);
          r = 0;
        }
      goto out;
    }
  husk_container_load_spec (&c, &spec, NULL);
  s = husk_container_status (&c);
  if ((s == HUSK_STATUS_RUNNING || s == HUSK_STATUS_PAUSED) && !force)
    {
      husk_error_make (err, 0, "cannot delete container %s that is not stopped: %s", id, husk_status_name (s));
      goto out;
    }
  if (s != HUSK_STATUS_STOPPED)
    {
      husk_cgroup_t *cg = NULL;
      if (load_cgroup (&c, &cg, NULL) == 0 && cg)
        {
          husk_cgroup_kill_all (cg, SIGKILL, NULL);
          if (s == HUSK_STATUS_PAUSED)
            husk_cgroup_freeze (cg, false, NULL);
          husk_cgroup_free (cg);
        }
      signal_init (&c, SIGKILL, NULL);
      if (!husk_wait_pid_exit (c.state.pid, 10000))
        {
          husk_error_make (err, 0, "container `%s`: the init did not exit after SIGKILL", id);
          goto out;
        }
    }
  r = husk_container_destroy (&c, spec, err);
out:
  husk_spec_free (spec);
  husk_container_close (&c);
  return r;
}

static char *
owner_name (uid_t uid)
{
  struct passwd *pw = getpwuid (uid);
  if (pw)
    return xstrdup (pw->pw_name);
  return xstrdup_printf ("#%u", uid);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
husk_container_list (husk_context_t *ctx, husk_list_format_t format, char **out, bool root_given,
                     husk_error_t *err)
{
  husk_autoclosedir DIR *d = opendir (ctx->root);
  struct dirent *de;
  char **ids = NULL;
  size_t n = 0;
  size_t cap = 0, count = 0;
  char *text = NULL;
  size_t tlen = 0;
  FILE *f;

  if (d == NULL)
    {
      if (errno == ENOENT && !root_given)
        {
          *out = xstrdup (format == HUSK_LIST_JSON ? "null" : (format == HUSK_LIST_QUIET ? "" : "ID    PID   STATUS   BUNDLE   CREATED   OWNER"));
          return 0;
        }
      return husk_error_make (err, errno, "cannot open state root `%s`", ctx->root);
    }
  while ((de = readdir (d)))
    {
      if (de->d_name[0] == '.')
        continue;
      if (n == cap)
        {
          cap = cap ? cap * 2 : 16;
          ids = xrealloc (ids, cap * sizeof *ids);
        }
      ids[n++] = xstrdup (de->d_name);
    }
  if (n)
    qsort (ids, n, sizeof *ids, cmp_str);

  f = open_memstream (&text, &tlen);
  if (format == HUSK_LIST_TABLE)
    fprintf (f, "%-12s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
  for (size_t i = 0; i < n; i++)
    {
      husk_container_t c;
      husk_spec_t *spec = NULL;
      struct stat st;
      husk_status_t s;
      if (husk_container_open (ctx, ids[i], &c, NULL) < 0)
        {
          husk_container_close (&c);
          continue;
        }
      s = husk_container_status (&c);
      free (c.state.owner);
      c.state.owner = fstat (c.dirfd, &st) == 0 ? owner_name (st.st_uid) : xstrdup ("");
      if (format == HUSK_LIST_JSON)
        {
          husk_autofree char *one = NULL;
          husk_container_load_spec (&c, &spec, NULL);
          one = husk_state_json (&c.state, s, spec, false);
          fprintf (f, "%s%s", count ? "," : "", one);
          count++;
          husk_spec_free (spec);
        }
      else if (format == HUSK_LIST_QUIET)
        fprintf (f, "%s\n", c.state.id);
      else
        fprintf (f, "%-12s %-8d %-10s %-40s %-32s %s\n", c.state.id, s == HUSK_STATUS_STOPPED ? 0 : c.state.pid,
                 husk_status_name (s), c.state.bundle, c.state.created, c.state.owner);
      husk_container_close (&c);
    }
  fclose (f);
  if (format == HUSK_LIST_JSON)
    {
      /* `null` when empty, like runc (go-runc accepts both). */
      char *result = count ? xstrdup_printf ("[%s]", text) : xstrdup ("null");
      free (text);
      text = result;
    }
  else if (tlen && text[tlen - 1] == '\n')
    text[tlen - 1] = '\0';
  for (size_t i = 0; i < n; i++)
    free (ids[i]);
  free (ids);
  *out = text;
  return 0;
}

static int
open_running (husk_context_t *ctx, const char *id, husk_container_t *c, husk_cgroup_t **cg, husk_status_t *s,
              husk_error_t *err)
{
  *cg = NULL;
  if (husk_container_open (ctx, id, c, err) < 0)
    return -1;
  *s = husk_container_status (c);
  if (*s == HUSK_STATUS_STOPPED)
    return husk_error_make (err, 0, "container not running");
  if (load_cgroup (c, cg, err) < 0)
    return -1;
  if (*cg == NULL)
    return husk_error_make (err, 0, "container `%s` has no cgroup", id);
  return 0;
}

static int
pause_resume (husk_context_t *ctx, const char *id, bool freeze, husk_error_t *err)
{
  husk_container_t c;
  husk_cgroup_t *cg = NULL;
  husk_status_t s;
  int r = -1;
  if (open_running (ctx, id, &c, &cg, &s, err) < 0)
    goto out;
  if (freeze && s == HUSK_STATUS_PAUSED)
    {
      husk_error_make (err, 0, "container `%s` is already paused", id);
      goto out;
    }
  if (!freeze && s != HUSK_STATUS_PAUSED)
    {
      husk_error_make (err, 0, "container not paused");
      goto out;
    }
  r = husk_cgroup_freeze (cg, freeze, err);
out:
  if (cg)
    husk_cgroup_free (cg);
  husk_container_close (&c);
  return r;
}

int
husk_container_pause (husk_context_t *ctx, const char *id, husk_error_t *err)
{
  return pause_resume (ctx, id, true, err);
}

int
husk_container_resume (husk_context_t *ctx, const char *id, husk_error_t *err)
{
  return pause_resume (ctx, id, false, err);
}

int
husk_container_pids (husk_context_t *ctx, const char *id, pid_t **pids, size_t *len, husk_error_t *err)
{
  husk_container_t c;
  husk_cgroup_t *cg = NULL;
  husk_status_t s;
  int r = -1;
  if (open_running (ctx, id, &c, &cg, &s, err) < 0)
    goto out;
  r = husk_cgroup_pids (cg, pids, len, err);
out:
  if (cg)
    husk_cgroup_free (cg);
  husk_container_close (&c);
  return r;
}

int
husk_container_update (husk_context_t *ctx, const char *id, const husk_resources_t *res, husk_error_t *err)
{
  husk_container_t c;
  husk_cgroup_t *cg = NULL;
  husk_status_t s;
  int r = -1;
  if (open_running (ctx, id, &c, &cg, &s, err) < 0)
    goto out;
  r = husk_cgroup_apply (cg, res, true, err);
out:
  if (cg)
    husk_cgroup_free (cg);
  husk_container_close (&c);
  return r;
}
