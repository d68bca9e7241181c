/* husk-build: OCI runtime bundles from images (`husk-build bundle IMAGE DIR`).
 *
 * The rootfs is the image's layers unpacked in order (unpack.c); config.json
 * is husk's default spec (husk_spec_default_json, the same as `husk spec` and
 * close to `runc spec`) with the image config applied, as the OCI image-spec's
 * "conversion" document describes and umoci does:
 *   process.args     Entrypoint + Cmd
 *   process.env      Env (PATH added when the image has none)
 *   process.cwd      WorkingDir (default /), created in the rootfs if missing
 *   process.user     User: "uid[:gid]" or names from the rootfs's /etc/passwd
 *                    and /etc/group; additionalGids from /etc/group membership
 *   annotations      Labels as they are, org.opencontainers.image.exposedPorts
 *                    ("80/tcp,53/udp"), .stopSignal, .author, .created
 *   terminal false, root.readonly false, hostname. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include "internal.h"
#include "rootfs.h"
#include "build.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

char *
hb_husk_path (void)
{
  const char *env = getenv ("HUSK");
  char self[PATH_MAX];
  ssize_t n;
  if (env && *env)
    return xstrdup (env);
  n = readlink ("/proc/self/exe", self, sizeof self - 1);
  if (n > 0)
    {
      char *slash;
      self[n] = '\0';
      slash = strrchr (self, '/');
      if (slash)
        {
          husk_autofree char *p = NULL;
          *slash = '\0';
          p = xstrdup_printf ("%s/husk", self);
          if (access (p, X_OK) == 0)
            return steal_ptr (&p);
          /* The meson build tree: <build>/src/build/husk-build and <build>/husk. */
          free (p);
          p = xstrdup_printf ("%s/../../husk", self);
          if (access (p, X_OK) == 0)
            return steal_ptr (&p);
        }
    }
  return xstrdup ("husk");
}

/* ---- users ------------------------------------------------------------- */

static bool
all_digits (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9')
      return false;
  return true;
}

/* Read an /etc file of the rootfs; a missing file is empty. */
static char *
read_etc (int rootfs_fd, const char *path)
{
  husk_auto_error husk_error_t e2 = NULL;
  husk_autoclose int fd = husk_open_in_root (rootfs_fd, path, O_RDONLY, 0, &e2);
  char *data = NULL;
  if (fd < 0 || husk_read_fd (fd, path, &data, NULL, &e2) < 0)
    return xstrdup ("");
  return data;
}

/* Split a colon-separated line into at most n fields (in place). */
static size_t
split_fields (char *line, char **f, size_t n)
{
  size_t i = 0;
  f[i++] = line;
  for (char *p = line; *p && i < n; p++)
    if (*p == ':')
      {
        *p = '\0';
        f[i++] = p + 1;
      }
  return i;
}

