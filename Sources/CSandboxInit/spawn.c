#define _GNU_SOURCE
#include "hearth_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <linux/securebits.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* Shared between parent and child: CLONE_VM means the child writes its failure here. */
struct hearth_child_ctx {
    const struct hearth_spawn_config *config;
    struct hearth_spawn_result *result;
};

/* Everything below until hearth_spawn runs in the child: raw syscalls only. */

static int fail(struct hearth_child_ctx *ctx, int step, int op) {
    ctx->result->failed_step = step;
    ctx->result->failed_op = op;
    ctx->result->error = errno;
    _exit(127);
}

static size_t hearth_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* Decimal into buf (at least 12 bytes), NUL-terminated; returns the length. */
static size_t format_int(char *buf, int v) {
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    char tmp[12];
    size_t n = 0, len = 0;
    do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) buf[len++] = '-';
    while (n) buf[len++] = tmp[--n];
    buf[len] = 0;
    return len;
}

static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int run_op(const struct hearth_op *op) {
    switch (op->kind) {
    case HEARTH_OP_MOUNT:
        return mount(op->source, op->target, op->fstype, op->flags, op->data);
    case HEARTH_OP_MKDIR:
        if (mkdir(op->target, op->mode) < 0 && errno != EEXIST) return -1;
        return 0;
    case HEARTH_OP_MKNOD:
        return mknod(op->target, op->mode, (dev_t)op->dev);
    case HEARTH_OP_SYMLINK:
        return symlink(op->source, op->target);
    case HEARTH_OP_PIVOT:
        /* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the new. */
        if (chdir(op->target) < 0) return -1;
        if (syscall(SYS_pivot_root, ".", ".") < 0) return -1;
        if (umount2(".", MNT_DETACH) < 0) return -1;
        return chdir("/");
    case HEARTH_OP_MASK: {
        struct stat st;
        if (lstat(op->target, &st) < 0) return -1;
        /* op->source is the sandbox's own /dev/null and op->data an empty directory, both made by the plan
         * in the sandbox's own tmpfs, never package paths; one directory serves every mask, as in runc. */
        if (!S_ISDIR(st.st_mode)) return mount(op->source, op->target, NULL, MS_BIND, NULL);
        if (mount(op->data, op->target, NULL, MS_BIND, NULL) < 0) return -1;
        return mount(NULL, op->target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    }
    case HEARTH_OP_UMOUNT:
        return umount2(op->target, 0);
    case HEARTH_OP_ATTACH:
        return (int)syscall(SYS_move_mount, op->fd, "", AT_FDCWD, op->target, MOVE_MOUNT_F_EMPTY_PATH);
    default:
        errno = EINVAL;
        return -1;
    }
}

/* A one-byte message with room for one fd (SCM_RIGHTS): the Runtime API listener, child to parent. */
struct fd_message {
    char byte;
    struct iovec iov;
    struct msghdr msg;
    /* Last: clang counts CMSG_SPACE as variable-sized, which only a struct's last field may be. */
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
};

static void fd_message_init(struct fd_message *m) {
    m->byte = 0;
    m->iov.iov_base = &m->byte;
    m->iov.iov_len = 1;
    m->msg = (struct msghdr){.msg_iov = &m->iov, .msg_iovlen = 1, .msg_control = m->control.buf,
                             .msg_controllen = sizeof m->control.buf};
}

/* Only system calls, so the child may use it between clone and exec. */
static int send_fd(int sock, int fd) {
    struct fd_message m;
    fd_message_init(&m);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m.msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    *(int *)CMSG_DATA(cm) = fd;
    ssize_t n;
    do {
        n = sendmsg(sock, &m.msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

int hearth_receive_listener(int sock) {
    struct fd_message m;
    fd_message_init(&m);
    ssize_t n = recvmsg(sock, &m.msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m.msg);
    if (n != 1 || !cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int))) {
        errno = EBADMSG;
        return -1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

static int listen_loopback(unsigned short port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 64) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int loopback_up(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_name[0] = 'l';
    ifr.ifr_name[1] = 'o';
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        close(fd);
        return -1;
    }
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    int rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    close(fd);
    return rc;
}

static int move_fd(int from, int to) {
    if (from < 0) return 0;
    if (from == to) {
        int flags = fcntl(to, F_GETFD);
        return flags < 0 ? -1 : fcntl(to, F_SETFD, flags & ~FD_CLOEXEC);
    }
    return dup2(from, to) < 0 ? -1 : 0;
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int child_main(void *arg) {
    struct hearth_child_ctx *ctx = arg;
    const struct hearth_spawn_config *c = ctx->config;
    ctx->result->timeline_ns[1] = now_ns();

    /* Handlers of the parent must not run here; SIGPIPE and friends go back to default. */
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        if (sigaction(sig, &sa, NULL) < 0 && errno != EINVAL) fail(ctx, HEARTH_STEP_SIGNALS, 0);
    }

    if (c->oom_score_adj != 0) {
        char buf[16];
        size_t len = format_int(buf, c->oom_score_adj);
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write_all(fd, buf, len) < 0) fail(ctx, HEARTH_STEP_OOM_SCORE, 0);
        close(fd);
    }

    /* SCHED_BATCH, for the sandbox's every process: a runtime woken by its event no longer preempts the
     * supervisor's thread that wrote it, which goes on with its next events first (~15% of the daemon's
     * CPU per warm invocation at concurrency 64). CPU shares stay the cgroup's. A hint: refused, ignored. */
    struct sched_param no_priority = {.sched_priority = 0};
    (void)sched_setscheduler(0, SCHED_BATCH, &no_priority);

    /* Join every hierarchy before the cgroup namespace is made, so its root is the sandbox's cgroup. */
    for (size_t i = 0; i < c->n_cgroup_join_fds; i++) {
        if (write_all(c->cgroup_join_fds[i], "0", 1) < 0) fail(ctx, HEARTH_STEP_CGROUP_JOIN, (int)i);
    }
    if (c->new_cgroup_ns && unshare(CLONE_NEWCGROUP) < 0) fail(ctx, HEARTH_STEP_CGROUP_NS, 0);
    if (c->netns_fd >= 0 && setns(c->netns_fd, CLONE_NEWNET) < 0) fail(ctx, HEARTH_STEP_NETNS, 0);
    ctx->result->timeline_ns[2] = now_ns();

    /* Device nodes and mount points get exactly the modes the plan gives, not the supervisor's umask. */
    umask(0);
    for (size_t i = 0; i < c->n_ops; i++) {
        if (run_op(&c->ops[i]) < 0) {
            if (c->ops[i].optional && errno == ENOENT) continue;
            fail(ctx, HEARTH_STEP_MOUNT_OP, (int)i);
        }
    }

    ctx->result->timeline_ns[3] = now_ns();
    if (!c->hold && c->hostname && sethostname(c->hostname, hearth_strlen(c->hostname)) < 0)
        fail(ctx, HEARTH_STEP_HOSTNAME, 0);
    if (c->loopback_up && loopback_up() < 0) fail(ctx, HEARTH_STEP_LOOPBACK, 0);
    /* The Runtime API's socket is made here, in the namespace clone just made, rather than by the
     * supervisor entering and leaving a namespace of its own making: that costs more than the clone. */
    if (c->listen_port) {
        int listener = listen_loopback(c->listen_port);
        if (listener < 0) fail(ctx, HEARTH_STEP_LISTENER, 0);
        if (send_fd(c->listen_send_fd, listener) < 0) fail(ctx, HEARTH_STEP_LISTENER, 1);
        close(listener);
        close(c->listen_send_fd);
    }

    /* The control socket, the lifeline and the init's memfd must not be clobbered by the moves to fds 0-5. */
    int control = c->control_fd;
    if (c->hold && control < HEARTH_FD_FIRST_FREE && (control = fcntl(control, F_DUPFD_CLOEXEC, HEARTH_FD_FIRST_FREE)) < 0)
        fail(ctx, HEARTH_STEP_STDIO, HEARTH_FD_CONTROL);
    int lifeline = c->lifeline_fd;
    if (lifeline >= 0 && lifeline < HEARTH_FD_FIRST_FREE && (lifeline = fcntl(lifeline, F_DUPFD_CLOEXEC, HEARTH_FD_FIRST_FREE)) < 0)
        fail(ctx, HEARTH_STEP_STDIO, HEARTH_FD_LIFELINE);
    int exec_fd = c->exec_fd;
    if (exec_fd < HEARTH_FD_FIRST_FREE && (exec_fd = fcntl(exec_fd, F_DUPFD_CLOEXEC, HEARTH_FD_FIRST_FREE)) < 0) fail(ctx, HEARTH_STEP_EXEC, 0);

    /* A new session: no controlling terminal, so TIOCSTI has nothing to type into. */
    if (setsid() < 0) fail(ctx, HEARTH_STEP_SETSID, 0);

    if (move_fd(c->stdin_fd, 0) < 0 || move_fd(c->stdout_fd, 1) < 0 || move_fd(c->stderr_fd, 2) < 0)
        fail(ctx, HEARTH_STEP_STDIO, 0);
    /* fds 3-5 are the init's (hearth_init_core.h); whatever the supervisor had there goes. */
    if (c->status_fd >= 0) {
        if (move_fd(c->status_fd, HEARTH_FD_STATUS) < 0) fail(ctx, HEARTH_STEP_STDIO, HEARTH_FD_STATUS);
    } else {
        close(HEARTH_FD_STATUS);
    }
    if (c->hold) {
        if (move_fd(control, HEARTH_FD_CONTROL) < 0) fail(ctx, HEARTH_STEP_STDIO, HEARTH_FD_CONTROL);
    } else {
        close(HEARTH_FD_CONTROL);
    }
    if (lifeline >= 0) {
        if (move_fd(lifeline, HEARTH_FD_LIFELINE) < 0) fail(ctx, HEARTH_STEP_STDIO, HEARTH_FD_LIFELINE);
    } else {
        close(HEARTH_FD_LIFELINE);
    }

    if (c->hold) {
        /* The init keeps its privileges until it is specialised; it runs nothing else until then. */
        if (syscall(SYS_close_range, HEARTH_FD_FIRST_FREE, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail(ctx, HEARTH_STEP_CLOSE_FDS, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
    } else {
        /* Everything but stdio and the init's own fds closes at exec; the init memfd is already CLOEXEC. */
        struct hearth_lockdown lockdown = {
            .rlimits = c->rlimits, .n_rlimits = c->n_rlimits, .cwd = c->cwd, .uid = c->uid, .gid = c->gid,
            .last_cap = c->last_cap, .keep_below = HEARTH_FD_FIRST_FREE,
            .seccomp_filter = c->seccomp_filter, .seccomp_len = c->seccomp_len,
        };
        int step = 0, index = 0;
        if (hearth_lockdown(&lockdown, &step, &index) < 0) fail(ctx, step, index);
    }

    ctx->result->timeline_ns[4] = now_ns();
    if (c->hold) {
        syscall(SYS_execveat, exec_fd, "", c->argv, c->envp, AT_EMPTY_PATH);
        fail(ctx, HEARTH_STEP_EXEC, 0);
    }
    /* The command starts now, and the init (exec'd next) adopts it: "--reap PID", or "--exec-failed
     * ERRNO COMMAND" to report why it could not start. The status fd is the init's alone. */
    int exec_error = 0;
    pid_t command = hearth_start_command(c->argv, c->envp, HEARTH_FD_STATUS, &exec_error);
    if (command < 0) fail(ctx, HEARTH_STEP_COMMAND, 0);
    char number[16];
    format_int(number, exec_error ? exec_error : command);
    char *init_argv[] = {"hearth-init", exec_error ? "--exec-failed" : "--reap", number, exec_error ? c->argv[0] : NULL, NULL};
    char *no_env[] = {NULL};
    syscall(SYS_execveat, exec_fd, "", init_argv, no_env, AT_EMPTY_PATH);
    fail(ctx, HEARTH_STEP_EXEC, 0);
    return 127;
}

/* Parent side. */

enum { CHILD_STACK_SIZE = 256 * 1024 };

int hearth_spawn(const struct hearth_spawn_config *config, struct hearth_spawn_result *result) {
    memset(result, 0, sizeof *result);
    result->pid = -1;
    result->pidfd = -1;

    void *stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        result->failed_step = HEARTH_STEP_CLONE;
        result->error = errno;
        return -1;
    }

    /* Block every signal so no handler of ours runs in the child before it resets them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);

    struct hearth_child_ctx ctx = {.config = config, .result = result};
    int pidfd = -1;
    /* CLONE_VM|CLONE_VFORK: no copy of the (large) supervisor; we resume once the child execs or dies. */
    int flags = config->clone_flags | CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD;
    result->timeline_ns[0] = now_ns();
    pid_t pid = clone(child_main, (char *)stack + CHILD_STACK_SIZE, flags, &ctx, &pidfd, NULL, NULL);
    int clone_errno = errno;
    result->timeline_ns[5] = now_ns();

    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, CHILD_STACK_SIZE);

    if (pid < 0) {
        result->failed_step = HEARTH_STEP_CLONE;
        result->error = clone_errno;
        return -1;
    }
    if (result->failed_step != HEARTH_STEP_NONE) {
        int status;
        while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {}
        if (pidfd >= 0) close(pidfd);
        return -1;
    }
    result->pid = pid;
    result->pidfd = pidfd;
    return 0;
}

const char *hearth_spawn_step_name(int step) {
    switch (step) {
    case HEARTH_STEP_NONE: return "none";
    case HEARTH_STEP_CLONE: return "clone";
    case HEARTH_STEP_SIGNALS: return "reset signal handlers";
    case HEARTH_STEP_OOM_SCORE: return "set oom_score_adj";
    case HEARTH_STEP_CGROUP_JOIN: return "join cgroup";
    case HEARTH_STEP_CGROUP_NS: return "create cgroup namespace";
    case HEARTH_STEP_NETNS: return "join network namespace";
    case HEARTH_STEP_MOUNT_OP: return "mount";
    case HEARTH_STEP_HOSTNAME: return "set hostname";
    case HEARTH_STEP_LOOPBACK: return "bring up loopback";
    case HEARTH_STEP_LISTENER: return "make the Runtime API listener";
    case HEARTH_STEP_RLIMIT: return "set rlimit";
    case HEARTH_STEP_SETSID: return "setsid";
    case HEARTH_STEP_STDIO: return "set up stdio";
    case HEARTH_STEP_CHDIR: return "chdir to working directory";
    case HEARTH_STEP_SECUREBITS: return "set securebits";
    case HEARTH_STEP_BOUNDING: return "drop bounding capabilities";
    case HEARTH_STEP_AMBIENT: return "clear ambient capabilities";
    case HEARTH_STEP_SETGROUPS: return "setgroups";
    case HEARTH_STEP_SETGID: return "setgid";
    case HEARTH_STEP_SETUID: return "setuid";
    case HEARTH_STEP_CAPSET: return "clear capabilities";
    case HEARTH_STEP_NO_NEW_PRIVS: return "set no_new_privs";
    case HEARTH_STEP_CLOSE_FDS: return "close inherited fds";
    case HEARTH_STEP_SECCOMP: return "load seccomp filter";
    case HEARTH_STEP_EXEC: return "exec init";
    case HEARTH_STEP_HELD_RECEIVE: return "receive the function from the supervisor";
    case HEARTH_STEP_HELD_MOUNT: return "attach the function's code";
    case HEARTH_STEP_HELD_TMP: return "size the sandbox's tmpfs";
    case HEARTH_STEP_COMMAND: return "start the command";
    default: return "unknown step";
    }
}

int hearth_netns_create(int home_fd) {
    if (unshare(CLONE_NEWNET) < 0) return -1;
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int saved = errno;
    if (fd >= 0 && loopback_up() < 0) {
        saved = errno;
        close(fd);
        fd = -1;
    }
    if (setns(home_fd, CLONE_NEWNET) < 0) {
        /* The thread is stranded in the new namespace; the caller must not use it for anything else. */
        if (fd >= 0) close(fd);
        return -1;
    }
    errno = saved;
    return fd;
}
