/* husk: cgroup v1 resources (runc's fs semantics), used on legacy and hybrid
 * hosts (on hybrid hosts the cgroup2 tree has no controllers that matter).
 *
 *   memory.limit        -> memory.limit_in_bytes
 *   memory.swap         -> memory.memsw.limit_in_bytes (order chosen so the
 *                          kernel's memsw >= limit check holds)
 *   memory.reservation  -> memory.soft_limit_in_bytes
 *   memory.swappiness   -> memory.swappiness (0..100)
 *   disableOOMKiller    -> memory.oom_control = 1
 *   cpu.shares          -> cpu.shares (read back: clamped values are errors)
 *   cpu.period/quota    -> cpu.cfs_period_us / cpu.cfs_quota_us
 *   cpu.burst           -> cpu.cfs_burst_us,  cpu.idle -> cpu.idle
 *   cpu.realtime*       -> cpu.rt_period_us / cpu.rt_runtime_us
 *   cpu.cpus/mems       -> cpuset.cpus / cpuset.mems
 *   pids.limit          -> pids.max ("max" for <= 0)
 *   blockIO             -> blkio.weight (or blkio.bfq.weight), blkio.leaf_weight,
 *                          blkio.weight_device, blkio.leaf_weight_device,
 *                          blkio.throttle.{read,write}_{bps,iops}_device
 *   hugepageLimits      -> hugetlb.<size>.limit_in_bytes
 *   network             -> net_cls.classid, net_prio.ifpriomap
 *   rdma                -> rdma.max
 *   devices             -> "a" to devices.deny, then each rule in order to
 *                          devices.allow / devices.deny
 *   unified             -> error (cgroup v1)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cgroup-internal.h"
#include "husk/utils.h"

static husk_cg_hier_t *
need (husk_cgroup_t *cg, const char *ctl, husk_error_t *err)
{
  husk_cg_hier_t *h = husk_cg_find (cg, ctl);
  if (h == NULL)
    husk_error_make (err, ENOENT, "the `%s` cgroup controller is not mounted", ctl);
  return h;
}

static int
write_i64 (husk_cg_hier_t *h, const char *file, int64_t v, husk_error_t *err)
{
  return husk_cg_writef (h, file, err, "%" PRId64, v);
}

/* memory.limit_in_bytes: the kernel refuses (EBUSY) a limit it cannot
 * reclaim down to; say so instead of "Device or resource busy" alone. */
static int
write_mem_limit (husk_cg_hier_t *h, int64_t limit, husk_error_t *err)
{
  if (write_i64 (h, "memory.limit_in_bytes", limit, err) < 0)
    {
      if ((*err)->status == EBUSY)
        {
          husk_autofree char *usage = NULL;
          husk_auto_error husk_error_t tmp = NULL;
          if (husk_cg_read (h, "memory.usage_in_bytes", &usage, &tmp) == 0)
            usage[strcspn (usage, "\n")] = '\0';
          return husk_error_wrap (err, "memory limit %" PRId64 " is below the container's current usage (%s bytes)",
                                  limit, usage ? usage : "?");
        }
      return -1;
    }
  return 0;
}

