/* husk: usage statistics for `events --stats`, read the way runc's fs (v1)
 * and fs2 (v2) managers read them, and encoded as the "data" object of
 * runc's types.Stats (types/events.go: the Go field tags and omitempty rules
 * are the contract go-runc and containerd decode). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include "cgroup-internal.h"
#include "husk/utils.h"

/* --- reading ------------------------------------------------------------ */

/* A single number; "max" is UINT64_MAX (runc's GetCgroupParamUint).
 * A missing file gives 0. */
static uint64_t
read_u64 (husk_cg_hier_t *h, const char *file)
{
  husk_autofree char *s = NULL;
  husk_auto_error husk_error_t tmp = NULL;
  if (h == NULL || husk_cg_read (h, file, &s, &tmp) < 0)
    return 0;
  if (strncmp (s, "max", 3) == 0)
    return UINT64_MAX;
  return strtoull (s, NULL, 10);
}

static int64_t
read_i64 (husk_cg_hier_t *h, const char *file)
{
  husk_autofree char *s = NULL;
  husk_auto_error husk_error_t tmp = NULL;
  if (h == NULL || husk_cg_read (h, file, &s, &tmp) < 0)
    return 0;
  return strtoll (s, NULL, 10);
}

/* "key value" lines: the value of key, 0 when absent. */
static uint64_t
kv_get (const char *text, const char *key)
{
  size_t n = strlen (key);
  for (const char *p = text; p && *p; p = strchr (p, '\n'), p = p ? p + 1 : NULL)
    if (strncmp (p, key, n) == 0 && p[n] == ' ')
      return strtoull (p + n + 1, NULL, 10);
  return 0;
}

static char *
read_text (husk_cg_hier_t *h, const char *file)
{
  char *s = NULL;
  husk_auto_error husk_error_t tmp = NULL;
  if (h == NULL || husk_cg_read (h, file, &s, &tmp) < 0)
    return NULL;
  return s;
}

static void
read_u64_list (husk_cg_hier_t *h, const char *file, uint64_t **out, size_t *len)
{
  husk_autofree char *s = read_text (h, file);
  char *p = s, *end;
  *out = NULL;
  *len = 0;
  while (p && *p)
    {
      uint64_t v = strtoull (p, &end, 10);
      if (end == p)
        break;
      *out = xrealloc (*out, (*len + 1) * sizeof **out);
      (*out)[(*len)++] = v;
      p = end;
    }
}

/* "0-3,5" -> 0,1,2,3,5 */
static void
parse_cpu_list (const char *s, uint16_t **out, size_t *len)
{
  const char *p = s;
  *out = NULL;
  *len = 0;
  while (p && *p && *p != '\n')
    {
      char *end;
      unsigned long a = strtoul (p, &end, 10), b = a;
      if (end == p)
        break;
      if (*end == '-')
        b = strtoul (end + 1, &end, 10);
      for (unsigned long i = a; i <= b && i < 65536 && *len < 65536; i++)
        {
          *out = xrealloc (*out, (*len + 1) * sizeof **out);
          (*out)[(*len)++] = (uint16_t) i;
        }
      p = *end == ',' ? end + 1 : end;
    }
}

static void
read_raw (husk_cg_hier_t *h, husk_cg_stats_t *s)
{
  husk_autofree char *text = read_text (h, "memory.stat");
  char *save = NULL;
  if (text == NULL)
    return;
  for (char *l = strtok_r (text, "\n", &save); l; l = strtok_r (NULL, "\n", &save))
    {
      char *sp = strchr (l, ' ');
      if (sp == NULL)
        continue;
      *sp = '\0';
      s->memory.raw_keys = xrealloc (s->memory.raw_keys, (s->memory.raw_len + 1) * sizeof (char *));
      s->memory.raw_values = xrealloc (s->memory.raw_values, (s->memory.raw_len + 1) * sizeof (uint64_t));
      s->memory.raw_keys[s->memory.raw_len] = xstrdup (l);
      s->memory.raw_values[s->memory.raw_len++] = strtoull (sp + 1, NULL, 10);
    }
}

static uint64_t
raw_get (const husk_cg_stats_t *s, const char *key)
{
  for (size_t i = 0; i < s->memory.raw_len; i++)
    if (strcmp (s->memory.raw_keys[i], key) == 0)
      return s->memory.raw_values[i];
  return 0;
}

