// The few libc functions hearth-init uses besides system calls: start-up, errno, strings, a
// page-backed malloc, snprintf for the formats it prints, strerror, and signal sets. Single-threaded;
// the command's CLONE_VM child shares all of it until it execs, as it would with glibc.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp);
void *hearth_rt_mmap(size_t length);
void hearth_rt_munmap(void *p, size_t length);
int hearth_rt_sigaction(int sig, const void *act, void *old);
void hearth_rt_restore(void);

static int errno_value;

int *__errno_location(void) { return &errno_value; }

/* A raw system call's result: -1 with errno for the kernel's -4095..-1. */
long hearth_rt_result(long r) {
    if (r < 0 && r > -4096) {
        errno_value = (int)-r;
        return -1;
    }
    return r;
}

long hearth_rt_fail(int err) {
    errno_value = err;
    return -1;
}

/* Called by _start with the stack the kernel set up: argc, argv..., NULL, envp..., NULL. */
_Noreturn void hearth_rt_start(long *sp) {
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    _exit(main(argc, argv, argv + argc + 1));
}

/* Strings. The compiler may emit calls to the first three itself. */

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}

void *memchr(const void *p, int c, size_t n) {
    for (const unsigned char *s = p; n--; s++)
        if (*s == (unsigned char)c) return (void *)s;
    return NULL;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

int strcmp(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

/* malloc: whole pages from mmap, the length kept in front. hearth-init allocates twice at most. */

void *malloc(size_t n) {
    size_t length = n + 16;
    if (length < n) return NULL;
    unsigned char *p = hearth_rt_mmap(length);
    if (!p) {
        errno_value = ENOMEM;
        return NULL;
    }
    memcpy(p, &length, sizeof length);
    return p + 16;
}

void free(void *p) {
    if (!p) return;
    unsigned char *block = (unsigned char *)p - 16;
    size_t length;
    memcpy(&length, block, sizeof length);
    hearth_rt_munmap(block, length);
}

/* snprintf with the conversions hearth-init and CInitCore use: %s %d %u and %%. */

struct sink {
    char *buf;
    size_t size, len;
};

static void put(struct sink *k, char c) {
    if (k->len + 1 < k->size) k->buf[k->len] = c;
    k->len++;
}

static void put_unsigned(struct sink *k, unsigned v) {
    char digits[12];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) put(k, digits[--n]);
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap) {
    struct sink k = {buf, size, 0};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&k, *f);
            continue;
        }
        switch (*++f) {
        case 's':
            for (const char *s = va_arg(ap, const char *), *t = s ? s : "(null)"; *t; t++) put(&k, *t);
            break;
        case 'd': {
            int v = va_arg(ap, int);
            if (v < 0) put(&k, '-');
            put_unsigned(&k, v < 0 ? 0u - (unsigned)v : (unsigned)v);
            break;
        }
        case 'u': put_unsigned(&k, va_arg(ap, unsigned)); break;
        case '%': put(&k, '%'); break;
        default: /* not used by hearth-init: shown as written */
            put(&k, '%');
            if (!*f) return (int)k.len;
            put(&k, *f);
        }
    }
    if (size) buf[k.len < size ? k.len : size - 1] = 0;
    return (int)k.len;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* stdio: stderr only, unbuffered, which is all hearth-init writes to. */

static char stderr_tag;
FILE *stderr = (FILE *)&stderr_tag;

