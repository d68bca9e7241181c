/* husk: linux.resources, shared by config.json and `update -r` (base ""
 * there, so errors read `memory.limit: ...`). */
#include <stdlib.h>
#include <string.h>
#include "spec-internal.h"

static int
parse_device_rules (yajl_val res, const char *base, husk_resources_t *r, husk_error_t *err)
{
  yajl_val arr = NULL;
  husk_autofree char *path = NULL;
  int ret = spec_get_array (res, base, "devices", &arr, err);
  if (ret <= 0)
    return ret;
  path = spec_path (base, "devices");
  r->devices = xmalloc0 ((arr->u.array.len + 1) * sizeof (husk_device_rule_t));
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      husk_device_rule_t *d = &r->devices[i];
      husk_autofree char *ipath = spec_path_idx (path, i);
      husk_autofree char *type = NULL;

      r->devices_len = i + 1;
      d->type = 'a';
      d->major = d->minor = -1;
      if (spec_expect_object (v, ipath, err) < 0
          || spec_get_bool (v, ipath, "allow", &d->allow, NULL, err) < 0
          || spec_get_string (v, ipath, "type", &type, err) < 0
          || spec_get_i64 (v, ipath, "major", &d->major, &d->has_major, err) < 0
          || spec_get_i64 (v, ipath, "minor", &d->minor, &d->has_minor, err) < 0
          || spec_get_string (v, ipath, "access", &d->access, err) < 0)
        return -1;
      if (type != NULL)
        {
          if (strlen (type) != 1 || strchr ("acb", type[0]) == NULL)
            return spec_error (err, ipath, "type", "unknown device type `%s`", type);
          d->type = type[0];
        }
      if (d->access != NULL && strspn (d->access, "rwm") != strlen (d->access))
        return spec_error (err, ipath, "access", "invalid access `%s`", d->access);
    }
  return 0;
}

static int
parse_memory (yajl_val res, const char *base, husk_resources_t *r, husk_error_t *err)
{
  yajl_val v = NULL;
  husk_autofree char *path = NULL;
  husk_memory_t *m;
  int ret = spec_get_object (res, base, "memory", &v, err);
  if (ret <= 0)
    return ret;
  path = spec_path (base, "memory");
  m = r->memory = xmalloc0 (sizeof *m);
  if (spec_get_i64 (v, path, "limit", &m->limit, &m->has_limit, err) < 0
      || spec_get_i64 (v, path, "reservation", &m->reservation, &m->has_reservation, err) < 0
      || spec_get_i64 (v, path, "swap", &m->swap, &m->has_swap, err) < 0
      || spec_get_i64 (v, path, "kernel", &m->kernel, &m->has_kernel, err) < 0
      || spec_get_i64 (v, path, "kernelTCP", &m->kernel_tcp, &m->has_kernel_tcp, err) < 0
      || spec_get_u64 (v, path, "swappiness", &m->swappiness, &m->has_swappiness, err) < 0
      || spec_get_bool (v, path, "disableOOMKiller", &m->disable_oom_killer,
                        &m->has_disable_oom_killer, err)
             < 0
      || spec_get_bool (v, path, "useHierarchy", &m->use_hierarchy, &m->has_use_hierarchy, err)
             < 0
      || spec_get_bool (v, path, "checkBeforeUpdate", &m->check_before_update,
                        &m->has_check_before_update, err)
             < 0)
    return -1;
  if (m->has_swappiness && m->swappiness > 100)
    return spec_error (err, path, "swappiness", "must be between 0 and 100");
  return 0;
}

static int
parse_cpu (yajl_val res, const char *base, husk_resources_t *r, husk_error_t *err)
{
  yajl_val v = NULL;
  husk_autofree char *path = NULL;
  husk_cpu_t *c;
  int ret = spec_get_object (res, base, "cpu", &v, err);
  if (ret <= 0)
    return ret;
  path = spec_path (base, "cpu");
  c = r->cpu = xmalloc0 (sizeof *c);
  if (spec_get_u64 (v, path, "shares", &c->shares, &c->has_shares, err) < 0
      || spec_get_i64 (v, path, "quota", &c->quota, &c->has_quota, err) < 0
      || spec_get_u64 (v, path, "burst", &c->burst, &c->has_burst, err) < 0
      || spec_get_u64 (v, path, "period", &c->period, &c->has_period, err) < 0
      || spec_get_i64 (v, path, "realtimeRuntime", &c->realtime_runtime,
                       &c->has_realtime_runtime, err)
             < 0
      || spec_get_u64 (v, path, "realtimePeriod", &c->realtime_period, &c->has_realtime_period,
                       err)
             < 0
      || spec_get_i64 (v, path, "idle", &c->idle, &c->has_idle, err) < 0
      || spec_get_string (v, path, "cpus", &c->cpus, err) < 0
      || spec_get_string (v, path, "mems", &c->mems, err) < 0)
    return -1;
  return 0;
}

