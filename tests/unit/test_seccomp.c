/* Unit tests for src/lib/seccomp.c: compile profiles built by hand and, in
 * forked children, install them and check what the kernel enforces. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "husk/utils.h"
#include "seccomp-filter.h"

#define ARRAY_LEN(a) (sizeof (a) / sizeof ((a)[0]))

/* Child exit codes. */
#define CHILD_OK 0
#define CHILD_WRONG 1
#define CHILD_INSTALL_FAILED 100

/* ---- helpers ------------------------------------------------------------- */

static husk_seccomp_syscall_t
rule (char **names, size_t names_len, const char *action)
{
  husk_seccomp_syscall_t s = { 0 };
  s.names = names;
  s.names_len = names_len;
  s.action = (char *) action;
  return s;
}

static husk_seccomp_t
profile (const char *default_action, husk_seccomp_syscall_t *syscalls, size_t syscalls_len)
{
  husk_seccomp_t p = { 0 };
  p.default_action = (char *) default_action;
  p.syscalls = syscalls;
  p.syscalls_len = syscalls_len;
  return p;
}

static husk_seccomp_filter_t *
compile_ok (const husk_seccomp_t *spec)
{
  husk_auto_error husk_error_t err = NULL;
  husk_seccomp_filter_t *f = NULL;
  int r = husk_seccomp_compile (spec, &f, &err);
  cr_assert_eq (r, 0, "compile failed: %s", err ? err->msg : "(no message)");
  cr_assert_null (err);
  cr_assert_not_null (f);
  cr_assert_gt (husk_seccomp_filter_len (f), 0);
  return f;
}

/* Compile must fail and the message contain `needle`. */
static void
compile_fails (const husk_seccomp_t *spec, const char *needle)
{
  husk_auto_error husk_error_t err = NULL;
  husk_seccomp_filter_t *f = NULL;
  int r = husk_seccomp_compile (spec, &f, &err);
  cr_assert_lt (r, 0, "compile succeeded, expected an error with `%s`", needle);
  cr_assert_null (f);
  cr_assert_not_null (err);
  cr_assert_not_null (strstr (err->msg, needle), "error `%s` does not contain `%s`", err->msg, needle);
}

