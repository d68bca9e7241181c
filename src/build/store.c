/* husk-build: the image store, an OCI image layout (see store.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>
#include "internal.h"
#include "image.h"
#include "store.h"

struct hb_store
{
  char *dir;
  int lock_fd;
  int lock_mode; /* 0 none, LOCK_SH, LOCK_EX */
};

static const char OCI_LAYOUT[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
static const char EMPTY_INDEX[] = "{\"schemaVersion\":2,\"mediaType\":\"" HB_MT_OCI_INDEX "\",\"manifests\":[]}";

static int
ensure_file (const char *dir, const char *name, const char *content, husk_error_t *err)
{
  husk_autofree char *path = xstrdup_printf ("%s/%s", dir, name);
  if (access (path, F_OK) == 0)
    return 0;
  return husk_write_file_atomic (path, content, strlen (content), 0644, err);
}

int
hb_store_open (const char *dir, hb_store_t **out, husk_error_t *err)
{
  hb_store_t *s;
  husk_autofree char *blobs = xstrdup_printf ("%s/blobs/sha256", dir);
  husk_autofree char *tmp = xstrdup_printf ("%s/tmp", dir);

  if (husk_mkdir_p (blobs, 0755, err) < 0 || husk_mkdir_p (tmp, 0700, err) < 0)
    return husk_error_wrap (err, "open store `%s`", dir);
  if (ensure_file (dir, "oci-layout", OCI_LAYOUT, err) < 0 || ensure_file (dir, "index.json", EMPTY_INDEX, err) < 0)
    return husk_error_wrap (err, "open store `%s`", dir);
  s = xmalloc0 (sizeof *s);
  s->dir = xstrdup (dir);
  s->lock_fd = -1;
  *out = s;
  return 0;
}

void
hb_store_close (hb_store_t *s)
{
  if (s == NULL)
    return;
  if (s->lock_fd >= 0)
    close (s->lock_fd);
  free (s->dir);
  free (s);
}

void
hb_store_closep (hb_store_t **s)
{
  hb_store_close (*s);
  *s = NULL;
}

const char *
hb_store_dir (hb_store_t *s)
{
  return s->dir;
}

int
hb_store_subdir (hb_store_t *s, const char *rel, bool mkdir, char **path, husk_error_t *err)
{
  husk_autofree char *p = xstrdup_printf ("%s/%s", s->dir, rel);
  if (mkdir && husk_mkdir_p (p, 0700, err) < 0)
    return -1;
  *path = steal_ptr (&p);
  return 0;
}

int
hb_store_lock (hb_store_t *s, bool exclusive, husk_error_t *err)
{
  int mode = exclusive ? LOCK_EX : LOCK_SH;
  if (s->lock_fd < 0)
    {
      husk_autofree char *path = xstrdup_printf ("%s/lock", s->dir);
      s->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (s->lock_fd < 0)
        return husk_error_make (err, errno, "cannot open `%s`", path);
    }
  if (s->lock_mode == mode)
    return 0;
  while (flock (s->lock_fd, mode) < 0)
    if (errno != EINTR)
      return husk_error_make (err, errno, "cannot lock store `%s`", s->dir);
  s->lock_mode = mode;
  return 0;
}

int
hb_store_unlock (hb_store_t *s)
{
  if (s->lock_fd >= 0 && s->lock_mode)
    flock (s->lock_fd, LOCK_UN);
  s->lock_mode = 0;
  return 0;
}

/* ---- blobs ------------------------------------------------------------- */

char *
hb_store_blob_path (hb_store_t *s, const char *digest)
{
  if (!hb_digest_valid (digest))
    return NULL;
  return xstrdup_printf ("%s/blobs/sha256/%s", s->dir, digest + 7);
}

bool
hb_store_has_blob (hb_store_t *s, const char *digest)
{
  return hb_store_blob_size (s, digest) >= 0;
}

int64_t
hb_store_blob_size (hb_store_t *s, const char *digest)
{
  husk_autofree char *p = hb_store_blob_path (s, digest);
  struct stat st;
  if (p == NULL || stat (p, &st) < 0 || !S_ISREG (st.st_mode))
    return -1;
  return st.st_size;
}

int
hb_store_tmpfile (hb_store_t *s, char **path, int *fd, husk_error_t *err)
{
  husk_autofree char *p = xstrdup_printf ("%s/tmp/blob-XXXXXX", s->dir);
  int f = mkostemp (p, O_CLOEXEC);
  if (f < 0)
    return husk_error_make (err, errno, "cannot create a temporary file in `%s/tmp`", s->dir);
  fchmod (f, 0644);
  *fd = f;
  *path = steal_ptr (&p);
  return 0;
}

int
hb_store_tmpdir (hb_store_t *s, char **path, husk_error_t *err)
{
  husk_autofree char *p = xstrdup_printf ("%s/tmp/dir-XXXXXX", s->dir);
  if (mkdtemp (p) == NULL)
    return husk_error_make (err, errno, "cannot create a temporary directory in `%s/tmp`", s->dir);
  *path = steal_ptr (&p);
  return 0;
}

int
hb_store_put_file_verified (hb_store_t *s, const char *tmp_path, const char *digest, husk_error_t *err)
{
  husk_autofree char *dst = hb_store_blob_path (s, digest);
  if (dst == NULL)
    {
      unlink (tmp_path);
      return husk_error_make (err, 0, "invalid digest `%s`", digest);
    }
  if (rename (tmp_path, dst) < 0)
    {
      int e = errno;
      unlink (tmp_path);
      return husk_error_make (err, e, "cannot store blob `%s`", dst);
    }
  return 0;
}

int
hb_store_put_file (hb_store_t *s, const char *tmp_path, const char *expect_digest, char **digest_out, husk_error_t *err)
{
  husk_autofree char *digest = NULL;
  if (hb_sha256_file (tmp_path, &digest, NULL, err) < 0)
    {
      unlink (tmp_path);
      return -1;
    }
  if (expect_digest && strcmp (expect_digest, digest) != 0)
    {
      unlink (tmp_path);
      return husk_error_make (err, 0, "digest mismatch: expected %s, got %s", expect_digest, digest);
    }
  if (hb_store_put_file_verified (s, tmp_path, digest, err) < 0)
    return -1;
  if (digest_out)
    *digest_out = steal_ptr (&digest);
  return 0;
}

int
hb_store_put_mem (hb_store_t *s, const void *data, size_t len, char **digest_out, husk_error_t *err)
{
  husk_autofree char *digest = hb_sha256_mem (data, len);
  husk_autofree char *tmp = NULL;
  husk_autoclose int fd = -1;

  if (!hb_store_has_blob (s, digest))
    {
      if (hb_store_tmpfile (s, &tmp, &fd, err) < 0)
        return -1;
      if (husk_write_all (fd, data, len) < 0)
        {
          int e = errno;
          unlink (tmp);
          return husk_error_make (err, e, "cannot write `%s`", tmp);
        }
      if (hb_store_put_file_verified (s, tmp, digest, err) < 0)
        return -1;
    }
  if (digest_out)
    *digest_out = steal_ptr (&digest);
  return 0;
}

int
hb_store_read_blob (hb_store_t *s, const char *digest, char **data, size_t *len, husk_error_t *err)
{
  husk_autofree char *path = hb_store_blob_path (s, digest);
  husk_autofree char *buf = NULL;
  husk_autofree char *got = NULL;
  size_t n = 0;

  if (path == NULL)
    return husk_error_make (err, 0, "invalid digest `%s`", digest ? digest : "");
  if (husk_read_file (path, &buf, &n, err) < 0)
    return husk_error_wrap (err, "blob %s", digest);
  got = hb_sha256_mem (buf, n);
  if (strcmp (got, digest) != 0)
    return husk_error_make (err, 0, "blob %s is corrupt (its content hashes to %s)", digest, got);
  *data = steal_ptr (&buf);
  if (len)
    *len = n;
  return 0;
}

/* ---- index.json -------------------------------------------------------- */

void
hb_store_entries_free (hb_store_entry_t *e, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      free (e[i].ref);
      free (e[i].digest);
      free (e[i].media_type);
    }
  free (e);
}

