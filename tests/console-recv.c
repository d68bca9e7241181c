/* console-recv: the receiving end of --console-socket and of a seccomp
 * listenerPath, written the way conmon receives the pty master
 * (src/cmsg.c recvfd): listen on an AF_UNIX SOCK_STREAM path, accept one
 * connection, recvmsg() one SCM_RIGHTS fd, and check cmsg_level, cmsg_type
 * and cmsg_len == CMSG_LEN(sizeof(int)) before trusting it.
 *
 * usage: console-recv [-i] [-o] [-w TEXT] [-t SECS] SOCKET          (console)
 *        console-recv -s [-e ERRNO] [-n COUNT] [-t SECS] SOCKET     (seccomp)
 *        console-recv -p [-k SIG] [-t SECS] SOCKET                  (pidfd)
 *
 *   -i        print what was received: "name: <payload>", "ptn: <N>"
 *             (TIOCGPTN: the fd is a pty master), "size: <rows> <cols>"
 *             (TIOCGWINSZ on the master), then "---".
 *   -w TEXT   write TEXT (with C escapes \n \r \004) to the master.
 *   -o        copy the master's output to stdout until the slave side is
 *             closed by everyone (EIO / EOF).
 *   -s        seccomp mode: print "fd: <readlink of the fd>", then the
 *             JSON the runtime sends with it (read until EOF) on one line.
 *   -n COUNT  (with -s) answer COUNT notifications, each with -ERRNO
 *             (default EXDEV), printing "notif: <syscall nr>" for each.
 *   -p        pidfd mode (--pidfd-socket): print "name: <payload>",
 *             "fd: <readlink of the fd>" and "pid: <Pid of its fdinfo>".
 *   -k SIG    (with -p) send SIG through the pidfd (pidfd_send_signal), wait
 *             for the process to exit (the pidfd polls readable), print
 *             "exited".
 *   -t SECS   give up (exit 3) after SECS seconds (default 20).
 *
 * The socket path may be longer than sun_path: it is bound relative to its
 * directory.  The socket file is removed once a connection is accepted.
 * Exit status: 0 ok, 1 usage/setup error, 2 protocol check failed, 3 timeout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static void
die (int code, const char *fmt, const char *arg)
{
  fprintf (stderr, "console-recv: ");
  fprintf (stderr, fmt, arg);
  fprintf (stderr, "\n");
  exit (code);
}

static void
on_alarm (int sig)
{
  (void) sig;
  static const char msg[] = "console-recv: timed out\n";
  if (write (2, msg, sizeof msg - 1) < 0)
    _exit (3);
  _exit (3);
}

static int
listen_on (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char *d = strdup (path), *b = strdup (path);
  const char *dir = dirname (d), *base = basename (b);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    die (1, "socket: %s", strerror (errno));
  if (chdir (dir) < 0)
    die (1, "chdir: %s", strerror (errno));
  if (strlen (base) >= sizeof addr.sun_path)
    die (1, "socket name too long: %s", base);
  strcpy (addr.sun_path, base);
  unlink (base);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    die (1, "bind: %s", strerror (errno));
  if (listen (fd, 1) < 0)
    die (1, "listen: %s", strerror (errno));
  free (d);
  free (b);
  return fd;
}

/* conmon's recvfd: one message, one SCM_RIGHTS cmsg of exactly one int. */
static int
recv_fd (int conn, char *payload, size_t payload_len, size_t *got)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = { .iov_base = payload, .iov_len = payload_len - 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  struct cmsghdr *cmsg;
  ssize_t r;
  int fd;

  memset (&u, 0, sizeof u);
  do
    r = recvmsg (conn, &msg, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    die (2, "recvmsg: %s", strerror (errno));
  if (r == 0)
    die (2, "%s", "recvmsg: no data byte came with the message (peer closed)");
  if (msg.msg_flags & MSG_CTRUNC)
    die (2, "%s", "control data truncated (more than one fd sent?)");
  payload[r] = '\0';
  *got = (size_t) r;
  cmsg = CMSG_FIRSTHDR (&msg);
  if (cmsg == NULL)
    die (2, "%s", "no control message");
  if (cmsg->cmsg_level != SOL_SOCKET)
    die (2, "%s", "cmsg_level is not SOL_SOCKET");
  if (cmsg->cmsg_type != SCM_RIGHTS)
    die (2, "%s", "cmsg_type is not SCM_RIGHTS");
  if (cmsg->cmsg_len != CMSG_LEN (sizeof (int)))
    die (2, "%s", "cmsg_len is not CMSG_LEN(sizeof(int))");
  if (CMSG_NXTHDR (&msg, cmsg) != NULL)
    die (2, "%s", "more than one control message");
  memcpy (&fd, CMSG_DATA (cmsg), sizeof fd);
  return fd;
}

static void
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t w = write (fd, buf, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        die (1, "write: %s", strerror (errno));
      buf += w;
      len -= (size_t) w;
    }
}

static size_t
unescape (char *s)
{
  char *w = s;
  for (char *r = s; *r; r++)
    {
      if (*r != '\\' || r[1] == '\0')
        {
          *w++ = *r;
          continue;
        }
      r++;
      switch (*r)
        {
        case 'n':
          *w++ = '\n';
          break;
        case 'r':
          *w++ = '\r';
          break;
        case 't':
          *w++ = '\t';
          break;
        case '0':
          *w++ = (char) strtol (r, &r, 8);
          r--;
          break;
        default:
          *w++ = *r;
        }
    }
  return (size_t) (w - s);
}

