/* husk-build: `build -f config.txt -t NAME [--build-arg K=V] [--no-cache] [CONTEXT]`.
 *
 * Steps run in order on an image state (config + layers).  RUN and COPY work
 * on an overlayfs of the current layers (each unpacked once, in overlay form,
 * under <store>/layers/<diff-id hex>) with a fresh upper directory: RUN runs
 * the command with husk (`husk run` on a generated bundle, in a new network
 * namespace with only lo), COPY copies from the context.  The upper directory
 * then becomes a new gzip layer (hb_layer_from_dir).  Metadata instructions
 * change the config and add a history entry with empty_layer.
 *
 * Cache: every step has a key, sha256 of the previous step's key (the base
 * image's manifest digest to start with) and the step's text after
 * substitution (+ the ARG values RUN sees, + a hash of COPY's sources).  The
 * result (layer, diff-id, history time) is kept in <store>/build-cache/<key>;
 * a rebuild with the same keys runs nothing ("---> Using cache") and, since
 * the times come from the cache too, writes the same image digest.
 *
 * The overlay mounts live in a private mount namespace of this process
 * (unshare at the start), so they disappear with it whatever happens. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include "internal.h"
#include "rootfs.h"
#include "build.h"
#include "copy.h"

typedef struct
{
  hb_store_t *s;
  const hb_globals_t *g;
  const char *context;
  int context_fd;
  bool no_cache;
  char **build_args; /* --build-arg K=V */
  bool *build_arg_used;
  char **args; /* ARG values in scope, "K=V" */
  hb_image_config_t *cfg;
  hb_desc_t *layers;
  size_t n_layers;
  char *chain;  /* cache key of the last step */
  bool cmd_set; /* CMD given in this build (ENTRYPOINT keeps it) */
  int step, n_steps;
  int runs; /* containers started (ids) */
  struct stage_s *stages; /* finished stages, for FROM <stage> and COPY --from */
  size_t n_stages;
  char *stage_name; /* of the stage being built (FROM ... AS NAME), or NULL */
} build_t;

/* A finished stage: its image state, kept for later stages. */
typedef struct stage_s
{
  char *name; /* NULL when the stage has no AS */
  hb_image_config_t *cfg;
  hb_desc_t *layers;
  size_t n_layers;
  char *chain;
} stage_t;

static void
stage_clear (stage_t *st)
{
  free (st->name);
  hb_image_config_free (st->cfg);
  for (size_t i = 0; st->layers && i < st->n_layers; i++)
    hb_desc_clear (&st->layers[i]);
  free (st->layers);
  free (st->chain);
  memset (st, 0, sizeof *st);
}

static void
layers_dup (const hb_desc_t *from, size_t n, hb_desc_t **out)
{
  *out = xmalloc0 ((n + 1) * sizeof **out);
  for (size_t i = 0; i < n; i++)
    {
      (*out)[i].media_type = xstrdup (from[i].media_type);
      (*out)[i].digest = xstrdup (from[i].digest);
      (*out)[i].size = from[i].size;
    }
}

/* An earlier stage by name (case-insensitive) or index, or NULL. */
static const stage_t *
find_stage (const build_t *b, const char *ref)
{
  char *end;
  unsigned long idx = strtoul (ref, &end, 10);
  if (*ref && *end == '\0')
    return idx < b->n_stages ? &b->stages[idx] : NULL;
  for (size_t i = 0; i < b->n_stages; i++)
    if (b->stages[i].name && strcasecmp (b->stages[i].name, ref) == 0)
      return &b->stages[i];
  return NULL;
}

/* The current image state becomes a finished stage; the next FROM starts afresh. */
static void
end_stage (build_t *b)
{
  stage_t *st;
  b->stages = xrealloc (b->stages, (b->n_stages + 1) * sizeof *b->stages);
  st = &b->stages[b->n_stages++];
  st->name = steal_ptr (&b->stage_name);
  st->cfg = steal_ptr (&b->cfg);
  st->layers = steal_ptr (&b->layers);
  st->n_layers = b->n_layers;
  st->chain = steal_ptr (&b->chain);
  b->n_layers = 0;
  b->cmd_set = false;
}

