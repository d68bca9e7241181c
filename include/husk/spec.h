/* husk: config.json as typed structs.
 *
 * The spec is parsed once (yajl tree), validated with the JSON path named in
 * every error ("process.user.uid: expected an unsigned integer"), and the tree
 * freed.  Conventions: a NULL pointer means "absent"; arrays are `ptr` +
 * `ptr_len`; `has_x` flags exist where 0 is a meaningful value.  Strings are
 * owned by the struct.  Unknown fields are ignored. */
#ifndef HUSK_SPEC_H
#define HUSK_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "husk/error.h"

typedef struct
{
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
} husk_idmap_t;

typedef struct
{
  char *destination; /* required, absolute */
  char *source;      /* may be NULL */
  char *type;        /* may be NULL (bind mounts) */
  char **options;    /* NULL-terminated too, for convenience */
  size_t options_len;
  husk_idmap_t *uid_mappings;
  size_t uid_mappings_len;
  husk_idmap_t *gid_mappings;
  size_t gid_mappings_len;
} husk_mount_t;

typedef struct
{
  int resource;  /* RLIMIT_* value, validated from the "RLIMIT_NOFILE" name */
  char *type;    /* the name as given */
  uint64_t soft;
  uint64_t hard;
} husk_rlimit_t;

/* A capability set: values are CAP_* numbers (validated names). */
typedef struct
{
  int *caps;
  size_t caps_len;
} husk_capset_t;

typedef struct
{
  husk_capset_t *effective, *bounding, *inheritable, *permitted, *ambient; /* NULL = absent */
} husk_caps_t;

typedef struct
{
  char *policy;   /* "SCHED_OTHER", ... (validated) */
  int policy_value;
  int32_t nice;
  int32_t priority;
  char **flags; /* "SCHED_FLAG_RESET_ON_FORK", ... */
  size_t flags_len;
  uint64_t runtime, deadline, period;
} husk_scheduler_t;

typedef struct
{
  char *class_name; /* "IOPRIO_CLASS_RT" | "IOPRIO_CLASS_BE" | "IOPRIO_CLASS_IDLE" */
  int class_value;  /* IOPRIO_CLASS_* number */
  int priority;
} husk_ioprio_t;

typedef struct
{
  uint32_t uid;
  uint32_t gid;
  bool has_umask;
  uint32_t umask;
  uint32_t *additional_gids;
  size_t additional_gids_len;
  char *username; /* Windows-only field, ignored */
} husk_user_t;

typedef struct
{
  bool terminal;
  bool has_console_size;
  uint32_t console_height, console_width;
  char *cwd; /* required by the spec when process is present; absolute */
  char **env;  /* NULL-terminated */
  size_t env_len;
  char **args; /* NULL-terminated */
  size_t args_len;
  char *command_line; /* Windows-only, ignored */
  husk_rlimit_t *rlimits;
  size_t rlimits_len;
  char *apparmor_profile;
  husk_caps_t *capabilities; /* NULL = absent */
  bool no_new_privileges;
  bool has_oom_score_adj;
  int oom_score_adj;
  husk_scheduler_t *scheduler;
  char *selinux_label;
  husk_ioprio_t *io_priority;
  husk_user_t user;
  char *exec_cpu_affinity_initial, *exec_cpu_affinity_final;
} husk_process_t;

typedef struct
{
  char *path; /* absolute */
  char **args;
  size_t args_len;
  char **env;
  size_t env_len;
  bool has_timeout;
  int timeout; /* > 0 seconds */
} husk_hook_t;

typedef struct
{
  husk_hook_t *items;
  size_t len;
} husk_hook_list_t;

typedef struct
{
  husk_hook_list_t prestart, create_runtime, create_container, start_container, poststart, poststop;
} husk_hooks_t;

typedef enum
{
  HUSK_NS_PID = 0,
  HUSK_NS_NETWORK,
  HUSK_NS_MOUNT,
  HUSK_NS_IPC,
  HUSK_NS_UTS,
  HUSK_NS_USER,
  HUSK_NS_CGROUP,
  HUSK_NS_TIME,
  HUSK_NS_COUNT
} husk_ns_type_t;

