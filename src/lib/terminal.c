/* husk: process.terminal and the --console-socket protocol (cli-contract §6).
 *
 * The pty comes from the container's own devpts (after pivot_root, /dev/ptmx
 * -> pts/ptmx), the slave is bind-mounted over /dev/console, consoleSize is
 * applied, and the master goes to the caller in one sendmsg: one SCM_RIGHTS
 * cmsg of CMSG_LEN(sizeof(int)) and the pty name as payload. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>
#include "husk/utils.h"
#include "rootfs.h"
#include "terminal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO ('T', 0x41)
#endif

static int
unix_connect (const char *path, const char *what, husk_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  husk_autoclose int fd = -1, dirfd_ = -1;
  husk_autofree char *dir = NULL, *base = NULL;

  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot create the %s", what);
  if (strlen (path) < sizeof addr.sun_path)
    strcpy (addr.sun_path, path);
  else
    {
      /* Too long for sun_path: go through the directory's fd. */
      husk_autofree char *d = xstrdup (path), *b = xstrdup (path);
      dir = xstrdup (dirname (d));
      base = xstrdup (basename (b));
      dirfd_ = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dirfd_ < 0)
        return husk_error_make (err, errno, "cannot open the %s directory `%s`", what, dir);
      if ((size_t) snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd_, base)
          >= sizeof addr.sun_path)
        return husk_error_make (err, ENAMETOOLONG, "cannot connect to the %s `%s`", what, path);
    }
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return husk_error_make (err, errno, "cannot connect to the %s `%s`", what, path);
  return steal_fd (&fd);
}

int
husk_console_socket_connect (const char *path, husk_error_t *err)
{
  return unix_connect (path, "console socket", err);
}

int
husk_pidfd_socket_connect (const char *path, husk_error_t *err)
{
  return unix_connect (path, "pidfd socket", err);
}

int
husk_pidfd_send (int sock, pid_t pid, const char *kind, husk_error_t *err)
{
  husk_autoclose int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    return husk_error_make (err, errno, "cannot open a pidfd for pid %d", (int) pid);
  if (husk_send_fd (sock, pidfd, kind, err) < 0)
    return husk_error_wrap (err, "pidfd socket");
  return 0;
}

int
husk_send_fd (int sock, int fd, const char *payload, husk_error_t *err)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  struct iovec iov;
  const char *data = payload && *payload ? payload : "\0";
  ssize_t r;

  memset (&u, 0, sizeof u);
  iov.iov_base = (void *) data;
  iov.iov_len = payload && *payload ? strlen (payload) : 1;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
  do
    r = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return husk_error_make (err, errno, "cannot send the fd over the socket");
  return 0;
}

int
husk_recv_fd (int sock, int *fd, char *payload, size_t payload_len, husk_error_t *err)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  struct iovec iov;
  char scratch[1];
  ssize_t r;

  *fd = -1;
  iov.iov_base = payload && payload_len > 1 ? payload : scratch;
  iov.iov_len = payload && payload_len > 1 ? payload_len - 1 : sizeof scratch;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof u.buf;
  do
    r = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return husk_error_make (err, errno, "cannot receive an fd over the socket");
  if (payload && payload_len > 0)
    payload[payload_len > 1 ? (size_t) r : 0] = '\0';
  for (cmsg = CMSG_FIRSTHDR (&msg); cmsg; cmsg = CMSG_NXTHDR (&msg, cmsg))
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS
        && cmsg->cmsg_len == CMSG_LEN (sizeof (int)))
      {
        memcpy (fd, CMSG_DATA (cmsg), sizeof (int));
        return 0;
      }
  return husk_error_make (err, 0, "no fd received over the socket%s", r == 0 ? " (peer closed)" : "");
}

static int
mount_console (int slave, const char *name, husk_error_t *err)
{
  husk_autoclose int root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  husk_autoclose int console = -1;
  char src[64], dst[64];

  if (root < 0)
    return husk_error_make (err, errno, "cannot open `/`");
  console = husk_create_in_root (root, "/dev/console", false, err);
  if (console < 0)
    return -1;
  husk_fd_path (src, sizeof src, slave);
  husk_fd_path (dst, sizeof dst, console);
  if (mount (src, dst, NULL, MS_BIND, NULL) < 0)
    return husk_error_make (err, errno, "cannot mount `%s` on `/dev/console`", name);
  return 0;
}

int
husk_terminal_setup (const husk_process_t *process, int socket_fd, bool mount_console_, husk_error_t *err)
{
  husk_autoclose int master = -1, slave = -1;
  char name[64];

  master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return husk_error_make (err, errno, "cannot open `/dev/ptmx`");
  if (unlockpt (master) < 0)
    return husk_error_make (err, errno, "cannot unlock the pty");
  if (ptsname_r (master, name, sizeof name) != 0)
    return husk_error_make (err, errno, "cannot get the pty name");
  slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    {
      slave = open (name, O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (slave < 0)
        return husk_error_make (err, errno, "cannot open the pty slave `%s`", name);
    }

  if (mount_console_ && mount_console (slave, name, err) < 0)
    return -1;

  if (process && process->has_console_size)
    {
      struct winsize ws = { 0 };
      ws.ws_row = (unsigned short) process->console_height;
      ws.ws_col = (unsigned short) process->console_width;
      if (ioctl (master, TIOCSWINSZ, &ws) < 0)
        return husk_error_make (err, errno, "cannot set the console size");
    }

  if (socket_fd >= 0 && husk_send_fd (socket_fd, master, name, err) < 0)
    return husk_error_wrap (err, "console socket");
  return steal_fd (&slave);
}

int
husk_terminal_make_stdio (int slave_fd, husk_error_t *err)
{
  if (setsid () < 0 && getsid (0) != getpid ())
    return husk_error_make (err, errno, "setsid");
  if (ioctl (slave_fd, TIOCSCTTY, 0) < 0)
    return husk_error_make (err, errno, "cannot make the pty the controlling terminal");
  for (int i = 0; i <= 2; i++)
    if (dup2 (slave_fd, i) < 0)
      return husk_error_make (err, errno, "cannot dup the pty to fd %d", i);
  if (slave_fd > 2)
    close (slave_fd);
  return 0;
}
