#ifndef HEARTH_NET_H
#define HEARTH_NET_H

#include <stddef.h>
#include <stdint.h>

/* Links, addresses and routes through libnl-route (netlink), for the supervisor's side only: none of
 * this runs in a sandbox's child. Addresses are IPv4 in network byte order. Each call returns 0, or -1
 * with a message naming the step in err. */

/* Makes the bridge `name` if it is missing, gives it addr/prefix if it lacks it, and brings it up. */
int hearth_net_bridge_up(const char *name, uint32_t addr, int prefix, char *err, size_t errlen);

/* Deletes the link `name`; 1 when there was none. Deleting one end of a veth pair deletes both. */
int hearth_net_link_delete(const char *name, char *err, size_t errlen);

/* A veth pair: `host_name` on `bridge`, up; its peer moved into the network namespace `netns_fd` as
 * eth0 with addr/prefix, up, IPv6 off, and a default route through `gateway`. */
int hearth_net_veth_attach(int netns_fd, const char *bridge, const char *host_name, uint32_t addr, int prefix,
                           uint32_t gateway, char *err, size_t errlen);

#endif