typedef struct
{
  husk_ns_type_t type;
  char *path; /* NULL = create a new one */
} husk_namespace_t;

typedef struct
{
  char type;        /* 'c', 'b', 'u', 'p' */
  char *path;       /* absolute, inside the container */
  int64_t major, minor;
  bool has_file_mode;
  uint32_t file_mode;
  bool has_uid, has_gid;
  uint32_t uid, gid;
} husk_device_t;

/* linux.resources.devices[] */
typedef struct
{
  bool allow;
  char type;  /* 'a', 'c', 'b'; 'a' when absent */
  bool has_major, has_minor;
  int64_t major, minor; /* -1 = wildcard when absent */
  char *access;         /* "rwm" subset; NULL = all */
} husk_device_rule_t;

typedef struct
{
  int64_t major, minor;
  bool has_weight, has_leaf_weight;
  uint16_t weight, leaf_weight;
} husk_weight_device_t;

typedef struct
{
  int64_t major, minor;
  uint64_t rate;
} husk_throttle_device_t;

typedef struct
{
  bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp, has_swappiness;
  int64_t limit, reservation, swap, kernel, kernel_tcp; /* -1 = unlimited */
  uint64_t swappiness;
  bool has_disable_oom_killer, disable_oom_killer;
  bool has_use_hierarchy, use_hierarchy;
  bool has_check_before_update, check_before_update;
} husk_memory_t;

typedef struct
{
  bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime, has_realtime_period,
      has_idle;
  uint64_t shares;
  int64_t quota; /* -1 = max */
  uint64_t burst;
  uint64_t period;
  int64_t realtime_runtime;
  uint64_t realtime_period;
  int64_t idle;
  char *cpus, *mems;
} husk_cpu_t;

typedef struct
{
  bool has_weight, has_leaf_weight;
  uint16_t weight, leaf_weight;
  husk_weight_device_t *weight_device;
  size_t weight_device_len;
  husk_throttle_device_t *throttle_read_bps, *throttle_write_bps, *throttle_read_iops,
      *throttle_write_iops;
  size_t throttle_read_bps_len, throttle_write_bps_len, throttle_read_iops_len,
      throttle_write_iops_len;
} husk_blkio_t;

typedef struct
{
  char *page_size; /* "2MB", "1GB" */
  uint64_t limit;
} husk_hugepage_limit_t;

typedef struct
{
  char *device;
  bool has_hca_handles, has_hca_objects;
  uint32_t hca_handles, hca_objects;
} husk_rdma_t;

typedef struct
{
  char *name;
  uint32_t priority;
} husk_net_priority_t;

typedef struct
{
  husk_device_rule_t *devices;
  size_t devices_len;
  husk_memory_t *memory;
  husk_cpu_t *cpu;
  bool has_pids_limit;
  int64_t pids_limit; /* <= 0 = max */
  husk_blkio_t *block_io;
  husk_hugepage_limit_t *hugepage_limits;
  size_t hugepage_limits_len;
  bool has_net_class_id;
  uint32_t net_class_id;
  husk_net_priority_t *net_priorities;
  size_t net_priorities_len;
  husk_rdma_t *rdma;
  size_t rdma_len;
  char **unified_keys, **unified_values; /* parallel arrays */
  size_t unified_len;
} husk_resources_t;

typedef struct
{
  uint32_t index;
  uint64_t value;
  uint64_t value_two;
  char *op; /* "SCMP_CMP_EQ", ... (validated) */
} husk_seccomp_arg_t;

typedef struct
{
  char **names;
  size_t names_len;
  char *action; /* "SCMP_ACT_ERRNO", ... (validated) */
  bool has_errno_ret;
  uint32_t errno_ret;
  husk_seccomp_arg_t *args;
  size_t args_len;
} husk_seccomp_syscall_t;

