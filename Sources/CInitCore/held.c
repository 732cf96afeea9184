// Held (prepared) sandboxes, the init's side: hearth-init receives the function the supervisor
// sent (CSandboxInit's held.c) and applies it before anything of the function runs.
#define _GNU_SOURCE
#include "hearth_init_core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

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
    char *buf = malloc(HEARTH_HELD_MAX_MESSAGE);
    if (!buf) return -1;
    char control[CMSG_SPACE(sizeof(int) * HEARTH_HELD_MAX_MOUNTS)];
    struct iovec iov = {.iov_base = buf, .iov_len = HEARTH_HELD_MAX_MESSAGE};
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
    else if ((size_t)n < sizeof(struct hearth_held_header) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) err = EBADMSG;
    struct hearth_held_header h;
    if (!err) {
        memcpy(&h, buf, sizeof h);
        size_t want = sizeof h + h.n_rlimits * sizeof(struct hearth_rlimit) + (size_t)h.seccomp_len * 8 + h.strings_len;
        if (h.magic != HEARTH_HELD_MAGIC || h.n_mounts != n_fds || h.n_rlimits > 16 || h.n_argv == 0 ||
            h.n_argv + h.n_envp > HEARTH_HELD_MAX_STRINGS || want != (size_t)n)
            err = EBADMSG;
    }
    /* Everything below points into buf; the pointer arrays go after the payload in the same block. */
    size_t ptr_bytes = err ? 0 : (h.n_argv + 1 + h.n_envp + 1) * sizeof(char *) + h.n_mounts * sizeof(struct hearth_held_mount);
    if (!err && (size_t)n + ptr_bytes + 16 > HEARTH_HELD_MAX_MESSAGE) err = EMSGSIZE;
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
        /* Resizes the one tmpfs behind /dev/shm, /dev (which holds no blocks) and /tmp, unless a disk
         * was just mounted over /tmp: through /dev/shm, which is always that tmpfs, keeping its flags. */
        snprintf(data, sizeof data, "size=%um,nr_inodes=%u", c->tmp_size_mb, c->tmp_inodes);
        if (mount(NULL, "/dev/shm", NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, data) < 0) {
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
