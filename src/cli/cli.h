/* husk CLI: one file per subcommand; each parses its flags and calls one
 * library function.  Only main() prints errors. */
#ifndef HUSK_CLI_H
#define HUSK_CLI_H

#include <getopt.h>
#include <stdio.h>
#include "husk/husk.h"
#include "husk/utils.h"

typedef int (*husk_cmd_fn) (husk_context_t *ctx, int argc, char **argv, husk_error_t *err);

/* Exit status for a command that "succeeded" but must exit non-zero
 * (run/exec report the container's status through this). */
extern int husk_cli_exit_status;

int husk_cmd_create (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_start (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_run (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_state (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_kill (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_delete (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_list (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_spec (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_features (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_exec (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_ps (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_pause (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_resume (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_update (husk_context_t *, int, char **, husk_error_t *);
int husk_cmd_events (husk_context_t *, int, char **, husk_error_t *);

/* Shared flag handling for create and run. */
enum
{
  OPT_BUNDLE = 1000,
  OPT_CONSOLE_SOCKET,
  OPT_PID_FILE,
  OPT_NO_PIVOT,
  OPT_NO_NEW_KEYRING,
  OPT_PRESERVE_FDS,
  OPT_NO_SUBREAPER,
  OPT_PIDFD_SOCKET,
  OPT_DETACH,
  OPT_KEEP,
  OPT_CONFIG,
};
/* Parse create/run flags; returns the index of the id argument or -1. */
int husk_cli_parse_create (int argc, char **argv, bool run, husk_create_opts_t *o, husk_error_t *err);
/* Exactly one positional id after the options. */
int husk_cli_one_id (int argc, char **argv, const char *cmd, const char **id, husk_error_t *err);

#endif
