import Foundation
import Synchronization
import XCTest

/// A real `hearth serve` on a free port with its own state, runtime directory
/// and socket, driven by boto3 and the aws CLI from PyPI.
final class ServeDaemon: @unchecked Sendable {
    let base: String
    let stateDirectory: String
    let runtimeDirectory: String
    let socket: String
    let extraArguments: [String]
    private var process: Process?
    var pid: Int32 { process?.processIdentifier ?? 0 }
    private(set) var port = 0
    /// The function URL listener's port.
    private(set) var urlPort = 0
    var urlEndpoint: String { "http://127.0.0.1:\(urlPort)" }
    /// Everything the daemon printed on stdout since its last start.
    let printed = Mutex("")
    var endpoint: String { "http://127.0.0.1:\(port)" }

    static var buildDirectory: URL { URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent() }

    /// Skips unless this machine can run sandboxes and has boto3 and the aws CLI.
    static func checkPrerequisites() throws {
        guard geteuid() == 0 else { throw XCTSkip("hearth serve needs root (running as uid \(geteuid()))") }
        let (status, out) = try RuntimeImages.run("/usr/bin/env", ["python3", "-c", "import boto3, botocore; print(boto3.__version__)"])
        guard status == 0 else { throw XCTSkip("boto3 is not installed for python3 (scripts/setup installs it from PyPI): \(out.suffix(200))") }
        try RuntimeImages.ensureBuilt()
    }

    /// `seedRuntimes`: the store starts with the runtime images' layers (`RuntimeStoreSeed`).
    init(stateDirectory: String? = nil, arguments: [String] = [], seedRuntimes: Bool = true) throws {
        base = NSTemporaryDirectory() + "hearth-serve-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        self.stateDirectory = stateDirectory ?? base + "/state"
        if seedRuntimes { try RuntimeStoreSeed.seed(stateDirectory: self.stateDirectory) }
        runtimeDirectory = base + "/run"
        socket = base + "/hearth.sock"
        extraArguments = arguments
        try start()
    }

