// libnftables' functions Hearth calls, forwarded to the library opened on first use.
#include "CNftables.h"
#include "hearth_lazy_library.h"

static struct hearth_lazy_library nftables = HEARTH_LAZY_LIBRARY("libnftables.so.1");

const char *hearth_nftables_load_error(void) { return hearth_lazy_library_error(&nftables); }

// nft_ctx_new returns NULL when the library is missing; the others are reached only with its context.
HEARTH_FORWARD_MAKER(nftables, struct nft_ctx *, nft_ctx_new, (uint32_t flags), (flags))
HEARTH_FORWARD_VOID(nftables, nft_ctx_free, (struct nft_ctx *ctx), (ctx))
HEARTH_FORWARD(nftables, int, nft_ctx_buffer_output, (struct nft_ctx *ctx), (ctx))
HEARTH_FORWARD(nftables, int, nft_ctx_buffer_error, (struct nft_ctx *ctx), (ctx))
HEARTH_FORWARD(nftables, const char *, nft_ctx_get_output_buffer, (struct nft_ctx *ctx), (ctx))
HEARTH_FORWARD(nftables, const char *, nft_ctx_get_error_buffer, (struct nft_ctx *ctx), (ctx))
HEARTH_FORWARD(nftables, int, nft_run_cmd_from_buffer, (struct nft_ctx *nft, const char *buf), (nft, buf))
