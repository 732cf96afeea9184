import ArgumentParser
import Foundation
import HearthCgroups
import HearthExecution
import HearthModel
import HearthNetwork
import HearthPackages
import HearthRegistry
import HearthSandbox
import HearthSupervisor
import NIOPosix

/// `hearth-bench network`: what a sandbox's network costs. A cold start (start, init, first event answered)
/// of a static runtime with and without a network, from nothing and from a pre-built sandbox; the
/// attachment alone by Hearth's libnl and nftables against Debian's CNI bridge plugin (exec per sandbox,
/// host-local addresses, ipMasq); and the memory an idle pre-built sandbox holds with a veth and without.
struct NetworkBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "network", abstract: "Sandbox networking: cold starts, attachment, memory.")

    @Option(help: "Timed runs per method.") var runs = 30
    @Option(help: "Untimed warm-up runs per method.") var warmups = 3
    @Option(help: "Pre-built sandboxes held at once for the memory measurement.") var held = 40
    @Option(help: "Repository root (for scripts/fixtures).") var repo = FileManager.default.currentDirectoryPath
    @Option(help: "Runtime images (scripts/build-images).") var imagesDir: String?
    @Option(help: "Path of hearth-init.") var initPath: String?
    @Option(help: "Only these methods (names as printed, separated by semicolons).") var only: String?

    func run() throws { try reportingLeaks(measure) }

    private func measure() throws {
        guard geteuid() == 0 else { throw ValidationError("the network benchmark needs root") }
        let images = imagesDir ?? ProcessInfo.processInfo.environment["HEARTH_IMAGES_DIR"] ?? "/var/lib/hearth/images"
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-network-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work + "/static", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try sh("cc -static -O2 -o \(work)/static/bootstrap \(repo)/scripts/fixtures/static-runtime.c")
        try sh("cd \(work)/static && zip -q ../static.zip bootstrap")
        let cgroups = try CgroupDetector.currentManager()
        let engine = try SandboxEngine(cgroups: cgroups, runtime: RuntimeDirectory(path: work + "/run"), initPath: initPath ?? InitBinary.locate())
        defer {
            engine.shutdown()
            cgroups.releaseIfUnused()
        }
        let builder = FunctionBuilder(store: try PackageStore(root: work + "/store"), imagesDirectory: images)
        let function = try builder.build(.init(name: "bench", code: .zip(path: work + "/static.zip", runtime: "provided", handler: "x"),
                                               memoryMB: 512, timeoutSeconds: 10))
        let tag = String(getpid() % 0xffff, radix: 16)
        let bridge = try BridgeNetwork(.init(bridge: "hbench" + tag, subnet: try subnet("10.218.0.0/16"), dnsServers: ["127.0.0.1"],
                                             forwardingMarker: work + "/forwarding"))
        _ = try blockingRun { try await bridge.start(group: MultiThreadedEventLoopGroup.singleton) }
        defer { _ = try? blockingRun { await bridge.stop() } }
        let plan = NetworkPlan(bridge: bridge, allowed: FunctionNetwork(mode: .internet))
        let restricted = NetworkPlan(bridge: bridge, allowed: try FunctionNetwork.parse(mode: "restricted", allowances: ["db=127.0.0.1:5432"]))
        let layers = function.spec.layers

        let cni = CNIBridge(work: work, tag: tag)
        defer { cni.removeBridge() }
        // Each method: what is made untimed first (a pre-built sandbox, as the supervisor keeps them ready), then the timed part.
        typealias Method = (name: String, prebuild: BridgeNetwork??, run: (PreparedSandbox?) throws -> Void)
        var methods: [Method] = [
            ("cold, no network", nil, { _ in try coldStart(function, engine: engine, prepared: nil, network: nil) }),
            ("cold, network", nil, { _ in try coldStart(function, engine: engine, prepared: nil, network: plan) }),
            ("cold, network restricted + 1 service", nil, { _ in try coldStart(function, engine: engine, prepared: nil, network: restricted) }),
            ("pre-built, no network", .some(nil), { try coldStart(function, engine: engine, prepared: $0, network: nil) }),
            ("pre-built, network", .some(bridge), { try coldStart(function, engine: engine, prepared: $0, network: plan) }),
            ("pre-built, network restricted + 1 service", .some(bridge), { try coldStart(function, engine: engine, prepared: $0, network: restricted) }),
            // Attachment alone: a new namespace, its veth and address, then released.
            ("attach: libnl + nftables", nil, { _ in
                let fd = try NetworkNamespace.make()
                let lease = try bridge.attach(namespace: fd)
                bridge.release(lease)
                close(fd)
            }),
        ]
        if cni.available { methods.append(("attach: CNI bridge plugin", nil, { _ in try cni.attachAndRelease() })) }
        if let only {
            let wanted = Set(only.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) })
            methods = methods.filter { wanted.contains($0.name) }
        }
        func once(_ method: Method) throws -> Double {
            let prepared = try method.prebuild.map { try prebuilt(layers, engine, $0) }
            let t0 = DispatchTime.now().uptimeNanoseconds
            try method.run(prepared)
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        }

        print("# Sandbox networking: \(runs) runs each after \(warmups) warm-ups, interleaved")
        print("# cold and pre-built: start (or specialise), init and one event of a static runtime answered; the pre-built sandbox is made")
        print("# untimed just before, as the supervisor keeps them ready; teardown untimed. attach: netns made, veth + address + route, released.")
        if !cni.available { print("# the CNI plugins are not installed (Debian's containernetworking-plugins): no CNI row") }
        for method in methods { for _ in 0..<warmups { _ = try once(method) } }
        var samples: [String: [Double]] = [:]
        for round in 0..<runs {
            for k in 0..<methods.count {
                let method = methods[(round + k) % methods.count]
                samples[method.name, default: []].append(try once(method))
            }
        }
        print("")
        print("| method | median ms | p90 ms |")
        print("|---|---|---|")
        for (name, _, _) in methods {
            let s = Sample(values: samples[name] ?? [])
            print("| \(name) | \(formatMs(s.median)) | \(formatMs(s.p90)) |")
        }
        let m = { (n: String) in Sample(values: samples[n] ?? []).median }
        print("")
        if only != nil { return }
        print(String(format: "cold start with network - without: %.2f ms (fresh), %.2f ms (pre-built; budget: at most 1 ms)",
                     m("cold, network") - m("cold, no network"), m("pre-built, network") - m("pre-built, no network")))
        if cni.available {
            print(String(format: "attach: libnl + nftables / CNI bridge plugin = %.2fx", m("attach: libnl + nftables") / m("attach: CNI bridge plugin")))
        }
        try memory(layers: layers, engine: engine, bridge: bridge)
        bridge.settle()
    }

    /// A pre-built sandbox of `layers`, on the bridge when `network` is given.
    private func prebuilt(_ layers: [String], _ engine: SandboxEngine, _ network: BridgeNetwork?) throws -> PreparedSandbox {
        try blockingRun { try await PreparedSandbox.make(layers: layers, limits: .init(memoryMB: 128, timeoutSeconds: nil, pids: 1024, tmpSizeMB: 512),
                                                         engine: engine, network: network) }
    }

    private func coldStart(_ function: FunctionInstance, engine: SandboxEngine, prepared: PreparedSandbox?, network: NetworkPlan?) throws {
        var fresh = function
        fresh.spec.id = SandboxIdentity.newID()
        let instance = fresh
        try blockingRun {
            let environment = try await ExecutionEnvironment.start(instance, engine: engine, prepared: prepared, network: network)
            let result = await environment.invoke(.init(payload: Array("{}".utf8), reportInit: true), log: InvocationLog())
            await environment.destroy()
            guard case .success = result.body else { throw ValidationError("invocation failed: \(result.body)") }
        }
    }

    /// MemAvailable before and with `held` pre-built sandboxes, with and without a veth each.
    private func memory(layers: [String], engine: SandboxEngine, bridge: BridgeNetwork) throws {
        func available() -> Double {
            let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix("MemAvailable:") } ?? ""
            return Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan
        }
        var perSandbox: [String: Double] = [:]
        for (name, network) in [("without network", nil), ("with network", bridge)] as [(String, BridgeNetwork?)] {
            var kept: [PreparedSandbox] = []
            sync()
            let before = available()
            for _ in 0..<held { kept.append(try prebuilt(layers, engine, network)) }
            let after = available()
            perSandbox[name] = (before - after) / Double(held)
            let release = kept
            _ = try? blockingRun { for sandbox in release { await sandbox.discard() } }
            bridge.settle()
            Thread.sleep(forTimeInterval: 1)
        }
        print("")
        print("| idle pre-built sandbox | memory per sandbox (MemAvailable, KB) |")
        print("|---|---|")
        for name in ["without network", "with network"] { print("| \(name) | \(String(format: "%.0f", perSandbox[name] ?? .nan)) |") }
        print(String(format: "a veth and its address cost %.0f KB per sandbox (\(held) held at once)",
                     (perSandbox["with network"] ?? .nan) - (perSandbox["without network"] ?? .nan)))
    }

    private func subnet(_ text: String) throws -> IPv4Network {
        guard let network = IPv4Network(text) else { throw ValidationError("bad subnet \(text)") }
        return network
    }
}