    func start() throws {
        let p = Process()
        p.executableURL = Self.buildDirectory.appendingPathComponent("hearth")
        // A port of its own for function URLs (kept across restarts, as the API's is), unless the test names one.
        let urls = extraArguments.contains("--url-listen") ? [] : ["--url-listen", "127.0.0.1:\(urlPort)"]
        // No bridge unless the test is about the network: a daemon's default (internet) is tested there.
        let network = extraArguments.contains("--network") ? [] : ["--network", "off"]
        p.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--socket", socket, "--state-dir", stateDirectory,
                       "--images-dir", RuntimeImages.directory] + urls + network + extraArguments
        p.environment = ["HEARTH_RUNTIME_DIR": runtimeDirectory, "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/stderr")
        try p.run()
        process = p
        // "hearth: serving Lambda's API on http://127.0.0.1:PORT ..." (after lines about what a previous daemon left, if any)
        var text = ""
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !(text.range(of: "http://127.0.0.1:").map { text[$0.upperBound...].contains("\n") } ?? false) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let range = text.range(of: "http://127.0.0.1:"), let port = Int(text[range.upperBound...].prefix { $0.isNumber }) else {
            p.terminate()
            p.waitUntilExit()
            throw NSError(domain: "ServeDaemon", code: 1, userInfo: [NSLocalizedDescriptionKey: "hearth serve did not start: \(text)"])
        }
        self.port = port
        // "hearth: serving function URLs on http://127.0.0.1:PORT ...", printed next.
        let urlsOff = extraArguments.firstIndex(of: "--url-listen").map { extraArguments.indices.contains($0 + 1) && extraArguments[$0 + 1] == "off" } ?? false
        while !urlsOff, Date() < deadline, !(text.range(of: "function URLs on http://127.0.0.1:").map { text[$0.upperBound...].contains("\n") } ?? false) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        if let range = text.range(of: "function URLs on http://127.0.0.1:"), let urlPort = Int(text[range.upperBound...].prefix { $0.isNumber }) {
            self.urlPort = urlPort
        }
        // Keep draining stdout so the daemon never blocks on it; what it says is kept for the tests.
        printed.withLock { $0 = text }
        out.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = String(decoding: handle.availableData, as: UTF8.self)
            self?.printed.withLock { $0 += chunk }
        }
    }

    /// SIGTERM, and the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard let p = process else { return 0 }
        p.terminate()
        p.waitUntilExit()
        process = nil
        return p.terminationStatus
    }

    /// SIGTERM, then SIGKILL if the daemon has not exited within `seconds`: the exit status and how long
    /// the daemon took, or nil status when it had to be killed.
    func stop(within seconds: Double) -> (status: Int32?, seconds: Double) {
        guard let p = process else { return (0, 0) }
        let started = Date()
        p.terminate()
        while p.isRunning && Date().timeIntervalSince(started) < seconds { usleep(20_000) }
        let took = Date().timeIntervalSince(started)
        let stopped = !p.isRunning
        if !stopped { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        process = nil
        return (stopped ? p.terminationStatus : nil, took)
    }

    func restart() throws {
        stop()
        try start()
    }

    func remove() {
        stop()
        try? FileManager.default.removeItem(atPath: base)
    }

    /// kill -9 of the daemon: every process of its sandboxes (busy, idle, frozen, prepared) must be gone
    /// within a second.
    func killExpectingEverySandboxGoneWithinASecond(file: StaticString = #filePath, line: UInt = #line) {
        kill(pid, SIGKILL)
        let killed = Date()
        let gone = eventually(within: 5) { ServeLimitTests.sandboxProcesses() == 0 }
        let seconds = Date().timeIntervalSince(killed)
        XCTAssertTrue(gone, "\(ServeLimitTests.sandboxProcesses()) sandbox processes outlived the daemon", file: file, line: line)
        XCTAssertLessThan(seconds, 1, "every sandbox ended within a second of the kill (took \(seconds) s)", file: file, line: line)
    }

    /// Runs Python with a boto3 client `c` (no retries, so throttles are seen) and returns the dict `out` it fills.
    /// `key` signs its requests; `client(key, secret, region)` makes another client; ENDPOINT, KEY and SECRET are set.
    func boto(_ code: String, key: (id: String, secret: String) = ("hearth", "hearth"),
              file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let script = """
            import boto3, botocore, json, base64, sys, time, concurrent.futures
            from botocore.config import Config
            ENDPOINT, KEY, SECRET = "\(endpoint)", "\(key.id)", "\(key.secret)"
            def client(key, secret, region="us-east-1"):
                return boto3.client("lambda", endpoint_url=ENDPOINT, region_name=region, aws_access_key_id=key, aws_secret_access_key=secret,
                                    config=Config(retries={"max_attempts": 0}, read_timeout=120, connect_timeout=5))
            c = client(KEY, SECRET)
            out = {}
            def err(f, *a, **k):
                try:
                    f(*a, **k)
                    return None
                except botocore.exceptions.ClientError as e:
                    return {"code": e.response["Error"]["Code"], "message": e.response["Error"].get("Message", ""),
                            "status": e.response["ResponseMetadata"]["HTTPStatusCode"], "reason": e.response.get("Reason")}
            def payload(r):
                return json.loads(r["Payload"].read() or b"null")

            """ + code
        return try python(script, file: file, line: line)
    }

    /// Runs a Python script that fills a dict `out`, printed as JSON at its end, and returns it.
    func python(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let path = base + "/script-\(UUID().uuidString.prefix(6)).py"
        try (script + "\nprint(json.dumps(out))\n").write(toFile: path, atomically: true, encoding: .utf8)
        let r = try runCLI(URL(fileURLWithPath: "/usr/bin/env"), ["python3", path], environment: ProcessInfo.processInfo.environment)
        guard r.status == 0, let last = r.stdout.split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
            XCTFail("the Python script failed (\(r.status)): \((r.stdout + r.stderr).suffix(3000))", file: file, line: line)
            throw XCTSkip("Python script failed")
        }
        return object
    }

    /// Runs the aws CLI against the daemon, signing with `key`, without retries.
    func aws(_ arguments: [String], key: (id: String, secret: String) = ("hearth", "hearth")) throws -> (Int32, String) {
        var env = ProcessInfo.processInfo.environment
        env["AWS_ACCESS_KEY_ID"] = key.id
        env["AWS_SECRET_ACCESS_KEY"] = key.secret
        env["AWS_MAX_ATTEMPTS"] = "1"
        env["AWS_DEFAULT_REGION"] = "us-east-1"
        env["AWS_PAGER"] = ""
        return try RuntimeImages.run("/usr/bin/env", ["aws", "--endpoint-url", endpoint, "--output", "json"] + arguments, cwd: base, environment: env)
    }

    /// A raw HTTP exchange with curl: status, headers (lower-cased names) and body.
    func http(_ method: String, _ path: String, body: String? = nil, headers: [String] = []) throws -> (Int, [String: String], String) {
        var args = ["-s", "-X", method, "-D", "-", endpoint + path]
        for h in headers { args += ["-H", h] }
        if let body { args += ["--data-binary", body] }
        let (status, out) = try RuntimeImages.run("/usr/bin/curl", args)
        XCTAssertEqual(status, 0, "curl failed: \(out)")
        // Interim answers (100 Continue, which curl asks for before a big body) come first: the final one is what counts.
        var parts = out.components(separatedBy: "\r\n\r\n")
        while parts.count > 1, parts[0].hasPrefix("HTTP/1.1 1") { parts.removeFirst() }
        let headLines = parts[0].components(separatedBy: "\r\n")
        let code = Int(headLines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var map: [String: String] = [:]
        for line in headLines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                map[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return (code, map, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}

/// boto3 code that creates the counter function `name` (the serve tests' usual one) with client `c`.
func createCounter(_ name: String, memory: Int = 128, handler: String = "app.handler", publish: Bool = false) throws -> String {
    let fixtures = try ServeFixtures.make()
    return """
        c.create_function(FunctionName="\(name)", Runtime="python3.11", Role="arn:aws:iam::123456789012:role/hearth", MemorySize=\(memory),
                          Handler="\(handler)", Code={"ZipFile": open("\(fixtures)/counter-v1.zip", "rb").read()}, Publish=\(publish ? "True" : "False"))

        """
}

/// Function packages for the serve tests, made with zip.
enum ServeFixtures {
    nonisolated(unsafe) static var directory: String?

    static let counter = """
        import os, time, uuid
        TOKEN = uuid.uuid4().hex
        count = 0
        def handler(event, context):
            global count
            count += 1
            seen = open("/tmp/marker").read() if os.path.exists("/tmp/marker") else None
            with open("/tmp/marker", "w") as f:
                f.write(TOKEN)
            time.sleep(event.get("sleep", 0))
            if event.get("fail"):
                raise ValueError("asked to fail")
            if event.get("big"):
                return "x" * (7 * 1024 * 1024)
            print("count", count)
            keys = ["GREETING", "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
            sockets = sorted(l for l in map(link, os.listdir("/proc/self/fd")) if l.startswith("socket:"))
            custom = context.client_context.custom if context.client_context else None
            return {"count": count, "token": TOKEN, "seen": seen, "env": {k: os.environ.get(k) for k in keys}, "code": "CODE", "sockets": sockets,
                    "custom": custom, "identity": context.identity.cognito_identity_id, "uid": os.getuid()}
        def link(fd):
            try:
                return os.readlink("/proc/self/fd/" + fd)
            except OSError:  # the fd listdir itself had open
                return ""
        def layered(event, context):
            import helper
            return {"layer": helper.VALUE}
        """

    /// Removes the fixtures (each test class that made them calls this when it ends).
    static func remove() {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        directory = nil
    }

    /// What a Node.js function sees of its invocation's client context and identity.
    static let node = """
        exports.handler = async (event, context) => ({
          custom: context.clientContext ? context.clientContext.custom : null,
          identity: context.identity === undefined ? "undefined" : context.identity,
        });
        """

    /// counter-v1.zip, counter-v2.zip (same handler, "code" says which), node.zip, layer.zip (python/helper.py).
    static func make() throws -> String {
        if let directory { return directory }
        let dir = NSTemporaryDirectory() + "hearth-serve-fixtures-" + UUID().uuidString.prefix(8)
        let fm = FileManager.default
        for v in ["v1", "v2"] {
            try fm.createDirectory(atPath: dir + "/" + v, withIntermediateDirectories: true)
            try counter.replacingOccurrences(of: "CODE", with: v).write(toFile: dir + "/\(v)/app.py", atomically: true, encoding: .utf8)
            let (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-r", dir + "/counter-\(v).zip", "."], cwd: dir + "/" + v)
            guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
        }
        try fm.createDirectory(atPath: dir + "/node", withIntermediateDirectories: true)
        try node.write(toFile: dir + "/node/index.js", atomically: true, encoding: .utf8)
        let (zipped, zipOut) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-r", dir + "/node.zip", "."], cwd: dir + "/node")
        guard zipped == 0 else { throw XCTSkip("zip failed: \(zipOut)") }
        try fm.createDirectory(atPath: dir + "/layer/python", withIntermediateDirectories: true)
        try "VALUE = 'from the layer'\n".write(toFile: dir + "/layer/python/helper.py", atomically: true, encoding: .utf8)
        let (status, out) = try RuntimeImages.run("/usr/bin/zip", ["-q", "-r", dir + "/layer.zip", "python"], cwd: dir + "/layer")
        guard status == 0 else { throw XCTSkip("zip failed: \(out)") }
        // fnimage:fn, an image function: the python3 runtime image with the counter in /var/task, made with skopeo and umoci.
        for step in [
            ["skopeo", "--insecure-policy", "copy", "-q", "oci:" + RuntimeImages.directory + "/python3:python3", "oci:" + dir + "/fnimage:fn"],
            ["umoci", "unpack", "--image", dir + "/fnimage:fn", dir + "/fnbundle"],
            ["cp", dir + "/v1/app.py", dir + "/fnbundle/rootfs/var/task/app.py"],
            ["umoci", "repack", "--image", dir + "/fnimage:fn", dir + "/fnbundle"],
            ["umoci", "config", "--image", dir + "/fnimage:fn", "--config.entrypoint", "/var/runtime/bootstrap", "--config.cmd", "app.handler"],
            ["rm", "-rf", dir + "/fnbundle"],
        ] {
            let (status, out) = try RuntimeImages.run("/usr/bin/env", step)
            guard status == 0 else { throw XCTSkip("\(step[0]) failed: \(out)") }
        }
        directory = dir
        return dir
    }
}
