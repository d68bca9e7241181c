/* husk: cgroup v2 resources (runc's fs2 semantics).
 *
 *   memory.limit        -> memory.max          ("max" for -1)
 *   memory.reservation  -> memory.low
 *   memory.swap         -> memory.swap.max     (swap - limit, runc's conversion)
 *   cpu.shares          -> cpu.weight          (1 + (shares - 2) * 9999 / 262142)
 *   cpu.quota/period    -> cpu.max             ("max PERIOD" when quota <= 0)
 *   cpu.burst           -> cpu.max.burst,  cpu.idle -> cpu.idle
 *   cpu.cpus/mems       -> cpuset.cpus / cpuset.mems
 *   cpu.realtime*       -> error, not supported on v2
 *   pids.limit          -> pids.max            ("max" for <= 0)
 *   blockIO.weight      -> io.bfq.weight, else io.weight (converted)
 *   blockIO.weightDevice-> io.bfq.weight "MAJ:MIN W"
 *   blockIO.throttle*   -> io.max "MAJ:MIN rbps=N" (wbps, riops, wiops)
 *   hugepageLimits      -> hugetlb.<size>.max
 *   rdma                -> rdma.max "<dev> hca_handle=N hca_object=M"
 *   unified             -> the named files, written last, line by line
 *   devices             -> a BPF_PROG_TYPE_CGROUP_DEVICE program (cgroup-bpf.c)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cgroup-internal.h"
#include "husk/utils.h"

static void
num_to_str (int64_t v, char *buf, size_t len)
{
  if (v == -1)
    snprintf (buf, len, "max");
  else
    snprintf (buf, len, "%" PRId64, v);
}

/* A write that names the missing controller when the file is not there. */
static int
write_ctl (husk_cg_hier_t *h, const char *file, const char *value, husk_error_t *err)
{
  if (husk_cg_write (h, file, value, err) < 0)
    {
      if ((*err)->status == ENOENT)
        {
          char ctl[64];
          snprintf (ctl, sizeof ctl, "%.*s", (int) strcspn (file, "."), file);
          return husk_error_wrap (err, "the `%s` controller is not enabled for cgroup `%s`", ctl, h->path);
        }
      return -1;
    }
  return 0;
}

static int
set_memory (husk_cg_hier_t *h, const husk_memory_t *m, husk_error_t *err)
{
  int64_t limit = m->has_limit ? m->limit : 0;
  int64_t swap_in = m->has_swap ? m->swap : 0;
  int64_t swap;
  char buf[32];

  if (husk_cgroup_swap_to_v2 (swap_in, limit, &swap, err) < 0)
    return -1;
  /* checkBeforeUpdate (runc's CheckMemoryUsage): refuse a limit at or below
   * the current usage instead of letting the kernel reclaim and OOM-kill */
  if (m->has_check_before_update && m->check_before_update && limit > 0)
    {
      husk_autofree char *cur = NULL, *swap_cur = NULL;
      husk_auto_error husk_error_t tmp = NULL, tmp2 = NULL;
      uint64_t usage;
      if (husk_cg_read (h, "memory.current", &cur, &tmp) == 0 && (uint64_t) limit <= (usage = strtoull (cur, NULL, 10)))
        return husk_error_make (err, EBUSY, "rejecting memory limit %" PRId64 " below usage %" PRIu64, limit, usage);
      if (swap > 0 && husk_cg_read (h, "memory.swap.current", &swap_cur, &tmp2) == 0
          && (uint64_t) swap <= (usage = strtoull (swap_cur, NULL, 10)))
        return husk_error_make (err, EBUSY, "rejecting swap limit %" PRId64 " below swap usage %" PRIu64, swap, usage);
    }
  buf[0] = '\0';
  if (swap != 0)
    num_to_str (swap, buf, sizeof buf);
  else if (swap_in > 0)
    strcpy (buf, "0"); /* memory == memory+swap: no swap */
  if (buf[0])
    {
      husk_auto_error husk_error_t tmp = NULL;
      if (husk_cg_write (h, "memory.swap.max", buf, &tmp) < 0)
        {
          /* no swap accounting: setting "max" or "0" is moot */
          if (!(tmp->status == ENOENT && (strcmp (buf, "max") == 0 || strcmp (buf, "0") == 0)))
            {
              husk_error_move (err, &tmp);
              return -1;
            }
        }
    }
  if (limit != 0)
    {
      num_to_str (limit, buf, sizeof buf);
      if (write_ctl (h, "memory.max", buf, err) < 0)
        return -1;
    }
  if (m->has_reservation && m->reservation != 0)
    {
      num_to_str (m->reservation, buf, sizeof buf);
      if (write_ctl (h, "memory.low", buf, err) < 0)
        return -1;
    }
  /* swappiness, disableOOMKiller, kernel, kernelTCP: no v2 file; runc
   * ignores them too */
  return 0;
}

