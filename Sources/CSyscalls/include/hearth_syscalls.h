#ifndef HEARTH_SYSCALLS_H
#define HEARTH_SYSCALLS_H

/*
 * System calls and constants the supervisor's Swift code needs but cannot reach through Glibc
 * (variadic, macro-built, or missing from glibc's headers). Parent side only: nothing here runs in
 * a sandbox's child, which has its own C (CSandboxInit, CInitCore).
 */

#include <stddef.h>
#include <sys/types.h>

int hearth_pidfd_send_signal(int pidfd, int sig);
/* 1 with the exit's si_code and si_status, 0 while it runs (nohang), -1 with errno. */
int hearth_waitid_pidfd(int pidfd, int *code, int *status, int nohang);
int hearth_memfd_create(const char *name);
int hearth_seal_memfd(int fd);
/* openat2 with RESOLVE_BENEATH (or RESOLVE_IN_ROOT) and RESOLVE_NO_MAGICLINKS; flags gain O_CLOEXEC. */
int hearth_openat2_beneath(int dirfd, const char *path, int flags, int in_root);
int hearth_o_path(void);
int hearth_o_tmpfile(void);
int hearth_fsetxattr(int fd, const char *name, const void *value, size_t size);
ssize_t hearth_getxattr(const char *path, const char *name, void *value, size_t size);
int hearth_syncfs(int fd);
int hearth_pipe2_cloexec(int fds[2]);
/* posix_spawn of path in a session of its own (no terminal's signals reach it), with stdin_fd as its
 * stdin and the caller's stdout and stderr; the pid, or -1 with errno. */
int hearth_spawn_detached(const char *path, char *const argv[], int stdin_fd);
int hearth_socketpair_seqpacket(int fds[2]);
/* RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_CORE (glibc hides some from Swift). */
int hearth_rlimit_nofile(void);
int hearth_rlimit_nproc(void);
int hearth_rlimit_core(void);
unsigned long long hearth_makedev(unsigned int major, unsigned int minor);

/* A free loop device over backing_fd, cleared by the kernel once nothing holds it (LO_FLAGS_AUTOCLEAR),
 * with direct I/O when the backing file's filesystem allows it; the device's number goes to *number.
 * Returns an fd of the device (O_CLOEXEC), or -1 with errno. */
int hearth_loop_attach(int backing_fd, int *number);
/* Removes loop device `number` (LOOP_CTL_REMOVE); fails with EBUSY while it is attached. */
int hearth_loop_remove(int number);
/* Remounts the filesystem behind a mount fd (fsmount's, or the root of any mount) read-only: the kernel
 * writes it out first, and writes nothing to its device afterwards, however late the last reference goes.
 * 0, or -1 with errno. */
int hearth_superblock_readonly(int mount_fd);
/* copy_file_range of [offset, offset+length) at the same offsets; 0, or -1 with errno. */
int hearth_copy_range(int from, int to, long long offset, long long length);
/* lseek's SEEK_DATA and SEEK_HOLE. */
int hearth_seek_data(void);
int hearth_seek_hole(void);

/* epoll for the supervisor's sandbox watcher. */
int hearth_epoll_create(void);
int hearth_epoll_add(int epfd, int fd, int oneshot, unsigned long long token);
int hearth_epoll_del(int epfd, int fd);
/* Waits (no timeout); fills tokens and hangup flags; returns the count or -1. */
int hearth_epoll_wait(int epfd, unsigned long long *tokens, int *hangups, int max);

#endif
