/* husk-test-init: a small static multi-call helper copied into every test
 * rootfs as /bin/husk-test-init.  It does the few things busybox cannot do
 * (or not portably) so integration tests can check what the container sees.
 *
 *   husk-test-init fds                  list open fds, one "N -> target" a line
 *   husk-test-init write-file PATH TEXT write TEXT (no newline) to PATH
 *   husk-test-init sigwait [FILE]       catch every catchable signal; on the
 *                                       first, print its number (to FILE too
 *                                       if given) and exit 128+N
 *   husk-test-init exit N               exit with status N
 *   husk-test-init pid                  print getpid() and getppid()
 *   husk-test-init notify MSG           send MSG (C escape \n) as one datagram to
 *                                       $NOTIFY_SOCKET, as sd_notify(3) does
 *
 * Add a subcommand: write a `static int cmd_x (int argc, char **argv)`
 * (argv[0] is the subcommand name) and add it to `commands` below.  Keep it
 * libc-only: it is linked statically. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int
cmd_fds (int argc, char **argv)
{
  DIR *d = opendir ("/proc/self/fd");
  struct dirent *de;
  int self;
  (void) argc;
  (void) argv;
  if (d == NULL)
    {
      perror ("husk-test-init: /proc/self/fd");
      return 1;
    }
  self = dirfd (d);
  while ((de = readdir (d)))
    {
      char path[PATH_MAX], target[PATH_MAX];
      ssize_t n;
      if (de->d_name[0] == '.' || atoi (de->d_name) == self)
        continue;
      snprintf (path, sizeof path, "/proc/self/fd/%s", de->d_name);
      n = readlink (path, target, sizeof target - 1);
      target[n < 0 ? 0 : n] = '\0';
      printf ("%s -> %s\n", de->d_name, target);
    }
  closedir (d);
  return 0;
}

static int
cmd_write_file (int argc, char **argv)
{
  int fd;
  size_t len;
  if (argc != 3)
    {
      fprintf (stderr, "usage: husk-test-init write-file PATH TEXT\n");
      return 2;
    }
  fd = open (argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      fprintf (stderr, "husk-test-init: %s: %s\n", argv[1], strerror (errno));
      return 1;
    }
  len = strlen (argv[2]);
  if (write (fd, argv[2], len) != (ssize_t) len || close (fd) < 0)
    {
      fprintf (stderr, "husk-test-init: write %s: %s\n", argv[1], strerror (errno));
      return 1;
    }
  return 0;
}

static volatile sig_atomic_t caught;

static void
on_signal (int sig)
{
  if (!caught)
    caught = sig;
}

static int
cmd_sigwait (int argc, char **argv)
{
  struct sigaction sa;
  sigset_t none;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigfillset (&sa.sa_mask);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
      sigaction (s, &sa, NULL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  /* tell the test we are ready (the handlers are in place) */
  if (argc > 1)
    {
      char ready[PATH_MAX];
      int fd;
      snprintf (ready, sizeof ready, "%s.ready", argv[1]);
      fd = open (ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd >= 0)
        close (fd);
    }
  while (!caught)
    pause ();
  printf ("%d\n", (int) caught);
  fflush (stdout);
  if (argc > 1)
    {
      char buf[16];
      int fd = open (argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      int n = snprintf (buf, sizeof buf, "%d", (int) caught);
      if (fd >= 0)
        {
          if (write (fd, buf, (size_t) n) < 0)
            perror ("husk-test-init: write");
          close (fd);
        }
    }
  return 128 + caught;
}

static int
cmd_exit (int argc, char **argv)
{
  return argc > 1 ? atoi (argv[1]) : 0;
}

static int
cmd_pid (int argc, char **argv)
{
  (void) argc;
  (void) argv;
  printf ("%d %d\n", (int) getpid (), (int) getppid ());
  return 0;
}

static int
cmd_notify (int argc, char **argv)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  const char *path = getenv ("NOTIFY_SOCKET");
  char msg[4096];
  size_t n = 0;
  int fd;
  if (argc < 2 || path == NULL || strlen (path) >= sizeof addr.sun_path)
    {
      fprintf (stderr, "husk-test-init notify: need MSG and a usable NOTIFY_SOCKET\n");
      return 2;
    }
  for (const char *p = argv[1]; *p && n < sizeof msg; p++)
    if (p[0] == '\\' && p[1] == 'n')
      {
        msg[n++] = '\n';
        p++;
      }
    else
      msg[n++] = *p;
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || sendto (fd, msg, n, 0, (struct sockaddr *) &addr, sizeof addr) < 0)
    {
      perror ("husk-test-init notify");
      return 1;
    }
  close (fd);
  return 0;
}

static const struct
{
  const char *name;
  int (*fn) (int, char **);
} commands[] = {
  { "fds", cmd_fds },   { "write-file", cmd_write_file }, { "sigwait", cmd_sigwait },
  { "exit", cmd_exit }, { "pid", cmd_pid },         { "notify", cmd_notify },
};

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "usage: husk-test-init COMMAND [ARGS...]\ncommands:");
      for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf (stderr, " %s", commands[i].name);
      fputc ('\n', stderr);
      return 2;
    }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].fn (argc - 1, argv + 1);
  fprintf (stderr, "husk-test-init: unknown command `%s`\n", argv[1]);
  return 2;
}
