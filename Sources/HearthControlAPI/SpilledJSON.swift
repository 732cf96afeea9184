#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HearthPackages

/// A JSON request body read from a file without holding its long strings in memory: CreateFunction,
/// UpdateFunctionCode and PublishLayerVersion carry a zip of up to 50 MB as one base64 string. Every
/// string value longer than `spillThreshold` is base64-decoded as it is read into a file of its own
/// (`UnnamedFile`, in the spill directory) and replaced in the remaining, small document by a marker
/// `JSONBody.file` resolves. Everything else of the document is kept as it was, for the JSON parser.
struct SpilledJSON {
    static let spillThreshold = 64 * 1024

    /// The document with long strings replaced by markers.
    var document: [UInt8] = []
    /// The decoded long strings, by marker index; nil where a string was not valid base64.
    var files: [UnnamedFile?] = []
    /// Starts each marker; random per document, so no string a client writes can pass for one.
    let marker: String = {
        var rng = SystemRandomNumberGenerator()
        return "\u{1}hearth-spill-" + String(rng.next() as UInt64, radix: 16) + ":"
    }()

    /// The spilled file a string value stands for, if it is a marker of this document.
    func file(for value: String) -> UnnamedFile?? {
        guard value.hasPrefix(marker), let index = Int(value.dropFirst(marker.count)), files.indices.contains(index) else { return nil }
        return .some(files[index])
    }

    /// Scans `read` (which returns the next block, empty at the end) as JSON text. Only strings are
    /// interpreted (to find their ends and escapes); the parser that reads `document` checks the rest.
    static func scan(spillDirectory: String, _ read: () throws -> [UInt8]) throws -> SpilledJSON {
        var out = SpilledJSON()
        var inString = false
        var escape = 0  // 0: none; 1: after a backslash; 2...5: hex digits of \u still to come
        var unicode: UInt32 = 0
        // A string's bytes as written (escapes included) and as decoded, until it is known to be long.
        var pending: [UInt8] = []
        var pendingDecoded: [UInt8] = []
        var spill: Base64Spill?
        while true {
            let block = try read()
            if block.isEmpty { break }
            try block.withUnsafeBufferPointer { bytes in
                var i = 0
                while i < bytes.count {
                    // Inside a spilled string, the run up to the next quote or backslash goes to the decoder
                    // whole (memchr and Foundation's base64 decoder, not a Swift loop per byte).
                    if inString && escape == 0, let s = spill, let base = bytes.baseAddress {
                        let end = Self.nextQuoteOrBackslash(base, from: i, count: bytes.count)
                        if end > i {
                            try s.append(UnsafeBufferPointer(rebasing: bytes[i..<end]))
                            i = end
                            continue
                        }
                    }
                    let byte = bytes[i]
                    i += 1
                    guard inString else {
                        out.document.append(byte)
                        if byte == UInt8(ascii: "\"") {
                            inString = true
                            pending = []
                            pendingDecoded = []
                            spill = nil
                        }
                        continue
                    }
                    if escape == 0 && byte == UInt8(ascii: "\"") {
                        inString = false
                        if let s = spill {
                            // As JSON text: the marker's control character escaped.
                            out.document += Array(("\\u0001" + out.marker.dropFirst() + String(out.files.count)).utf8)
                            out.files.append(try s.finish())
                        } else {
                            out.document += pending
                        }
                        out.document.append(byte)
                        continue
                    }
                    // The string's content decoded (base64 never needs more than \/): anything else is 0xff,
                    // which base64 refuses.
                    var decoded: UInt8?
                    switch escape {
                    case 0:
                        if byte == UInt8(ascii: "\\") { escape = 1 } else { decoded = byte }
                    case 1:
                        switch byte {
                        case UInt8(ascii: "u"): escape = 2; unicode = 0
                        case UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "\""): decoded = byte; escape = 0
                        default: decoded = 0xff; escape = 0
                        }
                    default:
                        guard let digit = hexValue(byte) else { throw SpillError.badEscape }
                        unicode = unicode << 4 | UInt32(digit)
                        escape = escape == 5 ? 0 : escape + 1
                        if escape == 0 { decoded = unicode < 0x80 ? UInt8(unicode) : 0xff }
                    }
                    if let s = spill {
                        if let decoded { try s.append(decoded) }
                        continue
                    }
                    pending.append(byte)
                    if let decoded { pendingDecoded.append(decoded) }
                    if pending.count > spillThreshold {
                        let s = try Base64Spill(directory: spillDirectory)
                        try pendingDecoded.withUnsafeBufferPointer { try s.append($0) }
                        pending = []
                        pendingDecoded = []
                        spill = s
                    }
                }
            }
        }
        if inString { out.document += pending }
        return out
    }

    /// The index of the next `"` or `\\` at or after `from`, or `count`.
    static func nextQuoteOrBackslash(_ base: UnsafePointer<UInt8>, from: Int, count: Int) -> Int {
        let length = count - from
        let quote = memchr(base + from, Int32(UInt8(ascii: "\"")), length)
        let slash = memchr(base + from, Int32(UInt8(ascii: "\\")), length)
        let found = [quote, slash].compactMap { $0 }.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base }
        return found.min() ?? count
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    enum SpillError: Error, CustomStringConvertible {
        case badEscape
        var description: String { "a \\u escape in a string is not four hex digits" }
    }
}

/// Base64 text decoded into a file as it arrives, 64 KB of text at a time by Foundation's decoder
/// (standard alphabet; padding at the end optional, as Data(base64Encoded:) wants it added).
final class Base64Spill {
    private let file: UnnamedFile
    private var text: [UInt8] = []
    private var valid = true
    private static let chunk = 1 << 16  // a multiple of 4

    init(directory: String) throws {
        file = try UnnamedFile(directory: directory)
        text.reserveCapacity(Self.chunk * 2)
    }

    func append(_ run: UnsafeBufferPointer<UInt8>) throws {
        guard valid else { return }
        text.append(contentsOf: run)
        try drain()
    }

    func append(_ char: UInt8) throws {
        guard valid else { return }
        text.append(char)
        try drain()
    }

    /// Decodes whole chunks; what is left waits for more (or the end).
    private func drain() throws {
        while valid && text.count >= Self.chunk {
            try decode(text[0..<Self.chunk])
            text.removeFirst(Self.chunk)
        }
    }

    private func decode(_ part: ArraySlice<UInt8>) throws {
        guard let bytes = Data(base64Encoded: Data(part)) else {
            valid = false
            return
        }
        try file.write(Array(bytes))
    }

    /// The decoded file, or nil if the text was not base64.
    func finish() throws -> UnnamedFile? {
        guard valid else { return nil }
        // Padding the writer left out.
        while text.count % 4 != 0 { text.append(UInt8(ascii: "=")) }
        if !text.isEmpty { try decode(text[...]) }
        return valid ? file : nil
    }
}
