/* husk: name tables: capabilities, rlimits, namespaces. */
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include "husk/spec.h"

/* Newer than some headers. */
#ifndef CAP_PERFMON
#  define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#  define CAP_BPF 39
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#  define CAP_CHECKPOINT_RESTORE 40
#endif
#ifndef CLONE_NEWTIME
#  define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#  define CLONE_NEWCGROUP 0x02000000
#endif

#define HUSK_CAP_LAST CAP_CHECKPOINT_RESTORE

static const char *const cap_names[HUSK_CAP_LAST + 1] = {
  [CAP_CHOWN] = "CAP_CHOWN",
  [CAP_DAC_OVERRIDE] = "CAP_DAC_OVERRIDE",
  [CAP_DAC_READ_SEARCH] = "CAP_DAC_READ_SEARCH",
  [CAP_FOWNER] = "CAP_FOWNER",
  [CAP_FSETID] = "CAP_FSETID",
  [CAP_KILL] = "CAP_KILL",
  [CAP_SETGID] = "CAP_SETGID",
  [CAP_SETUID] = "CAP_SETUID",
  [CAP_SETPCAP] = "CAP_SETPCAP",
  [CAP_LINUX_IMMUTABLE] = "CAP_LINUX_IMMUTABLE",
  [CAP_NET_BIND_SERVICE] = "CAP_NET_BIND_SERVICE",
  [CAP_NET_BROADCAST] = "CAP_NET_BROADCAST",
  [CAP_NET_ADMIN] = "CAP_NET_ADMIN",
  [CAP_NET_RAW] = "CAP_NET_RAW",
  [CAP_IPC_LOCK] = "CAP_IPC_LOCK",
  [CAP_IPC_OWNER] = "CAP_IPC_OWNER",
  [CAP_SYS_MODULE] = "CAP_SYS_MODULE",
  [CAP_SYS_RAWIO] = "CAP_SYS_RAWIO",
  [CAP_SYS_CHROOT] = "CAP_SYS_CHROOT",
  [CAP_SYS_PTRACE] = "CAP_SYS_PTRACE",
  [CAP_SYS_PACCT] = "CAP_SYS_PACCT",
  [CAP_SYS_ADMIN] = "CAP_SYS_ADMIN",
  [CAP_SYS_BOOT] = "CAP_SYS_BOOT",
  [CAP_SYS_NICE] = "CAP_SYS_NICE",
  [CAP_SYS_RESOURCE] = "CAP_SYS_RESOURCE",
  [CAP_SYS_TIME] = "CAP_SYS_TIME",
  [CAP_SYS_TTY_CONFIG] = "CAP_SYS_TTY_CONFIG",
  [CAP_MKNOD] = "CAP_MKNOD",
  [CAP_LEASE] = "CAP_LEASE",
  [CAP_AUDIT_WRITE] = "CAP_AUDIT_WRITE",
  [CAP_AUDIT_CONTROL] = "CAP_AUDIT_CONTROL",
  [CAP_SETFCAP] = "CAP_SETFCAP",
  [CAP_MAC_OVERRIDE] = "CAP_MAC_OVERRIDE",
  [CAP_MAC_ADMIN] = "CAP_MAC_ADMIN",
  [CAP_SYSLOG] = "CAP_SYSLOG",
  [CAP_WAKE_ALARM] = "CAP_WAKE_ALARM",
  [CAP_BLOCK_SUSPEND] = "CAP_BLOCK_SUSPEND",
  [CAP_AUDIT_READ] = "CAP_AUDIT_READ",
  [CAP_PERFMON] = "CAP_PERFMON",
  [CAP_BPF] = "CAP_BPF",
  [CAP_CHECKPOINT_RESTORE] = "CAP_CHECKPOINT_RESTORE",
};

int
husk_cap_from_name (const char *name)
{
  if (name == NULL)
    return -1;
  for (int i = 0; i <= HUSK_CAP_LAST; i++)
    if (cap_names[i] && strcmp (cap_names[i], name) == 0)
      return i;
  return -1;
}

const char *
husk_cap_name (int cap)
{
  if (cap < 0 || cap > HUSK_CAP_LAST)
    return NULL;
  return cap_names[cap];
}

int
husk_cap_last (void)
{
  return HUSK_CAP_LAST;
}

static const struct
{
  const char *name;
  int value;
} rlimits[] = {
  { "RLIMIT_AS", RLIMIT_AS },
  { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },
  { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },
  { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },
  { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },
  { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
  { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_STACK", RLIMIT_STACK },
};

int
husk_rlimit_from_name (const char *name)
{
  if (name == NULL)
    return -1;
  for (size_t i = 0; i < sizeof rlimits / sizeof rlimits[0]; i++)
    if (strcmp (rlimits[i].name, name) == 0)
      return rlimits[i].value;
  return -1;
}

/* Indexed by husk_ns_type_t. */
static const struct
{
  const char *spec_name;
  const char *proc_name;
  int clone_flag;
} namespaces[HUSK_NS_COUNT] = {
  [HUSK_NS_PID] = { "pid", "pid", CLONE_NEWPID },
  [HUSK_NS_NETWORK] = { "network", "net", CLONE_NEWNET },
  [HUSK_NS_MOUNT] = { "mount", "mnt", CLONE_NEWNS },
  [HUSK_NS_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
  [HUSK_NS_UTS] = { "uts", "uts", CLONE_NEWUTS },
  [HUSK_NS_USER] = { "user", "user", CLONE_NEWUSER },
  [HUSK_NS_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
  [HUSK_NS_TIME] = { "time", "time", CLONE_NEWTIME },
};

const char *
husk_ns_type_name (husk_ns_type_t type)
{
  if ((unsigned) type >= HUSK_NS_COUNT)
    return NULL;
  return namespaces[type].spec_name;
}

const char *
husk_ns_proc_name (husk_ns_type_t type)
{
  if ((unsigned) type >= HUSK_NS_COUNT)
    return NULL;
  return namespaces[type].proc_name;
}

int
husk_ns_clone_flag (husk_ns_type_t type)
{
  if ((unsigned) type >= HUSK_NS_COUNT)
    return 0;
  return namespaces[type].clone_flag;
}

int
husk_ns_type_from_name (const char *name)
{
  if (name == NULL)
    return -1;
  for (int i = 0; i < HUSK_NS_COUNT; i++)
    if (strcmp (namespaces[i].spec_name, name) == 0)
      return i;
  return -1;
}

const husk_namespace_t *
husk_spec_find_namespace (const husk_spec_t *spec, husk_ns_type_t type)
{
  if (spec == NULL || spec->linux_ == NULL)
    return NULL;
  for (size_t i = 0; i < spec->linux_->namespaces_len; i++)
    if (spec->linux_->namespaces[i].type == type)
      return &spec->linux_->namespaces[i];
  return NULL;
}
