/* husk: NOTIFY_SOCKET (sd_notify) forwarding; see notify.c. */
#ifndef HUSK_NOTIFY_H
#define HUSK_NOTIFY_H

#include <sys/types.h>
#include "internal.h"
#include "husk/spec.h"

/* NOTIFY_SOCKET from husk's environment, NULL when unset or empty. */
const char *husk_notify_host_socket (void);

/* create: with NOTIFY_SOCKET set, make <state>/notify, add its read-only
 * bind mount on /run/notify to spec and NOTIFY_SOCKET to env. */
int husk_notify_prepare (husk_container_t *c, husk_spec_t *spec, char ***env, husk_error_t *err);

/* start/run: bind <state>/notify/notify.sock.  Returns the socket, -2 when
 * there is nothing to forward (no NOTIFY_SOCKET, or the container was
 * created without it), -1 on error. */
int husk_notify_bind (husk_container_t *c, husk_error_t *err);

/* Wait for READY= on sock while watch lives, then send it with
 * MAINPID=mainpid and a barrier to the host socket.  0 when watch exits first. */
int husk_notify_forward (int sock, pid_t watch, pid_t mainpid, husk_error_t *err);

#endif
