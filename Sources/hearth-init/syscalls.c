// The system call wrappers hearth-init and CInitCore use, with glibc's names and prototypes, each
// one raw system call. Only hearth-init links this; the supervisor uses glibc.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

long hearth_rt_raw(long n, long a, long b, long c, long d, long e, long f);
long hearth_rt_result(long r);

#define RAW(n, a, b, c, d, e, f) hearth_rt_result(hearth_rt_raw(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)))

long syscall(long n, ...) {
    va_list ap;
    va_start(ap, n);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    return RAW(n, a, b, c, d, e, f);
}

void _exit(int status) {
    for (;;) hearth_rt_raw(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

ssize_t write(int fd, const void *buf, size_t n) { return RAW(SYS_write, fd, buf, n, 0, 0, 0); }
int close(int fd) { return (int)RAW(SYS_close, fd, 0, 0, 0, 0, 0); }
int kill(pid_t pid, int sig) { return (int)RAW(SYS_kill, pid, sig, 0, 0, 0, 0); }
int chdir(const char *path) { return (int)RAW(SYS_chdir, path, 0, 0, 0, 0, 0); }
mode_t umask(mode_t mask) { return (mode_t)hearth_rt_raw(SYS_umask, mask, 0, 0, 0, 0, 0); }
int execve(const char *path, char *const argv[], char *const envp[]) { return (int)RAW(SYS_execve, path, argv, envp, 0, 0, 0); }
int hearth_rt_sigaction(int sig, const void *act, void *old) { return (int)RAW(SYS_rt_sigaction, sig, act, old, 8, 0, 0); }
int sigprocmask(int how, const sigset_t *set, sigset_t *old) { return (int)RAW(SYS_rt_sigprocmask, how, set, old, 8, 0, 0); }
int sethostname(const char *name, size_t len) { return (int)RAW(SYS_sethostname, name, len, 0, 0, 0, 0); }
int setrlimit(__rlimit_resource_t resource, const struct rlimit *rl) { return (int)RAW(SYS_prlimit64, 0, resource, rl, 0, 0, 0); }
int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data) {
    return (int)RAW(SYS_mount, source, target, fstype, flags, data, 0);
}
ssize_t recvmsg(int fd, struct msghdr *msg, int flags) { return RAW(SYS_recvmsg, fd, msg, flags, 0, 0, 0); }
pid_t wait(int *status) { return (pid_t)RAW(SYS_wait4, -1, status, 0, 0, 0, 0); }
pid_t waitpid(pid_t pid, int *status, int options) { return (pid_t)RAW(SYS_wait4, pid, status, options, 0, 0, 0); }
int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *timeout, const sigset_t *mask) {
    return (int)RAW(SYS_ppoll, fds, n, timeout, mask, 8, 0);
}

int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    return (int)RAW(SYS_fcntl, fd, cmd, arg, 0, 0, 0);
}

int prctl(int option, ...) {
    va_list ap;
    va_start(ap, option);
    unsigned long a = va_arg(ap, unsigned long), b = va_arg(ap, unsigned long);
    unsigned long c = va_arg(ap, unsigned long), d = va_arg(ap, unsigned long);
    va_end(ap);
    return (int)RAW(SYS_prctl, option, a, b, c, d, 0);
}

void *hearth_rt_mmap(size_t length) {
    long r = hearth_rt_raw(SYS_mmap, 0, (long)length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return hearth_rt_result(r) == -1 ? NULL : (void *)r;
}
void hearth_rt_munmap(void *p, size_t length) { hearth_rt_raw(SYS_munmap, (long)p, (long)length, 0, 0, 0, 0); }
