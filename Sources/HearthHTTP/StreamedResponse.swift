import NIOCore

/// A piece of a response made while it is sent: its status and headers (once, first), or body bytes.
public enum ResponsePiece: Sendable {
    case head(status: Int, headers: [(String, String)])
    case body([UInt8])
}

extension ChannelHandlerContext {
    /// Runs `produce` in a task of its own and writes each piece it emits as it comes, in order, on this
    /// connection's event loop (body bytes before any head go out after `defaultHead`; the body is chunked,
    /// see `writeStreamingHead`). Then `done` runs on the loop with what `produce` returned and whether
    /// anything was written: when nothing was, the caller answers in its own way; else it ends the body.
    public func writeStreamedResponse<Result: Sendable>(for framing: RequestFraming, defaultHead: (status: Int, headers: [(String, String)]),
                                                        produce: @escaping @Sendable (_ emit: @escaping @Sendable (ResponsePiece) -> Void) async -> Result,
                                                        done: @escaping (_ result: Result, _ started: Bool) -> Void) {
        let loop = eventLoop
        let bound = NIOLoopBound((self, done), eventLoop: loop)
        let started = NIOLoopBoundBox(false, eventLoop: loop)
        Task {
            let result = await produce { piece in
                loop.execute {
                    let (context, _) = bound.value
                    switch piece {
                    case .head(let status, let headers):
                        guard !started.value else { return }
                        started.value = true
                        _ = context.writeStreamingHead(status: status, headers: headers, for: framing)
                    case .body(let bytes):
                        if !started.value {
                            started.value = true
                            _ = context.writeStreamingHead(status: defaultHead.status, headers: defaultHead.headers, for: framing)
                        }
                        context.writeBodyPiece(bytes, for: framing)
                    }
                }
            }
            loop.execute {
                let (_, done) = bound.value
                done(result, started.value)
            }
        }
    }
}
