/* husk: cgroups.  One small interface, a back end per layout:
 * cgroup-v2.c (unified), cgroup-v1.c (v1 controllers; on hybrid hosts the
 * container is also placed in the unified tree, like runc).
 *
 * Never touch /sys/fs/cgroup/memory/process_api's siblings, never unmount. */
#ifndef HUSK_CGROUP_H
#define HUSK_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "husk/spec.h"

typedef enum
{
  HUSK_CGROUP_UNIFIED, /* cgroup2 on /sys/fs/cgroup */
  HUSK_CGROUP_HYBRID,  /* v1 controllers + cgroup2 at /sys/fs/cgroup/unified */
  HUSK_CGROUP_LEGACY,  /* v1 only */
} husk_cgroup_mode_t;

int husk_cgroup_mode (husk_cgroup_mode_t *out, husk_error_t *err);

typedef struct husk_cgroup_s husk_cgroup_t;

/* Resolve cgroupsPath the way runc does: absolute (relative to the hierarchy
 * root), relative (under the caller's own cgroup, per hierarchy), or NULL (a
 * default derived from id).  `..` cannot leave the hierarchy.  Creates the
 * directories (recording which ones it created) and enables the needed
 * controllers in the parents' cgroup.subtree_control.  Nothing is left behind
 * on error. */
int husk_cgroup_create (const char *cgroups_path, const char *id, const husk_resources_t *res,
                        husk_cgroup_t **out, husk_error_t *err);

/* An O_PATH|O_DIRECTORY fd of the unified leaf, for clone3(CLONE_INTO_CGROUP);
 * -1 when not usable (e.g. a v1 host). Owned by the cgroup object. */
int husk_cgroup_unified_fd (husk_cgroup_t *cg);

/* Move pid into the cgroup on every hierarchy. */
int husk_cgroup_enter (husk_cgroup_t *cg, pid_t pid, husk_error_t *err);
/* exec --cgroup: move pid into an existing sub-cgroup of the container,
 * "path" on every hierarchy or "ctrl[,ctrl]:path" on the named v1 ones
 * (the others get the container's own cgroup). */
int husk_cgroup_enter_sub (husk_cgroup_t *cg, const char *spec, pid_t pid, husk_error_t *err);

/* Apply linux.resources (create and update).  Values the host cannot apply
 * give a clear error. */
int husk_cgroup_apply (husk_cgroup_t *cg, const husk_resources_t *res, bool update, husk_error_t *err);

/* Persist / reload (for the state dir).  The text is opaque to callers. */
char *husk_cgroup_save (const husk_cgroup_t *cg);
int husk_cgroup_load (const char *saved, husk_cgroup_t **out, husk_error_t *err);

/* The container's path as seen in the unified tree or the first v1 hierarchy
 * ("/foo/bar"), for messages and `state`. */
const char *husk_cgroup_path (const husk_cgroup_t *cg);

int husk_cgroup_freeze (husk_cgroup_t *cg, bool freeze, husk_error_t *err);
int husk_cgroup_is_frozen (husk_cgroup_t *cg, bool *out, husk_error_t *err);
/* Signal every process (cgroup.kill for SIGKILL on v2 where it exists). */
int husk_cgroup_kill_all (husk_cgroup_t *cg, int sig, husk_error_t *err);
int husk_cgroup_pids (husk_cgroup_t *cg, pid_t **pids, size_t *len, husk_error_t *err);

/* Remove the directories husk created (retrying while busy), deepest first.
 * Pre-existing cgroups are left alone. */
int husk_cgroup_destroy (husk_cgroup_t *cg, husk_error_t *err);
void husk_cgroup_free (husk_cgroup_t *cg);
void husk_cgroup_freep (husk_cgroup_t **cg);
#define husk_autocgroup __attribute__ ((cleanup (husk_cgroup_freep)))

/* linux.devices[] of the spec: each one is also allowed in the device
 * cgroup (like runc's specconv), together with runc's default allowed
 * devices (null, zero, full, tty, random, urandom, ptmx, pts, tun...).
 * Call before husk_cgroup_apply on create. */
void husk_cgroup_set_spec_devices (husk_cgroup_t *cg, const husk_device_t *devs, size_t len);

/* `events --stats`: the "data" object of runc's types.Stats as compact JSON
 * (cpu, cpuset, memory, pids, blkio, hugetlb, intel_rdt, network_interfaces). */
int husk_cgroup_stats_json (husk_cgroup_t *cg, char **json_out, husk_error_t *err);

/* Pure helpers (also used by `update` and the unit tests). */

/* cgroupsPath -> an absolute, lexically clean path: "/" + path with `.`,
 * `..` and repeated slashes resolved (Go's filepath.Clean), so `..` cannot
 * climb above "/".  "" and NULL give "/". */
char *husk_cgroup_clean_path (const char *path);
/* runc's ConvertCPUSharesToCgroupV2Value: 1 + ((shares - 2) * 9999) / 262142;
 * 0 stays 0 (unset), shares are clamped to [2, 262144]. */
uint64_t husk_cgroup_shares_to_weight (uint64_t shares);
/* runc's ConvertMemorySwapToCgroupV2Value: memory.swap.max from the v1-style
 * memory+swap value; 0 = unset, -1 = "max". */
int husk_cgroup_swap_to_v2 (int64_t swap, int64_t memory, int64_t *out, husk_error_t *err);
/* runc's ConvertBlkIOToIOWeightValue: 1 + (weight - 10) * 9999 / 990. */
uint64_t husk_cgroup_blkio_to_io_weight (uint64_t weight);

#endif
