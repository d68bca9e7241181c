/* Unit tests for the config.json / process.json / resources parsers. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include "husk/spec.h"
#include "husk/utils.h"

#ifndef SCHED_DEADLINE
#  define SCHED_DEADLINE 6
#endif

/* The smallest valid document: ociVersion and root.path. */
#define BASE "\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"}"
#define PROC(x) "{" BASE ", \"process\": {\"cwd\": \"/\", " x "}}"
#define LINUX(x) "{" BASE ", \"linux\": {" x "}}"
#define RES(x) LINUX ("\"resources\": {" x "}")
#define SECCOMP(x) LINUX ("\"seccomp\": {" x "}")

static husk_spec_t *
parse_ok (const char *json)
{
  husk_error_t err = NULL;
  husk_spec_t *spec = NULL;
  int r = husk_spec_parse (json, strlen (json), &spec, &err);
  cr_assert_eq (r, 0, "unexpected error: %s\njson: %s", err ? err->msg : "(none)", json);
  cr_assert_null (err);
  cr_assert_not_null (spec);
  return spec;
}

/* Parse a document that must fail; check the whole message. */
static void
expect_error (const char *json, const char *msg)
{
  husk_auto_error husk_error_t err = NULL;
  husk_spec_t *spec = NULL;
  int r = husk_spec_parse (json, strlen (json), &spec, &err);
  cr_assert_lt (r, 0, "parse succeeded, expected `%s`\njson: %s", msg, json);
  cr_assert_null (spec);
  cr_assert_not_null (err);
  cr_assert_str_eq (err->msg, msg, "json: %s", json);
}

static husk_spec_t *
load_data (const char *name)
{
  husk_error_t err = NULL;
  husk_spec_t *spec = NULL;
  husk_autofree char *path = xstrdup_printf ("%s/%s", HUSK_TEST_DATA, name);
  int r = husk_spec_load (path, &spec, &err);
  cr_assert_eq (r, 0, "loading %s: %s", path, err ? err->msg : "");
  return spec;
}

