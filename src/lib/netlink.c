/* husk: bring `lo` up in a new network namespace (libnl-route). */
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include "internal.h"

int
husk_netlink_lo_up (husk_error_t *err)
{
  struct nl_sock *sk = nl_socket_alloc ();
  struct rtnl_link *link = NULL, *change = NULL;
  int r;

  if (sk == NULL)
    return husk_error_make (err, ENOMEM, "cannot allocate a netlink socket");
  r = nl_connect (sk, NETLINK_ROUTE);
  if (r < 0)
    {
      nl_socket_free (sk);
      return husk_error_make (err, 0, "cannot open a netlink socket: %s", nl_geterror (r));
    }
  r = rtnl_link_get_kernel (sk, 0, "lo", &link);
  if (r < 0)
    {
      nl_socket_free (sk);
      return husk_error_make (err, 0, "cannot find interface `lo`: %s", nl_geterror (r));
    }
  change = rtnl_link_alloc ();
  rtnl_link_set_flags (change, IFF_UP);
  r = rtnl_link_change (sk, link, change, 0);
  rtnl_link_put (change);
  rtnl_link_put (link);
  nl_socket_free (sk);
  if (r < 0)
    return husk_error_make (err, 0, "cannot bring up interface `lo`: %s", nl_geterror (r));
  return 0;
}
