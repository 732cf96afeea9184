import ArgumentParser
import CBenchSupport
import Foundation
import HearthCgroups
import HearthExecution
import HearthModel
import HearthPackages
import HearthRegistry
import HearthRuntimeAPI
import HearthSandbox
import HearthSupervisor

/// `hearth-bench run`: one cold invocation, start to answer to teardown, for a
/// static-binary runtime and for Python, in a Hearth sandbox, next to the same
/// program started bare and under crun, each answering one event through the
/// Runtime API. Interleaved in one run.
struct RunBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Cold one-shot invocations versus bare and crun.")

    @Option(help: "Timed runs per method.") var runs = 20
    @Option(help: "Untimed warm-up runs per method.") var warmups = 3
    @Option(help: "Repository root (for images/ and scripts/fixtures).") var repo = FileManager.default.currentDirectoryPath
    @Option(help: "Runtime images (scripts/build-images).") var imagesDir: String?
    @Option(help: "Path of hearth-init.") var initPath: String?

    func run() throws { try reportingLeaks(measure) }

    /// Everything measured; its defers have run when the leak check looks.
    private func measure() throws {
        guard geteuid() == 0 else { throw ValidationError("the run benchmark needs root") }
        let images = imagesDir ?? ProcessInfo.processInfo.environment["HEARTH_IMAGES_DIR"] ?? "/var/lib/hearth/images"
        for image in ["provided", "python3"] where !FileManager.default.fileExists(atPath: images + "/" + image + "/index.json") {
            throw ValidationError("runtime image \(image) is missing in \(images): run scripts/build-images")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("hearth-bench-run-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work + "/static", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: work + "/python", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try sh("cc -static -O2 -o \(work)/static/bootstrap \(repo)/scripts/fixtures/static-runtime.c")
        try sh("cd \(work)/static && zip -q ../static.zip bootstrap")
        try "def handler(event, context):\n    return {'ok': True}\n".write(toFile: work + "/python/app.py", atomically: false, encoding: .utf8)
        try sh("cd \(work)/python && zip -q ../python.zip app.py")
        let cgroups = try CgroupDetector.currentManager()
        let engine = try SandboxEngine(cgroups: cgroups, runtime: RuntimeDirectory(path: work + "/run"), initPath: initPath ?? InitBinary.locate())
        defer {
            engine.shutdown()
            cgroups.releaseIfUnused()
        }
        let store = try PackageStore(root: work + "/store")
        let builder = FunctionBuilder(store: store, imagesDirectory: images)
        let staticFn = try builder.build(.init(name: "bench", code: .zip(path: work + "/static.zip", runtime: "provided", handler: "x"),
                                               memoryMB: 1769, timeoutSeconds: 10))
        let pythonFn = try builder.build(.init(name: "bench", code: .zip(path: work + "/python.zip", runtime: "python3.11", handler: "app.handler"),
                                               memoryMB: 1769, timeoutSeconds: 10))
        let invoker = ColdInvoker(engine: engine)

        var notes: [String] = []
        let crunNamespace = try crunMountNamespace(&notes)
        defer { if crunNamespace >= 0 { close(crunNamespace) } }
        let staticBundle = try bundle(work + "/crun-static", rootfs: work + "/static", command: ["/bootstrap"], taskRoot: nil)
        var methods: [(String, () throws -> Void)] = [
            ("static: bare", { try bare([work + "/static/bootstrap"], env: [:]) }),
            ("static: crun", { try underCrun(staticBundle, namespace: crunNamespace) }),
            ("static: hearth", { try hearth(invoker, staticFn) }),
            ("python: bare", { try bare(["/usr/bin/python3", "-u", repo + "/images/python3/bootstrap"],
                                        env: ["_HANDLER": "app.handler", "LAMBDA_TASK_ROOT": work + "/python"]) }),
            ("python: hearth", { try hearth(invoker, pythonFn) }),
        ]
        if which("umoci") != nil {
            try sh("umoci unpack --image \(images)/python3:python3 \(work)/crun-python >/dev/null")
            let pythonBundle = try bundle(work + "/crun-python", rootfs: work + "/crun-python/rootfs",
                                          command: ["/var/runtime/bootstrap"], taskRoot: work + "/python")
            methods.insert(("python: crun", { try underCrun(pythonBundle, namespace: crunNamespace) }), at: 4)
        }

        print("# Cold one-shot invocation: start, init, one event answered through the Runtime API, teardown")
        print("# \(runs) runs each after \(warmups) warm-ups, interleaved; Hearth timed in-process")
        print("# bare and crun serve the Runtime API from this process on loopback (crun without a network namespace, so it can reach it); Hearth makes a network namespace with the listener inside")
        for note in notes { print("# \(note)") }
        for (_, body) in methods { for _ in 0..<warmups { try body() } }
        var samples: [String: [Double]] = [:]
        for round in 0..<runs {
            for k in 0..<methods.count {
                let (name, body) = methods[(round + k) % methods.count]
                let t0 = DispatchTime.now().uptimeNanoseconds
                try body()
                samples[name, default: []].append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
        }
        print("")
        print("| method | median ms | p90 ms |")
        print("|---|---|---|")
        for (name, _) in methods {
            let s = Sample(values: samples[name] ?? [])
            print("| \(name) | \(formatMs(s.median)) | \(formatMs(s.p90)) |")
        }
        let m = { (n: String) in Sample(values: samples[n] ?? []).median }
        print("")
        print(String(format: "static: hearth - bare = %.2f ms median (budget: at most 5 ms); hearth/crun %.2f", m("static: hearth") - m("static: bare"), m("static: hearth") / m("static: crun")))
        print(String(format: "python: hearth - bare = %.2f ms median (budget: at most 5 ms)", m("python: hearth") - m("python: bare")))
        if samples["python: crun"] != nil { print(String(format: "python: hearth/crun %.2f", m("python: hearth") / m("python: crun"))) }
    }

    private func hearth(_ invoker: ColdInvoker, _ fn: FunctionInstance) throws {
        var spec = fn.spec
        spec.id = SandboxIdentity.newID()
        var fresh = fn
        fresh.spec = spec
        let instance = fresh
        let result = try blockingRun { try await invoker.invoke(instance, payload: Array("{}".utf8), log: InvocationLog()) }
        guard case .success = result.body else { throw ValidationError("hearth invocation failed: \(result.body)") }
    }

    /// Serves the Runtime API on loopback, starts `command` (bare, or crun via `start`), answers one event.
    private func withRuntimeAPI(_ start: (Int) throws -> Int32, stop: (Int32) -> Void) throws {
        let server = try RuntimeAPIServer.bind(host: "127.0.0.1", port: 0).wait()
        defer { _ = try? server.close().wait() }
        guard let port = server.port else { throw ValidationError("no port") }
        let pid = try start(port)
        defer { stop(pid) }
        guard try server.session.initOutcome.futureResult.wait() == .ready else { throw ValidationError("init failed") }
        let invocation = RuntimeInvocation(requestId: UUID().uuidString.lowercased(), payload: Array("{}".utf8),
                                           deadlineMs: Int64(Date().timeIntervalSince1970 * 1000) + 10_000,
                                           invokedFunctionArn: LambdaARN.function("bench", region: "us-east-1"), traceId: "Root=1-0-0;Sampled=0")
        guard case .response = try server.session.invoke(invocation).wait() else { throw ValidationError("no response") }
    }

    private func bare(_ command: [String], env: [String: String]) throws {
        try withRuntimeAPI({ port in
            var environment = env
            environment["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:\(port)"
            environment["PATH"] = "/usr/bin:/bin"
            return spawn(command, env: environment, namespace: -1)
        }, stop: { hearth_bench_kill_and_reap($0) })
    }

    private func underCrun(_ bundle: String, namespace: Int32) throws {
        guard let crun = which("crun") else { throw ValidationError("crun missing") }
        let id = "hb-run-\(getpid())-\(UUID().uuidString.prefix(8))"
        try withRuntimeAPI({ port in
            try setConfigEnv(bundle, port: port)
            return spawn([crun, "run", "--bundle", bundle, id], env: ["PATH": "/usr/bin:/bin"], namespace: namespace)
        }, stop: { pid in
            let kill = spawn([crun, "kill", id, "KILL"], env: ["PATH": "/usr/bin:/bin"], namespace: namespace)
            var status: Int32 = 0
            waitpid(kill, &status, 0)
            waitpid(pid, &status, 0)
        })
    }

    private func spawn(_ command: [String], env: [String: String], namespace: Int32) -> Int32 {
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        return hearth_bench_spawn(command[0], &argv, &envp, namespace)
    }

    /// An OCI bundle sharing the host network (to reach the loopback Runtime API); same limits as Hearth's.
    private func bundle(_ dir: String, rootfs: String, command: [String], taskRoot: String?) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for sub in ["proc", "dev", "tmp", "var/task"] {
            try? FileManager.default.createDirectory(atPath: rootfs + "/" + sub, withIntermediateDirectories: true)
        }
        var mounts: [[String: Any]] = [
            ["destination": "/proc", "type": "proc", "source": "proc"],
            ["destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755", "size=65536k"]],
            ["destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "size=512m"]],
        ]
        if let taskRoot { mounts.append(["destination": "/var/task", "type": "bind", "source": taskRoot, "options": ["rbind", "ro"]]) }
        let config: [String: Any] = [
            "ociVersion": "1.0.0",
            "process": ["terminal": false, "user": ["uid": 1000, "gid": 1000], "args": command, "env": ["PATH=/usr/bin:/bin"], "cwd": "/",
                        "noNewPrivileges": true,
                        "capabilities": ["bounding": [String](), "effective": [String](), "permitted": [String](), "ambient": [String]()]],
            "root": ["path": rootfs, "readonly": true],
            "hostname": "bench",
            "mounts": mounts,
            "linux": ["namespaces": ["pid", "ipc", "uts", "mount", "cgroup"].map { ["type": $0] },
                      "resources": ["memory": ["limit": 1769 * 1024 * 1024], "pids": ["limit": 1024]]],
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))
        return dir
    }

    private func setConfigEnv(_ bundle: String, port: Int) throws {
        let path = bundle + "/config.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
        var process = config["process"] as? [String: Any] ?? [:]
        process["env"] = ["PATH=/usr/bin:/bin", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:\(port)", "_HANDLER=app.handler", "LAMBDA_TASK_ROOT=/var/task"]
        config["process"] = process
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
    }

    private func crunMountNamespace(_ notes: inout [String]) throws -> Int32 {
        let layout = try CgroupLayout.current()
        guard !layout.v1.isEmpty, let unified = layout.unifiedMountPoint else { return -1 }
        notes.append("crun runs in a mount namespace without \(unified) (crun 1.8 refuses hybrid cgroups)")
        return hearth_bench_mntns_without(unified)
    }

    private func sh(_ command: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("'\(command)' failed") }
    }
}
