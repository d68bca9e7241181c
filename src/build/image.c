/* husk-build: manifests, indexes and image configs (typed, from the store),
 * and writing new images. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <yajl/yajl_tree.h>
#include "internal.h"
#include "image.h"

/* ---- JSON helpers ------------------------------------------------------ */

yajl_val
hb_json_get (yajl_val obj, const char *key)
{
  size_t i;
  if (obj == NULL || !YAJL_IS_OBJECT (obj))
    return NULL;
  for (i = 0; i < obj->u.object.len; i++)
    if (strcmp (obj->u.object.keys[i], key) == 0)
      return obj->u.object.values[i];
  return NULL;
}

const char *
hb_json_get_str (yajl_val obj, const char *key)
{
  yajl_val v = hb_json_get (obj, key);
  return v && YAJL_IS_STRING (v) ? v->u.string : NULL;
}

int64_t
hb_json_get_int (yajl_val obj, const char *key, int64_t dflt)
{
  yajl_val v = hb_json_get (obj, key);
  return v && YAJL_IS_INTEGER (v) ? (int64_t) YAJL_GET_INTEGER (v) : dflt;
}

int
hb_json_parse (const char *text, const char *what, yajl_val *out, husk_error_t *err)
{
  char ebuf[256] = "";
  yajl_val v = yajl_tree_parse (text, ebuf, sizeof ebuf);
  if (v == NULL)
    {
      char *nl = strchr (ebuf, '\n');
      if (nl)
        *nl = '\0';
      return husk_error_make (err, 0, "%s: invalid JSON: %s", what, ebuf[0] ? ebuf : "parse error");
    }
  *out = v;
  return 0;
}

/* String array -> strv (+len).  Non-strings are skipped. */
static char **
json_strv (yajl_val arr, size_t *len)
{
  char **v;
  size_t i, n = 0;
  *len = 0;
  if (arr == NULL || !YAJL_IS_ARRAY (arr))
    return NULL;
  v = xmalloc0 (sizeof (char *) * (arr->u.array.len + 1));
  for (i = 0; i < arr->u.array.len; i++)
    if (YAJL_IS_STRING (arr->u.array.values[i]))
      v[n++] = xstrdup (arr->u.array.values[i]->u.string);
  *len = n;
  return v;
}

/* Object keys -> strv (ExposedPorts, Volumes). */
static char **
json_keys (yajl_val obj, size_t *len)
{
  char **v;
  size_t i;
  *len = 0;
  if (obj == NULL || !YAJL_IS_OBJECT (obj))
    return NULL;
  v = xmalloc0 (sizeof (char *) * (obj->u.object.len + 1));
  for (i = 0; i < obj->u.object.len; i++)
    v[i] = xstrdup (obj->u.object.keys[i]);
  *len = obj->u.object.len;
  return v;
}

static void
json_str_map (yajl_val obj, char ***keys, char ***values, size_t *len)
{
  size_t i, n = 0;
  *keys = *values = NULL;
  *len = 0;
  if (obj == NULL || !YAJL_IS_OBJECT (obj))
    return;
  *keys = xmalloc0 (sizeof (char *) * (obj->u.object.len + 1));
  *values = xmalloc0 (sizeof (char *) * (obj->u.object.len + 1));
  for (i = 0; i < obj->u.object.len; i++)
    {
      yajl_val v = obj->u.object.values[i];
      (*keys)[n] = xstrdup (obj->u.object.keys[i]);
      (*values)[n] = xstrdup (YAJL_IS_STRING (v) ? v->u.string : "");
      n++;
    }
  *len = n;
}

static void
strv_free_n (char **v, size_t n)
{
  size_t i;
  if (v == NULL)
    return;
  for (i = 0; i < n; i++)
    free (v[i]);
  free (v);
}

static char **
strv_dup_n (char *const *v, size_t n)
{
  char **r;
  size_t i;
  if (v == NULL)
    return NULL;
  r = xmalloc0 (sizeof (char *) * (n + 1));
  for (i = 0; i < n; i++)
    r[i] = xstrdup (v[i]);
  return r;
}

static void
strv_push (char ***v, size_t *n, const char *s)
{
  *v = xrealloc (*v, sizeof (char *) * (*n + 2));
  (*v)[(*n)++] = xstrdup (s);
  (*v)[*n] = NULL;
}

