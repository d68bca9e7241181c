/* husk-build: `load` (oci-archive, docker-archive, OCI layout dir) and
 * `save` (oci-archive). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include "internal.h"
#include "build.h"

#define MAX_JSON (16 << 20)

/* ---- the source: a tar streamed into tmp files, or a directory -------- */

typedef struct
{
  char *name; /* normalised relative path */
  char *link; /* symlink target (normalised), or NULL */
  char *tmp;  /* tmp file in the store, NULL once stored */
  char *digest;
  int64_t size;
  unsigned char magic[4];
  bool stored;
} entry_t;

typedef struct
{
  hb_store_t *s;
  char *dir;   /* directory source, or NULL for a tar */
  entry_t **e; /* stable pointers: imports keep them */
  size_t n;
} source_t;

static void
source_clear (source_t *src)
{
  size_t i;
  for (i = 0; i < src->n; i++)
    {
      if (src->e[i]->tmp)
        unlink (src->e[i]->tmp);
      free (src->e[i]->tmp);
      free (src->e[i]->name);
      free (src->e[i]->link);
      free (src->e[i]->digest);
      free (src->e[i]);
    }
  free (src->e);
  free (src->dir);
  memset (src, 0, sizeof *src);
}

/* "a/./b//c" -> "a/b/c" relative to base (a directory, may be ""); NULL when
 * the result would leave the root ("..", or absolute names when !allow_abs). */
static char *
norm_path (const char *base, const char *p)
{
  husk_autofree char *joined = NULL;
  char **parts;
  size_t n = 0, len;
  char *save = NULL, *tok, *out;

  if (*p == '/')
    return NULL;
  joined = base && *base ? xstrdup_printf ("%s/%s", base, p) : xstrdup (p);
  parts = xmalloc0 (sizeof (char *) * (strlen (joined) + 1));
  for (tok = strtok_r (joined, "/", &save); tok; tok = strtok_r (NULL, "/", &save))
    {
      if (strcmp (tok, ".") == 0)
        continue;
      if (strcmp (tok, "..") == 0)
        {
          if (n == 0)
            {
              free (parts);
              return NULL;
            }
          n--;
          continue;
        }
      parts[n++] = tok;
    }
  len = 1;
  for (size_t i = 0; i < n; i++)
    len += strlen (parts[i]) + 1;
  out = xmalloc0 (len);
  for (size_t i = 0; i < n; i++)
    {
      if (i)
        strcat (out, "/");
      strcat (out, parts[i]);
    }
  free (parts);
  return out;
}

static entry_t *
entry_new (source_t *src, const char *name)
{
  entry_t *e = xmalloc0 (sizeof *e);
  src->e = xrealloc (src->e, sizeof *src->e * (src->n + 1));
  src->e[src->n++] = e;
  e->name = xstrdup (name);
  return e;
}

/* Copy bytes from a reader into a new store tmp file, hashing them. */
typedef ssize_t (*reader_fn) (void *ctx, void *buf, size_t len);

static int
stream_to_tmp (hb_store_t *s, reader_fn rd, void *ctx, entry_t *e, husk_error_t *err)
{
  husk_autoclose int fd = -1;
  hb_sha256_t *h;
  char buf[65536];
  int64_t total = 0;

  if (hb_store_tmpfile (s, &e->tmp, &fd, err) < 0)
    return -1;
  h = hb_sha256_new ();
  for (;;)
    {
      ssize_t r = rd (ctx, buf, sizeof buf);
      if (r < 0)
        {
          hb_sha256_free (h);
          return husk_error_make (err, 0, "read `%s`", e->name);
        }
      if (r == 0)
        break;
      if (total < 4)
        {
          size_t want = 4 - (size_t) total;
          memcpy (e->magic + total, buf, (size_t) r < want ? (size_t) r : want);
        }
      hb_sha256_update (h, buf, r);
      if (husk_write_all (fd, buf, r) < 0)
        {
          hb_sha256_free (h);
          return husk_error_make (err, errno, "write `%s`", e->tmp);
        }
      total += r;
    }
  e->digest = hb_sha256_finish (h);
  e->size = total;
  return 0;
}

static ssize_t
archive_reader (void *ctx, void *buf, size_t len)
{
  return archive_read_data (ctx, buf, len);
}

