/* husk-build: `push` — upload an image from the store to a registry. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "build.h"
#include "registry.h"

static int
push_image (hb_store_t *s, const hb_image_t *img, const hb_ref_t *dst, const hb_registry_opts_t *ro, husk_error_t *err)
{
  hb_registry_t *reg = NULL;
  husk_autofree char *manifest = NULL;
  size_t len = 0, i, j;
  int ret = 0;

  if (hb_store_read_blob (s, img->manifest_digest, &manifest, &len, err) < 0)
    return -1;
  if (hb_registry_new (dst, ro, &reg, err) < 0)
    return -1;
  for (i = 0; ret == 0 && i <= img->manifest->layers_len; i++)
    {
      const hb_desc_t *d = i == 0 ? &img->manifest->config : &img->manifest->layers[i - 1];
      const char *verb = i == 0 ? "Copying config" : "Copying blob";
      husk_autofree char *path = hb_store_blob_path (s, d->digest);
      bool exists = false, dup = false;
      int64_t size = hb_store_blob_size (s, d->digest);
      int item;

      for (j = 1; j < i; j++)
        if (strcmp (img->manifest->layers[j - 1].digest, d->digest) == 0)
          dup = true;
      if (dup)
        continue;
      if (size < 0)
        {
          ret = husk_error_make (err, 0, "blob %s is missing from the store", d->digest);
          break;
        }
      item = hb_progress_add (ro->progress, verb, d->digest, size);
      if (hb_registry_blob_exists (reg, dst->repository, d->digest, &exists, err) < 0)
        ret = husk_error_wrap (err, "blob %s", d->digest);
      else if (exists)
        hb_progress_finish (ro->progress, item, "skipped: already exists");
      else if (hb_registry_upload_blob (reg, dst->repository, d->digest, path, size, item, err) < 0)
        ret = husk_error_wrap (err, "upload blob %s", d->digest);
      else
        hb_progress_finish (ro->progress, item, "done");
      if (ret < 0)
        hb_progress_finish (ro->progress, item, "failed");
    }
  if (ret == 0)
    {
      hb_progress_line (ro->progress, "Writing manifest to image destination");
      if (hb_registry_put_manifest (reg, dst->repository, dst->digest ? dst->digest : dst->tag, manifest, len,
                                    img->manifest->media_type, err)
          < 0)
        ret = husk_error_wrap (err, "put manifest");
    }
  hb_registry_free (reg);
  return ret;
}

int
hb_cmd_push (const hb_globals_t *g, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = {
    { "insecure", no_argument, 0, 'k' },    { "tls-verify", required_argument, 0, 'T' },
    { "creds", required_argument, 0, 'c' }, { "authfile", required_argument, 0, 'a' },
    { "quiet", no_argument, 0, 'q' },       { 0 },
  };
  hb_registry_opts_t ro = { 0 };
  hb_autostore hb_store_t *s = NULL;
  hb_autoimage hb_image_t *img = NULL;
  husk_autofree char *dstname = NULL;
  const char *image, *dst;
  hb_ref_t ref;
  bool quiet = g->quiet;
  int c, ret;

  optind = 1;
  while ((c = getopt_long (argc, argv, "q", opts, NULL)) != -1)
    switch (c)
      {
      case 'k':
        ro.insecure = true;
        break;
      case 'T':
        ro.insecure = strcmp (optarg, "false") == 0;
        break;
      case 'c':
        ro.creds = optarg;
        break;
      case 'a':
        ro.authfile = optarg;
        break;
      case 'q':
        quiet = true;
        break;
      default:
        return husk_error_make (err, 0, "push: unknown option (see husk-build help)");
      }
  if (optind != argc - 1 && optind != argc - 2)
    return husk_error_make (err, 0, "push: usage: push IMAGE [REF]");
  image = argv[optind];
  dst = optind == argc - 2 ? argv[optind + 1] : image;
  if (hb_ref_parse (dst, &ref, err) < 0)
    return husk_error_wrap (err, "push");
  dstname = hb_ref_string (&ref);
  ret = hb_store_open (g->store_dir, &s, err);
  if (ret == 0)
    ret = hb_store_lock (s, false, err);
  if (ret == 0)
    ret = hb_image_open (s, image, &img, err);
  if (ret == 0)
    {
      ro.progress = hb_progress_new (stderr, quiet);
      hb_progress_line (ro.progress, "Pushing %s to %s", image, dstname);
      ret = push_image (s, img, &ref, &ro, err);
      hb_progress_free (ro.progress);
    }
  hb_ref_clear (&ref);
  if (ret < 0)
    return husk_error_wrap (err, "push %s", dstname);
  printf ("%s\n", img->manifest_digest);
  return 0;
}