/* ---- media types ------------------------------------------------------- */

hb_compression_t
hb_layer_compression (const char *mt)
{
  if (mt == NULL)
    return HB_COMPRESS_UNKNOWN;
  if (strcmp (mt, HB_MT_OCI_LAYER) == 0 || strcmp (mt, "application/vnd.oci.image.layer.nondistributable.v1.tar") == 0
      || strcmp (mt, "application/vnd.docker.image.rootfs.diff.tar") == 0)
    return HB_COMPRESS_NONE;
  if (strcmp (mt, HB_MT_OCI_LAYER_GZIP) == 0 || strcmp (mt, HB_MT_OCI_LAYER_NONDIST_GZIP) == 0
      || strcmp (mt, HB_MT_DOCKER_LAYER_GZIP) == 0 || strcmp (mt, HB_MT_DOCKER_LAYER_FOREIGN) == 0)
    return HB_COMPRESS_GZIP;
  if (strcmp (mt, HB_MT_OCI_LAYER_ZSTD) == 0
      || strcmp (mt, "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd") == 0)
    return HB_COMPRESS_ZSTD;
  return HB_COMPRESS_UNKNOWN;
}

bool
hb_media_type_is_manifest (const char *mt)
{
  return mt && (strcmp (mt, HB_MT_OCI_MANIFEST) == 0 || strcmp (mt, HB_MT_DOCKER_MANIFEST) == 0);
}

bool
hb_media_type_is_index (const char *mt)
{
  return mt && (strcmp (mt, HB_MT_OCI_INDEX) == 0 || strcmp (mt, HB_MT_DOCKER_LIST) == 0);
}

static const char *
sniff_tree (yajl_val root)
{
  const char *mt = hb_json_get_str (root, "mediaType");
  if (hb_media_type_is_manifest (mt))
    return strcmp (mt, HB_MT_OCI_MANIFEST) == 0 ? HB_MT_OCI_MANIFEST : HB_MT_DOCKER_MANIFEST;
  if (hb_media_type_is_index (mt))
    return strcmp (mt, HB_MT_OCI_INDEX) == 0 ? HB_MT_OCI_INDEX : HB_MT_DOCKER_LIST;
  if (mt)
    return NULL;
  if (hb_json_get (root, "config") && hb_json_get (root, "layers"))
    return HB_MT_OCI_MANIFEST;
  if (hb_json_get (root, "manifests"))
    return HB_MT_OCI_INDEX;
  return NULL;
}

const char *
hb_manifest_sniff_media_type (const char *json, size_t len)
{
  husk_autofree char *copy = xstrndup (json, len);
  yajl_val root = NULL;
  const char *mt;
  if (hb_json_parse (copy, "manifest", &root, NULL) < 0)
    return NULL;
  mt = sniff_tree (root);
  yajl_tree_free (root);
  return mt;
}

/* ---- descriptors ------------------------------------------------------- */

void
hb_desc_clear (hb_desc_t *d)
{
  free (d->media_type);
  free (d->digest);
  free (d->platform_os);
  free (d->platform_arch);
  free (d->platform_variant);
  memset (d, 0, sizeof *d);
}

static int
desc_parse (yajl_val v, hb_desc_t *d, const char *what, husk_error_t *err)
{
  const char *digest = hb_json_get_str (v, "digest");
  yajl_val plat = hb_json_get (v, "platform");
  memset (d, 0, sizeof *d);
  if (v == NULL || !YAJL_IS_OBJECT (v))
    return husk_error_make (err, 0, "%s: not an object", what);
  if (!hb_digest_valid (digest))
    return husk_error_make (err, 0, "%s: unsupported or invalid digest `%s`", what, digest ? digest : "");
  d->digest = xstrdup (digest);
  d->media_type = xstrdup (hb_json_get_str (v, "mediaType"));
  d->size = hb_json_get_int (v, "size", -1);
  if (plat)
    {
      d->platform_os = xstrdup (hb_json_get_str (plat, "os"));
      d->platform_arch = xstrdup (hb_json_get_str (plat, "architecture"));
      d->platform_variant = xstrdup (hb_json_get_str (plat, "variant"));
    }
  return 0;
}