static ssize_t
fd_reader (void *ctx, void *buf, size_t len)
{
  ssize_t r;
  do
    r = read (*(int *) ctx, buf, len);
  while (r < 0 && errno == EINTR);
  return r;
}

/* Read a whole tar (any compression) into tmp files. */
static int
source_open_tar (source_t *src, const char *file, husk_error_t *err)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *ae;
  int r, ret = 0;

  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_gnutar (a);
  if (archive_read_open_filename (a, file, 65536) != ARCHIVE_OK)
    {
      ret = husk_error_make (err, 0, "cannot open archive `%s`: %s", file, archive_error_string (a));
      archive_read_free (a);
      return ret;
    }
  while (ret == 0 && (r = archive_read_next_header (a, &ae)) == ARCHIVE_OK)
    {
      const char *raw = archive_entry_pathname (ae);
      husk_autofree char *name = norm_path (NULL, raw ? raw : "");
      mode_t type = archive_entry_filetype (ae);
      entry_t *e;

      if (name == NULL)
        {
          ret = husk_error_make (err, 0, "archive `%s`: entry `%s` escapes the archive", file, raw ? raw : "");
          break;
        }
      if (type == AE_IFDIR || *name == '\0')
        continue;
      if (type == AE_IFLNK)
        {
          husk_autofree char *dir = xstrdup (name);
          char *slash = strrchr (dir, '/');
          const char *target = archive_entry_symlink (ae);
          *(slash ? slash : dir) = '\0';
          e = entry_new (src, name);
          e->link = target ? norm_path (dir, target) : NULL;
          if (e->link == NULL)
            ret = husk_error_make (err, 0, "archive `%s`: symlink `%s` points outside the archive", file, name);
          continue;
        }
      if (type == AE_IFREG && archive_entry_hardlink (ae) == NULL)
        {
          e = entry_new (src, name);
          if (stream_to_tmp (src->s, archive_reader, a, e, err) < 0)
            ret = husk_error_wrap (err, "archive `%s`: %s", file,
                                   archive_error_string (a) ? archive_error_string (a) : "read error");
          continue;
        }
      if (archive_entry_hardlink (ae))
        {
          e = entry_new (src, name);
          e->link = norm_path (NULL, archive_entry_hardlink (ae));
          if (e->link == NULL)
            ret = husk_error_make (err, 0, "archive `%s`: hard link `%s` points outside the archive", file, name);
        }
    }
  if (ret == 0 && r != ARCHIVE_EOF)
    ret = husk_error_make (err, 0, "archive `%s`: %s", file, archive_error_string (a));
  archive_read_free (a);
  return ret;
}

/* An entry by name, following archive symlinks; a directory source copies
 * the file in on first use. */
static entry_t *
source_get (source_t *src, const char *name, husk_error_t *err)
{
  husk_autofree char *cur = norm_path (NULL, name);
  int depth;

  if (cur == NULL)
    {
      husk_error_make (err, 0, "`%s` points outside the image", name);
      return NULL;
    }
  for (depth = 0; depth < 16; depth++)
    {
      entry_t *e = NULL;
      size_t i;
      for (i = 0; i < src->n; i++)
        if (strcmp (src->e[i]->name, cur) == 0)
          e = src->e[i];
      if (e == NULL && src->dir)
        {
          husk_autofree char *path = xstrdup_printf ("%s/%s", src->dir, cur);
          husk_autofree char *real = realpath (path, NULL);
          husk_autoclose int fd = -1;
          size_t dl = strlen (src->dir);
          if (real == NULL || strncmp (real, src->dir, dl) != 0 || (real[dl] != '/' && real[dl] != '\0'))
            {
              husk_error_make (err, real ? 0 : errno, "`%s` not found in `%s`", cur, src->dir);
              return NULL;
            }
          fd = open (real, O_RDONLY | O_CLOEXEC);
          if (fd < 0)
            {
              husk_error_make (err, errno, "open `%s`", real);
              return NULL;
            }
          e = entry_new (src, cur);
          if (stream_to_tmp (src->s, fd_reader, &fd, e, err) < 0)
            return NULL;
          return e;
        }
      if (e == NULL)
        {
          husk_error_make (err, 0, "`%s` is missing from the archive", cur);
          return NULL;
        }
      if (e->link == NULL)
        return e;
      free (cur);
      cur = xstrdup (e->link);
    }
  husk_error_make (err, 0, "`%s`: too many levels of links", name);
  return NULL;
}

