import Foundation
import HearthModel

/// hearth.yaml: a flat mapping of settings, every one optional; flags win over the file.
///
///     listen: 127.0.0.1:9000
///     socket: /run/hearth/hearth.sock
///     state_dir: /var/lib/hearth
///     images_dir: /var/lib/hearth/images
///     idle_timeout_seconds: 600
///     keep_alive_policy: fixed
///     memory_budget_mb: 16384
///     account_concurrency: 1000
///     prepared_per_image: 2
///     region: us-east-1
///     max_connections: 1024
///     header_timeout_seconds: 10
///     body_timeout_seconds: 30
///     keepalive_timeout_seconds: 60
///     image_dirs: /srv/images, /home/ci/images
///     freeze_idle: true
///     journal: auto
///     auth: auto
///     async_delay_scale: 1
///     sqs_endpoint: http://127.0.0.1:4566
///     sqs_access_key_id: AKIA...
///     sqs_secret_access_key: ...
///     s3_endpoint: http://127.0.0.1:9000
///     s3_access_key_id: ...
///     s3_secret_access_key: ...
///     ephemeral_storage: auto
struct ServeConfiguration: Equatable {
    var listen: String?
    var socket: String?
    var stateDirectory: String?
    var imagesDirectory: String?
    var idleTimeoutSeconds: Double?
    /// "fixed" or "hybrid" (`KeepAlivePolicy`).
    var keepAlivePolicy: String?
    var memoryBudgetMB: Int?
    var accountConcurrency: Int?
    var preparedPerImage: Int?
    var region: String?
    var maxConnections: Int?
    var headerTimeoutSeconds: Int?
    var bodyTimeoutSeconds: Int?
    var keepAliveTimeoutSeconds: Int?
    var imageDirectories: [String]?
    var freezeIdle: Bool?
    /// Function logs also to systemd's journal: "on", "off", or "auto" (when the daemon's output goes there).
    var journal: String?
    /// SigV4 on the TCP listener: "required", "off", or "auto" (required unless it listens on loopback).
    var auth: String?
    /// Lambda's async retry delays (1 and 2 minutes) and backoffs multiplied by this: below 1 for tests.
    var asyncDelayScale: Double?
    /// Where SQS destinations and dead-letter queues are sent, and the key that signs for it.
    var sqsEndpoint: String?
    var sqsAccessKeyId: String?
    var sqsSecretAccessKey: String?
    /// Where code given as S3Bucket and S3Key is read from, and the key that signs for it.
    var s3Endpoint: String?
    var s3AccessKeyId: String?
    var s3SecretAccessKey: String?
    /// Each sandbox's /tmp: "disk" (a filesystem of its own), "memory" (its tmpfs, charged to its memory),
    /// or "auto" (disk when the host allows it: loop devices, ext4 and mkfs.ext4).
    var ephemeralStorage: String?
    /// Function URLs' listener (HOST:PORT or "off") and the domain their host names end in.
    var urlListen: String?
    var urlDomain: String?
    /// The sandboxes' network: the default mode (or off), the bridge, its subnet, the DNS servers.
    var network: String?
    var networkBridge: String?
    var networkSubnet: String?
    var networkDNS: String?

    static let keys = ["listen", "socket", "state_dir", "images_dir", "idle_timeout_seconds", "keep_alive_policy", "memory_budget_mb", "account_concurrency",
                       "prepared_per_image", "region", "max_connections", "header_timeout_seconds", "body_timeout_seconds",
                       "keepalive_timeout_seconds", "image_dirs", "freeze_idle", "journal", "auth",
                       "async_delay_scale", "sqs_endpoint", "sqs_access_key_id", "sqs_secret_access_key", "s3_endpoint", "s3_access_key_id", "s3_secret_access_key", "ephemeral_storage",
                       "url_listen", "url_domain",
                       "network", "network_bridge", "network_subnet", "network_dns"]