/* Find a passwd entry by name (or uid when name is NULL). */
static bool
passwd_find (char *passwd, const char *name, uid_t uid, uid_t *uid_out, gid_t *gid_out, char **name_out)
{
  char *save = NULL;
  for (char *line = strtok_r (passwd, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[7];
      uint64_t u, g;
      if (split_fields (line, f, 7) < 4 || husk_parse_u64 (f[2], &u) < 0 || husk_parse_u64 (f[3], &g) < 0)
        continue;
      if (name ? strcmp (f[0], name) == 0 : u == uid)
        {
          *uid_out = (uid_t) u;
          *gid_out = (gid_t) g;
          *name_out = xstrdup (f[0]);
          return true;
        }
    }
  return false;
}

int
hb_resolve_user (int rootfs_fd, const char *user, uid_t *uid, gid_t *gid, gid_t **groups, size_t *n_groups,
                 husk_error_t *err)
{
  husk_autofree char *u = xstrdup (user && *user ? user : "0");
  husk_autofree char *passwd = read_etc (rootfs_fd, "/etc/passwd");
  husk_autofree char *group = read_etc (rootfs_fd, "/etc/group");
  husk_autofree char *uname = NULL;
  husk_autofree gid_t *gv = NULL;
  size_t ng = 0;
  char *gname = strchr (u, ':');
  char *save = NULL;
  uint64_t num;

  if (gname)
    *gname++ = '\0';
  *uid = 0;
  *gid = 0;
  if (all_digits (u))
    {
      if (husk_parse_u64 (u, &num) < 0 || num > UINT32_MAX - 1)
        return husk_error_make (err, 0, "invalid user `%s`", user);
      if (!passwd_find (passwd, NULL, (uid_t) num, uid, gid, &uname))
        *gid = 0;
      *uid = (uid_t) num;
    }
  else if (!passwd_find (passwd, u, 0, uid, gid, &uname))
    return husk_error_make (err, 0, "unable to find user %s: no matching entries in passwd file", u);

  if (gname)
    {
      if (all_digits (gname))
        {
          if (husk_parse_u64 (gname, &num) < 0 || num > UINT32_MAX - 1)
            return husk_error_make (err, 0, "invalid group `%s`", gname);
          *gid = (gid_t) num;
        }
      else
        {
          husk_autofree char *copy = xstrdup (group);
          bool found = false;
          for (char *line = strtok_r (copy, "\n", &save); line && !found; line = strtok_r (NULL, "\n", &save))
            {
              char *f[4];
              if (split_fields (line, f, 4) >= 3 && strcmp (f[0], gname) == 0 && husk_parse_u64 (f[2], &num) == 0)
                {
                  *gid = (gid_t) num;
                  found = true;
                }
            }
          if (!found)
            return husk_error_make (err, 0, "unable to find group %s: no matching entries in group file", gname);
        }
    }

  /* Supplementary groups: every group listing the user as a member. */
  if (uname)
    for (char *line = strtok_r (group, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
      {
        char *f[4], *msave = NULL;
        if (split_fields (line, f, 4) < 4 || husk_parse_u64 (f[2], &num) < 0 || (gid_t) num == *gid)
          continue;
        for (char *m = strtok_r (f[3], ",", &msave); m; m = strtok_r (NULL, ",", &msave))
          if (strcmp (m, uname) == 0)
            {
              gv = xrealloc (gv, (ng + 1) * sizeof *gv);
              gv[ng++] = (gid_t) num;
              break;
            }
      }
  if (groups)
    {
      *groups = steal_ptr (&gv);
      *n_groups = ng;
    }
  return 0;
}

/* ---- config.json ------------------------------------------------------- */

static void
gen_strv (yajl_gen g, const char *key, char *const *v)
{
  husk_json_str (g, key);
  yajl_gen_array_open (g);
  for (; v && *v; v++)
    husk_json_str (g, *v);
  yajl_gen_array_close (g);
}

/* Env: the image's, then extra (replacing by key); PATH when missing. */
static char **
make_env (const hb_image_config_t *cfg, char *const *extra)
{
  char **v = xmalloc0 ((cfg->env_len + husk_strv_len (extra) + 2) * sizeof *v);
  size_t n = 0;
  bool path = false;
  for (size_t pass = 0; pass < 2; pass++)
    {
      char *const *src = pass == 0 ? cfg->env : extra;
      size_t len = pass == 0 ? cfg->env_len : husk_strv_len (extra);
      for (size_t i = 0; i < len; i++)
        {
          size_t klen = strcspn (src[i], "=");
          size_t j;
          for (j = 0; j < n; j++)
            if (strncmp (v[j], src[i], klen) == 0 && (v[j][klen] == '=' || v[j][klen] == '\0'))
              break;
          if (j < n)
            free (v[j]);
          else
            n++;
          v[j] = xstrdup (src[i]);
          if (klen == 4 && strncmp (src[i], "PATH", 4) == 0)
            path = true;
        }
    }
  if (!path)
    v[n++] = xstrdup (DEFAULT_PATH);
  v[n] = NULL;
  return v;
}

/* Entrypoint + Cmd. */
static char **
make_args (const hb_image_config_t *cfg)
{
  char **v = xmalloc0 ((cfg->entrypoint_len + cfg->cmd_len + 1) * sizeof *v);
  size_t n = 0;
  for (size_t i = 0; i < cfg->entrypoint_len; i++)
    v[n++] = xstrdup (cfg->entrypoint[i]);
  for (size_t i = 0; i < cfg->cmd_len; i++)
    v[n++] = xstrdup (cfg->cmd[i]);
  return v;
}

static void
gen_process (yajl_gen g, yajl_val dflt, const hb_image_config_t *cfg, const hb_bundle_opts_t *o, uid_t uid, gid_t gid,
             const gid_t *groups, size_t n_groups, char *const *args, const char *cwd)
{
  husk_autostrv char **env = make_env (cfg, o ? o->extra_env : NULL);
  yajl_gen_map_open (g);
  husk_json_kv_bool (g, "terminal", false);
  husk_json_str (g, "user");
  yajl_gen_map_open (g);
  husk_json_kv_int (g, "uid", uid);
  husk_json_kv_int (g, "gid", gid);
  if (n_groups)
    {
      husk_json_str (g, "additionalGids");
      yajl_gen_array_open (g);
      for (size_t i = 0; i < n_groups; i++)
        yajl_gen_integer (g, groups[i]);
      yajl_gen_array_close (g);
    }
  yajl_gen_map_close (g);
  gen_strv (g, "args", args);
  gen_strv (g, "env", env);
  husk_json_kv_str (g, "cwd", cwd);
  /* capabilities, rlimits, noNewPrivileges as in the default spec */
  for (size_t i = 0; dflt && YAJL_IS_OBJECT (dflt) && i < dflt->u.object.len; i++)
    {
      const char *k = dflt->u.object.keys[i];
      if (strcmp (k, "terminal") == 0 || strcmp (k, "user") == 0 || strcmp (k, "args") == 0 || strcmp (k, "env") == 0
          || strcmp (k, "cwd") == 0)
        continue;
      husk_json_str (g, k);
      husk_json_gen_tree (g, dflt->u.object.values[i]);
    }
  yajl_gen_map_close (g);
}

static void
gen_linux (yajl_gen g, yajl_val lnx, const hb_bundle_opts_t *o)
{
  yajl_gen_map_open (g);
  for (size_t i = 0; i < lnx->u.object.len; i++)
    {
      const char *k = lnx->u.object.keys[i];
      yajl_val v = lnx->u.object.values[i];
      husk_json_str (g, k);
      if (strcmp (k, "namespaces") == 0 && YAJL_IS_ARRAY (v) && o && o->host_network)
        {
          yajl_gen_array_open (g);
          for (size_t j = 0; j < v->u.array.len; j++)
            {
              const char *t = hb_json_get_str (v->u.array.values[j], "type");
              if (t && strcmp (t, "network") == 0)
                continue;
              husk_json_gen_tree (g, v->u.array.values[j]);
            }
          yajl_gen_array_close (g);
        }
      else
        husk_json_gen_tree (g, v);
    }
  yajl_gen_map_close (g);
}

static void
gen_annotations (yajl_gen g, const hb_image_config_t *cfg)
{
  husk_json_str (g, "annotations");
  yajl_gen_map_open (g);
  if (cfg->author)
    husk_json_kv_str (g, "org.opencontainers.image.author", cfg->author);
  if (cfg->created)
    husk_json_kv_str (g, "org.opencontainers.image.created", cfg->created);
  if (cfg->stop_signal)
    husk_json_kv_str (g, "org.opencontainers.image.stopSignal", cfg->stop_signal);
  if (cfg->exposed_ports_len)
    {
      size_t len = 0;
      husk_autofree char *ports = NULL;
      for (size_t i = 0; i < cfg->exposed_ports_len; i++)
        len += strlen (cfg->exposed_ports[i]) + 1;
      ports = xmalloc0 (len + 1);
      for (size_t i = 0; i < cfg->exposed_ports_len; i++)
        {
          if (i)
            strcat (ports, ",");
          strcat (ports, cfg->exposed_ports[i]);
        }
      husk_json_kv_str (g, "org.opencontainers.image.exposedPorts", ports);
    }
  for (size_t i = 0; i < cfg->labels_len; i++)
    husk_json_kv_str (g, cfg->label_keys[i], cfg->label_values[i]);
  yajl_gen_map_close (g);
}

int
hb_bundle_config_json (const hb_image_config_t *cfg, const char *rootfs_dir, const hb_bundle_opts_t *o, char **json,
                       husk_error_t *err)
{
  husk_autofree char *dflt_text = husk_spec_default_json (false);
  husk_autofree gid_t *groups = NULL;
  husk_autostrv char **args = NULL;
  husk_autofree char *cwd = NULL;
  husk_autoclose int rootfs_fd = -1;
  yajl_val dflt = NULL;
  yajl_gen g;
  size_t n_groups = 0;
  uid_t uid;
  gid_t gid;

  args = o && o->args ? xmalloc0 ((husk_strv_len (o->args) + 1) * sizeof (char *)) : make_args (cfg);
  if (o && o->args)
    for (size_t i = 0; o->args[i]; i++)
      args[i] = xstrdup (o->args[i]);
  if (args[0] == NULL)
    return husk_error_make (err, 0, "no command specified: the image has no Entrypoint or Cmd");

  rootfs_fd = open (rootfs_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfs_fd < 0)
    return husk_error_make (err, errno, "cannot open rootfs `%s`", rootfs_dir);
  if (hb_resolve_user (rootfs_fd, cfg->user, &uid, &gid, &groups, &n_groups, err) < 0)
    return -1;
  cwd = cfg->working_dir && *cfg->working_dir
            ? (cfg->working_dir[0] == '/' ? xstrdup (cfg->working_dir) : xstrdup_printf ("/%s", cfg->working_dir))
            : xstrdup ("/");

  if (hb_json_parse (dflt_text, "default spec", &dflt, err) < 0)
    return -1;
  g = husk_json_gen_new (true, "\t");
  yajl_gen_map_open (g);
  for (size_t i = 0; i < dflt->u.object.len; i++)
    {
      const char *k = dflt->u.object.keys[i];
      yajl_val v = dflt->u.object.values[i];
      husk_json_str (g, k);
      if (strcmp (k, "process") == 0)
        gen_process (g, v, cfg, o, uid, gid, groups, n_groups, args, cwd);
      else if (strcmp (k, "root") == 0)
        {
          yajl_gen_map_open (g);
          husk_json_kv_str (g, "path", "rootfs");
          husk_json_kv_bool (g, "readonly", o ? o->readonly_root : false);
          yajl_gen_map_close (g);
        }
      else if (strcmp (k, "hostname") == 0)
        husk_json_str (g, o && o->hostname ? o->hostname : YAJL_GET_STRING (v));
      else if (strcmp (k, "linux") == 0 && YAJL_IS_OBJECT (v))
        gen_linux (g, v, o);
      else
        husk_json_gen_tree (g, v);
    }
  gen_annotations (g, cfg);
  yajl_gen_map_close (g);
  yajl_tree_free (dflt);
  *json = husk_json_gen_finish (g);
  return 0;
}

/* Make the working directory exist in the rootfs (runc does the same at
 * start; doing it here keeps any runtime happy). */
static int
ensure_cwd (const char *rootfs, const hb_image_config_t *cfg, husk_error_t *err)
{
  husk_autoclose int rootfd = -1;
  husk_autoclose int fd = -1;
  if (cfg->working_dir == NULL || *cfg->working_dir == '\0')
    return 0;
  rootfd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return husk_error_make (err, errno, "cannot open `%s`", rootfs);
  fd = husk_create_in_root (rootfd, cfg->working_dir, true, err);
  return fd < 0 ? husk_error_wrap (err, "working directory") : 0;
}

int
hb_bundle_write (hb_store_t *s, const hb_image_t *img, const char *dir, const hb_bundle_opts_t *o, husk_error_t *err)
{
  husk_autofree char *rootfs = xstrdup_printf ("%s/rootfs", dir);
  husk_autofree char *config = xstrdup_printf ("%s/config.json", dir);
  husk_autofree char *json = NULL;
  struct stat st;

  if (husk_mkdir_p (dir, 0755, err) < 0)
    return -1;
  if (lstat (config, &st) == 0)
    return husk_error_make (err, EEXIST, "cannot write bundle: `%s`", config);
  if (hb_unpack_image (s, img->manifest, rootfs, err) < 0)
    return -1;
  if (ensure_cwd (rootfs, img->config, err) < 0 || hb_bundle_config_json (img->config, rootfs, o, &json, err) < 0
      || husk_write_file_atomic (config, json, strlen (json), 0644, err) < 0)
    {
      husk_auto_error husk_error_t e2 = NULL;
      husk_rm_rf (rootfs, &e2);
      return -1;
    }
  return 0;
}

int
hb_cmd_bundle (const hb_globals_t *gl, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = { { "hostname", required_argument, 0, 'h' }, { 0, 0, 0, 0 } };
  hb_autostore hb_store_t *s = NULL;
  hb_autoimage hb_image_t *img = NULL;
  hb_bundle_opts_t o = { 0 };
  int c;

  opterr = 0;
  while ((c = getopt_long (argc, argv, "+", opts, NULL)) != -1)
    {
      if (c != 'h')
        return husk_error_make (err, 0, "bundle: unknown option `%s`", argv[optind - 1]);
      o.hostname = optarg;
    }
  if (argc - optind != 2)
    return husk_error_make (err, 0, "bundle: expected IMAGE DIR (\"husk-build bundle [--hostname H] IMAGE DIR\")");
  if (hb_store_open (gl->store_dir, &s, err) < 0 || hb_store_lock (s, false, err) < 0)
    return -1;
  if (hb_image_open (s, argv[optind], &img, err) < 0)
    return -1;
  if (hb_bundle_write (s, img, argv[optind + 1], &o, err) < 0)
    return husk_error_wrap (err, "bundle `%s`", argv[optind]);
  return 0;
}