static void
blkio_add (husk_cg_blkio_list_t *l, uint64_t major, uint64_t minor, const char *op, uint64_t value)
{
  l->v = xrealloc (l->v, (l->n + 1) * sizeof *l->v);
  l->v[l->n++] = (husk_cg_blkio_entry_t){ major, minor, op, value };
}

static const char *
blkio_op (const char *s)
{
  static const char *const ops[] = { "Read", "Write", "Sync", "Async", "Discard", "Total", NULL };
  for (int i = 0; ops[i]; i++)
    if (strcmp (s, ops[i]) == 0)
      return ops[i];
  return NULL;
}

/* v1 blkio files: "MAJ:MIN Op value" lines (or "MAJ:MIN value"). */
static void
read_blkio_v1 (husk_cg_hier_t *h, const char *file, husk_cg_blkio_list_t *l)
{
  husk_autofree char *text = read_text (h, file);
  char *save = NULL;
  if (text == NULL)
    return;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      unsigned long long maj, min, v;
      char op[32];
      if (sscanf (line, "%llu:%llu %31s %llu", &maj, &min, op, &v) == 4)
        {
          const char *o = blkio_op (op);
          if (o)
            blkio_add (l, maj, min, o, v);
        }
      else if (sscanf (line, "%llu:%llu %llu", &maj, &min, &v) == 3)
        blkio_add (l, maj, min, "", v);
    }
}

/* /sys/kernel/mm/hugepages/hugepages-2048kB -> "2MB" (runc's naming). */
static char **
hugepage_sizes (void)
{
  husk_autoclosedir DIR *d = opendir ("/sys/kernel/mm/hugepages");
  struct dirent *de;
  char **v = NULL;
  size_t n = 0;
  static const char *const units[] = { "KB", "MB", "GB", "TB", "PB" };
  if (d == NULL)
    return NULL;
  while ((de = readdir (d)))
    {
      unsigned long long kb;
      int u = 0;
      if (sscanf (de->d_name, "hugepages-%llukB", &kb) != 1)
        continue;
      while (kb >= 1024 && kb % 1024 == 0 && u < 4)
        {
          kb /= 1024;
          u++;
        }
      v = xrealloc (v, (n + 2) * sizeof *v);
      v[n++] = xstrdup_printf ("%llu%s", kb, units[u]);
      v[n] = NULL;
    }
  return v;
}

static void
hugetlb_add (husk_cg_stats_t *s, const char *size, uint64_t usage, uint64_t max, uint64_t failcnt)
{
  s->hugetlb = xrealloc (s->hugetlb, (s->hugetlb_len + 1) * sizeof *s->hugetlb);
  s->hugetlb[s->hugetlb_len++] = (husk_cg_hugetlb_t){ xstrdup (size), usage, max, failcnt };
}

static void
mem_entry_v1 (husk_cg_hier_t *h, const char *prefix, husk_cg_mem_entry_t *e)
{
  husk_autofree char *f = NULL;
  f = xstrdup_printf ("%s.usage_in_bytes", prefix);
  e->usage = read_u64 (h, f);
  free (f);
  f = xstrdup_printf ("%s.max_usage_in_bytes", prefix);
  e->max = read_u64 (h, f);
  free (f);
  f = xstrdup_printf ("%s.failcnt", prefix);
  e->failcnt = read_u64 (h, f);
  free (f);
  f = xstrdup_printf ("%s.limit_in_bytes", prefix);
  e->limit = read_u64 (h, f);
}

