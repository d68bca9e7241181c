/* husk-build: image references, manifests and image configs.
 *
 * ref.c   parses and normalises references (docker/podman rules)
 * image.c reads manifests and configs from the store into typed structs and
 *         writes new images (config blob + OCI manifest + ref).
 *
 * Arrays are ptr + _len; NULL pointer = absent.  Errors follow husk_error_t. */
#ifndef HB_IMAGE_H
#define HB_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>
#include "husk/error.h"
#include "store.h"

/* ---- media types ------------------------------------------------------- */
#define HB_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define HB_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define HB_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define HB_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define HB_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define HB_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define HB_MT_OCI_LAYER_NONDIST_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define HB_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define HB_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define HB_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define HB_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define HB_MT_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

#define HB_ANNOT_REF_NAME "org.opencontainers.image.ref.name"

/* Layer compression of a layer media type. */
typedef enum
{
  HB_COMPRESS_UNKNOWN = -1, /* not a layer type we know: refuse it */
  HB_COMPRESS_NONE = 0,
  HB_COMPRESS_GZIP,
  HB_COMPRESS_ZSTD,
} hb_compression_t;
hb_compression_t hb_layer_compression (const char *media_type);
bool hb_media_type_is_manifest (const char *mt); /* OCI or Docker v2s2 image manifest */
bool hb_media_type_is_index (const char *mt);    /* OCI index or Docker manifest list */

/* ---- references (ref.c) ------------------------------------------------ */

typedef struct
{
  char *registry;   /* "docker.io", "localhost:5000", "127.0.0.1:5000" */
  char *repository; /* "library/busybox" */
  char *tag;        /* "latest" unless a digest alone was given; NULL then */
  char *digest;     /* "sha256:..." or NULL */
} hb_ref_t;

/* Parse and normalise: "busybox" -> docker.io/library/busybox:latest,
 * "localhost:5000/x" -> localhost:5000/x:latest, "x@sha256:.." keeps the
 * digest (and a tag given with it).  The first component is a registry when
 * it has a '.' or ':' or is "localhost".  Invalid: "invalid reference `X`". */
int hb_ref_parse (const char *s, hb_ref_t *ref, husk_error_t *err);
void hb_ref_clear (hb_ref_t *ref);
/* "registry/repository[:tag][@digest]" (allocated). */
char *hb_ref_string (const hb_ref_t *ref);
/* Normalised string of s, NULL when s is not a valid reference. */
char *hb_ref_normalize (const char *s);
/* The host:port to talk to: docker.io -> registry-1.docker.io. */
const char *hb_ref_api_host (const hb_ref_t *ref);
/* true for 127.0.0.0/8, localhost and ::1 registries (plain HTTP allowed). */
bool hb_ref_is_loopback (const hb_ref_t *ref);

/* ---- manifests (image.c) ----------------------------------------------- */

typedef struct
{
  char *media_type;
  char *digest;
  int64_t size;
  /* only for index entries: */
  char *platform_os, *platform_arch, *platform_variant;
} hb_desc_t;

typedef struct
{
  char *media_type; /* HB_MT_OCI_MANIFEST or HB_MT_DOCKER_MANIFEST */
  hb_desc_t config;
  hb_desc_t *layers;
  size_t layers_len;
  char **annotation_keys, **annotation_values;
  size_t annotations_len;
} hb_manifest_t;

typedef struct
{
  char *media_type; /* HB_MT_OCI_INDEX or HB_MT_DOCKER_LIST */
  hb_desc_t *manifests;
  size_t manifests_len;
} hb_index_t;

/* Parse manifest JSON (any image manifest media type; mediaType taken from
 * the JSON, else from media_type_hint).  Unknown layer media types are
 * refused: "unsupported layer media type `X`". */
int hb_manifest_parse (const char *json, size_t len, const char *media_type_hint, hb_manifest_t **out,
                       husk_error_t *err);
/* Load a manifest blob from the store (digest verified) and parse it. */
int hb_manifest_load (hb_store_t *s, const char *digest, hb_manifest_t **out, husk_error_t *err);
void hb_manifest_free (hb_manifest_t *m);
void hb_manifest_freep (hb_manifest_t **m);
#define hb_automanifest __attribute__ ((cleanup (hb_manifest_freep)))

int hb_index_parse (const char *json, size_t len, const char *media_type_hint, hb_index_t **out, husk_error_t *err);
void hb_index_free (hb_index_t *idx);
/* Pick the manifest for "os/arch[/variant]" (NULL = this host: linux/amd64,
 * linux/arm64/v8, ...).  Not found: "no image for platform `P` (have: ...)". */
