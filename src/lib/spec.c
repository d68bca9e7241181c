/* husk: config.json -> husk_spec_t.  The JSON helpers shared by the spec
 * files, the top level (root, mounts, hooks, annotations) and the free
 * functions.  process is in spec-process.c, linux in spec-linux.c,
 * linux.resources in spec-resources.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "spec-internal.h"

/* --- paths and errors ------------------------------------------------------ */

char *
spec_path (const char *base, const char *key)
{
  if (base == NULL || base[0] == '\0')
    return xstrdup (key);
  return xstrdup_printf ("%s.%s", base, key);
}

char *
spec_path_idx (const char *base, size_t i)
{
  return xstrdup_printf ("%s[%zu]", base ? base : "", i);
}

int
spec_error (husk_error_t *err, const char *base, const char *key, const char *fmt, ...)
{
  va_list ap;
  husk_autofree char *path = key ? spec_path (base, key) : xstrdup (base);
  husk_autofree char *msg = NULL;

  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return husk_error_make (err, 0, "%s: %s", path, msg);
}

/* --- lookups and type checks ---------------------------------------------- */

yajl_val
spec_get (yajl_val obj, const char *key)
{
  if (!YAJL_IS_OBJECT (obj))
    return NULL;
  for (size_t i = obj->u.object.len; i > 0; i--)
    if (strcmp (obj->u.object.keys[i - 1], key) == 0)
      {
        yajl_val v = obj->u.object.values[i - 1];
        return YAJL_IS_NULL (v) ? NULL : v;
      }
  return NULL;
}

int
spec_expect_object (yajl_val v, const char *path, husk_error_t *err)
{
  if (!YAJL_IS_OBJECT (v))
    return husk_error_make (err, 0, "%s: expected an object", path);
  return 0;
}

int
spec_expect_array (yajl_val v, const char *path, husk_error_t *err)
{
  if (!YAJL_IS_ARRAY (v))
    return husk_error_make (err, 0, "%s: expected an array", path);
  return 0;
}

/* The raw number text is an integer: optional '-', digits only. */
static bool
raw_is_integer (const char *r)
{
  if (*r == '-')
    r++;
  if (*r == '\0')
    return false;
  for (; *r; r++)
    if (*r < '0' || *r > '9')
      return false;
  return true;
}

int
spec_value_uint (yajl_val v, const char *path, uint64_t max, const char *type_name, uint64_t *out,
                 husk_error_t *err)
{
  const char *r;
  char *end = NULL;
  unsigned long long n;

  if (!YAJL_IS_NUMBER (v) || v->u.number.r == NULL)
    return husk_error_make (err, 0, "%s: expected an unsigned integer", path);
  r = v->u.number.r;
  if (r[0] == '-' || !raw_is_integer (r))
    return husk_error_make (err, 0, "%s: expected an unsigned integer", path);
  errno = 0;
  n = strtoull (r, &end, 10);
  if (errno == ERANGE || *end != '\0' || n > max)
    return husk_error_make (err, 0, "%s: value %s out of range for %s", path, r, type_name);
  *out = n;
  return 0;
}

int
spec_value_int (yajl_val v, const char *path, int64_t min, int64_t max, const char *type_name,
                int64_t *out, husk_error_t *err)
{
  const char *r;
  char *end = NULL;
  long long n;

  if (!YAJL_IS_NUMBER (v) || v->u.number.r == NULL || !raw_is_integer (v->u.number.r))
    return husk_error_make (err, 0, "%s: expected an integer", path);
  r = v->u.number.r;
  errno = 0;
  n = strtoll (r, &end, 10);
  if (errno == ERANGE || *end != '\0' || n < min || n > max)
    return husk_error_make (err, 0, "%s: value %s out of range for %s", path, r, type_name);
  *out = n;
  return 0;
}

/* --- typed members --------------------------------------------------------- */

int
spec_get_object (yajl_val obj, const char *base, const char *key, yajl_val *out, husk_error_t *err)
{
  yajl_val v = spec_get (obj, key);
  if (v == NULL)
    return 0;
  if (!YAJL_IS_OBJECT (v))
    return spec_error (err, base, key, "expected an object");
  *out = v;
  return 1;
}

int
spec_get_array (yajl_val obj, const char *base, const char *key, yajl_val *out, husk_error_t *err)
{
  yajl_val v = spec_get (obj, key);
  if (v == NULL)
    return 0;
  if (!YAJL_IS_ARRAY (v))
    return spec_error (err, base, key, "expected an array");
  *out = v;
  return 1;
}

