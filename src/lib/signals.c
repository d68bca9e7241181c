/* husk: signal names for `kill` (number, name, with or without SIG, any case). */
#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "internal.h"

static const struct
{
  const char *name;
  int sig;
} signals[] = {
  { "HUP", SIGHUP },       { "INT", SIGINT },       { "QUIT", SIGQUIT },     { "ILL", SIGILL },
  { "TRAP", SIGTRAP },     { "ABRT", SIGABRT },     { "IOT", SIGIOT },       { "BUS", SIGBUS },
  { "FPE", SIGFPE },       { "KILL", SIGKILL },     { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
  { "USR2", SIGUSR2 },     { "PIPE", SIGPIPE },     { "ALRM", SIGALRM },     { "TERM", SIGTERM },
  { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },     { "CLD", SIGCHLD },      { "CONT", SIGCONT },
  { "STOP", SIGSTOP },     { "TSTP", SIGTSTP },     { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU },
  { "URG", SIGURG },       { "XCPU", SIGXCPU },     { "XFSZ", SIGXFSZ },     { "VTALRM", SIGVTALRM },
  { "PROF", SIGPROF },     { "WINCH", SIGWINCH },   { "IO", SIGIO },         { "POLL", SIGPOLL },
  { "PWR", SIGPWR },       { "SYS", SIGSYS },
};

int
husk_signal_parse (const char *s)
{
  char *end;
  long n;
  if (s == NULL || *s == '\0')
    return -1;
  if (isdigit ((unsigned char) s[0]))
    {
      n = strtol (s, &end, 10);
      if (*end || n <= 0 || n > SIGRTMAX)
        return -1;
      return (int) n;
    }
  if (strncasecmp (s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (strcasecmp (s, signals[i].name) == 0)
      return signals[i].sig;
  if (strncasecmp (s, "RTMIN", 5) == 0 || strncasecmp (s, "RTMAX", 5) == 0)
    {
      bool min = strncasecmp (s, "RTMIN", 5) == 0;
      const char *rest = s + 5;
      if (*rest == '\0')
        return min ? SIGRTMIN : SIGRTMAX;
      n = strtol (rest, &end, 10);
      if (*end || (min && n <= 0) || (!min && n >= 0))
        return -1;
      n = (min ? SIGRTMIN : SIGRTMAX) + n;
      return (n >= SIGRTMIN && n <= SIGRTMAX) ? (int) n : -1;
    }
  return -1;
}

const char *
husk_signal_name (int sig)
{
  static char buf[16];
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (signals[i].sig == sig)
      {
        snprintf (buf, sizeof buf, "SIG%s", signals[i].name);
        return buf;
      }
  return NULL;
}
