/* husk-build: global options, command dispatch, and the small store
 * commands (images, inspect, tag, rmi). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>
#include "internal.h"
#include "build.h"

/* The image half's commands (bundle.c build.c containers.c) are linked
 * normally: a weak reference does not pull an object out of the static
 * libhuskbuild, so they would always have been "not available". */

typedef struct
{
  const char *name;
  hb_command_fn fn;
  const char *usage;
} command_t;

static int cmd_help (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
static int cmd_version (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);

static const command_t commands[] = {
  { "pull", hb_cmd_pull, "pull [--insecure] [--creds USER:PASS] [--authfile FILE] [--platform OS/ARCH] REF" },
  { "push", hb_cmd_push, "push [--insecure] [--creds USER:PASS] [--authfile FILE] IMAGE [REF]" },
  { "images", hb_cmd_images, "images [--format json] [-q]" },
  { "inspect", hb_cmd_inspect, "inspect IMAGE" },
  { "tag", hb_cmd_tag, "tag SRC DST" },
  { "rmi", hb_cmd_rmi, "rmi [-f] IMAGE..." },
  { "load", hb_cmd_load, "load FILE|DIR   (oci-archive, docker-archive or OCI layout dir)" },
  { "save", hb_cmd_save, "save IMAGE FILE (oci-archive)" },
  { "bundle", hb_cmd_bundle, "bundle IMAGE DIR" },
  { "build", hb_cmd_build, "build -f config.txt -t NAME [CONTEXT]" },
  { "run", hb_cmd_run, "run [--rm] [-d] [--name N] [-e K=V] [-p HOST:CTR] [--network NAME] IMAGE [CMD...]" },
  { "ps", hb_cmd_ps, "ps [--format json]" },
  { "rm", hb_cmd_rm, "rm [-f] NAME" },
  { "logs", hb_cmd_logs, "logs NAME" },
  { "help", cmd_help, "help" },
  { "version", cmd_version, "version" },
};

static void
usage (FILE *f)
{
  size_t i;
  fprintf (f, "Usage: husk-build [--store DIR] [--debug] [-q] COMMAND [ARGS...]\n\nCommands:\n");
  for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (f, "  %s\n", commands[i].usage);
  fprintf (f, "\nThe store (default %s, or $HUSK_BUILD_STORE) is an OCI image layout.\n", HB_DEFAULT_STORE);
}

static int
cmd_help (const hb_globals_t *g, int argc, char **argv, husk_error_t *err)
{
  usage (stdout);
  return 0;
}

static int
cmd_version (const hb_globals_t *g, int argc, char **argv, husk_error_t *err)
{
  printf ("husk-build version %s\ncommit: %s\n", HUSK_VERSION, HUSK_COMMIT);
  return 0;
}

/* ---- store commands ---------------------------------------------------- */

static int
open_store (const hb_globals_t *g, bool exclusive, hb_store_t **s, husk_error_t *err)
{
  if (hb_store_open (g->store_dir, s, err) < 0)
    return -1;
  if (hb_store_lock (*s, exclusive, err) < 0)
    {
      hb_store_close (*s);
      *s = NULL;
      return -1;
    }
  return 0;
}

/* Only the options with no argument that every simple command takes. */
static int
no_options (int argc, char **argv, int min_args, int max_args, husk_error_t *err)
{
  int nargs = argc - 1;
  if (argc > 1 && strcmp (argv[1], "--") == 0)
    nargs--;
  if (nargs < min_args || (max_args >= 0 && nargs > max_args))
    return husk_error_make (err, 0, "%s: wrong number of arguments (see husk-build help)", argv[0]);
  return argc - nargs;
}

static int
gen_blob (yajl_gen g, hb_store_t *s, const char *key, const char *digest, husk_error_t *err)
{
  husk_autofree char *json = NULL;
  yajl_val v = NULL;
  if (hb_store_read_blob (s, digest, &json, NULL, err) < 0 || hb_json_parse (json, digest, &v, err) < 0)
    return -1;
  husk_json_str (g, key);
  husk_json_gen_tree (g, v);
  yajl_tree_free (v);
  return 0;
}

/* Names (refs) of a manifest, NULL-terminated. */
static char **
refs_of (const hb_store_entry_t *e, size_t n, const char *digest)
{
  char **v = xmalloc0 (sizeof (char *) * (n + 1));
  size_t i, k = 0;
  for (i = 0; i < n; i++)
    if (e[i].ref && strcmp (e[i].digest, digest) == 0)
      v[k++] = xstrdup (e[i].ref);
  return v;
}

static void
split_ref (const char *ref, char **repo, char **tag)
{
  const char *at = strchr (ref, '@');
  const char *slash = strrchr (ref, '/');
  const char *colon = strrchr (slash ? slash : ref, ':');
  if (at)
    {
      *repo = xstrndup (ref, at - ref);
      *tag = xstrdup ("<none>");
      return;
    }
  *repo = colon ? xstrndup (ref, colon - ref) : xstrdup (ref);
  *tag = xstrdup (colon ? colon + 1 : "<none>");
}

static char *
human_size (int64_t n)
{
  if (n >= 1000 * 1000 * 1000)
    return xstrdup_printf ("%.2f GB", n / 1e9);
  if (n >= 1000 * 1000)
    return xstrdup_printf ("%.1f MB", n / 1e6);
  if (n >= 1000)
    return xstrdup_printf ("%.1f kB", n / 1e3);
  return xstrdup_printf ("%lld B", (long long) n);
}

int
hb_cmd_images (const hb_globals_t *g, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[]
      = { { "format", required_argument, 0, 'f' }, { "quiet", no_argument, 0, 'q' }, { 0 } };
  hb_autostore hb_store_t *s = NULL;
  hb_store_entry_t *e = NULL;
  size_t n = 0, i, j;
  bool json = false, quiet = false;
  yajl_gen gen = NULL;
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "qf:", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "json") != 0 && strcmp (optarg, "table") != 0)
          return husk_error_make (err, 0, "images: unknown format `%s` (json or table)", optarg);
        json = strcmp (optarg, "json") == 0;
        break;
      case 'q':
        quiet = true;
        break;
      default:
        return husk_error_make (err, 0, "images: unknown option");
      }
  if (open_store (g, false, &s, err) < 0 || hb_store_list (s, &e, &n, err) < 0)
    return -1;
  if (json)
    {
      gen = husk_json_gen_new (true, "  ");
      yajl_gen_array_open (gen);
    }
  else if (!quiet)
    printf ("%-40s %-16s %-14s %-20s %s\n", "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
  for (i = 0; i < n; i++)
    {
      hb_automanifest hb_manifest_t *m = NULL;
      hb_autoconfig hb_image_config_t *cfg = NULL;
      int64_t size = 0;
      husk_autofree char *repo = NULL, *tag = NULL, *hs = NULL;
      bool first = true;

      if (!hb_media_type_is_manifest (e[i].media_type) || hb_manifest_load (s, e[i].digest, &m, NULL) < 0
          || hb_image_config_load (s, m->config.digest, &cfg, NULL) < 0)
        continue;
      for (j = 0; j < i; j++)
        if (strcmp (e[j].digest, e[i].digest) == 0)
          first = false;
      size = m->config.size;
      for (j = 0; j < m->layers_len; j++)
        size += m->layers[j].size;
      if (json)
        {
          husk_autostrv char **names = NULL;
          if (!first)
            continue; /* one object per image, with all its names */
          names = refs_of (e, n, e[i].digest);
          yajl_gen_map_open (gen);
          husk_json_kv_str (gen, "Id", m->config.digest);
          husk_json_kv_str (gen, "Digest", e[i].digest);
          husk_json_str (gen, "Names");
          yajl_gen_array_open (gen);
          for (j = 0; names[j]; j++)
            husk_json_str (gen, names[j]);
          yajl_gen_array_close (gen);
          husk_json_kv_str (gen, "Created", cfg->created);
          husk_json_kv_int (gen, "Size", size);
          husk_json_kv_str (gen, "Architecture", cfg->architecture);
          husk_json_kv_str (gen, "Os", cfg->os);
          husk_json_kv_int (gen, "Layers", (long long) m->layers_len);
          yajl_gen_map_close (gen);
          continue;
        }
      if (quiet)
        {
          if (first)
            printf ("%.12s\n", m->config.digest + 7);
          continue;
        }
      if (e[i].ref)
        split_ref (e[i].ref, &repo, &tag);
      hs = human_size (size);
      {
        char created[20] = "";
        if (cfg->created)
          {
            snprintf (created, sizeof created, "%s", cfg->created);
            if (created[10] == 'T')
              created[10] = ' ';
          }
        printf ("%-40s %-16s %-14.12s %-20s %s\n", repo ? repo : "<none>", tag ? tag : "<none>", m->config.digest + 7,
                created, hs);
      }
    }
  hb_store_entries_free (e, n);
  if (json)
    {
      husk_autofree char *text = NULL;
      yajl_gen_array_close (gen);
      text = husk_json_gen_finish (gen);
      printf ("%s\n", text);
    }
  return 0;
}