/* ---- manifests --------------------------------------------------------- */

void
hb_manifest_free (hb_manifest_t *m)
{
  size_t i;
  if (m == NULL)
    return;
  free (m->media_type);
  hb_desc_clear (&m->config);
  for (i = 0; i < m->layers_len; i++)
    hb_desc_clear (&m->layers[i]);
  free (m->layers);
  strv_free_n (m->annotation_keys, m->annotations_len);
  strv_free_n (m->annotation_values, m->annotations_len);
  free (m);
}

void
hb_manifest_freep (hb_manifest_t **m)
{
  hb_manifest_free (*m);
  *m = NULL;
}

static int
manifest_from_tree (yajl_val root, const char *hint, hb_manifest_t *m, husk_error_t *err)
{
  const char *mt = hb_json_get_str (root, "mediaType");
  yajl_val layers = hb_json_get (root, "layers");
  size_t i;

  if (mt == NULL)
    mt = hint;
  if (mt == NULL)
    mt = sniff_tree (root);
  if (hb_json_get_int (root, "schemaVersion", 0) != 2)
    return husk_error_make (err, 0, "unsupported manifest schema version %lld",
                            (long long) hb_json_get_int (root, "schemaVersion", 0));
  if (!hb_media_type_is_manifest (mt))
    return husk_error_make (err, 0, "unsupported manifest media type `%s`", mt ? mt : "");
  m->media_type = xstrdup (mt);
  if (desc_parse (hb_json_get (root, "config"), &m->config, "manifest config", err) < 0)
    return -1;
  if (m->config.media_type == NULL
      || (strcmp (m->config.media_type, HB_MT_OCI_CONFIG) != 0
          && strcmp (m->config.media_type, HB_MT_DOCKER_CONFIG) != 0))
    return husk_error_make (err, 0, "unsupported config media type `%s`",
                            m->config.media_type ? m->config.media_type : "");
  if (layers == NULL || !YAJL_IS_ARRAY (layers))
    return husk_error_make (err, 0, "manifest has no layers array");
  m->layers = xmalloc0 (sizeof (hb_desc_t) * (layers->u.array.len + 1));
  for (i = 0; i < layers->u.array.len; i++)
    {
      hb_desc_t *d = &m->layers[i];
      if (desc_parse (layers->u.array.values[i], d, "manifest layer", err) < 0)
        return -1;
      m->layers_len++;
      if (hb_layer_compression (d->media_type) == HB_COMPRESS_UNKNOWN)
        return husk_error_make (err, 0, "unsupported layer media type `%s`", d->media_type ? d->media_type : "");
    }
  json_str_map (hb_json_get (root, "annotations"), &m->annotation_keys, &m->annotation_values, &m->annotations_len);
  return 0;
}

int
hb_manifest_parse (const char *json, size_t len, const char *hint, hb_manifest_t **out, husk_error_t *err)
{
  husk_autofree char *copy = xstrndup (json, len);
  yajl_val root = NULL;
  hb_manifest_t *m;
  int r;

  if (hb_json_parse (copy, "manifest", &root, err) < 0)
    return -1;
  m = xmalloc0 (sizeof *m);
  r = manifest_from_tree (root, hint, m, err);
  yajl_tree_free (root);
  if (r < 0)
    {
      hb_manifest_free (m);
      return r;
    }
  *out = m;
  return 0;
}

int
hb_manifest_load (hb_store_t *s, const char *digest, hb_manifest_t **out, husk_error_t *err)
{
  husk_autofree char *json = NULL;
  size_t len = 0;
  if (hb_store_read_blob (s, digest, &json, &len, err) < 0)
    return -1;
  if (hb_manifest_parse (json, len, NULL, out, err) < 0)
    return husk_error_wrap (err, "manifest %s", digest);
  return 0;
}

/* ---- indexes ----------------------------------------------------------- */

void
hb_index_free (hb_index_t *idx)
{
  size_t i;
  if (idx == NULL)
    return;
  free (idx->media_type);
  for (i = 0; i < idx->manifests_len; i++)
    hb_desc_clear (&idx->manifests[i]);
  free (idx->manifests);
  free (idx);
}

