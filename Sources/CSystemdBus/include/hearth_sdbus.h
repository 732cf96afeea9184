#ifndef HEARTH_SDBUS_H
#define HEARTH_SDBUS_H

#include <stddef.h>
#include <sys/types.h>

/* The systemd Manager calls Hearth makes over the system bus. sd-bus's message calls are C varargs,
 * which Swift cannot call, so they are here. Each returns 0 or a negative errno and, on failure,
 * writes systemd's own error text into `error` (NUL-terminated, cut to `error_size`). */

/* Whether `unit` (a .service or .scope) has Delegate=yes: 1 or 0 in *delegates. */
int hearth_sdbus_unit_delegates(const char *unit, int *delegates, char *error, size_t error_size);

/* Starts a transient scope `name` holding `pid`, with Delegate=yes and TasksMax=infinity, and waits
 * (up to `timeout_usec`) until systemd has finished the job, i.e. until `pid` is in it.
 * -EEXIST when a unit of that name is already loaded. */
int hearth_sdbus_start_delegated_scope(const char *name, const char *description, pid_t pid,
                                       unsigned long long timeout_usec, char *error, size_t error_size);

#endif
