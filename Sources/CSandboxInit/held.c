// Held (prepared) sandboxes, the supervisor's side: it sends a function to the
// waiting init of a sandbox whose namespaces, cgroups and root are already made
// (CInitCore's held.c receives and applies it in hearth-init).
#define _GNU_SOURCE
#include "hearth_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static size_t count_strings(char *const *list) {
    size_t n = 0;
    while (list && list[n]) n++;
    return n;
}

static size_t append(char *buf, size_t at, const char *s) {
    size_t len = strlen(s) + 1;
    if (buf) memcpy(buf + at, s, len);
    return at + len;
}

static size_t write_strings(const struct hearth_held_config *c, char *buf) {
    size_t at = 0;
    at = append(buf, at, c->hostname ? c->hostname : "");
    at = append(buf, at, c->lockdown.cwd ? c->lockdown.cwd : "");
    for (size_t i = 0; i < c->n_mounts; i++) at = append(buf, at, c->mounts[i].target);
    for (size_t i = 0; c->argv[i]; i++) at = append(buf, at, c->argv[i]);
    for (size_t i = 0; c->envp && c->envp[i]; i++) at = append(buf, at, c->envp[i]);
    return at;
}

int hearth_held_send(int sock, const struct hearth_held_config *c) {
    if (c->n_mounts > HEARTH_HELD_MAX_MOUNTS || !c->argv || !c->argv[0]) {
        errno = EINVAL;
        return -1;
    }
    size_t rl_bytes = c->lockdown.n_rlimits * sizeof(struct hearth_rlimit);
    size_t sc_bytes = (size_t)c->lockdown.seccomp_len * 8;
    size_t str_bytes = write_strings(c, NULL);
    size_t total = sizeof(struct hearth_held_header) + rl_bytes + sc_bytes + str_bytes;
    if (total > HEARTH_HELD_MAX_MESSAGE) {
        errno = EMSGSIZE;
        return -1;
    }
    char *buf = malloc(total);
    if (!buf) return -1;
    struct hearth_held_header h = {
        .magic = HEARTH_HELD_MAGIC, .n_mounts = (uint32_t)c->n_mounts, .n_rlimits = (uint32_t)c->lockdown.n_rlimits,
        .seccomp_len = c->lockdown.seccomp_len, .n_argv = (uint32_t)count_strings(c->argv),
        .n_envp = (uint32_t)count_strings(c->envp), .uid = c->lockdown.uid, .gid = c->lockdown.gid,
        .last_cap = c->lockdown.last_cap, .keep_below = c->lockdown.keep_below, .tmp_size_mb = c->tmp_size_mb,
        .tmp_inodes = c->tmp_inodes, .strings_len = (uint32_t)str_bytes,
    };
    size_t at = 0;
    memcpy(buf, &h, sizeof h);
    at += sizeof h;
    if (rl_bytes) memcpy(buf + at, c->lockdown.rlimits, rl_bytes);
    at += rl_bytes;
    if (sc_bytes) memcpy(buf + at, c->lockdown.seccomp_filter, sc_bytes);
    at += sc_bytes;
    write_strings(c, buf + at);
    at += str_bytes;

    char control[CMSG_SPACE(sizeof(int) * HEARTH_HELD_MAX_MOUNTS)];
    memset(control, 0, sizeof control);
    struct iovec iov = {.iov_base = buf, .iov_len = at};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (c->n_mounts > 0) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * c->n_mounts);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * c->n_mounts);
        int *fds = (int *)CMSG_DATA(cm);
        for (size_t i = 0; i < c->n_mounts; i++) fds[i] = c->mounts[i].fd;
    }
    ssize_t n;
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    int saved = errno;
    free(buf);
    errno = saved;
    if (n < 0) return -1;
    if ((size_t)n != at) {
        errno = EMSGSIZE;
        return -1;
    }
    return 0;
}

int hearth_held_await_reply(int sock, int timeout_ms, struct hearth_held_reply *reply) {
    struct pollfd p = {.fd = sock, .events = POLLIN};
    int rc;
    do {
        rc = poll(&p, 1, timeout_ms);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -1;
    if (rc == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    ssize_t n;
    do {
        n = recv(sock, reply, sizeof *reply, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if (n != (ssize_t)sizeof *reply) {
        errno = EPIPE;
        return -1;
    }
    return 0;
}

/* Parent side: detached mounts made in the supervisor's mount namespace. */

static int make_private_readonly(int fd) {
    struct mount_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    attr.propagation = MS_PRIVATE;
    return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
}

int hearth_detached_bind(const char *path) {
    int fd = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (fd < 0) return -1;
    if (make_private_readonly(fd) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int hearth_detached_overlay(const char *lowerdir) {
    int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (fs < 0) return -1;
    int fd = -1;
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir", lowerdir, 0) == 0 &&
        syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
        fd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    int saved = errno;
    close(fs);
    errno = saved;
    return fd;
}

int hearth_detached_ext4(const char *device) {
    int fs = (int)syscall(SYS_fsopen, "ext4", FSOPEN_CLOEXEC);
    if (fs < 0) return -1;
    int fd = -1;
    /* noinit_itable: no kernel thread zeroes inode tables of a filesystem that lives as long as one sandbox. */
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", device, 0) == 0 &&
        syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "noinit_itable", NULL, 0) == 0 &&
        syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "discard", NULL, 0) == 0 &&
        syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
        fd = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
    int saved = errno;
    close(fs);
    errno = saved;
    return fd;
}