int
hb_index_parse (const char *json, size_t len, const char *hint, hb_index_t **out, husk_error_t *err)
{
  husk_autofree char *copy = xstrndup (json, len);
  yajl_val root = NULL, arr;
  const char *mt;
  hb_index_t *idx;
  size_t i;

  if (hb_json_parse (copy, "index", &root, err) < 0)
    return -1;
  mt = hb_json_get_str (root, "mediaType");
  if (mt == NULL)
    mt = hint ? hint : HB_MT_OCI_INDEX;
  arr = hb_json_get (root, "manifests");
  if (!hb_media_type_is_index (mt) || arr == NULL || !YAJL_IS_ARRAY (arr))
    {
      yajl_tree_free (root);
      return husk_error_make (err, 0, "unsupported index media type `%s`", mt);
    }
  idx = xmalloc0 (sizeof *idx);
  idx->media_type = xstrdup (mt);
  idx->manifests = xmalloc0 (sizeof (hb_desc_t) * (arr->u.array.len + 1));
  for (i = 0; i < arr->u.array.len; i++)
    {
      if (desc_parse (arr->u.array.values[i], &idx->manifests[idx->manifests_len], "index entry", err) < 0)
        {
          yajl_tree_free (root);
          hb_index_free (idx);
          return -1;
        }
      idx->manifests_len++;
    }
  yajl_tree_free (root);
  *out = idx;
  return 0;
}

const char *
hb_host_platform (void)
{
  static char buf[128];
  struct utsname u;
  const char *arch = "amd64";
  if (buf[0])
    return buf;
  if (uname (&u) == 0)
    {
      if (strcmp (u.machine, "x86_64") == 0)
        arch = "amd64";
      else if (strcmp (u.machine, "aarch64") == 0)
        arch = "arm64/v8";
      else if (strncmp (u.machine, "armv7", 5) == 0)
        arch = "arm/v7";
      else if (strncmp (u.machine, "armv6", 5) == 0)
        arch = "arm/v6";
      else if (strcmp (u.machine, "i686") == 0 || strcmp (u.machine, "i386") == 0)
        arch = "386";
      else if (strcmp (u.machine, "ppc64le") == 0 || strcmp (u.machine, "s390x") == 0
               || strcmp (u.machine, "riscv64") == 0)
        arch = u.machine;
    }
  snprintf (buf, sizeof buf, "linux/%s", arch);
  return buf;
}

int
hb_index_select (const hb_index_t *idx, const char *platform, const hb_desc_t **out, husk_error_t *err)
{
  husk_autofree char *p = xstrdup (platform ? platform : hb_host_platform ());
  husk_autofree char *have = xstrdup ("");
  char *os = p, *arch, *variant = NULL;
  const hb_desc_t *best = NULL;
  size_t i;

  arch = strchr (p, '/');
  if (arch == NULL)
    return husk_error_make (err, 0, "invalid platform `%s` (want os/arch[/variant])", p);
  *arch++ = '\0';
  variant = strchr (arch, '/');
  if (variant)
    *variant++ = '\0';
  for (i = 0; i < idx->manifests_len; i++)
    {
      const hb_desc_t *d = &idx->manifests[i];
      const char *dv = d->platform_variant;
      char *tmp;
      if (d->platform_os && d->platform_arch)
        {
          tmp = xstrdup_printf ("%s%s%s/%s%s%s", have, *have ? ", " : "", d->platform_os, d->platform_arch,
                                dv ? "/" : "", dv ? dv : "");
          free (have);
          have = tmp;
        }
      if (!hb_media_type_is_manifest (d->media_type) && d->media_type != NULL)
        continue;
      if (d->platform_os == NULL || d->platform_arch == NULL || strcmp (d->platform_os, os) != 0
          || strcmp (d->platform_arch, arch) != 0)
        continue;
      if (variant == NULL)
        {
          if (best == NULL)
            best = d;
          continue;
        }
      if ((dv && strcmp (dv, variant) == 0)
          || (dv == NULL && strcmp (arch, "arm64") == 0 && strcmp (variant, "v8") == 0))
        {
          best = d;
          break;
        }
    }
  if (best == NULL)
    return husk_error_make (err, 0, "no image for platform `%s%s%s%s%s` (have: %s)", os, "/", arch, variant ? "/" : "",
                            variant ? variant : "", *have ? have : "none");
  *out = best;
  return 0;
}