static int
source_read (source_t *src, const char *name, char **text, size_t *len, husk_error_t *err)
{
  entry_t *e = source_get (src, name, err);
  if (e == NULL)
    return -1;
  if (e->size > MAX_JSON)
    return husk_error_make (err, 0, "`%s` is too large", name);
  if (e->tmp == NULL)
    return hb_store_read_blob (src->s, e->digest, text, len, err);
  return husk_read_file (e->tmp, text, len, err);
}

/* The blob named by a descriptor: blobs/sha256/<hex>, content checked. */
static entry_t *
source_blob (source_t *src, const char *digest, husk_error_t *err)
{
  husk_autofree char *name = NULL;
  entry_t *e;
  if (!hb_digest_valid (digest))
    {
      husk_error_make (err, 0, "invalid digest `%s`", digest ? digest : "");
      return NULL;
    }
  name = xstrdup_printf ("blobs/sha256/%s", digest + 7);
  e = source_get (src, name, err);
  if (e && strcmp (e->digest, digest) != 0)
    {
      husk_error_make (err, 0, "blob %s: digest mismatch (content is %s)", digest, e->digest);
      return NULL;
    }
  return e;
}

static int
entry_store (source_t *src, entry_t *e, husk_error_t *err)
{
  if (e->stored || e->tmp == NULL)
    return 0;
  if (hb_store_put_file_verified (src->s, e->tmp, e->digest, err) < 0)
    return -1;
  free (e->tmp);
  e->tmp = NULL;
  e->stored = true;
  return 0;
}

/* ---- images to import -------------------------------------------------- */

typedef struct
{
  char *ref;      /* NULL: untagged */
  char *manifest; /* manifest bytes */
  size_t manifest_len;
  entry_t **blobs; /* config + layers */
  size_t blobs_len;
} import_t;

static void
imports_free (import_t *im, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      free (im[i].ref);
      free (im[i].manifest);
      free (im[i].blobs);
    }
  free (im);
}

static import_t *
import_add (import_t **im, size_t *n)
{
  *im = xrealloc (*im, sizeof **im * (*n + 1));
  memset (&(*im)[*n], 0, sizeof **im);
  return &(*im)[(*n)++];
}

/* Check an OCI/Docker manifest and collect its blobs. */
static int
collect_manifest (source_t *src, import_t *im, const char *json, size_t len, husk_error_t *err)
{
  hb_automanifest hb_manifest_t *m = NULL;
  size_t i;
  if (hb_manifest_parse (json, len, NULL, &m, err) < 0)
    return -1;
  im->blobs = xmalloc0 (sizeof (entry_t *) * (m->layers_len + 1));
  for (i = 0; i <= m->layers_len; i++)
    {
      const hb_desc_t *d = i == 0 ? &m->config : &m->layers[i - 1];
      entry_t *e = source_blob (src, d->digest, err);
      if (e == NULL)
        return -1;
      if (d->size >= 0 && e->size != d->size)
        return husk_error_make (err, 0, "blob %s: size %lld, the manifest says %lld", d->digest, (long long) e->size,
                                (long long) d->size);
      im->blobs[im->blobs_len++] = e;
    }
  return 0;
}

