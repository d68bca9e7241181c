/* husk: the linux object of config.json (namespaces, mappings, devices,
 * sysctl, seccomp, ...) and the rules that span sections (runc's
 * libcontainer/configs/validate). */
#include <stdlib.h>
#include <string.h>
#include "spec-internal.h"

static const char *const seccomp_actions[] = {
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", NULL,
};

static const char *const seccomp_ops[] = {
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
  "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

static const char *const seccomp_archs[] = {
  "SCMP_ARCH_X86",       "SCMP_ARCH_X86_64",  "SCMP_ARCH_X32",        "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64",   "SCMP_ARCH_MIPS",    "SCMP_ARCH_MIPS64",     "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",     "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390",       "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",   "SCMP_ARCH_LOONGARCH64",
  "SCMP_ARCH_M68K",      "SCMP_ARCH_SH",      "SCMP_ARCH_SHEB",       NULL,
};

static const char *const seccomp_flags[] = {
  "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL,
};

static const char *const propagations[] = {
  "shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable", NULL,
};

/* --- namespaces -------------------------------------------------------------- */

static int
parse_namespaces (yajl_val lin, const char *base, husk_linux_t *l, husk_error_t *err)
{
  yajl_val arr = NULL;
  husk_autofree char *path = NULL;
  int r = spec_get_array (lin, base, "namespaces", &arr, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "namespaces");
  l->namespaces = xmalloc0 ((arr->u.array.len + 1) * sizeof (husk_namespace_t));
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      husk_namespace_t *ns = &l->namespaces[i];
      husk_autofree char *ipath = spec_path_idx (path, i);
      husk_autofree char *type = NULL;
      int t;

      l->namespaces_len = i + 1;
      if (spec_expect_object (v, ipath, err) < 0
          || spec_require_string (v, ipath, "type", &type, err) < 0
          || spec_get_string (v, ipath, "path", &ns->path, err) < 0)
        return -1;
      t = husk_ns_type_from_name (type);
      if (t < 0)
        return spec_error (err, ipath, "type", "unknown namespace type `%s`", type);
      ns->type = (husk_ns_type_t) t;
      for (size_t j = 0; j < i; j++)
        if (l->namespaces[j].type == ns->type)
          return husk_error_make (err, 0, "%s: duplicate namespace `%s`", path, type);
      if (ns->path != NULL && !spec_is_absolute (ns->path))
        return spec_error (err, ipath, "path", "must be an absolute path");
    }
  return 0;
}

/* --- timeOffsets ------------------------------------------------------------- */

static int
parse_time_offset (yajl_val v, const char *path, bool *has, int64_t *secs, uint32_t *nsecs,
                   husk_error_t *err)
{
  if (spec_expect_object (v, path, err) < 0
      || spec_get_i64 (v, path, "secs", secs, NULL, err) < 0
      || spec_get_u32 (v, path, "nanosecs", nsecs, NULL, err) < 0)
    return -1;
  if (*nsecs >= 1000000000u)
    return spec_error (err, path, "nanosecs", "must be less than 1000000000");
  *has = true;
  return 0;
}

static int
parse_time_offsets (yajl_val lin, const char *base, husk_linux_t *l, husk_error_t *err)
{
  yajl_val v = NULL;
  husk_autofree char *path = NULL;
  husk_time_offsets_t *t;
  int r = spec_get_object (lin, base, "timeOffsets", &v, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "timeOffsets");
  t = l->time_offsets = xmalloc0 (sizeof *t);
  for (size_t i = 0; i < v->u.object.len; i++)
    {
      const char *clock = v->u.object.keys[i];
      yajl_val o = v->u.object.values[i];
      husk_autofree char *cpath = spec_path (path, clock);
      if (YAJL_IS_NULL (o))
        continue;
      if (strcmp (clock, "monotonic") == 0)
        r = parse_time_offset (o, cpath, &t->has_monotonic, &t->monotonic_secs,
                               &t->monotonic_nsecs, err);
      else if (strcmp (clock, "boottime") == 0)
        r = parse_time_offset (o, cpath, &t->has_boottime, &t->boottime_secs,
                               &t->boottime_nsecs, err);
      else
        r = husk_error_make (err, 0, "%s: unknown clock `%s`", cpath, clock);
      if (r < 0)
        return -1;
    }
  return 0;
}

/* --- devices ----------------------------------------------------------------- */

