#ifndef HEARTH_CARCHIVE_H
#define HEARTH_CARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

// NULL once libarchive is loaded (on first use, see hearth_lazy_library.h); else why it is not.
const char *hearth_archive_load_error(void);

#endif