int
husk_cgroup_v1_stats (husk_cgroup_t *cg, husk_cg_stats_t *s, husk_error_t *err)
{
  husk_cg_hier_t *h;
  husk_autofree char *text = NULL;

  if ((h = husk_cg_find (cg, "cpuacct")))
    {
      long tck = sysconf (_SC_CLK_TCK);
      s->cpu.total = read_u64 (h, "cpuacct.usage");
      read_u64_list (h, "cpuacct.usage_percpu", &s->cpu.percpu, &s->cpu.percpu_len);
      read_u64_list (h, "cpuacct.usage_percpu_sys", &s->cpu.percpu_kernel, &s->cpu.percpu_kernel_len);
      read_u64_list (h, "cpuacct.usage_percpu_user", &s->cpu.percpu_user, &s->cpu.percpu_user_len);
      text = read_text (h, "cpuacct.stat");
      if (text && tck > 0)
        {
          s->cpu.user = kv_get (text, "user") * 1000000000ull / (uint64_t) tck;
          s->cpu.kernel = kv_get (text, "system") * 1000000000ull / (uint64_t) tck;
        }
      free (steal_ptr (&text));
    }
  if ((h = husk_cg_find (cg, "cpu")) && (text = read_text (h, "cpu.stat")))
    {
      s->cpu.periods = kv_get (text, "nr_periods");
      s->cpu.throttled_periods = kv_get (text, "nr_throttled");
      s->cpu.throttled_time = kv_get (text, "throttled_time");
      free (steal_ptr (&text));
    }
  if ((h = husk_cg_find (cg, "cpuset")))
    {
      husk_autofree char *cpus = read_text (h, "cpuset.cpus"), *mems = read_text (h, "cpuset.mems");
      parse_cpu_list (cpus, &s->cpuset.cpus, &s->cpuset.cpus_len);
      parse_cpu_list (mems, &s->cpuset.mems, &s->cpuset.mems_len);
      s->cpuset.cpu_exclusive = read_u64 (h, "cpuset.cpu_exclusive");
      s->cpuset.mem_hardwall = read_u64 (h, "cpuset.mem_hardwall");
      s->cpuset.mem_exclusive = read_u64 (h, "cpuset.mem_exclusive");
      s->cpuset.memory_migrate = read_u64 (h, "cpuset.memory_migrate");
      s->cpuset.memory_spread_page = read_u64 (h, "cpuset.memory_spread_page");
      s->cpuset.memory_spread_slab = read_u64 (h, "cpuset.memory_spread_slab");
      s->cpuset.memory_pressure = read_u64 (h, "cpuset.memory_pressure");
      s->cpuset.sched_load_balance = read_u64 (h, "cpuset.sched_load_balance");
      s->cpuset.sched_relax_domain_level = read_i64 (h, "cpuset.sched_relax_domain_level");
    }
  if ((h = husk_cg_find (cg, "memory")))
    {
      read_raw (h, s);
      s->memory.cache = raw_get (s, "cache");
      mem_entry_v1 (h, "memory", &s->memory.usage);
      mem_entry_v1 (h, "memory.memsw", &s->memory.swap);
      mem_entry_v1 (h, "memory.kmem", &s->memory.kernel);
      mem_entry_v1 (h, "memory.kmem.tcp", &s->memory.kernel_tcp);
    }
  if ((h = husk_cg_find (cg, "pids")))
    {
      s->pids.current = read_u64 (h, "pids.current");
      s->pids.limit = read_u64 (h, "pids.max");
      if (s->pids.limit == UINT64_MAX)
        s->pids.limit = 0; /* runc: unlimited is 0 */
    }
  if ((h = husk_cg_find (cg, "blkio")))
    {
      /* CFQ/BFQ files when the scheduler has them, else the throttle ones */
      static const char *const cfq[8] = {
        "blkio.io_service_bytes_recursive", "blkio.io_serviced_recursive",    "blkio.io_queued_recursive",
        "blkio.io_service_time_recursive",  "blkio.io_wait_time_recursive",   "blkio.io_merged_recursive",
        "blkio.time_recursive",             "blkio.sectors_recursive",
      };
      for (int i = 0; i < 8; i++)
        read_blkio_v1 (h, cfq[i], &s->blkio[i]);
      if (s->blkio[1].n == 0)
        {
          read_blkio_v1 (h, "blkio.bfq.io_service_bytes_recursive", &s->blkio[0]);
          read_blkio_v1 (h, "blkio.bfq.io_serviced_recursive", &s->blkio[1]);
        }
      if (s->blkio[1].n == 0)
        {
          read_blkio_v1 (h, "blkio.throttle.io_service_bytes_recursive", &s->blkio[0]);
          read_blkio_v1 (h, "blkio.throttle.io_serviced_recursive", &s->blkio[1]);
        }
    }
  if ((h = husk_cg_find (cg, "hugetlb")))
    {
      husk_autostrv char **sizes = hugepage_sizes ();
      for (size_t i = 0; sizes && sizes[i]; i++)
        {
          husk_autofree char *u = xstrdup_printf ("hugetlb.%s.usage_in_bytes", sizes[i]);
          husk_autofree char *m = xstrdup_printf ("hugetlb.%s.max_usage_in_bytes", sizes[i]);
          husk_autofree char *f = xstrdup_printf ("hugetlb.%s.failcnt", sizes[i]);
          hugetlb_add (s, sizes[i], read_u64 (h, u), read_u64 (h, m), read_u64 (h, f));
        }
    }
  (void) err;
  return 0;
}