static int
parse_devices (yajl_val lin, const char *base, husk_linux_t *l, husk_error_t *err)
{
  yajl_val arr = NULL;
  husk_autofree char *path = NULL;
  int r = spec_get_array (lin, base, "devices", &arr, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "devices");
  l->devices = xmalloc0 ((arr->u.array.len + 1) * sizeof (husk_device_t));
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      husk_device_t *d = &l->devices[i];
      husk_autofree char *ipath = spec_path_idx (path, i);
      husk_autofree char *type = NULL;
      bool has_major = false, has_minor = false;

      l->devices_len = i + 1;
      if (spec_expect_object (v, ipath, err) < 0
          || spec_require_string (v, ipath, "type", &type, err) < 0
          || spec_require_string (v, ipath, "path", &d->path, err) < 0
          || spec_get_i64 (v, ipath, "major", &d->major, &has_major, err) < 0
          || spec_get_i64 (v, ipath, "minor", &d->minor, &has_minor, err) < 0
          || spec_get_u32 (v, ipath, "fileMode", &d->file_mode, &d->has_file_mode, err) < 0
          || spec_get_u32 (v, ipath, "uid", &d->uid, &d->has_uid, err) < 0
          || spec_get_u32 (v, ipath, "gid", &d->gid, &d->has_gid, err) < 0)
        return -1;
      if (strlen (type) != 1 || strchr ("cbup", type[0]) == NULL)
        return spec_error (err, ipath, "type", "unknown device type `%s`", type);
      d->type = type[0];
      if (!spec_is_absolute (d->path))
        return spec_error (err, ipath, "path", "must be an absolute path");
      if (d->type != 'p' && !has_major)
        return spec_error (err, ipath, "major", "required for type `%c`", d->type);
      if (d->type != 'p' && !has_minor)
        return spec_error (err, ipath, "minor", "required for type `%c`", d->type);
    }
  return 0;
}

/* --- seccomp ----------------------------------------------------------------- */

static int
check_names (char **names, size_t len, const char *const *table, const char *base,
             const char *key, const char *what, husk_error_t *err)
{
  for (size_t i = 0; i < len; i++)
    if (spec_name_index (table, names[i]) < 0)
      {
        husk_autofree char *path = spec_path (base, key);
        return husk_error_make (err, 0, "%s[%zu]: unknown %s `%s`", path, i, what, names[i]);
      }
  return 0;
}

static void
seccomp_free (husk_seccomp_t *s)
{
  if (s == NULL)
    return;
  free (s->default_action);
  husk_strv_free (s->architectures);
  husk_strv_free (s->flags);
  free (s->listener_path);
  free (s->listener_metadata);
  for (size_t i = 0; i < s->syscalls_len; i++)
    {
      husk_seccomp_syscall_t *sc = &s->syscalls[i];
      husk_strv_free (sc->names);
      free (sc->action);
      for (size_t j = 0; j < sc->args_len; j++)
        free (sc->args[j].op);
      free (sc->args);
    }
  free (s->syscalls);
  free (s);
}

static int
parse_seccomp_args (yajl_val sc, const char *base, husk_seccomp_syscall_t *s, husk_error_t *err)
{
  yajl_val arr = NULL;
  husk_autofree char *path = NULL;
  int r = spec_get_array (sc, base, "args", &arr, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "args");
  s->args = xmalloc0 ((arr->u.array.len + 1) * sizeof (husk_seccomp_arg_t));
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      husk_seccomp_arg_t *a = &s->args[i];
      husk_autofree char *ipath = spec_path_idx (path, i);
      bool has_index = false, has_value = false;

      s->args_len = i + 1;
      if (spec_expect_object (v, ipath, err) < 0
          || spec_get_u32 (v, ipath, "index", &a->index, &has_index, err) < 0
          || spec_get_u64 (v, ipath, "value", &a->value, &has_value, err) < 0
          || spec_get_u64 (v, ipath, "valueTwo", &a->value_two, NULL, err) < 0
          || spec_require_string (v, ipath, "op", &a->op, err) < 0)
        return -1;
      if (!has_index)
        return spec_error (err, ipath, "index", "missing required field");
      if (!has_value)
        return spec_error (err, ipath, "value", "missing required field");
      if (a->index > 5)
        return spec_error (err, ipath, "index", "must be between 0 and 5");
      if (spec_name_index (seccomp_ops, a->op) < 0)
        return spec_error (err, ipath, "op", "unknown seccomp operator `%s`", a->op);
    }
  return 0;
}

