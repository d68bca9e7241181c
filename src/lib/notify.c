/* husk: NOTIFY_SOCKET (sd_notify) forwarding, as runc and crun do it.
 *
 * When husk itself runs with NOTIFY_SOCKET set (systemd Type=notify, or
 * conmon for podman --sdnotify=container):
 *   create  makes <state>/notify, bind-mounts it read-only on /run/notify in
 *           the container and sets NOTIFY_SOCKET=/run/notify/notify.sock in
 *           the process environment;
 *   start   binds <state>/notify/notify.sock (datagram) before the process
 *           starts, then waits for a READY= message from the container and
 *           passes it on to the host socket with MAINPID=<pid> and an
 *           sd_notify barrier (BARRIER=1 with a pipe, up to 30 s for EOF).
 *           If the container exits first, start returns without notifying.
 *   run     does both; the main pid is the container's with -d and husk's
 *           own in the foreground (husk is what systemd should watch). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include "container-internal.h"
#include "notify.h"
#include "terminal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define NOTIFY_DIR "notify"
#define NOTIFY_IN_CONTAINER "/run/notify/notify.sock"
#define BARRIER_TIMEOUT_MS 30000

const char *
husk_notify_host_socket (void)
{
  const char *s = getenv ("NOTIFY_SOCKET");
  return s && *s ? s : NULL;
}

int
husk_notify_prepare (husk_container_t *c, husk_spec_t *spec, char ***env, husk_error_t *err)
{
  static const char *const opts[] = { "bind", "nosuid", "noexec", "nodev", "ro" };
  husk_mount_t *m;
  size_t nopts = sizeof opts / sizeof opts[0];

  if (husk_notify_host_socket () == NULL)
    return 0;
  if (mkdirat (c->dirfd, NOTIFY_DIR, 0755) < 0 && errno != EEXIST)
    return husk_error_make (err, errno, "cannot create `%s/" NOTIFY_DIR "`", c->dir);

  spec->mounts = xrealloc (spec->mounts, (spec->mounts_len + 1) * sizeof *spec->mounts);
  m = &spec->mounts[spec->mounts_len++];
  memset (m, 0, sizeof *m);
  m->destination = xstrdup ("/run/notify");
  m->type = xstrdup ("bind");
  m->source = xstrdup_printf ("%s/" NOTIFY_DIR, c->dir);
  m->options = xmalloc0 ((nopts + 1) * sizeof *m->options);
  for (size_t i = 0; i < nopts; i++)
    m->options[i] = xstrdup (opts[i]);
  m->options_len = nopts;

  husk_strv_setkv (env, "NOTIFY_SOCKET", NOTIFY_IN_CONTAINER);
  return 0;
}

int
husk_notify_bind (husk_container_t *c, husk_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  husk_autoclose int fd = -1, dirfd_ = -1;
  struct stat st;

  if (husk_notify_host_socket () == NULL)
    return -2;
  /* A container created without NOTIFY_SOCKET has nothing mounted for it. */
  if (fstatat (c->dirfd, NOTIFY_DIR, &st, 0) < 0 || !S_ISDIR (st.st_mode))
    return -2;
  dirfd_ = openat (c->dirfd, NOTIFY_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd_ < 0)
    return husk_error_make (err, errno, "cannot open `%s/" NOTIFY_DIR "`", c->dir);
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot create the notify socket");
  /* <root>/<id>/notify/notify.sock may not fit in sun_path: bind through the dir fd */
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/notify.sock", dirfd_);
  unlinkat (dirfd_, "notify.sock", 0);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return husk_error_make (err, errno, "cannot bind the notify socket `%s/" NOTIFY_DIR "/notify.sock`", c->dir);
  /* the container's user may be anyone */
  if (fchmodat (dirfd_, "notify.sock", 0777, 0) < 0)
    return husk_error_make (err, errno, "cannot chmod the notify socket");
  return steal_fd (&fd);
}

static int
host_connect (const char *path, husk_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  socklen_t len;
  husk_autoclose int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  size_t plen = strlen (path);

  if (fd < 0)
    return husk_error_make (err, errno, "cannot create a socket for NOTIFY_SOCKET");
  if (plen >= sizeof addr.sun_path)
    return husk_error_make (err, ENAMETOOLONG, "NOTIFY_SOCKET `%s`", path);
  memcpy (addr.sun_path, path, plen);
  if (path[0] == '@') /* abstract namespace, as sd_notify(3) accepts */
    addr.sun_path[0] = '\0';
  len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + plen + (path[0] == '@' ? 0 : 1));
  if (connect (fd, (struct sockaddr *) &addr, len) < 0)
    return husk_error_make (err, errno, "cannot connect to NOTIFY_SOCKET `%s`", path);
  return steal_fd (&fd);
}

/* BARRIER=1 with the write end of a pipe; the manager closes it once it
 * has processed what came before.  A manager that keeps it (or ignores
 * the protocol) costs a 30 s wait and a warning, as with runc. */
static int
barrier (int fd, husk_error_t *err)
{
  int p[2];
  char c;
  struct pollfd q;
  int r;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return husk_error_make (err, errno, "cannot create the notify barrier pipe");
  r = husk_send_fd (fd, p[1], "BARRIER=1", err);
  close (p[1]);
  if (r < 0)
    {
      close (p[0]);
      return husk_error_wrap (err, "NOTIFY_SOCKET barrier");
    }
  q.fd = p[0];
  q.events = POLLIN;
  do
    r = poll (&q, 1, BARRIER_TIMEOUT_MS);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    husk_log_warning ("NOTIFY_SOCKET: no answer to BARRIER=1 after 30 s, going on");
  else if (r > 0 && read (p[0], &c, 1) > 0)
    {
      close (p[0]);
      return husk_error_make (err, 0, "NOTIFY_SOCKET: unexpected data on the barrier pipe");
    }
  close (p[0]);
  return 0;
}

/* The first line starting with READY= in msg, or NULL. */
static const char *
ready_line (char *msg, size_t len)
{
  msg[len] = '\0';
  for (char *line = msg; line && *line;)
    {
      char *nl = strchr (line, '\n');
      if (nl)
        *nl = '\0';
      if (strncmp (line, "READY=", 6) == 0)
        return line;
      line = nl ? nl + 1 : NULL;
    }
  return NULL;
}

int
husk_notify_forward (int sock, pid_t watch, pid_t mainpid, husk_error_t *err)
{
  husk_autoclose int pidfd = (int) syscall (SYS_pidfd_open, watch, 0);
  husk_autoclose int host = -1;
  char buf[4097], out[4200];
  const char *ready = NULL;
  int n;

  if (pidfd < 0)
    return 0; /* already gone: nothing to report */
  while (ready == NULL)
    {
      struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
      ssize_t r;
      if (poll (p, 2, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          return husk_error_make (err, errno, "poll on the notify socket");
        }
      if (p[0].revents & POLLIN)
        {
          r = recv (sock, buf, sizeof buf - 1, MSG_DONTWAIT);
          if (r > 0)
            ready = ready_line (buf, (size_t) r);
          continue;
        }
      if (p[1].revents)
        return 0; /* the container exited before it was ready */
    }
  host = host_connect (husk_notify_host_socket (), err);
  if (host < 0)
    return -1;
  n = snprintf (out, sizeof out, "%s\nMAINPID=%d\n", ready, (int) mainpid);
  if (send (host, out, (size_t) n, MSG_NOSIGNAL) < 0)
    return husk_error_make (err, errno, "cannot send to NOTIFY_SOCKET `%s`", husk_notify_host_socket ());
  return barrier (host, err);
}