/* ---- image configs ----------------------------------------------------- */

void
hb_image_config_free (hb_image_config_t *c)
{
  size_t i;
  if (c == NULL)
    return;
  free (c->created);
  free (c->author);
  free (c->architecture);
  free (c->os);
  free (c->variant);
  free (c->user);
  strv_free_n (c->env, c->env_len);
  strv_free_n (c->entrypoint, c->entrypoint_len);
  strv_free_n (c->cmd, c->cmd_len);
  free (c->working_dir);
  strv_free_n (c->exposed_ports, c->exposed_ports_len);
  strv_free_n (c->volumes, c->volumes_len);
  strv_free_n (c->label_keys, c->labels_len);
  strv_free_n (c->label_values, c->labels_len);
  free (c->stop_signal);
  strv_free_n (c->diff_ids, c->diff_ids_len);
  for (i = 0; i < c->history_len; i++)
    {
      free (c->history[i].created);
      free (c->history[i].created_by);
      free (c->history[i].author);
      free (c->history[i].comment);
    }
  free (c->history);
  free (c);
}

void
hb_image_config_freep (hb_image_config_t **c)
{
  hb_image_config_free (*c);
  *c = NULL;
}

int
hb_image_config_parse (const char *json, size_t len, hb_image_config_t **out, husk_error_t *err)
{
  husk_autofree char *copy = xstrndup (json, len);
  yajl_val root = NULL, cfg, rootfs, hist, v;
  hb_image_config_t *c;
  size_t i;

  if (hb_json_parse (copy, "image config", &root, err) < 0)
    return -1;
  if (!YAJL_IS_OBJECT (root))
    {
      yajl_tree_free (root);
      return husk_error_make (err, 0, "image config: not a JSON object");
    }
  c = xmalloc0 (sizeof *c);
  c->created = xstrdup (hb_json_get_str (root, "created"));
  c->author = xstrdup (hb_json_get_str (root, "author"));
  c->architecture = xstrdup (hb_json_get_str (root, "architecture"));
  c->os = xstrdup (hb_json_get_str (root, "os"));
  c->variant = xstrdup (hb_json_get_str (root, "variant"));
  cfg = hb_json_get (root, "config");
  if (cfg && YAJL_IS_OBJECT (cfg))
    {
      c->user = xstrdup (hb_json_get_str (cfg, "User"));
      if (c->user && *c->user == '\0')
        {
          free (c->user);
          c->user = NULL;
        }
      c->env = json_strv (hb_json_get (cfg, "Env"), &c->env_len);
      v = hb_json_get (cfg, "Entrypoint");
      c->has_entrypoint = v && YAJL_IS_ARRAY (v);
      c->entrypoint = json_strv (v, &c->entrypoint_len);
      v = hb_json_get (cfg, "Cmd");
      c->has_cmd = v && YAJL_IS_ARRAY (v);
      c->cmd = json_strv (v, &c->cmd_len);
      c->working_dir = xstrdup (hb_json_get_str (cfg, "WorkingDir"));
      if (c->working_dir && *c->working_dir == '\0')
        {
          free (c->working_dir);
          c->working_dir = NULL;
        }
      c->exposed_ports = json_keys (hb_json_get (cfg, "ExposedPorts"), &c->exposed_ports_len);
      c->volumes = json_keys (hb_json_get (cfg, "Volumes"), &c->volumes_len);
      json_str_map (hb_json_get (cfg, "Labels"), &c->label_keys, &c->label_values, &c->labels_len);
      c->stop_signal = xstrdup (hb_json_get_str (cfg, "StopSignal"));
    }
  rootfs = hb_json_get (root, "rootfs");
  c->diff_ids = json_strv (hb_json_get (rootfs, "diff_ids"), &c->diff_ids_len);
  hist = hb_json_get (root, "history");
  if (hist && YAJL_IS_ARRAY (hist))
    {
      c->history = xmalloc0 (sizeof (hb_history_t) * (hist->u.array.len + 1));
      for (i = 0; i < hist->u.array.len; i++)
        {
          yajl_val h = hist->u.array.values[i];
          hb_history_t *e = &c->history[c->history_len++];
          e->created = xstrdup (hb_json_get_str (h, "created"));
          e->created_by = xstrdup (hb_json_get_str (h, "created_by"));
          e->author = xstrdup (hb_json_get_str (h, "author"));
          e->comment = xstrdup (hb_json_get_str (h, "comment"));
          v = hb_json_get (h, "empty_layer");
          e->empty_layer = v && YAJL_IS_TRUE (v);
        }
    }
  yajl_tree_free (root);
  *out = c;
  return 0;
}