int
spec_get_string (yajl_val obj, const char *base, const char *key, char **out, husk_error_t *err)
{
  yajl_val v = spec_get (obj, key);
  if (v == NULL)
    return 0;
  if (!YAJL_IS_STRING (v))
    return spec_error (err, base, key, "expected a string");
  free (*out);
  *out = xstrdup (YAJL_GET_STRING (v));
  return 1;
}

int
spec_require_string (yajl_val obj, const char *base, const char *key, char **out,
                     husk_error_t *err)
{
  int r = spec_get_string (obj, base, key, out, err);
  if (r == 0)
    return spec_error (err, base, key, "missing required field");
  return r;
}

int
spec_get_bool (yajl_val obj, const char *base, const char *key, bool *out, bool *has,
               husk_error_t *err)
{
  yajl_val v = spec_get (obj, key);
  if (has)
    *has = false;
  if (v == NULL)
    return 0;
  if (!YAJL_IS_TRUE (v) && !YAJL_IS_FALSE (v))
    return spec_error (err, base, key, "expected a boolean");
  *out = YAJL_IS_TRUE (v);
  if (has)
    *has = true;
  return 1;
}

static int
get_uint (yajl_val obj, const char *base, const char *key, uint64_t max, const char *type_name,
          uint64_t *out, bool *has, husk_error_t *err)
{
  yajl_val v = spec_get (obj, key);
  husk_autofree char *path = NULL;
  if (has)
    *has = false;
  if (v == NULL)
    return 0;
  path = spec_path (base, key);
  if (spec_value_uint (v, path, max, type_name, out, err) < 0)
    return -1;
  if (has)
    *has = true;
  return 1;
}

static int
get_int (yajl_val obj, const char *base, const char *key, int64_t min, int64_t max,
         const char *type_name, int64_t *out, bool *has, husk_error_t *err)
{
  yajl_val v = spec_get (obj, key);
  husk_autofree char *path = NULL;
  if (has)
    *has = false;
  if (v == NULL)
    return 0;
  path = spec_path (base, key);
  if (spec_value_int (v, path, min, max, type_name, out, err) < 0)
    return -1;
  if (has)
    *has = true;
  return 1;
}

int
spec_get_u64 (yajl_val obj, const char *base, const char *key, uint64_t *out, bool *has,
              husk_error_t *err)
{
  return get_uint (obj, base, key, UINT64_MAX, "uint64", out, has, err);
}

int
spec_get_u32 (yajl_val obj, const char *base, const char *key, uint32_t *out, bool *has,
              husk_error_t *err)
{
  uint64_t n = 0;
  int r = get_uint (obj, base, key, UINT32_MAX, "uint32", &n, has, err);
  if (r > 0)
    *out = (uint32_t) n;
  return r;
}

int
spec_get_u16 (yajl_val obj, const char *base, const char *key, uint16_t *out, bool *has,
              husk_error_t *err)
{
  uint64_t n = 0;
  int r = get_uint (obj, base, key, UINT16_MAX, "uint16", &n, has, err);
  if (r > 0)
    *out = (uint16_t) n;
  return r;
}

int
spec_get_i64 (yajl_val obj, const char *base, const char *key, int64_t *out, bool *has,
              husk_error_t *err)
{
  return get_int (obj, base, key, INT64_MIN, INT64_MAX, "int64", out, has, err);
}

int
spec_get_i32 (yajl_val obj, const char *base, const char *key, int32_t *out, bool *has,
              husk_error_t *err)
{
  int64_t n = 0;
  int r = get_int (obj, base, key, INT32_MIN, INT32_MAX, "int32", &n, has, err);
  if (r > 0)
    *out = (int32_t) n;
  return r;
}

