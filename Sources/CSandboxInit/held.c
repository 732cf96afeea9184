// Held (prepared) sandboxes: the supervisor sends a function to the waiting
// init of a sandbox whose namespaces, cgroups and root are already made. The
// parent side (send, await, detached mounts) runs in the supervisor; the
// receive and apply side in hearth-init, before anything of the function runs.
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

enum { HELD_MAGIC = 0x48525448, HELD_MAX_MESSAGE = 256 * 1024, HELD_MAX_STRINGS = 4096 };

/* Fixed part of the message; rlimits, the seccomp program and NUL-terminated strings follow
 * (hostname, cwd, mount targets, argv, envp; an absent hostname or cwd is an empty string). */
struct held_header {
    uint32_t magic;
    uint32_t n_mounts, n_rlimits, seccomp_len, n_argv, n_envp;
    uint32_t uid, gid;
    int32_t last_cap;
    uint32_t keep_below;
    uint32_t tmp_size_mb, tmp_inodes;
    uint32_t strings_len;
};

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
    size_t total = sizeof(struct held_header) + rl_bytes + sc_bytes + str_bytes;
    if (total > HELD_MAX_MESSAGE) {
        errno = EMSGSIZE;
        return -1;
    }
    char *buf = malloc(total);
    if (!buf) return -1;
    struct held_header h = {
        .magic = HELD_MAGIC, .n_mounts = (uint32_t)c->n_mounts, .n_rlimits = (uint32_t)c->lockdown.n_rlimits,
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

/* Init side. */

static const char *next_string(const char **cursor, const char *end) {
    const char *s = *cursor;
    const char *nul = memchr(s, 0, (size_t)(end - s));
    if (!nul) return NULL;
    *cursor = nul + 1;
    return s;
}

int hearth_held_receive(int sock, struct hearth_held_config *c, void **storage) {
    memset(c, 0, sizeof *c);
    *storage = NULL;
    char *buf = malloc(HELD_MAX_MESSAGE);
    if (!buf) return -1;
    char control[CMSG_SPACE(sizeof(int) * HEARTH_HELD_MAX_MOUNTS)];
    struct iovec iov = {.iov_base = buf, .iov_len = HELD_MAX_MESSAGE};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    int fds[HEARTH_HELD_MAX_MOUNTS];
    size_t n_fds = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); n > 0 && cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
        size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k && n_fds < HEARTH_HELD_MAX_MOUNTS; i++) memcpy(&fds[n_fds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
    }
    int err = 0;
    if (n < 0) err = errno;
    else if (n == 0) err = ECONNRESET;
    else if ((size_t)n < sizeof(struct held_header) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) err = EBADMSG;
    struct held_header h;
    if (!err) {
        memcpy(&h, buf, sizeof h);
        size_t want = sizeof h + h.n_rlimits * sizeof(struct hearth_rlimit) + (size_t)h.seccomp_len * 8 + h.strings_len;
        if (h.magic != HELD_MAGIC || h.n_mounts != n_fds || h.n_rlimits > 16 || h.n_argv == 0 ||
            h.n_argv + h.n_envp > HELD_MAX_STRINGS || want != (size_t)n)
            err = EBADMSG;
    }
    /* Everything below points into buf; the pointer arrays go after the payload in the same block. */
    size_t ptr_bytes = err ? 0 : (h.n_argv + 1 + h.n_envp + 1) * sizeof(char *) + h.n_mounts * sizeof(struct hearth_held_mount);
    if (!err && (size_t)n + ptr_bytes + 16 > HELD_MAX_MESSAGE) err = EMSGSIZE;
    if (err) {
        for (size_t i = 0; i < n_fds; i++) close(fds[i]);
        free(buf);
        errno = err;
        return -1;
    }
    const char *at = buf + sizeof h;
    c->lockdown.rlimits = (const struct hearth_rlimit *)at;
    c->lockdown.n_rlimits = h.n_rlimits;
    at += h.n_rlimits * sizeof(struct hearth_rlimit);
    c->lockdown.seccomp_filter = at;
    c->lockdown.seccomp_len = (unsigned short)h.seccomp_len;
    at += (size_t)h.seccomp_len * 8;
    const char *end = at + h.strings_len;

    uintptr_t aligned = ((uintptr_t)(buf + n) + 15) & ~(uintptr_t)15;
    struct hearth_held_mount *mounts = (struct hearth_held_mount *)aligned;
    char **argv = (char **)(mounts + h.n_mounts);
    char **envp = argv + h.n_argv + 1;
    const char *hostname = next_string(&at, end);
    const char *cwd = hostname ? next_string(&at, end) : NULL;
    int ok = cwd != NULL;
    for (uint32_t i = 0; ok && i < h.n_mounts; i++) {
        mounts[i].fd = fds[i];
        ok = (mounts[i].target = next_string(&at, end)) != NULL;
    }
    for (uint32_t i = 0; ok && i < h.n_argv; i++) ok = (argv[i] = (char *)next_string(&at, end)) != NULL;
    for (uint32_t i = 0; ok && i < h.n_envp; i++) ok = (envp[i] = (char *)next_string(&at, end)) != NULL;
    if (!ok || at != end) {
        for (size_t i = 0; i < n_fds; i++) close(fds[i]);
        free(buf);
        errno = EBADMSG;
        return -1;
    }
    argv[h.n_argv] = NULL;
    envp[h.n_envp] = NULL;
    c->mounts = mounts;
    c->n_mounts = h.n_mounts;
    c->hostname = hostname[0] ? hostname : NULL;
    c->lockdown.cwd = cwd[0] ? cwd : NULL;
    c->lockdown.uid = h.uid;
    c->lockdown.gid = h.gid;
    c->lockdown.last_cap = h.last_cap;
    c->lockdown.keep_below = h.keep_below;
    c->tmp_size_mb = h.tmp_size_mb;
    c->tmp_inodes = h.tmp_inodes;
    c->argv = argv;
    c->envp = envp;
    *storage = buf;
    return 0;
}

int hearth_held_apply(const struct hearth_held_config *c, int *step, int *index) {
    for (size_t i = 0; i < c->n_mounts; i++) {
        if (syscall(SYS_move_mount, c->mounts[i].fd, "", AT_FDCWD, c->mounts[i].target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
            *step = HEARTH_STEP_HELD_MOUNT;
            *index = (int)i;
            return -1;
        }
        close(c->mounts[i].fd);
    }
    if (c->tmp_size_mb > 0) {
        char data[96];
        /* Resizes the one tmpfs behind /tmp and /dev/shm (and /dev, which holds no blocks). */
        snprintf(data, sizeof data, "size=%um,nr_inodes=%u", c->tmp_size_mb, c->tmp_inodes);
        if (mount(NULL, "/tmp", NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, data) < 0) {
            *step = HEARTH_STEP_HELD_TMP;
            *index = 0;
            return -1;
        }
    }
    if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0) {
        *step = HEARTH_STEP_HOSTNAME;
        *index = 0;
        return -1;
    }
    return hearth_lockdown(&c->lockdown, step, index);
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

int hearth_socketpair_seqpacket(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}
