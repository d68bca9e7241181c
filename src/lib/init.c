/* husk: the container init.  It runs in the child the runtime cloned (in
 * its new namespaces), applies the whole spec except process.args, tells
 * the runtime it is ready, and waits on exec.sock until `start` connects.
 * Then it runs the startContainer hooks and execve()s process.args.
 * Every failure is reported over the sync socket (husk_sync_fail). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "internal.h"
#include "rootfs.h"
#include "seccomp-filter.h"
#include "terminal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define CHECK(expr)                                                                                                    \
  do                                                                                                                   \
    {                                                                                                                  \
      if ((expr) < 0)                                                                                                  \
        husk_sync_fail (a->sync_fd, &err);                                                                             \
    }                                                                                                                  \
  while (0)

static void
fail_errno (int fd, int e, const char *what)
{
  husk_error_t err = NULL;
  husk_error_make (&err, e, "%s", what);
  husk_sync_fail (fd, &err);
}

/* The first stage of the two-stage path: join namespaces by path, create
 * the new ones (the user namespace with the runtime writing the maps), and
 * fork the real init so that pid and time namespaces apply to it. */
static void
stage_one (husk_init_args_t *a)
{
  husk_error_t err = NULL;
  const husk_spec_t *spec = a->spec;
  int flags = a->new_flags;
  husk_sync_msg_t m;
  pid_t pid;

  CHECK (husk_sync_expect (a->sync_fd, HUSK_SYNC_GO, &m, &err));
  CHECK (husk_ns_join_paths (spec, &err));
  if (flags & CLONE_NEWUSER)
    {
      if (unshare (CLONE_NEWUSER) < 0)
        fail_errno (a->sync_fd, errno, "cannot create user namespace");
      CHECK (husk_sync_send (a->sync_fd, HUSK_SYNC_USERMAP, (int) getpid (), NULL, &err));
      CHECK (husk_sync_expect (a->sync_fd, HUSK_SYNC_USERMAP_ACK, &m, &err));
      flags &= ~CLONE_NEWUSER;
    }
  if (a->userns && (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0))
    fail_errno (a->sync_fd, errno, "cannot become root in the user namespace");
  if (flags && unshare (flags) < 0)
    fail_errno (a->sync_fd, errno, "cannot create namespaces");
  if ((flags & CLONE_NEWTIME) && spec->linux_)
    CHECK (husk_ns_set_time_offsets (spec->linux_->time_offsets, &err));
  pid = fork ();
  if (pid < 0)
    fail_errno (a->sync_fd, errno, "cannot fork the container init");
  if (pid > 0)
    {
      husk_sync_send (a->sync_fd, HUSK_SYNC_PID, (int) pid, NULL, NULL);
      _exit (0);
    }
  /* No parent-death signal here: our parent is stage one, which exits now.
   * If the runtime dies, the sync socket reaches EOF and we fail out. */
}

static void
on_signal (int sig)
{
  /* A created container dies from a signal like runc's init does. */
  _exit (128 + sig);
}