int
spec_get_strv (yajl_val obj, const char *base, const char *key, char ***out, size_t *len,
               husk_error_t *err)
{
  yajl_val v = spec_get (obj, key);
  husk_autofree char *path = NULL;
  husk_autostrv char **strv = NULL;
  size_t n;

  if (v == NULL)
    return 0;
  path = spec_path (base, key);
  if (!YAJL_IS_ARRAY (v))
    return husk_error_make (err, 0, "%s: expected an array of strings", path);
  n = v->u.array.len;
  strv = xmalloc0 ((n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    {
      yajl_val s = v->u.array.values[i];
      if (!YAJL_IS_STRING (s))
        return husk_error_make (err, 0, "%s[%zu]: expected a string", path, i);
      strv[i] = xstrdup (YAJL_GET_STRING (s));
    }
  husk_strv_free (*out);
  *out = steal_ptr (&strv);
  *len = n;
  return 1;
}

int
spec_get_strmap (yajl_val obj, const char *base, const char *key, char ***keys, char ***values,
                 size_t *len, husk_error_t *err)
{
  yajl_val v = spec_get (obj, key);
  husk_autofree char *path = NULL;
  husk_autostrv char **k = NULL;
  husk_autostrv char **vals = NULL;
  size_t n = 0;

  if (v == NULL)
    return 0;
  path = spec_path (base, key);
  if (!YAJL_IS_OBJECT (v))
    return husk_error_make (err, 0, "%s: expected an object of strings", path);
  k = xmalloc0 ((v->u.object.len + 1) * sizeof (char *));
  vals = xmalloc0 ((v->u.object.len + 1) * sizeof (char *));
  for (size_t i = 0; i < v->u.object.len; i++)
    {
      const char *name = v->u.object.keys[i];
      yajl_val s = v->u.object.values[i];
      size_t j;

      if (!YAJL_IS_STRING (s))
        return husk_error_make (err, 0, "%s.%s: expected a string", path, name);
      /* A repeated key replaces the earlier value (as Go's decoder does). */
      for (j = 0; j < n; j++)
        if (strcmp (k[j], name) == 0)
          break;
      if (j < n)
        {
          free (vals[j]);
          vals[j] = xstrdup (YAJL_GET_STRING (s));
          continue;
        }
      k[n] = xstrdup (name);
      vals[n] = xstrdup (YAJL_GET_STRING (s));
      n++;
    }
  husk_strv_free (*keys);
  husk_strv_free (*values);
  *keys = steal_ptr (&k);
  *values = steal_ptr (&vals);
  *len = n;
  return 1;
}

int
spec_get_idmaps (yajl_val obj, const char *base, const char *key, husk_idmap_t **out, size_t *len,
                 husk_error_t *err)
{
  yajl_val arr = NULL;
  husk_autofree char *path = NULL;
  husk_autofree husk_idmap_t *maps = NULL;
  int r = spec_get_array (obj, base, key, &arr, err);

  if (r <= 0)
    return r;
  path = spec_path (base, key);
  maps = xmalloc0 ((arr->u.array.len + 1) * sizeof *maps);
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val m = arr->u.array.values[i];
      husk_autofree char *mpath = spec_path_idx (path, i);

      if (spec_expect_object (m, mpath, err) < 0)
        return -1;
      if (spec_get_u32 (m, mpath, "containerID", &maps[i].container_id, NULL, err) < 0
          || spec_get_u32 (m, mpath, "hostID", &maps[i].host_id, NULL, err) < 0
          || spec_get_u32 (m, mpath, "size", &maps[i].size, NULL, err) < 0)
        return -1;
    }
  free (*out);
  *out = steal_ptr (&maps);
  *len = arr->u.array.len;
  return 1;
}

int
spec_name_index (const char *const *table, const char *name)
{
  for (int i = 0; table[i]; i++)
    if (strcmp (table[i], name) == 0)
      return i;
  return -1;
}

/* --- documents ------------------------------------------------------------- */

void
spec_yajl_freep (yajl_val *v)
{
  if (*v)
    yajl_tree_free (*v);
  *v = NULL;
}

/* yajl's verbose message spans lines (text + caret): keep the first line. */
static void
one_line (char *s)
{
  char *nl = strpbrk (s, "\r\n");
  size_t n;
  if (nl)
    *nl = '\0';
  n = strlen (s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
}

int
spec_parse_document (const char *json, size_t len, const char *what, yajl_val *out,
                     husk_error_t *err)
{
  char errbuf[1024] = "";
  husk_autofree char *text = NULL;
  yajl_val tree;

  if (json == NULL)
    json = "", len = 0;
  if (memchr (json, '\0', len) != NULL)
    return husk_error_make (err, 0, "%s: invalid JSON: unexpected NUL byte", what);
  text = xstrndup (json, len);
  tree = yajl_tree_parse (text, errbuf, sizeof errbuf);
  if (tree == NULL)
    {
      one_line (errbuf);
      return husk_error_make (err, 0, "%s: invalid JSON: %s", what,
                              errbuf[0] ? errbuf : "parse error");
    }
  if (!YAJL_IS_OBJECT (tree))
    {
      yajl_tree_free (tree);
      return husk_error_make (err, 0, "%s: expected a JSON object", what);
    }
  *out = tree;
  return 0;
}

/* --- top level: mounts, hooks ---------------------------------------------- */

static void
mount_clear (husk_mount_t *m)
{
  free (m->destination);
  free (m->source);
  free (m->type);
  husk_strv_free (m->options);
  free (m->uid_mappings);
  free (m->gid_mappings);
}

static int
parse_mounts (yajl_val root, husk_spec_t *spec, husk_error_t *err)
{
  yajl_val arr = NULL;
  int r = spec_get_array (root, "", "mounts", &arr, err);
  if (r <= 0)
    return r;
  spec->mounts = xmalloc0 ((arr->u.array.len + 1) * sizeof (husk_mount_t));
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      husk_mount_t *m = &spec->mounts[i];
      husk_autofree char *path = spec_path_idx ("mounts", i);

      spec->mounts_len = i + 1; /* so free() sees what is filled */
      if (spec_expect_object (v, path, err) < 0)
        return -1;
      if (spec_require_string (v, path, "destination", &m->destination, err) < 0
          || spec_get_string (v, path, "source", &m->source, err) < 0
          || spec_get_string (v, path, "type", &m->type, err) < 0
          || spec_get_strv (v, path, "options", &m->options, &m->options_len, err) < 0
          || spec_get_idmaps (v, path, "uidMappings", &m->uid_mappings, &m->uid_mappings_len, err)
                 < 0
          || spec_get_idmaps (v, path, "gidMappings", &m->gid_mappings, &m->gid_mappings_len, err)
                 < 0)
        return -1;
      if (!spec_is_absolute (m->destination))
        return spec_error (err, path, "destination", "must be an absolute path");
    }
  return 0;
}

static void
hook_list_clear (husk_hook_list_t *l)
{
  for (size_t i = 0; i < l->len; i++)
    {
      free (l->items[i].path);
      husk_strv_free (l->items[i].args);
      husk_strv_free (l->items[i].env);
    }
  free (l->items);
  l->items = NULL;
  l->len = 0;
}

static int
parse_hook_list (yajl_val hooks, const char *key, husk_hook_list_t *l, husk_error_t *err)
{
  yajl_val arr = NULL;
  husk_autofree char *base = NULL;
  int r = spec_get_array (hooks, "hooks", key, &arr, err);
  if (r <= 0)
    return r;
  base = spec_path ("hooks", key);
  l->items = xmalloc0 ((arr->u.array.len + 1) * sizeof (husk_hook_t));
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      husk_hook_t *h = &l->items[i];
      husk_autofree char *path = spec_path_idx (base, i);
      int64_t timeout = 0;

      l->len = i + 1;
      if (spec_expect_object (v, path, err) < 0)
        return -1;
      if (spec_require_string (v, path, "path", &h->path, err) < 0
          || spec_get_strv (v, path, "args", &h->args, &h->args_len, err) < 0
          || spec_get_strv (v, path, "env", &h->env, &h->env_len, err) < 0)
        return -1;
      if (!spec_is_absolute (h->path))
        return spec_error (err, path, "path", "must be an absolute path");
      r = get_int (v, path, "timeout", INT32_MIN, INT32_MAX, "int", &timeout, &h->has_timeout, err);
      if (r < 0)
        return -1;
      if (h->has_timeout && timeout <= 0)
        return spec_error (err, path, "timeout", "must be greater than 0");
      h->timeout = (int) timeout;
    }
  return 0;
}

