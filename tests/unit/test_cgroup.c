/* husk: cgroup tests.  The conversions and path cleaning need nothing; the
 * rest creates real cgroups under an absolute test parent
 * (/husk-unit-<pid>) in every hierarchy, and removes them.  They need root
 * and skip without it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cgroup-internal.h"
#include "cgroup.h"
#include "husk/utils.h"

/* --- pure helpers ------------------------------------------------------- */

static void
check_clean (const char *in, const char *want)
{
  husk_autofree char *got = husk_cgroup_clean_path (in);
  cr_assert_str_eq (got, want, "clean(%s) = %s, want %s", in ? in : "NULL", got, want);
}

Test (cgroup_path, clean)
{
  check_clean ("../../x", "/x");
  check_clean ("/../../x", "/x");
  check_clean ("a/../../b", "/b");
  check_clean ("/a/./b//c/", "/a/b/c");
  check_clean ("a/b/../c", "/a/c");
  check_clean ("..", "/");
  check_clean ("", "/");
  check_clean (NULL, "/");
  check_clean ("/", "/");
  check_clean ("..x/y..", "/..x/y..");
  check_clean ("/a/b/../../../../etc", "/etc");
}

Test (cgroup_convert, shares_to_weight)
{
  static const uint64_t table[][2] = {
    { 0, 0 }, { 1, 1 }, { 2, 1 }, { 1024, 39 }, { 512, 20 }, { 262144, 10000 }, { 1000000, 10000 },
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    cr_assert_eq (husk_cgroup_shares_to_weight (table[i][0]), table[i][1], "shares %lu -> %lu, want %lu",
                  (unsigned long) table[i][0], (unsigned long) husk_cgroup_shares_to_weight (table[i][0]),
                  (unsigned long) table[i][1]);
}

Test (cgroup_convert, blkio_to_io_weight)
{
  cr_assert_eq (husk_cgroup_blkio_to_io_weight (0), 0);
  cr_assert_eq (husk_cgroup_blkio_to_io_weight (10), 1);
  cr_assert_eq (husk_cgroup_blkio_to_io_weight (1000), 10000);
  cr_assert_eq (husk_cgroup_blkio_to_io_weight (500), 1 + 490 * 9999 / 990);
}

static int64_t
swap_ok (int64_t swap, int64_t mem)
{
  husk_auto_error husk_error_t err = NULL;
  int64_t out = 12345;
  cr_assert_geq (husk_cgroup_swap_to_v2 (swap, mem, &out, &err), 0, "swap %lld mem %lld: %s", (long long) swap,
                 (long long) mem, err ? err->msg : "");
  return out;
}

static const char *
swap_err (int64_t swap, int64_t mem)
{
  static char msg[256];
  husk_auto_error husk_error_t err = NULL;
  int64_t out;
  cr_assert_lt (husk_cgroup_swap_to_v2 (swap, mem, &out, &err), 0, "swap %lld mem %lld should fail", (long long) swap,
                (long long) mem);
  snprintf (msg, sizeof msg, "%s", err->msg);
  return msg;
}

Test (cgroup_convert, swap)
{
  cr_assert_eq (swap_ok (0, 0), 0);
  cr_assert_eq (swap_ok (0, 100), 0);       /* unset stays unset */
  cr_assert_eq (swap_ok (-1, 100), -1);     /* max */
  cr_assert_eq (swap_ok (0, -1), -1);       /* unlimited memory: unlimited swap */
  cr_assert_eq (swap_ok (300, 100), 200);   /* memory+swap - memory */
  cr_assert_eq (swap_ok (100, 100), 0);     /* no swap */
  cr_assert_str_eq (swap_err (50, 100), "memory+swap limit should be >= memory limit");
  cr_assert_str_eq (swap_err (100, 0), "unable to set swap limit without memory limit");
  cr_assert_str_eq (swap_err (100, -1), "unable to set swap limit without memory limit");
}

/* --- real cgroups ------------------------------------------------------- */

typedef struct
{
  char mount[200];
  bool v2;
  char opts[256]; /* ",rw,cpu,cpuacct," */
} tmount_t;

static tmount_t tmounts[32];
static size_t ntmounts;
static char parent[64];
static pid_t child = -1;

/* The cgroup mounts, found independently of the code under test. */
static void
list_mounts (void)
{
  FILE *f = fopen ("/proc/self/mountinfo", "re");
  char line[4096];
  ntmounts = 0;
  cr_assert_not_null (f);
  while (fgets (line, sizeof line, f) && ntmounts < 32)
    {
      char mp[200], *sep = strstr (line, " - "), fstype[32], src[64], opts[512];
      if (sep == NULL || sscanf (line, "%*s %*s %*s %*s %199s", mp) != 1)
        continue;
      if (sscanf (sep + 3, "%31s %63s %511s", fstype, src, opts) != 3)
        continue;
      if (strncmp (mp, "/sys/fs/cgroup", 14) != 0)
        continue;
      if (strcmp (fstype, "cgroup2") == 0)
        {
          snprintf (tmounts[ntmounts].mount, sizeof tmounts[0].mount, "%s", mp);
          tmounts[ntmounts++].v2 = true;
        }
      else if (strcmp (fstype, "cgroup") == 0)
        {
          tmount_t *t = &tmounts[ntmounts++];
          snprintf (t->mount, sizeof t->mount, "%s", mp);
          snprintf (t->opts, sizeof t->opts, ",%.250s,", opts);
        }
    }
  fclose (f);
}

static const tmount_t *
find_mount (bool v2, const char *ctl)
{
  char word[64];
  snprintf (word, sizeof word, ",%s,", ctl ? ctl : "");
  for (size_t i = 0; i < ntmounts; i++)
    {
      const tmount_t *t = &tmounts[i];
      if (v2 ? t->v2 : (!t->v2 && strstr (t->opts, word)))
        return t;
    }
  return NULL;
}

static bool
is_dir (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

static void
rm_tree (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  if (d == NULL)
    return;
  while ((de = readdir (d)))
    if (de->d_type == DT_DIR && strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      {
        char sub[1024];
        snprintf (sub, sizeof sub, "%s/%s", dir, de->d_name);
        rm_tree (sub);
      }
  closedir (d);
  rmdir (dir);
}

static void
setup (void)
{
  if (geteuid () != 0)
    cr_skip_test ("needs root");
  snprintf (parent, sizeof parent, "/husk-unit-%d", (int) getpid ());
  list_mounts ();
  if (ntmounts == 0)
    cr_skip_test ("no cgroup mounts");
}

/* Whatever happens, leave no child and no directory under the test parent. */
static void
teardown (void)
{
  if (child > 0)
    {
      kill (child, SIGKILL);
      waitpid (child, NULL, 0);
      child = -1;
    }
  for (size_t i = 0; i < ntmounts; i++)
    {
      /* a frozen v1 leftover cannot be removed: thaw it first */
      husk_autofree char *state = xstrdup_printf ("%s%s/c/freezer.state", tmounts[i].mount, parent);
      husk_autofree char *dir = xstrdup_printf ("%s%s", tmounts[i].mount, parent);
      int fd = open (state, O_WRONLY | O_CLOEXEC);
      if (fd >= 0)
        {
          (void) !write (fd, "THAWED", 6);
          close (fd);
        }
      rm_tree (dir);
    }
}

TestSuite (cgroup_real, .init = setup, .fini = teardown, .timeout = 60);

static husk_cgroup_t *
make (const char *sub)
{
  husk_auto_error husk_error_t err = NULL;
  husk_cgroup_t *cg = NULL;
  char path[256];
  snprintf (path, sizeof path, "%s/%s", parent, sub);
  cr_assert_geq (husk_cgroup_create (path, "ctr", NULL, &cg, &err), 0, "create: %s", err ? err->msg : "");
  return cg;
}

/* A child that blocks until the pipe closes, or spins incrementing *counter. */
static volatile uint64_t *counter;

static pid_t
spawn (bool busy)
{
  pid_t pid;
  if (busy && counter == NULL)
    {
      counter = mmap (NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      cr_assert_neq ((void *) counter, MAP_FAILED);
    }
  pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    {
      if (busy)
        for (;;)
          (*counter)++;
      for (;;)
        pause ();
    }
  child = pid;
  return pid;
}

static char *
slurp (const char *path)
{
  husk_auto_error husk_error_t err = NULL;
  char *s = NULL;
  cr_assert_geq (husk_read_file (path, &s, NULL, &err), 0, "%s", err ? err->msg : "");
  return s;
}

static char *
cgfile (bool v2, const char *ctl, const char *rel, const char *file)
{
  const tmount_t *t = find_mount (v2, ctl);
  cr_assert_not_null (t, "no mount for %s", ctl ? ctl : "cgroup2");
  return xstrdup_printf ("%s%s/%s%s%s", t->mount, parent, rel, file ? "/" : "", file ? file : "");
}

Test (cgroup_real, create_save_load_destroy)
{
  husk_autocgroup husk_cgroup_t *cg = make ("c");
  husk_autocgroup husk_cgroup_t *loaded = NULL;
  husk_auto_error husk_error_t err = NULL;
  husk_autofree char *saved = NULL;
  husk_cgroup_mode_t mode;

  cr_assert_geq (husk_cgroup_mode (&mode, &err), 0);
  cr_assert_str_eq (husk_cgroup_path (cg), xstrdup_printf ("%s/c", parent));
  for (size_t i = 0; i < ntmounts; i++)
    {
      husk_autofree char *dir = xstrdup_printf ("%s%s/c", tmounts[i].mount, parent);
      if (tmounts[i].v2 && mode == HUSK_CGROUP_LEGACY)
        continue;
      cr_assert (is_dir (dir), "%s was not created", dir);
    }
  if (find_mount (true, NULL) && mode != HUSK_CGROUP_LEGACY)
    cr_assert_geq (husk_cgroup_unified_fd (cg), 0);

  saved = husk_cgroup_save (cg);
  cr_assert_geq (husk_cgroup_load (saved, &loaded, &err), 0, "%s", err ? err->msg : "");
  cr_assert_str_eq (husk_cgroup_save (loaded), saved);
  cr_assert_geq (husk_cgroup_destroy (loaded, &err), 0, "%s", err ? err->msg : "");
  for (size_t i = 0; i < ntmounts; i++)
    {
      husk_autofree char *dir = xstrdup_printf ("%s%s", tmounts[i].mount, parent);
      cr_assert (!is_dir (dir), "%s is left behind", dir);
    }
  /* destroy again: nothing to do, no error */
  cr_assert_geq (husk_cgroup_destroy (loaded, &err), 0);
}

Test (cgroup_real, destroy_keeps_preexisting)
{
  const tmount_t *mem = find_mount (false, "memory");
  husk_autofree char *pre = NULL, *other = NULL;
  husk_autocgroup husk_cgroup_t *cg = NULL;
  husk_auto_error husk_error_t err = NULL;

  if (mem == NULL)
    mem = find_mount (true, NULL);
  /* the parent exists already in one hierarchy only */
  pre = xstrdup_printf ("%s%s", mem->mount, parent);
  cr_assert_eq (mkdir (pre, 0755), 0);
  /* a sibling cgroup someone else made */
  other = xstrdup_printf ("%s/other", pre);
  cr_assert_eq (mkdir (other, 0755), 0);

  cg = make ("c");
  cr_assert_geq (husk_cgroup_destroy (cg, &err), 0, "%s", err ? err->msg : "");
  cr_assert (is_dir (pre), "pre-existing %s was removed", pre);
  cr_assert (is_dir (other), "sibling %s was removed", other);
  cr_assert (!is_dir (xstrdup_printf ("%s/c", pre)));
  for (size_t i = 0; i < ntmounts; i++)
    {
      husk_autofree char *dir = xstrdup_printf ("%s%s", tmounts[i].mount, parent);
      if (&tmounts[i] != mem)
        cr_assert (!is_dir (dir), "%s (made by husk) is left behind", dir);
    }
}

Test (cgroup_real, relative_path_stays_below_own_cgroup)
{
  husk_autocgroup husk_cgroup_t *cg = NULL;
  husk_auto_error husk_error_t err = NULL;
  husk_autofree char *own = slurp ("/proc/self/cgroup");
  const tmount_t *mem = find_mount (false, "memory");
  char name[64], *line, ownmem[512] = "";
  husk_cgroup_mode_t mode;

  cr_assert_geq (husk_cgroup_mode (&mode, &err), 0);
  if (mode == HUSK_CGROUP_UNIFIED)
    {
      /* runc fs2: under the parent of the own cgroup */
      char *slash;
      mem = find_mount (true, NULL);
      cr_assert_not_null (mem);
      for (line = strtok (own, "\n"); line; line = strtok (NULL, "\n"))
        if (sscanf (line, "0::%511s", ownmem) == 1)
          break;
      slash = strrchr (ownmem, '/');
      if (slash)
        slash[slash == ownmem ? 1 : 0] = '\0';
    }
  else
    {
      if (mem == NULL)
        cr_skip_test ("no v1 memory hierarchy");
      for (line = strtok (own, "\n"); line; line = strtok (NULL, "\n"))
        if (sscanf (line, "%*[0-9]:memory:%511s", ownmem) == 1)
          break;
    }
  cr_assert_neq (ownmem[0], '\0');

  snprintf (name, sizeof name, "husk-unit-rel-%d", (int) getpid ());
  cr_assert_geq (husk_cgroup_create (xstrdup_printf ("../../%s", name), "ctr", NULL, &cg, &err), 0, "%s",
                 err ? err->msg : "");
  {
    husk_autofree char *want = xstrdup_printf ("%s%s/%s", mem->mount, strcmp (ownmem, "/") ? ownmem : "", name);
    husk_autofree char *outside = xstrdup_printf ("%s/%s", mem->mount, name);
    bool ok = is_dir (want);
    bool escaped = strcmp (ownmem, "/") != 0 && is_dir (outside);
    cr_assert_geq (husk_cgroup_destroy (cg, &err), 0, "%s", err ? err->msg : "");
    cr_assert (ok, "%s was not created", want);
    cr_assert (!escaped, "`../../` escaped to %s", outside);
    cr_assert (!is_dir (want), "%s is left behind", want);
  }
}

Test (cgroup_real, rejects_root)
{
  husk_autocgroup husk_cgroup_t *cg = NULL;
  husk_auto_error husk_error_t err = NULL;
  cr_assert_lt (husk_cgroup_create ("/a/../..", "ctr", NULL, &cg, &err), 0);
  cr_assert_not_null (strstr (err->msg, "does not name a cgroup"), "%s", err->msg);
}

static bool
proc_cgroup_has (pid_t pid, const char *ctl, const char *path)
{
  husk_autofree char *f = xstrdup_printf ("/proc/%d/cgroup", (int) pid);
  husk_autofree char *s = slurp (f);
  husk_autofree char *want = ctl ? xstrdup_printf (":%s:%s\n", ctl, path) : xstrdup_printf ("0::%s\n", path);
  return strstr (s, want) != NULL;
}

Test (cgroup_real, enter_apply_freeze_kill)
{
  husk_autocgroup husk_cgroup_t *cg = make ("c");
  husk_auto_error husk_error_t err = NULL;
  husk_autofree char *cpath = xstrdup_printf ("%s/c", parent);
  husk_autofree pid_t *pids = NULL;
  husk_cgroup_mode_t mode;
  husk_memory_t mem = { .has_limit = true, .limit = 64 << 20 };
  husk_cpu_t cpu = { .has_shares = true, .shares = 1024, .has_quota = true, .quota = 50000, .has_period = true,
                     .period = 100000 };
  husk_resources_t res = { .memory = &mem, .cpu = &cpu, .has_pids_limit = true, .pids_limit = 42 };
  pid_t pid = spawn (true);
  size_t n;
  bool frozen;
  int status;

  cr_assert_geq (husk_cgroup_mode (&mode, &err), 0);
  cr_assert_geq (husk_cgroup_enter (cg, pid, &err), 0, "%s", err ? err->msg : "");
  if (mode == HUSK_CGROUP_UNIFIED)
    cr_assert (proc_cgroup_has (pid, NULL, cpath));
  else
    {
      cr_assert (proc_cgroup_has (pid, "memory", cpath), "memory cgroup of the child is not %s", cpath);
      cr_assert (proc_cgroup_has (pid, "freezer", cpath));
      cr_assert (proc_cgroup_has (pid, "name=systemd", cpath));
      if (mode == HUSK_CGROUP_HYBRID)
        cr_assert (proc_cgroup_has (pid, NULL, cpath), "unified cgroup of the child is not %s", cpath);
    }

  cr_assert_geq (husk_cgroup_pids (cg, &pids, &n, &err), 0, "%s", err ? err->msg : "");
  cr_assert_eq (n, 1);
  cr_assert_eq (pids[0], pid);

  cr_assert_geq (husk_cgroup_apply (cg, &res, false, &err), 0, "%s", err ? err->msg : "");
  if (mode == HUSK_CGROUP_UNIFIED)
    {
      cr_assert_str_eq (slurp (cgfile (true, NULL, "c", "memory.max")), "67108864\n");
      cr_assert_str_eq (slurp (cgfile (true, NULL, "c", "pids.max")), "42\n");
      cr_assert_str_eq (slurp (cgfile (true, NULL, "c", "cpu.weight")), "39\n");
      cr_assert_str_eq (slurp (cgfile (true, NULL, "c", "cpu.max")), "50000 100000\n");
    }
  else
    {
      cr_assert_str_eq (slurp (cgfile (false, "memory", "c", "memory.limit_in_bytes")), "67108864\n");
      cr_assert_str_eq (slurp (cgfile (false, "pids", "c", "pids.max")), "42\n");
      cr_assert_str_eq (slurp (cgfile (false, "cpu", "c", "cpu.shares")), "1024\n");
      cr_assert_str_eq (slurp (cgfile (false, "cpu", "c", "cpu.cfs_quota_us")), "50000\n");
      /* devices: default deny, the defaults allowed */
      {
        husk_autofree char *list = slurp (cgfile (false, "devices", "c", "devices.list"));
        cr_assert_null (strstr (list, "a *:* rwm"), "devices.list: %s", list);
        cr_assert_not_null (strstr (list, "c 1:3 rwm"), "devices.list: %s", list);
        cr_assert_not_null (strstr (list, "c 136:* rwm"), "devices.list: %s", list);
      }
    }
  /* update: unlimited */
  res.pids_limit = 0;
  res.cpu = NULL;
  mem.limit = -1;
  cr_assert_geq (husk_cgroup_apply (cg, &res, true, &err), 0, "%s", err ? err->msg : "");
  if (mode != HUSK_CGROUP_UNIFIED)
    cr_assert_str_eq (slurp (cgfile (false, "pids", "c", "pids.max")), "max\n");
  else
    {
      cr_assert_str_eq (slurp (cgfile (true, NULL, "c", "pids.max")), "max\n");
      cr_assert_str_eq (slurp (cgfile (true, NULL, "c", "memory.max")), "max\n");
    }

  /* freeze a busy child: the counter stops */
  cr_assert_geq (husk_cgroup_freeze (cg, true, &err), 0, "%s", err ? err->msg : "");
  cr_assert_geq (husk_cgroup_is_frozen (cg, &frozen, &err), 0);
  cr_assert (frozen);
  if (mode != HUSK_CGROUP_UNIFIED)
    cr_assert_str_eq (slurp (cgfile (false, "freezer", "c", "freezer.state")), "FROZEN\n");
  {
    uint64_t a = *counter, b;
    usleep (100000);
    b = *counter;
    cr_assert_eq (a, b, "frozen child still runs (%lu -> %lu)", (unsigned long) a, (unsigned long) b);
  }
  cr_assert_geq (husk_cgroup_freeze (cg, false, &err), 0, "%s", err ? err->msg : "");
  cr_assert_geq (husk_cgroup_is_frozen (cg, &frozen, &err), 0);
  cr_assert (!frozen);
  {
    uint64_t a = *counter, b;
    usleep (100000);
    b = *counter;
    cr_assert_neq (a, b, "thawed child does not run");
  }

  /* stats: valid runc-shaped JSON with our pid count */
  {
    husk_autofree char *json = NULL;
    cr_assert_geq (husk_cgroup_stats_json (cg, &json, &err), 0, "%s", err ? err->msg : "");
    cr_assert_not_null (strstr (json, "\"pids\":{\"current\":1}"), "%s", json);
    cr_assert_not_null (strstr (json, "\"memory\":{"), "%s", json);
    cr_assert_not_null (strstr (json, "\"network_interfaces\":null}"), "%s", json);
  }

  cr_assert_geq (husk_cgroup_kill_all (cg, SIGKILL, &err), 0, "%s", err ? err->msg : "");
  cr_assert_eq (waitpid (pid, &status, 0), pid);
  child = -1;
  cr_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

  cr_assert_geq (husk_cgroup_destroy (cg, &err), 0, "%s", err ? err->msg : "");
  for (size_t i = 0; i < ntmounts; i++)
    cr_assert (!is_dir (xstrdup_printf ("%s%s", tmounts[i].mount, parent)));
}

Test (cgroup_real, kill_all_with_a_signal)
{
  husk_autocgroup husk_cgroup_t *cg = make ("c");
  husk_auto_error husk_error_t err = NULL;
  pid_t pid = spawn (false);
  int status;

  cr_assert_geq (husk_cgroup_enter (cg, pid, &err), 0, "%s", err ? err->msg : "");
  cr_assert_geq (husk_cgroup_kill_all (cg, SIGTERM, &err), 0, "%s", err ? err->msg : "");
  cr_assert_eq (waitpid (pid, &status, 0), pid);
  child = -1;
  cr_assert (WIFSIGNALED (status) && WTERMSIG (status) == SIGTERM);
  cr_assert_geq (husk_cgroup_destroy (cg, &err), 0, "%s", err ? err->msg : "");
}

Test (cgroup_real, error_names_file_and_value)
{
  husk_autocgroup husk_cgroup_t *cg = make ("c");
  husk_auto_error husk_error_t err = NULL;
  husk_cgroup_mode_t mode;
  char *keys[] = { "pids.max" }, *vals[] = { "42" };
  husk_resources_t res = { .unified_keys = keys, .unified_values = vals, .unified_len = 1 };
  husk_cpu_t cpu = { .cpus = "999999" };
  husk_resources_t res2 = { .cpu = &cpu };

  cr_assert_geq (husk_cgroup_mode (&mode, &err), 0);
  if (mode != HUSK_CGROUP_UNIFIED)
    {
      cr_assert_lt (husk_cgroup_apply (cg, &res, false, &err), 0);
      cr_assert_not_null (strstr (err->msg, "cannot use unified on cgroup v1"), "%s", err->msg);
      husk_error_release (&err);
      cr_assert_lt (husk_cgroup_apply (cg, &res2, false, &err), 0);
      cr_assert_eq (strncmp (err->msg, "cannot set `cpuset.cpus` to `999999`: ", 38), 0, "%s", err->msg);
    }
  else
    {
      char *bad[] = { "../pids.max" }, *missing[] = { "foo.bar" };
      res.unified_keys = bad;
      cr_assert_lt (husk_cgroup_apply (cg, &res, false, &err), 0);
      cr_assert_not_null (strstr (err->msg, "no slashes"), "%s", err->msg);
      husk_error_release (&err);
      res.unified_keys = missing;
      cr_assert_lt (husk_cgroup_apply (cg, &res, false, &err), 0);
      cr_assert_not_null (strstr (err->msg, "unified resource `foo.bar`: the file does not exist"), "%s", err->msg);
    }
  cr_assert_geq (husk_cgroup_destroy (cg, &err), 0);
}

/* The device eBPF program, on the cgroup2 tree (on a hybrid host too: the
 * program runs for the task's cgroup2 cgroup whatever v1 says). */
static int
child_open (pid_t *out, const char *dev)
{
  int status;
  pid_t pid = fork ();
  cr_assert_geq (pid, 0);
  if (pid == 0)
    {
      int fd = open (dev, O_RDONLY | O_NONBLOCK);
      _exit (fd >= 0 ? 0 : errno == EPERM ? 1 : 2);
    }
  *out = pid;
  waitpid (pid, &status, 0);
  return WEXITSTATUS (status);
}

Test (cgroup_real, bpf_device_filter)
{
  husk_autocgroup husk_cgroup_t *cg = make ("c");
  husk_auto_error husk_error_t err = NULL;
  husk_cg_hier_t *h2 = husk_cg_find (cg, NULL);
  husk_cg_dev_rule_t rules[] = {
    { true, 'a', -1, -1, HUSK_CG_ACC_ALL }, /* overridden by the deny after it */
    { false, 'a', -1, -1, HUSK_CG_ACC_ALL },
    { true, 'c', 1, 3, HUSK_CG_ACC_READ | HUSK_CG_ACC_WRITE }, /* /dev/null */
    { true, 'c', 1, 5, HUSK_CG_ACC_WRITE },                    /* /dev/zero, write only */
  };
  husk_autoclose int dfd = -1;
  pid_t dummy;

  if (h2 == NULL)
    cr_skip_test ("no cgroup2 tree");
  dfd = open (h2->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cr_assert_geq (dfd, 0);
  cr_assert_geq (husk_cgroup_bpf_devices (dfd, rules, 4, &err), 0, "%s", err ? err->msg : "");
  /* this process joins only the cgroup2 leaf; children inherit it */
  {
    husk_autofree char *procs = xstrdup_printf ("%s/cgroup.procs", h2->dir);
    husk_autofree char *orig = NULL;
    char me[32];
    int a, b, c;
    snprintf (me, sizeof me, "%d", (int) getpid ());
    cr_assert_geq (husk_write_file (procs, me, strlen (me), &err), 0, "%s", err ? err->msg : "");
    a = child_open (&dummy, "/dev/null");
    b = child_open (&dummy, "/dev/zero"); /* read denied: only w allowed */
    c = child_open (&dummy, "/dev/full");
    /* replace the program: allow everything */
    {
      husk_cg_dev_rule_t all = { true, 'a', -1, -1, HUSK_CG_ACC_ALL };
      cr_assert_geq (husk_cgroup_bpf_devices (dfd, &all, 1, &err), 0, "%s", err ? err->msg : "");
    }
    /* leave the leaf before asserting, so teardown can remove it */
    {
      int d = child_open (&dummy, "/dev/zero");
      husk_autofree char *root = xstrdup_printf ("%s/cgroup.procs", find_mount (true, NULL)->mount);
      cr_assert_geq (husk_write_file (root, me, strlen (me), &err), 0, "%s", err ? err->msg : "");
      cr_assert_eq (a, 0, "/dev/null should open");
      cr_assert_eq (b, 1, "/dev/zero read should be EPERM (got %d)", b);
      cr_assert_eq (c, 1, "/dev/full should be EPERM (got %d)", c);
      cr_assert_eq (d, 0, "after the update /dev/zero should open (old program detached?)");
    }
  }
  cr_assert_geq (husk_cgroup_destroy (cg, &err), 0, "%s", err ? err->msg : "");
}

Test (cgroup, rdma_max_line)
{
  husk_rdma_t both = { .device = "mlx5_0", .has_hca_handles = true, .hca_handles = 3, .has_hca_objects = true,
                       .hca_objects = 42 };
  husk_rdma_t one = { .device = "mlx4_1", .has_hca_objects = true, .hca_objects = 7 };
  husk_autofree char *a = husk_cg_rdma_line (&both);
  husk_autofree char *b = husk_cg_rdma_line (&one);
  cr_assert_str_eq (a, "mlx5_0 hca_handle=3 hca_object=42");
  cr_assert_str_eq (b, "mlx4_1 hca_object=7");
}
