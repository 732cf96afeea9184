#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthAuth
import HearthHTTP
import HearthModel
import HearthPackages
import HearthSupervisor
import Synchronization
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves the API over TCP and a unix socket. Each request's body is read (up to a limit that depends
/// on the operation, checked against Content-Length before any of it is read) into memory up to 64 KB
/// and beyond that into a file with no name, handed to `LambdaAPI`, and answered on the connection's
/// event loop; connections are kept alive within the limits of `ConnectionLimits`, and at most
/// `maxUploads` large bodies are read at once.
public final class ControlServer: Sendable {
    private let channels: [Channel]
    private let registries: [ConnectionRegistry]

    private init(channels: [Channel], registries: [ConnectionRegistry]) {
        self.channels = channels
        self.registries = registries
    }

    /// Large request bodies (management uploads over 64 KB) read at once; more wait for a 429.
    public static let maxUploads = 4

    /// - Parameter verifier: when given, every request on the TCP listener must carry a valid SigV4
    ///   signature; the root-only unix socket never needs one.
    public static func start(api: LambdaAPI, host: String, port: Int, socketPath: String?,
                             limits: ConnectionLimits = ConnectionLimits(), verifier: SigV4Verifier? = nil) async throws -> ControlServer {
        let group = MultiThreadedEventLoopGroup.singleton
        let uploads = UploadSlots(limit: maxUploads)
        // The TCP port and the local socket each have their own cap: a flood on one leaves the other usable.
        let registries = [ConnectionRegistry(limits: limits, loop: group.next()), ConnectionRegistry(limits: limits, loop: group.next())]
        func bootstrap(_ registry: ConnectionRegistry, verifier: SigV4Verifier?) -> ServerBootstrap {
            ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(ChannelOptions.backlog, value: 1024)
                .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let activity = ConnectionActivity(channel: channel)
                        try channel.pipeline.syncOperations.addHandler(ConnectionGuard(registry: registry, activity: activity))
                        try channel.pipeline.syncOperations.configureHTTPServer(
                            ControlHTTPHandler(api: api, activity: activity, uploads: uploads, spillDirectory: api.spillDirectory,
                                               verifier: verifier))
                    }
                }
        }
        var channels: [Channel] = []
        do {
            channels.append(try await bootstrap(registries[0], verifier: verifier).bind(host: host, port: port).get())
            if let socketPath {
                unlink(socketPath)
                // Root only: whoever can reach the socket can run code in sandboxes.
                let old = umask(0o077)
                defer { umask(old) }
                channels.append(try await bootstrap(registries[1], verifier: nil).bind(unixDomainSocketPath: socketPath).get())
            }
        } catch {
            for channel in channels { _ = try? await channel.close().get() }
            for registry in registries { registry.stop() }
            throw error
        }
        return ControlServer(channels: channels, registries: registries)
    }

    /// The TCP port (useful with port 0).
    public var port: Int? { channels.first?.localAddress?.port }

    public func close() async {
        for channel in channels { _ = try? await channel.close().get() }
        for registry in registries { registry.stop() }
    }
}

