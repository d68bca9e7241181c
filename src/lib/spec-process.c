/* husk: the process object, shared by config.json's `process` and the
 * process.json of `exec -p` (base "" there, so errors read `args: ...`). */
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "spec-internal.h"

#ifndef SCHED_BATCH
#  define SCHED_BATCH 3
#endif
#ifndef SCHED_ISO
#  define SCHED_ISO 4
#endif
#ifndef SCHED_IDLE
#  define SCHED_IDLE 5
#endif
#ifndef SCHED_DEADLINE
#  define SCHED_DEADLINE 6
#endif

/* Indexed by policy number (SCHED_OTHER = 0 ... SCHED_DEADLINE = 6). */
static const char *const sched_policies[] = {
  "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE",
  "SCHED_DEADLINE", NULL,
};

static const char *const sched_flags[] = {
  "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM",         "SCHED_FLAG_DL_OVERRUN",
  "SCHED_FLAG_KEEP_POLICY",   "SCHED_FLAG_KEEP_PARAMS",     "SCHED_FLAG_UTIL_CLAMP_MIN",
  "SCHED_FLAG_UTIL_CLAMP_MAX", NULL,
};

/* Indexed by IOPRIO_CLASS_* (NONE = 0 is not a valid spec value). */
static const char *const ioprio_classes[] = {
  "IOPRIO_CLASS_NONE", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE", NULL,
};

static void
capset_free (husk_capset_t *s)
{
  if (s == NULL)
    return;
  free (s->caps);
  free (s);
}

static int
parse_capset (yajl_val caps, const char *base, const char *key, husk_capset_t **out,
              husk_error_t *err)
{
  yajl_val arr = spec_get (caps, key);
  husk_autofree char *path = NULL;
  husk_capset_t *set;

  if (arr == NULL)
    return 0;
  path = spec_path (base, key);
  if (!YAJL_IS_ARRAY (arr))
    return husk_error_make (err, 0, "%s: expected an array of strings", path);
  set = xmalloc0 (sizeof *set);
  set->caps = xmalloc0 ((arr->u.array.len + 1) * sizeof (int));
  *out = set; /* owned by the caller from here on */
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val s = arr->u.array.values[i];
      int cap;
      if (!YAJL_IS_STRING (s))
        return husk_error_make (err, 0, "%s[%zu]: expected a string", path, i);
      cap = husk_cap_from_name (YAJL_GET_STRING (s));
      if (cap < 0)
        return husk_error_make (err, 0, "%s[%zu]: unknown capability `%s`", path, i,
                                YAJL_GET_STRING (s));
      set->caps[set->caps_len++] = cap;
    }
  return 1;
}

static void
caps_free (husk_caps_t *c)
{
  if (c == NULL)
    return;
  capset_free (c->effective);
  capset_free (c->bounding);
  capset_free (c->inheritable);
  capset_free (c->permitted);
  capset_free (c->ambient);
  free (c);
}

static int
parse_capabilities (yajl_val proc, const char *base, husk_process_t *p, husk_error_t *err)
{
  yajl_val caps = NULL;
  husk_autofree char *path = NULL;
  int r = spec_get_object (proc, base, "capabilities", &caps, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "capabilities");
  p->capabilities = xmalloc0 (sizeof *p->capabilities);
  if (parse_capset (caps, path, "bounding", &p->capabilities->bounding, err) < 0
      || parse_capset (caps, path, "effective", &p->capabilities->effective, err) < 0
      || parse_capset (caps, path, "inheritable", &p->capabilities->inheritable, err) < 0
      || parse_capset (caps, path, "permitted", &p->capabilities->permitted, err) < 0
      || parse_capset (caps, path, "ambient", &p->capabilities->ambient, err) < 0)
    return -1;
  return 0;
}

static int
parse_rlimits (yajl_val proc, const char *base, husk_process_t *p, husk_error_t *err)
{
  yajl_val arr = NULL;
  husk_autofree char *path = NULL;
  int r = spec_get_array (proc, base, "rlimits", &arr, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "rlimits");
  p->rlimits = xmalloc0 ((arr->u.array.len + 1) * sizeof (husk_rlimit_t));
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      husk_rlimit_t *rl = &p->rlimits[i];
      husk_autofree char *ipath = spec_path_idx (path, i);

      p->rlimits_len = i + 1;
      if (spec_expect_object (v, ipath, err) < 0
          || spec_require_string (v, ipath, "type", &rl->type, err) < 0)
        return -1;
      rl->resource = husk_rlimit_from_name (rl->type);
      if (rl->resource < 0)
        return spec_error (err, ipath, "type", "unknown rlimit `%s`", rl->type);
      for (size_t j = 0; j < i; j++)
        if (p->rlimits[j].resource == rl->resource)
          return husk_error_make (err, 0, "%s: duplicate rlimit `%s`", path, rl->type);
      if (spec_get_u64 (v, ipath, "soft", &rl->soft, NULL, err) < 0
          || spec_get_u64 (v, ipath, "hard", &rl->hard, NULL, err) < 0)
        return -1;
    }
  return 0;
}