typedef struct
{
  char *default_action; /* validated */
  bool has_default_errno_ret;
  uint32_t default_errno_ret;
  char **architectures; /* "SCMP_ARCH_X86_64", ... */
  size_t architectures_len;
  char **flags; /* "SECCOMP_FILTER_FLAG_LOG", ... */
  size_t flags_len;
  char *listener_path;
  char *listener_metadata;
  husk_seccomp_syscall_t *syscalls;
  size_t syscalls_len;
} husk_seccomp_t;

typedef struct
{
  char *domain; /* "LINUX" | "LINUX32" */
  char **flags;
  size_t flags_len;
} husk_personality_t;

typedef struct
{
  bool has_monotonic, has_boottime;
  int64_t monotonic_secs, boottime_secs;
  uint32_t monotonic_nsecs, boottime_nsecs;
} husk_time_offsets_t;

typedef struct
{
  char *host_name; /* the key */
  char *name;      /* the name inside the container (host_name when absent) */
} husk_net_device_t;

typedef struct
{
  husk_namespace_t *namespaces;
  size_t namespaces_len;
  husk_idmap_t *uid_mappings;
  size_t uid_mappings_len;
  husk_idmap_t *gid_mappings;
  size_t gid_mappings_len;
  husk_time_offsets_t *time_offsets;
  husk_device_t *devices;
  size_t devices_len;
  char *cgroups_path;
  husk_resources_t *resources;
  char **sysctl_keys, **sysctl_values; /* parallel arrays, validated */
  size_t sysctl_len;
  husk_seccomp_t *seccomp;
  char *rootfs_propagation; /* "private" | "shared" | "slave" | "unbindable" (+ r- forms) */
  char **masked_paths;
  size_t masked_paths_len;
  char **readonly_paths;
  size_t readonly_paths_len;
  char *mount_label;
  husk_personality_t *personality;
  husk_net_device_t *net_devices;
  size_t net_devices_len;
  char *intel_rdt_clos_id; /* accepted, not applied */
} husk_linux_t;

typedef struct
{
  char *oci_version; /* required */
  char *root_path;   /* required on Linux */
  bool root_readonly;
  husk_mount_t *mounts;
  size_t mounts_len;
  husk_process_t *process; /* NULL = absent (start must then fail) */
  char *hostname;
  char *domainname;
  husk_hooks_t *hooks;
  char **annotation_keys, **annotation_values; /* parallel arrays, in file order */
  size_t annotations_len;
  husk_linux_t *linux_; /* NULL = absent */
} husk_spec_t;

/* Parse and validate a config.json text.  On error *err names the JSON path. */
int husk_spec_parse (const char *json, size_t len, husk_spec_t **out, husk_error_t *err);
int husk_spec_load (const char *path, husk_spec_t **out, husk_error_t *err);
void husk_spec_free (husk_spec_t *spec);
void husk_spec_freep (husk_spec_t **spec);
#define husk_autospec __attribute__ ((cleanup (husk_spec_freep)))

/* process.json for `exec -p`: the same validation as config.json's process. */
int husk_process_parse (const char *json, size_t len, husk_process_t **out, husk_error_t *err);
void husk_process_free (husk_process_t *p);

/* LinuxResources for `update -r`. */
int husk_resources_parse (const char *json, size_t len, husk_resources_t **out, husk_error_t *err);
void husk_resources_free (husk_resources_t *r);

/* Lookup helpers. */
const husk_namespace_t *husk_spec_find_namespace (const husk_spec_t *spec, husk_ns_type_t type);
const char *husk_ns_type_name (husk_ns_type_t type); /* "pid", "network", ... */
int husk_ns_type_from_name (const char *name);       /* -1 if unknown */
int husk_ns_clone_flag (husk_ns_type_t type);        /* CLONE_NEWPID, ... */
const char *husk_ns_proc_name (husk_ns_type_t type); /* "pid", "net", "mnt", ... for /proc/PID/ns */

/* Name tables (also used by `features`). */
int husk_cap_from_name (const char *name); /* "CAP_SYS_ADMIN" -> 21; -1 unknown */
const char *husk_cap_name (int cap);
int husk_cap_last (void); /* highest known capability number */
int husk_rlimit_from_name (const char *name); /* "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 unknown */

#endif