int
hb_image_config_load (hb_store_t *s, const char *digest, hb_image_config_t **out, husk_error_t *err)
{
  husk_autofree char *json = NULL;
  size_t len = 0;
  if (hb_store_read_blob (s, digest, &json, &len, err) < 0)
    return -1;
  if (hb_image_config_parse (json, len, out, err) < 0)
    return husk_error_wrap (err, "config %s", digest);
  return 0;
}

hb_image_config_t *
hb_image_config_dup (const hb_image_config_t *c)
{
  hb_image_config_t *d = xmalloc0 (sizeof *d);
  size_t i;
  *d = *c;
  d->created = xstrdup (c->created);
  d->author = xstrdup (c->author);
  d->architecture = xstrdup (c->architecture);
  d->os = xstrdup (c->os);
  d->variant = xstrdup (c->variant);
  d->user = xstrdup (c->user);
  d->env = strv_dup_n (c->env, c->env_len);
  d->entrypoint = strv_dup_n (c->entrypoint, c->entrypoint_len);
  d->cmd = strv_dup_n (c->cmd, c->cmd_len);
  d->working_dir = xstrdup (c->working_dir);
  d->exposed_ports = strv_dup_n (c->exposed_ports, c->exposed_ports_len);
  d->volumes = strv_dup_n (c->volumes, c->volumes_len);
  d->label_keys = strv_dup_n (c->label_keys, c->labels_len);
  d->label_values = strv_dup_n (c->label_values, c->labels_len);
  d->stop_signal = xstrdup (c->stop_signal);
  d->diff_ids = strv_dup_n (c->diff_ids, c->diff_ids_len);
  d->history = c->history_len ? xmalloc0 (sizeof (hb_history_t) * c->history_len) : NULL;
  for (i = 0; i < c->history_len; i++)
    {
      d->history[i].created = xstrdup (c->history[i].created);
      d->history[i].created_by = xstrdup (c->history[i].created_by);
      d->history[i].author = xstrdup (c->history[i].author);
      d->history[i].comment = xstrdup (c->history[i].comment);
      d->history[i].empty_layer = c->history[i].empty_layer;
    }
  return d;
}

static void
gen_strv (yajl_gen g, const char *key, char *const *v, size_t n)
{
  size_t i;
  husk_json_str (g, key);
  yajl_gen_array_open (g);
  for (i = 0; i < n; i++)
    husk_json_str (g, v[i]);
  yajl_gen_array_close (g);
}

static void
gen_set (yajl_gen g, const char *key, char *const *v, size_t n)
{
  size_t i;
  husk_json_str (g, key);
  yajl_gen_map_open (g);
  for (i = 0; i < n; i++)
    {
      husk_json_str (g, v[i]);
      yajl_gen_map_open (g);
      yajl_gen_map_close (g);
    }
  yajl_gen_map_close (g);
}