static int
collect_oci (source_t *src, const char *platform, import_t **ims, size_t *nims, husk_error_t *err)
{
  husk_autofree char *text = NULL;
  hb_index_t *idx = NULL;
  yajl_val root = NULL, arr;
  size_t len = 0, i;
  int ret = 0;

  if (source_read (src, "index.json", &text, &len, err) < 0)
    return -1;
  if (hb_index_parse (text, len, HB_MT_OCI_INDEX, &idx, err) < 0 || hb_json_parse (text, "index.json", &root, err) < 0)
    {
      hb_index_free (idx);
      return husk_error_wrap (err, "index.json");
    }
  arr = hb_json_get (root, "manifests");
  for (i = 0; ret == 0 && i < idx->manifests_len; i++)
    {
      hb_desc_t *d = &idx->manifests[i];
      yajl_val ann = hb_json_get (arr->u.array.values[i], "annotations");
      const char *name = hb_json_get_str (ann, "io.containerd.image.name");
      husk_autofree char *json = NULL;
      size_t jl = 0;
      entry_t *e;
      import_t *im;
      const char *mt;

      if (name == NULL)
        name = hb_json_get_str (ann, HB_ANNOT_REF_NAME);
      if ((e = source_blob (src, d->digest, err)) == NULL || source_read (src, e->name, &json, &jl, err) < 0)
        {
          ret = -1;
          break;
        }
      mt = hb_manifest_sniff_media_type (json, jl);
      if (hb_media_type_is_index (mt))
        {
          /* A multi-platform image: take this host's (or --platform) entry. */
          hb_index_t *sub = NULL;
          const hb_desc_t *sel = NULL;
          if (hb_index_parse (json, jl, mt, &sub, err) < 0 || hb_index_select (sub, platform, &sel, err) < 0
              || (e = source_blob (src, sel->digest, err)) == NULL)
            ret = -1;
          hb_index_free (sub);
          free (json);
          json = NULL;
          if (ret < 0 || source_read (src, e->name, &json, &jl, err) < 0)
            {
              ret = -1;
              break;
            }
        }
      im = import_add (ims, nims);
      if (name)
        {
          im->ref = hb_ref_normalize (name);
          if (im->ref == NULL)
            ret = husk_error_make (err, 0, "invalid image name `%s` in index.json", name);
        }
      im->manifest_len = jl;
      im->manifest = steal_ptr (&json);
      if (ret == 0 && collect_manifest (src, im, im->manifest, im->manifest_len, err) < 0)
        ret = husk_error_wrap (err, "manifest %s", d->digest);
    }
  yajl_tree_free (root);
  hb_index_free (idx);
  return ret;
}

static const char *
layer_type (const entry_t *e)
{
  if (e->magic[0] == 0x1f && e->magic[1] == 0x8b)
    return HB_MT_OCI_LAYER_GZIP;
  if (e->magic[0] == 0x28 && e->magic[1] == 0xb5 && e->magic[2] == 0x2f && e->magic[3] == 0xfd)
    return HB_MT_OCI_LAYER_ZSTD;
  return HB_MT_OCI_LAYER;
}