int
husk_cgroup_v2_stats (husk_cgroup_t *cg, husk_cg_stats_t *s, husk_error_t *err)
{
  husk_cg_hier_t *h = husk_cg_find (cg, NULL);
  husk_autofree char *text = NULL;

  if (h == NULL)
    return husk_error_make (err, ENOENT, "no cgroup2 hierarchy");
  if ((text = read_text (h, "cpu.stat")))
    {
      s->cpu.total = kv_get (text, "usage_usec") * 1000;
      s->cpu.user = kv_get (text, "user_usec") * 1000;
      s->cpu.kernel = kv_get (text, "system_usec") * 1000;
      s->cpu.periods = kv_get (text, "nr_periods");
      s->cpu.throttled_periods = kv_get (text, "nr_throttled");
      s->cpu.throttled_time = kv_get (text, "throttled_usec") * 1000;
      free (steal_ptr (&text));
    }
  if (husk_cg_has_file (h, "cpuset.cpus.effective"))
    {
      husk_autofree char *cpus = read_text (h, "cpuset.cpus.effective");
      husk_autofree char *mems = read_text (h, "cpuset.mems.effective");
      parse_cpu_list (cpus, &s->cpuset.cpus, &s->cpuset.cpus_len);
      parse_cpu_list (mems, &s->cpuset.mems, &s->cpuset.mems_len);
    }
  if (husk_cg_has_file (h, "memory.current"))
    {
      read_raw (h, s);
      s->memory.cache = raw_get (s, "file");
      s->memory.usage.usage = read_u64 (h, "memory.current");
      s->memory.usage.limit = read_u64 (h, "memory.max");
      s->memory.usage.max = read_u64 (h, "memory.peak");
      /* v1 compatibility: swap is reported as memory+swap */
      s->memory.swap.usage = read_u64 (h, "memory.swap.current") + s->memory.usage.usage;
      s->memory.swap.limit = read_u64 (h, "memory.swap.max");
      if (s->memory.swap.limit != UINT64_MAX && s->memory.usage.limit != UINT64_MAX)
        s->memory.swap.limit += s->memory.usage.limit;
      else
        s->memory.swap.limit = UINT64_MAX;
    }
  if (husk_cg_has_file (h, "pids.current"))
    {
      s->pids.current = read_u64 (h, "pids.current");
      s->pids.limit = read_u64 (h, "pids.max");
      if (s->pids.limit == UINT64_MAX)
        s->pids.limit = 0;
    }
  if ((text = read_text (h, "io.stat")))
    {
      char *save = NULL;
      for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
        {
          unsigned long long maj, min;
          char *sp = NULL;
          if (sscanf (line, "%llu:%llu", &maj, &min) != 2)
            continue;
          strtok_r (line, " ", &sp);
          for (char *kv = strtok_r (NULL, " ", &sp); kv; kv = strtok_r (NULL, " ", &sp))
            {
              char *eq = strchr (kv, '=');
              uint64_t v;
              if (eq == NULL)
                continue;
              *eq = '\0';
              v = strtoull (eq + 1, NULL, 10);
              if (strcmp (kv, "rbytes") == 0)
                blkio_add (&s->blkio[0], maj, min, "Read", v);
              else if (strcmp (kv, "wbytes") == 0)
                blkio_add (&s->blkio[0], maj, min, "Write", v);
              else if (strcmp (kv, "rios") == 0)
                blkio_add (&s->blkio[1], maj, min, "Read", v);
              else if (strcmp (kv, "wios") == 0)
                blkio_add (&s->blkio[1], maj, min, "Write", v);
            }
        }
      free (steal_ptr (&text));
    }
  {
    husk_autostrv char **sizes = hugepage_sizes ();
    for (size_t i = 0; sizes && sizes[i]; i++)
      {
        husk_autofree char *cur = xstrdup_printf ("hugetlb.%s.current", sizes[i]);
        husk_autofree char *ev = xstrdup_printf ("hugetlb.%s.events", sizes[i]);
        husk_autofree char *evt = NULL;
        if (!husk_cg_has_file (h, cur))
          continue;
        evt = read_text (h, ev);
        hugetlb_add (s, sizes[i], read_u64 (h, cur), 0, evt ? kv_get (evt, "max") : 0);
      }
  }
  return 0;
}

