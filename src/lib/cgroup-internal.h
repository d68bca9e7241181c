/* husk: what cgroup.c shares with its back ends (cgroup-v1.c, cgroup-v2.c,
 * cgroup-bpf.c, cgroup-stats.c).  Not for callers outside the cgroup code. */
#ifndef HUSK_CGROUP_INTERNAL_H
#define HUSK_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "cgroup.h"
#include "husk/error.h"
#include "husk/spec.h"

/* One hierarchy the container lives in. */
typedef struct
{
  bool v2;           /* the cgroup2 tree (unified or the hybrid "unified" mount) */
  char *controllers; /* v1: "cpu", "cpu,cpuacct", "name=systemd"; v2: "" */
  char *mount;       /* mount point, "/sys/fs/cgroup/memory" */
  char *path;        /* path in the hierarchy, "/husk/ctr" */
  char *dir;         /* the directory on the host */
  int created;       /* how many trailing components of path husk created */
} husk_cg_hier_t;

/* A device cgroup rule in the form both back ends use. */
typedef struct
{
  bool allow;
  char type;            /* 'a', 'c', 'b' */
  int64_t major, minor; /* -1 = any */
  unsigned access;      /* HUSK_CG_ACC_* bits */
} husk_cg_dev_rule_t;

#define HUSK_CG_ACC_MKNOD 1u
#define HUSK_CG_ACC_READ 2u
#define HUSK_CG_ACC_WRITE 4u
#define HUSK_CG_ACC_ALL 7u

/* Usage numbers for `events --stats`, shaped like runc's types.Stats. */
typedef struct
{
  uint64_t limit, usage, max, failcnt;
} husk_cg_mem_entry_t;

typedef struct
{
  uint64_t major, minor;
  const char *op; /* "Read", "Write", "Sync", "Async", "Discard", "Total" */
  uint64_t value;
} husk_cg_blkio_entry_t;

typedef struct
{
  husk_cg_blkio_entry_t *v;
  size_t n;
} husk_cg_blkio_list_t;

typedef struct
{
  char *size; /* "2MB" */
  uint64_t usage, max, failcnt;
} husk_cg_hugetlb_t;

typedef struct
{
  struct
  {
    uint64_t total, kernel, user;
    uint64_t *percpu, *percpu_kernel, *percpu_user;
    size_t percpu_len, percpu_kernel_len, percpu_user_len;
    uint64_t periods, throttled_periods, throttled_time;
  } cpu;
  struct
  {
    uint16_t *cpus, *mems;
    size_t cpus_len, mems_len;
    uint64_t cpu_exclusive, mem_hardwall, mem_exclusive, memory_migrate, memory_spread_page,
        memory_spread_slab, memory_pressure, sched_load_balance;
    int64_t sched_relax_domain_level;
  } cpuset;
  struct
  {
    uint64_t cache;
    husk_cg_mem_entry_t usage, swap, kernel, kernel_tcp;
    char **raw_keys;
    uint64_t *raw_values;
    size_t raw_len;
  } memory;
  struct
  {
    uint64_t current, limit;
  } pids;
  /* ioServiceBytesRecursive, ioServicedRecursive, ioQueueRecursive,
   * ioServiceTimeRecursive, ioWaitTimeRecursive, ioMergedRecursive,
   * ioTimeRecursive, sectorsRecursive */
  husk_cg_blkio_list_t blkio[8];
  husk_cg_hugetlb_t *hugetlb;
  size_t hugetlb_len;
} husk_cg_stats_t;

void husk_cg_stats_release (husk_cg_stats_t *s);
int husk_cgroup_v1_stats (husk_cgroup_t *cg, husk_cg_stats_t *s, husk_error_t *err);
int husk_cgroup_v2_stats (husk_cgroup_t *cg, husk_cg_stats_t *s, husk_error_t *err);

typedef struct husk_cgroup_ops_s husk_cgroup_ops_t;

struct husk_cgroup_s
{
  husk_cgroup_mode_t mode;
  const husk_cgroup_ops_t *ops;
  husk_cg_hier_t *h;
  size_t n;
  int unified_fd;
  husk_cg_dev_rule_t *spec_devs; /* from husk_cgroup_set_spec_devices */
  size_t spec_devs_len;
};

/* The small vtable: what differs between the v1 and v2 back ends.  Creation,
 * entering, killing, listing and removal are common (cgroup.c). */
struct husk_cgroup_ops_s
{
  const char *name;
  int (*apply) (husk_cgroup_t *cg, const husk_resources_t *res, bool update, husk_error_t *err);
  int (*stats) (husk_cgroup_t *cg, husk_cg_stats_t *out, husk_error_t *err);
};

extern const husk_cgroup_ops_t husk_cgroup_v1_ops;
extern const husk_cgroup_ops_t husk_cgroup_v2_ops;

/* The hierarchy holding a v1 controller ("memory", "name=systemd"), or the
 * cgroup2 tree for NULL; NULL when the container has none. */
husk_cg_hier_t *husk_cg_find (husk_cgroup_t *cg, const char *controller);

/* Write one cgroup file (no O_CREAT).  Errors read
 * "cannot set `memory.max` to `1234`: Device or resource busy". */
int husk_cg_write (const husk_cg_hier_t *h, const char *file, const char *value, husk_error_t *err);
int husk_cg_writef (const husk_cg_hier_t *h, const char *file, husk_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
/* Read a file of the cgroup; trailing newline kept. */
int husk_cg_read (const husk_cg_hier_t *h, const char *file, char **out, husk_error_t *err);
bool husk_cg_has_file (const husk_cg_hier_t *h, const char *file);

/* The complete device rule list for an apply: the spec's rules, then the
 * linux.devices and runc's default allowed devices (unless update without
 * rules).  Returns the count; *out is NULL when there is nothing to do. */
size_t husk_cg_device_rules (husk_cgroup_t *cg, const husk_resources_t *res, bool update,
                             husk_cg_dev_rule_t **out);

/* cgroup-bpf.c: build, load and attach a BPF_PROG_TYPE_CGROUP_DEVICE
 * program (last matching rule wins, default deny) to the cgroup2 directory
 * dirfd, replacing programs attached before. */
int husk_cgroup_bpf_devices (int dirfd, const husk_cg_dev_rule_t *rules, size_t len, husk_error_t *err);

/* "DEV hca_handle=N hca_object=M" for rdma.max (v1 and v2 alike). */
char *husk_cg_rdma_line (const husk_rdma_t *r);

#endif
