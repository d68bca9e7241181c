/* husk: the process attributes the init applies before execve:
 * rlimits, oom_score_adj, scheduler, I/O priority, personality, sysctls,
 * user (uid/gid/additionalGids) and the five capability sets. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "internal.h"

int
husk_process_set_rlimits (const husk_process_t *p, husk_error_t *err)
{
  for (size_t i = 0; i < p->rlimits_len; i++)
    {
      struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
      if (setrlimit (p->rlimits[i].resource, &rl) < 0)
        return husk_error_make (err, errno, "cannot set rlimit `%s`", p->rlimits[i].type);
    }
  return 0;
}

int
husk_process_set_oom_score_adj (const husk_process_t *p, husk_error_t *err)
{
  char buf[16];
  int n;
  if (!p->has_oom_score_adj)
    return 0;
  n = snprintf (buf, sizeof buf, "%d", p->oom_score_adj);
  if (husk_write_file ("/proc/self/oom_score_adj", buf, (size_t) n, err) < 0)
    return husk_error_wrap (err, "cannot set oom_score_adj");
  return 0;
}

struct husk_sched_attr
{
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

static uint64_t
sched_flag (const char *name)
{
  static const struct
  {
    const char *n;
    uint64_t v;
  } t[] = {
    { "SCHED_FLAG_RESET_ON_FORK", 0x01 }, { "SCHED_FLAG_RECLAIM", 0x02 },       { "SCHED_FLAG_DL_OVERRUN", 0x04 },
    { "SCHED_FLAG_KEEP_POLICY", 0x08 },   { "SCHED_FLAG_KEEP_PARAMS", 0x10 },   { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
    { "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp (t[i].n, name) == 0)
      return t[i].v;
  return 0;
}

int
husk_process_set_scheduler (const husk_process_t *p, husk_error_t *err)
{
  struct husk_sched_attr a;
  const husk_scheduler_t *s = p->scheduler;
  if (s == NULL)
    return 0;
  memset (&a, 0, sizeof a);
  a.size = sizeof a;
  a.sched_policy = (uint32_t) s->policy_value;
  a.sched_nice = s->nice;
  a.sched_priority = (uint32_t) s->priority;
  a.sched_runtime = s->runtime;
  a.sched_deadline = s->deadline;
  a.sched_period = s->period;
  for (size_t i = 0; i < s->flags_len; i++)
    a.sched_flags |= sched_flag (s->flags[i]);
  if (syscall (SYS_sched_setattr, 0, &a, 0) < 0)
    return husk_error_make (err, errno, "cannot set scheduler `%s`", s->policy);
  return 0;
}

int
husk_process_set_ioprio (const husk_process_t *p, husk_error_t *err)
{
  if (p->io_priority == NULL)
    return 0;
  /* IOPRIO_PRIO_VALUE(class, data) = class << 13 | data; IOPRIO_WHO_PROCESS = 1 */
  if (syscall (SYS_ioprio_set, 1, 0, (p->io_priority->class_value << 13) | p->io_priority->priority) < 0)
    return husk_error_make (err, errno, "cannot set I/O priority `%s`", p->io_priority->class_name);
  return 0;
}

int
husk_process_set_personality (const husk_personality_t *pers, husk_error_t *err)
{
  unsigned long dom;
  if (pers == NULL || pers->domain == NULL)
    return 0;
  dom = strcmp (pers->domain, "LINUX32") == 0 ? PER_LINUX32 : PER_LINUX;
  if (personality (dom) < 0)
    return husk_error_make (err, errno, "cannot set personality `%s`", pers->domain);
  return 0;
}

int
husk_process_set_sysctls (const husk_linux_t *l, husk_error_t *err)
{
  if (l == NULL)
    return 0;
  for (size_t i = 0; i < l->sysctl_len; i++)
    {
      husk_autofree char *path = xstrdup_printf ("/proc/sys/%s", l->sysctl_keys[i]);
      for (char *c = path + strlen ("/proc/sys/"); *c; c++)
        if (*c == '.')
          *c = '/';
      if (husk_write_file (path, l->sysctl_values[i], strlen (l->sysctl_values[i]), err) < 0)
        return husk_error_wrap (err, "cannot set sysctl `%s`", l->sysctl_keys[i]);
    }
  return 0;
}

static bool
in_set (const husk_capset_t *s, int cap)
{
  if (s == NULL)
    return false;
  for (size_t i = 0; i < s->caps_len; i++)
    if (s->caps[i] == cap)
      return true;
  return false;
}

static int
set_cap_flag (cap_t c, cap_flag_t flag, const husk_capset_t *s, int last)
{
  for (size_t i = 0; s && i < s->caps_len; i++)
    {
      cap_value_t v = s->caps[i];
      if (v > last)
        continue; /* unknown to this kernel: ignored, like runc */
      if (cap_set_flag (c, flag, 1, &v, CAP_SET) < 0)
        return -1;
    }
  return 0;
}

