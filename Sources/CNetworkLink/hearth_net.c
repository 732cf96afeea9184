#define _GNU_SOURCE
#include "hearth_net.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

static int failed(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static struct nl_sock *route_socket(char *err, size_t errlen) {
    struct nl_sock *sock = nl_socket_alloc();
    if (!sock) {
        failed(err, errlen, "cannot allocate a netlink socket");
        return NULL;
    }
    int rc = nl_connect(sock, NETLINK_ROUTE);
    if (rc < 0) {
        failed(err, errlen, "cannot open a netlink socket: %s", nl_geterror(rc));
        nl_socket_free(sock);
        return NULL;
    }
    return sock;
}

static int set_up(struct nl_sock *sock, struct rtnl_link *link) {
    struct rtnl_link *change = rtnl_link_alloc();
    if (!change) return -NLE_NOMEM;
    rtnl_link_set_flags(change, IFF_UP);
    int rc = rtnl_link_change(sock, link, change, 0);
    rtnl_link_put(change);
    return rc;
}

static int add_address(struct nl_sock *sock, int ifindex, uint32_t addr, int prefix) {
    struct rtnl_addr *a = rtnl_addr_alloc();
    struct nl_addr *local = nl_addr_build(AF_INET, &addr, sizeof addr);
    if (!a || !local) {
        if (a) rtnl_addr_put(a);
        if (local) nl_addr_put(local);
        return -NLE_NOMEM;
    }
    nl_addr_set_prefixlen(local, prefix);
    rtnl_addr_set_ifindex(a, ifindex);
    rtnl_addr_set_local(a, local);
    int rc = rtnl_addr_add(sock, a, 0);
    nl_addr_put(local);
    rtnl_addr_put(a);
    return rc;
}

int hearth_net_bridge_up(const char *name, uint32_t addr, int prefix, char *err, size_t errlen) {
    struct nl_sock *sock = route_socket(err, errlen);
    if (!sock) return -1;
    int result = -1;
    struct rtnl_link *link = NULL;
    int rc = rtnl_link_get_kernel(sock, 0, name, &link);
    if (rc == -NLE_OBJ_NOTFOUND || rc == -NLE_NODEV) {
        struct rtnl_link *bridge = rtnl_link_bridge_alloc();
        if (!bridge) { failed(err, errlen, "cannot allocate a bridge"); goto out; }
        rtnl_link_set_name(bridge, name);
        rc = rtnl_link_add(sock, bridge, NLM_F_CREATE | NLM_F_EXCL);
        rtnl_link_put(bridge);
        if (rc < 0 && rc != -NLE_EXIST) { failed(err, errlen, "cannot make bridge %s: %s", name, nl_geterror(rc)); goto out; }
        rc = rtnl_link_get_kernel(sock, 0, name, &link);
    }
    if (rc < 0) { failed(err, errlen, "cannot find bridge %s: %s", name, nl_geterror(rc)); goto out; }
    if (!rtnl_link_is_bridge(link)) { failed(err, errlen, "%s exists and is not a bridge", name); goto out; }
    rc = add_address(sock, rtnl_link_get_ifindex(link), addr, prefix);
    if (rc < 0 && rc != -NLE_EXIST) { failed(err, errlen, "cannot address bridge %s: %s", name, nl_geterror(rc)); goto out; }
    rc = set_up(sock, link);
    if (rc < 0) { failed(err, errlen, "cannot bring bridge %s up: %s", name, nl_geterror(rc)); goto out; }
    result = 0;
out:
    if (link) rtnl_link_put(link);
    nl_socket_free(sock);
    return result;
}

int hearth_net_link_delete(const char *name, char *err, size_t errlen) {
    struct nl_sock *sock = route_socket(err, errlen);
    if (!sock) return -1;
    struct rtnl_link *link = rtnl_link_alloc();
    int result;
    if (!link) {
        result = failed(err, errlen, "cannot allocate a link");
    } else {
        rtnl_link_set_name(link, name);
        int rc = rtnl_link_delete(sock, link);
        if (rc == -NLE_NODEV || rc == -NLE_OBJ_NOTFOUND) result = 1;
        else if (rc < 0) result = failed(err, errlen, "cannot delete %s: %s", name, nl_geterror(rc));
        else result = 0;
        rtnl_link_put(link);
    }
    nl_socket_free(sock);
    return result;
}

/* Writes "1" to a sysctl file of the calling thread's network namespace; absent files (no IPv6) are fine. */
static void write_one(const char *path) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t ignored = write(fd, "1", 1);
    (void)ignored;
    close(fd);
}

