import HearthModel
import NIOCore
import NIOEmbedded
import HearthHTTP

/// Entry point for `hearth-fuzz` (scripts/fuzz): bytes a runtime could send to its Runtime API.
package enum RuntimeAPIFuzzing {
    /// Feeds `bytes` to a Runtime API connection (the real decoder, handler and session; an event is
    /// pending so the routes that need one have one), in up to three reads, then closes it.
    package static func connection(_ bytes: [UInt8]) {
        let loop = EmbeddedEventLoop()
        let session = RuntimeSession(eventLoop: loop)
        let channel = EmbeddedChannel(loop: loop)
        guard (try? channel.pipeline.syncOperations.configureHTTPServer(RuntimeAPIHandler(session: session))) != nil else { return }
        _ = session.invoke(RuntimeInvocation(requestId: "fuzz-request", payload: Array("{}".utf8), deadlineMs: 0,
                                             invokedFunctionArn: "arn", traceId: "trace"))
        loop.run()
        let cuts = [0, bytes.count / 3, 2 * bytes.count / 3, bytes.count]
        for (from, to) in zip(cuts, cuts.dropFirst()) where from < to {
            _ = try? channel.writeInbound(ByteBuffer(bytes: bytes[from..<to]))
            loop.run()
            while (try? channel.readOutbound(as: ByteBuffer.self)) ?? nil != nil {}
        }
        _ = try? channel.finish()
        session.close(.platformError(.unknown("done")), reason: "done")
        loop.run()
    }
}
