/* husk-build: the one-shot "run an image" path — run, ps, rm, logs.
 *
 * A container is a bundle in <store>/containers/<name>/ (rootfs/,
 * config.json), a container.json with what `ps` shows, and, when detached,
 * container.log with the process's stdout and stderr.  husk runs it with its
 * state under <store>/husk (`husk --root <store>/husk run ...`), and `ps`
 * asks `husk state` for the live status.
 *
 * Networking: --network none (the default: a new network namespace with lo)
 * and host (no network namespace) work; -p and other networks are refused
 * until the networking issue adds them. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include "internal.h"
#include "build.h"

typedef struct
{
  char *name, *image, *image_digest, *created, *network;
  char **ports;
  bool detached, auto_remove;
  bool has_exit;
  int exit_code;
} meta_t;

static void
meta_clear (meta_t *m)
{
  free (m->name);
  free (m->image);
  free (m->image_digest);
  free (m->created);
  free (m->network);
  husk_strv_free (m->ports);
  memset (m, 0, sizeof *m);
}

static void
gen_meta (yajl_gen g, const meta_t *m)
{
  husk_json_kv_str (g, "name", m->name);
  husk_json_kv_str (g, "image", m->image);
  husk_json_kv_str (g, "imageDigest", m->image_digest);
  husk_json_kv_str (g, "created", m->created);
  husk_json_kv_str (g, "network", m->network);
  husk_json_str (g, "ports");
  yajl_gen_array_open (g);
  for (size_t i = 0; m->ports && m->ports[i]; i++)
    husk_json_str (g, m->ports[i]);
  yajl_gen_array_close (g);
  husk_json_kv_bool (g, "detached", m->detached);
  husk_json_kv_bool (g, "autoRemove", m->auto_remove);
  if (m->has_exit)
    husk_json_kv_int (g, "exitCode", m->exit_code);
}

static int
meta_write (const char *dir, const meta_t *m, husk_error_t *err)
{
  husk_autofree char *path = xstrdup_printf ("%s/container.json", dir);
  husk_autofree char *json = NULL;
  yajl_gen g = husk_json_gen_new (false, NULL);
  yajl_gen_config (g, yajl_gen_escape_solidus, 0);
  yajl_gen_map_open (g);
  gen_meta (g, m);
  yajl_gen_map_close (g);
  json = husk_json_gen_finish (g);
  return husk_write_file_atomic (path, json, strlen (json), 0644, err);
}

static int
meta_read (const char *dir, meta_t *m, husk_error_t *err)
{
  husk_autofree char *path = xstrdup_printf ("%s/container.json", dir);
  husk_autofree char *text = NULL;
  yajl_val v = NULL, ports;
  if (husk_read_file (path, &text, NULL, err) < 0 || hb_json_parse (text, path, &v, err) < 0)
    return -1;
  memset (m, 0, sizeof *m);
#define S(k) (hb_json_get_str (v, k) ? xstrdup (hb_json_get_str (v, k)) : xstrdup (""))
  m->name = S ("name");
  m->image = S ("image");
  m->image_digest = S ("imageDigest");
  m->created = S ("created");
  m->network = S ("network");
#undef S
  m->detached = YAJL_IS_TRUE (hb_json_get (v, "detached"));
  m->auto_remove = YAJL_IS_TRUE (hb_json_get (v, "autoRemove"));
  m->has_exit = hb_json_get (v, "exitCode") != NULL;
  m->exit_code = (int) hb_json_get_int (v, "exitCode", 0);
  ports = hb_json_get (v, "ports");
  m->ports = xmalloc0 (sizeof (char *) * ((ports && YAJL_IS_ARRAY (ports) ? ports->u.array.len : 0) + 1));
  for (size_t i = 0, n = 0; ports && YAJL_IS_ARRAY (ports) && i < ports->u.array.len; i++)
    if (YAJL_IS_STRING (ports->u.array.values[i]))
      m->ports[n++] = xstrdup (ports->u.array.values[i]->u.string);
  yajl_tree_free (v);
  return 0;
}

/* ---- husk as a subprocess ---------------------------------------------- */

