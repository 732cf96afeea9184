// libarchive's functions Hearth calls, forwarded to the library opened on first use.
#include "CArchive.h"
#include "hearth_lazy_library.h"

static struct hearth_lazy_library archive = HEARTH_LAZY_LIBRARY("libarchive.so.13");

const char *hearth_archive_load_error(void) { return hearth_lazy_library_error(&archive); }

// The functions that make a handle return NULL when the library is missing; the others are reached
// only with such a handle.
HEARTH_FORWARD_MAKER(archive, struct archive *, archive_read_new, (void), ())
HEARTH_FORWARD_MAKER(archive, struct archive *, archive_write_new, (void), ())
HEARTH_FORWARD_MAKER(archive, struct archive_entry *, archive_entry_new, (void), ())

HEARTH_FORWARD_VOID(archive, archive_entry_free, (struct archive_entry *e), (e))
HEARTH_FORWARD(archive, const char *, archive_entry_hardlink, (struct archive_entry *e), (e))
HEARTH_FORWARD(archive, int, archive_entry_is_encrypted, (struct archive_entry *e), (e))
HEARTH_FORWARD(archive, mode_t, archive_entry_mode, (struct archive_entry *e), (e))
HEARTH_FORWARD(archive, time_t, archive_entry_mtime, (struct archive_entry *e), (e))
HEARTH_FORWARD(archive, int, archive_entry_mtime_is_set, (struct archive_entry *e), (e))
HEARTH_FORWARD(archive, long, archive_entry_mtime_nsec, (struct archive_entry *e), (e))
HEARTH_FORWARD(archive, const char *, archive_entry_pathname, (struct archive_entry *e), (e))
HEARTH_FORWARD_VOID(archive, archive_entry_set_filetype, (struct archive_entry *e, unsigned int type), (e, type))
HEARTH_FORWARD_VOID(archive, archive_entry_set_mtime, (struct archive_entry *e, time_t s, long ns), (e, s, ns))
HEARTH_FORWARD_VOID(archive, archive_entry_set_pathname, (struct archive_entry *e, const char *path), (e, path))
HEARTH_FORWARD_VOID(archive, archive_entry_set_perm, (struct archive_entry *e, mode_t mode), (e, mode))
HEARTH_FORWARD_VOID(archive, archive_entry_set_size, (struct archive_entry *e, la_int64_t size), (e, size))
HEARTH_FORWARD(archive, la_int64_t, archive_entry_size, (struct archive_entry *e), (e))
HEARTH_FORWARD(archive, int, archive_entry_size_is_set, (struct archive_entry *e), (e))
HEARTH_FORWARD(archive, const char *, archive_entry_symlink, (struct archive_entry *e), (e))

HEARTH_FORWARD(archive, const char *, archive_error_string, (struct archive *a), (a))
HEARTH_FORWARD(archive, la_ssize_t, archive_read_data, (struct archive *a, void *buffer, size_t size), (a, buffer, size))
HEARTH_FORWARD(archive, int, archive_read_free, (struct archive *a), (a))
HEARTH_FORWARD(archive, int, archive_read_next_header, (struct archive *a, struct archive_entry **e), (a, e))
HEARTH_FORWARD(archive, int, archive_read_open,
               (struct archive *a, void *data, archive_open_callback *open, archive_read_callback *read, archive_close_callback *close),
               (a, data, open, read, close))
HEARTH_FORWARD(archive, int, archive_read_open_fd, (struct archive *a, int fd, size_t block), (a, fd, block))
HEARTH_FORWARD(archive, int, archive_read_support_filter_gzip, (struct archive *a), (a))
HEARTH_FORWARD(archive, int, archive_read_support_filter_none, (struct archive *a), (a))
HEARTH_FORWARD(archive, int, archive_read_support_filter_zstd, (struct archive *a), (a))
HEARTH_FORWARD(archive, int, archive_read_support_format_gnutar, (struct archive *a), (a))
HEARTH_FORWARD(archive, int, archive_read_support_format_raw, (struct archive *a), (a))
HEARTH_FORWARD(archive, int, archive_read_support_format_tar, (struct archive *a), (a))
HEARTH_FORWARD(archive, int, archive_read_support_format_zip_seekable, (struct archive *a), (a))
HEARTH_FORWARD(archive, int, archive_write_close, (struct archive *a), (a))
HEARTH_FORWARD(archive, la_ssize_t, archive_write_data, (struct archive *a, const void *buffer, size_t size), (a, buffer, size))
HEARTH_FORWARD(archive, int, archive_write_free, (struct archive *a), (a))
HEARTH_FORWARD(archive, int, archive_write_header, (struct archive *a, struct archive_entry *e), (a, e))
HEARTH_FORWARD(archive, int, archive_write_open_filename, (struct archive *a, const char *file), (a, file))
HEARTH_FORWARD(archive, int, archive_write_set_format_zip, (struct archive *a), (a))