static bool
capset_eq (const husk_capset_t *s, const int *caps, size_t n)
{
  if (s == NULL || s->caps_len != n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (s->caps[i] != caps[i])
      return false;
  return true;
}

/* --- complete documents --------------------------------------------------- */

Test (spec_full, top_level_and_mounts)
{
  husk_autospec husk_spec_t *s = load_data ("config-full.json");

  cr_assert_str_eq (s->oci_version, "1.2.0");
  cr_assert_str_eq (s->root_path, "/var/lib/husk/bundles/web/rootfs");
  cr_assert (s->root_readonly);
  cr_assert_str_eq (s->hostname, "web-1");
  cr_assert_str_eq (s->domainname, "example.org");

  cr_assert_eq (s->mounts_len, 3);
  cr_assert_str_eq (s->mounts[0].destination, "/proc");
  cr_assert_str_eq (s->mounts[0].type, "proc");
  cr_assert_str_eq (s->mounts[0].source, "proc");
  cr_assert_null (s->mounts[0].options);
  cr_assert_eq (s->mounts[0].options_len, 0);
  cr_assert_eq (s->mounts[1].options_len, 4);
  cr_assert_str_eq (s->mounts[1].options[2], "mode=755");
  cr_assert_null (s->mounts[1].options[4]);
  cr_assert_str_eq (s->mounts[2].source, "/srv/data");
  cr_assert_eq (s->mounts[2].uid_mappings_len, 1);
  cr_assert_eq (s->mounts[2].uid_mappings[0].host_id, 100000);
  cr_assert_eq (s->mounts[2].uid_mappings[0].size, 65536);
  cr_assert_eq (s->mounts[2].gid_mappings_len, 1);
  cr_assert_eq (s->mounts[2].gid_mappings[0].host_id, 200000);
  cr_assert_eq (s->mounts[2].gid_mappings[0].size, 1000);

  cr_assert_eq (s->annotations_len, 3);
  cr_assert_str_eq (s->annotation_keys[0], "org.opencontainers.image.title");
  cr_assert_str_eq (s->annotation_values[0], "web");
  cr_assert_str_eq (s->annotation_keys[1], "com.example.b");
  cr_assert_str_eq (s->annotation_keys[2], "com.example.a");
  cr_assert_str_eq (s->annotation_values[2], "1");
  cr_assert_null (s->annotation_keys[3]);
}

Test (spec_full, process)
{
  husk_autospec husk_spec_t *s = load_data ("config-full.json");
  const husk_process_t *p = s->process;
  static const int bounding[] = { CAP_CHOWN, CAP_SYS_ADMIN, 40 };
  static const int effective[] = { CAP_KILL };
  static const int permitted[] = { CAP_KILL, CAP_NET_BIND_SERVICE };
  static const int ambient[] = { CAP_NET_BIND_SERVICE };

  cr_assert_not_null (p);
  cr_assert (p->terminal);
  cr_assert (p->has_console_size);
  cr_assert_eq (p->console_height, 24);
  cr_assert_eq (p->console_width, 80);
  cr_assert_eq (p->user.uid, 1000);
  cr_assert_eq (p->user.gid, 1000);
  cr_assert (p->user.has_umask);
  cr_assert_eq (p->user.umask, 18);
  cr_assert_eq (p->user.additional_gids_len, 2);
  cr_assert_eq (p->user.additional_gids[0], 5);
  cr_assert_eq (p->user.additional_gids[1], UINT32_MAX);
  cr_assert_eq (p->args_len, 3);
  cr_assert_str_eq (p->args[0], "/bin/sh");
  cr_assert_str_eq (p->args[2], "echo hello");
  cr_assert_null (p->args[3]);
  cr_assert_eq (p->env_len, 2);
  cr_assert_str_eq (p->env[1], "TERM=xterm");
  cr_assert_null (p->env[2]);
  cr_assert_str_eq (p->cwd, "/srv");

  cr_assert_not_null (p->capabilities);
  cr_assert (capset_eq (p->capabilities->bounding, bounding, 3));
  cr_assert (capset_eq (p->capabilities->effective, effective, 1));
  cr_assert (capset_eq (p->capabilities->inheritable, NULL, 0));
  cr_assert (capset_eq (p->capabilities->permitted, permitted, 2));
  cr_assert (capset_eq (p->capabilities->ambient, ambient, 1));

  cr_assert_eq (p->rlimits_len, 2);
  cr_assert_eq (p->rlimits[0].resource, RLIMIT_NOFILE);
  cr_assert_str_eq (p->rlimits[0].type, "RLIMIT_NOFILE");
  cr_assert_eq (p->rlimits[0].soft, 1024);
  cr_assert_eq (p->rlimits[0].hard, 4096);
  cr_assert_eq (p->rlimits[1].resource, RLIMIT_CORE);
  cr_assert_eq (p->rlimits[1].soft, UINT64_MAX);
  cr_assert_eq (p->rlimits[1].hard, UINT64_MAX);

  cr_assert_str_eq (p->apparmor_profile, "husk-default");
  cr_assert (p->no_new_privileges);
  cr_assert (p->has_oom_score_adj);
  cr_assert_eq (p->oom_score_adj, -500);

  cr_assert_not_null (p->scheduler);
  cr_assert_str_eq (p->scheduler->policy, "SCHED_DEADLINE");
  cr_assert_eq (p->scheduler->policy_value, SCHED_DEADLINE);
  cr_assert_eq (p->scheduler->flags_len, 1);
  cr_assert_str_eq (p->scheduler->flags[0], "SCHED_FLAG_RESET_ON_FORK");
  cr_assert_eq (p->scheduler->runtime, 10000000);
  cr_assert_eq (p->scheduler->deadline, 20000000);
  cr_assert_eq (p->scheduler->period, 30000000);

  cr_assert_str_eq (p->selinux_label, "system_u:system_r:container_t:s0:c1,c2");
  cr_assert_not_null (p->io_priority);
  cr_assert_str_eq (p->io_priority->class_name, "IOPRIO_CLASS_BE");
  cr_assert_eq (p->io_priority->class_value, 2);
  cr_assert_eq (p->io_priority->priority, 4);
  cr_assert_str_eq (p->exec_cpu_affinity_initial, "0-1");
  cr_assert_str_eq (p->exec_cpu_affinity_final, "2");
}

Test (spec_full, hooks)
{
  husk_autospec husk_spec_t *s = load_data ("config-full.json");
  const husk_hooks_t *h = s->hooks;

  cr_assert_not_null (h);
  cr_assert_eq (h->prestart.len, 1);
  cr_assert_str_eq (h->prestart.items[0].path, "/usr/bin/netns-setup");
  cr_assert_eq (h->prestart.items[0].args_len, 2);
  cr_assert_str_eq (h->prestart.items[0].args[1], "up");
  cr_assert (h->prestart.items[0].has_timeout);
  cr_assert_eq (h->prestart.items[0].timeout, 5);
  cr_assert_eq (h->create_runtime.len, 1);
  cr_assert_str_eq (h->create_runtime.items[0].env[0], "A=1");
  cr_assert_not (h->create_runtime.items[0].has_timeout);
  cr_assert_str_eq (h->create_container.items[0].path, "/usr/bin/hook-b");
  cr_assert_str_eq (h->start_container.items[0].path, "/usr/bin/hook-c");
  cr_assert_str_eq (h->poststart.items[0].args[1], "started");
  cr_assert_eq (h->poststop.len, 2);
  cr_assert_eq (h->poststop.items[0].timeout, 30);
  cr_assert_str_eq (h->poststop.items[1].path, "/usr/bin/cleanup2");
}

Test (spec_full, linux_namespaces_mappings_devices)
{
  husk_autospec husk_spec_t *s = load_data ("config-full.json");
  const husk_linux_t *l = s->linux_;
  const husk_namespace_t *net;

  cr_assert_not_null (l);
  cr_assert_eq (l->namespaces_len, 8);
  cr_assert_eq (l->namespaces[0].type, HUSK_NS_PID);
  cr_assert_null (l->namespaces[0].path);
  cr_assert_eq (l->namespaces[7].type, HUSK_NS_TIME);
  net = husk_spec_find_namespace (s, HUSK_NS_NETWORK);
  cr_assert_not_null (net);
  cr_assert_str_eq (net->path, "/var/run/netns/web");

  cr_assert_eq (l->uid_mappings_len, 1);
  cr_assert_eq (l->uid_mappings[0].container_id, 0);
  cr_assert_eq (l->uid_mappings[0].host_id, 100000);
  cr_assert_eq (l->uid_mappings[0].size, 65536);
  cr_assert_eq (l->gid_mappings_len, 2);
  cr_assert_eq (l->gid_mappings[1].container_id, 1);
  cr_assert_eq (l->gid_mappings[1].host_id, 100001);
  cr_assert_eq (l->gid_mappings[1].size, 65535);

  cr_assert_not_null (l->time_offsets);
  cr_assert (l->time_offsets->has_monotonic);
  cr_assert_eq (l->time_offsets->monotonic_secs, -86400);
  cr_assert_eq (l->time_offsets->monotonic_nsecs, 500);
  cr_assert (l->time_offsets->has_boottime);
  cr_assert_eq (l->time_offsets->boottime_secs, 3600);

  cr_assert_eq (l->devices_len, 3);
  cr_assert_eq (l->devices[0].type, 'c');
  cr_assert_str_eq (l->devices[0].path, "/dev/fuse");
  cr_assert_eq (l->devices[0].major, 10);
  cr_assert_eq (l->devices[0].minor, 229);
  cr_assert (l->devices[0].has_file_mode);
  cr_assert_eq (l->devices[0].file_mode, 0666);
  cr_assert (l->devices[0].has_uid);
  cr_assert (l->devices[0].has_gid);
  cr_assert_eq (l->devices[1].type, 'b');
  cr_assert_not (l->devices[1].has_file_mode);
  cr_assert_not (l->devices[1].has_uid);
  cr_assert_eq (l->devices[2].type, 'p');
  cr_assert_str_eq (l->cgroups_path, "/husk/web");
}

Test (spec_full, linux_resources)
{
  husk_autospec husk_spec_t *s = load_data ("config-full.json");
  const husk_resources_t *r = s->linux_->resources;

  cr_assert_not_null (r);
  cr_assert_eq (r->devices_len, 2);
  cr_assert_not (r->devices[0].allow);
  cr_assert_eq (r->devices[0].type, 'a');
  cr_assert_not (r->devices[0].has_major);
  cr_assert_eq (r->devices[0].major, -1);
  cr_assert_eq (r->devices[0].minor, -1);
  cr_assert_str_eq (r->devices[0].access, "rwm");
  cr_assert (r->devices[1].allow);
  cr_assert_eq (r->devices[1].type, 'c');
  cr_assert (r->devices[1].has_major);
  cr_assert_eq (r->devices[1].major, 10);
  cr_assert_eq (r->devices[1].minor, 229);
  cr_assert_str_eq (r->devices[1].access, "rw");

  cr_assert_not_null (r->memory);
  cr_assert (r->memory->has_limit);
  cr_assert_eq (r->memory->limit, 536870912);
  cr_assert_eq (r->memory->reservation, 268435456);
  cr_assert (r->memory->has_swap);
  cr_assert_eq (r->memory->swap, -1);
  cr_assert_eq (r->memory->kernel, -1);
  cr_assert (r->memory->has_kernel_tcp);
  cr_assert_eq (r->memory->kernel_tcp, 0);
  cr_assert (r->memory->has_swappiness);
  cr_assert_eq (r->memory->swappiness, 0);
  cr_assert (r->memory->has_disable_oom_killer);
  cr_assert_not (r->memory->disable_oom_killer);
  cr_assert (r->memory->use_hierarchy);
  cr_assert (r->memory->check_before_update);

  cr_assert_not_null (r->cpu);
  cr_assert (r->cpu->has_shares);
  cr_assert_eq (r->cpu->shares, 1024);
  cr_assert (r->cpu->has_quota);
  cr_assert_eq (r->cpu->quota, -1);
  cr_assert_eq (r->cpu->burst, 1000);
  cr_assert_eq (r->cpu->period, 100000);
  cr_assert_eq (r->cpu->realtime_runtime, 950000);
  cr_assert_eq (r->cpu->realtime_period, 1000000);
  cr_assert_str_eq (r->cpu->cpus, "0-3");
  cr_assert_str_eq (r->cpu->mems, "0");
  cr_assert (r->cpu->has_idle);
  cr_assert_eq (r->cpu->idle, 1);

  cr_assert (r->has_pids_limit);
  cr_assert_eq (r->pids_limit, 1000);

  cr_assert_not_null (r->block_io);
  cr_assert_eq (r->block_io->weight, 500);
  cr_assert_eq (r->block_io->leaf_weight, 300);
  cr_assert_eq (r->block_io->weight_device_len, 1);
  cr_assert_eq (r->block_io->weight_device[0].major, 8);
  cr_assert_eq (r->block_io->weight_device[0].weight, 600);
  cr_assert_eq (r->block_io->weight_device[0].leaf_weight, 200);
  cr_assert_eq (r->block_io->throttle_read_bps_len, 1);
  cr_assert_eq (r->block_io->throttle_read_bps[0].rate, 104857600);
  cr_assert_eq (r->block_io->throttle_write_bps[0].rate, 52428800);
  cr_assert_eq (r->block_io->throttle_read_iops[0].minor, 16);
  cr_assert_eq (r->block_io->throttle_read_iops[0].rate, 1000);
  cr_assert_eq (r->block_io->throttle_write_iops_len, 1);
  cr_assert_eq (r->block_io->throttle_write_iops[0].rate, 500);

  cr_assert_eq (r->hugepage_limits_len, 1);
  cr_assert_str_eq (r->hugepage_limits[0].page_size, "2MB");
  cr_assert_eq (r->hugepage_limits[0].limit, 209715200);
  cr_assert (r->has_net_class_id);
  cr_assert_eq (r->net_class_id, 1048577);
  cr_assert_eq (r->net_priorities_len, 2);
  cr_assert_str_eq (r->net_priorities[1].name, "lo");
  cr_assert_eq (r->net_priorities[0].priority, 500);
  cr_assert_eq (r->rdma_len, 1);
  cr_assert_str_eq (r->rdma[0].device, "mlx5_1");
  cr_assert_eq (r->rdma[0].hca_handles, 3);
  cr_assert_eq (r->rdma[0].hca_objects, 10000);
  cr_assert_eq (r->unified_len, 2);
  cr_assert_str_eq (r->unified_keys[0], "memory.high");
  cr_assert_str_eq (r->unified_values[0], "400000000");
  cr_assert_str_eq (r->unified_keys[1], "io.weight");
  cr_assert_str_eq (r->unified_values[1], "default 100");
}

Test (spec_full, linux_rest)
{
  husk_autospec husk_spec_t *s = load_data ("config-full.json");
  const husk_linux_t *l = s->linux_;
  const husk_seccomp_t *sc = l->seccomp;

  cr_assert_eq (l->sysctl_len, 4);
  cr_assert_str_eq (l->sysctl_keys[0], "net.ipv4.ip_forward");
  cr_assert_str_eq (l->sysctl_values[0], "1");
  cr_assert_str_eq (l->sysctl_keys[1], "kernel.shmmax");
  cr_assert_str_eq (l->sysctl_values[1], "68719476736");

  cr_assert_not_null (sc);
  cr_assert_str_eq (sc->default_action, "SCMP_ACT_ERRNO");
  cr_assert (sc->has_default_errno_ret);
  cr_assert_eq (sc->default_errno_ret, 1);
  cr_assert_eq (sc->architectures_len, 3);
  cr_assert_str_eq (sc->architectures[2], "SCMP_ARCH_X32");
  cr_assert_eq (sc->flags_len, 1);
  cr_assert_str_eq (sc->listener_path, "/run/seccomp-agent.sock");
  cr_assert_str_eq (sc->listener_metadata, "web");
  cr_assert_eq (sc->syscalls_len, 4);
  cr_assert_eq (sc->syscalls[0].names_len, 3);
  cr_assert_str_eq (sc->syscalls[0].names[2], "exit_group");
  cr_assert_not (sc->syscalls[0].has_errno_ret);
  cr_assert_eq (sc->syscalls[0].args_len, 0);
  cr_assert_eq (sc->syscalls[1].args_len, 1);
  cr_assert_str_eq (sc->syscalls[1].args[0].op, "SCMP_CMP_EQ");
  cr_assert (sc->syscalls[2].has_errno_ret);
  cr_assert_eq (sc->syscalls[2].errno_ret, 38);
  cr_assert_eq (sc->syscalls[2].args_len, 2);
  cr_assert_eq (sc->syscalls[2].args[0].value, 2114060288);
  cr_assert_str_eq (sc->syscalls[2].args[0].op, "SCMP_CMP_MASKED_EQ");
  cr_assert_eq (sc->syscalls[2].args[1].index, 1);
  cr_assert_eq (sc->syscalls[2].args[1].value, UINT64_MAX);
  cr_assert_eq (sc->syscalls[2].args[1].value_two, 5);
  cr_assert_str_eq (sc->syscalls[3].action, "SCMP_ACT_NOTIFY");

  cr_assert_str_eq (l->rootfs_propagation, "rslave");
  cr_assert_eq (l->masked_paths_len, 3);
  cr_assert_str_eq (l->masked_paths[2], "/sys/firmware");
  cr_assert_null (l->masked_paths[3]);
  cr_assert_eq (l->readonly_paths_len, 2);
  cr_assert_str_eq (l->mount_label, "system_u:object_r:container_file_t:s0:c1,c2");
  cr_assert_not_null (l->personality);
  cr_assert_str_eq (l->personality->domain, "LINUX32");
  cr_assert_eq (l->personality->flags_len, 0);
  cr_assert_eq (l->net_devices_len, 2);
  cr_assert_str_eq (l->net_devices[0].host_name, "eth1");
  cr_assert_str_eq (l->net_devices[0].name, "net0");
  cr_assert_str_eq (l->net_devices[1].host_name, "dummy0");
  cr_assert_str_eq (l->net_devices[1].name, "dummy0");
  cr_assert_str_eq (l->intel_rdt_clos_id, "guaranteed_group");
}

Test (spec_full, runc_default)
{
  husk_autospec husk_spec_t *s = load_data ("config-runc-default.json");
  static const int caps[] = { CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE };

  cr_assert_str_eq (s->oci_version, "1.0.2-dev");
  cr_assert_str_eq (s->root_path, "rootfs");
  cr_assert (s->root_readonly);
  cr_assert_str_eq (s->hostname, "runc");
  cr_assert_eq (s->mounts_len, 7);
  cr_assert_str_eq (s->mounts[6].destination, "/sys/fs/cgroup");
  cr_assert_str_eq (s->mounts[6].options[4], "ro");
  cr_assert (s->process->terminal);
  cr_assert_not (s->process->has_console_size);
  cr_assert_str_eq (s->process->args[0], "sh");
  cr_assert_eq (s->process->args_len, 1);
  cr_assert (capset_eq (s->process->capabilities->bounding, caps, 3));
  cr_assert (capset_eq (s->process->capabilities->ambient, caps, 3));
  cr_assert_null (s->process->capabilities->inheritable);
  cr_assert_eq (s->process->rlimits_len, 1);
  cr_assert_eq (s->process->rlimits[0].soft, 1024);
  cr_assert (s->process->no_new_privileges);
  cr_assert_not (s->process->has_oom_score_adj);
  cr_assert_not (s->process->user.has_umask);
  cr_assert_null (s->hooks);
  cr_assert_eq (s->annotations_len, 0);
  cr_assert_eq (s->linux_->namespaces_len, 5);
  cr_assert_null (husk_spec_find_namespace (s, HUSK_NS_USER));
  cr_assert_not_null (husk_spec_find_namespace (s, HUSK_NS_MOUNT));
  cr_assert_eq (s->linux_->resources->devices_len, 1);
  cr_assert_not (s->linux_->resources->devices[0].allow);
  cr_assert_null (s->linux_->resources->memory);
  cr_assert_eq (s->linux_->masked_paths_len, 10);
  cr_assert_eq (s->linux_->readonly_paths_len, 5);
  cr_assert_null (s->linux_->seccomp);
}

Test (spec_full, minimal_and_nulls)
{
  husk_autospec husk_spec_t *s
      = parse_ok ("{" BASE ", \"process\": null, \"mounts\": null, \"hostname\": null,"
                  " \"annotations\": {\"a\": \"1\", \"b\": \"2\", \"a\": \"3\"}}");
  cr_assert_null (s->process);
  cr_assert_null (s->linux_);
  cr_assert_null (s->hostname);
  cr_assert_eq (s->mounts_len, 0);
  cr_assert_not (s->root_readonly);
  /* A repeated key keeps its first position and takes the last value. */
  cr_assert_eq (s->annotations_len, 2);
  cr_assert_str_eq (s->annotation_keys[0], "a");
  cr_assert_str_eq (s->annotation_values[0], "3");
  cr_assert_str_eq (s->annotation_values[1], "2");
}

Test (spec_full, free_null_and_missing_file)
{
  husk_auto_error husk_error_t err = NULL;
  husk_spec_t *s = NULL;
  husk_spec_free (NULL);
  husk_process_free (NULL);
  husk_resources_free (NULL);
  cr_assert_lt (husk_spec_load ("/nonexistent/config.json", &s, &err), 0);
  cr_assert_null (s);
  cr_assert_not_null (strstr (err->msg, "/nonexistent/config.json"));
}

Test (spec_full, args_missing_is_accepted)
{
  husk_autospec husk_spec_t *s = parse_ok (PROC ("\"env\": []"));
  cr_assert_eq (s->process->args_len, 0);
  cr_assert_null (s->process->args);
  cr_assert_eq (s->process->env_len, 0);
  cr_assert_not_null (s->process->env);
  cr_assert_null (s->process->env[0]);
}

/* --- JSON syntax and types ------------------------------------------------ */

Test (spec_errors, invalid_json)
{
  husk_auto_error husk_error_t err = NULL;
  husk_spec_t *s = NULL;
  const char *json = "{\"ociVersion\": \"1.0.0\",\n  \"root\": {path: 1}}";
  cr_assert_lt (husk_spec_parse (json, strlen (json), &s, &err), 0);
  cr_assert_eq (strncmp (err->msg, "config.json: invalid JSON: ", 27), 0, "%s", err->msg);
  cr_assert_gt (strlen (err->msg), 27);
  cr_assert_null (strchr (err->msg, '\n'), "multi-line message: %s", err->msg);
  expect_error ("", "config.json: invalid JSON: parse error: premature EOF");
  expect_error ("{\"ociVersion\": ", "config.json: invalid JSON: parse error: premature EOF");
}

Test (spec_errors, not_an_object)
{
  expect_error ("[1, 2]", "config.json: expected a JSON object");
  expect_error ("\"x\"", "config.json: expected a JSON object");
}

Test (spec_errors, length_is_respected)
{
  husk_autospec husk_spec_t *s = NULL;
  husk_auto_error husk_error_t err = NULL;
  const char *json = "{" BASE "}garbage";
  cr_assert_eq (husk_spec_parse (json, strlen (json) - 7, &s, &err), 0);
  cr_assert_str_eq (s->root_path, "rootfs");
}

Test (spec_errors, missing_oci_version)
{
  expect_error ("{\"root\": {\"path\": \"rootfs\"}}", "ociVersion: missing required field");
  expect_error ("{\"ociVersion\": 1, \"root\": {\"path\": \"rootfs\"}}",
                "ociVersion: expected a string");
}

Test (spec_errors, missing_root_path)
{
  expect_error ("{\"ociVersion\": \"1.0.0\"}", "root.path: missing required field");
  expect_error ("{\"ociVersion\": \"1.0.0\", \"root\": {\"readonly\": true}}",
                "root.path: missing required field");
  expect_error ("{\"ociVersion\": \"1.0.0\", \"root\": \"rootfs\"}", "root: expected an object");
}

Test (spec_errors, wrong_types)
{
  expect_error ("{" BASE ", \"mounts\": [{\"destination\": 5}]}",
                "mounts[0].destination: expected a string");
  expect_error ("{" BASE ", \"mounts\": {}}", "mounts: expected an array");
  expect_error ("{" BASE ", \"mounts\": [\"/proc\"]}", "mounts[0]: expected an object");
  expect_error ("{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\", \"readonly\": \"yes\"}}",
                "root.readonly: expected a boolean");
  expect_error ("{" BASE ", \"process\": []}", "process: expected an object");
  expect_error (PROC ("\"args\": \"sh\""), "process.args: expected an array of strings");
  expect_error (PROC ("\"args\": [\"sh\", 1]"), "process.args[1]: expected a string");
  expect_error (PROC ("\"terminal\": 1"), "process.terminal: expected a boolean");
  expect_error ("{" BASE ", \"annotations\": {\"a\": 1}}", "annotations.a: expected a string");
  expect_error (LINUX ("\"namespaces\": {}"), "linux.namespaces: expected an array");
  expect_error (LINUX ("\"sysctl\": []"), "linux.sysctl: expected an object of strings");
  expect_error (RES ("\"memory\": {\"limit\": \"1G\"}"),
                "linux.resources.memory.limit: expected an integer");
}

Test (spec_errors, mount_destination_relative)
{
  expect_error ("{" BASE ", \"mounts\": [{\"destination\": \"/proc\"}, {\"destination\": \"tmp\"}]}",
                "mounts[1].destination: must be an absolute path");
  expect_error ("{" BASE ", \"mounts\": [{\"type\": \"tmpfs\"}]}",
                "mounts[0].destination: missing required field");
}

Test (spec_errors, process_cwd)
{
  expect_error ("{" BASE ", \"process\": {\"args\": [\"sh\"]}}", "process.cwd: missing required field");
  expect_error ("{" BASE ", \"process\": {\"cwd\": \"srv\"}}", "process.cwd: must be an absolute path");
  expect_error ("{" BASE ", \"process\": {\"cwd\": \"\"}}", "process.cwd: must be an absolute path");
}

/* --- numbers -------------------------------------------------------------- */

#define RLIMIT_SOFT(n) PROC ("\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": " n ", \"hard\": 1}]")

Test (spec_numbers, uint64_edges)
{
  husk_autospec husk_spec_t *s = parse_ok (RLIMIT_SOFT ("18446744073709551615"));
  cr_assert_eq (s->process->rlimits[0].soft, UINT64_MAX);
  expect_error (RLIMIT_SOFT ("18446744073709551616"),
                "process.rlimits[0].soft: value 18446744073709551616 out of range for uint64");
  expect_error (RLIMIT_SOFT ("99999999999999999999999"),
                "process.rlimits[0].soft: value 99999999999999999999999 out of range for uint64");
  expect_error (RLIMIT_SOFT ("-1"), "process.rlimits[0].soft: expected an unsigned integer");
  expect_error (RLIMIT_SOFT ("1.5"), "process.rlimits[0].soft: expected an unsigned integer");
  expect_error (RLIMIT_SOFT ("1e3"), "process.rlimits[0].soft: expected an unsigned integer");
  expect_error (RLIMIT_SOFT ("1.0"), "process.rlimits[0].soft: expected an unsigned integer");
  expect_error (RLIMIT_SOFT ("\"5\""), "process.rlimits[0].soft: expected an unsigned integer");
  expect_error (RLIMIT_SOFT ("true"), "process.rlimits[0].soft: expected an unsigned integer");
}

Test (spec_numbers, uint32_edges)
{
  husk_autospec husk_spec_t *s = parse_ok (PROC ("\"user\": {\"uid\": 4294967295, \"gid\": 0}"));
  cr_assert_eq (s->process->user.uid, UINT32_MAX);
  expect_error (PROC ("\"user\": {\"uid\": 4294967296}"),
                "process.user.uid: value 4294967296 out of range for uint32");
  expect_error (PROC ("\"user\": {\"uid\": -1}"), "process.user.uid: expected an unsigned integer");
  expect_error (PROC ("\"user\": {\"gid\": 0.5}"), "process.user.gid: expected an unsigned integer");
  expect_error (PROC ("\"user\": {\"additionalGids\": [1, 4294967296]}"),
                "process.user.additionalGids[1]: value 4294967296 out of range for uint32");
  expect_error (PROC ("\"user\": {\"additionalGids\": [\"wheel\"]}"),
                "process.user.additionalGids[0]: expected an unsigned integer");
}

Test (spec_numbers, int64_and_uint16_edges)
{
  husk_autospec husk_spec_t *s
      = parse_ok (RES ("\"memory\": {\"limit\": 9223372036854775807, \"swap\": -9223372036854775808},"
                       " \"blockIO\": {\"weight\": 65535}"));
  cr_assert_eq (s->linux_->resources->memory->limit, INT64_MAX);
  cr_assert_eq (s->linux_->resources->memory->swap, INT64_MIN);
  cr_assert_eq (s->linux_->resources->block_io->weight, 65535);
  expect_error (RES ("\"memory\": {\"limit\": 9223372036854775808}"),
                "linux.resources.memory.limit: value 9223372036854775808 out of range for int64");
  expect_error (RES ("\"memory\": {\"limit\": 1.5}"),
                "linux.resources.memory.limit: expected an integer");
  expect_error (RES ("\"memory\": {\"limit\": 1E6}"),
                "linux.resources.memory.limit: expected an integer");
  expect_error (RES ("\"blockIO\": {\"weight\": 65536}"),
                "linux.resources.blockIO.weight: value 65536 out of range for uint16");
  expect_error (PROC ("\"scheduler\": {\"policy\": \"SCHED_OTHER\", \"nice\": 2147483648}"),
                "process.scheduler.nice: value 2147483648 out of range for int32");
  expect_error (PROC ("\"oomScoreAdj\": 1001"), "process.oomScoreAdj: must be between -1000 and 1000");
}

/* --- process validation ---------------------------------------------------- */

Test (spec_errors, unknown_capability)
{
  expect_error (PROC ("\"capabilities\": {\"bounding\": [\"CAP_KILL\", \"CAP_FOO\"]}"),
                "process.capabilities.bounding[1]: unknown capability `CAP_FOO`");
  expect_error (PROC ("\"capabilities\": {\"ambient\": [\"cap_kill\"]}"),
                "process.capabilities.ambient[0]: unknown capability `cap_kill`");
  expect_error (PROC ("\"capabilities\": {\"effective\": \"CAP_KILL\"}"),
                "process.capabilities.effective: expected an array of strings");
}

Test (spec_errors, rlimits)
{
  expect_error (PROC ("\"rlimits\": [{\"type\": \"RLIMIT_FOO\", \"soft\": 1, \"hard\": 1}]"),
                "process.rlimits[0].type: unknown rlimit `RLIMIT_FOO`");
  expect_error (PROC ("\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\"}, {\"type\": \"RLIMIT_CORE\"},"
                      " {\"type\": \"RLIMIT_NOFILE\"}]"),
                "process.rlimits: duplicate rlimit `RLIMIT_NOFILE`");
  expect_error (PROC ("\"rlimits\": [{\"soft\": 1}]"), "process.rlimits[0].type: missing required field");
}

Test (spec_errors, scheduler)
{
  expect_error (PROC ("\"scheduler\": {\"policy\": \"SCHED_FAST\"}"),
                "process.scheduler.policy: unknown scheduler policy `SCHED_FAST`");
  expect_error (PROC ("\"scheduler\": {\"nice\": 1}"), "process.scheduler.policy: missing required field");
  expect_error (PROC ("\"scheduler\": {\"policy\": \"SCHED_OTHER\", \"flags\": [\"SCHED_FLAG_X\"]}"),
                "process.scheduler.flags[0]: unknown scheduler flag `SCHED_FLAG_X`");
  expect_error (PROC ("\"scheduler\": {\"policy\": \"SCHED_OTHER\", \"nice\": 20}"),
                "process.scheduler.nice: must be between -20 and 19");
  expect_error (PROC ("\"scheduler\": {\"policy\": \"SCHED_OTHER\", \"priority\": 10}"),
                "process.scheduler.priority: only valid with SCHED_FIFO or SCHED_RR");
  expect_error (PROC ("\"scheduler\": {\"policy\": \"SCHED_RR\", \"runtime\": 10}"),
                "process.scheduler: runtime, deadline and period are only valid with SCHED_DEADLINE");
  husk_autospec husk_spec_t *s
      = parse_ok (PROC ("\"scheduler\": {\"policy\": \"SCHED_FIFO\", \"priority\": 50, \"nice\": -20}"));
  cr_assert_eq (s->process->scheduler->policy_value, SCHED_FIFO);
  cr_assert_eq (s->process->scheduler->priority, 50);
  cr_assert_eq (s->process->scheduler->nice, -20);
}

Test (spec_errors, io_priority)
{
  expect_error (PROC ("\"ioPriority\": {\"class\": \"IOPRIO_CLASS_FAST\"}"),
                "process.ioPriority.class: unknown ioPriority class `IOPRIO_CLASS_FAST`");
  expect_error (PROC ("\"ioPriority\": {\"class\": \"IOPRIO_CLASS_RT\", \"priority\": 8}"),
                "process.ioPriority.priority: must be between 0 and 7");
  husk_autospec husk_spec_t *s = parse_ok (PROC ("\"ioPriority\": {\"class\": \"IOPRIO_CLASS_IDLE\"}"));
  cr_assert_eq (s->process->io_priority->class_value, 3);
}

/* --- hooks ------------------------------------------------------------------- */

Test (spec_errors, hooks)
{
  expect_error ("{" BASE ", \"hooks\": {\"prestart\": [{\"path\": \"bin/hook\"}]}}",
                "hooks.prestart[0].path: must be an absolute path");
  expect_error ("{" BASE ", \"hooks\": {\"poststop\": [{\"path\": \"/h\"}, {\"path\": \"/h\", \"timeout\": 0}]}}",
                "hooks.poststop[1].timeout: must be greater than 0");
  expect_error ("{" BASE ", \"hooks\": {\"createRuntime\": [{\"path\": \"/h\", \"timeout\": -5}]}}",
                "hooks.createRuntime[0].timeout: must be greater than 0");
  expect_error ("{" BASE ", \"hooks\": {\"startContainer\": [{\"args\": []}]}}",
                "hooks.startContainer[0].path: missing required field");
}

/* --- linux validation ------------------------------------------------------ */

Test (spec_errors, namespaces)
{
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"mount\"}, {\"type\": \"foo\"}]"),
                "linux.namespaces[2].type: unknown namespace type `foo`");
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"pid\"}]"),
                "linux.namespaces: duplicate namespace `pid`");
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"network\", \"path\": \"run/netns/x\"}]"),
                "linux.namespaces[0].path: must be an absolute path");
  expect_error (LINUX ("\"namespaces\": [{\"path\": \"/proc/1/ns/pid\"}]"),
                "linux.namespaces[0].type: missing required field");
}

