/* husk: run = create + start, and in the foreground: forward signals to
 * the init, proxy the terminal when husk holds the pty itself, reap, delete
 * (unless --keep) and report the exit status (128+signal when killed). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "container-internal.h"
#include "notify.h"
#include "terminal.h"

static struct termios saved_tio;
static bool tio_saved;

static void
raw_stdin (void)
{
  struct termios t;
  if (!isatty (0) || tcgetattr (0, &saved_tio) < 0)
    return;
  tio_saved = true;
  t = saved_tio;
  cfmakeraw (&t);
  tcsetattr (0, TCSANOW, &t);
}

static void
restore_stdin (void)
{
  if (tio_saved)
    tcsetattr (0, TCSANOW, &saved_tio);
}

static void
copy_winsize (int master)
{
  struct winsize ws;
  if (master >= 0 && ioctl (0, TIOCGWINSZ, &ws) == 0)
    ioctl (master, TIOCSWINSZ, &ws);
}

/* The foreground half of run and exec: forward every signal to child
 * (SIGWINCH resizes the pty instead), copy between our stdio and the pty
 * master when we hold one (stdin in raw mode), reap (we may be a subreaper)
 * and return child's status, 128+signal when it was killed.  The caller has
 * blocked the signals already, before child existed, so none is lost. */
int
husk_foreground_wait (pid_t child, int master, husk_error_t *err)
{
  char buf[8192];
  bool in_open = master >= 0, out_open = master >= 0;
  sigset_t mask;
  husk_autoclose int sfd = -1;
  int result = 255;

  sigprocmask (SIG_BLOCK, NULL, &mask);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC);
  if (sfd < 0)
    return husk_error_make (err, errno, "cannot create a signalfd");
  if (master >= 0)
    {
      copy_winsize (master);
      raw_stdin ();
    }
  for (;;)
    {
      struct pollfd p[3] = {
        { .fd = sfd, .events = POLLIN },
        { .fd = in_open ? 0 : -1, .events = POLLIN },
        { .fd = out_open ? master : -1, .events = POLLIN },
      };
      int status;
      pid_t w;
      bool done = false;

      while ((w = waitpid (-1, &status, WNOHANG)) > 0)
        if (w == child)
          {
            result = WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status);
            done = true;
          }
      if (done)
        break;
      if (poll (p, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t r = read (master, buf, sizeof buf);
          if (r <= 0)
            out_open = false;
          else
            husk_write_all (1, buf, (size_t) r);
        }
      if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
        {
          ssize_t r = read (0, buf, sizeof buf);
          if (r <= 0)
            in_open = false;
          else
            husk_write_all (master, buf, (size_t) r);
        }
      if (p[0].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read (sfd, &si, sizeof si) != sizeof si || si.ssi_signo == SIGCHLD)
            continue;
          if (si.ssi_signo == SIGWINCH && master >= 0)
            copy_winsize (master);
          else
            kill (child, (int) si.ssi_signo);
        }
    }
  /* drain what the terminal still holds */
  while (out_open)
    {
      struct pollfd q = { .fd = master, .events = POLLIN };
      ssize_t r;
      if (poll (&q, 1, 50) <= 0 || (r = read (master, buf, sizeof buf)) <= 0)
        break;
      husk_write_all (1, buf, (size_t) r);
    }
  restore_stdin ();
  return result;
}

int
husk_container_run (husk_context_t *ctx, const char *id, const husk_create_opts_t *opts, int *exit_status,
                    husk_error_t *err)
{
  husk_create_ctx_t cc;
  sigset_t mask, old;
  int master = -1, notify = -2;
  int r;

  *exit_status = 0;
  if (!opts->detach)
    {
      /* Block the signals we forward before the init exists. */
      sigfillset (&mask);
      sigdelset (&mask, SIGSEGV);
      sigdelset (&mask, SIGBUS);
      sigdelset (&mask, SIGFPE);
      sigdelset (&mask, SIGILL);
      sigprocmask (SIG_BLOCK, &mask, &old);
    }
  r = husk_create_internal (ctx, id, opts, !opts->detach, &cc, err);
  if (r < 0)
    goto out;
  if (cc.console_master >= 0)
    {
      char name[64];
      if (husk_recv_fd (cc.console_master, &master, name, sizeof name, err) < 0)
        goto fail_started;
      /* before start, so the process never sees a 0x0 terminal */
      copy_winsize (master);
    }
  notify = husk_notify_bind (&cc.c, err);
  if (notify == -1)
    goto fail_started;
  if (husk_start_init (&cc.c, err) < 0 || husk_run_poststart (&cc.c, cc.spec, err) < 0)
    goto fail_started;

  /* Other commands (state, kill, exec) must not wait for us while it runs. */
  flock (cc.c.dirfd, LOCK_UN);
  /* With -d the container's init is the main pid; in the foreground, husk. */
  if (notify >= 0 && husk_notify_forward (notify, cc.pid, opts->detach ? cc.pid : getpid (), err) < 0)
    {
      if (opts->detach)
        {
          r = -1; /* the container runs on; the caller hears why it was not reported */
          goto out;
        }
      husk_log_warning ("%s", (*err)->msg);
      husk_error_release (err);
    }
  if (opts->detach)
    goto out;
  *exit_status = husk_foreground_wait (cc.pid, master, err);
  flock (cc.c.dirfd, LOCK_EX);
  if (*exit_status < 0)
    goto fail_started;
  if (!opts->keep)
    r = husk_container_destroy (&cc.c, cc.spec, err);
  goto out;

fail_started:
  r = -1;
  kill (cc.pid, SIGKILL);
  if (cc.pid_is_child)
    waitpid (cc.pid, NULL, 0);
  else
    husk_wait_pid_exit (cc.pid, 5000);
  husk_container_destroy (&cc.c, NULL, NULL);
out:
  if (master >= 0)
    close (master);
  if (cc.cgroup)
    husk_cgroup_free (cc.cgroup);
  if (notify >= 0)
    close (notify);
  husk_create_ctx_clear (&cc);
  if (!opts->detach)
    sigprocmask (SIG_SETMASK, &old, NULL);
  return r;
}
