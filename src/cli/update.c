/* husk update [options] ID: change the resource limits of a live container.
 *
 *   -r, --resources FILE|-   a runtime-spec LinuxResources JSON (what go-runc
 *                            and podman send); cannot be combined with the
 *                            flags below
 *   or runc's individual flags, each one changing only its own value:
 *   --blkio-weight N  --cpu-period N  --cpu-quota N  --cpu-burst N
 *   --cpu-share N  --cpu-rt-period N  --cpu-rt-runtime N  --cpu-idle N
 *   --cpuset-cpus LIST  --cpuset-mems LIST  --memory SIZE
 *   --memory-reservation SIZE  --memory-swap SIZE  --pids-limit N
 *   --l3-cache-schema S, --mem-bw-schema S   (Intel RDT: refused)
 *   --kernel-memory SIZE, --kernel-memory-tcp SIZE   (hidden: accepted, ignored,
 *                            like runc: the kernel dropped kmem limits)
 *
 * SIZE is docker's units.RAMInBytes: "1024", "512k", "100m", "1.5g", "1GiB"
 * (binary multiples, case-insensitive); "-1" means unlimited.  As in runc,
 * 0 leaves a value unchanged and --pids-limit -1 means no limit. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

enum
{
  OPT_RESOURCES = 'r',
  OPT_BLKIO_WEIGHT = 1000,
  OPT_CPU_PERIOD,
  OPT_CPU_QUOTA,
  OPT_CPU_BURST,
  OPT_CPU_SHARE,
  OPT_CPU_RT_PERIOD,
  OPT_CPU_RT_RUNTIME,
  OPT_CPUSET_CPUS,
  OPT_CPUSET_MEMS,
  OPT_CPU_IDLE,
  OPT_MEMORY,
  OPT_MEMORY_RESERVATION,
  OPT_MEMORY_SWAP,
  OPT_KERNEL_MEMORY,
  OPT_KERNEL_MEMORY_TCP,
  OPT_PIDS_LIMIT,
  OPT_L3_CACHE_SCHEMA,
  OPT_MEM_BW_SCHEMA,
};

/* docker/go-units RAMInBytes: `^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$`,
 * multiples of 1024. */
static int
ram_in_bytes (const char *opt, const char *s, int64_t *out, husk_error_t *err)
{
  const char *p = s;
  long double v;
  char *end;
  int shift = 0;

  if (strcmp (s, "-1") == 0)
    {
      *out = -1;
      return 0;
    }
  if (!isdigit ((unsigned char) *p))
    goto bad;
  errno = 0;
  v = strtold (p, &end);
  if (errno || end == p || end[-1] == '.')
    goto bad;
  for (const char *q = p; q < end; q++)
    if (!isdigit ((unsigned char) *q) && *q != '.')
      goto bad; /* no exponents, no hex */
  p = end;
  if (*p == ' ')
    p++;
  switch (tolower ((unsigned char) *p))
    {
    case 'k':
      shift = 10;
      break;
    case 'm':
      shift = 20;
      break;
    case 'g':
      shift = 30;
      break;
    case 't':
      shift = 40;
      break;
    case 'p':
      shift = 50;
      break;
    default:
      break;
    }
  if (shift)
    p++;
  if (tolower ((unsigned char) *p) == 'i')
    p++;
  if (tolower ((unsigned char) *p) == 'b')
    p++;
  if (*p != '\0')
    goto bad;
  v = ldexpl (v, shift);
  if (v > (long double) INT64_MAX)
    return husk_error_make (err, 0, "update: --%s: `%s` is too large", opt, s);
  *out = (int64_t) v;
  return 0;
bad:
  return husk_error_make (err, 0, "update: --%s: invalid size `%s` (e.g. 512k, 100m, 1g, or -1 for unlimited)", opt, s);
}

static int
parse_u64 (const char *opt, const char *s, uint64_t *out, husk_error_t *err)
{
  if (husk_parse_u64 (s, out) < 0)
    return husk_error_make (err, 0, "update: --%s: invalid value `%s` (expected an unsigned integer)", opt, s);
  return 0;
}

