/* husk: exec — run a new process inside a running container.
 *
 * The runtime joins the container's pid (and time) namespace for its
 * children, clones the new process into the container's cgroup, and the
 * child joins the remaining namespaces through a pidfd (user first, in one
 * setns call), takes the container's root, applies the process (user, caps,
 * rlimits, no_new_privs, seccomp from the container unless overridden) and
 * execs.  A CLOEXEC socket tells the runtime whether execve happened: it
 * closes with no data on success and carries the error text otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "container-internal.h"
#include "terminal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

typedef struct
{
  husk_process_t *proc;
  const husk_spec_t *spec;
  husk_seccomp_filter_t *seccomp;
  pid_t init;
  int pidfd;
  int ns_flags;   /* namespaces to join in the child */
  bool in_userns; /* the container has its own user namespace */
  int root_fd;    /* /proc/<init>/root, O_PATH */
  int sync_fd;    /* child end: errors, then CLOEXEC close on exec */
  int console_fd;
  int preserve_fds;
  char **env;
} exec_child_t;

/* Namespaces of the init that differ from ours (setns to our own user ns fails). */
static int
namespaces_to_join (pid_t init)
{
  static const struct
  {
    const char *name;
    int flag;
  } ns[] = {
    { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
    { "net", CLONE_NEWNET },   { "cgroup", CLONE_NEWCGROUP }, { "pid", CLONE_NEWPID }, { "time", CLONE_NEWTIME },
  };
  int flags = 0;
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
    {
      char a[64], b[64];
      struct stat sa, sb;
      snprintf (a, sizeof a, "/proc/%d/ns/%s", (int) init, ns[i].name);
      snprintf (b, sizeof b, "/proc/self/ns/%s", ns[i].name);
      if (stat (a, &sa) == 0 && stat (b, &sb) == 0 && (sa.st_ino != sb.st_ino || sa.st_dev != sb.st_dev))
        flags |= ns[i].flag;
    }
  return flags;
}

static __attribute__ ((noreturn)) void
child_fail (exec_child_t *c, husk_error_t *err)
{
  const char *msg = (err && *err) ? (*err)->msg : "unknown error";
  husk_write_all (c->sync_fd, msg, strlen (msg));
  _exit (255);
}

#define CHILD_CHECK(expr)                                                                                              \
  do                                                                                                                   \
    {                                                                                                                  \
      if ((expr) < 0)                                                                                                  \
        child_fail (c, &err);                                                                                          \
    }                                                                                                                  \
  while (0)

static __attribute__ ((noreturn)) void
exec_child (exec_child_t *c)
{
  husk_error_t err = NULL;
  const husk_process_t *p = c->proc;
  husk_autofree char *exe = NULL;
  char go;
  int listener = -1;
  bool early_seccomp;
  sigset_t none;

  /* Wait until the runtime has put us into the cgroup. */
  if (read (c->sync_fd, &go, 1) != 1)
    _exit (255);
  if (c->ns_flags & ~(CLONE_NEWPID | CLONE_NEWTIME))
    if (setns (c->pidfd, c->ns_flags & ~(CLONE_NEWPID | CLONE_NEWTIME)) < 0)
      {
        husk_error_make (&err, errno, "cannot join the namespaces of the container");
        child_fail (c, &err);
      }
  if (fchdir (c->root_fd) < 0 || chroot (".") < 0 || chdir ("/") < 0)
    {
      husk_error_make (&err, errno, "cannot enter the root of the container");
      child_fail (c, &err);
    }
  close (c->root_fd);
  if (c->in_userns && (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0))
    {
      husk_error_make (&err, errno, "cannot become root in the user namespace");
      child_fail (c, &err);
    }

  if (p->terminal)
    {
      int slave = husk_terminal_setup (p, c->console_fd, false, &err);
      if (slave < 0)
        child_fail (c, &err);
      close (c->console_fd);
      CHILD_CHECK (husk_terminal_make_stdio (slave, &err));
      if (slave > 2)
        close (slave);
    }
  CHILD_CHECK (husk_process_set_oom_score_adj (p, &err));
  CHILD_CHECK (husk_process_set_rlimits (p, &err));
  CHILD_CHECK (husk_process_set_scheduler (p, &err));
  CHILD_CHECK (husk_process_set_ioprio (p, &err));
  umask (p->user.has_umask ? p->user.umask : 022);
  CHILD_CHECK (husk_process_chdir (p, &err));

  early_seccomp = c->seccomp && !p->no_new_privileges;
  if (early_seccomp)
    {
      CHILD_CHECK (husk_seccomp_install (c->seccomp, &listener, &err));
      if (listener >= 0)
        close (listener); /* a notify agent only receives the init's fd */
    }
  CHILD_CHECK (husk_process_set_user_and_caps (p, &err));
  CHILD_CHECK (husk_process_find_exec (p, &exe, &err));
  if (p->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      husk_error_make (&err, errno, "cannot set no_new_privs");
      child_fail (c, &err);
    }
  if (c->seccomp && !early_seccomp)
    {
      CHILD_CHECK (husk_seccomp_install (c->seccomp, &listener, &err));
      if (listener >= 0)
        close (listener);
    }
  CHILD_CHECK (husk_cloexec_fds_from (3 + c->preserve_fds, &err));
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  execve (exe, p->args, c->env);
  husk_error_make (&err, errno, "cannot exec `%s`", exe);
  child_fail (c, &err);
}

/* The container's process with the flags' overrides (runc's exec without -p). */
static int
process_from_flags (husk_spec_t *spec, const husk_exec_opts_t *o, husk_error_t *err)
{
  husk_process_t *p = spec->process;
  if (o->args_len == 0)
    return husk_error_make (err, 0, "exec: a command is required (\"husk exec <container-id> <command> [args...]\")");
  husk_strv_free (p->args);
  p->args = xmalloc0 (sizeof (char *) * (o->args_len + 1));
  for (size_t i = 0; i < o->args_len; i++)
    p->args[i] = xstrdup (o->args[i]);
  p->args_len = o->args_len;
  p->terminal = o->tty;
  p->has_console_size = false;
  if (o->env_len)
    {
      char **env = xmalloc0 (sizeof (char *) * (p->env_len + o->env_len + 1));
      size_t n = 0;
      for (size_t i = 0; i < p->env_len; i++)
        {
          const char *eq = strchr (p->env[i], '=');
          size_t k = eq ? (size_t) (eq - p->env[i]) : strlen (p->env[i]);
          bool replaced = false;
          for (size_t j = 0; j < o->env_len; j++)
            if (strncmp (o->env[j], p->env[i], k) == 0 && (o->env[j][k] == '=' || o->env[j][k] == '\0'))
              replaced = true;
          if (!replaced)
            env[n++] = xstrdup (p->env[i]);
        }
      for (size_t j = 0; j < o->env_len; j++)
        env[n++] = xstrdup (o->env[j]);
      husk_strv_free (p->env);
      p->env = env;
      p->env_len = n;
    }
  if (o->cwd)
    {
      if (o->cwd[0] != '/')
        return husk_error_make (err, 0, "exec: --cwd `%s` must be an absolute path", o->cwd);
      free (p->cwd);
      p->cwd = xstrdup (o->cwd);
    }
  if (o->has_user)
    {
      p->user.uid = o->uid;
      p->user.gid = o->has_gid ? o->gid : p->user.gid;
    }
  if (o->gids_len)
    {
      free (p->user.additional_gids);
      p->user.additional_gids = xmalloc (sizeof (uint32_t) * o->gids_len);
      memcpy (p->user.additional_gids, o->gids, sizeof (uint32_t) * o->gids_len);
      p->user.additional_gids_len = o->gids_len;
    }
  if (o->no_new_privs)
    p->no_new_privileges = true;
  for (size_t i = 0; i < o->caps_len; i++)
    {
      int cap = husk_cap_from_name (o->caps[i]);
      husk_capset_t **sets[4];
      if (cap < 0)
        return husk_error_make (err, 0, "exec: --cap: unknown capability `%s`", o->caps[i]);
      if (p->capabilities == NULL)
        p->capabilities = xmalloc0 (sizeof *p->capabilities);
      sets[0] = &p->capabilities->bounding;
      sets[1] = &p->capabilities->effective;
      sets[2] = &p->capabilities->permitted;
      sets[3] = &p->capabilities->ambient;
      for (int s = 0; s < 4; s++)
        {
          if (*sets[s] == NULL)
            *sets[s] = xmalloc0 (sizeof (husk_capset_t));
          (*sets[s])->caps = xrealloc ((*sets[s])->caps, sizeof (int) * ((*sets[s])->caps_len + 1));
          (*sets[s])->caps[(*sets[s])->caps_len++] = cap;
        }
      /* ambient needs inheritable too */
      if (p->capabilities->inheritable == NULL)
        p->capabilities->inheritable = xmalloc0 (sizeof (husk_capset_t));
      p->capabilities->inheritable->caps = xrealloc (p->capabilities->inheritable->caps,
                                                     sizeof (int) * (p->capabilities->inheritable->caps_len + 1));
      p->capabilities->inheritable->caps[p->capabilities->inheritable->caps_len++] = cap;
    }
  return 0;
}

int
husk_container_exec (husk_context_t *ctx, const char *id, const husk_exec_opts_t *o, int *exit_status,
                     husk_error_t *err)
{
  husk_container_t c;
  husk_spec_t *spec = NULL;
  husk_cgroup_t *cg = NULL;
  exec_child_t ch;
  husk_status_t st;
  int sp[2] = { -1, -1 }, console_pair[2] = { -1, -1 };
  char path[64];
  pid_t child = -1;
  int master = -1, listen_fds = 0;
  husk_autoclose int pidfd_sock = -1;
  int r = -1;

  memset (&ch, 0, sizeof ch);
  ch.pidfd = ch.root_fd = ch.console_fd = -1;
  *exit_status = 0;
  if (husk_container_open (ctx, id, &c, err) < 0)
    goto out;
  st = husk_container_status (&c);
  if (st == HUSK_STATUS_STOPPED)
    {
      husk_error_make (err, 0, "cannot exec in a stopped container");
      goto out;
    }
  if (st == HUSK_STATUS_PAUSED && !o->ignore_paused)
    {
      husk_error_make (err, 0, "cannot exec in a paused container (use --ignore-paused to override)");
      goto out;
    }
  if (o->apparmor || o->process_label)
    {
      husk_error_make (err, 0, "exec: %s is not supported: this host has no usable %s", o->apparmor ? "--apparmor" : "--process-label",
                       o->apparmor ? "AppArmor" : "SELinux");
      goto out;
    }
  if (husk_container_load_spec (&c, &spec, err) < 0)
    goto out;
  if (o->process)
    {
      husk_process_free (spec->process);
      spec->process = o->process;
    }
  else if (process_from_flags (spec, o, err) < 0)
    goto out;
  ch.proc = spec->process;
  ch.spec = spec;
  if (ch.proc->terminal && o->console_socket == NULL && o->detach)
    {
      husk_error_make (err, 0, "cannot allocate tty if husk will detach without setting console socket");
      goto out;
    }
  if (ch.proc->terminal && o->console_socket == NULL && !ch.proc->has_console_size)
    {
      /* husk holds the pty: give it our size before the process starts */
      struct winsize ws;
      if (ioctl (0, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        {
          ch.proc->console_height = ws.ws_row;
          ch.proc->console_width = ws.ws_col;
          ch.proc->has_console_size = true;
        }
    }
  if (husk_seccomp_compile (spec->linux_ ? spec->linux_->seccomp : NULL, &ch.seccomp, err) < 0)
    goto out;
  if (c.state.cgroup && husk_cgroup_load (c.state.cgroup, &cg, err) < 0)
    goto out;

  /* env: process.env plus LISTEN_FDS handling like create */
  {
    const char *lf = getenv ("LISTEN_FDS");
    size_t n = ch.proc->env_len;
    ch.env = xmalloc0 (sizeof (char *) * (n + 3));
    for (size_t i = 0; i < n; i++)
      ch.env[i] = xstrdup (ch.proc->env[i]);
    if (lf && atoi (lf) > 0)
      {
        listen_fds = atoi (lf);
        ch.env[n++] = xstrdup_printf ("LISTEN_FDS=%d", listen_fds);
        ch.env[n++] = xstrdup ("LISTEN_PID=1");
      }
  }
  ch.init = c.state.pid;
  ch.preserve_fds = listen_fds + o->preserve_fds;
  ch.pidfd = (int) syscall (SYS_pidfd_open, ch.init, 0);
  if (ch.pidfd < 0 || !husk_pid_alive (ch.init, c.state.start_time))
    {
      husk_error_make (err, 0, "container not running");
      goto out;
    }
  fcntl (ch.pidfd, F_SETFD, FD_CLOEXEC);
  ch.ns_flags = namespaces_to_join (ch.init);
  snprintf (path, sizeof path, "/proc/%d/root", (int) ch.init);
  ch.root_fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ch.root_fd < 0)
    {
      husk_error_make (err, errno, "cannot open `%s`", path);
      goto out;
    }
  if (ch.proc->terminal)
    {
      if (o->console_socket)
        ch.console_fd = husk_console_socket_connect (o->console_socket, err);
      else if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console_pair) == 0)
        ch.console_fd = console_pair[1];
      else
        husk_error_make (err, errno, "cannot create the console socketpair");
      if (ch.console_fd < 0)
        goto out;
    }
  if (o->pidfd_socket && (pidfd_sock = husk_pidfd_socket_connect (o->pidfd_socket, err)) < 0)
    goto out;
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    {
      husk_error_make (err, errno, "cannot create a socketpair");
      goto out;
    }
  ch.sync_fd = sp[1];

  /* pid and time namespaces apply to children: join them here, then fork.
   * An unprivileged caller has no right over them outside the container's
   * user namespace: it joins that first, in the same call (rootless). */
  ch.in_userns = (ch.ns_flags & CLONE_NEWUSER) != 0;
  {
    int here = ch.ns_flags & (CLONE_NEWPID | CLONE_NEWTIME);
    if (here && ch.in_userns && geteuid () != 0)
      here |= CLONE_NEWUSER;
    if (here && setns (ch.pidfd, here) < 0)
      {
        husk_error_make (err, errno, "cannot join the pid namespace of the container");
        goto out;
      }
    ch.ns_flags &= ~(here & CLONE_NEWUSER);
  }
  if (!o->detach)
    {
      sigset_t all;
      sigfillset (&all);
      sigprocmask (SIG_BLOCK, &all, NULL);
    }
  child = fork ();
  if (child < 0)
    {
      husk_error_make (err, errno, "cannot fork");
      goto out;
    }
  if (child == 0)
    {
      /* Nothing in the container may open our /proc/PID/exe (CVE-2019-5736). */
      prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
      close (sp[0]);
      close (c.dirfd);
      exec_child (&ch);
    }
  close (sp[1]);
  sp[1] = -1;
  if (cg && (o->cgroup ? husk_cgroup_enter_sub (cg, o->cgroup, child, err) : husk_cgroup_enter (cg, child, err)) < 0)
    goto fail_child;
  if (husk_write_all (sp[0], "g", 1) < 0)
    {
      husk_error_make (err, errno, "cannot start the exec process");
      goto fail_child;
    }
  if (console_pair[0] >= 0)
    {
      char name[64];
      if (husk_recv_fd (console_pair[0], &master, name, sizeof name, err) < 0)
        goto fail_child;
    }
  {
    husk_autofree char *reply = NULL;
    size_t len = 0;
    if (husk_read_fd (sp[0], "the exec process", &reply, &len, err) < 0)
      goto fail_child;
    if (len > 0)
      {
        husk_error_make (err, 0, "%s", reply);
        goto fail_child;
      }
  }
  if (pidfd_sock >= 0 && husk_pidfd_send (pidfd_sock, child, "setns", err) < 0)
    goto fail_child;
  if (o->pid_file && husk_write_pid_file (o->pid_file, child, err) < 0)
    goto fail_child;
  husk_container_close (&c); /* don't hold the lock while the process runs */
  if (o->detach)
    r = 0;
  else
    {
      *exit_status = husk_foreground_wait (child, master, err);
      r = *exit_status < 0 ? -1 : 0;
    }
  goto out;

fail_child:
  kill (child, SIGKILL);
  waitpid (child, NULL, 0);
out:
  if (o->process && spec)
    spec->process = NULL; /* owned by the caller */
  for (int i = 0; i < 2; i++)
    {
      if (sp[i] >= 0)
        close (sp[i]);
      if (console_pair[i] >= 0)
        close (console_pair[i]);
    }
  if (master >= 0)
    close (master);
  if (ch.pidfd >= 0)
    close (ch.pidfd);
  if (ch.root_fd >= 0)
    close (ch.root_fd);
  if (ch.console_fd >= 0 && ch.console_fd != console_pair[1])
    close (ch.console_fd);
  husk_strv_free (ch.env);
  husk_seccomp_filter_free (ch.seccomp);
  if (cg)
    husk_cgroup_free (cg);
  husk_spec_free (spec);
  husk_container_close (&c);
  return r;
}
