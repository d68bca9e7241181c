/* husk: the container's filesystem view (mounts.c, devices.c, rootfs.c).
 *
 * Called in the container init, in its new mount namespace, in this order:
 *   husk_rootfs_prepare()   propagation, rootfs bind, spec mounts in order,
 *                           default + spec devices, /dev symlinks
 *   (createContainer hooks run here, before pivot)
 *   husk_rootfs_pivot()     pivot_root (or MS_MOVE + chroot with no_pivot)
 *   (terminal set-up: /dev/console)
 *   husk_rootfs_finalize()  rootfsPropagation on "/" (shared/slave/unbindable;
 *                           runc applies it after pivot), readonlyPaths,
 *                           maskedPaths, ro remount of tmpfs and /dev mounts
 *                           (mounted rw so devices/tmpcopyup could write),
 *                           root.readonly.  Needs /proc mounted in the
 *                           container when it has work to do (targets are
 *                           /proc/self/fd/N).
 * Every path inside the rootfs is resolved without leaving it (openat2 with
 * RESOLVE_IN_ROOT, or an equivalent walk), and mounts target fds through
 * /proc/self/fd/N, not re-resolved strings. */
#ifndef HUSK_ROOTFS_H
#define HUSK_ROOTFS_H

#include <stdbool.h>
#include "husk/spec.h"

typedef struct
{
  const husk_spec_t *spec;
  const char *rootfs;  /* absolute host path of the rootfs directory */
  const char *bundle;  /* absolute bundle path (relative mount sources resolve here) */
  bool no_pivot;
  bool in_userns;      /* new user namespace: mknod is impossible, bind-mount devices */
  bool new_netns;      /* false: sysfs cannot be mounted, bind the host's /sys (rbind, ro) */
  bool new_pidns;      /* false with no new pid ns: proc still mounted (fresh proc) */
  bool new_cgroupns;
  bool host_mountns;   /* no mount namespace: mount in the caller's, chroot, no propagation changes */
  const int *idmap_fds; /* per spec mount: a detached idmapped tree (open_tree fd) for idmap/ridmap, -1 none; may be NULL */
} husk_rootfs_ctx_t;

/* A user namespace with the mount's uidMappings/gidMappings. */
int husk_idmap_userns_fd (const husk_mount_t *m, husk_error_t *err);
/* A detached, idmapped copy of source (open_tree + mount_setattr), made by
 * the runtime in the host's user namespace before the clone. */
int husk_idmap_tree_fd (const husk_mount_t *m, const char *source, bool rbind, bool ridmap, husk_error_t *err);

int husk_rootfs_prepare (const husk_rootfs_ctx_t *ctx, husk_error_t *err);
int husk_rootfs_pivot (const husk_rootfs_ctx_t *ctx, husk_error_t *err);
int husk_rootfs_finalize (const husk_rootfs_ctx_t *ctx, husk_error_t *err);

/* Unmount (lazily, deepest first) every mount at or below path: what a
 * container without a mount namespace left in the host's table. */
int husk_rootfs_unmount_under (const char *path, husk_error_t *err);

/* Open a path inside root_fd without leaving it (openat2 RESOLVE_IN_ROOT,
 * falling back to a component walk).  flags as for openat. */
int husk_open_in_root (int root_fd, const char *path, int flags, mode_t mode, husk_error_t *err);

/* Create (mkdir -p) the parent dirs of path inside root_fd and the target
 * itself as a directory (is_dir) or an empty file; returns an O_PATH fd of it. */
int husk_create_in_root (int root_fd, const char *path, bool is_dir, husk_error_t *err);

/* Parse mount options into flags, propagation flags, recursive attrs and data. */
typedef struct
{
  unsigned long flags;       /* MS_* for mount(2) */
  unsigned long clear_flags; /* flags explicitly cleared (rw, suid, ...) */
  unsigned long propagation; /* MS_SHARED|MS_PRIVATE|... (+MS_REC) */
  unsigned long long attr_set, attr_clr; /* MOUNT_ATTR_* for r* options */
  bool bind, rbind;
  bool idmap, ridmap;
  bool tmpcopyup;
  char *data; /* comma-joined filesystem-specific options, may be NULL */
} husk_mount_opts_t;

int husk_mount_opts_parse (char *const *options, size_t n, husk_mount_opts_t *out, husk_error_t *err);
void husk_mount_opts_free (husk_mount_opts_t *o);

/* Known mount options (for `features`); NULL-terminated. */
extern const char *const husk_mount_option_names[];

/* --- internal to the rootfs code (paths.c, mounts.c, devices.c, rootfs.c) --- */

/* "/proc/self/fd/N" for fd into buf (at least 32 bytes); returns buf. */
char *husk_fd_path (char *buf, size_t len, int fd);

/* Tests only: skip openat2 and use the component walk. */
void husk_paths_force_walk (bool force);

/* Every linux spec mount, in order (mounts.c). */
int husk_mounts_apply (const husk_rootfs_ctx_t *ctx, int root_fd, husk_error_t *err);
/* After pivot: remount read-only the tmpfs and /dev mounts that asked for ro
 * (they were mounted rw so devices and tmpcopyup could write into them). */
int husk_mounts_finalize (const husk_rootfs_ctx_t *ctx, int root_fd, husk_error_t *err);
/* True when the spec bind-mounts something on /dev (then no devices are made). */
bool husk_mounts_binds_dev (const husk_spec_t *spec);
/* Remount the mount at fd (an O_PATH fd of its root) with MS_REMOUNT|MS_BIND|flags,
 * keeping the flags the kernel locks (nosuid, nodev, noexec, atime) if needed. */
int husk_remount_bind (int fd, const char *what, unsigned long flags, husk_error_t *err);

/* Default and spec devices, /dev symlinks, /dev/ptmx (devices.c). */
int husk_devices_setup (const husk_rootfs_ctx_t *ctx, int root_fd, husk_error_t *err);

#endif
