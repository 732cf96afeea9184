import Foundation
import XCTest

/// Functions on the network through a real daemon, against hosts the test makes itself (NetworkTestHosts):
/// an "internet" host in 198.18.0.0/15 with a web server and a DNS server, a private-range host, and servers on
/// this machine. What a function reaches is read from inside it; every refusal must be the policy's (EHOSTUNREACH
/// from the firewall's reject), not a port nobody listens on.
final class ServeNetworkTests: XCTestCase {
    nonisolated(unsafe) static var daemon: ServeDaemon?
    nonisolated(unsafe) static var hosts: NetworkTestHosts?
    nonisolated(unsafe) static var setupError: Error?
    nonisolated(unsafe) static var before: [String] = []
    /// The machine with the test's hosts made and no daemon yet.
    nonisolated(unsafe) static var beforeDaemon: [String] = []
    nonisolated(unsafe) static var fixtures = ""
    static let hostPort = 18_431, neighbourPort = 18_432

    /// Fetches each URL it is given; says what it got or the error, which interfaces it has, what the
    /// names resolve to, and the variables Hearth gave it. `serve` starts a web server in the sandbox first.
    static let probe = """
        import json, os, socket, threading, urllib.request, http.server
        def own_address():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.connect(("198.18.0.1", 9))
                return s.getsockname()[0]
            except OSError as e:
                return str(e)
            finally:
                s.close()
        def serve():
            class Page(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200)
                    self.end_headers()
                    self.wfile.write(b"from a sandbox")
                def log_message(self, *a):
                    pass
            server = http.server.HTTPServer(("0.0.0.0", 8000), Page)
            threading.Thread(target=server.serve_forever, daemon=True).start()
        def handler(event, context):
            if event.get("serve"):
                serve()
            out = {"address": own_address(), "fetched": {}, "resolved": {}}
            for name, url in event.get("urls", {}).items():
                try:
                    with urllib.request.urlopen(url, timeout=4) as r:
                        out["fetched"][name] = r.read().decode()
                except Exception as e:
                    out["fetched"][name] = "error: " + str(getattr(e, "reason", e))
            for name in event.get("names", []):
                try:
                    out["resolved"][name] = socket.gethostbyname(name)
                except Exception as e:
                    out["resolved"][name] = "error: " + str(e)
            out["interfaces"] = sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").read().splitlines()[2:])
            out["env"] = {k: v for k, v in os.environ.items() if k.startswith(("HEARTH_SERVICE_", "AWS_ENDPOINT_URL", "AWS_ACCESS", "AWS_SESSION"))}
            return out
        """

    /// Invokes another function with boto3 and nothing but the environment Hearth gave it.
    static let caller = """
        import json, boto3
        def handler(event, context):
            r = boto3.client("lambda").invoke(FunctionName=event["target"], Payload=json.dumps({"from": context.function_name}))
            return {"status": r["StatusCode"], "payload": json.loads(r["Payload"].read())}
        def echo(event, context):
            return {"echo": event}
        """

