/* husk: declarations shared between the runtime library's files. */
#ifndef HUSK_INTERNAL_H
#define HUSK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <yajl/yajl_gen.h>
#include "config.h"
#include "husk/husk.h"
#include "husk/spec.h"
#include "husk/utils.h"

/* ---- state.c: <root>/<id>/{state.json,config.json,exec.sock} -------------- */
typedef enum
{
  HUSK_STATUS_CREATING,
  HUSK_STATUS_CREATED,
  HUSK_STATUS_RUNNING,
  HUSK_STATUS_PAUSED,
  HUSK_STATUS_STOPPED,
} husk_status_t;
const char *husk_status_name (husk_status_t s);

typedef struct
{
  char *id;
  pid_t pid;
  uint64_t start_time; /* of pid, to detect pid reuse */
  char *bundle;
  char *rootfs;
  char *created; /* RFC3339Nano */
  char *owner;
  char *cgroup;  /* husk_cgroup_save() text, may be NULL */
  bool own_pidns; /* the container has its own pid namespace */
  bool started;   /* start has run */
  bool host_mounts; /* no mount namespace: mounts under rootfs to undo at delete */
} husk_state_t;

/* An open container: its state dir fd (locked) and state. */
typedef struct
{
  char *dir;     /* <root>/<id> */
  int dirfd;     /* O_DIRECTORY, flock'ed */
  husk_state_t state;
} husk_container_t;

int husk_state_root_open (husk_context_t *ctx, bool create, int *rootfd, husk_error_t *err);
/* Create <root>/<id> (EEXIST -> "container with given ID already exists"), locked. */
int husk_container_dir_create (husk_context_t *ctx, const char *id, husk_container_t *c, husk_error_t *err);
/* Open an existing container ("container `id` does not exist"), locked. */
int husk_container_open (husk_context_t *ctx, const char *id, husk_container_t *c, husk_error_t *err);
void husk_container_close (husk_container_t *c);
int husk_state_write (husk_container_t *c, husk_error_t *err);
int husk_state_parse (const char *json, husk_state_t *st, husk_error_t *err);
void husk_state_clear (husk_state_t *st);
/* Live status: pid gone/zombie or reused -> stopped; exec.sock -> created; frozen -> paused. */
husk_status_t husk_container_status (husk_container_t *c);
/* Load the config.json copy kept in the state dir. */
int husk_container_load_spec (husk_container_t *c, husk_spec_t **spec, husk_error_t *err);
/* runtime-spec state JSON; pretty (2-space) or compact (hooks' stdin). */
char *husk_state_json (const husk_state_t *st, husk_status_t status, const husk_spec_t *spec, bool pretty);
bool husk_pid_alive (pid_t pid, uint64_t start_time);

/* ---- sync.c: runtime <-> init over SOCK_SEQPACKET ----------------------- */
enum
{
  HUSK_SYNC_GO = 1,        /* runtime -> init: cgroup and id maps are in place */
  HUSK_SYNC_PID,           /* stage1 -> runtime: the init's pid (value) */
  HUSK_SYNC_USERMAP,       /* stage1 -> runtime: write id maps for pid (value) */
  HUSK_SYNC_USERMAP_ACK,   /* runtime -> stage1 */
  HUSK_SYNC_HOOKS,         /* init -> runtime: run prestart + createRuntime now */
  HUSK_SYNC_HOOKS_DONE,    /* runtime -> init */
  HUSK_SYNC_SECCOMP_FD,    /* init -> runtime: notify fd attached (SCM_RIGHTS) */
  HUSK_SYNC_SECCOMP_DONE,  /* runtime -> init */
  HUSK_SYNC_READY,         /* init -> runtime: set up, waiting for start */
  HUSK_SYNC_ERROR,         /* init -> runtime: value = errno, text = message */
};
typedef struct
{
  int type;
  int value;
  char text[4000];
} husk_sync_msg_t;

int husk_sync_send (int fd, int type, int value, const char *text, husk_error_t *err);
int husk_sync_send_fd (int fd, int type, int passfd, husk_error_t *err);
/* Receive one message; EOF gives an error "container init exited unexpectedly". */
int husk_sync_recv (int fd, husk_sync_msg_t *msg, int *passfd, husk_error_t *err);
int husk_sync_expect (int fd, int type, husk_sync_msg_t *msg, husk_error_t *err);
/* In a child: report err to the runtime and _exit. */
__attribute__ ((noreturn)) void husk_sync_fail (int fd, husk_error_t *err);

