/* husk-build: the image store — an OCI image layout on disk.
 *
 * Layout of <dir> (default /var/lib/husk, --store DIR):
 *
 *   oci-layout              {"imageLayoutVersion":"1.0.0"}
 *   index.json              one manifest descriptor per ref; the ref is the
 *                           annotation org.opencontainers.image.ref.name and
 *                           holds a normalised reference
 *                           ("docker.io/library/busybox:latest").  Untagged
 *                           images (build cache, `rmi` of a tag that other
 *                           images share) have no ref name.
 *   blobs/sha256/<hex>      content-addressed blobs (layers, configs,
 *                           manifests); a layer shared by images is stored once
 *   tmp/                    downloads and writes in progress; renamed into
 *                           blobs/ only after their digest is verified
 *   lock                    flock: shared by every command that reads or adds
 *                           content, exclusive for garbage collection
 *   index.lock              flock: serialises index.json read-modify-write
 *
 * skopeo (`oci:DIR:REF`) and umoci (`--image DIR:REF`) read it as is.  Other
 * top-level directories (e.g. containers/) belong to other commands.
 *
 * Locking rules: a command that adds blobs (pull, load, build) holds the store
 * lock shared from its first put until the blobs are referenced from
 * index.json (hb_store_tag or hb_image_write), so a concurrent `rmi` cannot
 * collect them in between.  hb_store_gc needs the lock exclusive.  Index
 * updates (tag/untag) lock index.lock themselves and re-read index.json, so
 * concurrent writers never lose each other's refs.
 *
 * Errors follow husk_error_t (include/husk/error.h). */
#ifndef HB_STORE_H
#define HB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "husk/error.h"
#include "husk/utils.h"

#define HB_DEFAULT_STORE "/var/lib/husk"

typedef struct hb_store hb_store_t;

/* Open the store at dir, creating the layout (oci-layout, index.json,
 * blobs/sha256, tmp) when missing.  Takes no lock. */
int hb_store_open (const char *dir, hb_store_t **out, husk_error_t *err);
/* Release locks and free.  NULL is fine. */
void hb_store_close (hb_store_t *s);
void hb_store_closep (hb_store_t **s);
#define hb_autostore __attribute__ ((cleanup (hb_store_closep)))

/* The store's directory, as given to hb_store_open. */
const char *hb_store_dir (hb_store_t *s);
/* "<dir>/<rel>", with the directory created (mode 0700) when mkdir is true. */
int hb_store_subdir (hb_store_t *s, const char *rel, bool mkdir, char **path, husk_error_t *err);

/* Take the store lock (flock on <dir>/lock), blocking.  Re-locking changes
 * the mode.  hb_store_unlock drops it; returns 0. */
int hb_store_lock (hb_store_t *s, bool exclusive, husk_error_t *err);
int hb_store_unlock (hb_store_t *s);

/* ---- blobs ------------------------------------------------------------- */

/* true for "sha256:" + 64 lowercase hex digits. */
bool hb_digest_valid (const char *digest);
/* "<dir>/blobs/sha256/<hex>" (allocated); NULL for an invalid digest. */
char *hb_store_blob_path (hb_store_t *s, const char *digest);
bool hb_store_has_blob (hb_store_t *s, const char *digest);
/* Size of a blob, -1 when absent. */
int64_t hb_store_blob_size (hb_store_t *s, const char *digest);

/* A new empty file in <dir>/tmp (mode 0644, O_CLOEXEC).  The caller owns both
 * *path and *fd; on failure unlink(*path) (the store never collects tmp/
 * files of a live process; hb_store_gc removes stale ones). */
int hb_store_tmpfile (hb_store_t *s, char **path, int *fd, husk_error_t *err);
/* A new empty directory in <dir>/tmp (for unpacking, build scratch). */
int hb_store_tmpdir (hb_store_t *s, char **path, husk_error_t *err);

/* Move a finished temp file into blobs/.  Hashes it; when expect_digest is
 * given and differs, the file is removed and the error says
 * "digest mismatch: expected X, got Y".  *digest_out (may be NULL) gets the
 * digest.  When the blob exists already the temp file is simply removed.
 * On every failure tmp_path is removed. */
int hb_store_put_file (hb_store_t *s, const char *tmp_path, const char *expect_digest, char **digest_out,
                       husk_error_t *err);
/* Same, when the digest was computed while the data streamed: no re-read. */
int hb_store_put_file_verified (hb_store_t *s, const char *tmp_path, const char *digest, husk_error_t *err);
/* Write data as a blob (atomically); *digest_out (may be NULL) gets it. */
int hb_store_put_mem (hb_store_t *s, const void *data, size_t len, char **digest_out, husk_error_t *err);
/* Read a whole blob (NUL-terminated) and check its digest. */
int hb_store_read_blob (hb_store_t *s, const char *digest, char **data, size_t *len, husk_error_t *err);

/* ---- refs (index.json) ------------------------------------------------- */

typedef struct
{
  char *ref;        /* normalised ref name, NULL when untagged */
  char *digest;     /* manifest digest */
  char *media_type; /* manifest media type */
  int64_t size;     /* manifest size */
} hb_store_entry_t;

/* Every manifest descriptor of index.json, in file order. */
int hb_store_list (hb_store_t *s, hb_store_entry_t **entries, size_t *n, husk_error_t *err);
void hb_store_entries_free (hb_store_entry_t *entries, size_t n);

/* Find an image: a ref as stored, a name that normalises to one ("busybox"
 * -> "docker.io/library/busybox:latest"), a manifest digest, or an image ID
 * (config digest) or unique hex prefix of either (at least 4 digits, with or
 * without "sha256:").  Not found: "image `NAME` does not exist" (ENOENT);
 * an ambiguous prefix is an error too. */
int hb_store_resolve (hb_store_t *s, const char *name, char **manifest_digest, husk_error_t *err);

/* Point ref (normalised here) at a manifest blob that must be in the store;
 * replaces an existing entry of the same ref.  ref NULL adds an untagged
 * entry (kept from GC) unless the digest is already listed. */
int hb_store_tag (hb_store_t *s, const char *ref, const char *manifest_digest, husk_error_t *err);
/* Remove a ref ("ref `X` does not exist" when absent). */
int hb_store_untag (hb_store_t *s, const char *ref, husk_error_t *err);
/* Remove every index entry for a manifest digest (tagged or not). */
int hb_store_remove_manifest (hb_store_t *s, const char *manifest_digest, husk_error_t *err);

/* Garbage-collect: remove every blob not reachable from index.json (through
 * manifests and indexes), and stale tmp/ entries.  Needs the store lock
 * exclusive (takes it if not held, then goes back to the previous mode).
 * *freed (may be NULL) gets the bytes removed. */
int hb_store_gc (hb_store_t *s, int64_t *freed, husk_error_t *err);

/* ---- digest.c: streaming sha256 ---------------------------------------- */

typedef struct hb_sha256 hb_sha256_t;
hb_sha256_t *hb_sha256_new (void);
void hb_sha256_update (hb_sha256_t *h, const void *data, size_t len);
/* "sha256:<hex>" (allocated); frees h. */
char *hb_sha256_finish (hb_sha256_t *h);
void hb_sha256_free (hb_sha256_t *h);
/* One-shot helpers. */
char *hb_sha256_mem (const void *data, size_t len);
int hb_sha256_fd (int fd, char **digest, int64_t *size, husk_error_t *err);
int hb_sha256_file (const char *path, char **digest, int64_t *size, husk_error_t *err);

#endif