Test (spec_errors, sysctl)
{
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"ipc\"}], \"sysctl\": {\"kernel.foo\": \"1\"}"),
                "linux.sysctl.kernel.foo: sysctl is not namespaced");
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"ipc\"}], \"sysctl\": {\"vm.swappiness\": \"1\"}"),
                "linux.sysctl.vm.swappiness: sysctl is not namespaced");
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"ipc\"}], \"sysctl\": {\"net.ipv4.ip_forward\": \"1\"}"),
                "linux.sysctl.net.ipv4.ip_forward: requires a network namespace");
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"network\"}], \"sysctl\": {\"kernel.shmmax\": \"1\"}"),
                "linux.sysctl.kernel.shmmax: requires an IPC namespace");
  expect_error (LINUX ("\"sysctl\": {\"fs.mqueue.msg_max\": \"10\"}"),
                "linux.sysctl.fs.mqueue.msg_max: requires an IPC namespace");
  expect_error (LINUX ("\"sysctl\": {\"kernel.domainname\": \"x\"}"),
                "linux.sysctl.kernel.domainname: requires a UTS namespace");

  husk_autospec husk_spec_t *s = parse_ok (
      LINUX ("\"namespaces\": [{\"type\": \"network\", \"path\": \"/run/netns/x\"}, {\"type\": \"ipc\"},"
             " {\"type\": \"uts\"}], \"sysctl\": {\"net/ipv4/ip_forward\": \"1\", \"kernel.sem\": \"1\","
             " \"kernel.shm_rmid_forced\": \"1\", \"kernel.hostname\": \"h\"}"));
  cr_assert_eq (s->linux_->sysctl_len, 4);
  cr_assert_str_eq (s->linux_->sysctl_keys[0], "net/ipv4/ip_forward");
}