static int
parse_seccomp (yajl_val lin, const char *base, husk_linux_t *l, husk_error_t *err)
{
  yajl_val v = NULL;
  yajl_val arr = NULL;
  husk_autofree char *path = NULL;
  husk_seccomp_t *s;
  bool uses_notify;
  int r = spec_get_object (lin, base, "seccomp", &v, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "seccomp");
  s = l->seccomp = xmalloc0 (sizeof *s);
  if (spec_require_string (v, path, "defaultAction", &s->default_action, err) < 0)
    return -1;
  if (spec_name_index (seccomp_actions, s->default_action) < 0)
    return spec_error (err, path, "defaultAction", "unknown seccomp action `%s`",
                       s->default_action);
  if (strcmp (s->default_action, "SCMP_ACT_NOTIFY") == 0)
    return spec_error (err, path, "defaultAction", "SCMP_ACT_NOTIFY cannot be the default action");
  if (spec_get_u32 (v, path, "defaultErrnoRet", &s->default_errno_ret, &s->has_default_errno_ret,
                    err)
          < 0
      || spec_get_strv (v, path, "architectures", &s->architectures, &s->architectures_len, err)
             < 0
      || spec_get_strv (v, path, "flags", &s->flags, &s->flags_len, err) < 0
      || spec_get_string (v, path, "listenerPath", &s->listener_path, err) < 0
      || spec_get_string (v, path, "listenerMetadata", &s->listener_metadata, err) < 0)
    return -1;
  if (check_names (s->architectures, s->architectures_len, seccomp_archs, path, "architectures",
                   "seccomp architecture", err)
          < 0
      || check_names (s->flags, s->flags_len, seccomp_flags, path, "flags", "seccomp flag", err)
             < 0)
    return -1;

  r = spec_get_array (v, path, "syscalls", &arr, err);
  if (r < 0)
    return -1;
  uses_notify = false;
  if (r > 0)
    {
      husk_autofree char *spath = spec_path (path, "syscalls");
      s->syscalls = xmalloc0 ((arr->u.array.len + 1) * sizeof (husk_seccomp_syscall_t));
      for (size_t i = 0; i < arr->u.array.len; i++)
        {
          yajl_val sv = arr->u.array.values[i];
          husk_seccomp_syscall_t *sc = &s->syscalls[i];
          husk_autofree char *ipath = spec_path_idx (spath, i);

          s->syscalls_len = i + 1;
          if (spec_expect_object (sv, ipath, err) < 0
              || spec_get_strv (sv, ipath, "names", &sc->names, &sc->names_len, err) < 0
              || spec_require_string (sv, ipath, "action", &sc->action, err) < 0
              || spec_get_u32 (sv, ipath, "errnoRet", &sc->errno_ret, &sc->has_errno_ret, err) < 0)
            return -1;
          if (sc->names_len == 0)
            return spec_error (err, ipath, "names", "must not be empty");
          if (spec_name_index (seccomp_actions, sc->action) < 0)
            return spec_error (err, ipath, "action", "unknown seccomp action `%s`", sc->action);
          if (strcmp (sc->action, "SCMP_ACT_NOTIFY") == 0)
            uses_notify = true;
          if (parse_seccomp_args (sv, ipath, sc, err) < 0)
            return -1;
        }
    }
  if (uses_notify && (s->listener_path == NULL || s->listener_path[0] == '\0'))
    return spec_error (err, path, "listenerPath", "required when an action is SCMP_ACT_NOTIFY");
  return 0;
}

/* --- personality, netDevices, intelRdt --------------------------------------- */

static int
parse_personality (yajl_val lin, const char *base, husk_linux_t *l, husk_error_t *err)
{
  yajl_val v = NULL;
  husk_autofree char *path = NULL;
  husk_personality_t *p;
  int r = spec_get_object (lin, base, "personality", &v, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "personality");
  p = l->personality = xmalloc0 (sizeof *p);
  if (spec_require_string (v, path, "domain", &p->domain, err) < 0
      || spec_get_strv (v, path, "flags", &p->flags, &p->flags_len, err) < 0)
    return -1;
  if (strcmp (p->domain, "LINUX") != 0 && strcmp (p->domain, "LINUX32") != 0)
    return spec_error (err, path, "domain", "unknown personality domain `%s`", p->domain);
  return 0;
}

