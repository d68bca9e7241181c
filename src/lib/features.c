/* husk: `features` — runtime-spec features.md JSON, for engines to probe. */
#include <string.h>
#include "cgroup.h"
#include "internal.h"
#include "rootfs.h"
#include "seccomp-filter.h"

static void
names (yajl_gen g, const char *key, const char *const *v)
{
  husk_json_str (g, key);
  yajl_gen_array_open (g);
  for (; v && *v; v++)
    husk_json_str (g, *v);
  yajl_gen_array_close (g);
}

int
husk_features_json (char **json, husk_error_t *err)
{
  static const char *const hooks[] = { "prestart", "createRuntime", "createContainer", "startContainer",
                                       "poststart", "poststop", NULL };
  static const char *const ns[] = { "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts", NULL };
  yajl_gen g = husk_json_gen_new (true, "    ");
  husk_cgroup_mode_t mode = HUSK_CGROUP_LEGACY;

  husk_cgroup_mode (&mode, NULL);
  yajl_gen_map_open (g);
  husk_json_kv_str (g, "ociVersionMin", "1.0.0");
  husk_json_kv_str (g, "ociVersionMax", HUSK_SPEC_VERSION);
  names (g, "hooks", hooks);
  names (g, "mountOptions", husk_mount_option_names);
  husk_json_str (g, "linux");
  yajl_gen_map_open (g);
  names (g, "namespaces", ns);
  husk_json_str (g, "capabilities");
  yajl_gen_array_open (g);
  for (int c = 0; c <= husk_cap_last (); c++)
    if (husk_cap_name (c))
      husk_json_str (g, husk_cap_name (c));
  yajl_gen_array_close (g);
  husk_json_str (g, "cgroup");
  yajl_gen_map_open (g);
  husk_json_kv_bool (g, "v1", true);
  husk_json_kv_bool (g, "v2", true);
  husk_json_kv_bool (g, "systemd", false);
  husk_json_kv_bool (g, "systemdUser", false);
  husk_json_kv_bool (g, "rdma", true);
  yajl_gen_map_close (g);
  husk_json_str (g, "seccomp");
  yajl_gen_map_open (g);
  husk_json_kv_bool (g, "enabled", HAVE_SECCOMP != 0);
  names (g, "actions", husk_seccomp_action_names);
  names (g, "operators", husk_seccomp_operator_names);
  names (g, "archs", husk_seccomp_arch_names);
  names (g, "knownFlags", husk_seccomp_flag_names);
  names (g, "supportedFlags", husk_seccomp_flag_names);
  yajl_gen_map_close (g);
  husk_json_str (g, "apparmor");
  yajl_gen_map_open (g);
  husk_json_kv_bool (g, "enabled", false);
  yajl_gen_map_close (g);
  husk_json_str (g, "selinux");
  yajl_gen_map_open (g);
  husk_json_kv_bool (g, "enabled", false);
  yajl_gen_map_close (g);
  husk_json_str (g, "intelRdt");
  yajl_gen_map_open (g);
  husk_json_kv_bool (g, "enabled", false);
  yajl_gen_map_close (g);
  husk_json_str (g, "mountExtensions");
  yajl_gen_map_open (g);
  husk_json_str (g, "idmap");
  yajl_gen_map_open (g);
  husk_json_kv_bool (g, "enabled", true);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
  husk_json_str (g, "netDevices");
  yajl_gen_map_open (g);
  husk_json_kv_bool (g, "enabled", false);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
  husk_json_str (g, "annotations");
  yajl_gen_map_open (g);
  husk_json_kv_str (g, "io.github.seccomp.libseccomp.version", husk_seccomp_version ());
  husk_json_kv_str (g, "org.husk.version", HUSK_VERSION);
  husk_json_kv_str (g, "org.husk.commit", HUSK_COMMIT);
  husk_json_kv_str (g, "org.husk.checkpoint.enabled", "false");
  yajl_gen_map_close (g);
  husk_json_str (g, "potentiallyUnsafeConfigAnnotations");
  yajl_gen_array_open (g);
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  *json = husk_json_gen_finish (g);
  return 0;
}
