/* husk-build: declarations shared by the tool's files (subcommands).
 *
 * main.c parses the global options and dispatches `husk-build [--store DIR]
 * COMMAND ARGS...` to one hb_cmd_* function.  A command gets argv with
 * argv[0] = the command name (parse it with getopt_long; optind is reset by
 * main), opens the store itself with the lock it needs, and returns:
 *   >= 0  the exit code (0 on success; `run` returns the container's)
 *   <  0  failure, *err set; main prints "husk-build: <msg>" and exits 1 (125
 *         for `run`, like podman).
 * Commands print results on stdout, progress on stderr, and never print
 * errors themselves.
 *
 * Append-only file: both halves of the tool add their declarations here. */
#ifndef HB_BUILD_H
#define HB_BUILD_H

#include <stdbool.h>
#include "husk/error.h"
#include "husk/utils.h"
#include "store.h"
#include "image.h"

typedef struct
{
  const char *store_dir; /* --store, default HB_DEFAULT_STORE or $HUSK_BUILD_STORE */
  bool debug;            /* --debug: extra diagnostics on stderr */
  bool quiet;            /* -q/--quiet: no progress output */
} hb_globals_t;

typedef int (*hb_command_fn) (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);

/* ---- store and transport half (pull.c push.c archive-io.c main.c) ----- */
int hb_cmd_pull (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_push (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_images (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_inspect (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_rmi (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_tag (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_load (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_save (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);

/* Pull REF into an open store (used by `pull`, and by `build`/`run` when an
 * image is missing).  opts may be NULL.  *manifest_digest may be NULL. */
typedef struct
{
  bool insecure;         /* plain HTTP / no TLS verification for any registry */
  const char *creds;     /* "user:pass" */
  const char *platform;  /* "os/arch[/variant]", NULL = host */
  const char *authfile;  /* docker-style auth.json, NULL = the usual places */
  bool quiet;
} hb_pull_opts_t;
int hb_pull_image (hb_store_t *s, const char *ref, const hb_pull_opts_t *opts, char **manifest_digest,
                   husk_error_t *err);

/* ---- image half (bundle.c build.c containers.c): implement these ------
 * main.c references them weakly: a command whose function is not linked in
 * answers "command `X` is not available in this build". */
int hb_cmd_bundle (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_build (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_run (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_ps (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_rm (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);
int hb_cmd_logs (const hb_globals_t *g, int argc, char **argv, husk_error_t *err);


/* ---- unpack.c: layers -> directories ----------------------------------- */

/* How whiteouts are handled: APPLY deletes from the lower layers already in
 * the directory (a flat rootfs); OVERLAY writes them in overlayfs form (char
 * 0:0 devices, trusted.overlay.opaque=y) into an empty directory, for a
 * layer used as an overlay lowerdir. */
typedef enum
{
  HB_UNPACK_APPLY,
  HB_UNPACK_OVERLAY,
} hb_unpack_mode_t;

/* Extract one layer (tar, tar+gzip or tar+zstd, detected from the data) read
 * from blob_fd onto the directory root_fd.  Every path is resolved inside
 * root_fd: `..` escaping the root is refused, absolute names are taken as
 * relative to it, symlinks are never followed out.  what names the layer in
 * errors. */
int hb_unpack_layer_fd (int root_fd, int blob_fd, const char *what, hb_unpack_mode_t mode, husk_error_t *err);
/* Unpack every layer of m in order into dest (which must not exist): the
 * work happens in a sibling temp dir renamed to dest at the end, so a
 * failure leaves nothing behind. */
int hb_unpack_image (hb_store_t *s, const hb_manifest_t *m, const char *dest, husk_error_t *err);
/* The unpacked (overlay form) copies of layers[0..n) (bottom first), cached
 * under <store>/layers/<hex of diff_id>; each is unpacked from its blob when
 * missing (a hardlink to a file of a lower layer becomes a copy).  *paths is
 * a NULL-terminated vector in the same order. */
int hb_layer_dirs (hb_store_t *s, const hb_desc_t *layers, char *const *diff_ids, size_t n, char ***paths,
                   husk_error_t *err);
/* Remove name under dirfd recursively, never following symlinks. */
int hb_rm_rf_at (int dirfd, const char *name, husk_error_t *err);

/* ---- bundle.c: OCI runtime bundles from images ------------------------- */

typedef struct
{
  char **args;            /* process.args override (NULL: Entrypoint + Cmd) */
  char **extra_env;       /* "K=V" appended (replacing) after the image's */
  const char *hostname;   /* NULL: "husk" */
  bool host_network;      /* no network namespace */
  bool readonly_root;     /* root.readonly true (default false, like docker) */
} hb_bundle_opts_t;

/* Resolve an image USER ("uid[:gid]", "name[:group]") against the rootfs's
 * /etc/passwd and /etc/group (read inside rootfs_fd).  Missing user names are
 * an error; additional groups come from /etc/group membership. */
int hb_resolve_user (int rootfs_fd, const char *user, uid_t *uid, gid_t *gid, gid_t **groups, size_t *n_groups,
                     husk_error_t *err);
/* config.json text for an image config over the rootfs at rootfs_dir
 * (husk's default spec, changed for the image). */
int hb_bundle_config_json (const hb_image_config_t *cfg, const char *rootfs_dir, const hb_bundle_opts_t *o,
                           char **json, husk_error_t *err);
/* Unpack image into dir/rootfs and write dir/config.json. */
int hb_bundle_write (hb_store_t *s, const hb_image_t *img, const char *dir, const hb_bundle_opts_t *o,
                     husk_error_t *err);
/* The husk binary: $HUSK, else next to our executable, else "husk" in PATH. */
char *hb_husk_path (void);

/* ---- dockerfile.c: config.txt ------------------------------------------ */

typedef enum
{
  HB_INSTR_FROM,
  HB_INSTR_ENV,
  HB_INSTR_RUN,
  HB_INSTR_CMD,
  HB_INSTR_EXPOSE,
  HB_INSTR_WORKDIR,
  HB_INSTR_COPY,
  HB_INSTR_ENTRYPOINT,
  HB_INSTR_USER,
  HB_INSTR_LABEL,
  HB_INSTR_ARG,
  HB_INSTR_VOLUME,
  HB_INSTR_STOPSIGNAL,
  HB_INSTR_MAINTAINER,
  HB_INSTR_ADD,
} hb_instr_kind_t;

typedef struct
{
  hb_instr_kind_t kind;
  int line;          /* first line of the instruction (1-based) */
  char *keyword;     /* as written, upper-cased ("RUN") */
  char *text;        /* the whole instruction, continuations joined */
  char *rest;        /* what follows the keyword and its --flags, trimmed */
  char *chown;       /* COPY --chown=, NULL when absent */
  char *from;        /* COPY --from= (a stage name or index, or an image), NULL when absent */
  char **exec;       /* RUN/CMD/ENTRYPOINT/COPY JSON-array form, NULL-terminated; NULL: shell form */
} hb_instr_t;

typedef struct
{
  hb_instr_t *instrs;
  size_t len;
} hb_dockerfile_t;

/* Parse config.txt text; errors name the line: `config.txt:7: unknown
 * instruction "RUNN"`.  filename is used in messages only. */
int hb_dockerfile_parse (const char *text, const char *filename, hb_dockerfile_t *out, husk_error_t *err);
void hb_dockerfile_clear (hb_dockerfile_t *df);
/* FROM IMAGE AS NAME: NAME, lower-cased; NULL without AS (or not a FROM). */
const char *hb_dockerfile_stage_name (const hb_instr_t *in);
/* Split s into words the way the builder does: quotes ('' and "") and
 * backslash escapes are removed; $VAR, ${VAR}, ${VAR:-word} and ${VAR:+word}
 * are replaced from env ("K=V" vector, may be NULL) unless expand is false or
 * inside single quotes.  With one_word the whole text is one word (WORKDIR,
 * USER).  *used (may be NULL) gets the names referenced (NULL-terminated). */
int hb_dockerfile_words (const char *s, char *const *env, bool expand, bool one_word, char ***words, char ***used,
                         husk_error_t *err);

/* ENV and LABEL: the KEY=VALUE pairs (or the legacy `KEY value`) after
 * substitution from env.  Returns the number of pairs. */
int hb_dockerfile_pairs (const hb_instr_t *in, char *const *env, char ***keys, char ***values, husk_error_t *err);
/* "80", "80/tcp", "1000-1010/udp"; err may be NULL. */
int hb_dockerfile_check_port (const char *port, husk_error_t *err);

/* ---- build.c, containers.c --------------------------------------------- */

/* Make a layer blob from an overlay upperdir (whiteouts -> .wh. entries),
 * gzip it and put it in the store; fills layer (media type, digest, size)
 * and *diff_id. */
int hb_layer_from_dir (hb_store_t *s, const char *dir, hb_desc_t *layer, char **diff_id, husk_error_t *err);

#endif
