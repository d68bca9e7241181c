/* husk-build: declarations shared by the tool's files (subcommands).
 *
 * main.c parses the global options and dispatches `husk-build [--store DIR]
 * COMMAND ARGS...` to one hb_cmd_* function.  A command gets argv with
 * argv[0] = the command name (parse it with getopt_long; optind is reset by
 * main), opens the store itself with the lock it needs, and returns:
 *   >= 0  the exit code (0 on success; `run` returns the container's)
 *   <  0  failure, *err set; main prints "husk-build: <msg>" and exits 1 (125
 *         for `run`, like podman).
 * Commands print results on stdout, progress on stderr, and never print
 * errors themselves.
 *
 * Append-only file: both halves of the tool add their declarations here. */
#ifndef HB_BUILD_H
#define HB_BUILD_H

#include <stdbool.h>
#include "husk/error.h"
#include "husk/utils.h"
#include "store.h"
#include "image.h"

typedef struct
{
  const char *store_dir; /* --store, default HB_DEFAULT_STORE or $HUSK_BUILD_STORE */
  bool debug;            /* --debug: extra diagnostics on stderr */
  bool quiet;            /* -q/--quiet: no progress output */
} hb_globals_t;

typedef int (*hb_command_fn) (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);

/* ---- store and transport half (pull.c push.c archive-io.c main.c) ----- */
int hb_cmd_pull (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_push (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_images (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_inspect (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_rmi (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_tag (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_load (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_save (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);

/* Pull REF into an open store (used by `pull`, and by `build`/`run` when an
 * image is missing).  opts may be NULL.  *manifest_digest may be NULL. */
typedef struct
{
  bool insecure;         /* plain HTTP / no TLS verification for any registry */
  const char *creds;     /* "user:pass" */
  const char *platform;  /* "os/arch[/variant]", NULL = host */
  const char *authfile;  /* docker-style auth.json, NULL = the usual places */
  bool quiet;
} hb_pull_opts_t;
int hb_pull_image (hb_store_t *s, const char *ref, const hb_pull_opts_t *opts, char **manifest_digest,
                   husk_error_t *err);

/* ---- image half (bundle.c build.c containers.c): implement these ------
 * main.c references them weakly: a command whose function is not linked in
 * answers "command `X` is not available in this build". */
int hb_cmd_bundle (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_build (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_run (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_ps (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_rm (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_logs (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);

#endif
