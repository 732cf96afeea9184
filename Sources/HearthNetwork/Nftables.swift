import CNftables
import Foundation
import Synchronization

/// libnftables: rules are given in nft's own language and applied as one netlink transaction, so a
/// batch either applies whole or not at all.
final class Nftables: Sendable {
    private let context: Mutex<OpaquePointer?>

    init() throws(NetworkError) {
        if let why = hearth_nftables_load_error() { throw NetworkError("libnftables is needed for the sandboxes' network: \(String(cString: why))") }
        guard let ctx = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else { throw NetworkError("libnftables: cannot make a context") }
        nft_ctx_buffer_output(ctx)
        nft_ctx_buffer_error(ctx)
        context = Mutex(ctx)
    }

    deinit {
        context.withLock { ctx in
            if let ctx { nft_ctx_free(ctx) }
            ctx = nil
        }
    }

    /// Runs `commands` (nft syntax, one transaction); the error is nft's own message.
    func run(_ commands: String) throws(NetworkError) { _ = try output(commands) }

    /// Runs `commands` and returns nft's output (what `list` commands print).
    func output(_ commands: String) throws(NetworkError) -> String {
        let result: Result<String, NetworkError> = context.withLock { ctx in
            guard let ctx else { return .failure(NetworkError("libnftables: no context")) }
            guard nft_run_cmd_from_buffer(ctx, commands) == 0 else {
                let message = nft_ctx_get_error_buffer(ctx).map { String(cString: $0) } ?? "unknown error"
                return .failure(NetworkError("nftables refused the rules: \(message.trimmingCharacters(in: .whitespacesAndNewlines))"))
            }
            return .success(nft_ctx_get_output_buffer(ctx).map { String(cString: $0) } ?? "")
        }
        return try result.get()
    }
}

public struct NetworkError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