static int
set_memory (husk_cgroup_t *cg, const husk_memory_t *m, husk_error_t *err)
{
  husk_cg_hier_t *h = need (cg, "memory", err);
  int64_t limit = m->has_limit ? m->limit : 0;
  int64_t swap = m->has_swap ? m->swap : 0;
  bool have_memsw;

  if (h == NULL)
    return -1;
  have_memsw = husk_cg_has_file (h, "memory.memsw.limit_in_bytes");
  if (limit == -1 && swap == 0 && have_memsw)
    swap = -1;
  if (swap != 0 && !have_memsw)
    {
      /* no swap accounting: only "unlimited" can be honoured */
      if (swap != -1 && swap != limit)
        return husk_error_make (err, ENOENT, "cannot set memory+swap limit: `memory.memsw.limit_in_bytes` does not exist (swap accounting is off)");
      swap = 0;
    }

  if (limit != 0 && swap != 0)
    {
      /* raising: memsw first; lowering: limit first */
      husk_autofree char *cur = NULL;
      uint64_t cur_limit = 0;
      if (husk_cg_read (h, "memory.limit_in_bytes", &cur, err) < 0)
        return -1;
      cur_limit = strtoull (cur, NULL, 10);
      if (swap == -1 || cur_limit < (uint64_t) swap)
        {
          if (write_i64 (h, "memory.memsw.limit_in_bytes", swap, err) < 0 || write_mem_limit (h, limit, err) < 0)
            return -1;
          limit = swap = 0;
        }
    }
  if (limit != 0 && write_mem_limit (h, limit, err) < 0)
    return -1;
  if (swap != 0 && write_i64 (h, "memory.memsw.limit_in_bytes", swap, err) < 0)
    return -1;

  if (m->has_reservation && m->reservation != 0
      && write_i64 (h, "memory.soft_limit_in_bytes", m->reservation, err) < 0)
    return -1;
  if (m->has_disable_oom_killer && m->disable_oom_killer
      && husk_cg_write (h, "memory.oom_control", "1", err) < 0)
    return -1;
  if (m->has_swappiness && m->swappiness != (uint64_t) -1)
    {
      if (m->swappiness > 100)
        return husk_error_make (err, EINVAL, "invalid memory swappiness value: %" PRIu64 " (valid range is 0-100)",
                                m->swappiness);
      if (husk_cg_writef (h, "memory.swappiness", err, "%" PRIu64, m->swappiness) < 0)
        return -1;
    }
  return 0;
}

static int
set_cpu (husk_cgroup_t *cg, const husk_cpu_t *c, husk_error_t *err)
{
  husk_cg_hier_t *h;
  bool any = (c->has_shares && c->shares) || (c->has_quota && c->quota) || (c->has_period && c->period)
             || c->has_burst || c->has_idle || (c->has_realtime_period && c->realtime_period)
             || (c->has_realtime_runtime && c->realtime_runtime);
  bool period_later = false, burst_later = false;

  if (any)
    {
      if ((h = need (cg, "cpu", err)) == NULL)
        return -1;
      if (c->has_shares && c->shares)
        {
          husk_autofree char *back = NULL;
          uint64_t got;
          if (husk_cg_writef (h, "cpu.shares", err, "%" PRIu64, c->shares) < 0
              || husk_cg_read (h, "cpu.shares", &back, err) < 0)
            return -1;
          got = strtoull (back, NULL, 10);
          if (c->shares > got)
            return husk_error_make (err, EINVAL, "the maximum allowed cpu-shares is %" PRIu64, got);
          if (c->shares < got)
            return husk_error_make (err, EINVAL, "the minimum allowed cpu-shares is %" PRIu64, got);
        }
      if (c->has_period && c->period)
        {
          husk_auto_error husk_error_t tmp = NULL;
          if (husk_cg_writef (h, "cpu.cfs_period_us", &tmp, "%" PRIu64, c->period) < 0)
            {
              /* the new period may only fit the new quota: retry after it */
              if (tmp->status != EINVAL || !c->has_quota || c->quota == 0)
                {
                  husk_error_move (err, &tmp);
                  return -1;
                }
              period_later = true;
            }
        }
      if (c->has_burst)
        {
          husk_auto_error husk_error_t tmp = NULL;
          if (husk_cg_writef (h, "cpu.cfs_burst_us", &tmp, "%" PRIu64, c->burst) < 0)
            {
              if (tmp->status != EINVAL || !c->has_quota || c->quota == 0)
                {
                  husk_error_move (err, &tmp);
                  return -1;
                }
              burst_later = true;
            }
        }
      if (c->has_quota && c->quota)
        {
          if (write_i64 (h, "cpu.cfs_quota_us", c->quota, err) < 0)
            return -1;
          if (period_later && husk_cg_writef (h, "cpu.cfs_period_us", err, "%" PRIu64, c->period) < 0)
            return -1;
          if (burst_later && husk_cg_writef (h, "cpu.cfs_burst_us", err, "%" PRIu64, c->burst) < 0)
            return -1;
        }
      if (c->has_idle && write_i64 (h, "cpu.idle", c->idle, err) < 0)
        return -1;
      if (c->has_realtime_period && c->realtime_period
          && husk_cg_writef (h, "cpu.rt_period_us", err, "%" PRIu64, c->realtime_period) < 0)
        return -1;
      if (c->has_realtime_runtime && c->realtime_runtime
          && write_i64 (h, "cpu.rt_runtime_us", c->realtime_runtime, err) < 0)
        return -1;
    }
  if ((c->cpus && *c->cpus) || (c->mems && *c->mems))
    {
      if ((h = need (cg, "cpuset", err)) == NULL)
        return -1;
      if (c->cpus && *c->cpus && husk_cg_write (h, "cpuset.cpus", c->cpus, err) < 0)
        return -1;
      if (c->mems && *c->mems && husk_cg_write (h, "cpuset.mems", c->mems, err) < 0)
        return -1;
    }
  return 0;
}

