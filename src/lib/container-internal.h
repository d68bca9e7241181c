/* husk: what create/start/run/exec share (container.c, run.c, ops.c). */
#ifndef HUSK_CONTAINER_INTERNAL_H
#define HUSK_CONTAINER_INTERNAL_H

#include "cgroup.h"
#include "internal.h"
#include "seccomp-filter.h"

typedef struct
{
  husk_container_t c;
  husk_spec_t *spec;
  char *config;
  size_t config_len;
  char *bundle;
  char *rootfs;
  char **env;
  husk_seccomp_filter_t *seccomp;
  husk_cgroup_t *cgroup;
  int sync_fd;
  int console_fd;
  int console_master; /* foreground run with a terminal: receives the pty master */
  int pidfd_sock;     /* --pidfd-socket, connected */
  pid_t pid;
  pid_t stage1;
  bool pid_is_child;
  int *idmap_fds; /* per spec mount, -1 when not idmapped; NULL when none is */
} husk_create_ctx_t;

int husk_create_internal (husk_context_t *ctx, const char *id, const husk_create_opts_t *opts, bool foreground,
                          husk_create_ctx_t *cc, husk_error_t *err);
void husk_create_ctx_clear (husk_create_ctx_t *cc);
int husk_start_init (husk_container_t *c, husk_error_t *err);
int husk_run_poststart (husk_container_t *c, const husk_spec_t *spec, husk_error_t *err);
/* Foreground run/exec: forward signals, proxy the pty master (-1: none),
 * reap; returns child's status (128+signal), < 0 on error.  The signals
 * to forward must be blocked by the caller. */
int husk_foreground_wait (pid_t child, int master, husk_error_t *err);
/* Wait (pidfd + poll) until pid exits; false on timeout. */
bool husk_wait_pid_exit (pid_t pid, int timeout_ms);
/* The "container process state" JSON sent to a seccomp listener. */
char *husk_seccomp_state_json (const husk_state_t *st, const husk_spec_t *spec);
/* Tear down a stopped container: cgroup, state dir, then poststop hooks. */
int husk_container_destroy (husk_container_t *c, const husk_spec_t *spec, husk_error_t *err);

#endif
