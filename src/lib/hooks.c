/* husk: OCI hooks.  Each hook runs with the state JSON on stdin, its own
 * args and env, and an optional timeout (then it is killed).  Its stdout
 * and stderr are captured, not passed through (under containerd they would
 * land in the container's log), and a failing hook's output goes into the
 * error message, like runc. */
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

#define HOOK_OUTPUT_MAX 4096

static long long
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Collect the hook's output until it exits (or the deadline passes). */
static bool
collect (pid_t pid, int out_fd, long long deadline, char *buf, size_t *len)
{
  int pfd = (int) syscall (SYS_pidfd_open, pid, 0);
  bool out_open = true, exited = false;
  while (!exited)
    {
      struct pollfd p[2] = { { .fd = pfd, .events = POLLIN }, { .fd = out_open ? out_fd : -1, .events = POLLIN } };
      int timeout = -1, r;
      if (deadline > 0)
        {
          long long left = deadline - now_ms ();
          if (left <= 0)
            break;
          timeout = (int) left;
        }
      r = poll (p, 2, timeout);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      if (p[1].revents)
        {
          char tmp[1024];
          ssize_t n = read (out_fd, tmp, sizeof tmp);
          if (n <= 0)
            out_open = false;
          else if (*len < HOOK_OUTPUT_MAX)
            {
              size_t k = (size_t) n < HOOK_OUTPUT_MAX - *len ? (size_t) n : HOOK_OUTPUT_MAX - *len;
              memcpy (buf + *len, tmp, k);
              *len += k;
            }
        }
      if (p[0].revents)
        exited = true;
      if (pfd < 0 && !out_open)
        exited = true; /* no pidfd: the pipe's EOF is the best we have */
    }
  if (pfd >= 0)
    close (pfd);
  /* drain what is already buffered */
  for (;;)
    {
      char tmp[1024];
      ssize_t n = read (out_fd, tmp, sizeof tmp);
      if (n <= 0 || *len >= HOOK_OUTPUT_MAX)
        break;
      size_t k = (size_t) n < HOOK_OUTPUT_MAX - *len ? (size_t) n : HOOK_OUTPUT_MAX - *len;
      memcpy (buf + *len, tmp, k);
      *len += k;
    }
  return exited;
}

static int
run_one (const husk_hook_t *h, const char *kind, size_t idx, const char *state, husk_error_t *err)
{
  int in[2], out[2];
  pid_t pid;
  int status;
  char *default_argv[] = { h->path, NULL };
  char *empty_env[] = { NULL };
  char output[HOOK_OUTPUT_MAX + 1];
  size_t output_len = 0;
  bool exited;

  if (pipe2 (in, O_CLOEXEC) < 0)
    return husk_error_make (err, errno, "cannot create a pipe for %s hook", kind);
  if (pipe2 (out, O_CLOEXEC) < 0)
    {
      close (in[0]);
      close (in[1]);
      return husk_error_make (err, errno, "cannot create a pipe for %s hook", kind);
    }
  pid = fork ();
  if (pid < 0)
    {
      close (in[0]);
      close (in[1]);
      close (out[0]);
      close (out[1]);
      return husk_error_make (err, errno, "cannot fork %s hook", kind);
    }
  if (pid == 0)
    {
      sigset_t all;
      sigemptyset (&all);
      sigprocmask (SIG_SETMASK, &all, NULL);
      dup2 (in[0], 0);
      dup2 (out[1], 1);
      dup2 (out[1], 2);
      husk_close_fds_from (3, NULL);
      execve (h->path, h->args_len ? h->args : default_argv, h->env_len ? h->env : empty_env);
      _exit (127);
    }
  close (in[0]);
  close (out[1]);
  {
    /* A hook may not read stdin at all: ignore EPIPE. */
    struct sigaction ign = { .sa_handler = SIG_IGN }, old;
    sigaction (SIGPIPE, &ign, &old);
    husk_write_all (in[1], state, strlen (state));
    close (in[1]);
    sigaction (SIGPIPE, &old, NULL);
  }
  fcntl (out[0], F_SETFL, O_NONBLOCK);
  exited = collect (pid, out[0], h->has_timeout && h->timeout > 0 ? now_ms () + h->timeout * 1000LL : 0, output,
                    &output_len);
  close (out[0]);
  output[output_len] = '\0';
  while (output_len && (output[output_len - 1] == '\n' || output[output_len - 1] == ' '))
    output[--output_len] = '\0';
  for (size_t i = 0; i < output_len; i++)
    if (output[i] == '\n')
      output[i] = ' '; /* one-line errors */
  if (!exited)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      return husk_error_make (err, 0, "%s hook #%zu `%s` timed out after %d s", kind, idx, h->path, h->timeout);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return husk_error_make (err, errno, "cannot wait for %s hook `%s`", kind, h->path);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    return husk_error_make (err, 0, "%s hook #%zu `%s` could not be executed%s%s", kind, idx, h->path,
                            output_len ? ": " : "", output);
  if (WIFSIGNALED (status))
    return husk_error_make (err, 0, "%s hook #%zu `%s` killed by signal %d%s%s", kind, idx, h->path,
                            WTERMSIG (status), output_len ? ", output: " : "", output);
  return husk_error_make (err, 0, "%s hook #%zu `%s` exited with status %d%s%s", kind, idx, h->path,
                          WEXITSTATUS (status), output_len ? ", output: " : "", output);
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
