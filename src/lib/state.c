/* husk: the state dir.  <root>/<id>/ holds state.json (written atomically),
 * config.json (the copy create took: later bundle edits do not matter) and,
 * while the container is `created`, exec.sock (start connects to it).
 * The dir is flock()ed by every command that works on the container, so
 * concurrent commands on one id serialise.  The status is derived live. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>
#include "cgroup.h"
#include "internal.h"

const char *
husk_status_name (husk_status_t s)
{
  switch (s)
    {
    case HUSK_STATUS_CREATING:
      return "creating";
    case HUSK_STATUS_CREATED:
      return "created";
    case HUSK_STATUS_RUNNING:
      return "running";
    case HUSK_STATUS_PAUSED:
      return "paused";
    default:
      return "stopped";
    }
}

int
husk_id_validate (const char *id, husk_error_t *err)
{
  if (id == NULL || *id == '\0')
    return husk_error_make (err, 0, "container id cannot be empty");
  if (strcmp (id, ".") == 0 || strcmp (id, "..") == 0 || strlen (id) > 1024)
    return husk_error_make (err, 0, "invalid container id `%s`", id);
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'
          || *p == '+' || *p == '-' || *p == '.'))
      return husk_error_make (err, 0, "invalid container id `%s`", id);
  return 0;
}

int
husk_state_root_open (husk_context_t *ctx, bool create, int *rootfd, husk_error_t *err)
{
  int fd;
  if (create && husk_mkdir_p (ctx->root, 0700, err) < 0)
    return -1;
  fd = open (ctx->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return husk_error_make (err, errno, "cannot open state root `%s`", ctx->root);
  *rootfd = fd;
  return 0;
}

static int
lock_dir (int fd, const char *id, husk_error_t *err)
{
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return husk_error_make (err, errno, "cannot lock container `%s`", id);
  return 0;
}

int
husk_container_dir_create (husk_context_t *ctx, const char *id, husk_container_t *c, husk_error_t *err)
{
  husk_autoclose int rootfd = -1;
  memset (c, 0, sizeof *c);
  c->dirfd = -1;
  if (husk_id_validate (id, err) < 0)
    return -1;
  if (husk_state_root_open (ctx, true, &rootfd, err) < 0)
    return -1;
  if (mkdirat (rootfd, id, 0700) < 0)
    {
      if (errno == EEXIST)
        return husk_error_make (err, 0, "container with given ID already exists: `%s`", id);
      return husk_error_make (err, errno, "cannot create state dir `%s/%s`", ctx->root, id);
    }
  c->dir = xstrdup_printf ("%s/%s", ctx->root, id);
  c->dirfd = openat (rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->dirfd < 0)
    return husk_error_make (err, errno, "cannot open state dir `%s`", c->dir);
  c->state.id = xstrdup (id);
  return lock_dir (c->dirfd, id, err);
}

int
husk_container_open (husk_context_t *ctx, const char *id, husk_container_t *c, husk_error_t *err)
{
  husk_autofree char *json = NULL;
  husk_auto_error husk_error_t tmp = NULL;
  memset (c, 0, sizeof *c);
  c->dirfd = -1;
  if (husk_id_validate (id, err) < 0)
    return -1;
  c->dir = xstrdup_printf ("%s/%s", ctx->root, id);
  c->dirfd = open (c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->dirfd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        return husk_error_make (err, 0, "container `%s` does not exist", id);
      return husk_error_make (err, errno, "cannot open state dir `%s`", c->dir);
    }
  /* A container still being created has no state.json yet: answer at once
   * instead of waiting for create's lock (a slow hook must not freeze
   * `state`/`list` on that id). */
  if (faccessat (c->dirfd, "state.json", F_OK, 0) < 0 && errno == ENOENT)
    return husk_error_make (err, 0, "container `%s` does not exist", id);
  if (lock_dir (c->dirfd, id, err) < 0)
    return -1;
  if (husk_read_file_at (c->dirfd, "state.json", &json, NULL, &tmp) < 0)
    {
      if (tmp->status == ENOENT)
        return husk_error_make (err, 0, "container `%s` does not exist", id);
      husk_error_move (err, &tmp);
      return -1;
    }
  if (husk_state_parse (json, &c->state, err) < 0)
    return husk_error_wrap (err, "container `%s`: corrupt state", id);
  return 0;
}

void
husk_state_clear (husk_state_t *st)
{
  free (st->id);
  free (st->bundle);
  free (st->rootfs);
  free (st->created);
  free (st->owner);
  free (st->cgroup);
  memset (st, 0, sizeof *st);
}

void
husk_container_close (husk_container_t *c)
{
  if (c->dirfd >= 0)
    close (c->dirfd);
  c->dirfd = -1;
  free (c->dir);
  c->dir = NULL;
  husk_state_clear (&c->state);
}