static void
no_core_dumps (void)
{
  struct rlimit rl = { 0, 0 };
  setrlimit (RLIMIT_CORE, &rl);
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/* Fork; the child sets no_new_privs, installs f, runs fn and exits with its
 * result.  Returns the wait status. */
static int
run_filtered (const husk_seccomp_filter_t *f, int (*fn) (void))
{
  int status;
  pid_t pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    {
      husk_error_t err = NULL;
      int listener = -1;
      no_core_dumps ();
      if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        _exit (CHILD_INSTALL_FAILED);
      if (husk_seccomp_install (f, &listener, &err) < 0)
        _exit (CHILD_INSTALL_FAILED);
      if (listener >= 0)
        close (listener);
      _exit (fn ());
    }
  cr_assert_eq (waitpid (pid, &status, 0), pid);
  return status;
}

static void
assert_exit_ok (int status)
{
  cr_assert (WIFEXITED (status), "child did not exit normally (signal %d)", WIFSIGNALED (status) ? WTERMSIG (status) : 0);
  cr_assert_neq (WEXITSTATUS (status), CHILD_INSTALL_FAILED, "the filter could not be installed in the child");
  cr_assert_eq (WEXITSTATUS (status), CHILD_OK, "the syscall in the child did not behave as expected (exit %d)",
                WEXITSTATUS (status));
}

static void
assert_sigsys (int status)
{
  cr_assert (WIFSIGNALED (status), "child was not killed (exit %d)", WIFEXITED (status) ? WEXITSTATUS (status) : -1);
  cr_assert_eq (WTERMSIG (status), SIGSYS);
}

/* Expect -1 with errno e. */
#define EXPECT_ERRNO(call, e)                                                                                          \
  do                                                                                                                   \
    {                                                                                                                  \
      errno = 0;                                                                                                       \
      long r_ = (call);                                                                                                \
      if (r_ != -1 || errno != (e))                                                                                    \
        return CHILD_WRONG;                                                                                            \
    }                                                                                                                  \
  while (0)

/* ---- compile: actions ---------------------------------------------------- */

static const char *const all_actions[] = {
  "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO",
  "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
};

Test (seccomp_compile, null_spec_is_no_filter)
{
  husk_auto_error husk_error_t err = NULL;
  husk_seccomp_filter_t *f = (husk_seccomp_filter_t *) 1;
  int fd = 42;
  cr_assert_eq (husk_seccomp_compile (NULL, &f, &err), 0);
  cr_assert_null (f);
  cr_assert_not (husk_seccomp_wants_listener (NULL));
  cr_assert_eq (husk_seccomp_install (NULL, &fd, &err), 0);
  cr_assert_eq (fd, -1);
  cr_assert_null (err);
}

Test (seccomp_compile, every_action_as_rule)
{
  char *names[] = { "getcwd" };
  for (size_t i = 0; i < ARRAY_LEN (all_actions); i++)
    {
      husk_seccomp_syscall_t sc = rule (names, 1, all_actions[i]);
      husk_seccomp_t p = profile ("SCMP_ACT_ERRNO", &sc, 1);
      p.listener_path = "/run/agent.sock"; /* NOTIFY needs one */
      husk_seccomp_filter_t *f = compile_ok (&p);
      husk_seccomp_filter_free (f);
    }
}

Test (seccomp_compile, every_action_but_notify_as_default)
{
  char *names[] = { "getcwd" };
  for (size_t i = 0; i < ARRAY_LEN (all_actions); i++)
    {
      husk_seccomp_syscall_t sc = rule (names, 1, "SCMP_ACT_ALLOW");
      husk_seccomp_t p = profile (all_actions[i], &sc, 1);
      if (strcmp (all_actions[i], "SCMP_ACT_NOTIFY") == 0)
        {
          p.listener_path = "/run/agent.sock";
          compile_fails (&p, "SCMP_ACT_NOTIFY cannot be used as default action");
          continue;
        }
      husk_seccomp_filter_t *f = compile_ok (&p);
      cr_assert_not (husk_seccomp_wants_listener (f));
      husk_seccomp_filter_free (f);
    }
}

Test (seccomp_compile, unknown_action_is_an_error)
{
  husk_seccomp_t p = profile ("SCMP_ACT_FROBNICATE", NULL, 0);
  compile_fails (&p, "linux.seccomp.defaultAction: unknown action `SCMP_ACT_FROBNICATE`");
}

Test (seccomp_compile, errno_ret_must_fit)
{
  husk_seccomp_t p = profile ("SCMP_ACT_ERRNO", NULL, 0);
  p.has_default_errno_ret = true;
  p.default_errno_ret = 70000;
  compile_fails (&p, "does not fit in 16 bits");
}

Test (seccomp_compile, notify_rules_follow_runc)
{
  char *write_names[] = { "read", "write" };
  char *names[] = { "getppid" };
  husk_seccomp_syscall_t w = rule (write_names, 2, "SCMP_ACT_NOTIFY");
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &w, 1);
  p.listener_path = "/run/agent.sock";
  compile_fails (&p, "SCMP_ACT_NOTIFY cannot be used for the write syscall");

  husk_seccomp_syscall_t n = rule (names, 1, "SCMP_ACT_NOTIFY");
  husk_seccomp_t q = profile ("SCMP_ACT_ALLOW", &n, 1);
  compile_fails (&q, "seccomp listenerPath is not set");

  q.listener_path = "/run/agent.sock";
  q.listener_metadata = "meta";
  husk_seccomp_filter_t *f = compile_ok (&q);
  cr_assert (husk_seccomp_wants_listener (f));
  cr_assert (husk_seccomp_filter_flags (f) & SECCOMP_FILTER_FLAG_NEW_LISTENER);
  cr_assert_str_eq (husk_seccomp_listener_path (f), "/run/agent.sock");
  cr_assert_str_eq (husk_seccomp_listener_metadata (f), "meta");
  husk_seccomp_filter_free (f);
}

Test (seccomp_compile, listener_path_alone_wants_listener)
{
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", NULL, 0);
  husk_seccomp_filter_t *f = compile_ok (&p);
  cr_assert_not (husk_seccomp_wants_listener (f));
  cr_assert_not (husk_seccomp_filter_flags (f) & SECCOMP_FILTER_FLAG_NEW_LISTENER);
  cr_assert_null (husk_seccomp_listener_path (f));
  husk_seccomp_filter_free (f);

  p.listener_path = "/run/agent.sock";
  f = compile_ok (&p);
  cr_assert (husk_seccomp_wants_listener (f));
  cr_assert (husk_seccomp_filter_flags (f) & SECCOMP_FILTER_FLAG_NEW_LISTENER);
  husk_seccomp_filter_free (f);
}

/* ---- compile: names, args, arches, flags -------------------------------------- */

Test (seccomp_compile, unknown_syscalls_are_skipped)
{
  char *only_unknown[] = { "husk_no_such_syscall", "another_fake_one" };
  husk_seccomp_syscall_t sc = rule (only_unknown, 2, "SCMP_ACT_ERRNO");
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  husk_seccomp_filter_t *f = compile_ok (&p);
  husk_seccomp_filter_free (f);
}

Test (seccomp_compile, empty_syscall_name_is_an_error)
{
  char *names[] = { "getcwd", "" };
  husk_seccomp_syscall_t sc = rule (names, 2, "SCMP_ACT_ERRNO");
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  compile_fails (&p, "linux.seccomp.syscalls[0].names[1]: empty syscall name");
}

