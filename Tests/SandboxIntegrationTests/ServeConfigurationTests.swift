import Foundation
import HearthDelivery
import XCTest
@testable import HearthCommands

/// hearth.yaml: every setting read, every mistake named with its line.
final class ServeConfigurationTests: XCTestCase {
    func testAFullFileIsRead() throws {
        let config = try ServeConfiguration.parse("""
            # Hearth
            listen: 0.0.0.0:9100   # all interfaces
            socket: "/run/h.sock"
            state_dir: /srv/hearth
            images_dir: '/srv/images'
            idle_timeout_seconds: 30
            memory_budget_mb: 4096
            account_concurrency: 50
            prepared_per_image: 0
            region: eu-west-1
            freeze_idle: off
            journal: on
            keep_alive_policy: hybrid
            s3_endpoint: http://127.0.0.1:9000
            s3_access_key_id: minio
            s3_secret_access_key: minio123
            ephemeral_storage: memory
            """, file: "h.yaml")
        XCTAssertEqual(config, ServeConfiguration(listen: "0.0.0.0:9100", socket: "/run/h.sock", stateDirectory: "/srv/hearth",
                                                  imagesDirectory: "/srv/images", idleTimeoutSeconds: 30, keepAlivePolicy: "hybrid", memoryBudgetMB: 4096,
                                                  accountConcurrency: 50, preparedPerImage: 0, region: "eu-west-1",
                                                  freezeIdle: false, journal: "on", s3Endpoint: "http://127.0.0.1:9000", s3AccessKeyId: "minio",
                                                  s3SecretAccessKey: "minio123", ephemeralStorage: "memory"))
    }

