// epoll for the supervisor's sandbox watcher (parent side; Glibc's Swift
// module does not export it).
#include <sys/epoll.h>
#include <errno.h>
#include "hearth_spawn.h"

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