Test (spec_errors, user_namespace_mappings)
{
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"user\"}]"),
                "linux.uidMappings: user namespace enabled, but no uid mappings found");
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"user\"}],"
                       " \"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]"),
                "linux.gidMappings: user namespace enabled, but no gid mappings found");
  expect_error (LINUX ("\"uidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]"),
                "linux.uidMappings: requires a user namespace");
  expect_error (LINUX ("\"gidMappings\": [{\"containerID\": 0, \"hostID\": 1000, \"size\": 1}]"),
                "linux.gidMappings: requires a user namespace");
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"user\"}],"
                       " \"uidMappings\": [{\"containerID\": 0, \"hostID\": -1, \"size\": 1}]"),
                "linux.uidMappings[0].hostID: expected an unsigned integer");
  /* Joining an existing user namespace needs no mappings. */
  husk_autospec husk_spec_t *s
      = parse_ok (LINUX ("\"namespaces\": [{\"type\": \"user\", \"path\": \"/proc/1/ns/user\"}]"));
  cr_assert_str_eq (husk_spec_find_namespace (s, HUSK_NS_USER)->path, "/proc/1/ns/user");
}

Test (spec_errors, time_offsets)
{
  expect_error (LINUX ("\"timeOffsets\": {\"monotonic\": {\"secs\": 1}}"),
                "linux.timeOffsets: requires a time namespace");
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"time\"}], \"timeOffsets\": {\"realtime\": {\"secs\": 1}}"),
                "linux.timeOffsets.realtime: unknown clock `realtime`");
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"time\"}],"
                       " \"timeOffsets\": {\"boottime\": {\"nanosecs\": 1000000000}}"),
                "linux.timeOffsets.boottime.nanosecs: must be less than 1000000000");
}

