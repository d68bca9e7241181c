/* husk: create / start / run — the runtime side of the handshake
 * (docs/handshake.md).  create clones the init into its new namespaces
 * (clone3, straight into the cgroup where the kernel allows), answers its
 * requests over the sync socket, and returns once the state and pid file
 * exist.  Any failure after the clone kills the init and removes all that
 * was made. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>
#include "cgroup.h"
#include "container-internal.h"
#include "rootfs.h"
#include "internal.h"
#include "seccomp-filter.h"
#include "notify.h"
#include "terminal.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

void
husk_create_ctx_clear (husk_create_ctx_t *cc)
{
  if (cc->sync_fd >= 0)
    close (cc->sync_fd);
  if (cc->console_fd >= 0)
    close (cc->console_fd);
  if (cc->console_master >= 0)
    close (cc->console_master);
  if (cc->pidfd_sock >= 0)
    close (cc->pidfd_sock);
  husk_seccomp_filter_free (cc->seccomp);
  if (cc->idmap_fds)
    {
      for (size_t i = 0; cc->spec && i < cc->spec->mounts_len; i++)
        if (cc->idmap_fds[i] >= 0)
          close (cc->idmap_fds[i]);
      free (cc->idmap_fds);
    }
  husk_spec_free (cc->spec);
  husk_strv_free (cc->env);
  free (cc->bundle);
  free (cc->config);
  husk_container_close (&cc->c);
  memset (cc, 0, sizeof *cc);
  cc->sync_fd = cc->console_fd = cc->console_master = cc->pidfd_sock = -1;
}

/* Path of a file in the state dir usable for bind/connect whatever the
 * root's length: /proc/self/fd/N/name (sun_path has 108 bytes). */
