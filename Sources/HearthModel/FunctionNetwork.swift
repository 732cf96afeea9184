/// What a function's sandboxes may reach over the network.
///
/// - `internet`: the internet (through the host's NAT) and the allowances; never the host, its loopback,
///   private, shared, link-local or metadata ranges, or another sandbox, unless allowed here.
/// - `restricted`: the allowances alone (a private subnet without NAT, in Lambda's terms).
/// - `none`: loopback only, as a sandbox had before networking: no interface at all.
public struct FunctionNetwork: Sendable, Hashable {
    public enum Mode: String, Sendable, CaseIterable { case internet, restricted, none }
    public var mode: Mode
    public var allowances: [NetworkAllowance]

    public init(mode: Mode, allowances: [NetworkAllowance] = []) {
        self.mode = mode
        self.allowances = allowances
    }

    /// Whether sandboxes of this function get an interface.
    public var hasInterface: Bool { mode != .none }

    public static let none = FunctionNetwork(mode: .none)

    /// Lambda allows 5 security groups per function; Hearth's allowances take their place, with room to spare.
    public static let maximumAllowances = 16

    /// Parses a mode and allowances as the API and the CLI give them; the error names what is wrong.
    public static func parse(mode: String, allowances: [String]) throws(NetworkSettingError) -> FunctionNetwork {
        guard let parsed = Mode(rawValue: mode) else {
            throw NetworkSettingError("network mode '\(mode)' is not one of \(Mode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard allowances.count <= maximumAllowances else {
            throw NetworkSettingError("at most \(maximumAllowances) network allowances, not \(allowances.count)")
        }
        let rules = try allowances.map { text throws(NetworkSettingError) in try NetworkAllowance(parsing: text) }
        if parsed == .none, !rules.isEmpty {
            throw NetworkSettingError("a function with network mode none has no interface, so it cannot be allowed \(allowances[0])")
        }
        var names = Set<String>()
        for case .service(let name, _, _) in rules where !names.insert(name).inserted {
            throw NetworkSettingError("host service '\(name)' is named twice")
        }
        return FunctionNetwork(mode: parsed, allowances: rules)
    }
}

/// One thing a networked function may reach besides the internet.
public enum NetworkAllowance: Sendable, Hashable, CustomStringConvertible {
    /// `name=127.0.0.1:5432`: that one host address and port, reached at the sandbox's gateway on the same port.
    case service(name: String, address: IPv4Address, port: UInt16)
    /// `192.168.5.0/24`: addresses the internet policy would refuse (private ranges, say).
    case network(IPv4Network)

    public init(parsing text: String) throws(NetworkSettingError) {
        if let equals = text.firstIndex(of: "=") {
            let name = String(text[..<equals])
            let target = text[text.index(after: equals)...]
            guard Self.isServiceName(name) else {
                throw NetworkSettingError("host service name '\(name)' must be 1-32 letters, digits, '-' or '_', starting with a letter")
            }
            guard let colon = target.lastIndex(of: ":"),
                  let address = IPv4Address(String(target[..<colon])),
                  let port = UInt16(target[target.index(after: colon)...]), port > 0 else {
                throw NetworkSettingError("host service '\(text)' must be NAME=IPV4:PORT, like postgres=127.0.0.1:5432")
            }
            self = .service(name: name, address: address, port: port)
        } else if let network = IPv4Network(text) {
            self = .network(network)
        } else {
            throw NetworkSettingError("network allowance '\(text)' is neither NAME=IPV4:PORT nor an IPv4 CIDR like 192.168.5.0/24")
        }
    }

    public var description: String {
        switch self {
        case .service(let name, let address, let port): "\(name)=\(address):\(port)"
        case .network(let network): network.description
        }
    }

    static func isServiceName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 32,
              ("a"..."z").contains(first) || ("A"..."Z").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }
}

public struct NetworkSettingError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An IPv4 address, parsed strictly (four decimal octets, no leading zeros).
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Host byte order.
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part == "0" || !part.hasPrefix("0"), let octet = UInt8(part) else { return nil }
            value = value << 8 | UInt32(octet)
        }
        self.value = value
    }

    /// Network byte order, as the kernel wants it.
    public var networkOrder: UInt32 { value.bigEndian }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// An IPv4 network in CIDR form; the address must be the network's first (no host bits set).
public struct IPv4Network: Sendable, Hashable, CustomStringConvertible {
    public let address: IPv4Address
    public let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])),
              parts[1].count <= 2, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let prefix = Int(parts[1]), prefix <= 32 else { return nil }
        self.init(address: address, prefix: prefix)
    }

    public init?(address: IPv4Address, prefix: Int) {
        guard (0...32).contains(prefix), address.value & ~Self.mask(prefix) == 0 else { return nil }
        self.address = address
        self.prefix = prefix
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix) }

    /// How many addresses it spans (2^(32-prefix)).
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefix) }

    public func contains(_ other: IPv4Address) -> Bool { other.value & Self.mask(prefix) == address.value }

    /// The address `offset` places in; nil past the end.
    public func address(at offset: UInt64) -> IPv4Address? {
        guard offset < size else { return nil }
        return IPv4Address(address.value + UInt32(offset))
    }

    public var description: String { "\(address)/\(prefix)" }
}
