import Foundation
import XCTest

/// Hosts the network tests make for themselves: network namespaces joined to this machine by a veth each,
/// with a /24 of their own (the "internet" from 198.18.0.0/15, reserved for benchmarking; a private one
/// from 192.168/16). `ip route get` proves each address stays on the machine before anything is sent, and
/// `remove` takes every namespace, veth and server away again.
final class NetworkTestHosts: @unchecked Sendable {
    struct Host {
        var namespace: String
        var veth: String
        /// The namespace's address (.2) and this machine's end of the veth (.1).
        var address: String
        var hostAddress: String
    }

    let tag = String(UInt32.random(in: 0x1000...0xffff), radix: 16)
    private(set) var hosts: [Host] = []
    private var servers: [Process] = []
    let scratch: String

    init() throws {
        scratch = NSTemporaryDirectory() + "hearth-net-" + tag
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    @discardableResult
    static func ip(_ args: [String]) throws -> String {
        let (status, out) = try RuntimeImages.run("/usr/sbin/ip", args)
        guard status == 0 else { throw NSError(domain: "ip", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "ip \(args.joined(separator: " ")): \(out)"]) }
        return out
    }

    /// A namespace with PREFIX.2/24 behind a veth whose end here has PREFIX.1.
    func add(_ name: String, prefix: String) throws -> Host {
        let host = Host(namespace: "hn-\(tag)-\(name)", veth: "hn\(tag)\(hosts.count)", address: prefix + ".2", hostAddress: prefix + ".1")
        try Self.ip(["netns", "add", host.namespace])
        hosts.append(host)
        try Self.ip(["link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.namespace])
        try Self.ip(["addr", "add", host.hostAddress + "/24", "dev", host.veth])
        try Self.ip(["link", "set", host.veth, "up"])
        try Self.ip(["-n", host.namespace, "addr", "add", host.address + "/24", "dev", "eth0"])
        try Self.ip(["-n", host.namespace, "link", "set", "eth0", "up"])
        try Self.ip(["-n", host.namespace, "link", "set", "lo", "up"])
        // No default route: sandboxes' packets arrive masqueraded to hostAddress, on the link; and Python's
        // http.server looks its own address up in DNS at start, which a route out would make wait for timeouts.
        let route = try Self.ip(["route", "get", host.address])
        guard route.contains("dev \(host.veth)") else {
            throw XCTSkip("\(host.address) would not stay on this machine (ip route get: \(route)); not sending to it")
        }
        return host
    }

    /// An HTTP server in the host's namespace whose pages say `text`.
    func serveHTTP(in host: Host, port: Int, text: String) throws {
        let root = scratch + "/www-" + host.namespace
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try text.write(toFile: root + "/index.html", atomically: true, encoding: .utf8)
        try launch(["ip", "netns", "exec", host.namespace, "python3", "-m", "http.server", String(port), "--bind", host.address, "--directory", root])
        try waitForPort(host.address, port, namespace: host.namespace)
    }

    /// An HTTP server on this machine (its own namespace) bound to `address`.
    func serveHTTPHere(address: String, port: Int, text: String) throws {
        let root = scratch + "/www-here-\(port)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try text.write(toFile: root + "/index.html", atomically: true, encoding: .utf8)
        try launch(["python3", "-m", "http.server", String(port), "--bind", address, "--directory", root])
        try waitForPort(address, port, namespace: nil)
    }

    /// dnsmasq in the host's namespace answering `names` (and nothing else: no upstream, no hosts file).
    func serveDNS(in host: Host, names: [String: String]) throws {
        // Under a shell that stays: dnsmasq closes the fds it inherits, and Foundation takes a closed one for its
        // child's exit and blocks in waitpid for it, which stops it reaping any other child.
        let dnsmasq = ["ip", "netns", "exec", host.namespace, "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces",
                       "--listen-address=" + host.address, "--pid-file=", "--user=root"] + names.map { "--address=/\($0.key)/\($0.value)" }
        try launch(["sh", "-c", dnsmasq.joined(separator: " ") + " & child=$!; trap 'kill $child' TERM; wait $child"])
    }

    private func launch(_ command: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = command
        let log = scratch + "/server-\(servers.count).log"
        XCTAssertTrue(FileManager.default.createFile(atPath: log, contents: nil), "cannot make \(log)")
        p.standardOutput = FileHandle(forWritingAtPath: log)
        p.standardError = FileHandle(forWritingAtPath: log)
        try p.run()
        servers.append(p)
    }

    private func waitForPort(_ address: String, _ port: Int, namespace: String?) throws {
        let probe = ["curl", "-s", "-o", "/dev/null", "-m", "1", "http://\(address):\(port)/"]
        let command = namespace.map { ["ip", "netns", "exec", $0] + probe } ?? probe
        for _ in 0..<50 {
            if (try? RuntimeImages.run("/usr/bin/env", command))?.0 == 0 { return }
            usleep(100_000)
        }
        let log = (try? String(contentsOfFile: scratch + "/server-\(servers.count - 1).log", encoding: .utf8)) ?? ""
        throw NSError(domain: "NetworkTestHosts", code: 1, userInfo: [NSLocalizedDescriptionKey: "the test's HTTP server on \(address):\(port) did not start: \(log.suffix(500))"])
    }

    func remove() {
        for p in servers where p.isRunning {
            p.terminate()
            p.waitUntilExit()
        }
        servers = []
        for host in hosts {
            _ = try? Self.ip(["netns", "del", host.namespace])
            _ = try? Self.ip(["link", "del", host.veth])
        }
        hosts = []
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// Every link, nftables table and netns on the machine, and IPv4 forwarding: what a test must leave as it found.
    static func snapshot() -> [String] {
        let links = (try? ip(["-o", "link", "show"]))?.split(separator: "\n").map { line in
            String(line.split(separator: ":").dropFirst().first ?? "").trimmingCharacters(in: .whitespaces)
        } ?? []
        let tables = (try? RuntimeImages.run("/usr/sbin/nft", ["list", "tables"]))?.1.split(separator: "\n").map(String.init) ?? []
        let namespaces = (try? ip(["netns", "list"]))?.split(separator: "\n").map(String.init) ?? []
        let forwarding = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)) ?? "?"
        return (links.map { "link " + $0 } + tables.map { "nft " + $0 } + namespaces.map { "netns " + $0 } + ["ip_forward " + forwarding]).sorted()
    }
}