/* docker save: manifest.json with Config, RepoTags and Layers (tar paths). */
static int
collect_docker (source_t *src, import_t **ims, size_t *nims, husk_error_t *err)
{
  husk_autofree char *text = NULL;
  yajl_val root = NULL;
  size_t len = 0, i, j;
  int ret = 0;

  if (source_read (src, "manifest.json", &text, &len, err) < 0 || hb_json_parse (text, "manifest.json", &root, err) < 0)
    return -1;
  if (!YAJL_IS_ARRAY (root))
    {
      yajl_tree_free (root);
      return husk_error_make (err, 0, "manifest.json: not an array");
    }
  for (i = 0; ret == 0 && i < root->u.array.len; i++)
    {
      yajl_val it = root->u.array.values[i];
      const char *cfgname = hb_json_get_str (it, "Config");
      yajl_val layers = hb_json_get (it, "Layers");
      yajl_val tags = hb_json_get (it, "RepoTags");
      husk_autofree char *cfgtext = NULL;
      hb_autoconfig hb_image_config_t *cfg = NULL;
      entry_t *ce;
      yajl_gen g;
      size_t cl = 0, ntags;

      if (cfgname == NULL || layers == NULL || !YAJL_IS_ARRAY (layers))
        {
          ret = husk_error_make (err, 0, "manifest.json: entry %zu has no Config or Layers", i);
          break;
        }
      if ((ce = source_get (src, cfgname, err)) == NULL || source_read (src, cfgname, &cfgtext, &cl, err) < 0
          || hb_image_config_parse (cfgtext, cl, &cfg, err) < 0)
        {
          ret = husk_error_wrap (err, "manifest.json: config `%s`", cfgname);
          break;
        }
      if (cfg->diff_ids_len != layers->u.array.len)
        {
          ret = husk_error_make (err, 0, "config `%s` has %zu diff_ids for %zu layers", cfgname, cfg->diff_ids_len,
                                 layers->u.array.len);
          break;
        }
      ntags = tags && YAJL_IS_ARRAY (tags) ? tags->u.array.len : 0;
      for (j = 0; j < (ntags ? ntags : 1); j++)
        {
          import_t *im = import_add (ims, nims);
          size_t k;
          if (ntags)
            {
              const char *t = YAJL_IS_STRING (tags->u.array.values[j]) ? tags->u.array.values[j]->u.string : "";
              im->ref = hb_ref_normalize (t);
              if (im->ref == NULL)
                {
                  ret = husk_error_make (err, 0, "manifest.json: invalid tag `%s`", t);
                  break;
                }
            }
          im->blobs = xmalloc0 (sizeof (entry_t *) * (layers->u.array.len + 1));
          im->blobs[im->blobs_len++] = ce;
          g = husk_json_gen_new (false, NULL);
          yajl_gen_map_open (g);
          husk_json_kv_int (g, "schemaVersion", 2);
          husk_json_kv_str (g, "mediaType", HB_MT_OCI_MANIFEST);
          husk_json_str (g, "config");
          yajl_gen_map_open (g);
          husk_json_kv_str (g, "mediaType", HB_MT_OCI_CONFIG);
          husk_json_kv_str (g, "digest", ce->digest);
          husk_json_kv_int (g, "size", ce->size);
          yajl_gen_map_close (g);
          husk_json_str (g, "layers");
          yajl_gen_array_open (g);
          for (k = 0; ret == 0 && k < layers->u.array.len; k++)
            {
              yajl_val l = layers->u.array.values[k];
              entry_t *le = YAJL_IS_STRING (l) ? source_get (src, l->u.string, err) : NULL;
              if (le == NULL)
                {
                  ret = YAJL_IS_STRING (l) ? husk_error_wrap (err, "manifest.json: layer")
                                           : husk_error_make (err, 0, "manifest.json: bad layer entry");
                  break;
                }
              im->blobs[im->blobs_len++] = le;
              yajl_gen_map_open (g);
              husk_json_kv_str (g, "mediaType", layer_type (le));
              husk_json_kv_str (g, "digest", le->digest);
              husk_json_kv_int (g, "size", le->size);
              yajl_gen_map_close (g);
            }
          yajl_gen_array_close (g);
          yajl_gen_map_close (g);
          im->manifest = husk_json_gen_finish (g);
          im->manifest_len = strlen (im->manifest);
          if (ret < 0)
            break;
        }
    }
  yajl_tree_free (root);
  return ret;
}

int
hb_cmd_load (const hb_globals_t *g, int argc, char **argv, husk_error_t *err)
{
  hb_autostore hb_store_t *s = NULL;
  source_t src = { 0 };
  import_t *ims = NULL;
  size_t nims = 0, i, j;
  const char *in;
  const char *platform = NULL;
  struct stat st;
  int ret = 0, c;
  bool docker;

  optind = 1;
  while ((c = getopt (argc, argv, "i:")) != -1)
    switch (c)
      {
      case 'i':
        break;
      default:
        return husk_error_make (err, 0, "load: unknown option");
      }
  if (optind != argc - 1)
    return husk_error_make (err, 0, "load: exactly one FILE or DIR is required");
  in = argv[optind];
  if (stat (in, &st) < 0)
    return husk_error_make (err, errno, "load: `%s`", in);
  if (hb_store_open (g->store_dir, &s, err) < 0 || hb_store_lock (s, false, err) < 0)
    return -1;
  src.s = s;
  if (S_ISDIR (st.st_mode))
    {
      src.dir = realpath (in, NULL);
      if (src.dir == NULL)
        return husk_error_make (err, errno, "load: `%s`", in);
    }
  else if (source_open_tar (&src, in, err) < 0)
    {
      source_clear (&src);
      return husk_error_wrap (err, "load `%s`", in);
    }

  /* docker-archive when there is a manifest.json, else an OCI layout. */
  {
    husk_auto_error husk_error_t probe = NULL;
    docker = source_get (&src, "manifest.json", &probe) != NULL;
  }
  ret = docker ? collect_docker (&src, &ims, &nims, err) : collect_oci (&src, platform, &ims, &nims, err);
  if (ret == 0 && nims == 0)
    ret = husk_error_make (err, 0, "no image in the archive");

  /* Everything checked: store the blobs, the manifests, then the refs. */
  for (i = 0; ret == 0 && i < nims; i++)
    {
      husk_autofree char *digest = NULL;
      for (j = 0; ret == 0 && j < ims[i].blobs_len; j++)
        ret = entry_store (&src, ims[i].blobs[j], err);
      if (ret == 0)
        ret = hb_store_put_mem (s, ims[i].manifest, ims[i].manifest_len, &digest, err);
      if (ret == 0)
        ret = hb_store_tag (s, ims[i].ref, digest, err);
      if (ret == 0)
        {
          if (ims[i].ref)
            printf ("Loaded image: %s\n", ims[i].ref);
          else
            printf ("Loaded image ID: %s\n", digest);
        }
    }
  imports_free (ims, nims);
  source_clear (&src);
  if (ret < 0)
    return husk_error_wrap (err, "load `%s`", in);
  return 0;
}