static int
set_cpu (husk_cg_hier_t *h, const husk_cpu_t *c, husk_error_t *err)
{
  char buf[64], burst[32] = "";

  if ((c->has_realtime_runtime && c->realtime_runtime != 0) || (c->has_realtime_period && c->realtime_period != 0))
    return husk_error_make (err, EINVAL, "realtime is not supported on cgroup v2");
  if (c->has_idle)
    {
      snprintf (buf, sizeof buf, "%" PRId64, c->idle);
      if (write_ctl (h, "cpu.idle", buf, err) < 0)
        return -1;
    }
  if (c->has_shares && c->shares != 0)
    {
      snprintf (buf, sizeof buf, "%" PRIu64, husk_cgroup_shares_to_weight (c->shares));
      if (write_ctl (h, "cpu.weight", buf, err) < 0)
        return -1;
    }
  if (c->has_burst)
    {
      husk_auto_error husk_error_t tmp = NULL;
      snprintf (burst, sizeof burst, "%" PRIu64, c->burst);
      if (husk_cg_write (h, "cpu.max.burst", burst, &tmp) < 0)
        {
          /* a larger burst may need the new quota first: retry after it */
          if (tmp->status != EINVAL || !c->has_quota || c->quota == 0)
            {
              husk_error_move (err, &tmp);
              return -1;
            }
        }
      else
        burst[0] = '\0';
    }
  if ((c->has_quota && c->quota != 0) || (c->has_period && c->period != 0))
    {
      size_t o;
      if (c->has_quota && c->quota > 0)
        o = (size_t) snprintf (buf, sizeof buf, "%" PRId64, c->quota);
      else
        o = (size_t) snprintf (buf, sizeof buf, "max");
      if (c->has_period && c->period != 0)
        snprintf (buf + o, sizeof buf - o, " %" PRIu64, c->period);
      if (write_ctl (h, "cpu.max", buf, err) < 0)
        return -1;
      if (burst[0] && write_ctl (h, "cpu.max.burst", burst, err) < 0)
        return -1;
    }
  if (c->cpus && *c->cpus && write_ctl (h, "cpuset.cpus", c->cpus, err) < 0)
    return -1;
  if (c->mems && *c->mems && write_ctl (h, "cpuset.mems", c->mems, err) < 0)
    return -1;
  return 0;
}

static int
set_throttle (husk_cg_hier_t *h, const husk_throttle_device_t *t, size_t n, const char *key, husk_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    {
      char buf[96];
      snprintf (buf, sizeof buf, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, t[i].major, t[i].minor, key, t[i].rate);
      if (write_ctl (h, "io.max", buf, err) < 0)
        return -1;
    }
  return 0;
}

static int
set_io (husk_cg_hier_t *h, const husk_blkio_t *b, husk_error_t *err)
{
  bool bfq = husk_cg_has_file (h, "io.bfq.weight");
  if (b->has_weight && b->weight != 0)
    {
      if (bfq)
        {
          if (husk_cg_writef (h, "io.bfq.weight", err, "%u", (unsigned) b->weight) < 0)
            return -1;
        }
      else if (husk_cg_writef (h, "io.weight", err, "%" PRIu64, husk_cgroup_blkio_to_io_weight (b->weight)) < 0)
        return -1;
    }
  if (bfq)
    for (size_t i = 0; i < b->weight_device_len; i++)
      {
        const husk_weight_device_t *w = &b->weight_device[i];
        if (w->has_weight && w->weight != 0
            && husk_cg_writef (h, "io.bfq.weight", err, "%" PRId64 ":%" PRId64 " %u", w->major, w->minor,
                               (unsigned) w->weight)
                   < 0)
          return -1;
      }
  if (set_throttle (h, b->throttle_read_bps, b->throttle_read_bps_len, "rbps", err) < 0
      || set_throttle (h, b->throttle_write_bps, b->throttle_write_bps_len, "wbps", err) < 0
      || set_throttle (h, b->throttle_read_iops, b->throttle_read_iops_len, "riops", err) < 0
      || set_throttle (h, b->throttle_write_iops, b->throttle_write_iops_len, "wiops", err) < 0)
    return -1;
  return 0;
}

