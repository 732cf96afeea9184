#include "hearth_lazy_library.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

// pthread_once takes no argument: the library being opened is handed over in a thread-local.
static _Thread_local struct hearth_lazy_library *opening;

static void open_library(void) {
    struct hearth_lazy_library *library = opening;
    library->handle = dlopen(library->soname, RTLD_NOW | RTLD_LOCAL);
    if (!library->handle) {
        const char *why = dlerror();
        snprintf(library->error, sizeof library->error, "cannot load %s: %s", library->soname, why ? why : "unknown error");
    }
}

const char *hearth_lazy_library_error(struct hearth_lazy_library *library) {
    opening = library;
    pthread_once(&library->once, open_library);
    return library->handle ? NULL : library->error;
}

void *hearth_lazy_library_symbol(struct hearth_lazy_library *library, const char *name, int required) {
    const char *error = hearth_lazy_library_error(library);
    void *symbol = error ? NULL : dlsym(library->handle, name);
    if (!symbol && required) {
        fprintf(stderr, "hearth: %s: %s\n", name, error ? error : "not in the library");
        abort();
    }
    return symbol;
}