/* ---- save -------------------------------------------------------------- */

static int
tar_add_mem (struct archive *a, const char *name, const void *data, size_t len, husk_error_t *err)
{
  struct archive_entry *ae = archive_entry_new ();
  int r;
  archive_entry_set_pathname (ae, name);
  archive_entry_set_filetype (ae, AE_IFREG);
  archive_entry_set_perm (ae, 0644);
  archive_entry_set_size (ae, len);
  archive_entry_set_mtime (ae, time (NULL), 0);
  r = archive_write_header (a, ae);
  archive_entry_free (ae);
  if (r != ARCHIVE_OK || (len && archive_write_data (a, data, len) != (la_ssize_t) len))
    return husk_error_make (err, 0, "write `%s`: %s", name, archive_error_string (a));
  return 0;
}

static int
tar_add_dir (struct archive *a, const char *name, husk_error_t *err)
{
  struct archive_entry *ae = archive_entry_new ();
  int r;
  archive_entry_set_pathname (ae, name);
  archive_entry_set_filetype (ae, AE_IFDIR);
  archive_entry_set_perm (ae, 0755);
  archive_entry_set_mtime (ae, time (NULL), 0);
  r = archive_write_header (a, ae);
  archive_entry_free (ae);
  if (r != ARCHIVE_OK)
    return husk_error_make (err, 0, "write `%s`: %s", name, archive_error_string (a));
  return 0;
}

static int
tar_add_blob (struct archive *a, hb_store_t *s, const char *digest, husk_error_t *err)
{
  husk_autofree char *path = hb_store_blob_path (s, digest);
  husk_autofree char *name = xstrdup_printf ("blobs/sha256/%s", digest + 7);
  husk_autoclose int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct archive_entry *ae;
  struct stat st;
  char buf[65536];
  int r;

  if (fd < 0 || fstat (fd, &st) < 0)
    return husk_error_make (err, errno, "blob %s", digest);
  ae = archive_entry_new ();
  archive_entry_set_pathname (ae, name);
  archive_entry_set_filetype (ae, AE_IFREG);
  archive_entry_set_perm (ae, 0644);
  archive_entry_set_size (ae, st.st_size);
  archive_entry_set_mtime (ae, time (NULL), 0);
  r = archive_write_header (a, ae);
  archive_entry_free (ae);
  if (r != ARCHIVE_OK)
    return husk_error_make (err, 0, "write `%s`: %s", name, archive_error_string (a));
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return husk_error_make (err, errno, "read blob %s", digest);
      if (n == 0)
        break;
      if (archive_write_data (a, buf, n) != n)
        return husk_error_make (err, 0, "write `%s`: %s", name, archive_error_string (a));
    }
  return 0;
}

