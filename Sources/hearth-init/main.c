/*
 * hearth-init: PID 1 of a sandbox. Starts the command, forwards signals to
 * it, reaps every orphan, and exits with the command's status. When it exits
 * the kernel kills whatever is left in the pid namespace, daemons included.
 *
 * If fd 3 is open it is the status pipe to the supervisor: one line,
 * "exited N", "signaled N" or "exec-failed ERRNO", written before exiting.
 *
 * Started with no command, it is a held (prepared) sandbox's init: still
 * privileged, it waits on fd 4 for the function (hearth_held_send), attaches
 * its code, locks itself down as the spawn would have, replies, and only then
 * starts the command.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hearth_spawn.h"

extern char **environ;

static volatile sig_atomic_t child_pid = 0;

static void forward(int sig) {
    if (child_pid > 0) kill(child_pid, sig);
}

static void report(int status_fd, const char *what, int value) {
    if (status_fd < 0) return;
    char line[64];
    int n = snprintf(line, sizeof line, "%s %d\n", what, value);
    if (n > 0) {
        ssize_t ignored = write(status_fd, line, (size_t)n);
        (void)ignored;
    }
}

int main(int argc, char **argv) {
    /* Same uid as the workload: keep it from reading our memory or environment. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

    int status_fd = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
    if (status_fd >= 0) fcntl(status_fd, F_SETFD, FD_CLOEXEC);

    char **command = argv + 1;
    if (argc == 1 && fcntl(4, F_GETFD) >= 0) {
        struct hearth_held_config held;
        void *storage;
        struct hearth_held_reply reply = {0, 0, 0};
        if (hearth_held_receive(4, &held, &storage) < 0) {
            /* The supervisor closed the socket: the prepared sandbox is not wanted. */
            if (errno == ECONNRESET) return 0;
            reply = (struct hearth_held_reply){HEARTH_STEP_HELD_RECEIVE, 0, errno};
        } else if (hearth_held_apply(&held, &reply.step, &reply.index) < 0) {
            reply.error = errno;
        }
        ssize_t ignored = write(4, &reply, sizeof reply);
        (void)ignored;
        close(4);
        if (reply.step != 0) return 125;
        command = (char **)held.argv;
        environ = (char **)held.envp;
    } else if (argc < 2) {
        fprintf(stderr, "hearth-init: no command\n");
        report(status_fd, "exec-failed", EINVAL);
        return 127;
    }

    /* A pipe to report exec failure of the child: closed by a successful exec. */
    int exec_pipe[2];
    if (pipe2(exec_pipe, O_CLOEXEC) < 0) {
        perror("hearth-init: pipe");
        return 125;
    }

    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);

    pid_t pid = fork();
    if (pid < 0) {
        perror("hearth-init: fork");
        report(status_fd, "exec-failed", errno);
        return 125;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        close(exec_pipe[0]);
        execvp(command[0], command);
        int err = errno;
        ssize_t ignored = write(exec_pipe[1], &err, sizeof err);
        (void)ignored;
        fprintf(stderr, "hearth-init: cannot execute %s: %s\n", command[0], strerror(err));
        _exit(err == ENOENT ? 127 : 126);
    }
    child_pid = pid;
    close(exec_pipe[1]);

    static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCONT, SIGWINCH};
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = forward;
        sa.sa_flags = SA_RESTART;
        sigaction(forwarded[i], &sa, NULL);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);

    int exec_err = 0;
    ssize_t got;
    do {
        got = read(exec_pipe[0], &exec_err, sizeof exec_err);
    } while (got < 0 && errno == EINTR);
    close(exec_pipe[0]);

    for (;;) {
        int status;
        pid_t done = wait(&status);
        if (done < 0) {
            if (errno == EINTR) continue;
            return 125;
        }
        if (done != pid) continue; /* an orphan: reaped, nothing more */
        if (got == (ssize_t)sizeof exec_err) {
            report(status_fd, "exec-failed", exec_err);
            return exec_err == ENOENT ? 127 : 126;
        }
        if (WIFEXITED(status)) {
            report(status_fd, "exited", WEXITSTATUS(status));
            return WEXITSTATUS(status);
        }
        if (WIFSIGNALED(status)) {
            report(status_fd, "signaled", WTERMSIG(status));
            return 128 + WTERMSIG(status);
        }
    }
}