    /// Parses the file; any line it does not understand is an error naming the file, line and reason.
    static func parse(_ text: String, file: String) throws -> ServeConfiguration {
        var config = ServeConfiguration()
        var seen = Set<String>()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let where_ = "\(file):\(index + 1)"
            var line = String(raw)
            if let hash = line.firstIndex(of: "#"), !line[..<hash].contains("\"") { line = String(line[..<hash]) }
            line = line.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line == "---" { continue }
            guard let colon = line.firstIndex(of: ":"), !raw.hasPrefix(" "), !raw.hasPrefix("\t") else {
                throw HearthError.invalidArgument("\(where_): expected 'key: value' at the top level, got '\(line.prefix(60))'")
            }
            let key = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            var value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, (value.hasPrefix("\"") && value.hasSuffix("\"")) || (value.hasPrefix("'") && value.hasSuffix("'")) {
                value = String(value.dropFirst().dropLast())
            }
            guard keys.contains(key) else {
                throw HearthError.invalidArgument("\(where_): unknown setting '\(key)' (known: \(keys.joined(separator: ", ")))")
            }
            guard seen.insert(key).inserted else { throw HearthError.invalidArgument("\(where_): '\(key)' is set twice") }
            guard !value.isEmpty else { throw HearthError.invalidArgument("\(where_): '\(key)' has no value") }
            func number<T: LosslessStringConvertible & Comparable>(_: T.Type, min: T) throws -> T {
                guard let n = T(value), n >= min else { throw HearthError.invalidArgument("\(where_): '\(key)' must be a number of at least \(min), got '\(value)'") }
                return n
            }
            func httpURL() throws -> String {
                guard value.hasPrefix("http://") || value.hasPrefix("https://") else {
                    throw HearthError.invalidArgument("\(where_): '\(key)' must be an http:// or https:// URL, got '\(value)'")
                }
                return value
            }
            switch key {
            case "listen": config.listen = try ListenAddress.parse(value).text
            case "url_listen": config.urlListen = value == "off" ? value : try ListenAddress.parse(value).text
            case "url_domain":
                let labels = value.split(separator: ".", omittingEmptySubsequences: false)
                guard !value.isEmpty, value.utf8.count <= 200, labels.allSatisfy({ label in
                    !label.isEmpty && label.utf8.count <= 63 && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
                }) else {
                    throw HearthError.invalidArgument("\(where_): 'url_domain' must be a DNS name (letters, digits, '-' and dots), got '\(value)'")
                }
                config.urlDomain = value.lowercased()
            case "network": config.network = value
            case "network_bridge": config.networkBridge = value
            case "network_subnet": config.networkSubnet = value
            case "network_dns": config.networkDNS = value
            case "socket": config.socket = try absolute(value, key, where_)
            case "state_dir": config.stateDirectory = try absolute(value, key, where_)
            case "images_dir": config.imagesDirectory = try absolute(value, key, where_)
            case "idle_timeout_seconds": config.idleTimeoutSeconds = try number(Double.self, min: 0.1)
            case "keep_alive_policy":
                guard value == "fixed" || value == "hybrid" else {
                    throw HearthError.invalidArgument("\(where_): 'keep_alive_policy' must be fixed or hybrid, got '\(value)'")
                }
                config.keepAlivePolicy = value
            case "sqs_endpoint": config.sqsEndpoint = try httpURL()
            case "sqs_access_key_id": config.sqsAccessKeyId = value
            case "sqs_secret_access_key": config.sqsSecretAccessKey = value
            case "s3_endpoint": config.s3Endpoint = try httpURL()
            case "s3_access_key_id": config.s3AccessKeyId = value
            case "s3_secret_access_key": config.s3SecretAccessKey = value
            case "async_delay_scale":
                let scale = try number(Double.self, min: 0.0001)
                guard scale <= 1 else { throw HearthError.invalidArgument("\(where_): 'async_delay_scale' must be at most 1, got '\(value)'") }
                config.asyncDelayScale = scale
            case "memory_budget_mb": config.memoryBudgetMB = try number(Int.self, min: 128)
            case "account_concurrency": config.accountConcurrency = try number(Int.self, min: 1)
            case "prepared_per_image": config.preparedPerImage = try number(Int.self, min: 0)
            case "max_connections": config.maxConnections = try number(Int.self, min: 1)
            case "header_timeout_seconds": config.headerTimeoutSeconds = try number(Int.self, min: 1)
            case "body_timeout_seconds": config.bodyTimeoutSeconds = try number(Int.self, min: 1)
            case "keepalive_timeout_seconds": config.keepAliveTimeoutSeconds = try number(Int.self, min: 1)
            case "image_dirs":
                config.imageDirectories = try value.split(separator: ",").map { part throws -> String in
                    try absolute(part.trimmingCharacters(in: .whitespaces), key, where_)
                }
            case "freeze_idle":
                switch value {
                case "true", "yes", "on": config.freezeIdle = true
                case "false", "no", "off": config.freezeIdle = false
                default: throw HearthError.invalidArgument("\(where_): 'freeze_idle' must be true or false, got '\(value)'")
                }
            case "journal":
                guard ["auto", "on", "off"].contains(value) else {
                    throw HearthError.invalidArgument("\(where_): 'journal' must be auto, on or off, got '\(value)'")
                }
                config.journal = value
            case "ephemeral_storage":
                guard ["auto", "disk", "memory"].contains(value) else {
                    throw HearthError.invalidArgument("\(where_): 'ephemeral_storage' must be auto, disk or memory, got '\(value)'")
                }
                config.ephemeralStorage = value
            case "auth":
                guard ["auto", "required", "off"].contains(value) else {
                    throw HearthError.invalidArgument("\(where_): 'auth' must be auto, required or off, got '\(value)'")
                }
                config.auth = value
            default: config.region = value
            }
        }
        return config
    }

    private static func absolute(_ value: String, _ key: String, _ where_: String) throws -> String {
        guard value.hasPrefix("/") else { throw HearthError.invalidArgument("\(where_): '\(key)' must be an absolute path, got '\(value)'") }
        return value
    }
}

/// HOST:PORT for --listen.
struct ListenAddress: Equatable, Sendable {
    var host: String
    var port: Int
    var text: String { "\(host):\(port)" }
    /// Only this host can connect: 127.0.0.0/8, ::1, localhost.
    var isLoopback: Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    static func parse(_ text: String) throws -> ListenAddress {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            throw HearthError.invalidArgument("listen address must be HOST:PORT (e.g. 127.0.0.1:9000), got '\(text)'")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw HearthError.invalidArgument("listen address must name a host, got '\(text)'") }
        return ListenAddress(host: host, port: port)
    }
}
