/* husk-build: `pull` — fetch an image from a registry into the store. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include "build.h"
#include "registry.h"

typedef struct
{
  char *path;
  int fd;
  hb_blob_fetch_t job;
} tmp_blob_t;

typedef struct verify verify_t;

static void
tmp_blobs_drop (tmp_blob_t *t, size_t n)
{
  size_t i;
  for (i = 0; i < n; i++)
    {
      if (t[i].fd >= 0)
        close (t[i].fd);
      if (t[i].path)
        {
          unlink (t[i].path);
          free (t[i].path);
        }
    }
  free (t);
}

/* ---- diff_id verification: each new layer must decompress to the
 * uncompressed digest its config lists (a truncated or corrupt stream is
 * caught here, before anything is stored).  One thread per layer. */

struct verify
{
  const char *path;
  const char *digest;
  const char *diff_id;
  husk_error_t err;
  pthread_t tid;
  bool started;
};

static void *
verify_layer (void *arg)
{
  verify_t *v = arg;
  struct archive *a = archive_read_new ();
  struct archive_entry *ae;
  hb_sha256_t *h = hb_sha256_new ();
  husk_autofree char *got = NULL;
  char buf[131072];
  la_ssize_t n;

  archive_read_support_filter_all (a);
  archive_read_support_format_raw (a);
  if (archive_read_open_filename (a, v->path, 131072) != ARCHIVE_OK || archive_read_next_header (a, &ae) != ARCHIVE_OK)
    {
      husk_error_make (&v->err, 0, "layer %s: cannot decompress: %s", v->digest, archive_error_string (a));
      goto out;
    }
  while ((n = archive_read_data (a, buf, sizeof buf)) > 0)
    hb_sha256_update (h, buf, n);
  if (n < 0)
    {
      husk_error_make (&v->err, 0, "layer %s: cannot decompress: %s", v->digest, archive_error_string (a));
      goto out;
    }
  got = hb_sha256_finish (h);
  h = NULL;
  if (strcmp (got, v->diff_id) != 0)
    husk_error_make (&v->err, 0, "layer %s: uncompressed content %s does not match the config's diff_id %s", v->digest,
                     got, v->diff_id);
out:
  hb_sha256_free (h);
  archive_read_free (a);
  return NULL;
}

static void
verify_start (void *arg)
{
  verify_t *v = arg;
  if (pthread_create (&v->tid, NULL, verify_layer, v) != 0)
    {
      verify_layer (v);
      v->tid = 0;
    }
  v->started = true;
}

/* Wait for the verifications; the first error wins. */
static int
verify_wait (verify_t *v, size_t n, husk_error_t *err)
{
  size_t i;
  int ret = 0;
  for (i = 0; i < n; i++)
    {
      if (v[i].started && v[i].tid)
        pthread_join (v[i].tid, NULL);
      v[i].started = false;
      if (v[i].err && ret == 0)
        {
          husk_error_move (err, &v[i].err);
          ret = -1;
        }
      husk_error_release (&v[i].err);
    }
  return ret;
}

/* Fetch the manifest for ref, resolving an index to the platform's entry. */
static int
fetch_manifest (hb_registry_t *reg, const hb_ref_t *ref, const char *platform, hb_progress_t *prog, char **body,
                size_t *len, char **digest, husk_error_t *err)
{
  husk_autofree char *mt = NULL;
  const char *reference = ref->digest ? ref->digest : ref->tag;

  if (hb_registry_get_manifest (reg, ref->repository, reference, body, len, &mt, digest, err) < 0)
    return -1;
  if (hb_media_type_is_index (mt))
    {
      hb_index_t *idx = NULL;
      const hb_desc_t *d = NULL;
      husk_autofree char *sel = NULL;
      int r;

      r = hb_index_parse (*body, *len, mt, &idx, err);
      if (r == 0)
        r = hb_index_select (idx, platform, &d, err);
      if (r == 0)
        sel = xstrdup (d->digest);
      hb_index_free (idx);
      free (*body);
      free (*digest);
      *body = *digest = NULL;
      free (mt);
      mt = NULL;
      if (r < 0)
        return -1;
      hb_progress_line (prog, "Resolved %s to %s for %s", reference, sel, platform ? platform : hb_host_platform ());
      if (hb_registry_get_manifest (reg, ref->repository, sel, body, len, &mt, digest, err) < 0)
        return -1;
      if (!hb_media_type_is_manifest (mt))
        return husk_error_make (err, 0, "index entry %s is not an image manifest (%s)", sel, mt);
    }
  return 0;
}