/* Inside the sandbox's namespace: eth0 addressed and up, the default route, IPv6 off. */
static int configure_inside(struct nl_sock *sock, uint32_t addr, int prefix, uint32_t gateway, char *err, size_t errlen) {
    write_one("/proc/sys/net/ipv6/conf/all/disable_ipv6");
    write_one("/proc/sys/net/ipv6/conf/default/disable_ipv6");
    struct rtnl_link *link = NULL;
    int rc = rtnl_link_get_kernel(sock, 0, "eth0", &link);
    if (rc < 0) return failed(err, errlen, "eth0 did not arrive in the sandbox's namespace: %s", nl_geterror(rc));
    int ifindex = rtnl_link_get_ifindex(link);
    rc = add_address(sock, ifindex, addr, prefix);
    if (rc < 0) { rtnl_link_put(link); return failed(err, errlen, "cannot address eth0: %s", nl_geterror(rc)); }
    rc = set_up(sock, link);
    rtnl_link_put(link);
    if (rc < 0) return failed(err, errlen, "cannot bring eth0 up: %s", nl_geterror(rc));

    struct rtnl_route *route = rtnl_route_alloc();
    struct rtnl_nexthop *hop = rtnl_route_nh_alloc();
    uint32_t any = 0;
    struct nl_addr *dst = nl_addr_build(AF_INET, &any, sizeof any);
    struct nl_addr *via = nl_addr_build(AF_INET, &gateway, sizeof gateway);
    if (!route || !hop || !dst || !via) {
        rc = -NLE_NOMEM;
    } else {
        nl_addr_set_prefixlen(dst, 0);
        rtnl_route_set_family(route, AF_INET);
        rtnl_route_set_table(route, RT_TABLE_MAIN);
        rtnl_route_set_dst(route, dst);
        rtnl_route_nh_set_ifindex(hop, ifindex);
        rtnl_route_nh_set_gateway(hop, via);
        rtnl_route_add_nexthop(route, hop);
        hop = NULL; /* the route owns it now */
        rc = rtnl_route_add(sock, route, NLM_F_CREATE);
    }
    if (hop) rtnl_route_nh_free(hop);
    if (dst) nl_addr_put(dst);
    if (via) nl_addr_put(via);
    if (route) rtnl_route_put(route);
    if (rc < 0) return failed(err, errlen, "cannot add the default route: %s", nl_geterror(rc));
    return 0;
}

int hearth_net_veth_attach(int netns_fd, const char *bridge, const char *host_name, uint32_t addr, int prefix,
                           uint32_t gateway, char *err, size_t errlen) {
    unsigned master = if_nametoindex(bridge);
    if (master == 0) return failed(err, errlen, "no bridge %s: %s", bridge, strerror(errno));
    struct nl_sock *sock = route_socket(err, errlen);
    if (!sock) return -1;
    struct rtnl_link *veth = rtnl_link_veth_alloc();
    if (!veth) {
        nl_socket_free(sock);
        return failed(err, errlen, "cannot allocate a veth pair");
    }
    rtnl_link_set_name(veth, host_name);
    rtnl_link_set_master(veth, (int)master);
    rtnl_link_set_flags(veth, IFF_UP);
    struct rtnl_link *peer = rtnl_link_veth_get_peer(veth);
    rtnl_link_set_name(peer, "eth0");
    rtnl_link_set_ns_fd(peer, netns_fd);
    rtnl_link_put(peer);
    int rc = rtnl_link_add(sock, veth, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_link_put(veth);
    nl_socket_free(sock);
    if (rc < 0) return failed(err, errlen, "cannot make veth %s: %s", host_name, nl_geterror(rc));

    /* The address and route are set from inside: this thread enters the namespace for a moment. */
    int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) return failed(err, errlen, "cannot open this thread's network namespace: %s", strerror(errno));
    int result;
    if (setns(netns_fd, CLONE_NEWNET) < 0) {
        result = failed(err, errlen, "cannot enter the sandbox's network namespace: %s", strerror(errno));
    } else {
        struct nl_sock *inside = route_socket(err, errlen);
        result = inside ? configure_inside(inside, addr, prefix, gateway, err, errlen) : -1;
        if (inside) nl_socket_free(inside);
        if (setns(home, CLONE_NEWNET) < 0) {
            /* A thread left in a sandbox's namespace would put the daemon's own sockets there. */
            result = failed(err, errlen, "cannot return to the host's network namespace: %s", strerror(errno));
            close(home);
            abort();
        }
    }
    close(home);
    if (result < 0) {
        char ignored[8];
        hearth_net_link_delete(host_name, ignored, sizeof ignored);
    }
    return result;
}