static void
scheduler_free (husk_scheduler_t *s)
{
  if (s == NULL)
    return;
  free (s->policy);
  husk_strv_free (s->flags);
  free (s);
}

static int
parse_scheduler (yajl_val proc, const char *base, husk_process_t *p, husk_error_t *err)
{
  yajl_val v = NULL;
  husk_autofree char *path = NULL;
  husk_scheduler_t *s;
  int r = spec_get_object (proc, base, "scheduler", &v, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "scheduler");
  s = p->scheduler = xmalloc0 (sizeof *s);
  if (spec_require_string (v, path, "policy", &s->policy, err) < 0)
    return -1;
  s->policy_value = spec_name_index (sched_policies, s->policy);
  if (s->policy_value < 0)
    return spec_error (err, path, "policy", "unknown scheduler policy `%s`", s->policy);
  if (spec_get_i32 (v, path, "nice", &s->nice, NULL, err) < 0
      || spec_get_i32 (v, path, "priority", &s->priority, NULL, err) < 0
      || spec_get_strv (v, path, "flags", &s->flags, &s->flags_len, err) < 0
      || spec_get_u64 (v, path, "runtime", &s->runtime, NULL, err) < 0
      || spec_get_u64 (v, path, "deadline", &s->deadline, NULL, err) < 0
      || spec_get_u64 (v, path, "period", &s->period, NULL, err) < 0)
    return -1;
  for (size_t i = 0; i < s->flags_len; i++)
    if (spec_name_index (sched_flags, s->flags[i]) < 0)
      return husk_error_make (err, 0, "%s.flags[%zu]: unknown scheduler flag `%s`", path, i,
                              s->flags[i]);
  /* runc's validator rules. */
  if (s->nice < -20 || s->nice > 19)
    return spec_error (err, path, "nice", "must be between -20 and 19");
  if (s->priority != 0 && s->policy_value != SCHED_FIFO && s->policy_value != SCHED_RR)
    return spec_error (err, path, "priority", "only valid with SCHED_FIFO or SCHED_RR");
  if (s->policy_value != SCHED_DEADLINE && (s->runtime || s->deadline || s->period))
    return spec_error (err, path, NULL, "runtime, deadline and period are only valid with "
                                        "SCHED_DEADLINE");
  return 0;
}

static void
ioprio_free (husk_ioprio_t *io)
{
  if (io == NULL)
    return;
  free (io->class_name);
  free (io);
}

static int
parse_io_priority (yajl_val proc, const char *base, husk_process_t *p, husk_error_t *err)
{
  yajl_val v = NULL;
  husk_autofree char *path = NULL;
  husk_ioprio_t *io;
  int32_t prio = 0;
  int r = spec_get_object (proc, base, "ioPriority", &v, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "ioPriority");
  io = p->io_priority = xmalloc0 (sizeof *io);
  if (spec_require_string (v, path, "class", &io->class_name, err) < 0)
    return -1;
  io->class_value = spec_name_index (ioprio_classes, io->class_name);
  if (io->class_value <= 0)
    return spec_error (err, path, "class", "unknown ioPriority class `%s`", io->class_name);
  if (spec_get_i32 (v, path, "priority", &prio, NULL, err) < 0)
    return -1;
  if (prio < 0 || prio > 7)
    return spec_error (err, path, "priority", "must be between 0 and 7");
  io->priority = prio;
  return 0;
}