int
husk_process_set_user_and_caps (const husk_process_t *p, husk_error_t *err)
{
  const husk_caps_t *caps = p->capabilities;
  int last = (int) cap_max_bits () - 1;
  gid_t *gids = NULL;

  if (caps && caps->bounding)
    for (int cap = 0; cap <= last; cap++)
      if (!in_set (caps->bounding, cap) && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
        return husk_error_make (err, errno, "cannot drop capability `%s` from the bounding set",
                                husk_cap_name (cap) ? husk_cap_name (cap) : "?");

  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return husk_error_make (err, errno, "cannot set keep-caps");
  if (p->user.additional_gids_len)
    {
      gids = xmalloc (sizeof (gid_t) * p->user.additional_gids_len);
      for (size_t i = 0; i < p->user.additional_gids_len; i++)
        gids[i] = p->user.additional_gids[i];
    }
  if (setgroups (p->user.additional_gids_len, gids) < 0 && !(errno == EPERM && p->user.additional_gids_len == 0))
    {
      int e = errno;
      free (gids);
      return husk_error_make (err, e, "cannot set additional gids");
    }
  free (gids);
  if (setresgid (p->user.gid, p->user.gid, p->user.gid) < 0)
    return husk_error_make (err, errno, "cannot set gid to %u", p->user.gid);
  if (setresuid (p->user.uid, p->user.uid, p->user.uid) < 0)
    return husk_error_make (err, errno, "cannot set uid to %u", p->user.uid);
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return husk_error_make (err, errno, "cannot clear keep-caps");

  if (caps)
    {
      cap_t c = cap_init ();
      if (c == NULL)
        abort ();
      if (set_cap_flag (c, CAP_EFFECTIVE, caps->effective, last) < 0
          || set_cap_flag (c, CAP_PERMITTED, caps->permitted, last) < 0
          || set_cap_flag (c, CAP_INHERITABLE, caps->inheritable, last) < 0)
        {
          cap_free (c);
          return husk_error_make (err, errno, "cannot build the capability sets");
        }
      if (cap_set_proc (c) < 0)
        {
          int e = errno;
          cap_free (c);
          return husk_error_make (err, e, "cannot apply capabilities");
        }
      cap_free (c);
      prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
      for (size_t i = 0; caps->ambient && i < caps->ambient->caps_len; i++)
        {
          int cap = caps->ambient->caps[i];
          /* The kernel raises an ambient capability only when it is also
           * permitted and inheritable; runc's default spec lists ambient
           * caps without inheritable ones, and runc skips them: so do we. */
          if (cap > last || !in_set (caps->inheritable, cap) || !in_set (caps->permitted, cap))
            continue;
          if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            return husk_error_make (err, errno, "cannot raise ambient capability `%s`", husk_cap_name (cap));
        }
    }
  return 0;
}

static const char *
env_get (char *const *env, const char *name)
{
  size_t n = strlen (name);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, n) == 0 && env[i][n] == '=')
      return env[i] + n + 1;
  return NULL;
}

static bool
is_executable (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISREG (st.st_mode) && access (path, X_OK) == 0;
}

int
husk_process_find_exec (const husk_process_t *p, char **out, husk_error_t *err)
{
  const char *name = p->args_len ? p->args[0] : NULL;
  const char *path_env;
  if (name == NULL || *name == '\0')
    return husk_error_make (err, 0, "process.args must not be empty");
  if (strchr (name, '/'))
    {
      struct stat st;
      if (stat (name, &st) < 0)
        return husk_error_make (err, errno, "cannot exec `%s`", name);
      if (S_ISDIR (st.st_mode))
        return husk_error_make (err, EISDIR, "cannot exec `%s`", name);
      *out = xstrdup (name);
      return 0;
    }
  path_env = env_get (p->env, "PATH");
  if (path_env == NULL)
    path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const char *s = path_env; *s;)
    {
      const char *e = strchr (s, ':');
      size_t n = e ? (size_t) (e - s) : strlen (s);
      husk_autofree char *cand = xstrdup_printf ("%.*s/%s", (int) n, n ? s : ".", name);
      if (is_executable (cand))
        {
          *out = steal_ptr (&cand);
          return 0;
        }
      s += n;
      if (*s == ':')
        s++;
    }
  return husk_error_make (err, ENOENT, "executable `%s` not found in $PATH", name);
}

int
husk_process_chdir (const husk_process_t *p, husk_error_t *err)
{
  if (p->cwd && chdir (p->cwd) < 0)
    return husk_error_make (err, errno, "cannot chdir to `%s`", p->cwd);
  return 0;
}