static void
exec_sock_addr (int dirfd, struct sockaddr_un *addr)
{
  memset (addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  snprintf (addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d/exec.sock", dirfd);
}

static int
exec_sock_listen (int dirfd, husk_error_t *err)
{
  struct sockaddr_un addr;
  husk_autoclose int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot create exec.sock");
  exec_sock_addr (dirfd, &addr);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return husk_error_make (err, errno, "cannot bind exec.sock");
  if (listen (fd, 1) < 0)
    return husk_error_make (err, errno, "cannot listen on exec.sock");
  return steal_fd (&fd);
}

static char **
build_env (const husk_process_t *p, int *listen_fds)
{
  const char *lf = getenv ("LISTEN_FDS"), *lp = getenv ("LISTEN_PID");
  size_t n = p->env_len, k = 0;
  /* room for LISTEN_FDS, LISTEN_PID and HOME (added by the init) */
  char **env = xmalloc0 (sizeof (char *) * (n + 4));
  *listen_fds = 0;
  if (lf && (lp == NULL || atoi (lp) == getpid ()))
    *listen_fds = atoi (lf) > 0 ? atoi (lf) : 0;
  for (size_t i = 0; i < n; i++)
    {
      if (*listen_fds && (strncmp (p->env[i], "LISTEN_FDS=", 11) == 0 || strncmp (p->env[i], "LISTEN_PID=", 11) == 0))
        continue;
      env[k++] = xstrdup (p->env[i]);
    }
  if (*listen_fds)
    {
      env[k++] = xstrdup_printf ("LISTEN_FDS=%d", *listen_fds);
      env[k++] = xstrdup ("LISTEN_PID=1");
    }
  env[k] = NULL;
  return env;
}

static int
load_bundle (husk_create_ctx_t *cc, const husk_create_opts_t *opts, husk_error_t *err)
{
  char buf[PATH_MAX];
  husk_autofree char *cfgpath = NULL;
  husk_autofree char *rootfs = NULL;
  struct stat st;
  size_t len;

  if (realpath (opts->bundle ? opts->bundle : ".", buf) == NULL)
    return husk_error_make (err, errno, "cannot resolve bundle `%s`", opts->bundle ? opts->bundle : ".");
  cc->bundle = xstrdup (buf);
  cfgpath = opts->config_path ? xstrdup (opts->config_path) : xstrdup_printf ("%s/config.json", cc->bundle);
  if (husk_read_file (cfgpath, &cc->config, &len, err) < 0)
    return -1;
  cc->config_len = len;
  if (husk_spec_parse (cc->config, len, &cc->spec, err) < 0)
    {
      /* "config.json: invalid JSON: ..." already names the file */
      if (strncmp ((*err)->msg, "config.json: ", 13) == 0)
        {
          char *m = xstrdup ((*err)->msg + 13);
          free ((*err)->msg);
          (*err)->msg = m;
        }
      return husk_error_wrap (err, "%s", cfgpath);
    }
  if (cc->spec->process == NULL)
    return husk_error_make (err, 0, "%s: process: the process object is required", cfgpath);
  if (cc->spec->process->args_len == 0)
    return husk_error_make (err, 0, "%s: process.args: args must not be empty", cfgpath);
  if (cc->spec->root_path == NULL)
    return husk_error_make (err, 0, "%s: root.path: required", cfgpath);
  rootfs = cc->spec->root_path[0] == '/' ? xstrdup (cc->spec->root_path)
                                         : xstrdup_printf ("%s/%s", cc->bundle, cc->spec->root_path);
  if (realpath (rootfs, buf) == NULL)
    return husk_error_make (err, errno, "cannot resolve rootfs `%s`", rootfs);
  if (stat (buf, &st) < 0 || !S_ISDIR (st.st_mode))
    return husk_error_make (err, ENOTDIR, "rootfs `%s`", buf);
  cc->rootfs = xstrdup (buf);
  return 0;
}

/* idmap/ridmap mounts are made here, on the host side, as detached trees
 * the init attaches: idmapping needs privilege over the source
 * filesystem's user namespace (the host's), which the container lacks. */
static int
prepare_idmap_fds (husk_create_ctx_t *cc, husk_error_t *err)
{
  for (size_t i = 0; i < cc->spec->mounts_len; i++)
    {
      const husk_mount_t *m = &cc->spec->mounts[i];
      husk_mount_opts_t o;
      husk_autofree char *source = NULL;
      bool idmap, rbind, ridmap;
      if (m->options_len == 0 || m->uid_mappings_len == 0)
        continue;
      if (husk_mount_opts_parse (m->options, m->options_len, &o, err) < 0)
        return husk_error_wrap (err, "mounts[%zu].options", i);
      idmap = o.idmap || o.ridmap;
      rbind = o.rbind;
      ridmap = o.ridmap;
      husk_mount_opts_free (&o);
      if (!idmap || m->source == NULL)
        continue;
      if (cc->idmap_fds == NULL)
        {
          cc->idmap_fds = xmalloc (sizeof (int) * cc->spec->mounts_len);
          for (size_t k = 0; k < cc->spec->mounts_len; k++)
            cc->idmap_fds[k] = -1;
        }
      source = m->source[0] == '/' ? xstrdup (m->source) : xstrdup_printf ("%s/%s", cc->bundle, m->source);
      cc->idmap_fds[i] = husk_idmap_tree_fd (m, source, rbind, ridmap, err);
      if (cc->idmap_fds[i] < 0)
        return husk_error_wrap (err, "mounts[%zu]", i);
    }
  return 0;
}

static pid_t
clone_init (int flags, int cgroup_fd)
{
  struct clone_args args;
  pid_t pid;
  memset (&args, 0, sizeof args);
  args.flags = (uint64_t) flags;
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0)
    {
      args.flags |= CLONE_INTO_CGROUP;
      args.cgroup = (uint64_t) cgroup_fd;
    }
  pid = (pid_t) syscall (SYS_clone3, &args, sizeof args);
  if (pid < 0 && cgroup_fd >= 0 && (errno == EINVAL || errno == EBUSY || errno == EOPNOTSUPP || errno == EACCES))
    return clone_init (flags, -1);
  if (pid < 0 && errno == ENOSYS)
    pid = (pid_t) syscall (SYS_clone, (unsigned long) flags | SIGCHLD, NULL, NULL, NULL, NULL);
  return pid;
}

static int
reply_loop (husk_create_ctx_t *cc, husk_error_t *err)
{
  for (;;)
    {
      husk_sync_msg_t m;
      int passfd = -1;
      if (husk_sync_recv (cc->sync_fd, &m, &passfd, err) < 0)
        return -1;
      switch (m.type)
        {
        case HUSK_SYNC_READY:
          return 0;
        case HUSK_SYNC_HOOKS:
          {
            husk_autofree char *st = NULL;
            cc->c.state.pid = cc->pid;
            /* crun and runtime-tools' hooks_stdin: "created" (runc says "creating") */
            st = husk_state_json (&cc->c.state, HUSK_STATUS_CREATED, cc->spec, false);
            if (husk_hooks_run (&cc->spec->hooks->prestart, "prestart", st, err) < 0
                || husk_hooks_run (&cc->spec->hooks->create_runtime, "createRuntime", st, err) < 0)
              return -1;
            if (husk_sync_send (cc->sync_fd, HUSK_SYNC_HOOKS_DONE, 0, NULL, err) < 0)
              return -1;
            break;
          }
        case HUSK_SYNC_SECCOMP_FD:
          {
            husk_autoclose int fd = passfd;
            husk_autofree char *st = NULL;
            if (fd < 0)
              return husk_error_make (err, 0, "the container init sent no seccomp fd");
            cc->c.state.pid = cc->pid;
            st = husk_seccomp_state_json (&cc->c.state, cc->spec);
            if (husk_seccomp_send_listener (cc->spec->linux_->seccomp->listener_path, fd, st, err) < 0)
              return -1;
            if (husk_sync_send (cc->sync_fd, HUSK_SYNC_SECCOMP_DONE, 0, NULL, err) < 0)
              return -1;
            break;
          }
        default:
          return husk_error_make (err, 0, "protocol error: unexpected message %d from the container init", m.type);
        }
    }
}

/* Undo everything create made: kill the init, remove the cgroup and the state dir. */
static void
create_rollback (husk_create_ctx_t *cc)
{
  if (cc->stage1 > 0)
    {
      kill (cc->stage1, SIGKILL);
      waitpid (cc->stage1, NULL, 0);
    }
  if (cc->pid > 0)
    {
      kill (cc->pid, SIGKILL);
      if (cc->pid_is_child)
        waitpid (cc->pid, NULL, 0);
      else
        husk_wait_pid_exit (cc->pid, 5000);
    }
  if (cc->cgroup)
    {
      husk_cgroup_kill_all (cc->cgroup, SIGKILL, NULL);
      husk_cgroup_destroy (cc->cgroup, NULL);
      husk_cgroup_free (cc->cgroup);
      cc->cgroup = NULL;
    }
  if (cc->c.state.host_mounts && cc->rootfs)
    husk_rootfs_unmount_under (cc->rootfs, NULL);
  if (cc->c.dir)
    husk_rm_rf (cc->c.dir, NULL);
}

/* Rootless (--rootless=true, or auto and not root) and the cgroup could not
 * be made for lack of permission (no delegation): go on without one, with
 * a warning, as runc does, unless the spec asks for resource limits that
 * need it.  Returns true when the error was consumed. */
static bool
rootless_without_cgroup (husk_context_t *ctx, const husk_spec_t *spec, husk_error_t *err)
{
  const husk_resources_t *r = spec->linux_ ? spec->linux_->resources : NULL;
  bool rootless = ctx->rootless == 1 || (ctx->rootless == -1 && geteuid () != 0);
  int e = err && *err ? (*err)->status : 0;
  if (!rootless || (e != EACCES && e != EPERM && e != EROFS))
    return false;
  if (r
      && (r->memory || r->cpu || r->has_pids_limit || r->block_io || r->hugepage_limits_len || r->has_net_class_id
          || r->net_priorities_len || r->rdma_len || r->unified_len))
    {
      husk_error_wrap (err, "rootless: linux.resources sets limits but the cgroup cannot be created");
      return false;
    }
  husk_log_warning ("rootless: running without a cgroup (%s)", (*err)->msg);
  husk_error_release (err);
  return true;
}

int
husk_create_internal (husk_context_t *ctx, const char *id, const husk_create_opts_t *opts, bool foreground,
                      husk_create_ctx_t *cc, husk_error_t *err)
{
  husk_init_args_t a;
  int sp[2];
  int listen_fds = 0, exec_listen = -1;
  const husk_process_t *proc;
  bool two_stage;
  int flags;

  memset (cc, 0, sizeof *cc);
  cc->sync_fd = cc->console_fd = cc->console_master = cc->pidfd_sock = -1;
  cc->c.dirfd = -1;

  if (husk_id_validate (id, err) < 0)
    return -1;
  if (ctx->systemd_cgroup)
    return husk_error_make (err, 0, "--systemd-cgroup: the systemd cgroup manager is not supported by husk");
  if (load_bundle (cc, opts, err) < 0)
    return -1;
  proc = cc->spec->process;
  if (proc->terminal && opts->console_socket == NULL && !foreground)
    return husk_error_make (err, 0, "cannot allocate tty if husk will detach without setting console socket");
  if (!proc->terminal && opts->console_socket)
    return husk_error_make (err, 0, "cannot use console socket if husk will not detach or allocate tty");
  for (int i = 0; i < opts->preserve_fds; i++)
    {
      struct stat st;
      if (fstat (3 + i, &st) < 0)
        return husk_error_make (err, errno, "unable to stat preserved-fd %d (of %d)", i, opts->preserve_fds);
    }
  if (husk_seccomp_compile (cc->spec->linux_ ? cc->spec->linux_->seccomp : NULL, &cc->seccomp, err) < 0)
    return husk_error_wrap (err, "linux.seccomp");
  /* Before anything is made, so a bad path leaves nothing behind. */
  if (opts->pidfd_socket && (cc->pidfd_sock = husk_pidfd_socket_connect (opts->pidfd_socket, err)) < 0)
    return -1;
  cc->env = build_env (proc, &listen_fds);

  flags = husk_ns_new_flags (cc->spec);
  two_stage = husk_ns_any_path (cc->spec) || (flags & CLONE_NEWTIME);

  if (husk_container_dir_create (ctx, id, &cc->c, err) < 0)
    {
      if (cc->c.dirfd >= 0 && err && *err && (*err)->status != 0)
        husk_rm_rf (cc->c.dir, NULL);
      return -1;
    }
  cc->c.state.bundle = xstrdup (cc->bundle);
  cc->c.state.rootfs = xstrdup (cc->rootfs);
  cc->c.state.created = husk_now_rfc3339nano ();
  cc->c.state.owner = xstrdup ("");
  cc->c.state.own_pidns = (flags & CLONE_NEWPID) || husk_spec_find_namespace (cc->spec, HUSK_NS_PID);
  cc->c.state.host_mounts = husk_spec_find_namespace (cc->spec, HUSK_NS_MOUNT) == NULL;
  if (husk_notify_prepare (&cc->c, cc->spec, &cc->env, err) < 0)
    goto fail;

  if (husk_write_file_at (cc->c.dirfd, "config.json", cc->config, cc->config_len, err) < 0)
    goto fail;
  if (husk_cgroup_create (cc->spec->linux_ ? cc->spec->linux_->cgroups_path : NULL, id,
                          cc->spec->linux_ ? cc->spec->linux_->resources : NULL, &cc->cgroup, err)
      < 0)
    {
      cc->cgroup = NULL;
      if (!rootless_without_cgroup (ctx, cc->spec, err))
        goto fail;
    }
  if (cc->cgroup && cc->spec->linux_)
    husk_cgroup_set_spec_devices (cc->cgroup, cc->spec->linux_->devices, cc->spec->linux_->devices_len);
  if (cc->cgroup && cc->spec->linux_ && cc->spec->linux_->resources
      && husk_cgroup_apply (cc->cgroup, cc->spec->linux_->resources, false, err) < 0)
    goto fail;
  exec_listen = exec_sock_listen (cc->c.dirfd, err);
  if (exec_listen < 0)
    goto fail;
  if (proc->terminal)
    {
      if (opts->console_socket)
        cc->console_fd = husk_console_socket_connect (opts->console_socket, err);
      else
        {
          int pair[2];
          if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
            {
              husk_error_make (err, errno, "cannot create the console socketpair");
              goto fail;
            }
          cc->console_fd = pair[1];
          cc->console_master = pair[0]; /* receives the master; see run.c */
        }
      if (cc->console_fd < 0)
        goto fail;
    }
  if (prepare_idmap_fds (cc, err) < 0)
    goto fail;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
    {
      husk_error_make (err, errno, "cannot create the sync socketpair");
      goto fail;
    }

  memset (&a, 0, sizeof a);
  a.spec = cc->spec;
  a.id = id;
  a.bundle = cc->bundle;
  a.rootfs = cc->rootfs;
  a.created = cc->c.state.created;
  a.sync_fd = sp[1];
  a.exec_listen_fd = exec_listen;
  a.console_fd = cc->console_fd;
  a.state_dirfd = cc->c.dirfd;
  a.idmap_fds = cc->idmap_fds;
  a.seccomp = cc->seccomp;
  a.no_pivot = opts->no_pivot;
  a.no_new_keyring = opts->no_new_keyring;
  a.preserve_fds = listen_fds + opts->preserve_fds;
  a.env = cc->env;
  a.two_stage = two_stage;
  a.new_flags = flags;
  a.userns = (flags & CLONE_NEWUSER) || husk_spec_find_namespace (cc->spec, HUSK_NS_USER);

  if (foreground && two_stage)
    prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  {
    /* The cgroup namespace is made by the init once it is in its cgroups
     * (v1 ones are joined after the clone), so its root is the container's
     * cgroup, as with runc. */
    pid_t pid = two_stage
                    ? fork ()
                    : clone_init (flags & ~CLONE_NEWCGROUP, cc->cgroup ? husk_cgroup_unified_fd (cc->cgroup) : -1);
    if (pid < 0)
      {
        husk_error_make (err, errno, "cannot clone the container init");
        close (sp[0]);
        close (sp[1]);
        goto fail;
      }
    if (pid == 0)
      {
        close (sp[0]);
        husk_init_main (&a);
      }
    close (sp[1]);
    close (exec_listen);
    exec_listen = -1;
    cc->sync_fd = sp[0];
    if (two_stage)
      cc->stage1 = pid;
    else
      {
        cc->pid = pid;
        cc->pid_is_child = true;
      }
  }

  if (cc->cgroup && husk_cgroup_enter (cc->cgroup, two_stage ? cc->stage1 : cc->pid, err) < 0)
    goto fail;
  if (two_stage)
    {
      husk_sync_msg_t m;
      if (husk_sync_send (cc->sync_fd, HUSK_SYNC_GO, 0, NULL, err) < 0)
        goto fail;
      for (;;)
        {
          if (husk_sync_recv (cc->sync_fd, &m, NULL, err) < 0)
            goto fail;
          if (m.type == HUSK_SYNC_USERMAP)
            {
              if (husk_ns_write_id_maps (m.value, cc->spec, err) < 0
                  || husk_sync_send (cc->sync_fd, HUSK_SYNC_USERMAP_ACK, 0, NULL, err) < 0)
                goto fail;
              continue;
            }
          if (m.type == HUSK_SYNC_PID)
            break;
          husk_error_make (err, 0, "protocol error: unexpected message %d from the container init", m.type);
          goto fail;
        }
      cc->pid = m.value;
      cc->pid_is_child = foreground; /* reparented to us as subreaper */
      waitpid (cc->stage1, NULL, 0);
      cc->stage1 = 0;
    }
  else if ((flags & CLONE_NEWUSER) && husk_ns_write_id_maps (cc->pid, cc->spec, err) < 0)
    goto fail;

  if (husk_sync_send (cc->sync_fd, HUSK_SYNC_GO, (int) cc->pid, NULL, err) < 0)
    goto fail;
  cc->c.state.pid = cc->pid;
  if (reply_loop (cc, err) < 0)
    goto fail;

  if (husk_proc_start_time (cc->pid, &cc->c.state.start_time, err) < 0)
    goto fail;
  cc->c.state.cgroup = cc->cgroup ? husk_cgroup_save (cc->cgroup) : NULL;
  if (husk_state_write (&cc->c, err) < 0)
    goto fail;
  if (cc->pidfd_sock >= 0 && husk_pidfd_send (cc->pidfd_sock, cc->pid, "standard", err) < 0)
    goto fail;
  if (opts->pid_file && husk_write_pid_file (opts->pid_file, cc->pid, err) < 0)
    goto fail;
  return 0;

fail:
  if (exec_listen >= 0)
    close (exec_listen);
  create_rollback (cc);
  return husk_error_wrap (err, "create container `%s`", id);
}

int
husk_container_create (husk_context_t *ctx, const char *id, const husk_create_opts_t *opts, husk_error_t *err)
{
  husk_create_ctx_t cc;
  int r = husk_create_internal (ctx, id, opts, false, &cc, err);
  if (cc.cgroup)
    husk_cgroup_free (cc.cgroup);
  husk_create_ctx_clear (&cc);
  return r;
}

/* Connect to exec.sock and let the init exec; returns once it has exec'd
 * (the connection closes with no data) or failed (it sends the error). */
int
husk_start_init (husk_container_t *c, husk_error_t *err)
{
  struct sockaddr_un addr;
  husk_autoclose int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  husk_autofree char *reply = NULL;
  size_t len = 0;
  if (fd < 0)
    return husk_error_make (err, errno, "cannot create a socket");
  exec_sock_addr (c->dirfd, &addr);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return husk_error_make (err, errno, "cannot connect to the container init");
  unlinkat (c->dirfd, "exec.sock", 0);
  c->state.started = true;
  if (husk_state_write (c, err) < 0)
    return -1;
  if (husk_write_all (fd, "s", 1) < 0)
    return husk_error_make (err, errno, "cannot start the container init");
  if (husk_read_fd (fd, "exec.sock", &reply, &len, err) < 0)
    return -1;
  if (len > 0)
    return husk_error_make (err, 0, "%s", reply);
  return 0;
}

int
husk_run_poststart (husk_container_t *c, const husk_spec_t *spec, husk_error_t *err)
{
  husk_autofree char *st = NULL;
  if (spec->hooks == NULL || spec->hooks->poststart.len == 0)
    return 0;
  st = husk_state_json (&c->state, HUSK_STATUS_RUNNING, spec, false);
  /* runtime-spec 1.3 runtime.md: if a poststart hook fails, the runtime
   * MUST generate an error and stop the container (runc does the same;
   * runtime-tools' poststart_fail still expects the older "warn" rule). */
  if (husk_hooks_run (&spec->hooks->poststart, "poststart", st, err) < 0)
    {
      kill (c->state.pid, SIGKILL);
      husk_wait_pid_exit (c->state.pid, 5000);
      return -1;
    }
  return 0;
}

int
husk_container_start (husk_context_t *ctx, const char *id, husk_error_t *err)
{
  husk_container_t c;
  husk_spec_t *spec = NULL;
  int r = -1, notify = -2;
  if (husk_container_open (ctx, id, &c, err) < 0)
    goto out;
  switch (husk_container_status (&c))
    {
    case HUSK_STATUS_CREATED:
      break;
    case HUSK_STATUS_STOPPED:
      husk_error_make (err, 0, "cannot start a container that has stopped");
      goto out;
    default:
      husk_error_make (err, 0, "cannot start an already running container");
      goto out;
    }
  if (husk_container_load_spec (&c, &spec, err) < 0)
    goto out;
  notify = husk_notify_bind (&c, err);
  if (notify == -1)
    goto out;
  if (husk_start_init (&c, err) < 0)
    goto out;
  r = husk_run_poststart (&c, spec, err);
  if (r == 0 && notify >= 0)
    {
      pid_t pid = c.state.pid;
      husk_container_close (&c); /* state, kill, exec must not wait for READY */
      r = husk_notify_forward (notify, pid, pid, err);
    }
out:
  if (notify >= 0)
    close (notify);
  husk_spec_free (spec);
  husk_container_close (&c);
  return r;
}