Test (seccomp_compile, rule_with_default_action_is_skipped)
{
  char *names[] = { "getcwd" };
  husk_seccomp_syscall_t sc[2] = { rule (names, 1, "SCMP_ACT_ALLOW"), rule (names, 1, "SCMP_ACT_ERRNO") };
  husk_seccomp_t allow = profile ("SCMP_ACT_ALLOW", sc, 1);
  husk_seccomp_filter_t *f = compile_ok (&allow);
  husk_seccomp_filter_free (f);

  /* ERRNO(EPERM) == default ERRNO(EPERM): skipped; ERRNO(38) differs: kept. */
  husk_seccomp_t errno_default = profile ("SCMP_ACT_ERRNO", &sc[1], 1);
  husk_seccomp_filter_t *same = compile_ok (&errno_default);
  husk_seccomp_t bare = profile ("SCMP_ACT_ERRNO", NULL, 0);
  husk_seccomp_filter_t *none = compile_ok (&bare);
  cr_assert_eq (husk_seccomp_filter_len (same), husk_seccomp_filter_len (none));
  sc[1].has_errno_ret = true;
  sc[1].errno_ret = 38;
  husk_seccomp_filter_t *other = compile_ok (&errno_default);
  cr_assert_gt (husk_seccomp_filter_len (other), husk_seccomp_filter_len (none));
  husk_seccomp_filter_free (same);
  husk_seccomp_filter_free (none);
  husk_seccomp_filter_free (other);
}

Test (seccomp_compile, every_operator)
{
  static const char *const ops[] = { "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",       "SCMP_CMP_EQ",
                                     "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ" };
  char *names[] = { "personality" };
  for (size_t i = 0; i < ARRAY_LEN (ops); i++)
    {
      husk_seccomp_arg_t arg = { .index = 0, .value = 8, .value_two = 8, .op = (char *) ops[i] };
      husk_seccomp_syscall_t sc = rule (names, 1, "SCMP_ACT_ERRNO");
      sc.args = &arg;
      sc.args_len = 1;
      husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
      husk_seccomp_filter_t *f = compile_ok (&p);
      husk_seccomp_filter_free (f);
    }
}

Test (seccomp_compile, bad_args_are_errors)
{
  char *names[] = { "personality" };
  husk_seccomp_arg_t arg = { .index = 6, .value = 1, .op = "SCMP_CMP_EQ" };
  husk_seccomp_syscall_t sc = rule (names, 1, "SCMP_ACT_ERRNO");
  sc.args = &arg;
  sc.args_len = 1;
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  compile_fails (&p, "linux.seccomp.syscalls[0].args[0].index: 6 is out of range");

  arg.index = 0;
  arg.op = "SCMP_CMP_ROUGHLY";
  compile_fails (&p, "linux.seccomp.syscalls[0].args[0].op: unknown operator `SCMP_CMP_ROUGHLY`");
}

Test (seccomp_compile, architectures)
{
  char *arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" };
  char *names[] = { "getcwd", "socketcall" };
  husk_seccomp_syscall_t sc = rule (names, 2, "SCMP_ACT_ERRNO");
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  husk_seccomp_filter_t *native = compile_ok (&p);
  p.architectures = arches;
  p.architectures_len = ARRAY_LEN (arches);
  husk_seccomp_filter_t *multi = compile_ok (&p);
  cr_assert_gt (husk_seccomp_filter_len (multi), husk_seccomp_filter_len (native));
  husk_seccomp_filter_free (native);
  husk_seccomp_filter_free (multi);

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  char *big_endian[] = { "SCMP_ARCH_S390X" };
  p.architectures = big_endian;
  p.architectures_len = 1;
  compile_fails (&p, "linux.seccomp.architectures[0]: cannot add `SCMP_ARCH_S390X`: its byte order differs");
#endif

  char *bad[] = { "SCMP_ARCH_VAX" };
  p.architectures = bad;
  p.architectures_len = 1;
  compile_fails (&p, "linux.seccomp.architectures[0]: `SCMP_ARCH_VAX` is not supported");
}

