/* husk: private helpers shared by the spec parser files (spec*.c).
 *
 * Every parser takes the yajl value, the JSON path of that value (`base`, ""
 * for the document root) and fills a struct.  Errors are "<path>: <problem>"
 * with the path built from `base` and the key or index being read. */
#ifndef HUSK_SPEC_INTERNAL_H
#define HUSK_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <yajl/yajl_tree.h>
#include "husk/error.h"
#include "husk/spec.h"
#include "husk/utils.h"

/* Paths: "base.key" (or "key" when base is ""), and "base[i]". Allocated. */
char *spec_path (const char *base, const char *key);
char *spec_path_idx (const char *base, size_t i);

/* "<base.key>: <fmt...>"; returns -1. */
int spec_error (husk_error_t *err, const char *base, const char *key, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* Member of an object (the last one when a key repeats, like Go's decoder);
 * NULL when absent or JSON null. */
yajl_val spec_get (yajl_val obj, const char *key);

/* Type checks on a value found at `path`. */
int spec_expect_object (yajl_val v, const char *path, husk_error_t *err);
int spec_expect_array (yajl_val v, const char *path, husk_error_t *err);

/* Number conversions from the raw text, with exact range checks. */
int spec_value_uint (yajl_val v, const char *path, uint64_t max, const char *type_name,
                     uint64_t *out, husk_error_t *err);
int spec_value_int (yajl_val v, const char *path, int64_t min, int64_t max, const char *type_name,
                    int64_t *out, husk_error_t *err);

/* Members of `obj` (whose path is `base`).  Absent members leave *out
 * untouched and set *has (when given) to false; they return 0, present ones
 * return 1. */
int spec_get_object (yajl_val obj, const char *base, const char *key, yajl_val *out,
                     husk_error_t *err);
int spec_get_array (yajl_val obj, const char *base, const char *key, yajl_val *out,
                    husk_error_t *err);
int spec_get_string (yajl_val obj, const char *base, const char *key, char **out,
                     husk_error_t *err);
int spec_require_string (yajl_val obj, const char *base, const char *key, char **out,
                         husk_error_t *err);
int spec_get_bool (yajl_val obj, const char *base, const char *key, bool *out, bool *has,
                   husk_error_t *err);
int spec_get_u64 (yajl_val obj, const char *base, const char *key, uint64_t *out, bool *has,
                  husk_error_t *err);
int spec_get_u32 (yajl_val obj, const char *base, const char *key, uint32_t *out, bool *has,
                  husk_error_t *err);
int spec_get_u16 (yajl_val obj, const char *base, const char *key, uint16_t *out, bool *has,
                  husk_error_t *err);
int spec_get_i64 (yajl_val obj, const char *base, const char *key, int64_t *out, bool *has,
                  husk_error_t *err);
int spec_get_i32 (yajl_val obj, const char *base, const char *key, int32_t *out, bool *has,
                  husk_error_t *err);
/* Arrays of strings: NULL-terminated, with the length; NULL when absent. */
int spec_get_strv (yajl_val obj, const char *base, const char *key, char ***out, size_t *len,
                   husk_error_t *err);
/* Objects of strings: parallel key/value arrays in file order (NULL-terminated). */
int spec_get_strmap (yajl_val obj, const char *base, const char *key, char ***keys,
                     char ***values, size_t *len, husk_error_t *err);
/* [{containerID, hostID, size}] */
int spec_get_idmaps (yajl_val obj, const char *base, const char *key, husk_idmap_t **out,
                     size_t *len, husk_error_t *err);

static inline bool
spec_is_absolute (const char *p)
{
  return p != NULL && p[0] == '/';
}

/* Look a name up in a NULL-terminated table; -1 when absent. */
int spec_name_index (const char *const *table, const char *name);

/* Parse a JSON document (any length, not NUL-terminated); `what` names it in
 * errors ("config.json: invalid JSON: ...").  The root must be an object. */
int spec_parse_document (const char *json, size_t len, const char *what, yajl_val *out,
                         husk_error_t *err);
void spec_yajl_freep (yajl_val *v);
#define spec_autotree __attribute__ ((cleanup (spec_yajl_freep)))

/* spec-process.c */
int spec_parse_process (yajl_val v, const char *base, husk_process_t *p, husk_error_t *err);
void spec_process_clear (husk_process_t *p);

/* spec-resources.c */
int spec_parse_resources (yajl_val v, const char *base, husk_resources_t *r, husk_error_t *err);
void spec_resources_clear (husk_resources_t *r);

/* spec-linux.c */
int spec_parse_linux (yajl_val v, const char *base, husk_linux_t *l, husk_error_t *err);
void spec_linux_clear (husk_linux_t *l);
/* Rules that look at more than one section (namespaces vs sysctl, mappings,
 * hostname): run after the whole document is parsed. */
int spec_validate_linux (const husk_spec_t *spec, husk_error_t *err);

#endif