void
husk_cg_stats_release (husk_cg_stats_t *s)
{
  free (s->cpu.percpu);
  free (s->cpu.percpu_kernel);
  free (s->cpu.percpu_user);
  free (s->cpuset.cpus);
  free (s->cpuset.mems);
  for (size_t i = 0; i < s->memory.raw_len; i++)
    free (s->memory.raw_keys[i]);
  free (s->memory.raw_keys);
  free (s->memory.raw_values);
  for (int i = 0; i < 8; i++)
    free (s->blkio[i].v);
  for (size_t i = 0; i < s->hugetlb_len; i++)
    free (s->hugetlb[i].size);
  free (s->hugetlb);
  memset (s, 0, sizeof *s);
}

/* --- JSON --------------------------------------------------------------- */

static void
g_key (yajl_gen g, const char *k)
{
  yajl_gen_string (g, (const unsigned char *) k, strlen (k));
}

static void
g_u64 (yajl_gen g, uint64_t v)
{
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%" PRIu64, v);
  yajl_gen_number (g, buf, (size_t) n);
}

static void
g_i64 (yajl_gen g, int64_t v)
{
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%" PRId64, v);
  yajl_gen_number (g, buf, (size_t) n);
}

/* key: value, or nothing when omitempty and zero */
static void
g_kv (yajl_gen g, const char *k, uint64_t v, bool omitempty)
{
  if (omitempty && v == 0)
    return;
  g_key (g, k);
  g_u64 (g, v);
}

static void
g_u64_array (yajl_gen g, const char *k, const uint64_t *v, size_t n)
{
  if (n == 0)
    return;
  g_key (g, k);
  yajl_gen_array_open (g);
  for (size_t i = 0; i < n; i++)
    g_u64 (g, v[i]);
  yajl_gen_array_close (g);
}

static void
g_u16_array (yajl_gen g, const char *k, const uint16_t *v, size_t n)
{
  if (n == 0)
    return;
  g_key (g, k);
  yajl_gen_array_open (g);
  for (size_t i = 0; i < n; i++)
    g_u64 (g, v[i]);
  yajl_gen_array_close (g);
}

static void
g_mem_entry (yajl_gen g, const char *k, const husk_cg_mem_entry_t *e)
{
  g_key (g, k);
  yajl_gen_map_open (g);
  g_kv (g, "limit", e->limit, false);
  g_kv (g, "usage", e->usage, true);
  g_kv (g, "max", e->max, true);
  g_kv (g, "failcnt", e->failcnt, false);
  yajl_gen_map_close (g);
}

