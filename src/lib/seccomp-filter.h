/* husk: seccomp with libseccomp.
 *
 * The filter is compiled to BPF in the runtime before the fork (errors are
 * reported by `create` with the JSON path), and installed in the init with
 * seccomp(2) at the last possible moment (see container.c). */

#ifndef HUSK_SECCOMP_FILTER_H
#define HUSK_SECCOMP_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include "husk/spec.h"

typedef struct husk_seccomp_filter_s husk_seccomp_filter_t;

/* Build the filter (defaultAction, defaultErrnoRet, architectures, flags,
 * every action, args with every operator).  Returns 0; *out NULL when spec is NULL.
 * Follows runc: unknown syscall names are skipped; SCMP_ACT_NOTIFY is refused
 * as the default action, for write, and without listenerPath.  Without
 * HAVE_SECCOMP a non-NULL spec fails: "seccomp is not supported by this build". */
int husk_seccomp_compile (const husk_seccomp_t *spec, husk_seccomp_filter_t **out, husk_error_t *err);

/* Whether the filter wants a notify listener (linux.seccomp.listenerPath set
 * or an SCMP_ACT_NOTIFY rule). */
bool husk_seccomp_wants_listener (const husk_seccomp_filter_t *f);

/* Install into the calling thread/process with seccomp(SECCOMP_SET_MODE_FILTER).
 * When a listener is wanted, *listener_fd gets the notify fd (else -1).
 * Async-signal-safe enough for a forked child: no allocation. */
int husk_seccomp_install (const husk_seccomp_filter_t *f, int *listener_fd, husk_error_t *err);

/* Send the notify fd to linux.seccomp.listenerPath: one sendmsg with
 * SCM_RIGHTS and the "container process state" JSON (runtime-spec
 * config-linux.md, fds: ["seccompFd"]).  state_json is built by the caller. */
int husk_seccomp_send_listener (const char *listener_path, int listener_fd, const char *process_state_json,
                                husk_error_t *err);

void husk_seccomp_filter_free (husk_seccomp_filter_t *f);
void husk_seccomp_filter_freep (husk_seccomp_filter_t **f);
#define husk_autoseccomp_filter __attribute__ ((cleanup (husk_seccomp_filter_freep)))

/* The seccomp(2) flags install() passes (SECCOMP_FILTER_FLAG_*, with
 * NEW_LISTENER when a listener is wanted), the program length in BPF
 * instructions, and linux.seccomp.listenerPath / listenerMetadata (NULL when
 * absent).  All accept NULL. */
unsigned int husk_seccomp_filter_flags (const husk_seccomp_filter_t *f);
size_t husk_seccomp_filter_len (const husk_seccomp_filter_t *f);
struct sock_filter;
const struct sock_filter *husk_seccomp_filter_insns (const husk_seccomp_filter_t *f); /* the BPF program */
const char *husk_seccomp_listener_path (const husk_seccomp_filter_t *f);
const char *husk_seccomp_listener_metadata (const husk_seccomp_filter_t *f);

/* For `features`: NULL-terminated name lists (empty without HAVE_SECCOMP). */
extern const char *const husk_seccomp_action_names[];
extern const char *const husk_seccomp_operator_names[];
extern const char *const husk_seccomp_arch_names[];
extern const char *const husk_seccomp_flag_names[];
const char *husk_seccomp_version (void); /* "2.5.4" at run time; NULL without HAVE_SECCOMP */

#endif