    override class func setUp() {
        do {
            try ServeDaemon.checkPrerequisites()
            guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/dnsmasq"), FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft") else {
                throw XCTSkip("dnsmasq and nft are not installed (scripts/setup installs dnsmasq-base and nftables)")
            }
            before = NetworkTestHosts.snapshot()
            let hosts = try NetworkTestHosts()
            Self.hosts = hosts
            let internet = try hosts.add("internet", prefix: "198.18.77")
            let lan = try hosts.add("lan", prefix: "192.168.77")
            try hosts.serveHTTP(in: internet, port: 8080, text: "hello from the internet")
            try hosts.serveDNS(in: internet, names: ["web.example.test": internet.address])
            try hosts.serveHTTP(in: lan, port: 8080, text: "hello from the lan")
            // On this machine: one service a function may be allowed, its neighbour, and one on every address.
            try hosts.serveHTTPHere(address: "127.0.0.1", port: hostPort, text: "the allowed host service")
            try hosts.serveHTTPHere(address: "127.0.0.1", port: neighbourPort, text: "the neighbour port")
            try hosts.serveHTTPHere(address: "0.0.0.0", port: hostPort + 10, text: "a service on every host address")

            let dir = hosts.scratch + "/fixtures"
            try FileManager.default.createDirectory(atPath: dir + "/probe", withIntermediateDirectories: true)
            try probe.write(toFile: dir + "/probe/app.py", atomically: true, encoding: .utf8)
            var (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", dir + "/probe.zip", "app.py"], cwd: dir + "/probe")
            guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
            // The caller is its handler alone: boto3 comes with Hearth's Python runtime, as with Lambda's.
            try FileManager.default.createDirectory(atPath: dir + "/caller", withIntermediateDirectories: true)
            try caller.write(toFile: dir + "/caller/app.py", atomically: true, encoding: .utf8)
            (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", dir + "/caller.zip", "app.py"], cwd: dir + "/caller")
            guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
            fixtures = dir
            beforeDaemon = NetworkTestHosts.snapshot()
            daemon = try ServeDaemon(arguments: ["--network", "internet", "--network-bridge", "hnt" + hosts.tag, "--network-subnet", "10.215.77.0/24",
                                                 "--network-dns", internet.address, "--no-freeze-idle"])
        } catch { setupError = error }
    }

    override class func tearDown() {
        daemon?.remove()
        daemon = nil
        hosts?.remove()
        hosts = nil
        if setupError == nil {
            _ = eventually(within: 10) { NetworkTestHosts.snapshot() == before }
            XCTAssertEqual(NetworkTestHosts.snapshot(), before, "links, nftables tables, network namespaces and forwarding as the tests found them")
        }
    }

    override func setUpWithError() throws {
        if let error = Self.setupError { throw error }
    }

    func d() throws -> ServeDaemon { try XCTUnwrap(Self.daemon) }

    /// Creates `name` (handler app.`handler` of `zip`) with `extra` keyword arguments.
    func create(_ name: String, zip: String = "probe.zip", handler: String = "handler", extra: String = "") throws {
        _ = try d().boto("""
            c.create_function(FunctionName="\(name)", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", Handler="app.\(handler)",
                              Timeout=30, Code={"ZipFile": open("\(Self.fixtures)/\(zip)", "rb").read()}\(extra))
            """)
    }

    func invoke(_ name: String, _ event: [String: Any], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let payload = String(decoding: try JSONSerialization.data(withJSONObject: event), as: UTF8.self)
        let out = try d().boto("""
            r = c.invoke(FunctionName="\(name)", Payload=\(String(reflecting: payload)))
            out["error"] = r.get("FunctionError")
            out["payload"] = payload(r)
            """, file: file, line: line)
        XCTAssertNil(out["error"] as? String, "\(out)", file: file, line: line)
        return try XCTUnwrap(out["payload"] as? [String: Any], "\(out)", file: file, line: line)
    }

    var hostsOrFail: NetworkTestHosts { get throws { try XCTUnwrap(Self.hosts) } }

    func testAFunctionReachesTheInternetByNameAndNothingElse() throws {
        let hosts = try hostsOrFail
        let internet = hosts.hosts[0], lan = hosts.hosts[1]
        try create("reach")
        // Another sandbox: a function serving on its own port 8000, reachable from inside itself.
        try create("neighbour")
        let neighbour = try invoke("neighbour", ["serve": true, "urls": ["self": "http://127.0.0.1:8000/"]])
        XCTAssertEqual((neighbour["fetched"] as? [String: String])?["self"], "from a sandbox")
        let neighbourAddress = try XCTUnwrap(neighbour["address"] as? String)
        XCTAssertTrue(neighbourAddress.hasPrefix("10.215.77."), neighbourAddress)

        let gateway = "10.215.77.1"
        let out = try invoke("reach", [
            "names": ["web.example.test"],
            "urls": [
                "internet": "http://web.example.test:8080/",
                "host loopback through the gateway": "http://\(gateway):\(Self.hostPort)/",
                "host service on every address, at the gateway": "http://\(gateway):\(Self.hostPort + 10)/",
                "host service on every address, at another host address": "http://\(internet.hostAddress):\(Self.hostPort + 10)/",
                "private-range host": "http://\(lan.address):8080/",
                "metadata": "http://169.254.169.254/latest/meta-data/",
                "another sandbox": "http://\(neighbourAddress):8000/",
            ],
        ])
        let fetched = try XCTUnwrap(out["fetched"] as? [String: String])
        XCTAssertEqual((out["resolved"] as? [String: String])?["web.example.test"], internet.address, "DNS through the gateway's relay")
        XCTAssertEqual(fetched["internet"], "hello from the internet")
        for (name, result) in fetched where name != "internet" {
            XCTAssertEqual(result, "error: [Errno 113] No route to host", "\(name): refused by the policy")
        }
        XCTAssertEqual(out["interfaces"] as? [String], ["eth0", "lo"])
        let env = try XCTUnwrap(out["env"] as? [String: String])
        XCTAssertEqual(env["AWS_ENDPOINT_URL_LAMBDA"], "http://\(gateway):\(try d().port)")
        XCTAssertTrue(env["AWS_ACCESS_KEY_ID"]?.hasPrefix("ASIA") ?? false, "\(env)")
        XCTAssertNotNil(env["AWS_SESSION_TOKEN"])
    }

    func testAllowedHostServicesAndRangesAreReachableAndNothingBeside() throws {
        let lan = try hostsOrFail.hosts[1]
        try create("allowed", extra: #", VpcConfig={"SubnetIds": ["internet"], "SecurityGroupIds": ["web=127.0.0.1:\#(Self.hostPort)", "192.168.77.0/24"]}"#)
        let gateway = "10.215.77.1"
        let out = try invoke("allowed", ["urls": [
            "service": "http://\(gateway):\(Self.hostPort)/",
            "neighbour port": "http://\(gateway):\(Self.neighbourPort)/",
            "allowed range": "http://\(lan.address):8080/",
            "internet": "http://web.example.test:8080/",
        ]])
        let fetched = try XCTUnwrap(out["fetched"] as? [String: String])
        XCTAssertEqual(fetched["service"], "the allowed host service")
        XCTAssertEqual(fetched["neighbour port"], "error: [Errno 113] No route to host")
        XCTAssertEqual(fetched["allowed range"], "hello from the lan")
        XCTAssertEqual(fetched["internet"], "hello from the internet")
        XCTAssertEqual((out["env"] as? [String: String])?["HEARTH_SERVICE_WEB"], "\(gateway):\(Self.hostPort)")

        // restricted: the same allowances, and no internet.
        let config = try d().boto("""
            c.update_function_configuration(FunctionName="allowed", VpcConfig={"SubnetIds": ["restricted"], "SecurityGroupIds": ["web=127.0.0.1:\(Self.hostPort)"]})
            c.get_waiter("function_updated_v2").wait(FunctionName="allowed")
            out["vpc"] = c.get_function_configuration(FunctionName="allowed")["VpcConfig"]
            out["bad"] = err(c.update_function_configuration, FunctionName="allowed", VpcConfig={"SubnetIds": ["internet"], "SecurityGroupIds": ["web=localhost:1"]})
            """)
        XCTAssertEqual(config["vpc"] as? NSDictionary, ["SubnetIds": ["restricted"], "SecurityGroupIds": ["web=127.0.0.1:\(Self.hostPort)"],
                                                         "VpcId": "hearth", "Ipv6AllowedForDualStack": false] as NSDictionary)
        let bad = try XCTUnwrap(config["bad"] as? [String: Any])
        XCTAssertEqual(bad["code"] as? String, "InvalidParameterValueException")
        XCTAssertTrue((bad["message"] as? String ?? "").contains("host service 'web=localhost:1' must be NAME=IPV4:PORT"), "\(bad)")
        let restricted = try invoke("allowed", ["urls": ["service": "http://\(gateway):\(Self.hostPort)/", "internet": "http://web.example.test:8080/"]])
        let got = try XCTUnwrap(restricted["fetched"] as? [String: String])
        XCTAssertEqual(got["service"], "the allowed host service")
        XCTAssertEqual(got["internet"], "error: [Errno 113] No route to host")
    }

    func testAFunctionWithNoNetworkHasOnlyLoopback() throws {
        try create("isolated", extra: #", VpcConfig={"SubnetIds": ["none"], "SecurityGroupIds": []}"#)
        let out = try invoke("isolated", ["names": ["web.example.test"], "urls": ["internet": "http://198.18.77.2:8080/"]])
        XCTAssertEqual(out["interfaces"] as? [String], ["lo"])
        XCTAssertEqual((out["fetched"] as? [String: String])?["internet"], "error: [Errno 101] Network is unreachable")
        XCTAssertTrue(((out["resolved"] as? [String: String])?["web.example.test"] ?? "").hasPrefix("error:"))
        XCTAssertEqual(out["env"] as? [String: String], [:], "no endpoint or credentials for a function that cannot reach them")
    }

    /// The API is one rule for the whole bridge: functions on the internet policy reach it, and their
    /// starts add no nftables element (before, each sandbox got a `services` element for it, a libnftables
    /// transaction of ~1.2 ms on every cold start).
    func testAFunctionInvokesAnotherThroughBoto3WithHearthsEnvironmentAlone() throws {
        try create("echo", zip: "caller.zip", handler: "echo")
        try create("caller", zip: "caller.zip")
        let out = try invoke("caller", ["target": "echo"])
        XCTAssertEqual(out["status"] as? Int, 200)
        XCTAssertEqual(out["payload"] as? NSDictionary, ["echo": ["from": "caller"]] as NSDictionary)
        let services = try RuntimeImages.run("/usr/sbin/nft", ["list", "map", "inet", "hnt" + (try hostsOrFail).tag, "services"]).1
        XCTAssertTrue(services.contains("map services"), services)
        XCTAssertFalse(services.contains("elements"), "no element for the API or for internet-only functions: \(services)")
    }

    /// kill -9: the sandboxes' veths go with their namespaces; the bridge and tables stay until the next daemon
    /// takes them over and removes them at its stop (tearDown compares the whole machine).
    /// A second daemon given the bridge a running one holds is refused before it touches the network: the
    /// first one's bridge, tables and sandboxes go on as they were. (Before, the second replaced the first's
    /// nftables tables and deleted its bridge when its own start failed.)
    func testASecondDaemonOnTheSameBridgeIsRefusedAndLeavesTheFirstsNetworkAlone() throws {
        try create("bystander")
        _ = try invoke("bystander", ["urls": ["internet": "http://web.example.test:8080/"]])
        // Sandboxes' veths come and go as prepared sandboxes are restocked: the bridge, tables and forwarding are what count.
        let shared = { NetworkTestHosts.snapshot().filter { !$0.hasPrefix("link hv") } }
        let running = shared()
        let hosts = try XCTUnwrap(Self.hosts)
        let state = hosts.scratch + "/second-daemon"
        let second = Process()
        second.executableURL = ServeDaemon.buildDirectory.appendingPathComponent("hearth")
        second.arguments = ["serve", "--listen", "127.0.0.1:0", "--url-listen", "127.0.0.1:0", "--socket", state + "/hearth.sock",
                            "--state-dir", state, "--images-dir", RuntimeImages.directory,
                            "--network", "internet", "--network-bridge", "hnt" + hosts.tag, "--network-subnet", "10.215.77.0/24"]
        second.environment = ["HEARTH_RUNTIME_DIR": state + "/run", "PATH": "/usr/bin:/bin"]
        let errors = Pipe()
        second.standardError = errors
        second.standardOutput = FileHandle.nullDevice
        try second.run()
        let exited = eventually(within: 60) { !second.isRunning }
        if !exited { second.terminate() }
        second.waitUntilExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(exited, "the second daemon was still running: \(text)")
        XCTAssertNotEqual(second.terminationStatus, 0)
        XCTAssertTrue(text.contains("the network bridge hnt\(hosts.tag) is in use by another running Hearth daemon"), text)
        XCTAssertEqual(shared(), running, "the first daemon's bridge, tables and forwarding")
        let out = try invoke("bystander", ["urls": ["internet": "http://web.example.test:8080/"]])
        XCTAssertEqual((out["fetched"] as? [String: String])?["internet"], "hello from the internet")
    }

    func testADaemonKilledWithSIGKILLLeavesNothingOnceRestarted() throws {
        let daemon = try d()
        try create("survivor")
        _ = try invoke("survivor", ["urls": ["internet": "http://web.example.test:8080/"]])
        daemon.killExpectingEverySandboxGoneWithinASecond()
        let veths = { (try? NetworkTestHosts.ip(["-o", "link", "show"]))?.split(separator: "\n").filter { $0.contains(": hv") }.count ?? -1 }
        XCTAssertTrue(eventually(within: 5) { veths() == 0 }, "the sandboxes' veths outlived them: \(veths())")
        try daemon.start()
        let out = try invoke("survivor", ["urls": ["internet": "http://web.example.test:8080/"]])
        XCTAssertEqual((out["fetched"] as? [String: String])?["internet"], "hello from the internet")
        // Stopped, the restarted daemon leaves the machine as it was before the first one started.
        XCTAssertEqual(daemon.stop(), 0)
        // The last sandboxes' veths go with their namespaces, which the kernel tears down a moment later.
        XCTAssertTrue(eventually(within: 10) { NetworkTestHosts.snapshot() == Self.beforeDaemon })
        XCTAssertEqual(NetworkTestHosts.snapshot(), Self.beforeDaemon, "bridge, veths, nftables tables and forwarding removed")
        try daemon.start()
    }
}