char *
hb_image_config_to_json (const hb_image_config_t *c)
{
  yajl_gen g = husk_json_gen_new (false, NULL);
  size_t i;

  yajl_gen_config (g, yajl_gen_escape_solidus, 0);
  yajl_gen_map_open (g);
  if (c->created)
    husk_json_kv_str (g, "created", c->created);
  if (c->author)
    husk_json_kv_str (g, "author", c->author);
  husk_json_kv_str (g, "architecture", c->architecture ? c->architecture : "amd64");
  husk_json_kv_str (g, "os", c->os ? c->os : "linux");
  if (c->variant)
    husk_json_kv_str (g, "variant", c->variant);
  husk_json_str (g, "config");
  yajl_gen_map_open (g);
  if (c->user)
    husk_json_kv_str (g, "User", c->user);
  if (c->exposed_ports_len)
    gen_set (g, "ExposedPorts", c->exposed_ports, c->exposed_ports_len);
  if (c->env_len)
    gen_strv (g, "Env", c->env, c->env_len);
  if (c->has_entrypoint || c->entrypoint_len)
    gen_strv (g, "Entrypoint", c->entrypoint, c->entrypoint_len);
  if (c->has_cmd || c->cmd_len)
    gen_strv (g, "Cmd", c->cmd, c->cmd_len);
  if (c->volumes_len)
    gen_set (g, "Volumes", c->volumes, c->volumes_len);
  if (c->working_dir)
    husk_json_kv_str (g, "WorkingDir", c->working_dir);
  if (c->labels_len)
    {
      husk_json_str (g, "Labels");
      yajl_gen_map_open (g);
      for (i = 0; i < c->labels_len; i++)
        husk_json_kv_str (g, c->label_keys[i], c->label_values[i]);
      yajl_gen_map_close (g);
    }
  if (c->stop_signal)
    husk_json_kv_str (g, "StopSignal", c->stop_signal);
  yajl_gen_map_close (g);
  husk_json_str (g, "rootfs");
  yajl_gen_map_open (g);
  husk_json_kv_str (g, "type", "layers");
  gen_strv (g, "diff_ids", c->diff_ids, c->diff_ids_len);
  yajl_gen_map_close (g);
  if (c->history_len)
    {
      husk_json_str (g, "history");
      yajl_gen_array_open (g);
      for (i = 0; i < c->history_len; i++)
        {
          const hb_history_t *h = &c->history[i];
          yajl_gen_map_open (g);
          if (h->created)
            husk_json_kv_str (g, "created", h->created);
          if (h->created_by)
            husk_json_kv_str (g, "created_by", h->created_by);
          if (h->author)
            husk_json_kv_str (g, "author", h->author);
          if (h->comment)
            husk_json_kv_str (g, "comment", h->comment);
          if (h->empty_layer)
            husk_json_kv_bool (g, "empty_layer", true);
          yajl_gen_map_close (g);
        }
      yajl_gen_array_close (g);
    }
  yajl_gen_map_close (g);
  return husk_json_gen_finish (g);
}

void
hb_image_config_set_env (hb_image_config_t *c, const char *key, const char *value)
{
  size_t i, kl = strlen (key);
  char *kv = xstrdup_printf ("%s=%s", key, value ? value : "");
  for (i = 0; i < c->env_len; i++)
    if (strncmp (c->env[i], key, kl) == 0 && (c->env[i][kl] == '=' || c->env[i][kl] == '\0'))
      {
        free (c->env[i]);
        c->env[i] = kv;
        return;
      }
  strv_push (&c->env, &c->env_len, kv);
  free (kv);
}

const char *
hb_image_config_get_env (const hb_image_config_t *c, const char *key)
{
  size_t i, kl = strlen (key);
  for (i = 0; i < c->env_len; i++)
    if (strncmp (c->env[i], key, kl) == 0 && c->env[i][kl] == '=')
      return c->env[i] + kl + 1;
  return NULL;
}

void
hb_image_config_set_label (hb_image_config_t *c, const char *key, const char *value)
{
  size_t i, n;
  for (i = 0; i < c->labels_len; i++)
    if (strcmp (c->label_keys[i], key) == 0)
      {
        free (c->label_values[i]);
        c->label_values[i] = xstrdup (value ? value : "");
        return;
      }
  n = c->labels_len;
  strv_push (&c->label_keys, &n, key);
  n = c->labels_len;
  strv_push (&c->label_values, &n, value ? value : "");
  c->labels_len = n;
}

void
hb_image_config_add_port (hb_image_config_t *c, const char *port)
{
  husk_autofree char *p = strchr (port, '/') ? xstrdup (port) : xstrdup_printf ("%s/tcp", port);
  size_t i;
  for (i = 0; i < c->exposed_ports_len; i++)
    if (strcmp (c->exposed_ports[i], p) == 0)
      return;
  strv_push (&c->exposed_ports, &c->exposed_ports_len, p);
}

void
hb_image_config_add_volume (hb_image_config_t *c, const char *path)
{
  for (size_t i = 0; i < c->volumes_len; i++)
    if (strcmp (c->volumes[i], path) == 0)
      return;
  strv_push (&c->volumes, &c->volumes_len, path);
}