int
hb_cmd_inspect (const hb_globals_t *g, int argc, char **argv, husk_error_t *err)
{
  hb_autostore hb_store_t *s = NULL;
  hb_autoimage hb_image_t *img = NULL;
  hb_store_entry_t *e = NULL;
  husk_autostrv char **names = NULL;
  husk_autofree char *text = NULL;
  size_t n = 0, j;
  yajl_gen gen;
  int first = no_options (argc, argv, 1, 1, err);

  if (first < 0 || open_store (g, false, &s, err) < 0)
    return -1;
  if (hb_image_open (s, argv[first], &img, err) < 0 || hb_store_list (s, &e, &n, err) < 0)
    return -1;
  names = refs_of (e, n, img->manifest_digest);
  hb_store_entries_free (e, n);

  gen = husk_json_gen_new (true, "  ");
  yajl_gen_map_open (gen);
  husk_json_kv_str (gen, "Id", img->manifest->config.digest);
  husk_json_kv_str (gen, "Digest", img->manifest_digest);
  husk_json_str (gen, "Names");
  yajl_gen_array_open (gen);
  for (j = 0; names[j]; j++)
    husk_json_str (gen, names[j]);
  yajl_gen_array_close (gen);
  husk_json_kv_str (gen, "ManifestMediaType", img->manifest->media_type);
  if (gen_blob (gen, s, "Manifest", img->manifest_digest, err) < 0
      || gen_blob (gen, s, "Config", img->manifest->config.digest, err) < 0)
    {
      yajl_gen_free (gen);
      return -1;
    }
  yajl_gen_map_close (gen);
  text = husk_json_gen_finish (gen);
  printf ("%s\n", text);
  return 0;
}