/// Bodies read into files at once, across the server's connections.
final class UploadSlots: Sendable {
    private let taken = Atomic(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func take() -> Bool {
        if taken.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue <= limit { return true }
        taken.wrappingSubtract(1, ordering: .acquiringAndReleasing)
        return false
    }

    func give() { taken.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
}

final class ControlHTTPHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A request whose answer is due in turn: to be handled, or refused before its body was read.
    private enum Pending {
        case request(APIRequest, RequestFraming)
        case refusal(APIResponse, RequestFraming)
    }

    private let api: LambdaAPI
    private let activity: ConnectionActivity
    private let uploads: UploadSlots
    private let spillDirectory: String
    private let verifier: SigV4Verifier?
    /// The request's signature, checked as far as its head allows; the rest needs the body's hash.
    private var pendingSignature: PendingSignature?
    private var head: HTTPRequestHead?
    private var spool: BodySpool?
    private var limit = 0
    private var rejected = false
    /// This connection holds an upload slot until its request is answered.
    private var holdsUpload = false
    /// A refused request's body (of a known, acceptable length) is read and dropped before the connection
    /// closes, so the client reads its answer rather than a reset.
    private var lingering = false
    private var order = OneAtATime<Pending>()
    /// The connection's event loop as the executor of its requests' tasks.
    private var loopExecutor = LoopExecutor()

    init(api: LambdaAPI, activity: ConnectionActivity, uploads: UploadSlots, spillDirectory: String, verifier: SigV4Verifier?) {
        self.api = api
        self.verifier = verifier
        self.activity = activity
        self.uploads = uploads
        self.spillDirectory = spillDirectory
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            activity.headComplete()
            head = h
            rejected = false
            limit = LambdaAPI.bodyLimit(method: h.method.rawValue, uri: h.uri)
            let length = h.headers.first(name: "content-length").flatMap(Int.init)
            if let length, length > limit { return reject(context: context, h, LambdaAPI.tooLarge(method: h.method.rawValue, uri: h.uri, limit: limit)) }
            // A body of an acceptable, declared length may be read and dropped after a refusal.
            let lingerable = length != nil
            // Unsigned, by an unknown key, out of scope or out of time: refused before any of the body is kept.
            pendingSignature = nil
            // A load balancer's or systemd's health check cannot sign: /healthz says only that the daemon answers.
            if let verifier, !(h.method == .GET && h.uri == "/healthz") {
                do {
                    pendingSignature = try verifier.verifyHead(method: h.method.rawValue, rawTarget: h.uri,
                                                               headers: h.headers.map { ($0.name, $0.value) }, now: Date())
                } catch {
                    return reject(context: context, h, error, linger: lingerable)
                }
            }
            // A management body beyond what is kept in memory (a zip, an image) takes one of the upload slots.
            if (length ?? Int.max) > BodySpool.memoryLimit && !LambdaAPI.isInvocation(h.uri) && h.method != .GET && h.method != .HEAD {
                guard uploads.take() else {
                    return reject(context: context, h, .throttled("ConcurrentUploadLimitExceeded",
                                                                 "Rate Exceeded. \(uploads.limit) uploads are being received; try again when one has finished."),
                                  linger: lingerable)
                }
                holdsUpload = true
            }
            spool = BodySpool(directory: spillDirectory, expected: length ?? 0)
            if let pendingSignature, !pendingSignature.unsignedPayload { spool?.hashing() }
            context.writeContinueIfExpected(h, answerDue: order.answerDue)
        case .body(var buffer):
            if lingering { activity.bodyProgress() }
            guard !rejected, let h = head else { return }
            activity.bodyProgress()
            guard (spool?.length ?? 0) + buffer.readableBytes <= limit else {
                return reject(context: context, h, LambdaAPI.tooLarge(method: h.method.rawValue, uri: h.uri, limit: limit))
            }
            do {
                try spool?.append(&buffer)
            } catch {
                reject(context: context, h, .service("cannot keep the request body: \(error)"))
            }
        case .end:
            if lingering {
                lingering = false
                context.close(promise: nil)
                return
            }
            guard !rejected, let h = head else { return }
            activity.handling()
            head = nil
            if let signature = pendingSignature {
                pendingSignature = nil
                do {
                    _ = try signature.verify(payloadSHA256: spool?.sha256 ?? BodySpool.emptySHA256)
                } catch {
                    spool = nil
                    return admit(.refusal(LambdaAPI.errorResponse(error), RequestFraming(h)), context: context)
                }
            }
            var headers: [String: String] = [:]
            for (name, value) in h.headers { headers[name.lowercased()] = value }
            var request = APIRequest(method: h.method.rawValue, uri: h.uri, headers: headers, body: spool?.bytes ?? [])
            request.spooled = spool?.file
            request.spillDirectory = spillDirectory
            spool = nil
            admit(.request(request, RequestFraming(h)), context: context)
        }
    }

