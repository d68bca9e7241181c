/* husk: the runtime library's entry points (one per CLI operation).
 * The CLI parses flags and calls exactly one of these; only main prints. */
#ifndef HUSK_HUSK_H
#define HUSK_HUSK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "husk/error.h"
#include "husk/spec.h"

typedef struct
{
  const char *root;    /* state root (--root) */
  bool systemd_cgroup; /* --systemd-cgroup */
  int rootless;        /* -1 auto, 0 false, 1 true */
  bool debug;
} husk_context_t;

typedef struct
{
  const char *bundle;         /* default: cwd */
  const char *config_path;    /* default: <bundle>/config.json */
  const char *console_socket; /* --console-socket */
  const char *pidfd_socket;   /* --pidfd-socket: receives a pidfd of the init */
  const char *pid_file;       /* --pid-file */
  bool no_pivot;
  bool no_new_keyring;
  int preserve_fds;
  /* run only */
  bool detach;
  bool keep;
} husk_create_opts_t;

int husk_id_validate (const char *id, husk_error_t *err);

int husk_container_create (husk_context_t *ctx, const char *id, const husk_create_opts_t *opts, husk_error_t *err);
int husk_container_start (husk_context_t *ctx, const char *id, husk_error_t *err);
/* create + start (+ wait + delete unless detach/keep).  *exit_status gets
 * the container's status (128+signal when killed) in the foreground. */
int husk_container_run (husk_context_t *ctx, const char *id, const husk_create_opts_t *opts, int *exit_status,
                        husk_error_t *err);
/* The runtime-spec state JSON (runc's layout, 2-space indent, no trailing newline). */
int husk_container_state_json (husk_context_t *ctx, const char *id, char **json, husk_error_t *err);
int husk_container_kill (husk_context_t *ctx, const char *id, int sig, bool all, husk_error_t *err);
int husk_container_delete (husk_context_t *ctx, const char *id, bool force, husk_error_t *err);

typedef enum
{
  HUSK_LIST_TABLE,
  HUSK_LIST_JSON,
  HUSK_LIST_QUIET
} husk_list_format_t;
int husk_container_list (husk_context_t *ctx, husk_list_format_t format, char **out, bool root_given,
                         husk_error_t *err);

int husk_container_pause (husk_context_t *ctx, const char *id, husk_error_t *err);
int husk_container_resume (husk_context_t *ctx, const char *id, husk_error_t *err);
/* pids of the container's cgroup. */
int husk_container_pids (husk_context_t *ctx, const char *id, pid_t **pids, size_t *len, husk_error_t *err);
int husk_container_update (husk_context_t *ctx, const char *id, const husk_resources_t *res, husk_error_t *err);
int husk_container_stats_json (husk_context_t *ctx, const char *id, char **json, husk_error_t *err);
/* events (events.c): each event is one compact JSON line, without a newline,
 * handed to cb ({"type":"stats","id":ID,"data":{...}} or {"type":"oom","id":ID});
 * cb returns < 0 with *err set to stop.  stats_only: one stats event, then
 * return; otherwise stream every interval_ns (> 0) until the container stops. */
typedef int (*husk_event_cb_t) (const char *line, void *data, husk_error_t *err);
int husk_container_events (husk_context_t *ctx, const char *id, uint64_t interval_ns, bool stats_only,
                           husk_event_cb_t cb, void *data, husk_error_t *err);
/* Go's time.ParseDuration for non-negative values: "5s", "100ms", "1m30s", "1.5h". */
int husk_duration_parse (const char *s, uint64_t *ns, husk_error_t *err);

/* exec: either a whole process object (-p, what containerd and conmon send)
 * or the container's own process with the flags' overrides applied. */
typedef struct
{
  husk_process_t *process; /* -p FILE; NULL: build from the container's process + flags */
  char **args;             /* the command (when process is NULL) */
  size_t args_len;
  char **env;              /* -e K=V, added to / replacing the container's */
  size_t env_len;
  const char *cwd;         /* --cwd */
  bool tty;                /* -t */
  bool has_user, has_gid;  /* -u uid[:gid] */
  uint32_t uid, gid;
  uint32_t *gids;          /* -g (repeatable) */
  size_t gids_len;
  char **caps;             /* --cap (repeatable) */
  size_t caps_len;
  bool no_new_privs;       /* --no-new-privs */
  const char *apparmor;    /* --apparmor */
  const char *process_label; /* --process-label */
  const char *console_socket;
  const char *pidfd_socket; /* --pidfd-socket: receives a pidfd of the process */
  const char *pid_file;
  const char *cgroup;      /* --cgroup [ctrl:]path */
  bool detach;
  bool ignore_paused;
  int preserve_fds;
} husk_exec_opts_t;
int husk_container_exec (husk_context_t *ctx, const char *id, const husk_exec_opts_t *opts, int *exit_status,
                         husk_error_t *err);

/* `spec`: write a default config.json into dir (error if it exists). */
int husk_spec_generate (const char *dir, bool rootless, husk_error_t *err);
/* `features`: runtime-spec features.md JSON (4-space indent, trailing newline). */
int husk_features_json (char **json, husk_error_t *err);

/* Signals: "KILL", "SIGKILL", "sigkill", "9" -> 9; -1 unknown. */
int husk_signal_parse (const char *s);
const char *husk_signal_name (int sig); /* "SIGKILL"; NULL if unknown */

/* Logging (log.c): --log FILE, --log-format text|json. */
typedef enum
{
  HUSK_LOG_TEXT,
  HUSK_LOG_JSON
} husk_log_format_t;
int husk_log_init (const char *path, husk_log_format_t format, bool debug, husk_error_t *err);
void husk_log_error (const char *msg);
void husk_log_warning (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void husk_log_debug (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
bool husk_log_to_stderr (void);

#endif