static void
die_on_signals (void)
{
  struct sigaction sa = { .sa_handler = on_signal };
  sigset_t none;
  sigfillset (&sa.sa_mask);
  for (int s = 1; s < 32; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD && s != SIGCONT && s != SIGWINCH && s != SIGURG)
      sigaction (s, &sa, NULL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
}

static void
reset_signals (void)
{
  struct sigaction sa = { .sa_handler = SIG_DFL };
  for (int s = 1; s < _NSIG; s++)
    sigaction (s, &sa, NULL);
}

static char *
state_for_hooks (husk_init_args_t *a, pid_t pid, husk_status_t status)
{
  husk_state_t st = {
    .id = (char *) a->id, .pid = pid, .bundle = (char *) a->bundle, .created = (char *) a->created,
    .rootfs = (char *) a->rootfs,
  };
  return husk_state_json (&st, status, a->spec, false);
}

static void
set_hostnames (husk_init_args_t *a)
{
  const husk_spec_t *spec = a->spec;
  if (!(a->new_flags & CLONE_NEWUTS) && husk_spec_find_namespace (spec, HUSK_NS_UTS) == NULL)
    return;
  if (spec->hostname && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
    fail_errno (a->sync_fd, errno, "cannot set hostname");
  if (spec->domainname && setdomainname (spec->domainname, strlen (spec->domainname)) < 0)
    fail_errno (a->sync_fd, errno, "cannot set domainname");
}

static void
join_session_keyring (husk_init_args_t *a)
{
  /* KEYCTL_JOIN_SESSION_KEYRING = 1; a fresh keyring named after the id. */
  if (a->no_new_keyring)
    return;
  if (syscall (SYS_keyctl, 1, a->id) < 0 && errno != ENOSYS && errno != EPERM && errno != EACCES)
    fail_errno (a->sync_fd, errno, "cannot join a new session keyring");
}

/* HOME, when the process has none: the user's entry in the container's
 * /etc/passwd, else "/" (runc does the same).  env has a free slot. */
static void
set_home (char **env, uid_t uid)
{
  size_t n = 0;
  const char *home = "/";
  husk_autofree char *passwd = NULL;
  for (; env[n]; n++)
    if (strncmp (env[n], "HOME=", 5) == 0)
      return;
  if (husk_read_file ("/etc/passwd", &passwd, NULL, NULL) == 0)
    {
      char *save = NULL;
      for (char *line = strtok_r (passwd, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
        {
          char *f[7];
          int i = 0;
          char *s2 = line;
          for (; i < 7 && s2; i++)
            f[i] = strsep (&s2, ":");
          if (i == 7 && f[2] && (uid_t) strtoul (f[2], NULL, 10) == uid && *f[5])
            {
              home = f[5];
              break;
            }
        }
    }
  env[n] = xstrdup_printf ("HOME=%s", home);
  env[n + 1] = NULL;
}

/* Wait for `start`: accept on exec.sock and read one byte. */
static int
wait_for_start (husk_init_args_t *a)
{
  int conn;
  char c;
  die_on_signals ();
  do
    conn = accept4 (a->exec_listen_fd, NULL, NULL, SOCK_CLOEXEC);
  while (conn < 0 && errno == EINTR);
  if (conn < 0)
    _exit (1);
  if (read (conn, &c, 1) != 1)
    _exit (1);
  close (a->exec_listen_fd);
  return conn;
}

static __attribute__ ((noreturn)) void
fail_start (int conn, husk_error_t *err)
{
  const char *msg = (err && *err) ? (*err)->msg : "unknown error";
  husk_write_all (conn, msg, strlen (msg));
  _exit (127);
}

void
husk_init_main (husk_init_args_t *a)
{
  husk_error_t err = NULL;
  const husk_spec_t *spec = a->spec;
  const husk_process_t *proc = spec->process;
  husk_sync_msg_t m;
  pid_t host_pid;
  bool mountns = (a->new_flags & CLONE_NEWNS) || husk_spec_find_namespace (spec, HUSK_NS_MOUNT);
  bool early_seccomp;
  int listener_fd = -1;
  int slave = -1;
  husk_autofree char *exe = NULL;
  int conn;

  /* The state dir's flock belongs to the runtime, not to the container. */
  close (a->state_dirfd);
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* Nothing in the container may open our /proc/PID/exe (CVE-2019-5736):
   * a non-dumpable process's proc files are root-owned and ptrace-protected;
   * execve() restores dumpability for the container process. */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);

  if (a->two_stage)
    stage_one (a);

  /* The runtime has placed us in the cgroup and written the id maps. */
  CHECK (husk_sync_expect (a->sync_fd, HUSK_SYNC_GO, &m, &err));
  host_pid = m.value;
  if (!a->two_stage && a->userns && (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0))
    fail_errno (a->sync_fd, errno, "cannot become root in the user namespace");
  if (!a->two_stage && (a->new_flags & CLONE_NEWCGROUP) && unshare (CLONE_NEWCGROUP) < 0)
    fail_errno (a->sync_fd, errno, "cannot create cgroup namespace");

  set_hostnames (a);
  if (a->new_flags & CLONE_NEWNET)
    CHECK (husk_netlink_lo_up (&err));
  CHECK (husk_process_set_sysctls (spec->linux_, &err));

  husk_rootfs_ctx_t rctx = {
    .spec = spec, .rootfs = a->rootfs, .bundle = a->bundle, .no_pivot = a->no_pivot, .in_userns = a->userns,
    .new_netns = (a->new_flags & CLONE_NEWNET) != 0, .new_pidns = (a->new_flags & CLONE_NEWPID) != 0,
    .new_cgroupns = (a->new_flags & CLONE_NEWCGROUP) != 0, .host_mountns = !mountns,
    .idmap_fds = a->idmap_fds,
  };
  /* Without a mount namespace the mounts land in the caller's table, as
   * with runc; delete unmounts them again (state.host_mounts). */
  CHECK (husk_rootfs_prepare (&rctx, &err));

  if (spec->hooks && (spec->hooks->prestart.len || spec->hooks->create_runtime.len))
    {
      CHECK (husk_sync_send (a->sync_fd, HUSK_SYNC_HOOKS, 0, NULL, &err));
      CHECK (husk_sync_expect (a->sync_fd, HUSK_SYNC_HOOKS_DONE, &m, &err));
    }
  if (spec->hooks && spec->hooks->create_container.len)
    {
      husk_autofree char *st = state_for_hooks (a, host_pid, HUSK_STATUS_CREATED);
      CHECK (husk_hooks_run (&spec->hooks->create_container, "createContainer", st, &err));
    }

  if (mountns)
    CHECK (husk_rootfs_pivot (&rctx, &err));
  else
    {
      if (chroot (a->rootfs) < 0)
        fail_errno (a->sync_fd, errno, "cannot chroot into the rootfs");
      if (chdir ("/") < 0)
        fail_errno (a->sync_fd, errno, "cannot chdir to `/`");
    }

  if (proc->terminal)
    {
      slave = husk_terminal_setup (proc, a->console_fd, mountns, &err);
      if (slave < 0)
        husk_sync_fail (a->sync_fd, &err);
      close (a->console_fd);
      a->console_fd = -1;
    }
  CHECK (husk_rootfs_finalize (&rctx, &err));

  CHECK (husk_process_set_oom_score_adj (proc, &err));
  CHECK (husk_process_set_rlimits (proc, &err));
  CHECK (husk_process_set_scheduler (proc, &err));
  CHECK (husk_process_set_ioprio (proc, &err));
  CHECK (husk_process_set_personality (spec->linux_ ? spec->linux_->personality : NULL, &err));
  join_session_keyring (a);
  if (slave >= 0)
    {
      CHECK (husk_terminal_make_stdio (slave, &err));
      if (slave > 2)
        close (slave);
    }

  umask (proc->user.has_umask ? proc->user.umask : 022);
  CHECK (husk_process_chdir (proc, &err));

  /* Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: do it
   * before dropping capabilities (like runc).  A notify listener is sent to
   * the runtime now, while it still waits for us. */
  early_seccomp = a->seccomp && (!proc->no_new_privileges || husk_seccomp_wants_listener (a->seccomp));
  if (early_seccomp)
    {
      if (proc->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail_errno (a->sync_fd, errno, "cannot set no_new_privs");
      CHECK (husk_seccomp_install (a->seccomp, &listener_fd, &err));
      if (listener_fd >= 0)
        {
          CHECK (husk_sync_send_fd (a->sync_fd, HUSK_SYNC_SECCOMP_FD, listener_fd, &err));
          CHECK (husk_sync_expect (a->sync_fd, HUSK_SYNC_SECCOMP_DONE, &m, &err));
          close (listener_fd);
        }
    }

  set_home (a->env, proc->user.uid);
  CHECK (husk_process_set_user_and_caps (proc, &err));
  CHECK (husk_process_find_exec (proc, &exe, &err));

  /* Only stdio and the preserved fds reach the container process. */
  CHECK (husk_cloexec_fds_from (3 + a->preserve_fds, &err));

  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
  CHECK (husk_sync_send (a->sync_fd, HUSK_SYNC_READY, 0, NULL, &err));
  close (a->sync_fd);

  conn = wait_for_start (a);

  if (spec->hooks && spec->hooks->start_container.len)
    {
      husk_autofree char *st = state_for_hooks (a, host_pid, HUSK_STATUS_CREATED);
      if (husk_hooks_run (&spec->hooks->start_container, "startContainer", st, &err) < 0)
        fail_start (conn, &err);
    }
  if (proc->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      husk_error_make (&err, errno, "cannot set no_new_privs");
      fail_start (conn, &err);
    }
  if (a->seccomp && !early_seccomp && husk_seccomp_install (a->seccomp, &listener_fd, &err) < 0)
    fail_start (conn, &err);

  reset_signals ();
  execve (exe, proc->args, a->env);
  husk_error_make (&err, errno, "cannot exec `%s`", exe);
  fail_start (conn, &err);
}
