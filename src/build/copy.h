/* husk-build: COPY's file operations (copy.c). src_fd is the root the
 * sources are named in: the build context, or a stage's rootfs. */
#ifndef HB_COPY_H
#define HB_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include "husk/error.h"

/* Expand srcs (wildcards in the last component) into paths under src_fd;
 * `..` above the root is refused.  *out is a NULL-terminated strv. */
int hb_copy_sources (int src_fd, char *const *srcs, size_t n, char ***out, husk_error_t *err);
/* sha256 over names, modes and contents of the expanded sources (NULL: none). */
int hb_copy_hash (int src_fd, char *const *srcs, char **out, husk_error_t *err);
/* Copy the expanded sources into dest (absolute, inside rootfs); NULL copies nothing. */
int hb_copy_into (int src_fd, const char *rootfs, char *const *srcs, const char *dest, bool dest_dir,
                  const char *chown, husk_error_t *err);

/* ADD */
bool hb_is_url (const char *s);                 /* http:// or https:// */
bool hb_is_tar_archive (int fd);                /* tar, plain or gzip/bzip2/xz/zstd; fd is rewound */
char *hb_url_basename (const char *url);        /* last path component, NULL when there is none */
/* Download url into fd (mode 0600, mtime from Last-Modified), http(s) only. */
int hb_download_url (const char *url, int fd, husk_error_t *err);
/* Extract the archive at archive_fd into dest (created) inside rootfs,
 * every path resolved inside dest. */
int hb_add_extract (int archive_fd, const char *name, const char *rootfs, const char *dest, husk_error_t *err);

#endif
