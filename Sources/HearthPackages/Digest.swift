#if canImport(Glibc)
import Glibc
#endif
import Crypto

/// A sha256 content digest, "sha256:<64 lowercase hex>". Parsing refuses anything
/// else, so a digest can be used as a file name without becoming a path.
public struct Digest: Hashable, Codable, Sendable, CustomStringConvertible {
    public let hex: String

    public init(parsing text: String) throws {
        guard text.hasPrefix("sha256:") else { throw PackageError.invalidImage("unsupported digest '\(text.prefix(80))' (only sha256)") }
        let hex = String(text.dropFirst(7))
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw PackageError.invalidImage("malformed digest '\(text.prefix(80))'")
        }
        self.hex = hex
    }

    init(hex: String) { self.hex = hex }

    init(_ hash: SHA256.Digest) {
        hex = hash.map { String(format: "%02x", $0) }.joined()
    }

    public var description: String { "sha256:" + hex }

    public init(from decoder: Decoder) throws {
        try self.init(parsing: decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// Hashes a whole file; also returns its size.
    public static func of(file path: String) throws -> (Digest, Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PackageError.io("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var hasher = SHA256()
        var size: Int64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw PackageError.io("cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            size += Int64(n)
        }
        return (Digest(hasher.finalize()), size)
    }

    public static func of(bytes: [UInt8]) -> Digest { Digest(SHA256.hash(data: bytes)) }
}