/// Debian's CNI bridge plugin run as a container engine runs it: one exec per sandbox with the network's
/// configuration on stdin, host-local addresses, ipMasq (its masquerade rules through iptables).
struct CNIBridge {
    let work: String
    let tag: String
    /// The nftables tables before the plugin ran: its ipMasq leaves iptables' `ip nat` table (an empty
    /// POSTROUTING chain) behind after the last DEL, which the benchmark removes if it made it.
    let tablesBefore = shell("nft list tables").1
    static let pluginDirectory = "/usr/lib/cni"
    var available: Bool { FileManager.default.isExecutableFile(atPath: Self.pluginDirectory + "/bridge") }

    var configuration: String {
        #"{"cniVersion":"1.0.0","name":"hcni\#(tag)","type":"bridge","bridge":"hcni\#(tag)","isGateway":true,"ipMasq":true,"# +
            #""ipam":{"type":"host-local","subnet":"10.219.0.0/16","dataDir":"\#(work)/cni-ipam"}}"#
    }

    func attachAndRelease() throws {
        let fd = try NetworkNamespace.make()
        defer { close(fd) }
        let id = "hb" + UUID().uuidString.prefix(8).lowercased()
        try plugin("ADD", id: id, namespace: "/proc/\(getpid())/fd/\(fd)")
        try plugin("DEL", id: id, namespace: "/proc/\(getpid())/fd/\(fd)")
    }

    private func plugin(_ command: String, id: String, namespace: String) throws {
        let input = work + "/cni.json"
        if !FileManager.default.fileExists(atPath: input) { try configuration.write(toFile: input, atomically: true, encoding: .utf8) }
        try sh("CNI_COMMAND=\(command) CNI_CONTAINERID=\(id) CNI_NETNS=\(namespace) CNI_IFNAME=eth0 CNI_PATH=\(Self.pluginDirectory) "
               + "\(Self.pluginDirectory)/bridge < \(input) > /dev/null")
    }

    func removeBridge() {
        shell("ip link del hcni\(tag)")
        if !tablesBefore.contains("table ip nat") && shell("nft list tables").1.contains("table ip nat") {
            shell("nft delete table ip nat")
        }
    }
}