    func testMistakesNameTheLine() {
        let cases: [(String, String)] = [
            ("listen: 1.2.3.4:9000\nlisten_port: 9\n", "h.yaml:2: unknown setting 'listen_port'"),
            ("memory_budget_mb: lots\n", "h.yaml:1: 'memory_budget_mb' must be a number"),
            ("memory_budget_mb: 64\n", "at least 128"),
            ("prepared_per_image: -1\n", "h.yaml:1: 'prepared_per_image' must be a number of at least 0"),
            ("state_dir: relative/dir\n", "must be an absolute path"),
            ("listen: nowhere\n", "HOST:PORT"),
            ("region: a\nregion: b\n", "h.yaml:2: 'region' is set twice"),
            ("region:\n", "h.yaml:1: 'region' has no value"),
            ("limits:\n  memory: 1\n", "h.yaml:1: unknown setting 'limits'"),
            ("just words\n", "h.yaml:1: expected 'key: value'"),
            ("freeze_idle: maybe\n", "h.yaml:1: 'freeze_idle' must be true or false, got 'maybe'"),
            ("journal: yes\n", "h.yaml:1: 'journal' must be auto, on or off, got 'yes'"),
            ("keep_alive_policy: histogram\n", "h.yaml:1: 'keep_alive_policy' must be fixed or hybrid, got 'histogram'"),
            ("ephemeral_storage: ssd\n", "h.yaml:1: 'ephemeral_storage' must be auto, disk or memory, got 'ssd'"),
            ("s3_endpoint: s3.example\n", "h.yaml:1: 's3_endpoint' must be an http:// or https:// URL, got 's3.example'"),
        ]
        for (text, fragment) in cases {
            XCTAssertThrowsError(try ServeConfiguration.parse(text, file: "h.yaml"), text) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(text): \(error)")
            }
        }
    }

    /// An outside endpoint is a scheme, a host and a port: a path, a query or another scheme is refused, naming the setting.
    func testOutsideEndpointsAreHostsAndPortsOnly() async throws {
        for url in ["http://127.0.0.1:9000/bucket", "ftp://127.0.0.1", "127.0.0.1:9000"] {
            XCTAssertThrowsError(try S3CodeFetcher(endpoint: S3Endpoint(url: url, accessKey: "k", secretKey: "s", region: "us-east-1"))) {
                XCTAssertTrue("\($0)".contains("s3_endpoint must be http(s)://HOST[:PORT], got '\(url)'"), "\($0)")
            }
            XCTAssertThrowsError(try SQSSender(endpoint: SQSEndpoint(url: url, accessKey: "k", secretKey: "s"))) {
                XCTAssertTrue("\($0)".contains("sqs_endpoint must be http(s)://HOST[:PORT], got '\(url)'"), "\($0)")
            }
        }
        let fetcher = try S3CodeFetcher(endpoint: S3Endpoint(url: "http://127.0.0.1:9000/", accessKey: "k", secretKey: "s", region: "us-east-1"))
        await fetcher.shutdown()
    }

    /// ephemeral_storage: memory gives no disks; where disks cannot be made (here a state directory under a
    /// file), auto falls back to memory and says why in one line, and disk refuses to start with that reason.
    func testEphemeralStorageSettingChoosesDisksOrSaysWhyNot() throws {
        guard geteuid() == 0 else { throw XCTSkip("/tmp disks need root (loop devices)") }
        var said: [String] = []
        XCTAssertNil(try HostEngine.ephemeralDisks(in: "/nonexistent", mode: "memory") { said.append($0) })
        let file = NSTemporaryDirectory() + "hearth-not-a-dir-\(UUID().uuidString.prefix(6))"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        XCTAssertNil(try HostEngine.ephemeralDisks(in: file, mode: "auto") { said.append($0) })
        XCTAssertEqual(said.count, 1)
        XCTAssertTrue(said.first?.contains("each sandbox's /tmp is memory (tmpfs, charged to the function), not disk: ") ?? false, "\(said)")
        XCTAssertTrue(said.first?.contains("cannot make \(file)/ephemeral") ?? false, "\(said)")
        XCTAssertThrowsError(try HostEngine.ephemeralDisks(in: file, mode: "disk") { said.append($0) }) {
            XCTAssertTrue("\($0)".contains("cannot make \(file)/ephemeral"), "\($0)")
        }
        XCTAssertEqual(said.count, 1, "disk says nothing: it refuses")
    }

    func testServeRefusesABadSettingsFileOrFlagBeforeStarting() throws {
        let file = NSTemporaryDirectory() + "hearth-bad-\(UUID().uuidString.prefix(6)).yaml"
        try "listen: 127.0.0.1:9000\nidle_timeout: 5\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let hearth = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("hearth")
        var r = try runCLI(hearth, ["serve", "--config", file], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("\(file):2: unknown setting 'idle_timeout'"), r.stderr)
        r = try runCLI(hearth, ["serve", "--config", "/no/such/hearth.yaml"], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertTrue(r.stderr.contains("cannot read the settings file /no/such/hearth.yaml"), r.stderr)
        r = try runCLI(hearth, ["serve", "--listen", "localhost", "--socket", "none"], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertTrue(r.stderr.contains("HOST:PORT"), r.stderr)
        r = try runCLI(hearth, ["serve", "--idle-timeout", "0", "--socket", "none"], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertTrue(r.stderr.contains("--idle-timeout must be positive"), r.stderr)
        r = try runCLI(hearth, ["serve", "--keep-alive-policy", "adaptive", "--socket", "none"], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertTrue(r.stderr.contains("--keep-alive-policy must be fixed or hybrid, got 'adaptive'"), r.stderr)
        r = try runCLI(hearth, ["serve", "--prepared", "100", "--socket", "none"], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertTrue(r.stderr.contains("--prepared must be between 0 and 64, got 100"), r.stderr)
        try "url_domain: bad_domain!\n".write(toFile: file, atomically: true, encoding: .utf8)
        r = try runCLI(hearth, ["serve", "--config", file], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertTrue(r.stderr.contains("\(file):1: 'url_domain' must be a DNS name"), r.stderr)
        r = try runCLI(hearth, ["serve", "--url-listen", "nowhere", "--socket", "none"], environment: ["PATH": "/usr/bin:/bin"])
        XCTAssertTrue(r.stderr.contains("HOST:PORT"), r.stderr)
        let network: [([String], String)] = [
            (["--network", "sometimes"], "network must be internet, restricted, none or off, got 'sometimes'"),
            (["--network-subnet", "10.213.0.1/16"], "network_subnet must be an IPv4 CIDR like 10.213.0.0/16 (no host bits set), got '10.213.0.1/16'"),
            (["--network-bridge", "a-bridge-name-too-long"], "network bridge name 'a-bridge-name-too-long' must be 1-15"),
            (["--network-dns", "127.0.0.53,dns.example"], "network_dns: DNS server 'dns.example' is not an IP address"),
        ]
        for (flags, message) in network {
            r = try runCLI(hearth, ["serve", "--socket", "none"] + flags, environment: ["PATH": "/usr/bin:/bin"])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.stderr.contains(message), "\(flags): \(r.stderr)")
        }
    }
}
