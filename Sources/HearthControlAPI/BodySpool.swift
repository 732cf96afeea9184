import Crypto
import HearthAuth
import HearthPackages
import NIOCore

/// A request's body as it arrives: in memory up to `memoryLimit`, then in a file with no name in the
/// spill directory (written from the event loop, as nginx writes its client body buffers), so no client
/// holds more than 64 KB of the daemon's memory however large its body.
struct BodySpool {
    static let memoryLimit = 64 * 1024

    let directory: String
    private(set) var bytes: [UInt8] = []
    private(set) var file: UnnamedFile?
    private(set) var length = 0
    /// The body's SHA-256 as it arrives, when a signature covers it.
    private var hasher: SHA256?
    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    mutating func hashing() { hasher = SHA256() }

    /// Lower-case hex of the body's SHA-256, if it was hashed.
    var sha256: String? {
        hasher.map { SigV4Verifier.hex($0.finalize()) }
    }

    init(directory: String, expected: Int) {
        self.directory = directory
        if expected > 0 && expected <= Self.memoryLimit { bytes.reserveCapacity(expected) }
    }

    mutating func append(_ buffer: inout ByteBuffer) throws {
        length += buffer.readableBytes
        if hasher != nil { buffer.withUnsafeReadableBytes { hasher?.update(bufferPointer: $0) } }
        if file == nil && bytes.count + buffer.readableBytes <= Self.memoryLimit {
            bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
            return
        }
        if file == nil {
            let spilled = try UnnamedFile(directory: directory)
            try spilled.write(bytes)
            bytes = []
            file = spilled
        }
        try buffer.withUnsafeReadableBytes { try file?.write($0) }
        buffer.moveReaderIndex(to: buffer.writerIndex)
    }
}
