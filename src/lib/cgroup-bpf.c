/* husk: device rules on cgroup v2 as a BPF_PROG_TYPE_CGROUP_DEVICE program,
 * built by hand and loaded with bpf(2) (like runc's devicefilter and crun's
 * ebpf.c), no libbpf.
 *
 * The program sees struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
 * u32 minor; } with access_type = (access << 16) | type.  Rules are tested
 * from the last to the first, so the last matching rule wins (the order the
 * spec gives them in); nothing matching means deny.
 *
 *   r2 = ctx->access_type & 0xffff       type  (BPF_DEVCG_DEV_CHAR/BLOCK)
 *   r3 = ctx->access_type >> 16          access (BPF_DEVCG_ACC_*)
 *   r4 = ctx->major, r5 = ctx->minor
 *   per rule:  if r2 != TYPE goto next         (unless type 'a')
 *              w1 = w3 & ACC; if r1 != r3 goto next   (unless "rwm")
 *              if r4 != MAJOR goto next        (unless *)
 *              if r5 != MINOR goto next        (unless *)
 *              r0 = ALLOW; exit
 *   r0 = 0; exit
 *
 * The new program is attached with BPF_F_ALLOW_MULTI, then the programs that
 * were attached to the cgroup before are detached (an update replaces them). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>
#include "cgroup-internal.h"
#include "husk/utils.h"

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

static long
sys_bpf (int cmd, union bpf_attr *attr)
{
  return syscall (SYS_bpf, cmd, attr, sizeof *attr);
}

typedef struct
{
  struct bpf_insn *v;
  size_t n;
} prog_t;

static void
emit (prog_t *p, struct bpf_insn insn)
{
  p->v = xrealloc (p->v, (p->n + 1) * sizeof *p->v);
  p->v[p->n++] = insn;
}

/* Append the block for one rule; returns true when it matches everything
 * (the rules before it can never be reached). */
static bool
emit_rule (prog_t *p, const husk_cg_dev_rule_t *r)
{
  size_t start = p->n;
  bool all = true;

  if (r->type == 'c' || r->type == 'b')
    {
      emit (p, INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
                     r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
      all = false;
    }
  if ((r->access & HUSK_CG_ACC_ALL) != HUSK_CG_ACC_ALL)
    {
      emit (p, INSN (BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
      emit (p, INSN (BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int32_t) r->access));
      emit (p, INSN (BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
      all = false;
    }
  if (r->major >= 0)
    {
      emit (p, INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t) r->major));
      all = false;
    }
  if (r->minor >= 0)
    {
      emit (p, INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t) r->minor));
      all = false;
    }
  emit (p, INSN (BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0));
  emit (p, INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  /* every jump in the block goes to the first instruction after it */
  for (size_t i = start; i < p->n; i++)
    if (BPF_CLASS (p->v[i].code) == BPF_JMP && BPF_OP (p->v[i].code) == BPF_JNE)
      p->v[i].off = (int16_t) (p->n - (i + 1));
  return all;
}

static int
build (const husk_cg_dev_rule_t *rules, size_t len, prog_t *p)
{
  bool complete = false;
  emit (p, INSN (BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0));
  emit (p, INSN (BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));
  emit (p, INSN (BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0));
  emit (p, INSN (BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));
  emit (p, INSN (BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0));
  emit (p, INSN (BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0));
  for (size_t i = len; i-- > 0 && !complete;)
    {
      if ((rules[i].access & HUSK_CG_ACC_ALL) == 0)
        continue;
      if (rules[i].major > INT32_MAX || rules[i].minor > INT32_MAX)
        continue; /* cannot match a u32 the kernel gives */
      complete = emit_rule (p, &rules[i]);
    }
  if (!complete)
    {
      emit (p, INSN (BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
      emit (p, INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }
  return 0;
}

static int
load (const prog_t *p, husk_error_t *err)
{
  static char log[16384];
  union bpf_attr attr;
  int fd;

  memset (&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t) (uintptr_t) p->v;
  attr.insn_cnt = (uint32_t) p->n;
  attr.license = (uint64_t) (uintptr_t) "GPL";
  fd = (int) sys_bpf (BPF_PROG_LOAD, &attr);
  if (fd >= 0)
    return fd;
  /* again with the verifier log for the message */
  log[0] = '\0';
  attr.log_buf = (uint64_t) (uintptr_t) log;
  attr.log_size = sizeof log;
  attr.log_level = 1;
  fd = (int) sys_bpf (BPF_PROG_LOAD, &attr);
  if (fd >= 0)
    return fd;
  return husk_error_make (err, errno, "cannot load the device cgroup eBPF program%s%s", log[0] ? ": " : "",
                          log);
}

/* Ids of the device programs attached directly to the cgroup. */
static int
query (int dirfd, uint32_t **ids, uint32_t *count, husk_error_t *err)
{
  union bpf_attr attr;
  uint32_t cap = 64;

  for (;;)
    {
      uint32_t *v = xmalloc0 (cap * sizeof *v);
      memset (&attr, 0, sizeof attr);
      attr.query.target_fd = (uint32_t) dirfd;
      attr.query.attach_type = BPF_CGROUP_DEVICE;
      attr.query.prog_ids = (uint64_t) (uintptr_t) v;
      attr.query.prog_cnt = cap;
      if (sys_bpf (BPF_PROG_QUERY, &attr) == 0)
        {
          *ids = v;
          *count = attr.query.prog_cnt;
          return 0;
        }
      free (v);
      if (errno == ENOSPC && attr.query.prog_cnt > cap)
        {
          cap = attr.query.prog_cnt;
          continue;
        }
      return husk_error_make (err, errno, "cannot query the device cgroup eBPF programs");
    }
}

int
husk_cgroup_bpf_devices (int dirfd, const husk_cg_dev_rule_t *rules, size_t len, husk_error_t *err)
{
  prog_t p = { NULL, 0 };
  husk_autofree uint32_t *old = NULL;
  uint32_t nold = 0;
  husk_autoclose int prog = -1;
  union bpf_attr attr;

  build (rules, len, &p);
  prog = load (&p, err);
  free (p.v);
  if (prog < 0)
    return -1;
  if (query (dirfd, &old, &nold, err) < 0)
    return -1;

  memset (&attr, 0, sizeof attr);
  attr.target_fd = (uint32_t) dirfd;
  attr.attach_bpf_fd = (uint32_t) prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf (BPF_PROG_ATTACH, &attr) < 0)
    return husk_error_make (err, errno, "cannot attach the device cgroup eBPF program");

  for (uint32_t i = 0; i < nold; i++)
    {
      husk_autoclose int ofd = -1;
      memset (&attr, 0, sizeof attr);
      attr.prog_id = old[i];
      ofd = (int) sys_bpf (BPF_PROG_GET_FD_BY_ID, &attr);
      if (ofd < 0)
        {
          if (errno == ENOENT)
            continue;
          return husk_error_make (err, errno, "cannot get the old device eBPF program %u", old[i]);
        }
      memset (&attr, 0, sizeof attr);
      attr.target_fd = (uint32_t) dirfd;
      attr.attach_bpf_fd = (uint32_t) ofd;
      attr.attach_type = BPF_CGROUP_DEVICE;
      if (sys_bpf (BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
        return husk_error_make (err, errno, "cannot detach the old device eBPF program %u", old[i]);
    }
  return 0;
}
