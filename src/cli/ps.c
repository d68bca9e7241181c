/* husk ps [-f|--format table|json] ID [ps options]
 * json: the host pids of the container's cgroup; table: ps(1) filtered. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"

static int
ps_table (pid_t *pids, size_t n, int argc, char **argv, husk_error_t *err)
{
  int p[2];
  pid_t child;
  FILE *f;
  char *line = NULL;
  size_t cap = 0;
  int pid_col = -1, status;
  bool header = true;

  if (pipe (p) < 0)
    return husk_error_make (err, errno, "cannot create a pipe");
  child = fork ();
  if (child < 0)
    return husk_error_make (err, errno, "cannot fork ps");
  if (child == 0)
    {
      char **args = xmalloc0 (sizeof (char *) * (size_t) (argc + 2));
      args[0] = (char *) "ps";
      if (argc == 0)
        args[1] = (char *) "-ef";
      for (int i = 0; i < argc; i++)
        args[i + 1] = argv[i];
      dup2 (p[1], 1);
      close (p[0]);
      execvp ("ps", args);
      _exit (127);
    }
  close (p[1]);
  f = fdopen (p[0], "r");
  while (getline (&line, &cap, f) > 0)
    {
      if (header)
        {
          /* find the PID column */
          char *save = NULL, *copy = xstrdup (line);
          int col = 0;
          for (char *t = strtok_r (copy, " \t\n", &save); t; t = strtok_r (NULL, " \t\n", &save), col++)
            if (strcmp (t, "PID") == 0)
              pid_col = col;
          free (copy);
          fputs (line, stdout);
          header = false;
          if (pid_col < 0)
            {
              free (line);
              fclose (f);
              waitpid (child, NULL, 0);
              return husk_error_make (err, 0, "ps: couldn't find PID field in ps output");
            }
          continue;
        }
      {
        char *save = NULL, *copy = xstrdup (line);
        int col = 0;
        for (char *t = strtok_r (copy, " \t\n", &save); t; t = strtok_r (NULL, " \t\n", &save), col++)
          if (col == pid_col)
            {
              pid_t pid = (pid_t) atoi (t);
              for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                  fputs (line, stdout);
              break;
            }
        free (copy);
      }
    }
  free (line);
  fclose (f);
  waitpid (child, &status, 0);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return husk_error_make (err, 0, "ps: the ps command failed");
  return 0;
}

int
husk_cmd_ps (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = { { "format", required_argument, 0, 'f' }, { 0, 0, 0, 0 } };
  bool json = false;
  pid_t *pids = NULL;
  size_t n = 0;
  int c, r;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only (argc, argv, "+f:", opts, NULL)) != -1)
    {
      if (c != 'f')
        return husk_error_make (err, 0, "ps: unknown option `%s`", argv[optind - 1]);
      if (strcmp (optarg, "json") == 0)
        json = true;
      else if (strcmp (optarg, "table") != 0)
        return husk_error_make (err, 0, "ps: invalid format option `%s`", optarg);
    }
  if (optind >= argc)
    return husk_error_make (err, 0, "ps: container id required");
  if (husk_container_pids (ctx, argv[optind], &pids, &n, err) < 0)
    return -1;
  if (json)
    {
      putchar ('[');
      for (size_t i = 0; i < n; i++)
        printf ("%s%d", i ? "," : "", (int) pids[i]);
      printf ("]\n");
      r = 0;
    }
  else
    {
      fflush (stdout);
      r = ps_table (pids, n, argc - optind - 1, argv + optind + 1, err);
    }
  free (pids);
  return r;
}
