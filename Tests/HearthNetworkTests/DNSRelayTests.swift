@testable import HearthNetwork
import NIOCore
import NIOPosix
import XCTest

/// The relay between real UDP sockets on loopback: a stand-in server that answers with the id it got.
final class DNSRelayTests: XCTestCase {
    func testAnswersReturnToTheirAskerWithTheirOwnIdAndOnlyFromTheServerAsked() async throws {
        let server = try UDPSocket(port: 0)
        defer { server.close() }
        let relay = try await DNSRelay.start(listen: try SocketAddress(ipAddress: "127.0.0.1", port: 0),
                                             upstreams: [try SocketAddress(ipAddress: "127.0.0.1", port: Int(server.port))],
                                             group: MultiThreadedEventLoopGroup.singleton)
        let relayPort = try XCTUnwrap(relay.downstream.localAddress?.port)
        let client = try UDPSocket(port: 0)
        defer { client.close() }
        let query: [UInt8] = [0xAB, 0xCD] + Array(repeating: 0, count: 10) + Array("question".utf8)
        client.send(query, to: UInt16(relayPort))
        let (asked, from) = try XCTUnwrap(server.receive())
        XCTAssertEqual(Array(asked.dropFirst(2)), Array(query.dropFirst(2)), "the question passes unchanged but for its id")
        // A forged answer from another port is ignored; the server's own comes back with the asker's id.
        let forger = try UDPSocket(port: 0)
        forger.send(Array(asked.prefix(2)) + Array(repeating: 1, count: 10) + Array("forged".utf8), to: UInt16(relayPort))
        forger.close()
        server.send(Array(asked.prefix(2)) + Array(repeating: 0, count: 10) + Array("answer".utf8), to: from)
        let (answer, _) = try XCTUnwrap(client.receive())
        XCTAssertEqual(Array(answer.prefix(2)), [0xAB, 0xCD])
        XCTAssertEqual(String(decoding: answer.suffix(6), as: UTF8.self), "answer")
        XCTAssertNil(client.receive(timeoutMs: 300), "one answer per question")
        await relay.close()
    }
}

/// A blocking UDP socket on 127.0.0.1, for the test's side.
final class UDPSocket {
    let fd: Int32
    let port: UInt16

    init(port: UInt16) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: port.bigEndian, sin_addr: in_addr(s_addr: UInt32(0x7f00_0001).bigEndian), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else {
            Glibc.close(fd)
            throw NSError(domain: "UDPSocket", code: Int(errno))
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.port = UInt16(bigEndian: address.sin_port)
    }

    func send(_ bytes: [UInt8], to port: UInt16) {
        var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: port.bigEndian, sin_addr: in_addr(s_addr: UInt32(0x7f00_0001).bigEndian), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    }

    func receive(timeoutMs: Int32 = 3000) -> ([UInt8], UInt16)? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMs) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 2048)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, buffer.count, 0, $0, &length) } }
        guard n > 0 else { return nil }
        return (Array(buffer.prefix(n)), UInt16(bigEndian: address.sin_port))
    }

    func close() { Glibc.close(fd) }
}