    private func admit(_ pending: Pending, context: ChannelHandlerContext) {
        if let now = order.admit(pending) { handle(now, context: context) }
    }

    private func handle(_ pending: Pending, context: ChannelHandlerContext) {
        activity.handling()
        switch pending {
        case .refusal(let response, let framing):
            write(response, for: framing, context: context)
            // Its body keeps coming: the body timeout applies until it ends.
            if lingering { activity.headComplete() }
        case .request(let request, let framing):
            let eventLoop = context.eventLoop
            let loopBound = NIOLoopBound((self, context), eventLoop: eventLoop)
            let api = self.api
            // An Invoke runs on its connection's event loop, actor hops included: no hand-off to the
            // global pool and back on the warm path (the scheduler moves anything that blocks, a cold
            // start or a teardown, to the global executor). Other operations may block on disk: not here.
            Task(executorPreference: request.isInvoke ? loopExecutor.get(eventLoop) : nil) {
                let response = await api.handle(request)
                eventLoop.execute {
                    let (handler, context) = loopBound.value
                    handler.write(response, for: framing, context: context)
                }
            }
        }
    }

    /// An answer as soon as the request is known to be refused, without reading the rest of its body;
    /// the connection closes after.
    private func reject(context: ChannelHandlerContext, _ h: HTTPRequestHead, _ error: ServiceError, linger: Bool = false) {
        rejected = true
        head = nil
        spool = nil
        lingering = linger
        admit(.refusal(LambdaAPI.errorResponse(error), RequestFraming(version: h.version, keepAlive: false)), context: context)
    }

    private func write(_ response: APIResponse, for framing: RequestFraming, context: ChannelHandlerContext) {
        releaseUpload()
        var response = response
        if response.headers.first(where: { $0.0 == "x-amzn-RequestId" }) == nil {
            response.headers.append(("x-amzn-RequestId", RequestIdentifiers.uuid()))
        }
        if let streamed = response.streamed {
            return writeStreamed(response, streamed, for: framing, context: context)
        }
        if let file = response.file, let fd = file.take() {
            context.writeHTTPFileResponse(status: response.status, headers: response.headers, fd: fd, length: file.length, for: framing)
        } else {
            context.writeHTTPResponse(status: response.status, headers: response.headers, body: response.body, for: framing, lingering: lingering)
        }
        // Without keep-alive the connection is closing: whatever the client sent after is dropped.
        guard framing.keepAlive else { return }
        activity.answered()
        if let next = order.answered(on: context) { handle(next, context: context) }
    }

    /// The head when the first piece is ready (or the response `run` gives back, when it gave none), each piece
    /// as it comes, on the connection's event loop.
    private func writeStreamed(_ response: APIResponse, _ body: StreamedBody, for framing: RequestFraming, context: ChannelHandlerContext) {
        context.writeStreamedResponse(for: framing, defaultHead: (response.status, response.headers), produce: { emit in
            await body.run { emit(.body($0)) }
        }, done: { instead, started in
            if !started, var instead {
                if instead.headers.first(where: { $0.0 == "x-amzn-RequestId" }) == nil {
                    instead.headers += response.headers.filter { $0.0 == "x-amzn-RequestId" }
                }
                return self.write(instead, for: framing, context: context)
            }
            if !started { _ = context.writeStreamingHead(status: response.status, headers: response.headers, for: framing) }
            guard context.writeBodyEnd(for: framing) else { return }
            self.activity.answered()
            if let next = self.order.answered(on: context) { self.handle(next, context: context) }
        })
    }

    private func releaseUpload() {
        if holdsUpload {
            holdsUpload = false
            uploads.give()
        }
    }

    func read(context: ChannelHandlerContext) {
        if order.mayRead() { context.read() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        releaseUpload()
        spool = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.closeAfterError(error, answerDue: order.answerDue)
    }
}
