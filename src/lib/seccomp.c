/* husk: seccomp with libseccomp.
 *
 * libseccomp builds the filter and exports it as classic BPF (a memfd and
 * seccomp_export_bpf(): libseccomp 2.5.4, Debian 12, has no
 * seccomp_export_bpf_mem).  The program and the seccomp(2) flags are kept in
 * husk_seccomp_filter_t so that the container init installs it with one
 * syscall, without libseccomp state and without allocating.
 *
 * Semantics follow runc: syscall names unknown to this libseccomp/arch are
 * skipped, rules with the default action are skipped, several conditions on
 * the same argument index become separate rules (OR), SCMP_ACT_NOTIFY is
 * refused as the default action, for write(2), and without listenerPath. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#if HAVE_SECCOMP
#include <seccomp.h>
#endif

#include "husk/utils.h"
#include "seccomp-filter.h"

/* Kernel flags, in case the uapi headers are older than the running kernel. */
#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC (1UL << 0)
#endif
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define SPEC_PATH "linux.seccomp"

struct husk_seccomp_filter_s
{
  struct sock_fprog prog; /* prog.filter is owned */
  unsigned int flags;     /* for seccomp(SECCOMP_SET_MODE_FILTER, flags, ...) */
  bool wants_listener;
  char *listener_path;     /* NULL when absent */
  char *listener_metadata; /* NULL when absent */
};

/* ---- name tables ----------------------------------------------------- */

#if HAVE_SECCOMP

const char *const husk_seccomp_action_names[] = {
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
  "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY", NULL,
};

const char *const husk_seccomp_operator_names[] = {
  "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
  "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL,
};

/* The seccomp(2) flags are passed to the kernel by husk itself, so all of
 * them are supported whatever the libseccomp version. */
const char *const husk_seccomp_flag_names[] = {
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_LOG",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
  NULL,
};

struct arch_entry
{
  const char *name;
  uint32_t token;
};