static int
parse_i64 (const char *opt, const char *s, int64_t *out, husk_error_t *err)
{
  if (husk_parse_i64 (s, out) < 0)
    return husk_error_make (err, 0, "update: --%s: invalid value `%s` (expected an integer)", opt, s);
  return 0;
}

static husk_memory_t *
mem (husk_resources_t *r)
{
  if (r->memory == NULL)
    r->memory = xmalloc0 (sizeof *r->memory);
  return r->memory;
}

static husk_cpu_t *
cpu (husk_resources_t *r)
{
  if (r->cpu == NULL)
    r->cpu = xmalloc0 (sizeof *r->cpu);
  return r->cpu;
}

/* One individual flag into r. */
static int
set_flag (husk_resources_t *r, int c, const char *name, const char *v, husk_error_t *err)
{
  uint64_t u;
  int64_t i;

  switch (c)
    {
    case OPT_BLKIO_WEIGHT:
      if (parse_u64 (name, v, &u, err) < 0)
        return -1;
      if (u > UINT16_MAX)
        return husk_error_make (err, 0, "update: --%s: `%s` is out of range (10-1000)", name, v);
      if (u == 0)
        return 0;
      if (r->block_io == NULL)
        r->block_io = xmalloc0 (sizeof *r->block_io);
      r->block_io->has_weight = true;
      r->block_io->weight = (uint16_t) u;
      return 0;
    case OPT_CPU_PERIOD:
      if (parse_u64 (name, v, &cpu (r)->period, err) < 0)
        return -1;
      r->cpu->has_period = true;
      return 0;
    case OPT_CPU_QUOTA:
      if (parse_i64 (name, v, &cpu (r)->quota, err) < 0)
        return -1;
      r->cpu->has_quota = true;
      return 0;
    case OPT_CPU_BURST:
      if (parse_u64 (name, v, &cpu (r)->burst, err) < 0)
        return -1;
      r->cpu->has_burst = true;
      return 0;
    case OPT_CPU_SHARE:
      if (parse_u64 (name, v, &cpu (r)->shares, err) < 0)
        return -1;
      r->cpu->has_shares = true;
      return 0;
    case OPT_CPU_RT_PERIOD:
      if (parse_u64 (name, v, &cpu (r)->realtime_period, err) < 0)
        return -1;
      r->cpu->has_realtime_period = true;
      return 0;
    case OPT_CPU_RT_RUNTIME:
      if (parse_i64 (name, v, &cpu (r)->realtime_runtime, err) < 0)
        return -1;
      r->cpu->has_realtime_runtime = true;
      return 0;
    case OPT_CPU_IDLE:
      if (parse_i64 (name, v, &cpu (r)->idle, err) < 0)
        return -1;
      if (r->cpu->idle != 0 && r->cpu->idle != 1)
        return husk_error_make (err, 0, "update: --%s: `%s` must be 0 or 1", name, v);
      r->cpu->has_idle = true;
      return 0;
    case OPT_CPUSET_CPUS:
      free (cpu (r)->cpus);
      r->cpu->cpus = xstrdup (v);
      return 0;
    case OPT_CPUSET_MEMS:
      free (cpu (r)->mems);
      r->cpu->mems = xstrdup (v);
      return 0;
    case OPT_MEMORY:
      if (ram_in_bytes (name, v, &mem (r)->limit, err) < 0)
        return -1;
      r->memory->has_limit = true;
      return 0;
    case OPT_MEMORY_RESERVATION:
      if (ram_in_bytes (name, v, &mem (r)->reservation, err) < 0)
        return -1;
      r->memory->has_reservation = true;
      return 0;
    case OPT_MEMORY_SWAP:
      if (ram_in_bytes (name, v, &mem (r)->swap, err) < 0)
        return -1;
      r->memory->has_swap = true;
      return 0;
    case OPT_KERNEL_MEMORY:
    case OPT_KERNEL_MEMORY_TCP:
      /* validated, then ignored (runc: "kernel memory limits are not supported") */
      return ram_in_bytes (name, v, &i, err);
    case OPT_PIDS_LIMIT:
      if (parse_i64 (name, v, &i, err) < 0)
        return -1;
      if (i == 0)
        return 0; /* runc: 0 leaves the limit alone */
      r->has_pids_limit = true;
      r->pids_limit = i < 0 ? -1 : i;
      return 0;
    case OPT_L3_CACHE_SCHEMA:
    case OPT_MEM_BW_SCHEMA:
      if (*v == '\0')
        return 0;
      return husk_error_make (err, 0, "update: --%s: Intel RDT (resctrl) is not supported by husk", name);
    }
  return husk_error_make (err, 0, "update: unknown option");
}

