/// A checked, normalised relative path inside an extraction target.
struct EntryPath: Hashable {
    let components: [[UInt8]]

    var display: String { components.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/") }
    var parent: EntryPath { EntryPath(components: Array(components.dropLast())) }
    var base: [UInt8] { components.last ?? [] }

    enum Dialect {
        /// Lambda zips: UTF-8 only, no backslashes (Windows separators), no case-only twins (checked elsewhere).
        case zip
        /// Tar layers: any bytes but NUL; a leading "./" is normal.
        case tar
    }

    /// Parses an archive name. Absolute paths, "..", empty names and anything
    /// that would normalise to the target itself are refused with the reason.
    static func parse(_ raw: [UInt8], dialect: Dialect, limits: ExtractionLimits) throws -> EntryPath {
        let display = String(decoding: raw, as: UTF8.self)
        guard !raw.isEmpty else { throw PackageError.hostileEntry(display, "empty name") }
        guard raw.count <= limits.maxPathBytes else {
            throw PackageError.hostileEntry(String(display.prefix(80)) + "…", "name longer than \(limits.maxPathBytes) bytes")
        }
        guard !raw.contains(0) else { throw PackageError.hostileEntry(display, "name contains NUL") }
        if dialect == .zip {
            guard String(validating: raw, as: UTF8.self) != nil else {
                throw PackageError.hostileEntry(display, "name is not valid UTF-8")
            }
            guard !raw.contains(UInt8(ascii: "\\")) else {
                throw PackageError.hostileEntry(display, "name contains a backslash")
            }
            if raw.count >= 2, raw[1] == UInt8(ascii: ":") {
                throw PackageError.hostileEntry(display, "name has a drive letter")
            }
        }
        guard raw.first != UInt8(ascii: "/") else { throw PackageError.hostileEntry(display, "absolute path") }
        var parts = raw.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map(Array.init)
        // A trailing slash marks a directory; "./" prefixes are how tar writes relative names.
        if parts.last?.isEmpty == true { parts.removeLast() }
        while parts.first == [UInt8(ascii: ".")] && parts.count > 1 { parts.removeFirst() }
        // Tar writes the root directory itself as "./"; callers skip it for directories and refuse it otherwise.
        if dialect == .tar && parts == [[UInt8(ascii: ".")]] { return EntryPath(components: []) }
        var out: [[UInt8]] = []
        for part in parts {
            if part.isEmpty { throw PackageError.hostileEntry(display, "empty path component ('//')") }
            if part == [UInt8(ascii: ".")] { throw PackageError.hostileEntry(display, "'.' path component") }
            if part == [UInt8(ascii: "."), UInt8(ascii: ".")] { throw PackageError.hostileEntry(display, "'..' path component") }
            if part.count > 255 { throw PackageError.hostileEntry(display, "path component longer than 255 bytes") }
            out.append(part)
        }
        guard !out.isEmpty else { throw PackageError.hostileEntry(display, "names the extraction root itself") }
        guard out.count <= limits.maxDepth else { throw PackageError.hostileEntry(display, "deeper than \(limits.maxDepth) levels") }
        return EntryPath(components: out)
    }
}