int
hb_pull_image (hb_store_t *s, const char *refstr, const hb_pull_opts_t *o, char **manifest_digest, husk_error_t *err)
{
  hb_pull_opts_t none = { 0 };
  hb_ref_t ref;
  hb_registry_t *reg = NULL;
  hb_progress_t *prog = NULL;
  hb_registry_opts_t ro = { 0 };
  husk_autofree char *body = NULL;
  husk_autofree char *digest = NULL;
  husk_autofree char *name = NULL;
  hb_automanifest hb_manifest_t *m = NULL;
  hb_autoconfig hb_image_config_t *cfg = NULL;
  tmp_blob_t *tmp = NULL;
  verify_t *verify = NULL;
  size_t len = 0, ntmp = 0, nverify = 0, first_layer = 0, i, j;
  int r = -1;

  if (o == NULL)
    o = &none;
  if (hb_ref_parse (refstr, &ref, err) < 0)
    return -1;
  name = hb_ref_string (&ref);
  prog = hb_progress_new (stderr, o->quiet);
  ro.insecure = o->insecure;
  ro.creds = o->creds;
  ro.authfile = o->authfile;
  ro.progress = prog;
  if (hb_registry_new (&ref, &ro, &reg, err) < 0)
    goto out;
  hb_progress_line (prog, "Trying to pull %s...", name);
  if (fetch_manifest (reg, &ref, o->platform, prog, &body, &len, &digest, err) < 0)
    goto out;
  if (hb_manifest_parse (body, len, NULL, &m, err) < 0)
    goto out;

  /* Content references must not be collected by a concurrent rmi. */
  if (hb_store_lock (s, false, err) < 0)
    goto out;

  /* The config first (it is small and its diff_ids check the layers). */
  tmp = xmalloc0 (sizeof *tmp * (m->layers_len + 1));
  verify = xmalloc0 (sizeof *verify * (m->layers_len + 1));
  if (hb_store_blob_size (s, m->config.digest) >= 0)
    {
      int item = hb_progress_add (prog, "Copying config", m->config.digest, m->config.size);
      hb_progress_finish (prog, item, "skipped: already exists");
      if (hb_image_config_load (s, m->config.digest, &cfg, err) < 0)
        goto out;
    }
  else
    {
      husk_autofree char *text = NULL;
      size_t tl = 0;
      tmp[0].fd = -1;
      if (hb_store_tmpfile (s, &tmp[0].path, &tmp[0].fd, err) < 0)
        goto out;
      ntmp = 1;
      tmp[0].job.digest = m->config.digest;
      tmp[0].job.size = m->config.size;
      tmp[0].job.verb = "Copying config";
      tmp[0].job.fd = tmp[0].fd;
      if (hb_registry_fetch_blobs (reg, ref.repository, &tmp[0].job, 1, err) < 0)
        goto out;
      if (husk_read_file (tmp[0].path, &text, &tl, err) < 0 || hb_image_config_parse (text, tl, &cfg, err) < 0)
        goto out;
    }
  if (cfg->diff_ids_len != m->layers_len)
    {
      husk_error_make (err, 0, "image config has %zu diff_ids for %zu layers", cfg->diff_ids_len, m->layers_len);
      goto out;
    }

  /* The layers not in the store (once each), in parallel; each one's
   * diff_id check starts as soon as it is complete. */
  first_layer = ntmp;
  for (i = 0; i < m->layers_len; i++)
    {
      const hb_desc_t *d = &m->layers[i];
      bool dup = false;
      for (j = first_layer; j < ntmp; j++)
        if (strcmp (tmp[j].job.digest, d->digest) == 0)
          dup = true;
      if (dup)
        continue;
      if (hb_store_blob_size (s, d->digest) >= 0 && (d->size < 0 || hb_store_blob_size (s, d->digest) == d->size))
        {
          int item = hb_progress_add (prog, "Copying blob", d->digest, d->size);
          hb_progress_finish (prog, item, "skipped: already exists");
          continue;
        }
      tmp[ntmp].fd = -1;
      if (hb_store_tmpfile (s, &tmp[ntmp].path, &tmp[ntmp].fd, err) < 0)
        goto out;
      verify[nverify].path = tmp[ntmp].path;
      verify[nverify].digest = d->digest;
      verify[nverify].diff_id = cfg->diff_ids[i];
      tmp[ntmp].job.digest = d->digest;
      tmp[ntmp].job.size = d->size;
      tmp[ntmp].job.verb = "Copying blob";
      tmp[ntmp].job.fd = tmp[ntmp].fd;
      tmp[ntmp].job.on_done = verify_start;
      tmp[ntmp].job.arg = &verify[nverify];
      nverify++;
      ntmp++;
    }
  if (ntmp > first_layer)
    {
      hb_blob_fetch_t *jobs = xmalloc0 (sizeof *jobs * ntmp);
      for (i = first_layer; i < ntmp; i++)
        jobs[i - first_layer] = tmp[i].job;
      r = hb_registry_fetch_blobs (reg, ref.repository, jobs, ntmp - first_layer, err);
      free (jobs);
      if (verify_wait (verify, nverify, r < 0 ? NULL : err) < 0 && r == 0)
        r = -1;
      if (r < 0)
        goto out;
      r = -1;
    }

  for (i = 0; i < ntmp; i++)
    {
      close (tmp[i].fd);
      tmp[i].fd = -1;
      if (hb_store_put_file_verified (s, tmp[i].path, tmp[i].job.digest, err) < 0)
        goto out;
      free (tmp[i].path);
      tmp[i].path = NULL;
    }
  hb_progress_line (prog, "Writing manifest to image destination");
  if (hb_store_put_mem (s, body, len, NULL, err) < 0 || hb_store_tag (s, name, digest, err) < 0)
    goto out;
  if (manifest_digest)
    *manifest_digest = steal_ptr (&digest);
  r = 0;

out:
  if (verify)
    verify_wait (verify, nverify, NULL);
  free (verify);
  if (tmp)
    tmp_blobs_drop (tmp, ntmp);
  hb_registry_free (reg);
  hb_progress_free (prog);
  hb_ref_clear (&ref);
  return r;
}