Test (spec_errors, hostname_needs_uts)
{
  expect_error ("{" BASE ", \"hostname\": \"web\"}", "hostname: requires a UTS namespace");
  expect_error ("{" BASE ", \"domainname\": \"x\", \"linux\": {\"namespaces\": [{\"type\": \"pid\"}]}}",
                "domainname: requires a UTS namespace");
}

Test (spec_errors, devices)
{
  expect_error (LINUX ("\"devices\": [{\"type\": \"x\", \"path\": \"/dev/x\"}]"),
                "linux.devices[0].type: unknown device type `x`");
  expect_error (LINUX ("\"devices\": [{\"type\": \"cc\", \"path\": \"/dev/x\"}]"),
                "linux.devices[0].type: unknown device type `cc`");
  expect_error (LINUX ("\"devices\": [{\"type\": \"c\", \"path\": \"/dev/x\", \"minor\": 1}]"),
                "linux.devices[0].major: required for type `c`");
  expect_error (LINUX ("\"devices\": [{\"type\": \"u\", \"path\": \"/dev/x\", \"major\": 1}]"),
                "linux.devices[0].minor: required for type `u`");
  expect_error (LINUX ("\"devices\": [{\"type\": \"p\", \"path\": \"dev/fifo\"}]"),
                "linux.devices[0].path: must be an absolute path");
  expect_error (LINUX ("\"devices\": [{\"type\": \"c\", \"path\": \"/dev/x\", \"major\": 1, \"minor\": 1,"
                       " \"fileMode\": -1}]"),
                "linux.devices[0].fileMode: expected an unsigned integer");
}