int hb_index_select (const hb_index_t *idx, const char *platform, const hb_desc_t **out, husk_error_t *err);
/* The host's platform string ("linux/amd64"). */
const char *hb_host_platform (void);

/* Detect the media type of a manifest/index JSON from its mediaType field or
 * its shape (config+layers -> manifest, manifests -> index); NULL if neither. */
const char *hb_manifest_sniff_media_type (const char *json, size_t len);

/* ---- image configs (image.c) ------------------------------------------- */

typedef struct
{
  char *created;    /* RFC3339 */
  char *created_by; /* "/bin/sh -c #(nop) ..." or the RUN command */
  char *author;
  char *comment;
  bool empty_layer; /* true: no layer for this step */
} hb_history_t;

typedef struct
{
  char *created;
  char *author;
  char *architecture, *os, *variant;
  /* config */
  char *user;
  char **env; /* "K=V" */
  size_t env_len;
  char **entrypoint;
  size_t entrypoint_len;
  bool has_entrypoint; /* present (possibly []) */
  char **cmd;
  size_t cmd_len;
  bool has_cmd;
  char *working_dir;
  char **exposed_ports; /* "80/tcp" */
  size_t exposed_ports_len;
  char **volumes;
  size_t volumes_len;
  char **label_keys, **label_values;
  size_t labels_len;
  char *stop_signal;
  /* rootfs */
  char **diff_ids; /* sha256 of each uncompressed layer, in order */
  size_t diff_ids_len;
  hb_history_t *history;
  size_t history_len;
} hb_image_config_t;

/* Parse config JSON (OCI or Docker, same shape). */
int hb_image_config_parse (const char *json, size_t len, hb_image_config_t **out, husk_error_t *err);
/* Load a config blob from the store (digest verified) and parse it. */
int hb_image_config_load (hb_store_t *s, const char *digest, hb_image_config_t **out, husk_error_t *err);
void hb_image_config_free (hb_image_config_t *c);
void hb_image_config_freep (hb_image_config_t **c);
#define hb_autoconfig __attribute__ ((cleanup (hb_image_config_freep)))
/* Deep copy (for a build step that starts from its parent's config). */
hb_image_config_t *hb_image_config_dup (const hb_image_config_t *c);
/* OCI image config JSON (compact, allocated).  Empty/absent fields omitted. */
char *hb_image_config_to_json (const hb_image_config_t *c);

/* Small editing helpers for builders (copies of the strings are taken). */
void hb_image_config_set_env (hb_image_config_t *c, const char *key, const char *value); /* replaces */
const char *hb_image_config_get_env (const hb_image_config_t *c, const char *key);       /* value or NULL */
void hb_image_config_set_label (hb_image_config_t *c, const char *key, const char *value);
void hb_image_config_add_port (hb_image_config_t *c, const char *port); /* "80" -> "80/tcp"; no dups */
void hb_image_config_add_volume (hb_image_config_t *c, const char *path); /* no dups */
void hb_image_config_add_history (hb_image_config_t *c, const char *created_by, bool empty_layer);
void hb_image_config_add_diff_id (hb_image_config_t *c, const char *diff_id);

/* Everything about an image in the store, resolved from a name. */
typedef struct
{
  char *manifest_digest;
  hb_manifest_t *manifest;
  hb_image_config_t *config;
} hb_image_t;
/* hb_store_resolve + hb_manifest_load + hb_image_config_load. */
int hb_image_open (hb_store_t *s, const char *name, hb_image_t **out, husk_error_t *err);
void hb_image_free (hb_image_t *img);
void hb_image_freep (hb_image_t **img);
#define hb_autoimage __attribute__ ((cleanup (hb_image_freep)))

/* Write a new image: cfg as a config blob, an OCI manifest over layers (each
 * layer blob must be in the store, with media type, digest and size set;
 * cfg->diff_ids must match them in number), then tag ref (normalised; NULL
 * = untagged entry).  *manifest_digest (may be NULL) gets the digest.
 * Hold the store lock shared while calling. */
int hb_image_write (hb_store_t *s, const hb_image_config_t *cfg, const hb_desc_t *layers, size_t n, const char *ref,
                    char **manifest_digest, husk_error_t *err);

void hb_desc_clear (hb_desc_t *d);

/* ---- JSON helpers (image.c), for yajl trees ----------------------------- */
yajl_val hb_json_get (yajl_val obj, const char *key);        /* NULL if absent / obj not an object */
const char *hb_json_get_str (yajl_val obj, const char *key); /* NULL unless a string */
int64_t hb_json_get_int (yajl_val obj, const char *key, int64_t dflt);
/* Parse JSON text; error "<what>: invalid JSON: <reason>". */
int hb_json_parse (const char *text, const char *what, yajl_val *out, husk_error_t *err);

#endif