static int
parse_throttle (yajl_val bio, const char *base, const char *key, husk_throttle_device_t **out,
                size_t *len, husk_error_t *err)
{
  yajl_val arr = NULL;
  husk_autofree char *path = NULL;
  husk_throttle_device_t *t;
  int ret = spec_get_array (bio, base, key, &arr, err);
  if (ret <= 0)
    return ret;
  path = spec_path (base, key);
  t = *out = xmalloc0 ((arr->u.array.len + 1) * sizeof *t);
  *len = arr->u.array.len;
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      husk_autofree char *ipath = spec_path_idx (path, i);
      if (spec_expect_object (v, ipath, err) < 0
          || spec_get_i64 (v, ipath, "major", &t[i].major, NULL, err) < 0
          || spec_get_i64 (v, ipath, "minor", &t[i].minor, NULL, err) < 0
          || spec_get_u64 (v, ipath, "rate", &t[i].rate, NULL, err) < 0)
        return -1;
    }
  return 0;
}

static void
blkio_free (husk_blkio_t *b)
{
  if (b == NULL)
    return;
  free (b->weight_device);
  free (b->throttle_read_bps);
  free (b->throttle_write_bps);
  free (b->throttle_read_iops);
  free (b->throttle_write_iops);
  free (b);
}

static int
parse_block_io (yajl_val res, const char *base, husk_resources_t *r, husk_error_t *err)
{
  yajl_val v = NULL;
  yajl_val arr = NULL;
  husk_autofree char *path = NULL;
  husk_blkio_t *b;
  int ret = spec_get_object (res, base, "blockIO", &v, err);
  if (ret <= 0)
    return ret;
  path = spec_path (base, "blockIO");
  b = r->block_io = xmalloc0 (sizeof *b);
  if (spec_get_u16 (v, path, "weight", &b->weight, &b->has_weight, err) < 0
      || spec_get_u16 (v, path, "leafWeight", &b->leaf_weight, &b->has_leaf_weight, err) < 0)
    return -1;
  ret = spec_get_array (v, path, "weightDevice", &arr, err);
  if (ret < 0)
    return -1;
  if (ret > 0)
    {
      husk_autofree char *wpath = spec_path (path, "weightDevice");
      b->weight_device = xmalloc0 ((arr->u.array.len + 1) * sizeof (husk_weight_device_t));
      b->weight_device_len = arr->u.array.len;
      for (size_t i = 0; i < arr->u.array.len; i++)
        {
          yajl_val d = arr->u.array.values[i];
          husk_weight_device_t *w = &b->weight_device[i];
          husk_autofree char *ipath = spec_path_idx (wpath, i);
          if (spec_expect_object (d, ipath, err) < 0
              || spec_get_i64 (d, ipath, "major", &w->major, NULL, err) < 0
              || spec_get_i64 (d, ipath, "minor", &w->minor, NULL, err) < 0
              || spec_get_u16 (d, ipath, "weight", &w->weight, &w->has_weight, err) < 0
              || spec_get_u16 (d, ipath, "leafWeight", &w->leaf_weight, &w->has_leaf_weight, err)
                     < 0)
            return -1;
        }
    }
  if (parse_throttle (v, path, "throttleReadBpsDevice", &b->throttle_read_bps,
                      &b->throttle_read_bps_len, err)
          < 0
      || parse_throttle (v, path, "throttleWriteBpsDevice", &b->throttle_write_bps,
                         &b->throttle_write_bps_len, err)
             < 0
      || parse_throttle (v, path, "throttleReadIOPSDevice", &b->throttle_read_iops,
                         &b->throttle_read_iops_len, err)
             < 0
      || parse_throttle (v, path, "throttleWriteIOPSDevice", &b->throttle_write_iops,
                         &b->throttle_write_iops_len, err)
             < 0)
    return -1;
  return 0;
}

static int
parse_hugepages (yajl_val res, const char *base, husk_resources_t *r, husk_error_t *err)
{
  yajl_val arr = NULL;
  husk_autofree char *path = NULL;
  int ret = spec_get_array (res, base, "hugepageLimits", &arr, err);
  if (ret <= 0)
    return ret;
  path = spec_path (base, "hugepageLimits");
  r->hugepage_limits = xmalloc0 ((arr->u.array.len + 1) * sizeof (husk_hugepage_limit_t));
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      yajl_val v = arr->u.array.values[i];
      husk_hugepage_limit_t *h = &r->hugepage_limits[i];
      husk_autofree char *ipath = spec_path_idx (path, i);
      r->hugepage_limits_len = i + 1;
      if (spec_expect_object (v, ipath, err) < 0
          || spec_require_string (v, ipath, "pageSize", &h->page_size, err) < 0
          || spec_get_u64 (v, ipath, "limit", &h->limit, NULL, err) < 0)
        return -1;
    }
  return 0;
}