/* Run `husk --root <root> ARGS...`.  out (may be NULL) captures stdout;
 * stdout_fd/stderr_fd >= 0 redirect them.  Returns the exit status. */
static int
husk_exec (const char *root, char *const *args, char **out, int stdout_fd, int stderr_fd, bool ignore_int,
           husk_error_t *err)
{
  husk_autofree char *husk = hb_husk_path ();
  size_t n = husk_strv_len (args);
  husk_autofree char **argv = xmalloc0 ((n + 4) * sizeof *argv);
  int pipefd[2] = { -1, -1 };
  struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_term;
  pid_t pid;
  int status;

  argv[0] = husk;
  argv[1] = (char *) "--root";
  argv[2] = (char *) root;
  memcpy (argv + 3, args, n * sizeof *argv);
  if (out && pipe2 (pipefd, O_CLOEXEC) < 0)
    return husk_error_make (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    return husk_error_make (err, errno, "fork");
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (null >= 0 && (stdout_fd >= 0 || out))
        dup2 (null, 0);
      if (out)
        dup2 (pipefd[1], 1);
      else if (stdout_fd >= 0)
        dup2 (stdout_fd, 1);
      if (stderr_fd >= 0)
        dup2 (stderr_fd, 2);
      execvp (husk, argv);
      fprintf (stderr, "husk-build: cannot run `%s`: %s\n", husk, strerror (errno));
      _exit (127);
    }
  if (ignore_int)
    {
      /* The terminal's ^C reaches husk (same process group); we wait for it. */
      sigaction (SIGINT, &ign, &old_int);
      sigaction (SIGTERM, &ign, &old_term);
    }
  if (out)
    {
      close (pipefd[1]);
      if (husk_read_fd (pipefd[0], "husk output", out, NULL, err) < 0)
        *out = xstrdup ("");
      close (pipefd[0]);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return husk_error_make (err, errno, "waitpid");
  if (ignore_int)
    {
      sigaction (SIGINT, &old_int, NULL);
      sigaction (SIGTERM, &old_term, NULL);
    }
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return WEXITSTATUS (status);
}

typedef struct
{
  char *status; /* created, running, paused, stopped; "exited" when husk has no state */
  long pid;
} live_t;

static void
live_status (const char *root, const char *name, live_t *l)
{
  husk_auto_error husk_error_t e2 = NULL;
  husk_autofree char *out = NULL;
  char *args[] = { (char *) "state", (char *) name, NULL };
  int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  int rc = husk_exec (root, args, &out, -1, null, false, &e2);
  yajl_val v = NULL;
  if (null >= 0)
    close (null);
  l->status = NULL;
  l->pid = 0;
  if (rc == 0 && out && hb_json_parse (out, "husk state", &v, &e2) == 0)
    {
      const char *st = hb_json_get_str (v, "status");
      l->status = xstrdup (st ? st : "unknown");
      l->pid = (long) hb_json_get_int (v, "pid", 0);
      yajl_tree_free (v);
    }
  if (l->status == NULL)
    l->status = xstrdup ("exited");
  if (strcmp (l->status, "stopped") == 0 || strcmp (l->status, "exited") == 0)
    l->pid = 0;
}

static bool
valid_name (const char *s)
{
  if (!isalnum ((unsigned char) *s) || strlen (s) > 128)
    return false;
  for (; *s; s++)
    if (!isalnum ((unsigned char) *s) && *s != '_' && *s != '.' && *s != '-')
      return false;
  return true;
}

typedef struct
{
  hb_store_t *s;
  char *root;       /* <store>/husk */
  char *containers; /* <store>/containers */
} ctx_t;

static void
ctx_clear (ctx_t *c)
{
  hb_store_close (c->s);
  free (c->root);
  free (c->containers);
}

static int
ctx_open (const hb_globals_t *gl, ctx_t *c, husk_error_t *err)
{
  if (hb_store_open (gl->store_dir, &c->s, err) < 0 || hb_store_subdir (c->s, "husk", true, &c->root, err) < 0
      || hb_store_subdir (c->s, "containers", true, &c->containers, err) < 0)
    return -1;
  return 0;
}

/* Remove a container: husk state (killed first when force) and its directory. */
static int
remove_container (ctx_t *c, const char *name, bool force, husk_error_t *err)
{
  husk_autofree char *dir = xstrdup_printf ("%s/%s", c->containers, name);
  live_t l;
  struct stat st;
  int null = -1;

  if (!valid_name (name) || lstat (dir, &st) < 0)
    return husk_error_make (err, 0, "container `%s` does not exist", name);
  live_status (c->root, name, &l);
  if (strcmp (l.status, "exited") != 0)
    {
      if (strcmp (l.status, "stopped") != 0 && !force)
        {
          husk_error_make (err, 0, "container `%s` is %s: stop it first or use rm -f", name, l.status);
          free (l.status);
          return -1;
        }
      {
        char *args[] = { (char *) "delete", (char *) "-f", (char *) name, NULL };
        husk_auto_error husk_error_t e2 = NULL;
        null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
        husk_exec (c->root, args, NULL, null, null, false, &e2);
        if (null >= 0)
          close (null);
      }
    }
  free (l.status);
  if (husk_rm_rf (dir, err) < 0)
    return husk_error_wrap (err, "remove container `%s`", name);
  return 0;
}

/* ---- run ----------------------------------------------------------------- */

int
hb_cmd_run (const hb_globals_t *gl, int argc, char **argv, husk_error_t *err)
{
  enum
  {
    O_RM = 1000,
    O_NETWORK,
  };
  static const struct option opts[] = {
    { "rm", no_argument, 0, O_RM },
    { "detach", no_argument, 0, 'd' },
    { "name", required_argument, 0, 'n' },
    { "env", required_argument, 0, 'e' },
    { "publish", required_argument, 0, 'p' },
    { "network", required_argument, 0, O_NETWORK },
    { "net", required_argument, 0, O_NETWORK },
    { 0, 0, 0, 0 },
  };
  __attribute__ ((cleanup (ctx_clear))) ctx_t c = { 0 };
  __attribute__ ((cleanup (meta_clear))) meta_t m = { 0 };
  hb_autoimage hb_image_t *img = NULL;
  husk_autostrv char **env = NULL;
  husk_autostrv char **ports = NULL;
  husk_autostrv char **args = NULL;
  husk_autofree char *dir = NULL;
  husk_autofree char *name = NULL;
  hb_bundle_opts_t o = { 0 };
  const char *network = "none";
  bool detach = false, rm = false;
  size_t n_env = 0, n_ports = 0;
  int ch, rc;

  opterr = 0;
  while ((ch = getopt_long (argc, argv, "+dn:e:p:", opts, NULL)) != -1)
    switch (ch)
      {
      case O_RM:
        rm = true;
        break;
      case 'd':
        detach = true;
        break;
      case 'n':
        free (name);
        name = xstrdup (optarg);
        break;
      case 'e':
        env = xrealloc (env, (n_env + 2) * sizeof *env);
        if (strchr (optarg, '='))
          env[n_env++] = xstrdup (optarg);
        else
          {
            const char *v = getenv (optarg); /* -e K takes K from our environment */
            env[n_env++] = xstrdup_printf ("%s=%s", optarg, v ? v : "");
          }
        env[n_env] = NULL;
        break;
      case 'p':
        ports = xrealloc (ports, (n_ports + 2) * sizeof *ports);
        ports[n_ports++] = xstrdup (optarg);
        ports[n_ports] = NULL;
        break;
      case O_NETWORK:
        network = optarg;
        break;
      default:
        return husk_error_make (err, 0, "run: unknown option `%s`", argv[optind - 1]);
      }
  if (optind >= argc)
    return husk_error_make (err, 0, "run: an image is required (\"husk-build run [options] IMAGE [CMD...]\")");
  if (strcmp (network, "none") != 0 && strcmp (network, "host") != 0)
    return husk_error_make (err, 0, "run: --network %s: networking is not supported yet (only `none` and `host`)",
                            network);
  if (n_ports > 0)
    return husk_error_make (err, 0, "run: -p %s: networking is not supported yet (port publishing needs it)", ports[0]);
  if (name == NULL)
    {
      unsigned char r[4] = { 0 };
      if (getrandom (r, sizeof r, 0) < 0)
        memset (r, (int) getpid (), sizeof r);
      name = xstrdup_printf ("hb-%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
    }
  if (!valid_name (name))
    return husk_error_make (err, 0, "run: invalid container name `%s` (letters, digits, `_.-`)", name);

  if (ctx_open (gl, &c, err) < 0 || hb_store_lock (c.s, false, err) < 0)
    return -1;
  if (hb_image_open (c.s, argv[optind], &img, err) < 0)
    return -1;
  dir = xstrdup_printf ("%s/%s", c.containers, name);
  if (mkdir (dir, 0711) < 0)
    {
      if (errno == EEXIST)
        return husk_error_make (err, 0, "run: the container name `%s` is already in use", name);
      return husk_error_make (err, errno, "run: cannot create `%s`", dir);
    }

  if (optind + 1 < argc)
    {
      /* CMD... replaces the image's Cmd; the Entrypoint stays. */
      size_t n = 0;
      args = xmalloc0 ((img->config->entrypoint_len + (size_t) (argc - optind) + 1) * sizeof *args);
      for (size_t i = 0; i < img->config->entrypoint_len; i++)
        args[n++] = xstrdup (img->config->entrypoint[i]);
      for (int i = optind + 1; i < argc; i++)
        args[n++] = xstrdup (argv[i]);
    }
  o.args = args;
  o.extra_env = env;
  o.hostname = strlen (name) <= 63 ? name : NULL;
  o.host_network = strcmp (network, "host") == 0;
  if (hb_bundle_write (c.s, img, dir, &o, err) < 0)
    goto fail;
  hb_store_unlock (c.s); /* the container has its own copy now */

  m.name = xstrdup (name);
  m.image = xstrdup (argv[optind]);
  m.image_digest = xstrdup (img->manifest_digest);
  m.created = husk_now_rfc3339nano ();
  m.network = xstrdup (network);
  m.ports = xmalloc0 (sizeof (char *));
  m.detached = detach;
  m.auto_remove = rm;
  if (meta_write (dir, &m, err) < 0)
    goto fail;

  if (detach)
    {
      husk_autofree char *log = xstrdup_printf ("%s/container.log", dir);
      husk_autoclose int logfd = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
      char *hargs[] = { (char *) "run", (char *) "-d", (char *) "--bundle", dir, name, NULL };
      if (logfd < 0)
        {
          husk_error_make (err, errno, "run: cannot create `%s`", log);
          goto fail;
        }
      rc = husk_exec (c.root, hargs, NULL, logfd, logfd, false, err);
      if (rc < 0)
        goto fail;
      if (rc != 0)
        {
          husk_autofree char *text = NULL;
          husk_auto_error husk_error_t e2 = NULL;
          husk_read_file (log, &text, NULL, &e2);
          husk_error_make (err, 0, "run: husk failed to start the container (exit %d): %s", rc,
                           text && *text ? text : "no output");
          goto fail;
        }
      printf ("%s\n", name);
      return 0;
    }

  {
    char *hargs[] = { (char *) "run", (char *) "--bundle", dir, name, NULL };
    rc = husk_exec (c.root, hargs, NULL, -1, -1, true, err);
    if (rc < 0)
      goto fail;
  }
  if (rm)
    {
      husk_auto_error husk_error_t e2 = NULL;
      remove_container (&c, name, true, &e2);
    }
  else
    {
      husk_auto_error husk_error_t e2 = NULL;
      m.has_exit = true;
      m.exit_code = rc;
      meta_write (dir, &m, &e2);
    }
  return rc;

fail:
  {
    husk_auto_error husk_error_t e2 = NULL;
    char *dargs[] = { (char *) "delete", (char *) "-f", name, NULL };
    int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
    husk_exec (c.root, dargs, NULL, null, null, false, &e2);
    if (null >= 0)
      close (null);
    husk_rm_rf (dir, &e2);
  }
  return -1;
}

/* ---- ps, rm, logs ------------------------------------------------------ */

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Container names, sorted. */
static char **
list_names (ctx_t *c)
{
  husk_autoclosedir DIR *d = opendir (c->containers);
  struct dirent *de;
  char **v = xmalloc0 (sizeof *v);
  size_t n = 0;
  while (d && (de = readdir (d)))
    if (de->d_name[0] != '.' && valid_name (de->d_name))
      {
        v = xrealloc (v, (n + 2) * sizeof *v);
        v[n++] = xstrdup (de->d_name);
        v[n] = NULL;
      }
  qsort (v, n, sizeof *v, cmp_str);
  return v;
}

int
hb_cmd_ps (const hb_globals_t *gl, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[]
      = { { "format", required_argument, 0, 'f' }, { "all", no_argument, 0, 'a' }, { 0, 0, 0, 0 } };
  __attribute__ ((cleanup (ctx_clear))) ctx_t c = { 0 };
  husk_autostrv char **names = NULL;
  bool json = false;
  yajl_gen g = NULL;
  int ch;

  opterr = 0;
  while ((ch = getopt_long (argc, argv, "+a", opts, NULL)) != -1)
    switch (ch)
      {
      case 'f':
        if (strcmp (optarg, "json") == 0)
          json = true;
        else if (strcmp (optarg, "table") != 0)
          return husk_error_make (err, 0, "ps: unknown format `%s` (table or json)", optarg);
        break;
      case 'a':
        break; /* stopped containers are always listed */
      default:
        return husk_error_make (err, 0, "ps: unknown option `%s`", argv[optind - 1]);
      }
  if (ctx_open (gl, &c, err) < 0)
    return -1;
  names = list_names (&c);
  if (json)
    {
      g = husk_json_gen_new (true, "  ");
      yajl_gen_config (g, yajl_gen_escape_solidus, 0);
      yajl_gen_array_open (g);
    }
  else
    printf ("%-20s %-30s %-12s %-8s %-15s %s\n", "NAME", "IMAGE", "STATUS", "PID", "IP", "PORTS");
  for (size_t i = 0; names[i]; i++)
    {
      husk_auto_error husk_error_t e2 = NULL;
      husk_autofree char *dir = xstrdup_printf ("%s/%s", c.containers, names[i]);
      husk_autofree char *status = NULL;
      husk_autofree char *portstr = NULL;
      meta_t m;
      live_t l;
      if (meta_read (dir, &m, &e2) < 0)
        continue; /* being created or removed */
      live_status (c.root, names[i], &l);
      if (m.detached && m.auto_remove && (strcmp (l.status, "stopped") == 0 || strcmp (l.status, "exited") == 0))
        {
          /* --rm -d: nobody waited for it; remove it now that it is done. */
          husk_auto_error husk_error_t e3 = NULL;
          remove_container (&c, names[i], true, &e3);
          free (l.status);
          meta_clear (&m);
          continue;
        }
      status = strcmp (l.status, "exited") == 0 && m.has_exit ? xstrdup_printf ("exited (%d)", m.exit_code)
                                                              : xstrdup (l.status);
      portstr = xmalloc0 (1);
      for (size_t j = 0; m.ports && m.ports[j]; j++)
        {
          char *t = xstrdup_printf ("%s%s%s", portstr, j ? "," : "", m.ports[j]);
          free (portstr);
          portstr = t;
        }
      if (json)
        {
          yajl_gen_map_open (g);
          gen_meta (g, &m);
          husk_json_kv_str (g, "status", l.status);
          husk_json_kv_int (g, "pid", l.pid);
          husk_json_kv_str (g, "ip", "");
          yajl_gen_map_close (g);
        }
      else
        {
          char pid[24] = "-";
          if (l.pid > 0)
            snprintf (pid, sizeof pid, "%ld", l.pid);
          printf ("%-20s %-30s %-12s %-8s %-15s %s\n", m.name, m.image, status, pid,
                  strcmp (m.network, "host") == 0 ? "(host)" : "-", *portstr ? portstr : "-");
        }
      free (l.status);
      meta_clear (&m);
    }
  if (json)
    {
      husk_autofree char *text = NULL;
      yajl_gen_array_close (g);
      text = husk_json_gen_finish (g);
      printf ("%s\n", text);
    }
  return 0;
}

int
hb_cmd_rm (const hb_globals_t *gl, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = { { "force", no_argument, 0, 'f' }, { 0, 0, 0, 0 } };
  __attribute__ ((cleanup (ctx_clear))) ctx_t c = { 0 };
  bool force = false;
  int ch;

  opterr = 0;
  while ((ch = getopt_long (argc, argv, "+f", opts, NULL)) != -1)
    {
      if (ch != 'f')
        return husk_error_make (err, 0, "rm: unknown option `%s`", argv[optind - 1]);
      force = true;
    }
  if (optind >= argc)
    return husk_error_make (err, 0, "rm: a container name is required (\"husk-build rm [-f] NAME...\")");
  if (ctx_open (gl, &c, err) < 0)
    return -1;
  for (int i = optind; i < argc; i++)
    {
      if (remove_container (&c, argv[i], force, err) < 0)
        return -1;
      printf ("%s\n", argv[i]);
    }
  return 0;
}

int
hb_cmd_logs (const hb_globals_t *gl, int argc, char **argv, husk_error_t *err)
{
  __attribute__ ((cleanup (ctx_clear))) ctx_t c = { 0 };
  husk_autofree char *dir = NULL;
  husk_autofree char *log = NULL;
  husk_autoclose int fd = -1;
  struct stat st;
  char buf[65536];
  ssize_t n;

  optind = 1;
  if (argc - optind != 1)
    return husk_error_make (err, 0, "logs: expected one container name (\"husk-build logs NAME\")");
  if (ctx_open (gl, &c, err) < 0)
    return -1;
  if (!valid_name (argv[optind]))
    return husk_error_make (err, 0, "container `%s` does not exist", argv[optind]);
  dir = xstrdup_printf ("%s/%s", c.containers, argv[optind]);
  if (stat (dir, &st) < 0)
    return husk_error_make (err, 0, "container `%s` does not exist", argv[optind]);
  log = xstrdup_printf ("%s/container.log", dir);
  fd = open (log, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return husk_error_make (err, 0, "container `%s` has no logs: it ran in the foreground (logs are kept for -d)",
                                argv[optind]);
      return husk_error_make (err, errno, "cannot open `%s`", log);
    }
  fflush (stdout);
  while ((n = read (fd, buf, sizeof buf)) > 0)
    if (husk_write_all (1, buf, (size_t) n) < 0)
      return husk_error_make (err, errno, "cannot write the logs");
  if (n < 0)
    return husk_error_make (err, errno, "cannot read `%s`", log);
  return 0;
}
