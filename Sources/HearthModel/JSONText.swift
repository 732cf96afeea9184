/// A JSON document written straight into bytes: objects and arrays opened and closed in order, commas
/// placed as values follow each other, strings escaped as RFC 8259 requires (quote, backslash and control
/// characters; everything else as UTF-8).
public struct JSONText {
    public private(set) var bytes: [UInt8] = []
    /// Whether the container being written already holds a value (so the next needs a comma).
    private var filled: [Bool] = []

    public init() { bytes.reserveCapacity(1024) }

    public mutating func open(_ bracket: Character) {
        bytes.append(UInt8(ascii: bracket == "{" ? "{" : "["))
        filled.append(false)
    }

    public mutating func close(_ bracket: Character) {
        bytes.append(UInt8(ascii: bracket == "}" ? "}" : "]"))
        _ = filled.popLast()
    }

    /// Before an array's next element.
    public mutating func element() { separate() }

    public mutating func key(_ name: String) {
        separate()
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func object(_ pairs: [(String, String)]) {
        open("{")
        for (name, value) in pairs {
            key(name)
            string(value)
        }
        close("}")
    }

    public mutating func null() { bytes += Array("null".utf8) }

    /// A number or literal as it is.
    public mutating func raw(_ text: String) { bytes += Array(text.utf8) }

    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func separate() {
        guard !filled.isEmpty else { return }
        if filled[filled.count - 1] { bytes.append(UInt8(ascii: ",")) }
        filled[filled.count - 1] = true
    }
}