int
hb_cmd_tag (const hb_globals_t *g, int argc, char **argv, husk_error_t *err)
{
  hb_autostore hb_store_t *s = NULL;
  husk_autofree char *digest = NULL;
  int first = no_options (argc, argv, 2, 2, err);

  if (first < 0 || open_store (g, false, &s, err) < 0)
    return -1;
  if (hb_store_resolve (s, argv[first], &digest, err) < 0)
    return husk_error_wrap (err, "tag");
  if (hb_store_tag (s, argv[first + 1], digest, err) < 0)
    return husk_error_wrap (err, "tag `%s`", argv[first + 1]);
  return 0;
}

static int
rmi_one (hb_store_t *s, const char *name, bool force, husk_error_t *err)
{
  hb_store_entry_t *e = NULL;
  size_t n = 0, i, nrefs = 0;
  husk_autofree char *norm = hb_ref_normalize (name);
  husk_autofree char *digest = NULL;
  const char *ref = NULL;
  bool still_used = false;
  int r = 0;

  if (hb_store_resolve (s, name, &digest, err) < 0 || hb_store_list (s, &e, &n, err) < 0)
    return -1;
  for (i = 0; i < n; i++)
    {
      if (e[i].ref && (strcmp (e[i].ref, name) == 0 || (norm && strcmp (e[i].ref, norm) == 0)))
        ref = e[i].ref;
      if (strcmp (e[i].digest, digest) == 0 && e[i].ref)
        nrefs++;
    }
  if (ref)
    {
      /* A name: remove that ref only; the image goes when no ref is left. */
      r = hb_store_untag (s, ref, err);
      if (r == 0)
        printf ("Untagged: %s\n", ref);
      still_used = nrefs > 1;
    }
  else if (nrefs > 1 && !force)
    r = husk_error_make (err, 0, "image `%s` has %zu names; remove them by name or use -f", name, nrefs);
  else
    {
      for (i = 0; i < n; i++)
        if (strcmp (e[i].digest, digest) == 0 && e[i].ref)
          printf ("Untagged: %s\n", e[i].ref);
    }
  if (r == 0 && !still_used)
    {
      r = hb_store_remove_manifest (s, digest, err);
      if (r >= 0)
        {
          printf ("Deleted: %s\n", digest);
          r = 0;
        }
    }
  hb_store_entries_free (e, n);
  return r;
}