static void
console_mode (int fd, const char *payload, bool info, const char *text, bool copy_out)
{
  if (info)
    {
      struct winsize ws;
      int ptn;
      /* conmon sends name + NUL: print the name up to the first NUL */
      printf ("name: %s\n", payload);
      if (ioctl (fd, TIOCGPTN, &ptn) < 0)
        printf ("ptn: none (%s)\n", strerror (errno));
      else
        printf ("ptn: %d\n", ptn);
      if (ioctl (fd, TIOCGWINSZ, &ws) < 0)
        printf ("size: none (%s)\n", strerror (errno));
      else
        printf ("size: %u %u\n", ws.ws_row, ws.ws_col);
      printf ("---\n");
      fflush (stdout);
    }
  if (text)
    {
      char *t = strdup (text);
      size_t n = unescape (t);
      write_all (fd, t, n);
      free (t);
    }
  if (copy_out)
    {
      char buf[4096];
      for (;;)
        {
          ssize_t r = read (fd, buf, sizeof buf);
          if (r < 0 && errno == EINTR)
            continue;
          if (r <= 0) /* EIO: the last slave fd is gone */
            break;
          write_all (1, buf, (size_t) r);
        }
    }
}

static void
seccomp_mode (int conn, int fd, const char *first, size_t first_len, int count, int err_no)
{
  char link[256], path[64], buf[4096];
  ssize_t n;

  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  n = readlink (path, link, sizeof link - 1);
  link[n < 0 ? 0 : n] = '\0';
  printf ("fd: %s\n", link);
  fflush (stdout);
  /* The JSON: what came with the fd, then the rest until EOF. */
  write_all (1, first, first_len);
  for (;;)
    {
      ssize_t r = read (conn, buf, sizeof buf);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      write_all (1, buf, (size_t) r);
    }
  printf ("\n");
  fflush (stdout);

  if (count > 0)
    {
      struct seccomp_notif_sizes sizes;
      if (syscall (SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
        die (1, "SECCOMP_GET_NOTIF_SIZES: %s", strerror (errno));
      struct seccomp_notif *req = calloc (1, sizes.seccomp_notif);
      struct seccomp_notif_resp *resp = calloc (1, sizes.seccomp_notif_resp);
      for (int i = 0; i < count; i++)
        {
          memset (req, 0, sizes.seccomp_notif);
          if (ioctl (fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
            {
              if (errno == EINTR)
                {
                  i--;
                  continue;
                }
              die (2, "SECCOMP_IOCTL_NOTIF_RECV: %s", strerror (errno));
            }
          printf ("notif: %d\n", req->data.nr);
          fflush (stdout);
          memset (resp, 0, sizes.seccomp_notif_resp);
          resp->id = req->id;
          resp->error = -err_no;
          if (ioctl (fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
            die (2, "SECCOMP_IOCTL_NOTIF_SEND: %s", strerror (errno));
        }
      free (req);
      free (resp);
    }
}

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static void
pidfd_mode (int fd, const char *payload, int sig)
{
  char link[256], path[64], line[256];
  ssize_t n;
  FILE *f;

  printf ("name: %s\n", payload);
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  n = readlink (path, link, sizeof link - 1);
  link[n < 0 ? 0 : n] = '\0';
  printf ("fd: %s\n", link);
  snprintf (path, sizeof path, "/proc/self/fdinfo/%d", fd);
  f = fopen (path, "r");
  while (f && fgets (line, sizeof line, f))
    if (strncmp (line, "Pid:", 4) == 0)
      printf ("pid: %ld\n", strtol (line + 4, NULL, 10));
  if (f)
    fclose (f);
  fflush (stdout);
  if (sig > 0)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      if (syscall (SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0)
        die (2, "pidfd_send_signal: %s", strerror (errno));
      while (poll (&p, 1, -1) < 0)
        if (errno != EINTR)
          die (2, "poll: %s", strerror (errno));
      printf ("exited\n");
      fflush (stdout);
    }
}

int
main (int argc, char **argv)
{
  bool info = false, copy_out = false, seccomp = false, pidfd = false;
  const char *text = NULL;
  int timeout = 20, count = 0, err_no = EXDEV, sig = 0, opt, lfd, conn, fd;
  char payload[4096];
  size_t got = 0;

  while ((opt = getopt (argc, argv, "iow:t:se:n:pk:")) != -1)
    switch (opt)
      {
      case 'i':
        info = true;
        break;
      case 'o':
        copy_out = true;
        break;
      case 'w':
        text = optarg;
        break;
      case 't':
        timeout = atoi (optarg);
        break;
      case 's':
        seccomp = true;
        break;
      case 'e':
        err_no = atoi (optarg);
        break;
      case 'n':
        count = atoi (optarg);
        break;
      case 'p':
        pidfd = true;
        break;
      case 'k':
        sig = atoi (optarg);
        break;
      default:
        fprintf (stderr, "usage: console-recv [-i] [-o] [-w TEXT] [-s [-n N] [-e ERRNO]] [-p [-k SIG]] [-t SECS] SOCKET\n");
        return 1;
      }
  if (optind != argc - 1)
    die (1, "%s", "one SOCKET path is required");

  signal (SIGALRM, on_alarm);
  signal (SIGPIPE, SIG_IGN);
  alarm ((unsigned) timeout);

  lfd = listen_on (argv[optind]);
  do
    conn = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
  while (conn < 0 && errno == EINTR);
  if (conn < 0)
    die (1, "accept: %s", strerror (errno));
  close (lfd);
  {
    char *b = strdup (argv[optind]);
    unlink (basename (b));
    free (b);
  }

  fd = recv_fd (conn, payload, sizeof payload, &got);
  if (seccomp)
    seccomp_mode (conn, fd, payload, got, count, err_no);
  else if (pidfd)
    {
      close (conn);
      pidfd_mode (fd, payload, sig);
    }
  else
    {
      close (conn);
      console_mode (fd, payload, info, text, copy_out);
    }
  close (fd);
  return 0;
}