static void say (build_t *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
say (build_t *b, const char *fmt, ...)
{
  va_list ap;
  if (b->g->quiet)
    return;
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fflush (stderr);
}

/* The variables substitution sees: ARGs, then ENV (ENV wins). */
static char **
subst_env (build_t *b)
{
  char **v = NULL;
  for (size_t i = 0; b->args && b->args[i]; i++)
    husk_strv_add (&v, b->args[i]);
  for (size_t i = 0; b->cfg && i < b->cfg->env_len; i++)
    husk_strv_add (&v, b->cfg->env[i]);
  if (v == NULL)
    v = xmalloc0 (sizeof *v);
  return v;
}

static char *
join (char *const *v, const char *sep)
{
  size_t len = 1;
  char *out;
  for (size_t i = 0; v && v[i]; i++)
    len += strlen (v[i]) + strlen (sep);
  out = xmalloc0 (len);
  for (size_t i = 0; v && v[i]; i++)
    {
      if (i)
        strcat (out, sep);
      strcat (out, v[i]);
    }
  return out;
}

static char **
strv_dup (char *const *v)
{
  size_t n = husk_strv_len (v);
  char **r = xmalloc0 ((n + 1) * sizeof *r);
  for (size_t i = 0; i < n; i++)
    r[i] = xstrdup (v[i]);
  return r;
}

static void
set_strv_field (char ***field, size_t *len, char **v)
{
  for (size_t i = 0; i < *len; i++)
    free ((*field)[i]);
  free (*field);
  *field = v;
  *len = husk_strv_len (v);
}

/* ---- cache ------------------------------------------------------------- */

typedef struct
{
  char *created;
  hb_desc_t layer; /* digest NULL: no layer */
  char *diff_id;
} cache_entry_t;

static void
cache_entry_clear (cache_entry_t *c)
{
  free (c->created);
  free (c->diff_id);
  hb_desc_clear (&c->layer);
  memset (c, 0, sizeof *c);
}

static char *
cache_path (build_t *b, const char *key)
{
  husk_auto_error husk_error_t e2 = NULL;
  husk_autofree char *dir = NULL;
  if (hb_store_subdir (b->s, "build-cache", true, &dir, &e2) < 0)
    return NULL;
  return xstrdup_printf ("%s/%s", dir, key + strlen ("sha256:"));
}

static bool
cache_get (build_t *b, const char *key, cache_entry_t *c)
{
  husk_auto_error husk_error_t e2 = NULL;
  husk_autofree char *path = cache_path (b, key);
  husk_autofree char *text = NULL;
  yajl_val v = NULL;
  const char *d;
  if (b->no_cache || path == NULL || husk_read_file (path, &text, NULL, &e2) < 0
      || hb_json_parse (text, path, &v, &e2) < 0)
    return false;
  memset (c, 0, sizeof *c);
  c->created = xstrdup (hb_json_get_str (v, "created") ? hb_json_get_str (v, "created") : "");
  d = hb_json_get_str (v, "digest");
  if (d)
    {
      const char *mt = hb_json_get_str (v, "mediaType");
      const char *diff = hb_json_get_str (v, "diffID");
      if (!hb_digest_valid (d) || mt == NULL || diff == NULL || !hb_store_has_blob (b->s, d))
        {
          yajl_tree_free (v);
          cache_entry_clear (c);
          return false;
        }
      c->layer.digest = xstrdup (d);
      c->layer.media_type = xstrdup (mt);
      c->layer.size = hb_json_get_int (v, "size", 0);
      c->diff_id = xstrdup (diff);
    }
  yajl_tree_free (v);
  return true;
}

static void
cache_put (build_t *b, const char *key, const cache_entry_t *c)
{
  husk_auto_error husk_error_t e2 = NULL;
  husk_autofree char *path = cache_path (b, key);
  husk_autofree char *json = NULL;
  yajl_gen g = husk_json_gen_new (false, NULL);
  yajl_gen_map_open (g);
  husk_json_kv_str (g, "created", c->created);
  if (c->layer.digest)
    {
      husk_json_kv_str (g, "mediaType", c->layer.media_type);
      husk_json_kv_str (g, "digest", c->layer.digest);
      husk_json_kv_int (g, "size", c->layer.size);
      husk_json_kv_str (g, "diffID", c->diff_id);
    }
  yajl_gen_map_close (g);
  json = husk_json_gen_finish (g);
  if (path)
    husk_write_file_atomic (path, json, strlen (json), 0644, &e2); /* a cache write failure only costs time */
}

static char *
step_key (build_t *b, const char *text, const char *extra)
{
  hb_sha256_t *h = hb_sha256_new ();
  hb_sha256_update (h, b->chain, strlen (b->chain));
  hb_sha256_update (h, "\n", 1);
  hb_sha256_update (h, text, strlen (text));
  if (extra)
    {
      hb_sha256_update (h, "\n", 1);
      hb_sha256_update (h, extra, strlen (extra));
    }
  return hb_sha256_finish (h);
}

/* Record a finished step: history, layer, chain. */
static void
step_done (build_t *b, const char *key, const char *created_by, cache_entry_t *c)
{
  hb_history_t *h;
  hb_image_config_add_history (b->cfg, created_by, c->layer.digest == NULL);
  h = &b->cfg->history[b->cfg->history_len - 1];
  if (c->created && *c->created)
    {
      free (h->created);
      h->created = xstrdup (c->created);
    }
  free (b->cfg->created);
  b->cfg->created = xstrdup (h->created);
  if (c->layer.digest)
    {
      b->layers = xrealloc (b->layers, (b->n_layers + 1) * sizeof *b->layers);
      b->layers[b->n_layers++] = c->layer;
      memset (&c->layer, 0, sizeof c->layer);
      hb_image_config_add_diff_id (b->cfg, c->diff_id);
    }
  free (b->chain);
  b->chain = xstrdup (key);
}

/* A layer step whose key is cached: reuse its layer, run nothing. */
static bool
step_from_cache (build_t *b, const char *key, const char *text)
{
  cache_entry_t c = { 0 };
  if (!cache_get (b, key, &c))
    return false;
  say (b, "---> Using cache %.19s\n", c.layer.digest ? c.layer.digest : key);
  step_done (b, key, text, &c);
  cache_entry_clear (&c);
  return true;
}

/* ---- FROM -------------------------------------------------------------- */

/* Open REF in the store, pulling it when it is not there, into st. */
static int
load_image (build_t *b, const char *ref, stage_t *st, husk_error_t *err)
{
  hb_autoimage hb_image_t *img = NULL;
  if (hb_image_open (b->s, ref, &img, err) < 0)
    {
      husk_auto_error husk_error_t e2 = NULL;
      husk_autofree char *digest = NULL;
      hb_pull_opts_t po = { .quiet = b->g->quiet };
      if ((*err)->status != ENOENT)
        return -1;
      if (hb_pull_image (b->s, ref, &po, &digest, &e2) < 0 || hb_image_open (b->s, digest, &img, &e2) < 0)
        return husk_error_wrap (err, "%s (and pulling it failed: %s)", ref, e2 ? e2->msg : "?");
      husk_error_release (err);
    }
  if (img->config->diff_ids_len != img->manifest->layers_len)
    return husk_error_make (err, 0, "%s: the image has %zu layers but %zu diff_ids", ref, img->manifest->layers_len,
                            img->config->diff_ids_len);
  st->cfg = hb_image_config_dup (img->config);
  layers_dup (img->manifest->layers, img->manifest->layers_len, &st->layers);
  st->n_layers = img->manifest->layers_len;
  st->chain = xstrdup (img->manifest_digest);
  return 0;
}

static int
do_from (build_t *b, const hb_instr_t *in, husk_error_t *err)
{
  husk_autostrv char **env = subst_env (b);
  husk_autostrv char **w = NULL;
  const stage_t *base;
  stage_t st = { 0 };

  if (hb_dockerfile_words (in->rest, env, true, false, &w, NULL, err) < 0)
    return -1;
  say (b, "STEP %d/%d: FROM %s%s%s\n", ++b->step, b->n_steps, w[0], w[1] ? " AS " : "", w[1] ? w[2] : "");
  free (b->stage_name);
  b->stage_name = hb_dockerfile_stage_name (in) ? xstrdup (hb_dockerfile_stage_name (in)) : NULL;
  if (strcmp (w[0], "scratch") == 0)
    {
      b->cfg = xmalloc0 (sizeof *b->cfg);
      b->cfg->os = xstrdup ("linux");
      b->cfg->architecture = xstrdup (strchr (hb_host_platform (), '/') + 1);
      if (strchr (b->cfg->architecture, '/'))
        *strchr (b->cfg->architecture, '/') = '\0';
      b->chain = xstrdup ("sha256:0000000000000000000000000000000000000000000000000000000000000000");
      return 0;
    }
  if ((base = find_stage (b, w[0])) != NULL && !isdigit ((unsigned char) w[0][0]))
    {
      /* FROM an earlier stage: go on from its state */
      b->cfg = hb_image_config_dup (base->cfg);
      layers_dup (base->layers, base->n_layers, &b->layers);
      b->n_layers = base->n_layers;
      b->chain = xstrdup (base->chain);
      return 0;
    }
  if (load_image (b, w[0], &st, err) < 0)
    return husk_error_wrap (err, "FROM");
  b->cfg = steal_ptr (&st.cfg);
  b->layers = steal_ptr (&st.layers);
  b->n_layers = st.n_layers;
  b->chain = steal_ptr (&st.chain);
  stage_clear (&st);
  return 0;
}

/* ---- overlay rootfs for RUN and COPY ----------------------------------- */

typedef struct
{
  char *dir;    /* <store>/tmp/dir-X: the bundle */
  char *rootfs; /* dir/rootfs, the overlay mount */
  char *upper;
  bool mounted;
} work_t;

static void
work_clear (work_t *w)
{
  husk_auto_error husk_error_t e2 = NULL;
  if (w->mounted && umount2 (w->rootfs, 0) < 0)
    umount2 (w->rootfs, MNT_DETACH);
  if (w->dir)
    husk_rm_rf (w->dir, &e2);
  free (w->dir);
  free (w->rootfs);
  free (w->upper);
  memset (w, 0, sizeof *w);
}

static int
work_prepare_layers (build_t *b, work_t *w, const hb_desc_t *layers, char *const *diff_ids, size_t n_layers,
                     husk_error_t *err)
{
  husk_autofree char *lower = NULL;
  husk_autofree char *workdir = NULL;
  husk_autofree char *opts = NULL;
  size_t len = 0;

  if (hb_store_tmpdir (b->s, &w->dir, err) < 0)
    return -1;
  chmod (w->dir, 0755);
  w->rootfs = xstrdup_printf ("%s/rootfs", w->dir);
  w->upper = xstrdup_printf ("%s/upper", w->dir);
  workdir = xstrdup_printf ("%s/work", w->dir);
  if (mkdir (w->rootfs, 0755) < 0 || mkdir (w->upper, 0755) < 0 || mkdir (workdir, 0700) < 0)
    return husk_error_make (err, errno, "cannot create the build directories in `%s`", w->dir);

  {
    husk_autostrv char **dirs = NULL;
    if (hb_layer_dirs (b->s, layers, diff_ids, n_layers, &dirs, err) < 0)
      return -1;
    for (size_t i = n_layers; i > 0; i--)
      {
        const char *p = dirs[i - 1];
        lower = xrealloc (lower, len + strlen (p) + 2);
        if (len)
          lower[len++] = ':';
        strcpy (lower + len, p);
        len += strlen (p);
      }
  }
  if (lower == NULL)
    {
      lower = xstrdup_printf ("%s/empty", w->dir);
      if (mkdir (lower, 0755) < 0)
        return husk_error_make (err, errno, "cannot create `%s`", lower);
    }
  /* redirect_dir and metacopy off: renamed directories and chmod'ed files are
     copied up whole, so the upper directory is a complete layer. */
  opts = xstrdup_printf ("lowerdir=%s,upperdir=%s,workdir=%s,redirect_dir=off,metacopy=off,index=off", lower, w->upper,
                         workdir);
  if (strlen (opts) >= 4096)
    return husk_error_make (err, 0, "too many layers for one overlay mount (%zu)", n_layers);
  if (mount ("overlay", w->rootfs, "overlay", 0, opts) < 0)
    {
      free (opts);
      opts = xstrdup_printf ("lowerdir=%s,upperdir=%s,workdir=%s", lower, w->upper, workdir);
      if (mount ("overlay", w->rootfs, "overlay", 0, opts) < 0)
        return husk_error_make (err, errno, "cannot mount the overlay for the build step on `%s`", w->rootfs);
    }
  w->mounted = true;
  return 0;
}

static int
work_prepare (build_t *b, work_t *w, husk_error_t *err)
{
  return work_prepare_layers (b, w, b->layers, b->cfg->diff_ids, b->n_layers, err);
}

/* Unmount and turn the upper dir into a layer. */
static int
work_commit (build_t *b, work_t *w, cache_entry_t *c, husk_error_t *err)
{
  if (w->mounted)
    {
      if (umount2 (w->rootfs, 0) < 0)
        return husk_error_make (err, errno, "cannot unmount `%s`", w->rootfs);
      w->mounted = false;
    }
  if (hb_layer_from_dir (b->s, w->upper, &c->layer, &c->diff_id, err) < 0)
    return husk_error_wrap (err, "make the layer");
  return 0;
}

/* ---- RUN --------------------------------------------------------------- */

static int
run_container (build_t *b, work_t *w, char **argv, husk_error_t *err)
{
  husk_autofree char *husk = hb_husk_path ();
  husk_autofree char *root = NULL;
  husk_autofree char *id = xstrdup_printf ("hb-build-%d-%d", (int) getpid (), ++b->runs);
  husk_autofree char *json = NULL;
  husk_autofree char *config = xstrdup_printf ("%s/config.json", w->dir);
  hb_bundle_opts_t o = { .args = argv, .hostname = "husk-build" };
  husk_autoclose int rootfd = -1;
  pid_t pid;
  int status;

  /* The working directory exists for the command (docker creates it too). */
  if (b->cfg->working_dir && *b->cfg->working_dir)
    {
      husk_autoclose int fd = -1;
      rootfd = open (w->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (rootfd < 0)
        return husk_error_make (err, errno, "cannot open `%s`", w->rootfs);
      fd = husk_create_in_root (rootfd, b->cfg->working_dir, true, err);
      if (fd < 0)
        return husk_error_wrap (err, "WORKDIR");
    }
  if (hb_bundle_config_json (b->cfg, w->rootfs, &o, &json, err) < 0
      || husk_write_file_atomic (config, json, strlen (json), 0644, err) < 0)
    return -1;
  if (hb_store_subdir (b->s, "husk", true, &root, err) < 0)
    return -1;

  pid = fork ();
  if (pid < 0)
    return husk_error_make (err, errno, "fork");
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      if (null >= 0)
        dup2 (null, 0);
      dup2 (2, 1); /* the command's output is build progress */
      execlp (husk, husk, "--root", root, "run", "--bundle", w->dir, id, (char *) NULL);
      fprintf (stderr, "husk-build: cannot run `%s`: %s\n", husk, strerror (errno));
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return husk_error_make (err, errno, "waitpid");
  if (WIFSIGNALED (status))
    return husk_error_make (err, 0, "husk was killed by signal %d", WTERMSIG (status));
  if (WEXITSTATUS (status) != 0)
    return husk_error_make (err, 0, "the command returned a non-zero code: %d", WEXITSTATUS (status));
  return 0;
}

static int
do_run (build_t *b, const hb_instr_t *in, husk_error_t *err)
{
  husk_autostrv char **argv = NULL;
  husk_autofree char *text = NULL;
  husk_autofree char *argskey = NULL;
  husk_autofree char *key = NULL;
  cache_entry_t c = { 0 };
  work_t w = { 0 };
  int ret = 0;

  if (in->exec)
    argv = strv_dup (in->exec);
  else
    {
      argv = xmalloc0 (4 * sizeof *argv);
      argv[0] = xstrdup ("/bin/sh");
      argv[1] = xstrdup ("-c");
      argv[2] = xstrdup (in->rest);
    }
  if (argv[0] == NULL)
    return husk_error_make (err, 0, "RUN with an empty command");
  text = in->exec ? xstrdup_printf ("RUN %s", in->rest) : xstrdup_printf ("/bin/sh -c %s", in->rest);
  /* RUN sees the build args as env: they are part of its key. */
  argskey = join (b->args, "\n");
  {
    husk_autofree char *keytext = xstrdup_printf ("RUN%s %s", in->exec ? "[exec]" : "", in->rest);
    key = step_key (b, keytext, argskey);
  }
  if (step_from_cache (b, key, text))
    return 0;

  if (work_prepare (b, &w, err) < 0)
    goto fail;
  {
    /* Build args are in the command's environment, not in the image. */
    hb_image_config_t *saved = b->cfg;
    hb_image_config_t *run_cfg = hb_image_config_dup (b->cfg);
    for (size_t i = 0; b->args && b->args[i]; i++)
      {
        husk_autofree char *k = xstrndup (b->args[i], strcspn (b->args[i], "="));
        if (hb_image_config_get_env (run_cfg, k) == NULL)
          hb_image_config_set_env (run_cfg, k, strchr (b->args[i], '=') + 1);
      }
    b->cfg = run_cfg;
    ret = run_container (b, &w, argv, err);
    b->cfg = saved;
    hb_image_config_free (run_cfg);
    if (ret < 0)
      {
        husk_error_wrap (err, "RUN %s", in->rest);
        goto fail;
      }
  }
  if (work_commit (b, &w, &c, err) < 0)
    goto fail;
  c.created = husk_now_rfc3339nano ();
  cache_put (b, key, &c);
  say (b, "---> %.19s\n", c.layer.digest);
  step_done (b, key, text, &c);
  cache_entry_clear (&c);
  work_clear (&w);
  return 0;

fail:
  cache_entry_clear (&c);
  work_clear (&w);
  return -1;
}

/* ---- COPY -------------------------------------------------------------- */

static char *
abs_in_workdir (build_t *b, const char *p)
{
  const char *wd = b->cfg->working_dir && *b->cfg->working_dir ? b->cfg->working_dir : "/";
  if (*p == '/')
    return xstrdup (p);
  return xstrdup_printf ("%s%s%s", wd, wd[strlen (wd) - 1] == '/' ? "" : "/", p);
}

/* ADD's URLs: each downloaded into dl (a temp dir) under the name the copy
 * will give it; *names gets those names. */
static int
add_downloads (build_t *b, char *const *urls, bool dest_dir, const char *dest, char **dl, char ***names,
               husk_error_t *err)
{
  husk_autoclose int dfd = -1;
  if (urls == NULL)
    return 0;
  if (hb_store_tmpdir (b->s, dl, err) < 0)
    return -1;
  dfd = open (*dl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return husk_error_make (err, errno, "cannot open `%s`", *dl);
  for (size_t i = 0; urls[i]; i++)
    {
      husk_autofree char *name = hb_url_basename (urls[i]);
      husk_autoclose int fd = -1;
      if (name == NULL && dest_dir)
        return husk_error_make (err, 0, "ADD %s: cannot determine a file name from the URL", urls[i]);
      if (name == NULL)
        name = xstrdup (strrchr (dest, '/') + 1);
      fd = openat (dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0)
        return husk_error_make (err, errno, "ADD %s: cannot create `%s`", urls[i], name);
      say (b, "Downloading %s\n", urls[i]);
      if (hb_download_url (urls[i], fd, err) < 0)
        return -1;
      husk_strv_add (names, name);
    }
  return 0;
}

/* ADD's local sources: tar archives (extracted) apart from the rest (copied). */
static int
split_archives (int src_fd, char *const *srcs, char ***plain, char ***archives, husk_error_t *err)
{
  for (size_t i = 0; srcs && srcs[i]; i++)
    {
      husk_autoclose int fd = husk_open_in_root (src_fd, srcs[i], O_RDONLY, 0, err);
      struct stat st;
      if (fd < 0 || fstat (fd, &st) < 0)
        return fd < 0 ? -1 : husk_error_make (err, errno, "ADD: cannot stat `%s`", srcs[i]);
      husk_strv_add (S_ISREG (st.st_mode) && hb_is_tar_archive (fd) ? archives : plain, srcs[i]);
    }
  return 0;
}

static int
extract_archives (int src_fd, char *const *archives, const char *rootfs, const char *dest, husk_error_t *err)
{
  for (size_t i = 0; archives && archives[i]; i++)
    {
      husk_autoclose int fd = husk_open_in_root (src_fd, archives[i], O_RDONLY, 0, err);
      if (fd < 0 || hb_add_extract (fd, archives[i], rootfs, dest, err) < 0)
        return -1;
    }
  return 0;
}

/* COPY from src_fd (the context, or a stage's or image's root for --from). */
static int
copy_step (build_t *b, const hb_instr_t *in, int src_fd, husk_error_t *err)
{
  husk_autostrv char **env = subst_env (b);
  husk_autostrv char **w = NULL;
  husk_autostrv char **srcs = NULL;
  husk_autofree char *dest = NULL;
  husk_autofree char *chown = NULL;
  husk_autofree char *hash = NULL;
  husk_autofree char *text = NULL;
  husk_autofree char *key = NULL;
  husk_autofree char *dl = NULL; /* ADD: where the URLs were downloaded */
  husk_autostrv char **urls = NULL;
  husk_autostrv char **locals = NULL;
  husk_autostrv char **dl_names = NULL;
  husk_autostrv char **plain = NULL;
  husk_autostrv char **archives = NULL;
  husk_autoclose int dl_fd = -1;
  cache_entry_t c = { 0 };
  work_t wk = { 0 };
  size_t n;
  bool dest_dir, add = in->kind == HB_INSTR_ADD;
  int r = -1;

  if (in->exec)
    w = strv_dup (in->exec);
  else if (hb_dockerfile_words (in->rest, env, true, false, &w, NULL, err) < 0)
    return husk_error_wrap (err, "%s", in->keyword);
  n = husk_strv_len (w);
  if (n < 2)
    return husk_error_make (err, 0, "%s requires sources and a destination", in->keyword);
  if (in->chown)
    {
      husk_autostrv char **cw = NULL;
      if (hb_dockerfile_words (in->chown, env, true, true, &cw, NULL, err) < 0)
        return -1;
      chown = xstrdup (cw[0]);
    }
  dest_dir = w[n - 1][strlen (w[n - 1]) - 1] == '/' || n > 2;
  dest = abs_in_workdir (b, w[n - 1]);
  free (w[n - 1]);
  w[n - 1] = NULL;
  for (size_t i = 0; i < n - 1; i++)
    husk_strv_add (add && hb_is_url (w[i]) ? &urls : &locals, w[i]);
  if (locals && hb_copy_sources (src_fd, locals, husk_strv_len (locals), &srcs, err) < 0)
    return -1;
  if (husk_strv_len (srcs) + husk_strv_len (urls) > 1)
    dest_dir = true;
  if (add_downloads (b, urls, dest_dir, dest, &dl, &dl_names, err) < 0)
    goto out;
  if (dl && (dl_fd = open (dl, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      husk_error_make (err, errno, "cannot open `%s`", dl);
      goto out;
    }
  {
    /* the cache key covers what the sources hold, downloads included */
    husk_autofree char *h1 = NULL;
    husk_autofree char *h2 = NULL;
    husk_autofree char *joined = NULL;
    husk_autofree char *joined_urls = join (urls, " ");
    if (hb_copy_hash (src_fd, srcs, &h1, err) < 0 || hb_copy_hash (dl_fd, dl_names, &h2, err) < 0)
      goto out;
    hash = xstrdup_printf ("%s %s", h1, h2);
    joined = join (srcs, " ");
    text = xstrdup_printf ("%s %s%s%s%s%s%s %s%s%s%s in %s", in->keyword, in->from ? "--from=" : "",
                           in->from ? in->from : "", in->from ? " " : "", chown ? "--chown=" : "", chown ? chown : "",
                           chown ? " " : "", joined, *joined && urls ? " " : "", joined_urls, dest_dir ? " (dir)" : "",
                           dest);
  }
  key = step_key (b, text, hash);
  if (step_from_cache (b, key, text))
    {
      r = 0;
      goto out;
    }
  if (add && split_archives (src_fd, srcs, &plain, &archives, err) < 0)
    goto out;
  if (work_prepare (b, &wk, err) < 0
      || hb_copy_into (src_fd, wk.rootfs, add ? plain : srcs, dest, dest_dir, chown, err) < 0
      || hb_copy_into (dl_fd, wk.rootfs, dl_names, dest, dest_dir, chown, err) < 0
      || extract_archives (src_fd, archives, wk.rootfs, dest, err) < 0 || work_commit (b, &wk, &c, err) < 0)
    {
      husk_error_wrap (err, "%s", in->keyword);
      cache_entry_clear (&c);
      work_clear (&wk);
      goto out;
    }
  c.created = husk_now_rfc3339nano ();
  cache_put (b, key, &c);
  say (b, "---> %.19s\n", c.layer.digest);
  step_done (b, key, text, &c);
  cache_entry_clear (&c);
  work_clear (&wk);
  r = 0;
out:
  if (dl)
    {
      husk_auto_error husk_error_t e2 = NULL;
      husk_rm_rf (dl, &e2);
    }
  return r;
}

static int
do_copy (build_t *b, const hb_instr_t *in, husk_error_t *err)
{
  work_t src = { 0 };
  stage_t image = { 0 };
  const stage_t *st;
  int src_fd, r;

  if (in->from == NULL)
    return copy_step (b, in, b->context_fd, err);
  /* --from=STAGE (a name, or the index of an earlier stage) or an image */
  st = find_stage (b, in->from);
  if (st == NULL && isdigit ((unsigned char) in->from[0]))
    return husk_error_make (err, 0, "COPY --from=%s: there is no stage %s before this one", in->from, in->from);
  if (st == NULL)
    {
      if (load_image (b, in->from, &image, err) < 0)
        return husk_error_wrap (err, "COPY --from");
      st = &image;
    }
  r = work_prepare_layers (b, &src, st->layers, st->cfg->diff_ids, st->n_layers, err);
  stage_clear (&image);
  if (r < 0)
    {
      work_clear (&src);
      return husk_error_wrap (err, "COPY --from=%s", in->from);
    }
  src_fd = open (src.rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (src_fd < 0)
    r = husk_error_make (err, errno, "COPY --from=%s: cannot open `%s`", in->from, src.rootfs);
  else
    {
      r = copy_step (b, in, src_fd, err);
      close (src_fd);
    }
  work_clear (&src);
  return r;
}

/* ---- metadata instructions --------------------------------------------- */

/* A step that changes only the config: cached for its history time. */
static void
meta_step (build_t *b, const char *text, bool history)
{
  husk_autofree char *key = step_key (b, text, NULL);
  cache_entry_t c = { 0 };
  if (cache_get (b, key, &c))
    say (b, "---> Using cache %.19s\n", key);
  else
    {
      c.created = husk_now_rfc3339nano ();
      cache_put (b, key, &c);
    }
  if (history)
    {
      husk_autofree char *by = xstrdup_printf ("/bin/sh -c #(nop) %s", text);
      step_done (b, key, by, &c);
    }
  else
    {
      free (b->chain);
      b->chain = xstrdup (key);
    }
  cache_entry_clear (&c);
}

static char *
json_argv (const char *kw, char *const *v)
{
  yajl_gen g = husk_json_gen_new (false, NULL);
  husk_autofree char *arr = NULL;
  yajl_gen_config (g, yajl_gen_escape_solidus, 0);
  yajl_gen_array_open (g);
  for (size_t i = 0; v && v[i]; i++)
    husk_json_str (g, v[i]);
  yajl_gen_array_close (g);
  arr = husk_json_gen_finish (g);
  return xstrdup_printf ("%s %s", kw, arr);
}

/* "/a/./b/../c//" -> "/a/c" */
static char *
clean_abs (const char *p)
{
  husk_autofree char *copy = xstrdup (p);
  char *out = xmalloc0 (strlen (p) + 2);
  char *save = NULL;
  size_t len = 0;
  for (char *t = strtok_r (copy, "/", &save); t; t = strtok_r (NULL, "/", &save))
    {
      if (strcmp (t, ".") == 0)
        continue;
      if (strcmp (t, "..") == 0)
        {
          while (len > 0 && out[len - 1] != '/')
            len--;
          if (len > 0)
            len--;
          out[len] = '\0';
          continue;
        }
      out[len++] = '/';
      strcpy (out + len, t);
      len += strlen (t);
    }
  if (len == 0)
    strcpy (out, "/");
  return out;
}

static int
do_meta (build_t *b, const hb_instr_t *in, char **global_args, husk_error_t *err)
{
  husk_autostrv char **env = subst_env (b);
  husk_autostrv char **w = NULL;
  husk_autostrv char **keys = NULL;
  husk_autostrv char **vals = NULL;
  husk_autofree char *text = NULL;
  bool one = in->kind == HB_INSTR_WORKDIR || in->kind == HB_INSTR_USER || in->kind == HB_INSTR_MAINTAINER;

  switch (in->kind)
    {
    case HB_INSTR_ENV:
    case HB_INSTR_LABEL:
      {
        husk_autofree char *joined = NULL;
        char **kv = NULL;
        if (hb_dockerfile_pairs (in, env, &keys, &vals, err) < 0)
          return -1;
        for (size_t i = 0; keys[i]; i++)
          {
            husk_autofree char *p = xstrdup_printf ("%s=%s", keys[i], vals[i]);
            husk_strv_add (&kv, p);
            if (in->kind == HB_INSTR_ENV)
              hb_image_config_set_env (b->cfg, keys[i], vals[i]);
            else
              hb_image_config_set_label (b->cfg, keys[i], vals[i]);
          }
        joined = join (kv, " ");
        husk_strv_free (kv);
        text = xstrdup_printf ("%s %s", in->keyword, joined);
        break;
      }
    case HB_INSTR_CMD:
    case HB_INSTR_ENTRYPOINT:
      {
        char **v;
        if (in->exec)
          v = strv_dup (in->exec);
        else if (*in->rest == '\0')
          v = xmalloc0 (sizeof *v);
        else
          {
            v = xmalloc0 (4 * sizeof *v);
            v[0] = xstrdup ("/bin/sh");
            v[1] = xstrdup ("-c");
            v[2] = xstrdup (in->rest);
          }
        text = json_argv (in->keyword, v);
        if (in->kind == HB_INSTR_CMD)
          {
            set_strv_field (&b->cfg->cmd, &b->cfg->cmd_len, v);
            b->cfg->has_cmd = true;
            b->cmd_set = true;
          }
        else
          {
            set_strv_field (&b->cfg->entrypoint, &b->cfg->entrypoint_len, v);
            b->cfg->has_entrypoint = true;
            /* A new ENTRYPOINT drops the CMD inherited from the base image. */
            if (!b->cmd_set)
              {
                set_strv_field (&b->cfg->cmd, &b->cfg->cmd_len, NULL);
                b->cfg->has_cmd = false;
              }
          }
        break;
      }
    default:
      {
        husk_autofree char *joined = NULL;
        if (in->exec)
          w = strv_dup (in->exec); /* VOLUME ["/a", "/b"] */
        else if (hb_dockerfile_words (in->rest, env, true, one, &w, NULL, err) < 0)
          return husk_error_wrap (err, "%s", in->keyword);
        switch (in->kind)
          {
          case HB_INSTR_VOLUME:
            for (size_t i = 0; w[i]; i++)
              {
                husk_autofree char *abs = abs_in_workdir (b, w[i]);
                husk_autofree char *v = clean_abs (abs);
                hb_image_config_add_volume (b->cfg, v);
              }
            joined = join (w, " ");
            text = xstrdup_printf ("VOLUME [%s]", joined);
            break;
          case HB_INSTR_STOPSIGNAL:
            {
              int sig = husk_signal_parse (w[0]);
              const char *name = sig > 0 ? husk_signal_name (sig) : NULL;
              if (sig <= 0)
                return husk_error_make (err, 0, "STOPSIGNAL: invalid signal `%s`", w[0]);
              free (b->cfg->stop_signal);
              /* docker keeps it as written; a name is the portable form */
              b->cfg->stop_signal = xstrdup (name ? name : w[0]);
              text = xstrdup_printf ("STOPSIGNAL %s", b->cfg->stop_signal);
              break;
            }
          case HB_INSTR_MAINTAINER:
            free (b->cfg->author);
            b->cfg->author = xstrdup (w[0]);
            text = xstrdup_printf ("MAINTAINER %s", w[0]);
            break;
          case HB_INSTR_EXPOSE:
            for (size_t i = 0; w[i]; i++)
              {
                if (hb_dockerfile_check_port (w[i], err) < 0)
                  return husk_error_wrap (err, "EXPOSE");
                hb_image_config_add_port (b->cfg, w[i]);
              }
            joined = join (w, " ");
            text = xstrdup_printf ("EXPOSE %s", joined);
            break;
          case HB_INSTR_WORKDIR:
            {
              husk_autofree char *abs = abs_in_workdir (b, w[0]);
              free (b->cfg->working_dir);
              b->cfg->working_dir = clean_abs (abs);
              text = xstrdup_printf ("WORKDIR %s", b->cfg->working_dir);
              break;
            }
          case HB_INSTR_USER:
            if (*w[0] == '\0')
              return husk_error_make (err, 0, "USER: empty user");
            free (b->cfg->user);
            b->cfg->user = xstrdup (w[0]);
            text = xstrdup_printf ("USER %s", w[0]);
            break;
          case HB_INSTR_ARG:
            {
              const char *eq = strchr (w[0], '=');
              husk_autofree char *name = eq ? xstrndup (w[0], (size_t) (eq - w[0])) : xstrdup (w[0]);
              const char *val = eq ? eq + 1 : NULL;
              size_t nl = strlen (name);
              for (size_t i = 0; global_args && global_args[i]; i++)
                if (!eq && strncmp (global_args[i], name, nl) == 0 && global_args[i][nl] == '=')
                  val = global_args[i] + nl + 1;
              for (size_t i = 0; b->build_args && b->build_args[i]; i++)
                if (strncmp (b->build_args[i], name, nl) == 0 && b->build_args[i][nl] == '=')
                  {
                    val = b->build_args[i] + nl + 1;
                    b->build_arg_used[i] = true;
                  }
              if (val)
                husk_strv_setkv (&b->args, name, val);
              text = val ? xstrdup_printf ("ARG %s=%s", name, val) : xstrdup_printf ("ARG %s", name);
              if (b->cfg == NULL)
                return 0; /* before FROM: no step of the image */
              break;
            }
          default:
            return husk_error_make (err, 0, "unexpected %s", in->keyword);
          }
      }
    }
  meta_step (b, text, in->kind != HB_INSTR_ARG);
  return 0;
}

/* ---- the command ------------------------------------------------------- */

static void
build_clear (build_t *b)
{
  husk_strv_free (b->args);
  free (b->build_arg_used);
  hb_image_config_free (b->cfg);
  for (size_t i = 0; i < b->n_layers; i++)
    hb_desc_clear (&b->layers[i]);
  free (b->layers);
  free (b->chain);
  free (b->stage_name);
  for (size_t i = 0; i < b->n_stages; i++)
    stage_clear (&b->stages[i]);
  free (b->stages);
  if (b->context_fd >= 0)
    close (b->context_fd);
}

static int
build_steps (build_t *b, const hb_dockerfile_t *df, const char *file, husk_error_t *err)
{
  husk_autostrv char **global_args = NULL;
  for (size_t i = 0; i < df->len; i++)
    {
      const hb_instr_t *in = &df->instrs[i];
      int r;
      if (in->kind == HB_INSTR_FROM && b->cfg == NULL)
        {
          /* ARGs before FROM are for FROM only, unless declared again after it. */
          r = do_from (b, in, err);
          global_args = steal_ptr (&b->args);
        }
      else if (in->kind == HB_INSTR_FROM)
        {
          /* A new stage: the global ARGs again for its FROM, its own ARGs after. */
          end_stage (b);
          husk_strv_free (b->args);
          b->args = strv_dup (global_args);
          r = do_from (b, in, err);
          husk_strv_free (b->args);
          b->args = NULL;
        }
      else
        {
          if (b->cfg)
            say (b, "STEP %d/%d: %s\n", ++b->step, b->n_steps, in->text);
          if (in->kind == HB_INSTR_RUN)
            r = do_run (b, in, err);
          else if (in->kind == HB_INSTR_COPY || in->kind == HB_INSTR_ADD)
            r = do_copy (b, in, err);
          else
            r = do_meta (b, in, global_args, err);
        }
      if (r < 0)
        return husk_error_wrap (err, "%s:%d", file, in->line);
    }
  return 0;
}

int
hb_cmd_build (const hb_globals_t *gl, int argc, char **argv, husk_error_t *err)
{
  enum
  {
    O_BUILD_ARG = 1000,
    O_NO_CACHE,
  };
  static const struct option opts[] = {
    { "file", required_argument, 0, 'f' },
    { "tag", required_argument, 0, 't' },
    { "build-arg", required_argument, 0, O_BUILD_ARG },
    { "no-cache", no_argument, 0, O_NO_CACHE },
    { 0, 0, 0, 0 },
  };
  __attribute__ ((cleanup (build_clear))) build_t b = { .g = gl, .context_fd = -1 };
  hb_autostore hb_store_t *s = NULL;
  hb_dockerfile_t df = { 0 };
  husk_autofree char *file = NULL;
  husk_autofree char *text = NULL;
  husk_autofree char *digest = NULL;
  husk_autofree char *ref = NULL;
  husk_autostrv char **build_args = NULL;
  const char *tag = NULL;
  int c, ret;

  opterr = 0;
  while ((c = getopt_long (argc, argv, "+f:t:", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        free (file);
        file = xstrdup (optarg);
        break;
      case 't':
        tag = optarg;
        break;
      case O_BUILD_ARG:
        if (strchr (optarg, '=') == NULL)
          {
            const char *v = getenv (optarg); /* docker: --build-arg K takes K from the environment */
            husk_autofree char *kv = xstrdup_printf ("%s=%s", optarg, v ? v : "");
            husk_strv_add (&build_args, kv);
          }
        else
          husk_strv_add (&build_args, optarg);
        break;
      case O_NO_CACHE:
        b.no_cache = true;
        break;
      default:
        return husk_error_make (err, 0, "build: unknown option `%s`", argv[optind - 1]);
      }
  if (argc - optind > 1)
    return husk_error_make (err, 0, "build: expected at most one CONTEXT directory");
  b.context = optind < argc ? argv[optind] : ".";
  if (file == NULL)
    file = xstrdup_printf ("%s/config.txt", b.context);
  if (tag)
    {
      ref = hb_ref_normalize (tag);
      if (ref == NULL)
        return husk_error_make (err, 0, "build: invalid tag `%s`", tag);
    }

  if (husk_read_file (file, &text, NULL, err) < 0)
    return -1;
  if (hb_dockerfile_parse (text, file, &df, err) < 0)
    return -1;
  {
    size_t pre = 0;
    while (pre < df.len && df.instrs[pre].kind == HB_INSTR_ARG)
      pre++;
    b.n_steps = (int) (df.len - pre);
  }

  b.context_fd = open (b.context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (b.context_fd < 0)
    {
      hb_dockerfile_clear (&df);
      return husk_error_make (err, errno, "build: cannot open the context `%s`", b.context);
    }
  b.build_args = build_args;
  b.build_arg_used = xmalloc0 ((husk_strv_len (build_args) + 1) * sizeof (bool));

  if (geteuid () != 0)
    {
      hb_dockerfile_clear (&df);
      return husk_error_make (err, EPERM, "build needs root (overlay mounts, husk run)");
    }
  /* Mounts of the build steps stay private to this process. */
  if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    {
      hb_dockerfile_clear (&df);
      return husk_error_make (err, errno, "build: cannot make a private mount namespace");
    }
  if (hb_store_open (gl->store_dir, &s, err) < 0 || hb_store_lock (s, false, err) < 0)
    {
      hb_dockerfile_clear (&df);
      return -1;
    }
  b.s = s;

  ret = build_steps (&b, &df, file, err);
  hb_dockerfile_clear (&df);
  if (ret < 0)
    return -1;
  for (size_t i = 0; build_args && build_args[i]; i++)
    if (!b.build_arg_used[i])
      say (&b, "[Warning] build-arg %.*s was not consumed\n", (int) strcspn (build_args[i], "="), build_args[i]);

  if (hb_image_write (s, b.cfg, b.layers, b.n_layers, ref, &digest, err) < 0)
    return -1;
  say (&b, "COMMIT %s\n", ref ? ref : "(untagged)");
  printf ("%s\n", digest);
  return 0;
}
