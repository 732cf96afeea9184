#include "hearth_sdbus.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>

#define MANAGER_SERVICE "org.freedesktop.systemd1"
#define MANAGER_PATH "/org/freedesktop/systemd1"
#define MANAGER_INTERFACE "org.freedesktop.systemd1.Manager"

static void put_error(char *out, size_t size, const sd_bus_error *bus_error, int r, const char *doing) {
    if (size == 0) return;
    if (bus_error && sd_bus_error_is_set(bus_error)) {
        snprintf(out, size, "%s: %s (%s)", doing, bus_error->message ? bus_error->message : "", bus_error->name);
    } else {
        snprintf(out, size, "%s: %s", doing, strerror(r < 0 ? -r : r));
    }
}

static int open_system_bus(sd_bus **bus, char *error, size_t error_size) {
    int r = sd_bus_open_system(bus);
    if (r < 0) put_error(error, error_size, NULL, r, "cannot connect to the system bus");
    return r;
}

int hearth_sdbus_unit_delegates(const char *unit, int *delegates, char *error, size_t error_size) {
    *delegates = 0;
    size_t length = strlen(unit);
    const char *interface;
    if (length > 8 && strcmp(unit + length - 8, ".service") == 0) {
        interface = "org.freedesktop.systemd1.Service";
    } else if (length > 6 && strcmp(unit + length - 6, ".scope") == 0) {
        interface = "org.freedesktop.systemd1.Scope";
    } else {
        return 0; /* slices and the rest never delegate */
    }
    sd_bus *bus = NULL;
    int r = open_system_bus(&bus, error, error_size);
    if (r < 0) return r;
    char *path = NULL;
    r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
    if (r < 0) {
        put_error(error, error_size, NULL, r, "cannot encode the unit's object path");
        sd_bus_unref(bus);
        return r;
    }
    sd_bus_error bus_error = SD_BUS_ERROR_NULL;
    int value = 0;
    r = sd_bus_get_property_trivial(bus, MANAGER_SERVICE, path, interface, "Delegate", &bus_error, 'b', &value);
    if (r < 0) {
        put_error(error, error_size, &bus_error, r, "cannot read the unit's Delegate property");
    } else {
        *delegates = value ? 1 : 0;
    }
    sd_bus_error_free(&bus_error);
    free(path);
    sd_bus_unref(bus);
    return r < 0 ? r : 0;
}

static uint64_t monotonic_usec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct job_wait {
    const char *path;
    int done;
    char result[32];
};

static int on_job_removed(sd_bus_message *message, void *userdata, sd_bus_error *unused) {
    (void)unused;
    struct job_wait *wait = userdata;
    uint32_t id;
    const char *path, *unit, *result;
    if (sd_bus_message_read(message, "uoss", &id, &path, &unit, &result) < 0) return 0;
    if (wait->path && strcmp(path, wait->path) == 0) {
        wait->done = 1;
        snprintf(wait->result, sizeof wait->result, "%s", result);
    }
    return 0;
}

int hearth_sdbus_start_delegated_scope(const char *name, const char *description, pid_t pid,
                                       unsigned long long timeout_usec, char *error, size_t error_size) {
    sd_bus *bus = NULL;
    int r = open_system_bus(&bus, error, error_size);
    if (r < 0) return r;
    struct job_wait wait = {0};
    sd_bus_slot *slot = NULL;
    /* Matched before the call: the signal can come before the reply is read, and is queued until processed. */
    r = sd_bus_match_signal(bus, &slot, MANAGER_SERVICE, MANAGER_PATH, MANAGER_INTERFACE, "JobRemoved", on_job_removed, &wait);
    if (r < 0) {
        put_error(error, error_size, NULL, r, "cannot watch systemd's jobs");
        sd_bus_unref(bus);
        return r;
    }
    sd_bus_error bus_error = SD_BUS_ERROR_NULL;
    sd_bus_message *reply = NULL;
    r = sd_bus_call_method(bus, MANAGER_SERVICE, MANAGER_PATH, MANAGER_INTERFACE, "StartTransientUnit", &bus_error, &reply,
                           "ssa(sv)a(sa(sv))", name, "fail", 5,
                           "Description", "s", description,
                           "PIDs", "au", 1, (uint32_t)pid,
                           "Delegate", "b", 1,
                           "TasksMax", "t", UINT64_MAX,
                           "CollectMode", "s", "inactive-or-failed",
                           0);
    if (r < 0) {
        if (sd_bus_error_has_name(&bus_error, "org.freedesktop.systemd1.UnitExists")) r = -EEXIST;
        put_error(error, error_size, &bus_error, r, "StartTransientUnit");
        goto out;
    }
    const char *job = NULL;
    r = sd_bus_message_read(reply, "o", &job);
    if (r < 0) {
        put_error(error, error_size, NULL, r, "cannot read StartTransientUnit's job");
        goto out;
    }
    wait.path = job;
    uint64_t deadline = monotonic_usec() + timeout_usec;
    while (!wait.done) {
        r = sd_bus_process(bus, NULL);
        if (r < 0) {
            put_error(error, error_size, NULL, r, "cannot read from the system bus");
            goto out;
        }
        if (r > 0) continue;
        uint64_t now = monotonic_usec();
        if (now >= deadline) {
            r = -ETIMEDOUT;
            put_error(error, error_size, NULL, r, "systemd did not finish starting the scope");
            goto out;
        }
        r = sd_bus_wait(bus, deadline - now);
        if (r < 0) {
            put_error(error, error_size, NULL, r, "cannot wait on the system bus");
            goto out;
        }
    }
    if (strcmp(wait.result, "done") != 0) {
        r = -EIO;
        snprintf(error, error_size, "systemd's job to start %s ended with \"%s\"", name, wait.result);
    }
out:
    sd_bus_message_unref(reply);
    sd_bus_error_free(&bus_error);
    sd_bus_slot_unref(slot);
    sd_bus_unref(bus);
    return r < 0 ? r : 0;
}