/* ---- namespaces.c ------------------------------------------------------- */
int husk_ns_write_id_maps (pid_t pid, const husk_spec_t *spec, husk_error_t *err);
int husk_ns_join_paths (const husk_spec_t *spec, husk_error_t *err);
int husk_ns_set_time_offsets (const husk_time_offsets_t *t, husk_error_t *err);
/* New namespaces the container wants (CLONE_* flags, without path). */
int husk_ns_new_flags (const husk_spec_t *spec);
bool husk_ns_any_path (const husk_spec_t *spec);

/* ---- process.c: the final steps in the init before execve -------------- */
int husk_process_set_rlimits (const husk_process_t *p, husk_error_t *err);
int husk_process_set_oom_score_adj (const husk_process_t *p, husk_error_t *err);
int husk_process_set_scheduler (const husk_process_t *p, husk_error_t *err);
int husk_process_set_ioprio (const husk_process_t *p, husk_error_t *err);
int husk_process_set_personality (const husk_personality_t *pers, husk_error_t *err);
int husk_process_set_sysctls (const husk_linux_t *l, husk_error_t *err);
/* setgroups/setgid/setuid keeping caps, then the five capability sets. */
int husk_process_set_user_and_caps (const husk_process_t *p, husk_error_t *err);
/* Look up args[0] in PATH of the process env (inside the current root). */
int husk_process_find_exec (const husk_process_t *p, char **path, husk_error_t *err);
int husk_process_chdir (const husk_process_t *p, husk_error_t *err);

/* ---- hooks.c ------------------------------------------------------------ */
/* Run each hook in order with state_json on stdin; stops at the first failure. */
int husk_hooks_run (const husk_hook_list_t *hooks, const char *kind, const char *state_json, husk_error_t *err);
/* Run every hook; a failure is logged as a warning and the rest still run
 * (poststart and poststop: "the lifecycle continues as if it succeeded"). */
void husk_hooks_run_warn (const husk_hook_list_t *hooks, const char *kind, const char *state_json);

/* ---- netlink.c ---------------------------------------------------------- */
int husk_netlink_lo_up (husk_error_t *err);

/* ---- json.c: small yajl_gen helpers -------------------------------------- */
yajl_gen husk_json_gen_new (bool pretty, const char *indent);
void husk_json_str (yajl_gen g, const char *s);
void husk_json_kv_str (yajl_gen g, const char *k, const char *v);
void husk_json_kv_int (yajl_gen g, const char *k, long long v);
void husk_json_kv_bool (yajl_gen g, const char *k, bool v);
char *husk_json_gen_finish (yajl_gen g); /* frees g, returns allocated text */
/* Re-emit a parsed yajl tree (numbers keep their raw text). */
struct yajl_val_s;
void husk_json_gen_tree (yajl_gen g, const struct yajl_val_s *v);


/* ---- init.c: the container init (child side of the handshake) ---------- */
struct husk_seccomp_filter_s;
typedef struct
{
  const husk_spec_t *spec;
  const char *id;
  const char *bundle;
  const char *rootfs;
  const char *created;        /* timestamp for the hooks' state */
  int sync_fd;                /* child end of the socketpair */
  int exec_listen_fd;         /* exec.sock, listening; start connects */
  int console_fd;             /* connected console socket (or socketpair end), -1 */
  int state_dirfd;            /* the locked state dir: closed at once in the child */
  const int *idmap_fds;       /* per mount: idmapped mount user namespace fd, -1 none (may be NULL) */
  struct husk_seccomp_filter_s *seccomp;
  bool no_pivot;
  bool no_new_keyring;
  int preserve_fds;           /* LISTEN_FDS + --preserve-fds */
  char **env;                 /* final environment (LISTEN_FDS added) */
  bool two_stage;             /* join namespaces by path / time ns: fork again */
  int new_flags;              /* CLONE_NEW* to create */
  bool userns;                /* a user namespace (new or joined) */
} husk_init_args_t;

/* Runs in the child after clone; never returns. */
__attribute__ ((noreturn)) void husk_init_main (husk_init_args_t *a);

/* ---- specgen.c ---------------------------------------------------------- */
char *husk_spec_default_json (bool rootless);

#endif