int
husk_state_write (husk_container_t *c, husk_error_t *err)
{
  husk_autofree char *json = NULL;
  husk_autofree char *path = NULL;
  yajl_gen g = husk_json_gen_new (false, NULL);
  husk_state_t *st = &c->state;

  yajl_gen_map_open (g);
  husk_json_kv_str (g, "id", st->id);
  husk_json_kv_int (g, "pid", st->pid);
  husk_json_kv_int (g, "start_time", (long long) st->start_time);
  husk_json_kv_str (g, "bundle", st->bundle);
  husk_json_kv_str (g, "rootfs", st->rootfs);
  husk_json_kv_str (g, "created", st->created);
  husk_json_kv_str (g, "owner", st->owner ? st->owner : "");
  if (st->cgroup)
    husk_json_kv_str (g, "cgroup", st->cgroup);
  husk_json_kv_bool (g, "own_pidns", st->own_pidns);
  husk_json_kv_bool (g, "started", st->started);
  husk_json_kv_bool (g, "host_mounts", st->host_mounts);
  yajl_gen_map_close (g);
  json = husk_json_gen_finish (g);
  path = xstrdup_printf ("%s/state.json", c->dir);
  return husk_write_file_atomic (path, json, strlen (json), 0600, err);
}

static const char *
tree_str (yajl_val root, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val v = yajl_tree_get (root, path, yajl_t_string);
  return v ? YAJL_GET_STRING (v) : NULL;
}

static long long
tree_int (yajl_val root, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val v = yajl_tree_get (root, path, yajl_t_number);
  return v && YAJL_IS_INTEGER (v) ? YAJL_GET_INTEGER (v) : 0;
}

static bool
tree_bool (yajl_val root, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val v = yajl_tree_get (root, path, yajl_t_any);
  return v && YAJL_IS_TRUE (v);
}

int
husk_state_parse (const char *json, husk_state_t *st, husk_error_t *err)
{
  char ebuf[256];
  yajl_val root = yajl_tree_parse (json, ebuf, sizeof ebuf);
  if (root == NULL)
    return husk_error_make (err, 0, "state.json: invalid JSON");
  husk_state_clear (st);
  st->id = xstrdup (tree_str (root, "id"));
  st->pid = (pid_t) tree_int (root, "pid");
  st->start_time = (uint64_t) tree_int (root, "start_time");
  st->bundle = xstrdup (tree_str (root, "bundle"));
  st->rootfs = xstrdup (tree_str (root, "rootfs"));
  st->created = xstrdup (tree_str (root, "created"));
  st->owner = xstrdup (tree_str (root, "owner"));
  st->cgroup = xstrdup (tree_str (root, "cgroup"));
  st->own_pidns = tree_bool (root, "own_pidns");
  st->started = tree_bool (root, "started");
  st->host_mounts = tree_bool (root, "host_mounts");
  yajl_tree_free (root);
  if (st->id == NULL)
    return husk_error_make (err, 0, "state.json: missing id");
  return 0;
}

bool
husk_pid_alive (pid_t pid, uint64_t start_time)
{
  char path[64];
  husk_autofree char *buf = NULL;
  char *p;
  uint64_t st = 0;
  if (pid <= 0)
    return false;
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  if (husk_read_file (path, &buf, NULL, NULL) < 0)
    return false;
  p = strrchr (buf, ')');
  if (p == NULL || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X')
    return false; /* zombie: exited, not reaped */
  if (start_time && (husk_proc_start_time (pid, &st, NULL) < 0 || st != start_time))
    return false;
  return true;
}

husk_status_t
husk_container_status (husk_container_t *c)
{
  struct stat sb;
  if (!husk_pid_alive (c->state.pid, c->state.start_time))
    return HUSK_STATUS_STOPPED;
  if (!c->state.started && fstatat (c->dirfd, "exec.sock", &sb, 0) == 0)
    return HUSK_STATUS_CREATED;
  if (c->state.cgroup)
    {
      husk_cgroup_t *cg = NULL;
      bool frozen = false;
      if (husk_cgroup_load (c->state.cgroup, &cg, NULL) == 0)
        {
          husk_cgroup_is_frozen (cg, &frozen, NULL);
          husk_cgroup_free (cg);
        }
      if (frozen)
        return HUSK_STATUS_PAUSED;
    }
  return HUSK_STATUS_RUNNING;
}

int
husk_container_load_spec (husk_container_t *c, husk_spec_t **spec, husk_error_t *err)
{
  husk_autofree char *json = NULL;
  size_t len;
  if (husk_read_file_at (c->dirfd, "config.json", &json, &len, err) < 0)
    return -1;
  return husk_spec_parse (json, len, spec, err);
}

char *
husk_state_json (const husk_state_t *st, husk_status_t status, const husk_spec_t *spec, bool pretty)
{
  yajl_gen g = husk_json_gen_new (pretty, "  ");
  yajl_gen_map_open (g);
  husk_json_kv_str (g, "ociVersion", HUSK_SPEC_VERSION);
  husk_json_kv_str (g, "id", st->id);
  husk_json_kv_int (g, "pid", status == HUSK_STATUS_STOPPED ? 0 : st->pid);
  husk_json_kv_str (g, "status", husk_status_name (status));
  husk_json_kv_str (g, "bundle", st->bundle);
  husk_json_kv_str (g, "rootfs", st->rootfs);
  husk_json_kv_str (g, "created", st->created);
  if (spec && spec->annotations_len)
    {
      husk_json_str (g, "annotations");
      yajl_gen_map_open (g);
      for (size_t i = 0; i < spec->annotations_len; i++)
        husk_json_kv_str (g, spec->annotation_keys[i], spec->annotation_values[i]);
      yajl_gen_map_close (g);
    }
  husk_json_kv_str (g, "owner", st->owner ? st->owner : "");
  yajl_gen_map_close (g);
  return husk_json_gen_finish (g);
}