static const struct arch_entry arch_table[] = {
  { "SCMP_ARCH_X86", SCMP_ARCH_X86 },
  { "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 },
  { "SCMP_ARCH_X32", SCMP_ARCH_X32 },
  { "SCMP_ARCH_ARM", SCMP_ARCH_ARM },
  { "SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64 },
  { "SCMP_ARCH_MIPS", SCMP_ARCH_MIPS },
  { "SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64 },
  { "SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32 },
  { "SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL },
  { "SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64 },
  { "SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32 },
  { "SCMP_ARCH_PPC", SCMP_ARCH_PPC },
  { "SCMP_ARCH_PPC64", SCMP_ARCH_PPC64 },
  { "SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE },
  { "SCMP_ARCH_S390", SCMP_ARCH_S390 },
  { "SCMP_ARCH_S390X", SCMP_ARCH_S390X },
  { "SCMP_ARCH_PARISC", SCMP_ARCH_PARISC },
  { "SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64 },
  { "SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64 },
#ifdef SCMP_ARCH_LOONGARCH64
  { "SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64 },
#endif
#ifdef SCMP_ARCH_M68K
  { "SCMP_ARCH_M68K", SCMP_ARCH_M68K },
#endif
#ifdef SCMP_ARCH_SH
  { "SCMP_ARCH_SH", SCMP_ARCH_SH },
#endif
#ifdef SCMP_ARCH_SHEB
  { "SCMP_ARCH_SHEB", SCMP_ARCH_SHEB },
#endif
};

#define ARCH_COUNT (sizeof arch_table / sizeof arch_table[0])

const char *const husk_seccomp_arch_names[] = {
  "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
  "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
  "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
#ifdef SCMP_ARCH_LOONGARCH64
  "SCMP_ARCH_LOONGARCH64",
#endif
#ifdef SCMP_ARCH_M68K
  "SCMP_ARCH_M68K",
#endif
#ifdef SCMP_ARCH_SH
  "SCMP_ARCH_SH",
#endif
#ifdef SCMP_ARCH_SHEB
  "SCMP_ARCH_SHEB",
#endif
  NULL,
};

const char *
husk_seccomp_version (void)
{
  static char buf[48];
  const struct scmp_version *v;

  if (buf[0])
    return buf;
  v = seccomp_version ();
  if (v == NULL)
    return NULL;
  snprintf (buf, sizeof buf, "%u.%u.%u", v->major, v->minor, v->micro);
  return buf;
}

#else /* !HAVE_SECCOMP */

const char *const husk_seccomp_action_names[] = { NULL };
const char *const husk_seccomp_operator_names[] = { NULL };
const char *const husk_seccomp_arch_names[] = { NULL };
const char *const husk_seccomp_flag_names[] = { NULL };

const char *
husk_seccomp_version (void)
{
  return NULL;
}

#endif

/* ---- compile ------------------------------------------------------------ */

#if HAVE_SECCOMP

static void
seccomp_ctx_releasep (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
  *ctx = NULL;
}

#define autoseccomp __attribute__ ((cleanup (seccomp_ctx_releasep)))

/* "SCMP_ACT_ERRNO" + errnoRet -> libseccomp action.  *is_notify set for NOTIFY. */
static int
action_from_name (const char *name, bool has_ret, uint32_t ret, uint32_t *out, const char *path,
                  husk_error_t *err)
{
  uint32_t r = has_ret ? ret : EPERM;

  if (name == NULL)
    return husk_error_make (err, 0, "%s: the action is missing", path);
  if (strcmp (name, "SCMP_ACT_KILL") == 0 || strcmp (name, "SCMP_ACT_KILL_THREAD") == 0)
    *out = SCMP_ACT_KILL_THREAD;
  else if (strcmp (name, "SCMP_ACT_KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp (name, "SCMP_ACT_TRAP") == 0)
    *out = SCMP_ACT_TRAP;
  else if (strcmp (name, "SCMP_ACT_ERRNO") == 0)
    *out = SCMP_ACT_ERRNO (r);
  else if (strcmp (name, "SCMP_ACT_TRACE") == 0)
    *out = SCMP_ACT_TRACE (r);
  else if (strcmp (name, "SCMP_ACT_ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp (name, "SCMP_ACT_LOG") == 0)
    *out = SCMP_ACT_LOG;
  else if (strcmp (name, "SCMP_ACT_NOTIFY") == 0)
    *out = SCMP_ACT_NOTIFY;
  else
    return husk_error_make (err, 0, "%s: unknown action `%s`", path, name);

  if ((strcmp (name, "SCMP_ACT_ERRNO") == 0 || strcmp (name, "SCMP_ACT_TRACE") == 0) && r > 0xffff)
    return husk_error_make (err, 0, "%s: errnoRet %u does not fit in 16 bits", path, r);
  return 0;
}

static int
operator_from_name (const char *name, enum scmp_compare *out)
{
  static const struct
  {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
    { "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
    { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
  };
  if (name == NULL)
    return -1;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp (ops[i].name, name) == 0)
      {
        *out = ops[i].op;
        return 0;
      }
  return -1;
}

static int
arch_from_name (const char *name, uint32_t *out)
{
  if (name == NULL)
    return -1;
  for (size_t i = 0; i < ARCH_COUNT; i++)
    if (strcmp (arch_table[i].name, name) == 0)
      {
        *out = arch_table[i].token;
        return 0;
      }
  return -1;
}

static size_t
count_syscall_names (const husk_seccomp_t *spec)
{
  size_t n = 0;
  for (size_t i = 0; i < spec->syscalls_len; i++)
    n += spec->syscalls[i].names_len;
  return n;
}

/* Set a filter attribute.  The attributes mirror the seccomp(2) flags husk
 * passes itself; libseccomp refuses some (EOPNOTSUPP) when it probes the
 * kernel, which install() handles, so only real errors fail. */
static int
set_attr (scmp_filter_ctx ctx, enum scmp_filter_attr attr, uint32_t value, const char *what,
          husk_error_t *err)
{
  int r = seccomp_attr_set (ctx, attr, value);
  if (r < 0 && r != -EOPNOTSUPP)
    return husk_error_make (err, -r, "%s: cannot set %s", SPEC_PATH ".flags", what);
  return 0;
}

static int
apply_flag (scmp_filter_ctx ctx, const char *name, size_t i, unsigned int *flags, husk_error_t *err)
{
  if (name == NULL)
    return husk_error_make (err, 0, SPEC_PATH ".flags[%zu]: missing", i);
  if (strcmp (name, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
    {
      *flags |= SECCOMP_FILTER_FLAG_TSYNC;
      return set_attr (ctx, SCMP_FLTATR_CTL_TSYNC, 1, name, err);
    }
  if (strcmp (name, "SECCOMP_FILTER_FLAG_LOG") == 0)
    {
      *flags |= SECCOMP_FILTER_FLAG_LOG;
      return set_attr (ctx, SCMP_FLTATR_CTL_LOG, 1, name, err);
    }
  if (strcmp (name, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
    {
      *flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
      return set_attr (ctx, SCMP_FLTATR_CTL_SSB, 1, name, err);
    }
  if (strcmp (name, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0)
    {
      *flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
      return set_attr (ctx, SCMP_FLTATR_CTL_WAITKILL, 1, name, err);
#else
      return 0; /* libseccomp < 2.6 has no attribute; the kernel flag is ours */
#endif
    }
  return husk_error_make (err, 0, SPEC_PATH ".flags[%zu]: unknown flag `%s`", i, name);
}

static int
add_syscall_rules (scmp_filter_ctx ctx, const husk_seccomp_syscall_t *sc, size_t i, uint32_t action,
                   uint32_t default_action, husk_error_t *err)
{
  struct scmp_arg_cmp cmps[6];
  unsigned int count[6] = { 0 };
  bool same_index = false;

  if (sc->args_len > 6)
    return husk_error_make (err, 0, SPEC_PATH ".syscalls[%zu].args: more than 6 conditions", i);

  for (size_t a = 0; a < sc->args_len; a++)
    {
      const husk_seccomp_arg_t *arg = &sc->args[a];
      enum scmp_compare op;

      if (arg->index > 5)
        return husk_error_make (err, 0, SPEC_PATH ".syscalls[%zu].args[%zu].index: %u is out of range (0-5)",
                                i, a, arg->index);
      if (operator_from_name (arg->op, &op) < 0)
        return husk_error_make (err, 0, SPEC_PATH ".syscalls[%zu].args[%zu].op: unknown operator `%s`", i, a,
                                arg->op ? arg->op : "");
      /* For MASKED_EQ, value is the mask and valueTwo the datum (runc). */
      if (op == SCMP_CMP_MASKED_EQ)
        cmps[a] = SCMP_CMP64 (arg->index, op, arg->value, arg->value_two);
      else
        cmps[a] = SCMP_CMP64 (arg->index, op, arg->value, 0);
      if (++count[arg->index] > 1)
        same_index = true;
    }

  /* libseccomp refuses a rule with the default action; it would be a no-op. */
  if (action == default_action)
    return 0;

  for (size_t n = 0; n < sc->names_len; n++)
    {
      const char *name = sc->names[n];
      int nr, r = 0;

      if (name == NULL || name[0] == '\0')
        return husk_error_make (err, 0, SPEC_PATH ".syscalls[%zu].names[%zu]: empty syscall name", i, n);
      if (action == SCMP_ACT_NOTIFY && strcmp (name, "write") == 0)
        return husk_error_make (err, 0, SPEC_PATH ".syscalls[%zu]: SCMP_ACT_NOTIFY cannot be used for the write syscall",
                                i);

      nr = seccomp_syscall_resolve_name (name);
      if (nr == __NR_SCMP_ERROR)
        continue; /* unknown to this arch or libseccomp: ignored, as runc and crun do */

      if (same_index)
        {
          /* Several conditions on one argument: one rule each (OR), as runc. */
          for (size_t a = 0; a < sc->args_len && r == 0; a++)
            r = seccomp_rule_add_array (ctx, action, nr, 1, &cmps[a]);
        }
      else
        r = seccomp_rule_add_array (ctx, action, nr, (unsigned int) sc->args_len, sc->args_len ? cmps : NULL);
      if (r < 0)
        return husk_error_make (err, -r, SPEC_PATH ".syscalls[%zu]: cannot add the rule for `%s`", i, name);
    }
  return 0;
}

/* Export the compiled program as classic BPF: through a memfd, since
 * libseccomp < 2.6 has no seccomp_export_bpf_mem. */
static int
export_bpf (scmp_filter_ctx ctx, struct sock_fprog *prog, husk_error_t *err)
{
  husk_autoclose int fd = -1;
  husk_autofree struct sock_filter *insns = NULL;
  struct stat st;
  ssize_t got;
  int r;

  fd = memfd_create ("husk-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot export the seccomp filter: memfd_create");
  r = seccomp_export_bpf (ctx, fd);
  if (r < 0)
    return husk_error_make (err, -r, "cannot export the seccomp filter");
  if (fstat (fd, &st) < 0)
    return husk_error_make (err, errno, "cannot export the seccomp filter: fstat");
  if (st.st_size <= 0 || st.st_size % sizeof (struct sock_filter) != 0)
    return husk_error_make (err, 0, "cannot export the seccomp filter: unexpected size %lld",
                            (long long) st.st_size);
  if (st.st_size / sizeof (struct sock_filter) > BPF_MAXINSNS)
    return husk_error_make (err, 0, "the seccomp filter has %lld instructions, more than the kernel's limit of %d",
                            (long long) (st.st_size / sizeof (struct sock_filter)), BPF_MAXINSNS);

  insns = xmalloc ((size_t) st.st_size);
  if (lseek (fd, 0, SEEK_SET) < 0)
    return husk_error_make (err, errno, "cannot export the seccomp filter: lseek");
  got = husk_read_all (fd, insns, (size_t) st.st_size);
  if (got < 0)
    return husk_error_make (err, errno, "cannot export the seccomp filter: read");
  if (got != st.st_size)
    return husk_error_make (err, 0, "cannot export the seccomp filter: short read");

  prog->len = (unsigned short) (st.st_size / sizeof (struct sock_filter));
  prog->filter = steal_ptr (&insns);
  return 0;
}

static bool
spec_has_notify (const husk_seccomp_t *spec)
{
  if (spec->default_action && strcmp (spec->default_action, "SCMP_ACT_NOTIFY") == 0)
    return true;
  for (size_t i = 0; i < spec->syscalls_len; i++)
    if (spec->syscalls[i].action && strcmp (spec->syscalls[i].action, "SCMP_ACT_NOTIFY") == 0)
      return true;
  return false;
}

int
husk_seccomp_compile (const husk_seccomp_t *spec, husk_seccomp_filter_t **out, husk_error_t *err)
{
  autoseccomp scmp_filter_ctx ctx = NULL;
  husk_seccomp_filter_t *f;
  struct sock_fprog prog = { 0, NULL };
  uint32_t default_action;
  unsigned int flags = 0;
  int r;

  *out = NULL;
  if (spec == NULL)
    return 0;

  if (action_from_name (spec->default_action, spec->has_default_errno_ret, spec->default_errno_ret,
                        &default_action, SPEC_PATH ".defaultAction", err)
      < 0)
    return -1;
  /* The init would block on its own first notified syscall before it could
   * pass the listener on (runc refuses it too). */
  if (default_action == SCMP_ACT_NOTIFY)
    return husk_error_make (err, 0, SPEC_PATH ".defaultAction: SCMP_ACT_NOTIFY cannot be used as default action");
  if (spec_has_notify (spec) && (spec->listener_path == NULL || spec->listener_path[0] == '\0'))
    return husk_error_make (err, 0, SPEC_PATH ": seccomp listenerPath is not set (required by SCMP_ACT_NOTIFY)");

  ctx = seccomp_init (default_action);
  if (ctx == NULL)
    return husk_error_make (err, EINVAL, SPEC_PATH ".defaultAction: cannot initialize the seccomp filter with `%s`",
                            spec->default_action);

  /* The runtime sets no_new_privs itself, from process.noNewPrivileges. */
  r = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (r < 0)
    return husk_error_make (err, -r, "cannot clear the seccomp no_new_privs attribute");

  /* A long rule list becomes a binary search on the syscall number instead
   * of a linear scan, which every syscall of the container pays for.  Small
   * lists stay linear: libseccomp <= 2.5.4 mishandles a tree with no rules. */
  if (count_syscall_names (spec) > 32)
    {
      r = seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
      if (r < 0 && r != -EOPNOTSUPP && r != -EINVAL)
        return husk_error_make (err, -r, "cannot enable the seccomp binary tree");
    }

  for (size_t i = 0; i < spec->architectures_len; i++)
    {
      uint32_t arch;
      if (arch_from_name (spec->architectures[i], &arch) < 0)
        return husk_error_make (err, 0, SPEC_PATH ".architectures[%zu]: `%s` is not supported by libseccomp %s", i,
                                spec->architectures[i] ? spec->architectures[i] : "", husk_seccomp_version ());
      r = seccomp_arch_add (ctx, arch);
      if (r == -EDOM)
        return husk_error_make (err, 0, SPEC_PATH ".architectures[%zu]: cannot add `%s`: its byte order differs "
                                "from the native architecture's", i, spec->architectures[i]);
      if (r < 0 && r != -EEXIST)
        return husk_error_make (err, -r, SPEC_PATH ".architectures[%zu]: cannot add `%s`", i, spec->architectures[i]);
    }

  for (size_t i = 0; i < spec->flags_len; i++)
    if (apply_flag (ctx, spec->flags[i], i, &flags, err) < 0)
      return -1;

  for (size_t i = 0; i < spec->syscalls_len; i++)
    {
      const husk_seccomp_syscall_t *sc = &spec->syscalls[i];
      uint32_t action;
      char path[64];

      snprintf (path, sizeof path, SPEC_PATH ".syscalls[%zu].action", i);
      if (action_from_name (sc->action, sc->has_errno_ret, sc->errno_ret, &action, path, err) < 0)
        return -1;
      if (add_syscall_rules (ctx, sc, i, action, default_action, err) < 0)
        return -1;
    }

  if (export_bpf (ctx, &prog, err) < 0)
    return -1;

  f = xmalloc0 (sizeof *f);
  f->prog = prog;
  f->wants_listener = spec_has_notify (spec) || (spec->listener_path && spec->listener_path[0]);
  if (f->wants_listener)
    {
      flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
      /* The kernel cannot report which thread failed to sync through the
       * return value when it is the listener fd. */
      if (flags & SECCOMP_FILTER_FLAG_TSYNC)
        flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }
  else
    flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV; /* only valid with a listener */
  f->flags = flags;
  f->listener_path = xstrdup (spec->listener_path);
  f->listener_metadata = xstrdup (spec->listener_metadata);
  *out = f;
  return 0;
}

#else /* !HAVE_SECCOMP */

int
husk_seccomp_compile (const husk_seccomp_t *spec, husk_seccomp_filter_t **out, husk_error_t *err)
{
  *out = NULL;
  if (spec == NULL)
    return 0;
  return husk_error_make (err, 0, SPEC_PATH ": seccomp is not supported by this build");
}

#endif

/* ---- accessors ------------------------------------------------------------ */

bool
husk_seccomp_wants_listener (const husk_seccomp_filter_t *f)
{
  return f != NULL && f->wants_listener;
}

unsigned int
husk_seccomp_filter_flags (const husk_seccomp_filter_t *f)
{
  return f ? f->flags : 0;
}

size_t
husk_seccomp_filter_len (const husk_seccomp_filter_t *f)
{
  return f ? f->prog.len : 0;
}

const struct sock_filter *
husk_seccomp_filter_insns (const husk_seccomp_filter_t *f)
{
  return f ? f->prog.filter : NULL;
}

const char *
husk_seccomp_listener_path (const husk_seccomp_filter_t *f)
{
  return f ? f->listener_path : NULL;
}

const char *
husk_seccomp_listener_metadata (const husk_seccomp_filter_t *f)
{
  return f ? f->listener_metadata : NULL;
}

void
husk_seccomp_filter_free (husk_seccomp_filter_t *f)
{
  if (f == NULL)
    return;
  free (f->prog.filter);
  free (f->listener_path);
  free (f->listener_metadata);
  free (f);
}

void
husk_seccomp_filter_freep (husk_seccomp_filter_t **f)
{
  husk_seccomp_filter_free (*f);
  *f = NULL;
}

/* ---- install ---------------------------------------------------------------- */

int
husk_seccomp_install (const husk_seccomp_filter_t *f, int *listener_fd, husk_error_t *err)
{
  /* Flags an older kernel may not know; dropping them loses logging or
   * keeps the speculative-store-bypass mitigation, both safe. */
  const unsigned int optional = SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  unsigned int flags;
  long r;

  if (listener_fd)
    *listener_fd = -1;
  if (f == NULL)
    return 0;

  flags = f->flags;
  r = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &f->prog);
  if (r < 0 && errno == EINVAL && (flags & optional))
    {
      flags &= ~optional;
      r = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &f->prog);
    }
  if (r < 0)
    return husk_error_make (err, errno, "cannot load seccomp filter");
  if (r > 0 && (flags & SECCOMP_FILTER_FLAG_TSYNC) && !(flags & SECCOMP_FILTER_FLAG_NEW_LISTENER))
    return husk_error_make (err, 0, "cannot load seccomp filter: thread %ld could not be synchronized", r);

  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
    {
      if (listener_fd)
        *listener_fd = (int) r;
      else
        close ((int) r);
    }
  return 0;
}

/* ---- listener ----------------------------------------------------------------- */

int
husk_seccomp_send_listener (const char *listener_path, int listener_fd, const char *process_state_json,
                            husk_error_t *err)
{
  husk_autoclose int sock = -1;
  husk_autoclose int path_fd = -1;
  husk_autofree char *proc_path = NULL;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  const char *target = listener_path;
  const char *payload = process_state_json ? process_state_json : "";
  size_t len = strlen (payload);
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct iovec iov;
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  ssize_t sent;

  if (listener_path == NULL || listener_path[0] == '\0')
    return husk_error_make (err, 0, "seccomp listenerPath is not set");
  if (listener_fd < 0)
    return husk_error_make (err, EBADF, "cannot send the seccomp listener to `%s`", listener_path);

  /* sun_path holds 107 bytes; reach a longer path through its O_PATH fd. */
  if (strlen (listener_path) >= sizeof addr.sun_path)
    {
      path_fd = open (listener_path, O_PATH | O_CLOEXEC);
      if (path_fd < 0)
        return husk_error_make (err, errno, "cannot connect to the seccomp listener `%s`", listener_path);
      proc_path = xstrdup_printf ("/proc/self/fd/%d", path_fd);
      target = proc_path;
    }
  memcpy (addr.sun_path, target, strlen (target) + 1);

  sock = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return husk_error_make (err, errno, "cannot create a socket for the seccomp listener");
  if (connect (sock, (struct sockaddr *) &addr, sizeof addr) < 0)
    return husk_error_make (err, errno, "cannot connect to the seccomp listener `%s`", listener_path);

  /* SCM_RIGHTS needs at least one byte of data to travel with. */
  iov.iov_base = (void *) (len ? payload : "\0");
  iov.iov_len = len ? len : 1;
  memset (&control, 0, sizeof control);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &listener_fd, sizeof (int));

  do
    sent = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent < 0)
    return husk_error_make (err, errno, "cannot send the seccomp listener to `%s`", listener_path);

  /* A stream socket may take a large state JSON in several pieces. */
  while ((size_t) sent < iov.iov_len)
    {
      ssize_t w = send (sock, (const char *) iov.iov_base + sent, iov.iov_len - (size_t) sent, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return husk_error_make (err, errno, "cannot send the container state to the seccomp listener `%s`",
                                listener_path);
      sent += w;
    }
  return 0;
}