static int
parse_user (yajl_val proc, const char *base, husk_process_t *p, husk_error_t *err)
{
  yajl_val v = NULL;
  yajl_val gids = NULL;
  husk_autofree char *path = NULL;
  husk_user_t *u = &p->user;
  int r = spec_get_object (proc, base, "user", &v, err);
  if (r <= 0)
    return r;
  path = spec_path (base, "user");
  if (spec_get_u32 (v, path, "uid", &u->uid, NULL, err) < 0
      || spec_get_u32 (v, path, "gid", &u->gid, NULL, err) < 0
      || spec_get_u32 (v, path, "umask", &u->umask, &u->has_umask, err) < 0
      || spec_get_string (v, path, "username", &u->username, err) < 0)
    return -1;
  r = spec_get_array (v, path, "additionalGids", &gids, err);
  if (r < 0)
    return -1;
  if (r > 0)
    {
      husk_autofree char *gpath = spec_path (path, "additionalGids");
      u->additional_gids = xmalloc0 ((gids->u.array.len + 1) * sizeof (uint32_t));
      for (size_t i = 0; i < gids->u.array.len; i++)
        {
          husk_autofree char *ipath = spec_path_idx (gpath, i);
          uint64_t n = 0;
          if (spec_value_uint (gids->u.array.values[i], ipath, UINT32_MAX, "uint32", &n, err) < 0)
            return -1;
          u->additional_gids[i] = (uint32_t) n;
          u->additional_gids_len = i + 1;
        }
    }
  return 0;
}

int
spec_parse_process (yajl_val v, const char *base, husk_process_t *p, husk_error_t *err)
{
  yajl_val obj = NULL;
  int64_t oom = 0;
  int r;

  if (spec_get_bool (v, base, "terminal", &p->terminal, NULL, err) < 0)
    return -1;
  r = spec_get_object (v, base, "consoleSize", &obj, err);
  if (r < 0)
    return -1;
  if (r > 0)
    {
      husk_autofree char *path = spec_path (base, "consoleSize");
      p->has_console_size = true;
      if (spec_get_u32 (obj, path, "height", &p->console_height, NULL, err) < 0
          || spec_get_u32 (obj, path, "width", &p->console_width, NULL, err) < 0)
        return -1;
    }

  if (spec_require_string (v, base, "cwd", &p->cwd, err) < 0)
    return -1;
  if (!spec_is_absolute (p->cwd))
    return spec_error (err, base, "cwd", "must be an absolute path");

  if (spec_get_strv (v, base, "env", &p->env, &p->env_len, err) < 0
      || spec_get_strv (v, base, "args", &p->args, &p->args_len, err) < 0
      || spec_get_string (v, base, "commandLine", &p->command_line, err) < 0)
    return -1;
  if (parse_rlimits (v, base, p, err) < 0)
    return -1;
  if (spec_get_string (v, base, "apparmorProfile", &p->apparmor_profile, err) < 0)
    return -1;
  if (parse_capabilities (v, base, p, err) < 0)
    return -1;
  if (spec_get_bool (v, base, "noNewPrivileges", &p->no_new_privileges, NULL, err) < 0)
    return -1;

  {
    yajl_val o = spec_get (v, "oomScoreAdj");
    if (o != NULL)
      {
        husk_autofree char *path = spec_path (base, "oomScoreAdj");
        if (spec_value_int (o, path, INT32_MIN, INT32_MAX, "int", &oom, err) < 0)
          return -1;
        if (oom < -1000 || oom > 1000)
          return husk_error_make (err, 0, "%s: must be between -1000 and 1000", path);
        p->has_oom_score_adj = true;
        p->oom_score_adj = (int) oom;
      }
  }

  if (parse_scheduler (v, base, p, err) < 0)
    return -1;
  if (spec_get_string (v, base, "selinuxLabel", &p->selinux_label, err) < 0)
    return -1;
  if (parse_io_priority (v, base, p, err) < 0)
    return -1;
  if (parse_user (v, base, p, err) < 0)
    return -1;

  obj = NULL;
  r = spec_get_object (v, base, "execCPUAffinity", &obj, err);
  if (r < 0)
    return -1;
  if (r > 0)
    {
      husk_autofree char *path = spec_path (base, "execCPUAffinity");
      if (spec_get_string (obj, path, "initial", &p->exec_cpu_affinity_initial, err) < 0
          || spec_get_string (obj, path, "final", &p->exec_cpu_affinity_final, err) < 0)
        return -1;
    }
  return 0;
}

void
spec_process_clear (husk_process_t *p)
{
  if (p == NULL)
    return;
  free (p->cwd);
  husk_strv_free (p->env);
  husk_strv_free (p->args);
  free (p->command_line);
  for (size_t i = 0; i < p->rlimits_len; i++)
    free (p->rlimits[i].type);
  free (p->rlimits);
  free (p->apparmor_profile);
  caps_free (p->capabilities);
  scheduler_free (p->scheduler);
  free (p->selinux_label);
  ioprio_free (p->io_priority);
  free (p->user.additional_gids);
  free (p->user.username);
  free (p->exec_cpu_affinity_initial);
  free (p->exec_cpu_affinity_final);
  memset (p, 0, sizeof *p);
}