static int
index_read (hb_store_t *s, hb_store_entry_t **out, size_t *n_out, husk_error_t *err)
{
  husk_autofree char *path = xstrdup_printf ("%s/index.json", s->dir);
  husk_autofree char *text = NULL;
  char ebuf[256] = "";
  yajl_val root, manifests;
  hb_store_entry_t *e = NULL;
  size_t i, n = 0;

  if (husk_read_file (path, &text, NULL, err) < 0)
    return -1;
  root = yajl_tree_parse (text, ebuf, sizeof ebuf);
  if (root == NULL || !YAJL_IS_OBJECT (root))
    {
      yajl_tree_free (root);
      return husk_error_make (err, 0, "`%s`: invalid JSON: %s", path, ebuf);
    }
  manifests = hb_json_get (root, "manifests");
  if (manifests && YAJL_IS_ARRAY (manifests))
    {
      e = xmalloc0 (sizeof *e * (manifests->u.array.len + 1));
      for (i = 0; i < manifests->u.array.len; i++)
        {
          yajl_val m = manifests->u.array.values[i];
          yajl_val ann = hb_json_get (m, "annotations");
          const char *d = hb_json_get_str (m, "digest");
          if (!hb_digest_valid (d))
            continue;
          e[n].digest = xstrdup (d);
          e[n].media_type = xstrdup (hb_json_get_str (m, "mediaType"));
          e[n].size = hb_json_get_int (m, "size", 0);
          if (ann)
            e[n].ref = xstrdup (hb_json_get_str (ann, HB_ANNOT_REF_NAME));
          n++;
        }
    }
  yajl_tree_free (root);
  *out = e ? e : xmalloc0 (sizeof *e);
  *n_out = n;
  return 0;
}

