#ifndef HEARTH_LAZY_LIBRARY_H
#define HEARTH_LAZY_LIBRARY_H

#include <pthread.h>
#include <stddef.h>

// A shared library opened on first use rather than by the dynamic linker at every start: a process
// that never reads an archive or touches nftables (every `hearth sandbox run`, every CLI call) does
// not map, relocate and resolve them and the libraries they pull in (libarchive alone brings libxml2
// and ICU).
struct hearth_lazy_library {
    const char *soname;
    pthread_once_t once;
    void *handle;
    char error[256];
};

#define HEARTH_LAZY_LIBRARY(soname) { (soname), PTHREAD_ONCE_INIT, NULL, { 0 } }

// NULL once the library is open; else why it could not be opened.
const char *hearth_lazy_library_error(struct hearth_lazy_library *library);

// `name` from the library; NULL if the library or the symbol is missing. With `required`, a missing
// symbol ends the process with a message: the callers reach it only with a handle the library made.
void *hearth_lazy_library_symbol(struct hearth_lazy_library *library, const char *name, int required);

// One function forwarded to the library, its address resolved once (a missing symbol ends the
// process, see hearth_lazy_library_symbol). HEARTH_FORWARD_MAKER is for the functions that make a
// handle: they return NULL when the library cannot be opened, which the callers already handle.
#define HEARTH_FORWARD_WITH(library, ret, name, params, args, required)                                          \
    ret name params {                                                                                              \
        static ret (*forward) params;                                                                              \
        ret (*f) params = __atomic_load_n(&forward, __ATOMIC_ACQUIRE);                                             \
        if (!f) {                                                                                                  \
            f = (ret (*) params)hearth_lazy_library_symbol(&(library), #name, (required));                         \
            if (!f) return (ret)0; /* only a maker gets here: NULL */                                           \
            __atomic_store_n(&forward, f, __ATOMIC_RELEASE);                                                       \
        }                                                                                                          \
        return f args;                                                                                             \
    }
#define HEARTH_FORWARD(library, ret, name, params, args) HEARTH_FORWARD_WITH(library, ret, name, params, args, 1)
#define HEARTH_FORWARD_MAKER(library, ret, name, params, args) HEARTH_FORWARD_WITH(library, ret, name, params, args, 0)

#define HEARTH_FORWARD_VOID(library, name, params, args)                                                          \
    void name params {                                                                                             \
        static void (*forward) params;                                                                             \
        void (*f) params = __atomic_load_n(&forward, __ATOMIC_ACQUIRE);                                            \
        if (!f) {                                                                                                  \
            f = (void (*) params)hearth_lazy_library_symbol(&(library), #name, 1);                                 \
            __atomic_store_n(&forward, f, __ATOMIC_RELEASE);                                                       \
        }                                                                                                          \
        f args;                                                                                                    \
    }

#endif
