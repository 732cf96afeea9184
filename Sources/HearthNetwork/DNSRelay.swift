import NIOCore
import NIOPosix

/// The sandboxes' DNS server, on the gateway's port 53: it passes each question on to the host's own
/// servers and the answer back, without reading either beyond the header's id. Each question gets a
/// fresh random id upstream (so the answers of two sandboxes never cross, and an off-path forger has to
/// guess it), an answer counts only from the server asked, and a question unanswered for 2 s is asked of
/// the next server. Both sockets live on one event loop, where all of its state is kept.
public final class DNSRelay: Sendable {
    let downstream: any Channel
    let upstream: any Channel

    private init(downstream: any Channel, upstream: any Channel) {
        self.downstream = downstream
        self.upstream = upstream
    }

    public static func start(listen: SocketAddress, upstreams: [SocketAddress], group: any EventLoopGroup) async throws -> DNSRelay {
        guard let family = upstreams.first?.protocol else { throw NetworkError("no DNS server to pass the sandboxes' questions to") }
        let servers = upstreams.filter { $0.protocol == family }
        let loop = group.next()
        let table = RelayTable(servers: servers, loop: loop)
        let upstream = try await DatagramBootstrap(group: loop)
            .channelInitializer { channel in channel.pipeline.addHandler(UpstreamHandler(table: table)) }
            .bind(host: family == .inet6 ? "::" : "0.0.0.0", port: 0).get()
        do {
            let downstream = try await DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in channel.pipeline.addHandler(DownstreamHandler(table: table, upstream: upstream)) }
                .bind(to: listen).get()
            try await loop.submit {
                table.downstream = downstream
                table.upstream = upstream
                table.sweep()
            }.get()
            return DNSRelay(downstream: downstream, upstream: upstream)
        } catch {
            try? await upstream.close()
            throw NetworkError("cannot serve DNS on \(listen): \(error)")
        }
    }

    public func close() async {
        try? await downstream.close()
        try? await upstream.close()
    }
}

/// Questions in flight, by the id they were given upstream. Touched only on `loop`.
final class RelayTable: @unchecked Sendable {
    struct Pending {
        var client: SocketAddress
        var id: UInt16
        var query: ByteBuffer
        var server: Int
        var deadline: NIODeadline
    }
    static let maximumInFlight = 4096
    static let retryAfter = TimeAmount.seconds(2)

    let servers: [SocketAddress]
    let loop: any EventLoop
    var pending: [UInt16: Pending] = [:]
    var downstream: (any Channel)?
    var upstream: (any Channel)?

    init(servers: [SocketAddress], loop: any EventLoop) {
        self.servers = servers
        self.loop = loop
    }

    func ask(_ query: ByteBuffer, from client: SocketAddress) {
        guard pending.count < Self.maximumInFlight, let originalID = query.getInteger(at: query.readerIndex, as: UInt16.self) else { return }
        var id = UInt16.random(in: .min ... .max)
        while pending[id] != nil { id = UInt16.random(in: .min ... .max) }
        var outgoing = query
        outgoing.setInteger(id, at: outgoing.readerIndex)
        pending[id] = Pending(client: client, id: originalID, query: outgoing, server: 0, deadline: .now() + Self.retryAfter)
        upstream?.writeAndFlush(AddressedEnvelope(remoteAddress: servers[0], data: outgoing), promise: nil)
    }

    func answer(_ reply: ByteBuffer, from server: SocketAddress) {
        guard let id = reply.getInteger(at: reply.readerIndex, as: UInt16.self), let asked = pending[id],
              servers[asked.server] == server else { return }
        pending[id] = nil
        var back = reply
        back.setInteger(asked.id, at: back.readerIndex)
        downstream?.writeAndFlush(AddressedEnvelope(remoteAddress: asked.client, data: back), promise: nil)
    }

    /// Every half second: questions past their deadline go to the next server, or are given up.
    func sweep() {
        let now = NIODeadline.now()
        for (id, asked) in pending where asked.deadline <= now {
            let next = asked.server + 1
            guard next < servers.count else {
                pending[id] = nil
                continue
            }
            pending[id]?.server = next
            pending[id]?.deadline = now + Self.retryAfter
            upstream?.writeAndFlush(AddressedEnvelope(remoteAddress: servers[next], data: asked.query), promise: nil)
        }
        loop.scheduleTask(in: .milliseconds(500)) { [weak self] in
            guard let self, self.downstream?.isActive == true else { return }
            self.sweep()
        }
    }
}

final class DownstreamHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let table: RelayTable
    let upstream: any Channel

    init(table: RelayTable, upstream: any Channel) {
        self.table = table
        self.upstream = upstream
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        // A DNS message has a 12-byte header; UDP ones stay well under 4 KB (EDNS asks for 1232).
        guard (12...4096).contains(envelope.data.readableBytes) else { return }
        table.ask(envelope.data, from: envelope.remoteAddress)
    }

    /// A datagram socket's errors (an unreachable client, say) end no relay.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}

final class UpstreamHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let table: RelayTable

    init(table: RelayTable) { self.table = table }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        guard envelope.data.readableBytes >= 12 else { return }
        table.answer(envelope.data, from: envelope.remoteAddress)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}
