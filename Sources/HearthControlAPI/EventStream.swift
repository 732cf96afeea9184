/// AWS's event-stream framing, as InvokeWithResponseStream answers in it and boto3 decodes it: each message
/// is a prelude (total length, headers length, the prelude's CRC-32), string headers, the payload and the
/// whole message's CRC-32, all big-endian.
enum EventStream {
    /// A `PayloadChunk` event carrying raw bytes of the response.
    static func payloadChunk(_ bytes: [UInt8]) -> [UInt8] {
        message(headers: [(":event-type", "PayloadChunk"), (":content-type", "application/octet-stream"), (":message-type", "event")], payload: bytes)
    }

    /// The `InvokeComplete` event that ends the stream: `{}` on success, the error's code and details otherwise.
    static func invokeComplete(_ json: [UInt8]) -> [UInt8] {
        message(headers: [(":event-type", "InvokeComplete"), (":content-type", "application/json"), (":message-type", "event")], payload: json)
    }

    static func message(headers: [(String, String)], payload: [UInt8]) -> [UInt8] {
        var encoded: [UInt8] = []
        for (name, value) in headers {
            let n = Array(name.utf8), v = Array(value.utf8)
            encoded.append(UInt8(truncatingIfNeeded: n.count))
            encoded += n
            encoded.append(7)  // string
            encoded += [UInt8(truncatingIfNeeded: v.count >> 8), UInt8(truncatingIfNeeded: v.count)]
            encoded += v
        }
        let total = 12 + encoded.count + payload.count + 4
        var out: [UInt8] = []
        out.reserveCapacity(total)
        out += bigEndian(UInt32(truncatingIfNeeded: total))
        out += bigEndian(UInt32(truncatingIfNeeded: encoded.count))
        out += bigEndian(crc32(out))
        out += encoded
        out += payload
        out += bigEndian(crc32(out))
        return out
    }

    private static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// CRC-32 (IEEE 802.3, zlib's): the few lines it takes, rather than a zlib binding for two checksums per message.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
}