static bool
valid_ifname (const char *name)
{
  size_t n = strlen (name);
  if (n == 0 || n > 15 || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return false;
  for (const char *c = name; *c; c++)
    if (*c == '/' || *c == ':' || *c == ' ' || *c == '\t' || *c == '\n')
      return false;
  return true;
}

static int
parse_net_devices (yajl_val lin, const char *base, husk_linux_t *l, husk_error_t *err)
{
  yajl_val v = NULL;
  husk_autofree char *path = NULL;
  int r = spec_get_object (lin, base, "netDevices", &v, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "netDevices");
  l->net_devices = xmalloc0 ((v->u.object.len + 1) * sizeof (husk_net_device_t));
  for (size_t i = 0; i < v->u.object.len; i++)
    {
      const char *host = v->u.object.keys[i];
      yajl_val d = v->u.object.values[i];
      husk_net_device_t *nd = &l->net_devices[i];
      husk_autofree char *dpath = spec_path (path, host);

      l->net_devices_len = i + 1;
      nd->host_name = xstrdup (host);
      if (!valid_ifname (host))
        return husk_error_make (err, 0, "%s: invalid network interface name `%s`", path, host);
      if (!YAJL_IS_NULL (d))
        {
          if (spec_expect_object (d, dpath, err) < 0
              || spec_get_string (d, dpath, "name", &nd->name, err) < 0)
            return -1;
        }
      if (nd->name == NULL || nd->name[0] == '\0')
        {
          free (nd->name);
          nd->name = xstrdup (host);
        }
      else if (!valid_ifname (nd->name))
        return spec_error (err, dpath, "name", "invalid network interface name `%s`", nd->name);
    }
  return 0;
}

/* --- the linux object ------------------------------------------------------ */

int
spec_parse_linux (yajl_val v, const char *base, husk_linux_t *l, husk_error_t *err)
{
  yajl_val obj = NULL;
  int r;

  if (parse_namespaces (v, base, l, err) < 0
      || spec_get_idmaps (v, base, "uidMappings", &l->uid_mappings, &l->uid_mappings_len, err) < 0
      || spec_get_idmaps (v, base, "gidMappings", &l->gid_mappings, &l->gid_mappings_len, err) < 0
      || parse_time_offsets (v, base, l, err) < 0 || parse_devices (v, base, l, err) < 0
      || spec_get_string (v, base, "cgroupsPath", &l->cgroups_path, err) < 0)
    return -1;

  r = spec_get_object (v, base, "resources", &obj, err);
  if (r < 0)
    return -1;
  if (r > 0)
    {
      husk_autofree char *path = spec_path (base, "resources");
      l->resources = xmalloc0 (sizeof *l->resources);
      if (spec_parse_resources (obj, path, l->resources, err) < 0)
        return -1;
    }

  if (spec_get_strmap (v, base, "sysctl", &l->sysctl_keys, &l->sysctl_values, &l->sysctl_len, err)
          < 0
      || parse_seccomp (v, base, l, err) < 0
      || spec_get_string (v, base, "rootfsPropagation", &l->rootfs_propagation, err) < 0)
    return -1;
  if (l->rootfs_propagation != NULL && l->rootfs_propagation[0] != '\0'
      && spec_name_index (propagations, l->rootfs_propagation) < 0)
    return spec_error (err, base, "rootfsPropagation", "unknown propagation `%s`",
                       l->rootfs_propagation);

  if (spec_get_strv (v, base, "maskedPaths", &l->masked_paths, &l->masked_paths_len, err) < 0
      || spec_get_strv (v, base, "readonlyPaths", &l->readonly_paths, &l->readonly_paths_len, err)
             < 0
      || spec_get_string (v, base, "mountLabel", &l->mount_label, err) < 0
      || parse_personality (v, base, l, err) < 0 || parse_net_devices (v, base, l, err) < 0)
    return -1;

  obj = NULL;
  r = spec_get_object (v, base, "intelRdt", &obj, err);
  if (r < 0)
    return -1;
  if (r > 0)
    {
      husk_autofree char *path = spec_path (base, "intelRdt");
      if (spec_get_string (obj, path, "closID", &l->intel_rdt_clos_id, err) < 0)
        return -1;
    }
  return 0;
}

void
spec_linux_clear (husk_linux_t *l)
{
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->namespaces_len; i++)
    free (l->namespaces[i].path);
  free (l->namespaces);
  free (l->uid_mappings);
  free (l->gid_mappings);
  free (l->time_offsets);
  for (size_t i = 0; i < l->devices_len; i++)
    free (l->devices[i].path);
  free (l->devices);
  free (l->cgroups_path);
  if (l->resources)
    {
      spec_resources_clear (l->resources);
      free (l->resources);
    }
  husk_strv_free (l->sysctl_keys);
  husk_strv_free (l->sysctl_values);
  seccomp_free (l->seccomp);
  free (l->rootfs_propagation);
  husk_strv_free (l->masked_paths);
  husk_strv_free (l->readonly_paths);
  free (l->mount_label);
  if (l->personality)
    {
      free (l->personality->domain);
      husk_strv_free (l->personality->flags);
      free (l->personality);
    }
  for (size_t i = 0; i < l->net_devices_len; i++)
    {
      free (l->net_devices[i].host_name);
      free (l->net_devices[i].name);
    }
  free (l->net_devices);
  free (l->intel_rdt_clos_id);
  memset (l, 0, sizeof *l);
}