/* unified: the key is a file name of this cgroup, never a path. */
static int
set_unified (husk_cg_hier_t *h, const husk_resources_t *r, husk_error_t *err)
{
  for (size_t i = 0; i < r->unified_len; i++)
    {
      const char *k = r->unified_keys[i], *v = r->unified_values[i];
      husk_autofree char *copy = NULL;
      char *save = NULL;
      if (*k == '\0' || strchr (k, '/') || strcmp (k, ".") == 0 || strcmp (k, "..") == 0)
        return husk_error_make (err, EINVAL, "unified resource `%s`: must be a file name (no slashes)", k);
      if (!husk_cg_has_file (h, k))
        {
          const char *dot = strchr (k, '.');
          if (dot == NULL)
            return husk_error_make (err, ENOENT, "unified resource `%s`: must be in the form CONTROLLER.PARAMETER", k);
          return husk_error_make (err, ENOENT,
                                  "unified resource `%s`: the file does not exist in cgroup `%s` (is the `%.*s` "
                                  "controller available?)",
                                  k, h->path, (int) (dot - k), k);
        }
      /* one write per line, like runc's WriteFileByLine */
      copy = xstrdup (v);
      if (*copy == '\0' && husk_cg_write (h, k, "", err) < 0)
        return husk_error_wrap (err, "unified resource `%s`", k);
      for (char *l = strtok_r (copy, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
        if (husk_cg_write (h, k, l, err) < 0)
          return husk_error_wrap (err, "unified resource `%s`", k);
    }
  return 0;
}

static int
v2_apply (husk_cgroup_t *cg, const husk_resources_t *r, bool update, husk_error_t *err)
{
  husk_cg_hier_t *h = husk_cg_find (cg, NULL);
  husk_autofree husk_cg_dev_rule_t *rules = NULL;
  size_t nrules;

  if (h == NULL)
    return husk_error_make (err, ENOENT, "no cgroup2 hierarchy");

  if (r)
    {
      if (r->memory && set_memory (h, r->memory, err) < 0)
        return -1;
      if (r->cpu && set_cpu (h, r->cpu, err) < 0)
        return -1;
      if (r->has_pids_limit)
        {
          char buf[32];
          num_to_str (r->pids_limit <= 0 ? -1 : r->pids_limit, buf, sizeof buf);
          if (write_ctl (h, "pids.max", buf, err) < 0)
            return -1;
        }
      if (r->block_io && set_io (h, r->block_io, err) < 0)
        return -1;
      for (size_t i = 0; i < r->hugepage_limits_len; i++)
        {
          husk_autofree char *file = xstrdup_printf ("hugetlb.%s.max", r->hugepage_limits[i].page_size);
          if (husk_cg_writef (h, file, err, "%" PRIu64, r->hugepage_limits[i].limit) < 0)
            return -1;
        }
      for (size_t i = 0; i < r->rdma_len; i++)
        {
          husk_autofree char *line = husk_cg_rdma_line (&r->rdma[i]);
          if (write_ctl (h, "rdma.max", line, err) < 0)
            return -1;
        }
      if (r->has_net_class_id || r->net_priorities_len)
        return husk_error_make (err, EINVAL, "network classID and priorities are not supported on cgroup v2");
    }

  nrules = husk_cg_device_rules (cg, r, update, &rules);
  if (nrules)
    {
      husk_autoclose int dfd = open (h->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0)
        return husk_error_make (err, errno, "cannot open cgroup `%s`", h->dir);
      if (husk_cgroup_bpf_devices (dfd, rules, nrules, err) < 0)
        return -1;
    }

  if (r && set_unified (h, r, err) < 0)
    return -1;
  return 0;
}

const husk_cgroup_ops_t husk_cgroup_v2_ops = {
  .name = "v2",
  .apply = v2_apply,
  .stats = husk_cgroup_v2_stats,
};