static int
set_throttle (husk_cg_hier_t *h, const char *file, const husk_throttle_device_t *t, size_t n, husk_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    if (husk_cg_writef (h, file, err, "%" PRId64 ":%" PRId64 " %" PRIu64, t[i].major, t[i].minor, t[i].rate) < 0)
      return -1;
  return 0;
}

static int
set_blkio (husk_cgroup_t *cg, const husk_blkio_t *b, husk_error_t *err)
{
  husk_cg_hier_t *h = need (cg, "blkio", err);
  const char *weight = "blkio.weight", *weight_dev = "blkio.weight_device";
  if (h == NULL)
    return -1;
  if (!husk_cg_has_file (h, weight) && husk_cg_has_file (h, "blkio.bfq.weight"))
    {
      weight = "blkio.bfq.weight";
      weight_dev = "blkio.bfq.weight_device";
    }
  if (b->has_weight && b->weight && husk_cg_writef (h, weight, err, "%u", (unsigned) b->weight) < 0)
    return -1;
  if (b->has_leaf_weight && b->leaf_weight
      && husk_cg_writef (h, "blkio.leaf_weight", err, "%u", (unsigned) b->leaf_weight) < 0)
    return -1;
  for (size_t i = 0; i < b->weight_device_len; i++)
    {
      const husk_weight_device_t *w = &b->weight_device[i];
      if (w->has_weight
          && husk_cg_writef (h, weight_dev, err, "%" PRId64 ":%" PRId64 " %u", w->major, w->minor, (unsigned) w->weight)
                 < 0)
        return -1;
      if (w->has_leaf_weight
          && husk_cg_writef (h, "blkio.leaf_weight_device", err, "%" PRId64 ":%" PRId64 " %u", w->major, w->minor,
                             (unsigned) w->leaf_weight)
                 < 0)
        return -1;
    }
  if (set_throttle (h, "blkio.throttle.read_bps_device", b->throttle_read_bps, b->throttle_read_bps_len, err) < 0
      || set_throttle (h, "blkio.throttle.write_bps_device", b->throttle_write_bps, b->throttle_write_bps_len, err) < 0
      || set_throttle (h, "blkio.throttle.read_iops_device", b->throttle_read_iops, b->throttle_read_iops_len, err) < 0
      || set_throttle (h, "blkio.throttle.write_iops_device", b->throttle_write_iops, b->throttle_write_iops_len, err)
             < 0)
    return -1;
  return 0;
}

static void
rule_num (char *buf, size_t len, int64_t v)
{
  if (v < 0)
    snprintf (buf, len, "*");
  else
    snprintf (buf, len, "%" PRId64, v);
}

static int
write_rule (husk_cg_hier_t *h, const husk_cg_dev_rule_t *r, char type, husk_error_t *err)
{
  char maj[24], min[24], acc[4];
  int o = 0;
  rule_num (maj, sizeof maj, r->major);
  rule_num (min, sizeof min, r->minor);
  if (r->access & HUSK_CG_ACC_READ)
    acc[o++] = 'r';
  if (r->access & HUSK_CG_ACC_WRITE)
    acc[o++] = 'w';
  if (r->access & HUSK_CG_ACC_MKNOD)
    acc[o++] = 'm';
  acc[o] = '\0';
  if (o == 0)
    return 0;
  return husk_cg_writef (h, r->allow ? "devices.allow" : "devices.deny", err, "%c %s:%s %s", type, maj, min, acc);
}

