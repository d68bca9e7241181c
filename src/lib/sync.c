/* husk: the runtime <-> container init protocol over a SOCK_SEQPACKET
 * socketpair (see docs/handshake.md).  Each message is one husk_sync_msg_t
 * datagram; an fd can ride along with SCM_RIGHTS. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "internal.h"

static int
send_msg (int fd, const husk_sync_msg_t *m, int passfd, husk_error_t *err)
{
  struct iovec iov = { .iov_base = (void *) m, .iov_len = sizeof *m };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
  if (passfd >= 0)
    {
      struct cmsghdr *c;
      memset (&u, 0, sizeof u);
      mh.msg_control = u.buf;
      mh.msg_controllen = sizeof u.buf;
      c = CMSG_FIRSTHDR (&mh);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (c), &passfd, sizeof (int));
    }
  while (sendmsg (fd, &mh, MSG_NOSIGNAL) < 0)
    if (errno != EINTR)
      return husk_error_make (err, errno, "cannot send to the container init");
  return 0;
}

int
husk_sync_send (int fd, int type, int value, const char *text, husk_error_t *err)
{
  husk_sync_msg_t m;
  m.type = type;
  m.value = value;
  m.text[0] = '\0';
  if (text)
    {
      strncpy (m.text, text, sizeof m.text - 1);
      m.text[sizeof m.text - 1] = '\0';
    }
  return send_msg (fd, &m, -1, err);
}

int
husk_sync_send_fd (int fd, int type, int passfd, husk_error_t *err)
{
  husk_sync_msg_t m = { .type = type };
  return send_msg (fd, &m, passfd, err);
}

int
husk_sync_recv (int fd, husk_sync_msg_t *m, int *passfd, husk_error_t *err)
{
  struct iovec iov = { .iov_base = m, .iov_len = sizeof *m };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
  ssize_t r;
  if (passfd)
    *passfd = -1;
  do
    r = recvmsg (fd, &mh, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return husk_error_make (err, errno, "cannot read from the container init");
  if (r == 0)
    return husk_error_make (err, 0, "container init exited unexpectedly");
  if ((size_t) r != sizeof *m)
    return husk_error_make (err, 0, "short message from the container init");
  m->text[sizeof m->text - 1] = '\0';
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&mh); c; c = CMSG_NXTHDR (&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && passfd)
      memcpy (passfd, CMSG_DATA (c), sizeof (int));
  if (m->type == HUSK_SYNC_ERROR)
    return husk_error_make (err, 0, "%s", m->text);
  return 0;
}

int
husk_sync_expect (int fd, int type, husk_sync_msg_t *m, husk_error_t *err)
{
  husk_sync_msg_t local;
  if (m == NULL)
    m = &local;
  if (husk_sync_recv (fd, m, NULL, err) < 0)
    return -1;
  if (m->type != type)
    return husk_error_make (err, 0, "protocol error: expected message %d from the container init, got %d", type,
                            m->type);
  return 0;
}

void
husk_sync_fail (int fd, husk_error_t *err)
{
  husk_sync_msg_t m;
  m.type = HUSK_SYNC_ERROR;
  m.value = (err && *err) ? (*err)->status : 0;
  snprintf (m.text, sizeof m.text, "%s", (err && *err && (*err)->msg) ? (*err)->msg : "unknown error");
  send_msg (fd, &m, -1, NULL);
  _exit (1);
}