Test (spec_errors, resources_device_rules)
{
  expect_error (RES ("\"devices\": [{\"allow\": true, \"type\": \"p\"}]"),
                "linux.resources.devices[0].type: unknown device type `p`");
  expect_error (RES ("\"devices\": [{\"allow\": true, \"access\": \"rwx\"}]"),
                "linux.resources.devices[0].access: invalid access `rwx`");
  expect_error (RES ("\"devices\": [{\"allow\": \"yes\"}]"),
                "linux.resources.devices[0].allow: expected a boolean");
}

Test (spec_errors, resources_other)
{
  expect_error (RES ("\"memory\": {\"swappiness\": 101}"),
                "linux.resources.memory.swappiness: must be between 0 and 100");
  expect_error (RES ("\"unified\": {\"../memory.max\": \"1\"}"),
                "linux.resources.unified.../memory.max: must be a file name (no slashes)");
  expect_error (RES ("\"unified\": {\"memory\": \"1\"}"),
                "linux.resources.unified.memory: must be in the form CONTROLLER.PARAMETER");
  expect_error (RES ("\"hugepageLimits\": [{\"limit\": 1}]"),
                "linux.resources.hugepageLimits[0].pageSize: missing required field");
  expect_error (RES ("\"rdma\": {\"mlx\": {\"hcaHandles\": -3}}"),
                "linux.resources.rdma.mlx.hcaHandles: expected an unsigned integer");
  expect_error (RES ("\"cpu\": {\"shares\": -2}"), "linux.resources.cpu.shares: expected an unsigned integer");
}

