#ifndef HEARTH_CNFTABLES_H
#define HEARTH_CNFTABLES_H

#include <nftables/libnftables.h>

// NULL once libnftables is loaded (on first use, see hearth_lazy_library.h); else why it is not.
const char *hearth_nftables_load_error(void);

#endif
