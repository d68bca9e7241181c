/* husk: OCI hooks.  Each hook runs with the state JSON on stdin, its own
 * args and env, and an optional timeout (then it is killed). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"

static int
run_one (const husk_hook_t *h, const char *kind, size_t idx, const char *state, husk_error_t *err)
{
  int in[2];
  pid_t pid;
  int status;
  char *default_argv[] = { h->path, NULL };
  char *empty_env[] = { NULL };

  if (pipe2 (in, O_CLOEXEC) < 0)
    return husk_error_make (err, errno, "cannot create a pipe for %s hook", kind);
  pid = fork ();
  if (pid < 0)
    {
      close (in[0]);
      close (in[1]);
      return husk_error_make (err, errno, "cannot fork %s hook", kind);
    }
  if (pid == 0)
    {
      sigset_t all;
      sigemptyset (&all);
      sigprocmask (SIG_SETMASK, &all, NULL);
      dup2 (in[0], 0);
      husk_close_fds_from (3, NULL);
      execve (h->path, h->args_len ? h->args : default_argv, h->env_len ? h->env : empty_env);
      _exit (127);
    }
  close (in[0]);
  {
    /* A hook may not read stdin at all: ignore EPIPE. */
    struct sigaction ign = { .sa_handler = SIG_IGN }, old;
    sigaction (SIGPIPE, &ign, &old);
    husk_write_all (in[1], state, strlen (state));
    close (in[1]);
    sigaction (SIGPIPE, &old, NULL);
  }
  if (h->has_timeout && h->timeout > 0)
    {
      int pfd = (int) syscall (SYS_pidfd_open, pid, 0);
      struct pollfd p = { .fd = pfd, .events = POLLIN };
      int r;
      do
        r = poll (&p, 1, h->timeout * 1000);
      while (r < 0 && errno == EINTR);
      if (pfd >= 0)
        close (pfd);
      if (r == 0)
        {
          kill (pid, SIGKILL);
          waitpid (pid, NULL, 0);
          return husk_error_make (err, 0, "%s hook #%zu `%s` timed out after %d s", kind, idx, h->path, h->timeout);
        }
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return husk_error_make (err, errno, "cannot wait for %s hook `%s`", kind, h->path);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    return husk_error_make (err, 0, "%s hook #%zu `%s` could not be executed", kind, idx, h->path);
  if (WIFSIGNALED (status))
    return husk_error_make (err, 0, "%s hook #%zu `%s` killed by signal %d", kind, idx, h->path, WTERMSIG (status));
  return husk_error_make (err, 0, "%s hook #%zu `%s` exited with status %d", kind, idx, h->path, WEXITSTATUS (status));
}

int
husk_hooks_run (const husk_hook_list_t *hooks, const char *kind, const char *state_json, husk_error_t *err)
{
  if (hooks == NULL)
    return 0;
  for (size_t i = 0; i < hooks->len; i++)
    if (run_one (&hooks->items[i], kind, i, state_json, err) < 0)
      return -1;
  return 0;
}

void
husk_hooks_run_warn (const husk_hook_list_t *hooks, const char *kind, const char *state_json)
{
  if (hooks == NULL)
    return;
  for (size_t i = 0; i < hooks->len; i++)
    {
      husk_auto_error husk_error_t err = NULL;
      if (run_one (&hooks->items[i], kind, i, state_json, &err) < 0)
        husk_log_warning ("%s", err->msg);
    }
}