static int write_all(FILE *stream, const char *s, size_t n) {
    if (stream != stderr) {
        errno_value = EBADF;
        return -1;
    }
    while (n) {
        ssize_t w = write(2, s, n);
        if (w < 0 && errno_value == EINTR) continue;
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int fprintf(FILE *restrict stream, const char *restrict fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    return write_all(stream, line, len) < 0 ? -1 : (int)len;
}

/* glibc's wording for the errors an exec or a start-up step can meet. */
char *strerror(int err) {
    static char unknown[32];
    switch (err) {
    case EPERM: return "Operation not permitted";
    case ENOENT: return "No such file or directory";
    case EINTR: return "Interrupted system call";
    case EIO: return "Input/output error";
    case E2BIG: return "Argument list too long";
    case ENOEXEC: return "Exec format error";
    case EBADF: return "Bad file descriptor";
    case EAGAIN: return "Resource temporarily unavailable";
    case ENOMEM: return "Cannot allocate memory";
    case EACCES: return "Permission denied";
    case EFAULT: return "Bad address";
    case EBUSY: return "Device or resource busy";
    case ENOTDIR: return "Not a directory";
    case EISDIR: return "Is a directory";
    case EINVAL: return "Invalid argument";
    case ENFILE: return "Too many open files in system";
    case EMFILE: return "Too many open files";
    case ETXTBSY: return "Text file busy";
    case ENOSPC: return "No space left on device";
    case ENAMETOOLONG: return "File name too long";
    case ELOOP: return "Too many levels of symbolic links";
    case ELIBBAD: return "Accessing a corrupted shared library";
    case EBADMSG: return "Bad message";
    case EMSGSIZE: return "Message too long";
    case ECONNRESET: return "Connection reset by peer";
    default:
        snprintf(unknown, sizeof unknown, "Unknown error %d", err);
        return unknown;
    }
}

void perror(const char *s) {
    fprintf(stderr, "%s%s%s\n", s && *s ? s : "", s && *s ? ": " : "", strerror(errno_value));
}

/* Signals: the kernel's sigset is the first 8 bytes of glibc's sigset_t. */

int sigemptyset(sigset_t *set) {
    memset(set, 0, sizeof *set);
    return 0;
}

/* Signals 1-64 live in the first word, as the kernel reads them. */
int sigaddset(sigset_t *set, int sig) {
    if (sig < 1 || sig > 64) {
        errno = EINVAL;
        return -1;
    }
    ((unsigned long *)set)[0] |= 1UL << (sig - 1);
    return 0;
}

int sigdelset(sigset_t *set, int sig) {
    if (sig < 1 || sig > 64) {
        errno = EINVAL;
        return -1;
    }
    ((unsigned long *)set)[0] &= ~(1UL << (sig - 1));
    return 0;
}

int sigfillset(sigset_t *set) {
    memset(set, 0xff, sizeof *set);
    return 0;
}

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

int sigaction(int sig, const struct sigaction *restrict act, struct sigaction *restrict old) {
    struct kernel_sigaction k, ko;
    if (act) {
        k.handler = act->sa_handler;
        k.flags = (unsigned long)act->sa_flags | SA_RESTORER;
        k.restorer = hearth_rt_restore;
        memcpy(&k.mask, &act->sa_mask, sizeof k.mask);
    }
    if (hearth_rt_sigaction(sig, act ? &k : NULL, old ? &ko : NULL) < 0) return -1;
    if (old) {
        memset(old, 0, sizeof *old);
        old->sa_handler = ko.handler;
        old->sa_flags = (int)ko.flags;
        memcpy(&old->sa_mask, &ko.mask, sizeof ko.mask);
    }
    return 0;
}

/* What CMSG_NXTHDR calls when the compiler does not inline it (debug builds). */
struct cmsghdr *__cmsg_nxthdr(struct msghdr *msg, struct cmsghdr *cm) {
    if (cm->cmsg_len < sizeof(struct cmsghdr)) return NULL;
    unsigned char *next = (unsigned char *)cm + ((cm->cmsg_len + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1));
    unsigned char *end = (unsigned char *)msg->msg_control + msg->msg_controllen;
    if (next + sizeof(struct cmsghdr) > end) return NULL;
    struct cmsghdr *c = (struct cmsghdr *)next;
    if (next + ((c->cmsg_len + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1)) > end) return NULL;
    return c;
}