static void
encode (yajl_gen g, const husk_cg_stats_t *s)
{
  static const char *const blkio_keys[8] = {
    "ioServiceBytesRecursive", "ioServicedRecursive", "ioQueueRecursive",  "ioServiceTimeRecursive",
    "ioWaitTimeRecursive",     "ioMergedRecursive",   "ioTimeRecursive",   "sectorsRecursive",
  };

  yajl_gen_map_open (g);

  g_key (g, "cpu");
  yajl_gen_map_open (g);
  g_key (g, "usage");
  yajl_gen_map_open (g);
  g_kv (g, "total", s->cpu.total, true);
  g_u64_array (g, "percpu", s->cpu.percpu, s->cpu.percpu_len);
  g_u64_array (g, "percpu_kernel", s->cpu.percpu_kernel, s->cpu.percpu_kernel_len);
  g_u64_array (g, "percpu_user", s->cpu.percpu_user, s->cpu.percpu_user_len);
  g_kv (g, "kernel", s->cpu.kernel, false);
  g_kv (g, "user", s->cpu.user, false);
  yajl_gen_map_close (g);
  g_key (g, "throttling");
  yajl_gen_map_open (g);
  g_kv (g, "periods", s->cpu.periods, true);
  g_kv (g, "throttledPeriods", s->cpu.throttled_periods, true);
  g_kv (g, "throttledTime", s->cpu.throttled_time, true);
  yajl_gen_map_close (g);
  yajl_gen_map_close (g);

  g_key (g, "cpuset");
  yajl_gen_map_open (g);
  g_u16_array (g, "cpus", s->cpuset.cpus, s->cpuset.cpus_len);
  g_kv (g, "cpu_exclusive", s->cpuset.cpu_exclusive, false);
  g_u16_array (g, "mems", s->cpuset.mems, s->cpuset.mems_len);
  g_kv (g, "mem_hardwall", s->cpuset.mem_hardwall, false);
  g_kv (g, "mem_exclusive", s->cpuset.mem_exclusive, false);
  g_kv (g, "memory_migrate", s->cpuset.memory_migrate, false);
  g_kv (g, "memory_spread_page", s->cpuset.memory_spread_page, false);
  g_kv (g, "memory_spread_slab", s->cpuset.memory_spread_slab, false);
  g_kv (g, "memory_pressure", s->cpuset.memory_pressure, false);
  g_kv (g, "sched_load_balance", s->cpuset.sched_load_balance, false);
  g_key (g, "sched_relax_domain_level");
  g_i64 (g, s->cpuset.sched_relax_domain_level);
  yajl_gen_map_close (g);

  g_key (g, "memory");
  yajl_gen_map_open (g);
  g_kv (g, "cache", s->memory.cache, true);
  g_mem_entry (g, "usage", &s->memory.usage);
  g_mem_entry (g, "swap", &s->memory.swap);
  g_mem_entry (g, "kernel", &s->memory.kernel);
  g_mem_entry (g, "kernelTCP", &s->memory.kernel_tcp);
  if (s->memory.raw_len)
    {
      g_key (g, "raw");
      yajl_gen_map_open (g);
      for (size_t i = 0; i < s->memory.raw_len; i++)
        g_kv (g, s->memory.raw_keys[i], s->memory.raw_values[i], false);
      yajl_gen_map_close (g);
    }
  yajl_gen_map_close (g);

  g_key (g, "pids");
  yajl_gen_map_open (g);
  g_kv (g, "current", s->pids.current, true);
  g_kv (g, "limit", s->pids.limit, true);
  yajl_gen_map_close (g);

  g_key (g, "blkio");
  yajl_gen_map_open (g);
  for (int i = 0; i < 8; i++)
    {
      if (s->blkio[i].n == 0)
        continue;
      g_key (g, blkio_keys[i]);
      yajl_gen_array_open (g);
      for (size_t k = 0; k < s->blkio[i].n; k++)
        {
          const husk_cg_blkio_entry_t *e = &s->blkio[i].v[k];
          yajl_gen_map_open (g);
          g_kv (g, "major", e->major, true);
          g_kv (g, "minor", e->minor, true);
          if (e->op && *e->op)
            {
              g_key (g, "op");
              g_key (g, e->op);
            }
          g_kv (g, "value", e->value, true);
          yajl_gen_map_close (g);
        }
      yajl_gen_array_close (g);
    }
  yajl_gen_map_close (g);

  g_key (g, "hugetlb");
  yajl_gen_map_open (g);
  for (size_t i = 0; i < s->hugetlb_len; i++)
    {
      g_key (g, s->hugetlb[i].size);
      yajl_gen_map_open (g);
      g_kv (g, "usage", s->hugetlb[i].usage, true);
      g_kv (g, "max", s->hugetlb[i].max, true);
      g_kv (g, "failcnt", s->hugetlb[i].failcnt, false);
      yajl_gen_map_close (g);
    }
  yajl_gen_map_close (g);

  g_key (g, "intel_rdt");
  yajl_gen_map_open (g);
  yajl_gen_map_close (g);

  g_key (g, "network_interfaces");
  yajl_gen_null (g);

  yajl_gen_map_close (g);
}

int
husk_cgroup_stats_json (husk_cgroup_t *cg, char **json_out, husk_error_t *err)
{
  husk_cg_stats_t s;
  yajl_gen g;
  const unsigned char *buf;
  size_t len;

  memset (&s, 0, sizeof s);
  if (cg->ops->stats (cg, &s, err) < 0)
    {
      husk_cg_stats_release (&s);
      return -1;
    }
  g = yajl_gen_alloc (NULL);
  if (g == NULL)
    abort ();
  encode (g, &s);
  yajl_gen_get_buf (g, &buf, &len);
  *json_out = xstrndup ((const char *) buf, len);
  yajl_gen_free (g);
  husk_cg_stats_release (&s);
  return 0;
}
