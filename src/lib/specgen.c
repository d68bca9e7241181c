/* husk: `spec` — a default config.json like runc's (busybox-style `sh`,
 * terminal on), or a rootless one (user namespace mapping the caller). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"

static const char *const default_caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
static const char *const masked[] = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                                      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                                      "/proc/scsi", NULL };
static const char *const readonly[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL };

static void
str_array (yajl_gen g, const char *key, const char *const *v)
{
  husk_json_str (g, key);
  yajl_gen_array_open (g);
  for (; *v; v++)
    husk_json_str (g, *v);
  yajl_gen_array_close (g);
}

static void
mount (yajl_gen g, const char *dest, const char *type, const char *src, const char *const *opts)
{
  yajl_gen_map_open (g);
  husk_json_kv_str (g, "destination", dest);
  husk_json_kv_str (g, "type", type);
  husk_json_kv_str (g, "source", src);
  if (opts)
    str_array (g, "options", opts);
  yajl_gen_map_close (g);
}

static void
idmap (yajl_gen g, const char *key, unsigned host)
{
  husk_json_str (g, key);
  yajl_gen_array_open (g);
  yajl_gen_map_open (g);
  husk_json_kv_int (g, "containerID", 0);
  husk_json_kv_int (g, "hostID", host);
  husk_json_kv_int (g, "size", 1);
  yajl_gen_map_close (g);
  yajl_gen_array_close (g);
}

char *
husk_spec_default_json (bool rootless)
{
  yajl_gen g = husk_json_gen_new (true, "\t");
  static const char *const args[] = { "sh", NULL };
  static const char *const env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", NULL };
  static const char *const proc_o[] = { NULL };
  static const char *const dev_o[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
  static const char *const pts_o[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL };
  static const char *const pts_rl_o[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL };
  static const char *const shm_o[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
  static const char *const mq_o[] = { "nosuid", "noexec", "nodev", NULL };
  static const char *const sys_o[] = { "nosuid", "noexec", "nodev", "ro", NULL };
  static const char *const sys_rl_o[] = { "rbind", "nosuid", "noexec", "nodev", "ro", NULL };
  static const char *const cg_o[] = { "nosuid", "noexec", "nodev", "relatime", "ro", NULL };

  yajl_gen_map_open (g);
  husk_json_kv_str (g, "ociVersion", HUSK_SPEC_VERSION);
  husk_json_str (g, "process");
  yajl_gen_map_open (g);
  husk_json_kv_bool (g, "terminal", true);
  husk_json_str (g, "user");
  yajl_gen_map_open (g);
  husk_json_kv_int (g, "uid", 0);
  husk_json_kv_int (g, "gid", 0);
  yajl_gen_map_close (g);
  str_array (g, "args", args);
  str_array (g, "env", env);
  husk_json_kv_str (g, "cwd", "/");
  husk_json_str (g, "capabilities");
  yajl_gen_map_open (g);
  str_array (g, "bounding", default_caps);
  str_array (g, "effective", default_caps);
  str_array (g, "permitted", default_caps);
  yajl_gen_map_close (g);
  husk_json_str (g, "rlimits");
  yajl_gen_array_open (g);
  yajl_gen_map_open (g);
  husk_json_kv_str (g, "type", "RLIMIT_NOFILE");
  husk_json_kv_int (g, "hard", 1024);
  husk_json_kv_int (g, "soft", 1024);
  yajl_gen_map_close (g);
  yajl_gen_array_close (g);
  husk_json_kv_bool (g, "noNewPrivileges", true);
  yajl_gen_map_close (g);

  husk_json_str (g, "root");
  yajl_gen_map_open (g);
  husk_json_kv_str (g, "path", "rootfs");
  husk_json_kv_bool (g, "readonly", true);
  yajl_gen_map_close (g);
  husk_json_kv_str (g, "hostname", "husk");

  husk_json_str (g, "mounts");
  yajl_gen_array_open (g);
  mount (g, "/proc", "proc", "proc", proc_o[0] ? proc_o : NULL);
  mount (g, "/dev", "tmpfs", "tmpfs", dev_o);
  mount (g, "/dev/pts", "devpts", "devpts", rootless ? pts_rl_o : pts_o);
  mount (g, "/dev/shm", "tmpfs", "shm", shm_o);
  mount (g, "/dev/mqueue", "mqueue", "mqueue", mq_o);
  if (rootless)
    mount (g, "/sys", "none", "/sys", sys_rl_o);
  else
    {
      mount (g, "/sys", "sysfs", "sysfs", sys_o);
      mount (g, "/sys/fs/cgroup", "cgroup", "cgroup", cg_o);
    }
  yajl_gen_array_close (g);

  husk_json_str (g, "linux");
  yajl_gen_map_open (g);
  if (rootless)
    {
      idmap (g, "uidMappings", getuid ());
      idmap (g, "gidMappings", getgid ());
    }
  else
    {
      husk_json_str (g, "resources");
      yajl_gen_map_open (g);
      husk_json_str (g, "devices");
      yajl_gen_array_open (g);
      yajl_gen_map_open (g);
      husk_json_kv_bool (g, "allow", false);
      husk_json_kv_str (g, "access", "rwm");
      yajl_gen_map_close (g);
      yajl_gen_array_close (g);
      yajl_gen_map_close (g);
    }
  husk_json_str (g, "namespaces");
  yajl_gen_array_open (g);
  {
    const char *ns[] = { "pid", rootless ? NULL : "network", "ipc", "uts", "mount", "cgroup", rootless ? "user" : NULL };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
      if (ns[i])
        {
          yajl_gen_map_open (g);
          husk_json_kv_str (g, "type", ns[i]);
          yajl_gen_map_close (g);
        }
  }
  yajl_gen_array_close (g);
  str_array (g, "maskedPaths", masked);
  str_array (g, "readonlyPaths", readonly);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);
  return husk_json_gen_finish (g);
}

int
husk_spec_generate (const char *dir, bool rootless, husk_error_t *err)
{
  husk_autofree char *path = xstrdup_printf ("%s/config.json", dir ? dir : ".");
  husk_autofree char *json = husk_spec_default_json (rootless);
  husk_autoclose int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      if (errno == EEXIST)
        return husk_error_make (err, 0, "File %s exists. Remove it first", path);
      return husk_error_make (err, errno, "cannot create `%s`", path);
    }
  if (husk_write_all (fd, json, strlen (json)) < 0 || husk_write_all (fd, "\n", 1) < 0)
    return husk_error_make (err, errno, "cannot write `%s`", path);
  return 0;
}
