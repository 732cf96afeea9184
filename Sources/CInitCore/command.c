// Starting a sandbox's command, shared by the spawn child (between clone and exec: system calls
// only, nothing that allocates or locks) and a held sandbox's init.
#define _GNU_SOURCE
#include "hearth_init_core.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

struct command_ctx {
    char *const *argv;
    char *const *envp;
    int close_from;
    int error;
};

static const char *env_value(char *const envp[], const char *name) {
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *e = envp[i];
        size_t k = 0;
        while (name[k] && e[k] == name[k]) k++;
        if (!name[k] && e[k] == '=') return e + k + 1;
    }
    return NULL;
}

/* execvp's search without its allocation: absolute PATH entries only, as CommandResolver checks.
 * Returns the errno that explains the failure (EACCES if any candidate was not executable). */
static int exec_search(char *const argv[], char *const envp[]) {
    const char *file = argv[0];
    size_t flen = 0;
    int has_slash = 0;
    while (file[flen]) has_slash |= file[flen++] == '/';
    if (has_slash) {
        execve(file, argv, envp);
        return errno;
    }
    const char *path = env_value(envp, "PATH");
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    char candidate[4096];
    int result = ENOENT;
    for (const char *at = path; *at;) {
        const char *end = at;
        while (*end && *end != ':') end++;
        size_t dlen = (size_t)(end - at);
        if (dlen > 0 && at[0] == '/' && dlen + 1 + flen < sizeof candidate) {
            for (size_t i = 0; i < dlen; i++) candidate[i] = at[i];
            candidate[dlen] = '/';
            for (size_t i = 0; i <= flen; i++) candidate[dlen + 1 + i] = file[i];
            execve(candidate, argv, envp);
            switch (errno) {
            case EACCES: result = EACCES; break;
            case ENOENT: case ENOTDIR: case ESTALE: case ENODEV: case ETIMEDOUT: break;
            default: return errno;
            }
        }
        at = *end ? end + 1 : end;
    }
    return result;
}

static int command_main(void *arg) {
    struct command_ctx *c = arg;
    /* The init's own fds (status pipe, lifeline) are not the command's: it gets 0-2 only. */
    if (c->close_from >= 0) syscall(SYS_close_range, (unsigned)c->close_from, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    c->error = exec_search(c->argv, c->envp);
    _exit(c->error == ENOENT ? 127 : 126);
}

pid_t hearth_start_command(char *const argv[], char *const envp[], int close_from, int *exec_error) {
    /* CLONE_VFORK: the caller is suspended until the child has exec'd, so the child may use this
     * stack frame and report its exec error in `c`. */
    char stack[16384] __attribute__((aligned(16)));
    struct command_ctx c = {.argv = argv, .envp = envp, .close_from = close_from, .error = 0};
    pid_t pid = clone(command_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
    if (pid < 0) return -1;
    *exec_error = *(volatile int *)&c.error;
    return pid;
}