static void
hooks_free (husk_hooks_t *h)
{
  if (h == NULL)
    return;
  hook_list_clear (&h->prestart);
  hook_list_clear (&h->create_runtime);
  hook_list_clear (&h->create_container);
  hook_list_clear (&h->start_container);
  hook_list_clear (&h->poststart);
  hook_list_clear (&h->poststop);
  free (h);
}

static int
parse_hooks (yajl_val root, husk_spec_t *spec, husk_error_t *err)
{
  yajl_val hooks = NULL;
  int r = spec_get_object (root, "", "hooks", &hooks, err);
  if (r <= 0)
    return r;
  spec->hooks = xmalloc0 (sizeof *spec->hooks);
  if (parse_hook_list (hooks, "prestart", &spec->hooks->prestart, err) < 0
      || parse_hook_list (hooks, "createRuntime", &spec->hooks->create_runtime, err) < 0
      || parse_hook_list (hooks, "createContainer", &spec->hooks->create_container, err) < 0
      || parse_hook_list (hooks, "startContainer", &spec->hooks->start_container, err) < 0
      || parse_hook_list (hooks, "poststart", &spec->hooks->poststart, err) < 0
      || parse_hook_list (hooks, "poststop", &spec->hooks->poststop, err) < 0)
    return -1;
  return 0;
}

