/* husk-build: a registry HTTP API v2 client (libcurl) and transfer progress.
 *
 * registry.c  requests with Bearer/Basic auth, transient-failure retries,
 *             manifests, parallel verified blob downloads, blob uploads
 * progress.c  per-blob progress: bars on a TTY, plain lines on a pipe
 *
 * Error messages end in the HTTP status when there is one:
 *   "manifest unknown (404)", "unauthorized: authentication required (401)",
 *   "internal server error (500)", "connection to 127.0.0.1:5000 failed:
 *   Empty reply from server". */
#ifndef HB_REGISTRY_H
#define HB_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "husk/error.h"
#include "image.h"

/* ---- progress.c -------------------------------------------------------- */

typedef struct hb_progress hb_progress_t;
/* Progress on out (stderr): bars when out is a TTY, lines otherwise, nothing
 * when quiet.  NULL-safe: every function accepts p == NULL. */
hb_progress_t *hb_progress_new (FILE *out, bool quiet);
void hb_progress_free (hb_progress_t *p);
/* A new item ("Copying blob sha256:0123456789ab"); total -1 when unknown. */
int hb_progress_add (hb_progress_t *p, const char *verb, const char *digest, int64_t total);
void hb_progress_update (hb_progress_t *p, int item, int64_t done);
/* Finished item: status "done", "skipped: already exists", "failed". */
void hb_progress_finish (hb_progress_t *p, int item, const char *status);
/* A message line ("Writing manifest to image destination"). */
void hb_progress_line (hb_progress_t *p, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/* ---- registry.c -------------------------------------------------------- */

typedef struct hb_registry hb_registry_t;

typedef struct
{
  bool insecure;        /* plain HTTP / unverified TLS for a non-loopback registry */
  const char *creds;    /* "user:pass"; overrides the auth file */
  const char *authfile; /* NULL: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
                           ~/.config/containers/auth.json, $DOCKER_CONFIG/config.json,
                           ~/.docker/config.json */
  hb_progress_t *progress;
  int parallel; /* concurrent blob transfers, 0 = default (6) */
} hb_registry_opts_t;

/* A client for ref's registry (loopback registries use plain HTTP). */
int hb_registry_new (const hb_ref_t *ref, const hb_registry_opts_t *o, hb_registry_t **out, husk_error_t *err);
void hb_registry_free (hb_registry_t *r);

/* GET /v2/<repo>/manifests/<reference> accepting OCI and Docker manifests
 * and indexes.  *body is the exact bytes (NUL-terminated), *media_type the
 * Content-Type (or sniffed), *digest their sha256; when reference is a
 * digest the body must hash to it ("manifest digest mismatch"). */
int hb_registry_get_manifest (hb_registry_t *r, const char *repo, const char *reference, char **body, size_t *len,
                              char **media_type, char **digest, husk_error_t *err);

/* A blob download: written to fd (a fresh empty file), sha256 and size
 * verified while it streams. */
typedef struct
{
  const char *digest;
  int64_t size; /* expected, -1 unknown */
  int fd;
  const char *verb; /* progress label: "Copying blob", "Copying config" */
  /* Called (may be NULL) as soon as this blob is complete and verified,
   * while the others still download. */
  void (*on_done) (void *arg);
  void *arg;
} hb_blob_fetch_t;
/* Download blobs in parallel (curl multi) with retries; on the first failure
 * the rest are stopped and the error names the blob.  The caller owns the
 * fds and removes the files on failure. */
int hb_registry_fetch_blobs (hb_registry_t *r, const char *repo, hb_blob_fetch_t *jobs, size_t n, husk_error_t *err);

/* HEAD /v2/<repo>/blobs/<digest>: *exists true on 200, false on 404. */
int hb_registry_blob_exists (hb_registry_t *r, const char *repo, const char *digest, bool *exists, husk_error_t *err);
/* Monolithic upload of a file: POST /blobs/uploads/, then PUT <location>?digest=. */
int hb_registry_upload_blob (hb_registry_t *r, const char *repo, const char *digest, const char *path, int64_t size,
                             int progress_item, husk_error_t *err);
/* PUT /v2/<repo>/manifests/<reference>. */
int hb_registry_put_manifest (hb_registry_t *r, const char *repo, const char *reference, const char *body, size_t len,
                              const char *media_type, husk_error_t *err);

#endif