/* --- rules across sections ----------------------------------------------------- */

static const char *const ipc_sysctls[] = {
  "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
  "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", NULL,
};

static int
validate_sysctl (const husk_spec_t *spec, husk_error_t *err)
{
  const husk_linux_t *l = spec->linux_;
  for (size_t i = 0; i < l->sysctl_len; i++)
    {
      const char *key = l->sysctl_keys[i];
      husk_autofree char *name = xstrdup (key);
      husk_ns_type_t need;
      const char *need_name;

      /* runc accepts "net/ipv4/ip_forward" as well. */
      for (char *c = name; *c; c++)
        if (*c == '/')
          *c = '.';
      if (spec_name_index (ipc_sysctls, name) >= 0 || strncmp (name, "fs.mqueue.", 10) == 0)
        need = HUSK_NS_IPC, need_name = "an IPC";
      else if (strncmp (name, "net.", 4) == 0)
        need = HUSK_NS_NETWORK, need_name = "a network";
      else if (strcmp (name, "kernel.hostname") == 0 || strcmp (name, "kernel.domainname") == 0)
        need = HUSK_NS_UTS, need_name = "a UTS";
      else
        return husk_error_make (err, 0, "linux.sysctl.%s: sysctl is not namespaced", key);
      if (husk_spec_find_namespace (spec, need) == NULL)
        return husk_error_make (err, 0, "linux.sysctl.%s: requires %s namespace", key, need_name);
    }
  return 0;
}

int
spec_validate_linux (const husk_spec_t *spec, husk_error_t *err)
{
  const husk_linux_t *l = spec->linux_;
  const husk_namespace_t *userns = husk_spec_find_namespace (spec, HUSK_NS_USER);

  if (spec->hostname != NULL && spec->hostname[0] != '\0'
      && husk_spec_find_namespace (spec, HUSK_NS_UTS) == NULL)
    return husk_error_make (err, 0, "hostname: requires a UTS namespace");
  if (spec->domainname != NULL && spec->domainname[0] != '\0'
      && husk_spec_find_namespace (spec, HUSK_NS_UTS) == NULL)
    return husk_error_make (err, 0, "domainname: requires a UTS namespace");
  if (l == NULL)
    return 0;

  if (userns == NULL)
    {
      if (l->uid_mappings_len > 0)
        return husk_error_make (err, 0, "linux.uidMappings: requires a user namespace");
      if (l->gid_mappings_len > 0)
        return husk_error_make (err, 0, "linux.gidMappings: requires a user namespace");
    }
  else if (userns->path == NULL)
    {
      if (l->uid_mappings_len == 0)
        return husk_error_make (err, 0,
                                "linux.uidMappings: user namespace enabled, but no uid mappings "
                                "found");
      if (l->gid_mappings_len == 0)
        return husk_error_make (err, 0,
                                "linux.gidMappings: user namespace enabled, but no gid mappings "
                                "found");
    }

  if (l->time_offsets != NULL && (l->time_offsets->has_monotonic || l->time_offsets->has_boottime)
      && husk_spec_find_namespace (spec, HUSK_NS_TIME) == NULL)
    return husk_error_make (err, 0, "linux.timeOffsets: requires a time namespace");

  if (l->net_devices_len > 0 && husk_spec_find_namespace (spec, HUSK_NS_NETWORK) == NULL)
    return husk_error_make (err, 0, "linux.netDevices: requires a network namespace");

  return validate_sysctl (spec, err);
}