int
hb_cmd_pull (const hb_globals_t *g, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = {
    { "insecure", no_argument, 0, 'k' },
    { "tls-verify", required_argument, 0, 'T' },
    { "creds", required_argument, 0, 'c' },
    { "authfile", required_argument, 0, 'a' },
    { "platform", required_argument, 0, 'p' },
    { "quiet", no_argument, 0, 'q' },
    { 0 },
  };
  hb_pull_opts_t o = { 0 };
  hb_autostore hb_store_t *s = NULL;
  husk_autofree char *digest = NULL;
  husk_autofree char *name = NULL;
  int c;

  o.quiet = g->quiet;
  optind = 1;
  while ((c = getopt_long (argc, argv, "q", opts, NULL)) != -1)
    switch (c)
      {
      case 'k':
        o.insecure = true;
        break;
      case 'T':
        o.insecure = strcmp (optarg, "false") == 0;
        break;
      case 'c':
        o.creds = optarg;
        break;
      case 'a':
        o.authfile = optarg;
        break;
      case 'p':
        o.platform = optarg;
        break;
      case 'q':
        o.quiet = true;
        break;
      default:
        return husk_error_make (err, 0, "pull: unknown option (see husk-build help)");
      }
  if (optind != argc - 1)
    return husk_error_make (err, 0, "pull: exactly one image reference is required");
  name = hb_ref_normalize (argv[optind]);
  if (hb_store_open (g->store_dir, &s, err) < 0)
    return -1;
  if (hb_pull_image (s, argv[optind], &o, &digest, err) < 0)
    return husk_error_wrap (err, "pull %s", name ? name : argv[optind]);
  printf ("%s\n", digest);
  return 0;
}
