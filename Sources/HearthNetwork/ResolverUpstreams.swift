import Foundation
import NIOCore

/// Where the DNS relay sends the sandboxes' questions: the servers the host itself uses, read from its
/// resolv.conf. A loopback server (systemd-resolved's 127.0.0.53, a local dnsmasq) is fine: the relay
/// runs in the host's namespace, where a sandbox could not reach it.
public enum ResolverUpstreams {
    public static func fromResolvConf(_ path: String = "/etc/resolv.conf") -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return parse(text)
    }

    static func parse(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0] == "nameserver" else { return nil }
            // A scoped IPv6 address (fe80::1%eth0) is not a socket address NIO takes; such servers are left out.
            let server = String(words[1])
            return server.contains("%") ? nil : server
        }
    }

    /// Socket addresses on port 53; an unparsable entry is named in the error.
    public static func addresses(_ servers: [String]) throws(NetworkError) -> [SocketAddress] {
        try servers.map { server throws(NetworkError) in
            do { return try SocketAddress(ipAddress: server, port: 53) } catch {
                throw NetworkError("DNS server '\(server)' is not an IP address")
            }
        }
    }
}
