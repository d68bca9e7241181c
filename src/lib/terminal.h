/* husk: process.terminal.  Inside the container (after pivot_root, with the
 * container's devpts on /dev/pts): open /dev/ptmx, unlock, bind-mount the
 * slave onto /dev/console, apply consoleSize, send the master to the
 * --console-socket (already connected: socket_fd) with one sendmsg
 * SCM_RIGHTS, and return the slave fd so the caller makes it stdio + ctty. */
#ifndef HUSK_TERMINAL_H
#define HUSK_TERMINAL_H

#include "husk/spec.h"

/* Connect to a console socket path (AF_UNIX SOCK_STREAM); returns the fd. */
int husk_console_socket_connect (const char *path, husk_error_t *err);
/* The same for the --pidfd-socket path (errors name the pidfd socket). */
int husk_pidfd_socket_connect (const char *path, husk_error_t *err);
/* Send a pidfd of pid over the connected sock with SCM_RIGHTS; the payload
 * names the process as runc does: "standard" (the init) or "setns" (exec). */
int husk_pidfd_send (int sock, pid_t pid, const char *kind, husk_error_t *err);

/* Create the pty; returns the slave fd.  socket_fd receives the master. */
int husk_terminal_setup (const husk_process_t *process, int socket_fd, bool mount_console, husk_error_t *err);

/* Make fd the stdio and controlling terminal of the calling process (setsid first). */
int husk_terminal_make_stdio (int slave_fd, husk_error_t *err);

/* Send an fd with SCM_RIGHTS and a short payload over a connected socket. */
int husk_send_fd (int sock, int fd, const char *payload, husk_error_t *err);
int husk_recv_fd (int sock, int *fd, char *payload, size_t payload_len, husk_error_t *err);

#endif
