/*
 * hearth-init: PID 1 of a sandbox. Adopts the command, forwards signals to
 * it, reaps every orphan, and exits with the command's status. When it exits
 * the kernel kills whatever is left in the pid namespace, daemons included.
 *
 * The spawn child starts the command before it execs this init (so the
 * command does not wait for the init's start-up) and says which it is:
 * "hearth-init --reap PID", or "hearth-init --exec-failed ERRNO COMMAND".
 *
 * If fd 3 is open it is the status pipe to the supervisor: one line,
 * "exited N", "signaled N" or "exec-failed ERRNO", written before exiting.
 *
 * If fd 5 is open it is the lifeline: a pipe whose write end only the
 * supervisor holds. When the supervisor dies (SIGKILL included) it hangs up,
 * and the init exits at once, which ends the sandbox: no sandbox outlives
 * the daemon that ran it.
 *
 * Started with no command, it is a held (prepared) sandbox's init: still
 * privileged, it waits on fd 4 for the function (hearth_held_send), attaches
 * its code, locks itself down as the spawn would have, replies, and only then
 * starts the command.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hearth_init_core.h"

static volatile sig_atomic_t child_pid = 0;

static void forward(int sig) {
    if (child_pid > 0) kill(child_pid, sig);
}

/* SIGCHLD only has to interrupt ppoll. */
static void child_changed(int sig) { (void)sig; }

static void report(int status_fd, const char *what, int value) {
    if (status_fd < 0) return;
    char line[64];
    int n = snprintf(line, sizeof line, "%s %d\n", what, value);
    if (n > 0) {
        ssize_t ignored = write(status_fd, line, (size_t)n);
        (void)ignored;
    }
}

/* A positive decimal no larger than the kernel's pid limit (2^22), and nothing else. */
static int parse_int(const char *s, int *out) {
    long v = 0;
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || (v = v * 10 + (*s - '0')) > 1 << 22) return -1;
    }
    if (v == 0) return -1;
    *out = (int)v;
    return 0;
}

/* The command ended: report how and end the sandbox. Nothing is buffered and nothing registered with
 * atexit: the sandbox ends as soon as it can. */
static void finish(int status_fd, int status) {
    if (WIFEXITED(status)) {
        report(status_fd, "exited", WEXITSTATUS(status));
        _exit(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        report(status_fd, "signaled", WTERMSIG(status));
        _exit(128 + WTERMSIG(status));
    }
}

static int exec_failed(int status_fd, const char *command, int err) {
    fprintf(stderr, "hearth-init: cannot execute %s: %s\n", command, strerror(err));
    report(status_fd, "exec-failed", err);
    return err == ENOENT ? 127 : 126;
}

int main(int argc, char **argv) {
    /* Same uid as the workload: keep it from reading our memory. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

    int status_fd = fcntl(HEARTH_FD_STATUS, F_GETFD) >= 0 ? HEARTH_FD_STATUS : -1;
    if (status_fd >= 0) fcntl(status_fd, F_SETFD, FD_CLOEXEC);
    int lifeline = fcntl(HEARTH_FD_LIFELINE, F_GETFD) >= 0 ? HEARTH_FD_LIFELINE : -1;
    if (lifeline >= 0) fcntl(lifeline, F_SETFD, FD_CLOEXEC);

    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);

    pid_t pid = 0;
    int value = 0;
    if (argc == 1 && fcntl(HEARTH_FD_CONTROL, F_GETFD) >= 0) {
        struct hearth_held_config held;
        void *storage;
        struct hearth_held_reply reply = {0, 0, 0};
        if (hearth_held_receive(HEARTH_FD_CONTROL, &held, &storage) < 0) {
            /* The supervisor closed the socket: the prepared sandbox is not wanted. */
            if (errno == ECONNRESET) return 0;
            reply = (struct hearth_held_reply){HEARTH_STEP_HELD_RECEIVE, 0, errno};
        } else if (hearth_held_apply(&held, &reply.step, &reply.index) < 0) {
            reply.error = errno;
        }
        ssize_t ignored = write(HEARTH_FD_CONTROL, &reply, sizeof reply);
        (void)ignored;
        close(HEARTH_FD_CONTROL);
        if (reply.step != 0) return 125;
        /* The lockdown unblocked signals; none may be lost before the handlers below exist. */
        sigprocmask(SIG_SETMASK, &all, NULL);
        int err = 0;
        pid = hearth_start_command(held.argv, held.envp, HEARTH_FD_STATUS, &err);
        if (pid < 0) {
            perror("hearth-init: clone");
            report(status_fd, "exec-failed", errno);
            return 125;
        }
        if (err) return exec_failed(status_fd, held.argv[0], err);
        /* The message's pages would otherwise stay resident for the sandbox's whole life. */
        free(storage);
    } else if (argc == 3 && strcmp(argv[1], "--reap") == 0 && parse_int(argv[2], &value) == 0) {
        pid = value;
    } else if (argc == 4 && strcmp(argv[1], "--exec-failed") == 0 && parse_int(argv[2], &value) == 0) {
        return exec_failed(status_fd, argv[3], value);
    } else {
        fprintf(stderr, "hearth-init: started by hearth only (hearth-init --reap PID)\n");
        report(status_fd, "exec-failed", EINVAL);
        return 127;
    }
    child_pid = pid;

    static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGWINCH};
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = forward;
        sa.sa_flags = SA_RESTART;
        sigaction(forwarded[i], &sa, NULL);
    }
    if (lifeline < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        for (;;) {
            int status;
            pid_t done = wait(&status);
            if (done < 0) {
                if (errno == EINTR) continue;
                return 125;
            }
            if (done == pid) finish(status_fd, status);
            /* else an orphan: reaped, nothing more */
        }
    }

    /* With a lifeline: SIGCHLD stays blocked except inside ppoll, so an exit between the reaping and
     * the wait is never missed (it interrupts the ppoll that follows). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = child_changed;
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t waiting = old;
    sigdelset(&waiting, SIGCHLD);
    sigaddset(&old, SIGCHLD);
    sigprocmask(SIG_SETMASK, &old, NULL);
    for (;;) {
        int status;
        pid_t done;
        while ((done = waitpid(-1, &status, WNOHANG)) > 0) {
            if (done == pid) finish(status_fd, status);
        }
        struct pollfd fd = {.fd = lifeline, .events = POLLIN, .revents = 0};
        if (ppoll(&fd, 1, NULL, &waiting) > 0 && fd.revents) {
            /* The supervisor is gone; nobody will read a status. Our exit kills the whole sandbox. */
            _exit(137);
        }
    }
}