static int
index_write (hb_store_t *s, const hb_store_entry_t *e, size_t n, husk_error_t *err)
{
  husk_autofree char *path = xstrdup_printf ("%s/index.json", s->dir);
  husk_autofree char *text = NULL;
  yajl_gen g = husk_json_gen_new (false, NULL);
  size_t i;

  yajl_gen_map_open (g);
  husk_json_kv_int (g, "schemaVersion", 2);
  husk_json_kv_str (g, "mediaType", HB_MT_OCI_INDEX);
  husk_json_str (g, "manifests");
  yajl_gen_array_open (g);
  for (i = 0; i < n; i++)
    {
      yajl_gen_map_open (g);
      husk_json_kv_str (g, "mediaType", e[i].media_type ? e[i].media_type : HB_MT_OCI_MANIFEST);
      husk_json_kv_str (g, "digest", e[i].digest);
      husk_json_kv_int (g, "size", e[i].size);
      if (e[i].ref)
        {
          husk_json_str (g, "annotations");
          yajl_gen_map_open (g);
          husk_json_kv_str (g, HB_ANNOT_REF_NAME, e[i].ref);
          yajl_gen_map_close (g);
        }
      yajl_gen_map_close (g);
    }
  yajl_gen_array_close (g);
  yajl_gen_map_close (g);
  text = husk_json_gen_finish (g);
  return husk_write_file_atomic (path, text, strlen (text), 0644, err);
}

/* Run fn under index.lock on a fresh read of index.json; write it back when
 * fn returns > 0. */
typedef int (*index_edit_fn) (hb_store_t *s, hb_store_entry_t **e, size_t *n, void *arg, husk_error_t *err);

