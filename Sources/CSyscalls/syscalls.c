// The supervisor's system-call wrappers (hearth_syscalls.h).
#define _GNU_SOURCE
#include "hearth_syscalls.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

int hearth_pidfd_send_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int hearth_waitid_pidfd(int pidfd, int *code, int *status, int nohang) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int options = WEXITED | (nohang ? WNOHANG : 0);
    int rc;
    do {
        rc = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, options);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -1;
    if (info.si_pid == 0) return 0; /* still running (WNOHANG) */
    *code = info.si_code;
    *status = info.si_status;
    return 1;
}

int hearth_memfd_create(const char *name) {
    return (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
}

int hearth_seal_memfd(int fd) {
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
}

int hearth_openat2_beneath(int dirfd, const char *path, int flags, int in_root) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.resolve = (in_root ? RESOLVE_IN_ROOT : RESOLVE_BENEATH) | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int hearth_o_path(void) { return O_PATH; }
int hearth_o_tmpfile(void) { return O_TMPFILE; }

int hearth_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}

ssize_t hearth_getxattr(const char *path, const char *name, void *value, size_t size) {
    return getxattr(path, name, value, size);
}

int hearth_syncfs(int fd) { return syncfs(fd); }

int hearth_pipe2_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int hearth_socketpair_seqpacket(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

int hearth_rlimit_nofile(void) { return RLIMIT_NOFILE; }
int hearth_rlimit_nproc(void) { return RLIMIT_NPROC; }
int hearth_rlimit_core(void) { return RLIMIT_CORE; }

unsigned long long hearth_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }

int hearth_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int hearth_epoll_add(int epfd, int fd, int oneshot, unsigned long long token) {
    struct epoll_event ev = {.events = EPOLLIN | (oneshot ? EPOLLONESHOT : 0), .data.u64 = token};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int hearth_epoll_del(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

int hearth_epoll_wait(int epfd, unsigned long long *tokens, int *hangups, int max) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    int n = epoll_wait(epfd, events, max, -1);
    for (int i = 0; i < n; i++) {
        tokens[i] = events[i].data.u64;
        hangups[i] = (events[i].events & (EPOLLHUP | EPOLLERR)) != 0;
    }
    return n;
}

int hearth_spawn_detached(const char *path, char *const argv[], int stdin_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    if (posix_spawn_file_actions_init(&actions) != 0) return -1;
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return -1;
    }
    sigset_t none;
    sigemptyset(&none);
    int err = posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    if (!err) err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
    if (!err) err = posix_spawnattr_setsigmask(&attr, &none);
    pid_t pid = -1;
    char *const envp[] = {NULL};
    if (!err) err = posix_spawn(&pid, path, &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err) {
        errno = err;
        return -1;
    }
    return pid;
}

int hearth_loop_attach(int backing_fd, int *number) {
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) return -1;
    /* Another process may take the free device between the two calls: then ask again. */
    for (int attempt = 0; attempt < 64; attempt++) {
        int n = ioctl(control, LOOP_CTL_GET_FREE);
        if (n < 0) break;
        char path[32];
        snprintf(path, sizeof path, "/dev/loop%d", n);
        int dev = open(path, O_RDWR | O_CLOEXEC);
        if (dev < 0) {
            if (errno == ENOENT || errno == ENXIO) continue;
            break;
        }
        struct loop_config config;
        memset(&config, 0, sizeof config);
        config.fd = (unsigned int)backing_fd;
        config.block_size = 4096;
        config.info.lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO;
        int rc = ioctl(dev, LOOP_CONFIGURE, &config);
        if (rc < 0 && errno == EINVAL) {
            /* The backing filesystem has no direct I/O (tmpfs): the page cache then holds it twice. */
            config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
            config.block_size = 0;
            rc = ioctl(dev, LOOP_CONFIGURE, &config);
        }
        if (rc == 0) {
            close(control);
            *number = n;
            return dev;
        }
        int saved = errno;
        close(dev);
        if (saved != EBUSY) {
            errno = saved;
            break;
        }
    }
    int saved = errno;
    close(control);
    errno = saved;
    return -1;
}

int hearth_loop_remove(int number) {
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) return -1;
    int rc = ioctl(control, LOOP_CTL_REMOVE, number);
    int saved = errno;
    close(control);
    errno = saved;
    return rc < 0 ? -1 : 0;
}

int hearth_superblock_readonly(int mount_fd) {
    int fs = (int)syscall(SYS_fspick, mount_fd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC);
    if (fs < 0) return -1;
    int rc = -1;
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) == 0 &&
        syscall(SYS_fsconfig, fs, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) == 0)
        rc = 0;
    int saved = errno;
    close(fs);
    errno = saved;
    return rc;
}

int hearth_copy_range(int from, int to, long long offset, long long length) {
    loff_t in = offset, out = offset;
    while (length > 0) {
        ssize_t n = copy_file_range(from, &in, to, &out, (size_t)length, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        length -= n;
    }
    return 0;
}

int hearth_seek_data(void) { return SEEK_DATA; }
int hearth_seek_hole(void) { return SEEK_HOLE; }