static int
parse_spec_tree (yajl_val root, husk_spec_t *spec, husk_error_t *err)
{
  yajl_val v = NULL;
  int r;

  if (spec_require_string (root, "", "ociVersion", &spec->oci_version, err) < 0)
    return -1;
  if (spec->oci_version[0] == '\0')
    return spec_error (err, "", "ociVersion", "must not be empty");

  v = NULL;
  r = spec_get_object (root, "", "root", &v, err);
  if (r < 0)
    return -1;
  if (r == 0)
    return spec_error (err, "root", "path", "missing required field");
  if (spec_require_string (v, "root", "path", &spec->root_path, err) < 0
      || spec_get_bool (v, "root", "readonly", &spec->root_readonly, NULL, err) < 0)
    return -1;
  if (spec->root_path[0] == '\0')
    return spec_error (err, "root", "path", "must not be empty");

  if (parse_mounts (root, spec, err) < 0)
    return -1;

  v = NULL;
  r = spec_get_object (root, "", "process", &v, err);
  if (r < 0)
    return -1;
  if (r > 0)
    {
      spec->process = xmalloc0 (sizeof *spec->process);
      if (spec_parse_process (v, "process", spec->process, err) < 0)
        return -1;
    }

  if (spec_get_string (root, "", "hostname", &spec->hostname, err) < 0
      || spec_get_string (root, "", "domainname", &spec->domainname, err) < 0)
    return -1;
  if (parse_hooks (root, spec, err) < 0)
    return -1;
  if (spec_get_strmap (root, "", "annotations", &spec->annotation_keys, &spec->annotation_values,
                       &spec->annotations_len, err)
      < 0)
    return -1;

  v = NULL;
  r = spec_get_object (root, "", "linux", &v, err);
  if (r < 0)
    return -1;
  if (r > 0)
    {
      spec->linux_ = xmalloc0 (sizeof *spec->linux_);
      if (spec_parse_linux (v, "linux", spec->linux_, err) < 0)
        return -1;
    }
  return spec_validate_linux (spec, err);
}

int
husk_spec_parse (const char *json, size_t len, husk_spec_t **out, husk_error_t *err)
{
  spec_autotree yajl_val root = NULL;
  husk_autospec husk_spec_t *spec = NULL;

  if (spec_parse_document (json, len, "config.json", &root, err) < 0)
    return -1;
  spec = xmalloc0 (sizeof *spec);
  if (parse_spec_tree (root, spec, err) < 0)
    return -1;
  *out = steal_ptr (&spec);
  return 0;
}

int
husk_spec_load (const char *path, husk_spec_t **out, husk_error_t *err)
{
  husk_autofree char *data = NULL;
  size_t len = 0;

  if (husk_read_file (path, &data, &len, err) < 0)
    return -1;
  return husk_spec_parse (data, len, out, err);
}

void
husk_spec_free (husk_spec_t *spec)
{
  if (spec == NULL)
    return;
  free (spec->oci_version);
  free (spec->root_path);
  for (size_t i = 0; i < spec->mounts_len; i++)
    mount_clear (&spec->mounts[i]);
  free (spec->mounts);
  husk_process_free (spec->process);
  free (spec->hostname);
  free (spec->domainname);
  hooks_free (spec->hooks);
  husk_strv_free (spec->annotation_keys);
  husk_strv_free (spec->annotation_values);
  if (spec->linux_)
    {
      spec_linux_clear (spec->linux_);
      free (spec->linux_);
    }
  free (spec);
}

void
husk_spec_freep (husk_spec_t **spec)
{
  husk_spec_free (*spec);
  *spec = NULL;
}

/* --- exec -p and update -r documents ---------------------------------------- */

int
husk_process_parse (const char *json, size_t len, husk_process_t **out, husk_error_t *err)
{
  spec_autotree yajl_val root = NULL;
  husk_process_t *p;

  if (spec_parse_document (json, len, "process.json", &root, err) < 0)
    return -1;
  p = xmalloc0 (sizeof *p);
  if (spec_parse_process (root, "", p, err) < 0)
    {
      husk_process_free (p);
      return -1;
    }
  *out = p;
  return 0;
}

void
husk_process_free (husk_process_t *p)
{
  if (p == NULL)
    return;
  spec_process_clear (p);
  free (p);
}

int
husk_resources_parse (const char *json, size_t len, husk_resources_t **out, husk_error_t *err)
{
  spec_autotree yajl_val root = NULL;
  husk_resources_t *r;

  if (spec_parse_document (json, len, "resources.json", &root, err) < 0)
    return -1;
  r = xmalloc0 (sizeof *r);
  if (spec_parse_resources (root, "", r, err) < 0)
    {
      husk_resources_free (r);
      return -1;
    }
  *out = r;
  return 0;
}

void
husk_resources_free (husk_resources_t *r)
{
  if (r == NULL)
    return;
  spec_resources_clear (r);
  free (r);
}