void
hb_image_config_add_history (hb_image_config_t *c, const char *created_by, bool empty_layer)
{
  hb_history_t *h;
  c->history = xrealloc (c->history, sizeof (hb_history_t) * (c->history_len + 1));
  h = &c->history[c->history_len++];
  memset (h, 0, sizeof *h);
  h->created = husk_now_rfc3339nano ();
  h->created_by = xstrdup (created_by);
  h->empty_layer = empty_layer;
}

void
hb_image_config_add_diff_id (hb_image_config_t *c, const char *diff_id)
{
  strv_push (&c->diff_ids, &c->diff_ids_len, diff_id);
}

/* ---- images ------------------------------------------------------------ */

void
hb_image_free (hb_image_t *img)
{
  if (img == NULL)
    return;
  free (img->manifest_digest);
  hb_manifest_free (img->manifest);
  hb_image_config_free (img->config);
  free (img);
}

void
hb_image_freep (hb_image_t **img)
{
  hb_image_free (*img);
  *img = NULL;
}

int
hb_image_open (hb_store_t *s, const char *name, hb_image_t **out, husk_error_t *err)
{
  hb_image_t *img = xmalloc0 (sizeof *img);
  if (hb_store_resolve (s, name, &img->manifest_digest, err) < 0
      || hb_manifest_load (s, img->manifest_digest, &img->manifest, err) < 0
      || hb_image_config_load (s, img->manifest->config.digest, &img->config, err) < 0)
    {
      hb_image_free (img);
      return -1;
    }
  *out = img;
  return 0;
}

static void
gen_desc (yajl_gen g, const char *mt, const char *digest, int64_t size)
{
  yajl_gen_map_open (g);
  husk_json_kv_str (g, "mediaType", mt);
  husk_json_kv_str (g, "digest", digest);
  husk_json_kv_int (g, "size", size);
  yajl_gen_map_close (g);
}

int
hb_image_write (hb_store_t *s, const hb_image_config_t *cfg, const hb_desc_t *layers, size_t n, const char *ref,
                char **manifest_digest, husk_error_t *err)
{
  husk_autofree char *cfg_json = hb_image_config_to_json (cfg);
  husk_autofree char *cfg_digest = NULL;
  husk_autofree char *man_json = NULL;
  husk_autofree char *man_digest = NULL;
  yajl_gen g;
  size_t i;

  if (cfg->diff_ids_len != n)
    return husk_error_make (err, 0, "write image: %zu layers but %zu diff_ids", n, cfg->diff_ids_len);
  for (i = 0; i < n; i++)
    {
      int64_t size = hb_store_blob_size (s, layers[i].digest);
      if (size < 0)
        return husk_error_make (err, 0, "write image: layer %s is not in the store",
                                layers[i].digest ? layers[i].digest : "(null)");
      if (hb_layer_compression (layers[i].media_type) == HB_COMPRESS_UNKNOWN)
        return husk_error_make (err, 0, "write image: unsupported layer media type `%s`",
                                layers[i].media_type ? layers[i].media_type : "");
    }
  if (hb_store_put_mem (s, cfg_json, strlen (cfg_json), &cfg_digest, err) < 0)
    return husk_error_wrap (err, "write image config");

  g = husk_json_gen_new (false, NULL);
  yajl_gen_map_open (g);
  husk_json_kv_int (g, "schemaVersion", 2);
  husk_json_kv_str (g, "mediaType", HB_MT_OCI_MANIFEST);
  husk_json_str (g, "config");
  gen_desc (g, HB_MT_OCI_CONFIG, cfg_digest, strlen (cfg_json));
  husk_json_str (g, "layers");
  yajl_gen_array_open (g);
  for (i = 0; i < n; i++)
    gen_desc (g, layers[i].media_type, layers[i].digest, hb_store_blob_size (s, layers[i].digest));
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  man_json = husk_json_gen_finish (g);
  if (hb_store_put_mem (s, man_json, strlen (man_json), &man_digest, err) < 0)
    return husk_error_wrap (err, "write image manifest");
  if (hb_store_tag (s, ref, man_digest, err) < 0)
    return husk_error_wrap (err, "tag image `%s`", ref ? ref : man_digest);
  if (manifest_digest)
    *manifest_digest = steal_ptr (&man_digest);
  return 0;
}