static int
parse_network (yajl_val res, const char *base, husk_resources_t *r, husk_error_t *err)
{
  yajl_val v = NULL;
  yajl_val arr = NULL;
  husk_autofree char *path = NULL;
  int ret = spec_get_object (res, base, "network", &v, err);
  if (ret <= 0)
    return ret;
  path = spec_path (base, "network");
  if (spec_get_u32 (v, path, "classID", &r->net_class_id, &r->has_net_class_id, err) < 0)
    return -1;
  ret = spec_get_array (v, path, "priorities", &arr, err);
  if (ret <= 0)
    return ret;
  {
    husk_autofree char *ppath = spec_path (path, "priorities");
    r->net_priorities = xmalloc0 ((arr->u.array.len + 1) * sizeof (husk_net_priority_t));
    for (size_t i = 0; i < arr->u.array.len; i++)
      {
        yajl_val p = arr->u.array.values[i];
        husk_net_priority_t *np = &r->net_priorities[i];
        husk_autofree char *ipath = spec_path_idx (ppath, i);
        r->net_priorities_len = i + 1;
        if (spec_expect_object (p, ipath, err) < 0
            || spec_require_string (p, ipath, "name", &np->name, err) < 0
            || spec_get_u32 (p, ipath, "priority", &np->priority, NULL, err) < 0)
          return -1;
      }
  }
  return 0;
}

static int
parse_rdma (yajl_val res, const char *base, husk_resources_t *r, husk_error_t *err)
{
  yajl_val v = NULL;
  husk_autofree char *path = NULL;
  int ret = spec_get_object (res, base, "rdma", &v, err);
  if (ret <= 0)
    return ret;
  path = spec_path (base, "rdma");
  r->rdma = xmalloc0 ((v->u.object.len + 1) * sizeof (husk_rdma_t));
  for (size_t i = 0; i < v->u.object.len; i++)
    {
      const char *dev = v->u.object.keys[i];
      yajl_val d = v->u.object.values[i];
      husk_rdma_t *rd = &r->rdma[i];
      husk_autofree char *dpath = spec_path (path, dev);
      r->rdma_len = i + 1;
      rd->device = xstrdup (dev);
      if (spec_expect_object (d, dpath, err) < 0
          || spec_get_u32 (d, dpath, "hcaHandles", &rd->hca_handles, &rd->has_hca_handles, err)
                 < 0
          || spec_get_u32 (d, dpath, "hcaObjects", &rd->hca_objects, &rd->has_hca_objects, err)
                 < 0)
        return -1;
    }
  return 0;
}

static int
parse_unified (yajl_val res, const char *base, husk_resources_t *r, husk_error_t *err)
{
  husk_autofree char *path = NULL;
  int ret = spec_get_strmap (res, base, "unified", &r->unified_keys, &r->unified_values,
                             &r->unified_len, err);
  if (ret <= 0)
    return ret;
  path = spec_path (base, "unified");
  /* runc's rules: a file name in the cgroup directory, CONTROLLER.PARAMETER. */
  for (size_t i = 0; i < r->unified_len; i++)
    {
      const char *k = r->unified_keys[i];
      const char *dot = strchr (k, '.');
      if (strchr (k, '/') != NULL)
        return spec_error (err, path, k, "must be a file name (no slashes)");
      if (dot == NULL || dot == k || dot[1] == '\0')
        return spec_error (err, path, k, "must be in the form CONTROLLER.PARAMETER");
    }
  return 0;
}

int
spec_parse_resources (yajl_val v, const char *base, husk_resources_t *r, husk_error_t *err)
{
  yajl_val pids = NULL;
  int ret;

  if (parse_device_rules (v, base, r, err) < 0 || parse_memory (v, base, r, err) < 0
      || parse_cpu (v, base, r, err) < 0)
    return -1;
  ret = spec_get_object (v, base, "pids", &pids, err);
  if (ret < 0)
    return -1;
  if (ret > 0)
    {
      husk_autofree char *path = spec_path (base, "pids");
      if (spec_get_i64 (pids, path, "limit", &r->pids_limit, &r->has_pids_limit, err) < 0)
        return -1;
    }
  if (parse_block_io (v, base, r, err) < 0 || parse_hugepages (v, base, r, err) < 0
      || parse_network (v, base, r, err) < 0 || parse_rdma (v, base, r, err) < 0
      || parse_unified (v, base, r, err) < 0)
    return -1;
  return 0;
}

void
spec_resources_clear (husk_resources_t *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->devices_len; i++)
    free (r->devices[i].access);
  free (r->devices);
  free (r->memory);
  if (r->cpu)
    {
      free (r->cpu->cpus);
      free (r->cpu->mems);
      free (r->cpu);
    }
  blkio_free (r->block_io);
  for (size_t i = 0; i < r->hugepage_limits_len; i++)
    free (r->hugepage_limits[i].page_size);
  free (r->hugepage_limits);
  for (size_t i = 0; i < r->net_priorities_len; i++)
    free (r->net_priorities[i].name);
  free (r->net_priorities);
  for (size_t i = 0; i < r->rdma_len; i++)
    free (r->rdma[i].device);
  free (r->rdma);
  husk_strv_free (r->unified_keys);
  husk_strv_free (r->unified_values);
  memset (r, 0, sizeof *r);
}