int
hb_cmd_save (const hb_globals_t *g, int argc, char **argv, husk_error_t *err)
{
  hb_autostore hb_store_t *s = NULL;
  hb_autoimage hb_image_t *img = NULL;
  husk_autofree char *ref = NULL;
  husk_autofree char *index = NULL;
  husk_autofree char *tmp = NULL;
  const char *out = NULL, *name;
  hb_store_entry_t *e = NULL;
  struct archive *a;
  yajl_gen gen;
  size_t n = 0, i;
  int c, ret = 0, fd;

  optind = 1;
  while ((c = getopt (argc, argv, "o:")) != -1)
    switch (c)
      {
      case 'o':
        out = optarg;
        break;
      default:
        return husk_error_make (err, 0, "save: unknown option");
      }
  if (out == NULL && optind == argc - 2)
    out = argv[argc - 1];
  else if (out == NULL || optind != argc - 1)
    return husk_error_make (err, 0, "save: usage: save IMAGE FILE");
  name = argv[optind];
  if (hb_store_open (g->store_dir, &s, err) < 0 || hb_store_lock (s, false, err) < 0)
    return -1;
  if (hb_image_open (s, name, &img, err) < 0)
    return husk_error_wrap (err, "save");

  /* The name the archive carries: the one given, else the image's first. */
  if (hb_store_list (s, &e, &n, err) < 0)
    return -1;
  {
    husk_autofree char *norm = hb_ref_normalize (name);
    for (i = 0; i < n && ref == NULL; i++)
      if (e[i].ref && norm && strcmp (e[i].ref, norm) == 0)
        ref = xstrdup (e[i].ref);
    for (i = 0; i < n && ref == NULL; i++)
      if (e[i].ref && strcmp (e[i].digest, img->manifest_digest) == 0)
        ref = xstrdup (e[i].ref);
  }
  hb_store_entries_free (e, n);

  gen = husk_json_gen_new (false, NULL);
  yajl_gen_map_open (gen);
  husk_json_kv_int (gen, "schemaVersion", 2);
  husk_json_kv_str (gen, "mediaType", HB_MT_OCI_INDEX);
  husk_json_str (gen, "manifests");
  yajl_gen_array_open (gen);
  yajl_gen_map_open (gen);
  husk_json_kv_str (gen, "mediaType", img->manifest->media_type);
  husk_json_kv_str (gen, "digest", img->manifest_digest);
  husk_json_kv_int (gen, "size", hb_store_blob_size (s, img->manifest_digest));
  if (ref)
    {
      husk_json_str (gen, "annotations");
      yajl_gen_map_open (gen);
      husk_json_kv_str (gen, HB_ANNOT_REF_NAME, ref);
      yajl_gen_map_close (gen);
    }
  yajl_gen_map_close (gen);
  yajl_gen_array_close (gen);
  yajl_gen_map_close (gen);
  index = husk_json_gen_finish (gen);

  /* Write next to the target, rename at the end. */
  {
    const char *slash = strrchr (out, '/');
    tmp = slash ? xstrdup_printf ("%.*s/.%s.XXXXXX", (int) (slash - out), out, slash + 1)
                : xstrdup_printf (".%s.XXXXXX", out);
  }
  fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0)
    return husk_error_make (err, errno, "save: cannot create `%s`", tmp);
  fchmod (fd, 0644);
  a = archive_write_new ();
  archive_write_set_format_pax_restricted (a);
  if (archive_write_open_fd (a, fd) != ARCHIVE_OK)
    ret = husk_error_make (err, 0, "save: %s", archive_error_string (a));
  if (ret == 0)
    ret = tar_add_mem (a, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, err);
  if (ret == 0)
    ret = tar_add_mem (a, "index.json", index, strlen (index), err);
  if (ret == 0)
    ret = tar_add_dir (a, "blobs/", err);
  if (ret == 0)
    ret = tar_add_dir (a, "blobs/sha256/", err);
  if (ret == 0)
    ret = tar_add_blob (a, s, img->manifest_digest, err);
  if (ret == 0)
    ret = tar_add_blob (a, s, img->manifest->config.digest, err);
  for (i = 0; ret == 0 && i < img->manifest->layers_len; i++)
    {
      size_t k;
      bool dup = false;
      for (k = 0; k < i; k++)
        if (strcmp (img->manifest->layers[k].digest, img->manifest->layers[i].digest) == 0)
          dup = true;
      if (!dup)
        ret = tar_add_blob (a, s, img->manifest->layers[i].digest, err);
    }
  if (ret == 0 && archive_write_close (a) != ARCHIVE_OK)
    ret = husk_error_make (err, 0, "save: %s", archive_error_string (a));
  archive_write_free (a);
  close (fd);
  if (ret == 0 && rename (tmp, out) < 0)
    ret = husk_error_make (err, errno, "save: cannot rename `%s` to `%s`", tmp, out);
  if (ret < 0)
    {
      unlink (tmp);
      return husk_error_wrap (err, "save `%s`", name);
    }
  return 0;
}