Test (spec_errors, seccomp)
{
  expect_error (SECCOMP ("\"architectures\": []"), "linux.seccomp.defaultAction: missing required field");
  expect_error (SECCOMP ("\"defaultAction\": \"SCMP_ACT_DENY\""),
                "linux.seccomp.defaultAction: unknown seccomp action `SCMP_ACT_DENY`");
  expect_error (SECCOMP ("\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\","
                         " \"SCMP_ARCH_VAX\"]"),
                "linux.seccomp.architectures[1]: unknown seccomp architecture `SCMP_ARCH_VAX`");
  expect_error (SECCOMP ("\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_FOO\"]"),
                "linux.seccomp.flags[0]: unknown seccomp flag `SECCOMP_FILTER_FLAG_FOO`");
  expect_error (SECCOMP ("\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
                         " \"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": [\"write\"], \"action\": \"ALLOW\"}]"),
                "linux.seccomp.syscalls[1].action: unknown seccomp action `ALLOW`");
  expect_error (SECCOMP ("\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
                         " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1,"
                         " \"op\": \"SCMP_CMP_LIKE\"}]}]"),
                "linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator `SCMP_CMP_LIKE`");
  expect_error (SECCOMP ("\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
                         " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0,"
                         " \"value\": 18446744073709551616, \"op\": \"SCMP_CMP_EQ\"}]}]"),
                "linux.seccomp.syscalls[0].args[0].value: value 18446744073709551616 out of range for "
                "uint64");
  expect_error (SECCOMP ("\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
                         " \"action\": \"SCMP_ACT_NOTIFY\"}]"),
                "linux.seccomp.listenerPath: required when an action is SCMP_ACT_NOTIFY");
  expect_error (SECCOMP ("\"defaultAction\": \"SCMP_ACT_NOTIFY\", \"listenerPath\": \"/s\""),
                "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action");
  expect_error (SECCOMP ("\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [],"
                         " \"action\": \"SCMP_ACT_LOG\"}]"),
                "linux.seccomp.syscalls[0].names: must not be empty");
}

Test (spec_errors, personality_propagation_netdevices)
{
  expect_error (LINUX ("\"personality\": {\"domain\": \"LINUX64\"}"),
                "linux.personality.domain: unknown personality domain `LINUX64`");
  expect_error (LINUX ("\"rootfsPropagation\": \"recursive\""),
                "linux.rootfsPropagation: unknown propagation `recursive`");
  expect_error (LINUX ("\"netDevices\": {\"eth0\": {}}"), "linux.netDevices: requires a network namespace");
  expect_error (LINUX ("\"namespaces\": [{\"type\": \"network\"}], \"netDevices\": {\"eth0\": {\"name\": \"a/b\"}}"),
                "linux.netDevices.eth0.name: invalid network interface name `a/b`");
  for (const char *const *p = (const char *const[]){ "shared", "slave", "private", "unbindable",
                                                     "rshared", "rslave", "rprivate", "runbindable", NULL };
       *p; p++)
    {
      husk_autofree char *json = xstrdup_printf (LINUX ("\"rootfsPropagation\": \"%s\""), *p);
      husk_autospec husk_spec_t *s = parse_ok (json);
      cr_assert_str_eq (s->linux_->rootfs_propagation, *p);
    }
}

/* --- process.json (exec -p) ------------------------------------------------- */

Test (process_json, valid)
{
  husk_error_t err = NULL;
  husk_process_t *p = NULL;
  const char *json = "{\"terminal\": false, \"cwd\": \"/work\", \"args\": [\"ls\", \"-l\"],"
                     " \"env\": [\"A=b\"], \"user\": {\"uid\": 33, \"gid\": 44},"
                     " \"capabilities\": {\"bounding\": [\"CAP_SYS_ADMIN\"]},"
                     " \"rlimits\": [{\"type\": \"RLIMIT_NPROC\", \"soft\": 10, \"hard\": 20}]}";
  cr_assert_eq (husk_process_parse (json, strlen (json), &p, &err), 0, "%s", err ? err->msg : "");
  cr_assert_str_eq (p->cwd, "/work");
  cr_assert_eq (p->args_len, 2);
  cr_assert_str_eq (p->args[1], "-l");
  cr_assert_null (p->args[2]);
  cr_assert_eq (p->user.uid, 33);
  cr_assert_eq (p->user.gid, 44);
  cr_assert_eq (p->capabilities->bounding->caps[0], CAP_SYS_ADMIN);
  cr_assert_eq (p->rlimits[0].resource, RLIMIT_NPROC);
  cr_assert_eq (p->rlimits[0].hard, 20);
  husk_process_free (p);
}

static void
expect_process_error (const char *json, const char *msg)
{
  husk_auto_error husk_error_t err = NULL;
  husk_process_t *p = NULL;
  cr_assert_lt (husk_process_parse (json, strlen (json), &p, &err), 0, "json: %s", json);
  cr_assert_null (p);
  cr_assert_str_eq (err->msg, msg);
}

Test (process_json, errors)
{
  expect_process_error ("{\"cwd\": \"/\", \"args\": \"ls\"}", "args: expected an array of strings");
  expect_process_error ("{\"args\": [\"ls\"]}", "cwd: missing required field");
  expect_process_error ("{\"cwd\": \"x\"}", "cwd: must be an absolute path");
  expect_process_error ("{\"cwd\": \"/\", \"user\": {\"uid\": \"root\"}}",
                        "user.uid: expected an unsigned integer");
  expect_process_error ("{\"cwd\": \"/\", \"capabilities\": {\"permitted\": [\"CAP_NOPE\"]}}",
                        "capabilities.permitted[0]: unknown capability `CAP_NOPE`");
  expect_process_error ("{\"cwd\": \"/\",", "process.json: invalid JSON: parse error: premature EOF");
  expect_process_error ("[]", "process.json: expected a JSON object");
}

/* --- resources (update -r) ------------------------------------------------- */

Test (resources_json, valid)
{
  husk_error_t err = NULL;
  husk_resources_t *r = NULL;
  const char *json = "{\"memory\": {\"limit\": -1, \"swap\": 1073741824}, \"cpu\": {\"shares\": 512,"
                     " \"quota\": 50000, \"period\": 100000, \"cpus\": \"1\"}, \"pids\": {\"limit\": -1},"
                     " \"blockIO\": {\"weight\": 100}, \"unified\": {\"pids.max\": \"10\"}}";
  cr_assert_eq (husk_resources_parse (json, strlen (json), &r, &err), 0, "%s", err ? err->msg : "");
  cr_assert (r->memory->has_limit);
  cr_assert_eq (r->memory->limit, -1);
  cr_assert_eq (r->memory->swap, 1073741824);
  cr_assert_not (r->memory->has_reservation);
  cr_assert_eq (r->cpu->shares, 512);
  cr_assert_eq (r->cpu->quota, 50000);
  cr_assert_eq (r->cpu->period, 100000);
  cr_assert_not (r->cpu->has_burst);
  cr_assert_str_eq (r->cpu->cpus, "1");
  cr_assert_null (r->cpu->mems);
  cr_assert (r->has_pids_limit);
  cr_assert_eq (r->pids_limit, -1);
  cr_assert_eq (r->block_io->weight, 100);
  cr_assert_eq (r->unified_len, 1);
  cr_assert_null (r->devices);
  husk_resources_free (r);
}

Test (resources_json, errors)
{
  husk_auto_error husk_error_t err = NULL;
  husk_resources_t *r = NULL;
  const char *json = "{\"memory\": {\"limit\": \"512M\"}}";
  cr_assert_lt (husk_resources_parse (json, strlen (json), &r, &err), 0);
  cr_assert_null (r);
  cr_assert_str_eq (err->msg, "memory.limit: expected an integer");
  husk_error_release (&err);

  json = "{\"cpu\": {\"period\": 1.5}}";
  cr_assert_lt (husk_resources_parse (json, strlen (json), &r, &err), 0);
  cr_assert_str_eq (err->msg, "cpu.period: expected an unsigned integer");
  husk_error_release (&err);

  json = "{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8, \"minor\": 0, \"rate\": -1}]}}";
  cr_assert_lt (husk_resources_parse (json, strlen (json), &r, &err), 0);
  cr_assert_str_eq (err->msg, "blockIO.throttleReadBpsDevice[0].rate: expected an unsigned integer");
  husk_error_release (&err);

  json = "{\"memory\": ";
  cr_assert_lt (husk_resources_parse (json, strlen (json), &r, &err), 0);
  cr_assert_str_eq (err->msg, "resources.json: invalid JSON: parse error: premature EOF");
}