int
husk_cmd_update (husk_context_t *ctx, int argc, char **argv, husk_error_t *err)
{
  static const struct option opts[] = {
    { "resources", required_argument, 0, OPT_RESOURCES },
    { "blkio-weight", required_argument, 0, OPT_BLKIO_WEIGHT },
    { "cpu-period", required_argument, 0, OPT_CPU_PERIOD },
    { "cpu-quota", required_argument, 0, OPT_CPU_QUOTA },
    { "cpu-burst", required_argument, 0, OPT_CPU_BURST },
    { "cpu-share", required_argument, 0, OPT_CPU_SHARE },
    { "cpu-rt-period", required_argument, 0, OPT_CPU_RT_PERIOD },
    { "cpu-rt-runtime", required_argument, 0, OPT_CPU_RT_RUNTIME },
    { "cpuset-cpus", required_argument, 0, OPT_CPUSET_CPUS },
    { "cpuset-mems", required_argument, 0, OPT_CPUSET_MEMS },
    { "cpu-idle", required_argument, 0, OPT_CPU_IDLE },
    { "memory", required_argument, 0, OPT_MEMORY },
    { "memory-reservation", required_argument, 0, OPT_MEMORY_RESERVATION },
    { "memory-swap", required_argument, 0, OPT_MEMORY_SWAP },
    { "kernel-memory", required_argument, 0, OPT_KERNEL_MEMORY },
    { "kernel-memory-tcp", required_argument, 0, OPT_KERNEL_MEMORY_TCP },
    { "pids-limit", required_argument, 0, OPT_PIDS_LIMIT },
    { "l3-cache-schema", required_argument, 0, OPT_L3_CACHE_SCHEMA },
    { "mem-bw-schema", required_argument, 0, OPT_MEM_BW_SCHEMA },
    { 0, 0, 0, 0 },
  };
  const char *file = NULL, *id, *first_flag = NULL;
  husk_autofree char *json = NULL;
  husk_resources_t *res = NULL;
  size_t len;
  int c, idx, r;

  res = xmalloc0 (sizeof *res);
  optind = 1;
  opterr = 0;
  while ((c = getopt_long_only (argc, argv, "+r:", opts, &idx)) != -1)
    {
      const char *name;
      if (c == '?' || c == ':')
        {
          husk_resources_free (res);
          if (optopt && optopt != '?')
            return husk_error_make (err, 0, "update: option `%s` needs a value", argv[optind - 1]);
          return husk_error_make (err, 0, "update: unknown option `%s`", argv[optind - 1]);
        }
      if (c == OPT_RESOURCES)
        {
          file = optarg;
          continue;
        }
      name = opts[idx].name;
      if (first_flag == NULL && c != OPT_KERNEL_MEMORY && c != OPT_KERNEL_MEMORY_TCP)
        first_flag = name;
      if (set_flag (res, c, name, optarg, err) < 0)
        {
          husk_resources_free (res);
          return -1;
        }
    }
  if (husk_cli_one_id (argc, argv, "update", &id, err) < 0)
    {
      husk_resources_free (res);
      return -1;
    }
  if (file)
    {
      husk_resources_free (res);
      res = NULL;
      if (first_flag)
        return husk_error_make (err, 0, "update: --resources cannot be combined with --%s", first_flag);
      if (strcmp (file, "-") == 0 ? husk_read_fd (0, "stdin", &json, &len, err)
                                  : husk_read_file (file, &json, &len, err))
        return -1;
      if (husk_resources_parse (json, len, &res, err) < 0)
        return husk_error_wrap (err, "update: %s", file);
    }
  r = husk_container_update (ctx, id, res, err);
  husk_resources_free (res);
  return r;
}