Test (seccomp_compile, flags_are_recorded)
{
  char *flags[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC",
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" };
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", NULL, 0);
  p.flags = flags;
  p.flags_len = ARRAY_LEN (flags);
  husk_seccomp_filter_t *f = compile_ok (&p);
  unsigned int fl = husk_seccomp_filter_flags (f);
  cr_assert (fl & SECCOMP_FILTER_FLAG_LOG);
  cr_assert (fl & SECCOMP_FILTER_FLAG_SPEC_ALLOW);
  cr_assert (fl & SECCOMP_FILTER_FLAG_TSYNC);
  /* Only meaningful (and accepted by the kernel) with a listener. */
  cr_assert_not (fl & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  cr_assert_not (fl & SECCOMP_FILTER_FLAG_NEW_LISTENER);
  husk_seccomp_filter_free (f);

  p.listener_path = "/run/agent.sock";
  f = compile_ok (&p);
  fl = husk_seccomp_filter_flags (f);
  cr_assert (fl & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  cr_assert (fl & SECCOMP_FILTER_FLAG_NEW_LISTENER);
  cr_assert (fl & SECCOMP_FILTER_FLAG_TSYNC_ESRCH, "TSYNC with a listener needs TSYNC_ESRCH");
  husk_seccomp_filter_free (f);

  char *bad[] = { "SECCOMP_FILTER_FLAG_FAST" };
  p.flags = bad;
  p.flags_len = 1;
  compile_fails (&p, "linux.seccomp.flags[0]: unknown flag `SECCOMP_FILTER_FLAG_FAST`");
}

/* ---- enforcement --------------------------------------------------------------- */

static int
getcwd_and_mkdir_enosys (void)
{
  char buf[256];
  /* Raw syscalls: glibc's mkdir() is mkdirat on x86_64. */
  EXPECT_ERRNO (syscall (SYS_getcwd, buf, sizeof buf), 38);
  EXPECT_ERRNO (syscall (SYS_mkdir, "/", 0755), 38);
  /* Other syscalls still work. */
  if (syscall (SYS_getppid) <= 0)
    return CHILD_WRONG;
  return CHILD_OK;
}

Test (seccomp_enforce, errno_rule)
{
  char *names[] = { "husk_no_such_syscall", "getcwd", "mkdir" };
  husk_seccomp_syscall_t sc = rule (names, ARRAY_LEN (names), "SCMP_ACT_ERRNO");
  sc.has_errno_ret = true;
  sc.errno_ret = 38;
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_exit_ok (run_filtered (f, getcwd_and_mkdir_enosys));
}

static int
getcwd_eperm (void)
{
  char buf[256];
  EXPECT_ERRNO (syscall (SYS_getcwd, buf, sizeof buf), EPERM);
  return CHILD_OK;
}

/* A docker-like allow list: long enough for husk to ask libseccomp for a
 * binary tree (more than 32 names, as runc does). */
static char *long_allow_list[] = {
  "accept", "accept4", "access", "alarm", "bind", "brk", "capget", "capset", "chdir", "chmod", "chown",
  "clock_getres", "clock_gettime", "clock_nanosleep", "close", "connect", "dup", "dup2", "dup3",
  "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_wait", "eventfd2", "execve", "exit", "exit_group",
  "faccessat", "fadvise64", "fallocate", "fchdir", "fchmod", "fchown", "fcntl", "fdatasync", "flock",
  "fstat", "fsync", "ftruncate", "futex", "getcwd", "getdents64", "getegid", "geteuid", "getgid",
  "getpid", "getppid", "getrandom", "getrlimit", "getsockname", "gettid", "gettimeofday", "ioctl",
  "kill", "listen", "lseek", "madvise", "mmap", "mprotect", "munmap", "nanosleep", "newfstatat",
  "openat", "pipe2", "poll", "prctl", "pread64", "prlimit64", "read", "readlink", "recvfrom",
  "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sched_yield", "sendto", "set_robust_list",
  "set_tid_address", "setsockopt", "socket", "stat", "statx", "uname", "unlink", "wait4", "write",
};

/* Conditional jumps on the syscall number other than "equal": a linear
 * filter has at most the few of its architecture checks, a tree has many. */
static size_t
count_range_jumps (const husk_seccomp_filter_t *f)
{
  const struct sock_filter *insn = husk_seccomp_filter_insns (f);
  size_t n = 0;
  for (size_t i = 0; i < husk_seccomp_filter_len (f); i++)
    if (BPF_CLASS (insn[i].code) == BPF_JMP && (BPF_OP (insn[i].code) == BPF_JGE || BPF_OP (insn[i].code) == BPF_JGT))
      n++;
  return n;
}

Test (seccomp_compile, long_lists_become_a_binary_tree)
{
  husk_seccomp_syscall_t long_rule = rule (long_allow_list, ARRAY_LEN (long_allow_list), "SCMP_ACT_ALLOW");
  husk_seccomp_t long_p = profile ("SCMP_ACT_ERRNO", &long_rule, 1);
  husk_autoseccomp_filter husk_seccomp_filter_t *tree = compile_ok (&long_p);
  husk_seccomp_syscall_t short_rule = rule (long_allow_list, 8, "SCMP_ACT_ALLOW");
  husk_seccomp_t short_p = profile ("SCMP_ACT_ERRNO", &short_rule, 1);
  husk_autoseccomp_filter husk_seccomp_filter_t *linear = compile_ok (&short_p);

  cr_assert_geq (count_range_jumps (tree), 8, "a %zu-name list compiled without range jumps (%zu): no binary tree",
                 ARRAY_LEN (long_allow_list), count_range_jumps (tree));
  cr_assert_leq (count_range_jumps (linear), 2, "an 8-name list should stay linear (%zu range jumps)",
                 count_range_jumps (linear));
}

static int
tree_allows_listed_only (void)
{
  /* listed: the first, one in the middle, the last */
  if (syscall (SYS_getppid) <= 0)
    return CHILD_WRONG;
  if (syscall (SYS_accept, -1, NULL, NULL) != -1 || errno != EBADF)
    return CHILD_WRONG;
  if (syscall (SYS_write, -1, "", 0) != -1 || errno != EBADF)
    return CHILD_WRONG;
  /* not listed: the default action */
  EXPECT_ERRNO (syscall (SYS_getuid), EPERM);
  EXPECT_ERRNO (syscall (SYS_sethostname, "x", 1), EPERM);
  EXPECT_ERRNO (syscall (SYS_mkdir, "/nonexistent-husk", 0755), EPERM);
  return CHILD_OK;
}

Test (seccomp_enforce, binary_tree_allows_exactly_the_list)
{
  husk_seccomp_syscall_t sc = rule (long_allow_list, ARRAY_LEN (long_allow_list), "SCMP_ACT_ALLOW");
  husk_seccomp_t p = profile ("SCMP_ACT_ERRNO", &sc, 1);
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_exit_ok (run_filtered (f, tree_allows_listed_only));
}

Test (seccomp_enforce, errno_defaults_to_eperm)
{
  char *names[] = { "getcwd" };
  husk_seccomp_syscall_t sc = rule (names, 1, "SCMP_ACT_ERRNO");
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_exit_ok (run_filtered (f, getcwd_eperm));
}

static int
getppid_enosys (void)
{
  EXPECT_ERRNO (syscall (SYS_getppid), 38);
  return CHILD_OK;
}

Test (seccomp_enforce, default_errno_ret)
{
  char *names[] = { "exit", "exit_group" };
  husk_seccomp_syscall_t sc = rule (names, 2, "SCMP_ACT_ALLOW");
  husk_seccomp_t p = profile ("SCMP_ACT_ERRNO", &sc, 1);
  p.has_default_errno_ret = true;
  p.default_errno_ret = 38;
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_exit_ok (run_filtered (f, getppid_enosys));
}

static int
personality_args (void)
{
  EXPECT_ERRNO (syscall (SYS_personality, 0xffffffffUL), 38);
  /* A different value is not matched: PER_LINUX is the current persona. */
  if (syscall (SYS_personality, (unsigned long) PER_LINUX) < 0)
    return CHILD_WRONG;
  return CHILD_OK;
}

Test (seccomp_enforce, arg_eq)
{
  char *names[] = { "personality" };
  husk_seccomp_arg_t arg = { .index = 0, .value = 0xffffffffULL, .op = "SCMP_CMP_EQ" };
  husk_seccomp_syscall_t sc = rule (names, 1, "SCMP_ACT_ERRNO");
  sc.has_errno_ret = true;
  sc.errno_ret = 38;
  sc.args = &arg;
  sc.args_len = 1;
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_exit_ok (run_filtered (f, personality_args));
}

static int
umask_masked (void)
{
  /* (mask & 0700) == 0500 is refused; umask never fails otherwise. */
  EXPECT_ERRNO (syscall (SYS_umask, 0577), 38);
  EXPECT_ERRNO (syscall (SYS_umask, 0500), 38);
  if (syscall (SYS_umask, 0777) < 0 || syscall (SYS_umask, 0022) < 0 || syscall (SYS_umask, 0700) < 0)
    return CHILD_WRONG;
  return CHILD_OK;
}

Test (seccomp_enforce, arg_masked_eq)
{
  char *names[] = { "umask" };
  /* value is the mask, valueTwo the datum (runc). */
  husk_seccomp_arg_t arg = { .index = 0, .value = 0700, .value_two = 0500, .op = "SCMP_CMP_MASKED_EQ" };
  husk_seccomp_syscall_t sc = rule (names, 1, "SCMP_ACT_ERRNO");
  sc.has_errno_ret = true;
  sc.errno_ret = 38;
  sc.args = &arg;
  sc.args_len = 1;
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_exit_ok (run_filtered (f, umask_masked));
}

static int
umask_or (void)
{
  EXPECT_ERRNO (syscall (SYS_umask, 0111), 38);
  EXPECT_ERRNO (syscall (SYS_umask, 0222), 38);
  if (syscall (SYS_umask, 0022) < 0)
    return CHILD_WRONG;
  return CHILD_OK;
}

Test (seccomp_enforce, same_index_args_are_ored)
{
  char *names[] = { "umask" };
  husk_seccomp_arg_t args[] = {
    { .index = 0, .value = 0111, .op = "SCMP_CMP_EQ" },
    { .index = 0, .value = 0222, .op = "SCMP_CMP_EQ" },
  };
  husk_seccomp_syscall_t sc = rule (names, 1, "SCMP_ACT_ERRNO");
  sc.has_errno_ret = true;
  sc.errno_ret = 38;
  sc.args = args;
  sc.args_len = 2;
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_exit_ok (run_filtered (f, umask_or));
}

static int
getpriority_and (void)
{
  /* Both conditions hold: refused. */
  EXPECT_ERRNO (syscall (SYS_getpriority, PRIO_PROCESS, 0), 38);
  /* Only one holds: the real syscall runs (and succeeds, or fails otherwise). */
  errno = 0;
  if (syscall (SYS_getpriority, PRIO_PGRP, 0) < 0 && errno == 38)
    return CHILD_WRONG;
  errno = 0;
  if (syscall (SYS_getpriority, PRIO_PROCESS, getpid ()) < 0 && errno == 38)
    return CHILD_WRONG;
  return CHILD_OK;
}

Test (seccomp_enforce, different_index_args_are_anded)
{
  char *names[] = { "getpriority" };
  husk_seccomp_arg_t args[] = {
    { .index = 0, .value = PRIO_PROCESS, .op = "SCMP_CMP_EQ" },
    { .index = 1, .value = 0, .op = "SCMP_CMP_EQ" },
  };
  husk_seccomp_syscall_t sc = rule (names, 1, "SCMP_ACT_ERRNO");
  sc.has_errno_ret = true;
  sc.errno_ret = 38;
  sc.args = args;
  sc.args_len = 2;
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_exit_ok (run_filtered (f, getpriority_and));
}

static int
call_getppid (void)
{
  syscall (SYS_getppid);
  return CHILD_WRONG; /* should not get here */
}

static void
expect_killed_by (const char *action)
{
  char *names[] = { "getppid" };
  husk_seccomp_syscall_t sc = rule (names, 1, action);
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_sigsys (run_filtered (f, call_getppid));
}

Test (seccomp_enforce, kill_process) { expect_killed_by ("SCMP_ACT_KILL_PROCESS"); }
Test (seccomp_enforce, kill_thread) { expect_killed_by ("SCMP_ACT_KILL_THREAD"); }
Test (seccomp_enforce, kill) { expect_killed_by ("SCMP_ACT_KILL"); }
Test (seccomp_enforce, trap) { expect_killed_by ("SCMP_ACT_TRAP"); }

static int
getppid_enosys_untraced (void)
{
  /* SCMP_ACT_TRACE without a tracer: the kernel fails the syscall with ENOSYS. */
  EXPECT_ERRNO (syscall (SYS_getppid), ENOSYS);
  return CHILD_OK;
}

Test (seccomp_enforce, trace_without_tracer)
{
  char *names[] = { "getppid" };
  husk_seccomp_syscall_t sc = rule (names, 1, "SCMP_ACT_TRACE");
  sc.has_errno_ret = true;
  sc.errno_ret = 7;
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_exit_ok (run_filtered (f, getppid_enosys_untraced));
}

static int
getppid_works (void)
{
  return syscall (SYS_getppid) == (long) getppid () && getppid () > 0 ? CHILD_OK : CHILD_WRONG;
}

Test (seccomp_enforce, log_action_and_flags)
{
  char *names[] = { "getppid" };
  char *flags[] = { "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC" };
  husk_seccomp_syscall_t sc = rule (names, 1, "SCMP_ACT_LOG");
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  p.flags = flags;
  p.flags_len = ARRAY_LEN (flags);
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_exit_ok (run_filtered (f, getppid_works));
}

Test (seccomp_enforce, listener_with_wait_killable_recv)
{
  char *flags[] = { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC" };
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", NULL, 0);
  p.flags = flags;
  p.flags_len = ARRAY_LEN (flags);
  p.listener_path = "/run/agent.sock";
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  assert_exit_ok (run_filtered (f, getppid_works));
}

Test (seccomp_enforce, install_error_message)
{
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", NULL, 0);
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  int status;
  pid_t pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    {
      husk_error_t err = NULL;
      /* Without no_new_privs and without CAP_SYS_ADMIN the kernel refuses. */
      if (geteuid () == 0 && setresuid (65534, 65534, 65534) < 0)
        _exit (2);
      if (husk_seccomp_install (f, NULL, &err) == 0)
        _exit (3);
      _exit (strcmp (err->msg, "cannot load seccomp filter: Permission denied") == 0 ? 0 : 4);
    }
  cr_assert_eq (waitpid (pid, &status, 0), pid);
  cr_assert (WIFEXITED (status));
  cr_assert_eq (WEXITSTATUS (status), 0, "child exit %d", WEXITSTATUS (status));
}

/* ---- notify and the listener ------------------------------------------------- */

/* A listening AF_UNIX socket at dir/name; returns the socket. */
static int
listen_at (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert_geq (s, 0);
  cr_assert_lt (strlen (path), sizeof addr.sun_path);
  strcpy (addr.sun_path, path);
  cr_assert_eq (bind (s, (struct sockaddr *) &addr, sizeof addr), 0, "bind %s: %s", path, strerror (errno));
  cr_assert_eq (listen (s, 1), 0);
  return s;
}

static void
wait_readable (int fd, const char *what)
{
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  int r = poll (&pfd, 1, 10000);
  cr_assert_eq (r, 1, "timed out waiting for %s", what);
}

/* Accept one connection; read the whole payload and the SCM_RIGHTS fd. */
static char *
accept_listener (int lsock, int *fd_out, size_t *len_out)
{
  size_t cap = 1024, len = 0;
  char *buf = xmalloc (cap + 1);
  int conn;

  *fd_out = -1;
  wait_readable (lsock, "the listener connection");
  conn = accept4 (lsock, NULL, NULL, SOCK_CLOEXEC);
  cr_assert_geq (conn, 0);
  for (;;)
    {
      union
      {
        char b[CMSG_SPACE (sizeof (int))];
        struct cmsghdr align;
      } control;
      struct iovec iov = { .iov_base = buf + len, .iov_len = cap - len };
      struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b,
                            .msg_controllen = sizeof control.b };
      wait_readable (conn, "the listener payload");
      ssize_t r = recvmsg (conn, &msg, MSG_CMSG_CLOEXEC);
      cr_assert_geq (r, 0, "recvmsg: %s", strerror (errno));
      if (r == 0)
        break;
      for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c; c = CMSG_NXTHDR (&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
          {
            cr_assert_eq (*fd_out, -1, "more than one fd received");
            memcpy (fd_out, CMSG_DATA (c), sizeof (int));
          }
      len += (size_t) r;
      if (len == cap)
        {
          cap *= 2;
          buf = xrealloc (buf, cap + 1);
        }
    }
  close (conn);
  buf[len] = '\0';
  *len_out = len;
  return buf;
}

static char tmpdir[] = "/tmp/husk-test-seccomp-XXXXXX";

static void
make_tmpdir (void)
{
  cr_assert_not_null (mkdtemp (tmpdir));
}

static void
remove_tmpdir (void)
{
  husk_rm_rf (tmpdir, NULL);
}

#define STATE_JSON "{\"ociVersion\":\"1.2.0\",\"fds\":[\"seccompFd\"],\"pid\":1,\"metadata\":\"meta\"}"

Test (seccomp_notify, notify_through_listener, .init = make_tmpdir, .fini = remove_tmpdir)
{
  husk_autofree char *sock_path = xstrdup_printf ("%s/agent.sock", tmpdir);
  husk_autoclose int lsock = listen_at (sock_path);
  char *names[] = { "getppid" };
  husk_seccomp_syscall_t sc = rule (names, 1, "SCMP_ACT_NOTIFY");
  husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", &sc, 1);
  p.listener_path = sock_path;
  husk_autoseccomp_filter husk_seccomp_filter_t *f = compile_ok (&p);
  cr_assert (husk_seccomp_wants_listener (f));

  pid_t pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    {
      husk_error_t err = NULL;
      int listener = -1;
      no_core_dumps ();
      if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || husk_seccomp_install (f, &listener, &err) < 0)
        _exit (CHILD_INSTALL_FAILED);
      if (listener < 0)
        _exit (101);
      if (husk_seccomp_send_listener (husk_seccomp_listener_path (f), listener, STATE_JSON, &err) < 0)
        _exit (102);
      close (listener);
      /* Blocks until the agent (the test) answers. */
      _exit (syscall (SYS_getppid) == 4242 ? CHILD_OK : CHILD_WRONG);
    }

  size_t len;
  int nfd;
  husk_autofree char *payload = accept_listener (lsock, &nfd, &len);
  husk_autoclose int notify_fd = nfd;
  cr_assert_geq (notify_fd, 0, "no fd received");
  cr_assert_str_eq (payload, STATE_JSON);

  struct seccomp_notif req;
  memset (&req, 0, sizeof req);
  wait_readable (notify_fd, "a seccomp notification");
  cr_assert_eq (ioctl (notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req), 0, "NOTIF_RECV: %s", strerror (errno));
  cr_assert_eq (req.pid, (uint32_t) pid);
  cr_assert_eq (req.data.nr, SYS_getppid);

  struct seccomp_notif_resp resp = { .id = req.id, .val = 4242, .error = 0, .flags = 0 };
  cr_assert_eq (ioctl (notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0, "NOTIF_SEND: %s", strerror (errno));

  int status;
  cr_assert_eq (waitpid (pid, &status, 0), pid);
  assert_exit_ok (status);
}

/* A path longer than sun_path, and a payload larger than a socket buffer. */
Test (seccomp_notify, send_listener_long_path_big_payload, .init = make_tmpdir, .fini = remove_tmpdir)
{
  char long_name[120];
  memset (long_name, 'd', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  husk_autofree char *dir = xstrdup_printf ("%s/%s", tmpdir, long_name);
  husk_autofree char *sock_path = xstrdup_printf ("%s/agent.sock", dir);
  cr_assert_eq (mkdir (dir, 0700), 0);
  cr_assert_geq (strlen (sock_path), sizeof ((struct sockaddr_un *) 0)->sun_path);

  /* Bind through a short name, then address the socket by its long path. */
  husk_autoclose int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cr_assert_geq (dfd, 0);
  husk_autofree char *short_path = xstrdup_printf ("/proc/self/fd/%d/agent.sock", dfd);
  husk_autoclose int lsock = listen_at (short_path);

  size_t big = 1 << 20;
  husk_autofree char *json = xmalloc (big + 1);
  memset (json, 'x', big);
  json[0] = '{';
  json[big - 1] = '}';
  json[big] = '\0';

  int pipefd[2] = { -1, -1 };
  cr_assert_eq (pipe2 (pipefd, O_CLOEXEC), 0);

  pid_t pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    {
      husk_error_t err = NULL;
      _exit (husk_seccomp_send_listener (sock_path, pipefd[1], json, &err) == 0 ? 0 : 1);
    }

  size_t len;
  int nfd;
  husk_autofree char *payload = accept_listener (lsock, &nfd, &len);
  husk_autoclose int got_fd = nfd;
  int status;
  cr_assert_eq (waitpid (pid, &status, 0), pid);
  cr_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0, "send_listener failed in the child");
  cr_assert_eq (len, big);
  cr_assert_eq (memcmp (payload, json, big), 0);
  cr_assert_geq (got_fd, 0);

  /* The fd received is the write end of our pipe. */
  struct stat a, b;
  cr_assert_eq (fstat (got_fd, &a), 0);
  cr_assert_eq (fstat (pipefd[1], &b), 0);
  cr_assert_eq (a.st_ino, b.st_ino);
  close (pipefd[1]);
  close (pipefd[0]);
}

Test (seccomp_notify, send_listener_errors)
{
  husk_auto_error husk_error_t err = NULL;
  cr_assert_lt (husk_seccomp_send_listener ("/nonexistent/husk/agent.sock", 0, STATE_JSON, &err), 0);
  cr_assert_not_null (strstr (err->msg, "cannot connect to the seccomp listener `/nonexistent/husk/agent.sock`"),
                      "%s", err->msg);
  husk_error_release (&err);
  cr_assert_lt (husk_seccomp_send_listener (NULL, 0, STATE_JSON, &err), 0);
  cr_assert_str_eq (err->msg, "seccomp listenerPath is not set");
}

/* ---- features --------------------------------------------------------------- */

static bool
in_list (const char *const *list, const char *name)
{
  for (; *list; list++)
    if (strcmp (*list, name) == 0)
      return true;
  return false;
}

Test (seccomp_features, names_and_version)
{
  for (size_t i = 0; i < ARRAY_LEN (all_actions); i++)
    cr_assert (in_list (husk_seccomp_action_names, all_actions[i]), "%s", all_actions[i]);
  cr_assert (in_list (husk_seccomp_operator_names, "SCMP_CMP_MASKED_EQ"));
  cr_assert (in_list (husk_seccomp_operator_names, "SCMP_CMP_NE"));
  cr_assert (in_list (husk_seccomp_arch_names, "SCMP_ARCH_X86_64"));
  cr_assert (in_list (husk_seccomp_arch_names, "SCMP_ARCH_RISCV64"));
  cr_assert (in_list (husk_seccomp_flag_names, "SECCOMP_FILTER_FLAG_LOG"));
  cr_assert (in_list (husk_seccomp_flag_names, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"));

  /* Every arch name listed is known to libseccomp: it compiles, or is
   * refused only because one filter cannot mix byte orders. */
  size_t compiled = 0;
  for (const char *const *a = husk_seccomp_arch_names; *a; a++)
    {
      char *arches[] = { (char *) *a };
      husk_auto_error husk_error_t err = NULL;
      husk_seccomp_filter_t *f = NULL;
      husk_seccomp_t p = profile ("SCMP_ACT_ALLOW", NULL, 0);
      p.architectures = arches;
      p.architectures_len = 1;
      if (husk_seccomp_compile (&p, &f, &err) == 0)
        compiled++;
      else
        cr_assert_not_null (strstr (err->msg, "byte order differs"), "%s: %s", *a, err->msg);
      husk_seccomp_filter_free (f);
    }
  cr_assert_geq (compiled, 3);

  const char *v = husk_seccomp_version ();
  unsigned a, b, c;
  cr_assert_not_null (v);
  cr_assert_eq (sscanf (v, "%u.%u.%u", &a, &b, &c), 3, "version `%s`", v);
  cr_assert_geq (a * 100 + b, 205, "libseccomp %s is older than 2.5", v);
}
