#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthModel
import Synchronization

/// An access key: its id (what a client's credential names) and the secret both sides sign with.
public struct AccessKey: Codable, Sendable, Equatable {
    public var id: String
    public var secret: String
    public var created: String
    public var description: String
}

/// The access keys of one daemon, in STATE_DIR/access-keys.json (mode 0600: the secrets are there in
/// clear, as SigV4 needs them). `hearth keys` changes the file, written whole to a temporary file and
/// renamed, so a reader sees the old keys or the new, never half; the daemon reads it again when it
/// changes (checked at most once a second), so a deleted key stops working within a second.
public final class AccessKeyFile: Sendable {
    public let path: String
    private struct Loaded {
        var keys: [String: String] = [:]
        var stamp: FileStamp?
        var checked = -Double.infinity
    }
    private let state = Mutex(Loaded())

    public init(stateDirectory: String) {
        path = stateDirectory + "/access-keys.json"
    }

    // MARK: the daemon's side

    /// The secret of `id`, from the file as it is now (to within a second).
    public func secret(for id: String, now: Double = Date().timeIntervalSince1970) -> String? {
        state.withLock { loaded in
            if now - loaded.checked >= 1 {
                loaded.checked = now
                let stamp = FileStamp(path)
                if stamp == nil || stamp != loaded.stamp {
                    loaded.keys = Dictionary((try? read()).map { $0.map { ($0.id, $0.secret) } } ?? [], uniquingKeysWith: { a, _ in a })
                    loaded.stamp = stamp
                }
            }
            return loaded.keys[id]
        }
    }

    // MARK: `hearth keys`

    public func read() throws -> [AccessKey] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if access(path, F_OK) != 0 { return [] }
            throw HearthError.system("cannot read \(path)")
        }
        do {
            return try JSONDecoder().decode([AccessKey].self, from: data)
        } catch {
            throw HearthError.system("\(path) is not a list of access keys: \(error)")
        }
    }

    /// A new key with a random id and secret, added to the file.
    public func create(description: String, now: Date = Date()) throws -> AccessKey {
        var keys = try read()
        let key = AccessKey(id: Self.randomID(), secret: Self.randomSecret(), created: ISO8601DateFormatter().string(from: now),
                            description: description)
        keys.append(key)
        try write(keys)
        return key
    }

    /// Removes `id`; false when there is no such key.
    public func delete(id: String) throws -> Bool {
        var keys = try read()
        let count = keys.count
        keys.removeAll { $0.id == id }
        guard keys.count != count else { return false }
        try write(keys)
        return true
    }

    func write(_ keys: [AccessKey]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(keys)
        let temporary = path + ".new"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HearthError.system("cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw HearthError.system("cannot write \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// 20 characters, as AWS's are: a prefix of our own (no AWS key starts so) and 16 of base32.
    static func randomID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var rng = SystemRandomNumberGenerator()
        return "HRTH" + String((0..<16).map { _ in alphabet[Int(rng.next(upperBound: UInt8(32)))] })
    }

    /// 40 characters of base64's alphabet: 240 random bits.
    static func randomSecret() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var rng = SystemRandomNumberGenerator()
        return String((0..<40).map { _ in alphabet[Int(rng.next(upperBound: UInt8(64)))] })
    }

}

/// What tells that a file was replaced or changed.
struct FileStamp: Equatable {
    var inode: UInt64, seconds: Int, nanoseconds: Int, size: Int

    init?(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        inode = UInt64(st.st_ino)
        seconds = Int(st.st_mtim.tv_sec)
        nanoseconds = Int(st.st_mtim.tv_nsec)
        size = Int(st.st_size)
    }
}