static int
set_devices (husk_cgroup_t *cg, const husk_resources_t *res, bool update, husk_error_t *err)
{
  husk_autofree husk_cg_dev_rule_t *rules = NULL;
  size_t n = husk_cg_device_rules (cg, res, update, &rules);
  husk_cg_hier_t *h;

  if (n == 0)
    return 0;
  if ((h = need (cg, "devices", err)) == NULL)
    return -1;
  if (husk_cg_write (h, "devices.deny", "a", err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      const husk_cg_dev_rule_t *r = &rules[i];
      if (r->type == 'a')
        {
          /* "a" resets the whole list in the kernel; only a full wildcard means that */
          if (r->major < 0 && r->minor < 0 && r->access == HUSK_CG_ACC_ALL)
            {
              if (husk_cg_write (h, r->allow ? "devices.allow" : "devices.deny", "a", err) < 0)
                return -1;
              continue;
            }
          if (write_rule (h, r, 'c', err) < 0 || write_rule (h, r, 'b', err) < 0)
            return -1;
        }
      else if (write_rule (h, r, r->type, err) < 0)
        return -1;
    }
  return 0;
}

static int
v1_apply (husk_cgroup_t *cg, const husk_resources_t *r, bool update, husk_error_t *err)
{
  husk_cg_hier_t *h;

  if (r)
    {
      if (r->unified_len)
        return husk_error_make (err, EINVAL, "invalid configuration: cannot use unified on cgroup v1");
      if (r->memory && set_memory (cg, r->memory, err) < 0)
        return -1;
      if (r->cpu && set_cpu (cg, r->cpu, err) < 0)
        return -1;
      if (r->has_pids_limit)
        {
          if ((h = need (cg, "pids", err)) == NULL)
            return -1;
          if (r->pids_limit <= 0 ? husk_cg_write (h, "pids.max", "max", err) < 0
                                 : write_i64 (h, "pids.max", r->pids_limit, err) < 0)
            return -1;
        }
      if (r->block_io && set_blkio (cg, r->block_io, err) < 0)
        return -1;
      if (r->hugepage_limits_len && (h = need (cg, "hugetlb", err)) == NULL)
        return -1;
      for (size_t i = 0; i < r->hugepage_limits_len; i++)
        {
          husk_autofree char *file = xstrdup_printf ("hugetlb.%s.limit_in_bytes", r->hugepage_limits[i].page_size);
          if (husk_cg_writef (h, file, err, "%" PRIu64, r->hugepage_limits[i].limit) < 0)
            return -1;
        }
      if (r->has_net_class_id)
        {
          if ((h = need (cg, "net_cls", err)) == NULL
              || husk_cg_writef (h, "net_cls.classid", err, "%u", r->net_class_id) < 0)
            return -1;
        }
      if (r->net_priorities_len && (h = need (cg, "net_prio", err)) == NULL)
        return -1;
      for (size_t i = 0; i < r->net_priorities_len; i++)
        if (husk_cg_writef (h, "net_prio.ifpriomap", err, "%s %u", r->net_priorities[i].name,
                            r->net_priorities[i].priority)
            < 0)
          return -1;
      if (r->rdma_len && (h = need (cg, "rdma", err)) == NULL)
        return -1;
      for (size_t i = 0; i < r->rdma_len; i++)
        {
          husk_autofree char *line = husk_cg_rdma_line (&r->rdma[i]);
          if (husk_cg_write (h, "rdma.max", line, err) < 0)
            return -1;
        }
    }
  return set_devices (cg, r, update, err);
}

const husk_cgroup_ops_t husk_cgroup_v1_ops = {
  .name = "v1",
  .apply = v1_apply,
  .stats = husk_cgroup_v1_stats,
};