static int
index_edit (hb_store_t *s, index_edit_fn fn, void *arg, husk_error_t *err)
{
  husk_autofree char *lpath = xstrdup_printf ("%s/index.lock", s->dir);
  husk_autoclose int lfd = open (lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  hb_store_entry_t *e = NULL;
  size_t n = 0;
  int r;

  if (lfd < 0)
    return husk_error_make (err, errno, "cannot open `%s`", lpath);
  while (flock (lfd, LOCK_EX) < 0)
    if (errno != EINTR)
      return husk_error_make (err, errno, "cannot lock `%s`", lpath);
  if (index_read (s, &e, &n, err) < 0)
    return -1;
  r = fn (s, &e, &n, arg, err);
  if (r > 0)
    r = index_write (s, e, n, err);
  hb_store_entries_free (e, n);
  return r;
}

int
hb_store_list (hb_store_t *s, hb_store_entry_t **entries, size_t *n, husk_error_t *err)
{
  return index_read (s, entries, n, err);
}

struct tag_arg
{
  const char *ref;
  const char *digest;
  const char *media_type;
  int64_t size;
};

static void
entry_remove (hb_store_entry_t *e, size_t *n, size_t i)
{
  free (e[i].ref);
  free (e[i].digest);
  free (e[i].media_type);
  memmove (&e[i], &e[i + 1], sizeof *e * (*n - i - 1));
  (*n)--;
}

static int
tag_fn (hb_store_t *s, hb_store_entry_t **ep, size_t *n, void *arg, husk_error_t *err)
{
  struct tag_arg *a = arg;
  hb_store_entry_t *e = *ep;
  size_t i;

  for (i = 0; i < *n; i++)
    {
      if (a->ref && e[i].ref && strcmp (e[i].ref, a->ref) == 0)
        {
          entry_remove (e, n, i);
          i--;
          continue;
        }
      /* An untagged entry of the same manifest is superseded by a tag. */
      if (e[i].ref == NULL && strcmp (e[i].digest, a->digest) == 0)
        {
          if (a->ref == NULL)
            return 0;
          entry_remove (e, n, i);
          i--;
        }
    }
  if (a->ref == NULL)
    for (i = 0; i < *n; i++)
      if (strcmp (e[i].digest, a->digest) == 0)
        return 0; /* already referenced by a tag */
  e = xrealloc (e, sizeof *e * (*n + 1));
  e[*n].ref = xstrdup (a->ref);
  e[*n].digest = xstrdup (a->digest);
  e[*n].media_type = xstrdup (a->media_type);
  e[*n].size = a->size;
  (*n)++;
  *ep = e;
  return 1;
}

int
hb_store_tag (hb_store_t *s, const char *ref, const char *manifest_digest, husk_error_t *err)
{
  husk_autofree char *norm = NULL;
  husk_autofree char *json = NULL;
  size_t len = 0;
  struct tag_arg a = { 0 };

  if (ref)
    {
      norm = hb_ref_normalize (ref);
      if (norm == NULL)
        return husk_error_make (err, 0, "invalid reference `%s`", ref);
    }
  if (hb_store_read_blob (s, manifest_digest, &json, &len, err) < 0)
    return -1;
  a.ref = norm;
  a.digest = manifest_digest;
  a.media_type = hb_manifest_sniff_media_type (json, len);
  if (a.media_type == NULL)
    return husk_error_make (err, 0, "blob %s is not an image manifest", manifest_digest);
  a.size = len;
  return index_edit (s, tag_fn, &a, err);
}

static int
untag_fn (hb_store_t *s, hb_store_entry_t **ep, size_t *n, void *arg, husk_error_t *err)
{
  const char *ref = arg;
  size_t i;
  for (i = 0; i < *n; i++)
    if ((*ep)[i].ref && strcmp ((*ep)[i].ref, ref) == 0)
      {
        entry_remove (*ep, n, i);
        return 1;
      }
  return husk_error_make (err, 0, "ref `%s` does not exist", ref);
}

int
hb_store_untag (hb_store_t *s, const char *ref, husk_error_t *err)
{
  husk_autofree char *norm = hb_ref_normalize (ref);
  return index_edit (s, untag_fn, (void *) (norm ? norm : ref), err);
}

static int
remove_manifest_fn (hb_store_t *s, hb_store_entry_t **ep, size_t *n, void *arg, husk_error_t *err)
{
  const char *digest = arg;
  size_t i;
  int changed = 0;
  for (i = 0; i < *n; i++)
    if (strcmp ((*ep)[i].digest, digest) == 0)
      {
        entry_remove (*ep, n, i);
        i--;
        changed = 1;
      }
  return changed;
}

int
hb_store_remove_manifest (hb_store_t *s, const char *manifest_digest, husk_error_t *err)
{
  return index_edit (s, remove_manifest_fn, (void *) manifest_digest, err);
}

/* ---- resolve ----------------------------------------------------------- */

static bool
is_hex (const char *s)
{
  if (*s == '\0')
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

int
hb_store_resolve (hb_store_t *s, const char *name, char **manifest_digest, husk_error_t *err)
{
  hb_store_entry_t *e = NULL;
  size_t n = 0, i;
  husk_autofree char *norm = NULL;
  husk_autofree char *found = NULL;
  husk_autofree char *found_config = NULL;
  const char *hex;
  int r = 0;

  if (index_read (s, &e, &n, err) < 0)
    return -1;
  norm = hb_ref_normalize (name);
  for (i = 0; i < n; i++)
    if (e[i].ref && (strcmp (e[i].ref, name) == 0 || (norm && strcmp (e[i].ref, norm) == 0)))
      {
        *manifest_digest = xstrdup (e[i].digest);
        hb_store_entries_free (e, n);
        return 0;
      }
  /* An image ID or manifest digest, or a prefix of one.  Several manifests
   * of one config (OCI and Docker copies of an image) are one image. */
  hex = strncmp (name, "sha256:", 7) == 0 ? name + 7 : name;
  if (strlen (hex) >= 4 && strlen (hex) <= 64 && is_hex (hex))
    for (i = 0; i < n && r == 0; i++)
      {
        hb_automanifest hb_manifest_t *m = NULL;
        bool by_manifest = strncmp (e[i].digest + 7, hex, strlen (hex)) == 0;
        bool by_config = false;
        if (hb_media_type_is_manifest (e[i].media_type) && hb_manifest_load (s, e[i].digest, &m, NULL) == 0)
          by_config = strncmp (m->config.digest + 7, hex, strlen (hex)) == 0;
        if (!by_manifest && !by_config)
          continue;
        if (found == NULL)
          {
            found = xstrdup (e[i].digest);
            found_config = m ? xstrdup (m->config.digest) : NULL;
          }
        else if (strcmp (found, e[i].digest) != 0
                 && (by_manifest || found_config == NULL || strcmp (found_config, m->config.digest) != 0))
          r = husk_error_make (err, 0, "image name `%s` is ambiguous", name);
      }
  hb_store_entries_free (e, n);
  if (r < 0)
    return r;
  if (found == NULL)
    return husk_error_make (err, 0, "image `%s` does not exist", name);
  *manifest_digest = steal_ptr (&found);
  return 0;
}

/* ---- garbage collection ------------------------------------------------ */

typedef struct
{
  char **v;
  size_t n, cap;
} strset_t;

static void
strset_add (strset_t *set, const char *s)
{
  if (set->n == set->cap)
    {
      set->cap = set->cap ? set->cap * 2 : 64;
      set->v = xrealloc (set->v, sizeof (char *) * set->cap);
    }
  set->v[set->n++] = xstrdup (s);
}

static bool
strset_has (const strset_t *set, const char *s)
{
  size_t i;
  for (i = 0; i < set->n; i++)
    if (strcmp (set->v[i], s) == 0)
      return true;
  return false;
}

static void
strset_clear (strset_t *set)
{
  size_t i;
  for (i = 0; i < set->n; i++)
    free (set->v[i]);
  free (set->v);
}

/* Mark a manifest or index and everything it references. */
static void
gc_mark (hb_store_t *s, const char *digest, strset_t *live, int depth)
{
  husk_autofree char *json = NULL;
  size_t len = 0, i;
  const char *mt;

  if (strset_has (live, digest))
    return;
  strset_add (live, digest);
  if (depth > 8 || hb_store_read_blob (s, digest, &json, &len, NULL) < 0)
    return;
  mt = hb_manifest_sniff_media_type (json, len);
  if (mt && hb_media_type_is_index (mt))
    {
      hb_index_t *idx = NULL;
      if (hb_index_parse (json, len, mt, &idx, NULL) == 0)
        {
          for (i = 0; i < idx->manifests_len; i++)
            gc_mark (s, idx->manifests[i].digest, live, depth + 1);
          hb_index_free (idx);
        }
    }
  else if (mt)
    {
      /* Parse leniently: a manifest with a layer type we refuse to pull must
       * still keep its blobs. */
      char ebuf[128];
      yajl_val root = yajl_tree_parse (json, ebuf, sizeof ebuf);
      yajl_val layers = hb_json_get (root, "layers");
      const char *cfg = hb_json_get_str (hb_json_get (root, "config"), "digest");
      if (cfg && hb_digest_valid (cfg))
        strset_add (live, cfg);
      if (layers && YAJL_IS_ARRAY (layers))
        for (i = 0; i < layers->u.array.len; i++)
          {
            const char *d = hb_json_get_str (layers->u.array.values[i], "digest");
            if (d && hb_digest_valid (d))
              strset_add (live, d);
          }
      yajl_tree_free (root);
    }
}

int
hb_store_gc (hb_store_t *s, int64_t *freed, husk_error_t *err)
{
  int prev = s->lock_mode;
  hb_store_entry_t *e = NULL;
  size_t n = 0, i;
  strset_t live = { 0 };
  husk_autofree char *bdir = xstrdup_printf ("%s/blobs/sha256", s->dir);
  husk_autofree char *tdir = xstrdup_printf ("%s/tmp", s->dir);
  husk_autoclosedir DIR *d = NULL;
  struct dirent *de;
  int64_t total = 0;
  int r = 0;

  if (hb_store_lock (s, true, err) < 0)
    return -1;
  if (index_read (s, &e, &n, err) < 0)
    r = -1;
  for (i = 0; r == 0 && i < n; i++)
    gc_mark (s, e[i].digest, &live, 0);
  hb_store_entries_free (e, n);

  if (r == 0 && (d = opendir (bdir)) == NULL)
    r = husk_error_make (err, errno, "cannot open `%s`", bdir);
  while (r == 0 && (de = readdir (d)) != NULL)
    {
      husk_autofree char *digest = NULL;
      struct stat st;
      if (de->d_name[0] == '.')
        continue;
      digest = xstrdup_printf ("sha256:%s", de->d_name);
      if (strset_has (&live, digest))
        continue;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        total += st.st_size;
      if (unlinkat (dirfd (d), de->d_name, 0) < 0 && errno != ENOENT)
        r = husk_error_make (err, errno, "cannot remove blob `%s/%s`", bdir, de->d_name);
    }
  strset_clear (&live);

  /* Stale temporary files (a crashed pull); live ones belong to commands
   * holding the store lock, which we hold exclusively now, but leave
   * anything younger than an hour in case a caller did not lock. */
  if (r == 0)
    {
      husk_autoclosedir DIR *t = opendir (tdir);
      time_t now = time (NULL);
      while (t && (de = readdir (t)) != NULL)
        {
          husk_autofree char *p = NULL;
          struct stat st;
          if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
            continue;
          if (fstatat (dirfd (t), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || now - st.st_mtime < 3600)
            continue;
          p = xstrdup_printf ("%s/%s", tdir, de->d_name);
          husk_rm_rf (p, NULL);
        }
    }

  if (prev == 0)
    hb_store_unlock (s);
  else if (prev == LOCK_SH)
    hb_store_lock (s, false, NULL);
  if (freed)
    *freed = total;
  return r;
}
