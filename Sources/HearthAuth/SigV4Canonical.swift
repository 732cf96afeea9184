/// The pieces of SigV4's canonical request, built from a request as it came off the wire.
enum SigV4Canonical {
    /// RFC 3986's unreserved characters: everything else is percent-encoded, upper-case hex.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    static func encode<S: Sequence>(_ bytes: S, keepSlash: Bool = false) -> String where S.Element == UInt8 {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in bytes {
            if isUnreserved(b) || (keepSlash && b == UInt8(ascii: "/")) {
                out.append(b)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-decoding that keeps '+' as itself (SigV4 clients send spaces as %20); nil for a broken escape.
    static func decode(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var bytes = text.utf8.makeIterator()
        while let b = bytes.next() {
            guard b == UInt8(ascii: "%") else { out.append(b); continue }
            guard let h = bytes.next().flatMap(hexValue), let l = bytes.next().flatMap(hexValue) else { return nil }
            out.append(h << 4 | l)
        }
        return out
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Services other than S3 sign the path encoded twice: the path as sent (already percent-encoded by the
    /// client) is encoded once more, so a function ARN's "%3A" is signed as "%253A".
    static func uri(rawPath: Substring) -> String {
        rawPath.isEmpty ? "/" : encode(rawPath.utf8, keepSlash: true)
    }

    /// Parameters decoded, encoded strictly, sorted by name then value; `excluding` (the query form's
    /// X-Amz-Signature) left out. Nil when an escape is broken.
    static func query(rawQuery: Substring, excluding: String? = nil) -> String? {
        var pairs: [(String, String)] = []
        for part in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(kv[0]), let value = kv.count == 2 ? decode(kv[1]) : [] else { return nil }
            if let excluding, name.elementsEqual(excluding.utf8) { continue }
            pairs.append((encode(name), encode(value)))
        }
        pairs.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        return pairs.map { $0.0 + "=" + $0.1 }.joined(separator: "&")
    }

    /// "name:value\n" for each signed header: values of a repeated header joined with ',', each trimmed and
    /// its inner runs of spaces collapsed. Nil when a signed header is absent.
    static func headers(_ headers: [(name: String, value: String)], signed: [String]) -> String? {
        var out = ""
        for name in signed {
            let values = headers.filter { $0.name.lowercased() == name }.map { collapse($0.value) }
            guard !values.isEmpty else { return nil }
            out += name + ":" + values.joined(separator: ",") + "\n"
        }
        return out
    }

    static func collapse(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