int
hb_cmd_rmi (const hb_globals_t *g, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = { { "force", no_argument, 0, 'f' }, { 0 } };
  hb_autostore hb_store_t *s = NULL;
  bool force = false;
  int64_t freed = 0;
  int c, i, r = 0;

  optind = 1;
  while ((c = getopt_long (argc, argv, "f", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        force = true;
        break;
      default:
        return husk_error_make (err, 0, "rmi: unknown option");
      }
  if (optind >= argc)
    return husk_error_make (err, 0, "rmi: no image given");
  if (open_store (g, true, &s, err) < 0)
    return -1;
  for (i = optind; i < argc && r == 0; i++)
    if (rmi_one (s, argv[i], force, err) < 0)
      r = husk_error_wrap (err, "rmi `%s`", argv[i]);
  if (hb_store_gc (s, &freed, r < 0 ? NULL : err) < 0 && r == 0)
    return husk_error_wrap (err, "rmi: garbage collection");
  return r;
}

/* ---- dispatch ---------------------------------------------------------- */

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "store", required_argument, 0, 's' }, { "debug", no_argument, 0, 'D' },   { "quiet", no_argument, 0, 'q' },
    { "help", no_argument, 0, 'h' },        { "version", no_argument, 0, 'v' }, { 0 },
  };
  hb_globals_t g = { 0 };
  husk_auto_error husk_error_t err = NULL;
  const command_t *cmd = NULL;
  size_t i;
  int c, r;

  g.store_dir = getenv ("HUSK_BUILD_STORE");
  if (g.store_dir == NULL || *g.store_dir == '\0')
    g.store_dir = HB_DEFAULT_STORE;
  while ((c = getopt_long (argc, argv, "+qhv", opts, NULL)) != -1)
    switch (c)
      {
      case 's':
        g.store_dir = optarg;
        break;
      case 'D':
        g.debug = true;
        break;
      case 'q':
        g.quiet = true;
        break;
      case 'h':
        usage (stdout);
        return 0;
      case 'v':
        return cmd_version (&g, 0, NULL, NULL);
      default:
        usage (stderr);
        return 1;
      }
  if (optind >= argc)
    {
      usage (stderr);
      return 1;
    }
  for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (commands[i].name, argv[optind]) == 0)
      cmd = &commands[i];
  if (cmd == NULL)
    {
      fprintf (stderr, "husk-build: unknown command `%s` (see husk-build help)\n", argv[optind]);
      return 1;
    }
  if (cmd->fn == NULL)
    {
      fprintf (stderr, "husk-build: command `%s` is not available in this build\n", cmd->name);
      return 1;
    }
  argv += optind;
  argc -= optind;
  optind = 1;
  r = cmd->fn (&g, argc, argv, &err);
  fflush (stdout);
  if (r < 0)
    {
      fprintf (stderr, "husk-build: %s\n", err && err->msg ? err->msg : "unknown error");
      return strcmp (cmd->name, "run") == 0 ? 125 : 1;
    }
  return r;
}
