/* Unit tests for the capability, rlimit and namespace name tables. */
#include <criterion/criterion.h>
#include <sched.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include "husk/spec.h"

Test (names, cap_known_values)
{
  cr_assert_eq (husk_cap_from_name ("CAP_CHOWN"), 0);
  cr_assert_eq (husk_cap_from_name ("CAP_SYS_ADMIN"), 21);
  cr_assert_eq (husk_cap_from_name ("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
  cr_assert_eq (husk_cap_from_name ("CAP_NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
  cr_assert_eq (husk_cap_from_name ("CAP_AUDIT_READ"), 37);
  cr_assert_eq (husk_cap_from_name ("CAP_PERFMON"), 38);
  cr_assert_eq (husk_cap_from_name ("CAP_BPF"), 39);
  cr_assert_eq (husk_cap_from_name ("CAP_CHECKPOINT_RESTORE"), 40);
  cr_assert_eq (husk_cap_last (), 40);
}

Test (names, cap_round_trip)
{
  for (int i = 0; i <= husk_cap_last (); i++)
    {
      const char *name = husk_cap_name (i);
      cr_assert_not_null (name, "no name for capability %d", i);
      cr_assert_eq (strncmp (name, "CAP_", 4), 0);
      cr_assert_eq (husk_cap_from_name (name), i, "%s", name);
    }
  cr_assert_str_eq (husk_cap_name (CAP_KILL), "CAP_KILL");
}

Test (names, cap_unknown)
{
  cr_assert_eq (husk_cap_from_name ("CAP_FOO"), -1);
  cr_assert_eq (husk_cap_from_name ("SYS_ADMIN"), -1);
  cr_assert_eq (husk_cap_from_name (""), -1);
  cr_assert_eq (husk_cap_from_name (NULL), -1);
  cr_assert_null (husk_cap_name (-1));
  cr_assert_null (husk_cap_name (41));
}

Test (names, rlimits)
{
  static const struct
  {
    const char *name;
    int value;
  } all[] = {
    { "RLIMIT_AS", RLIMIT_AS },         { "RLIMIT_CORE", RLIMIT_CORE },
    { "RLIMIT_CPU", RLIMIT_CPU },       { "RLIMIT_DATA", RLIMIT_DATA },
    { "RLIMIT_FSIZE", RLIMIT_FSIZE },   { "RLIMIT_LOCKS", RLIMIT_LOCKS },
    { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
    { "RLIMIT_NICE", RLIMIT_NICE },     { "RLIMIT_NOFILE", RLIMIT_NOFILE },
    { "RLIMIT_NPROC", RLIMIT_NPROC },   { "RLIMIT_RSS", RLIMIT_RSS },
    { "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
    { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
  };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    cr_assert_eq (husk_rlimit_from_name (all[i].name), all[i].value, "%s", all[i].name);
  cr_assert_eq (husk_rlimit_from_name ("RLIMIT_FOO"), -1);
  cr_assert_eq (husk_rlimit_from_name ("NOFILE"), -1);
  cr_assert_eq (husk_rlimit_from_name (NULL), -1);
}

Test (names, namespaces)
{
  static const struct
  {
    husk_ns_type_t type;
    const char *name, *proc;
    int flag;
  } all[] = {
    { HUSK_NS_PID, "pid", "pid", CLONE_NEWPID },
    { HUSK_NS_NETWORK, "network", "net", CLONE_NEWNET },
    { HUSK_NS_MOUNT, "mount", "mnt", CLONE_NEWNS },
    { HUSK_NS_IPC, "ipc", "ipc", CLONE_NEWIPC },
    { HUSK_NS_UTS, "uts", "uts", CLONE_NEWUTS },
    { HUSK_NS_USER, "user", "user", CLONE_NEWUSER },
    { HUSK_NS_CGROUP, "cgroup", "cgroup", CLONE_NEWCGROUP },
    { HUSK_NS_TIME, "time", "time", 0x80 },
  };
  cr_assert_eq (sizeof all / sizeof all[0], HUSK_NS_COUNT);
  for (size_t i = 0; i < HUSK_NS_COUNT; i++)
    {
      cr_assert_str_eq (husk_ns_type_name (all[i].type), all[i].name);
      cr_assert_str_eq (husk_ns_proc_name (all[i].type), all[i].proc);
      cr_assert_eq (husk_ns_clone_flag (all[i].type), all[i].flag, "%s", all[i].name);
      cr_assert_eq (husk_ns_type_from_name (all[i].name), (int) all[i].type);
    }
  cr_assert_eq (husk_ns_type_from_name ("net"), -1);
  cr_assert_eq (husk_ns_type_from_name ("mnt"), -1);
  cr_assert_eq (husk_ns_type_from_name ("foo"), -1);
  cr_assert_eq (husk_ns_type_from_name (NULL), -1);
  cr_assert_null (husk_ns_type_name (HUSK_NS_COUNT));
  cr_assert_null (husk_ns_proc_name ((husk_ns_type_t) -1));
  cr_assert_eq (husk_ns_clone_flag (HUSK_NS_COUNT), 0);
}

Test (names, find_namespace)
{
  husk_namespace_t ns[] = { { HUSK_NS_PID, NULL }, { HUSK_NS_NETWORK, (char *) "/run/netns/a" } };
  husk_linux_t l = { .namespaces = ns, .namespaces_len = 2 };
  husk_spec_t spec = { .linux_ = &l };
  husk_spec_t bare = { 0 };

  cr_assert_eq (husk_spec_find_namespace (&spec, HUSK_NS_PID), &ns[0]);
  cr_assert_str_eq (husk_spec_find_namespace (&spec, HUSK_NS_NETWORK)->path, "/run/netns/a");
  cr_assert_null (husk_spec_find_namespace (&spec, HUSK_NS_USER));
  cr_assert_null (husk_spec_find_namespace (&bare, HUSK_NS_PID));
  cr_assert_null (husk_spec_find_namespace (NULL, HUSK_NS_PID));
}
