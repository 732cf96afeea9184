import Synchronization

/// Request ids and X-Ray trace ids for the invoke path. Foundation's UUID()
/// opens and reads /dev/urandom on every call and SystemRandomNumberGenerator
/// is a getrandom(2) per draw; these only need to be unique and unguessable
/// enough, so a xoshiro256** generator seeded once from the kernel serves them.
public enum RequestIdentifiers {
    private static let state = Mutex(Xoshiro256())

    /// A random (version 4) UUID in lowercase, as Lambda's request ids are.
    public static func uuid() -> String {
        let (a, b) = state.withLock { ($0.next(), $0.next()) }
        let high = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let low = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        var text = [UInt8]()
        text.reserveCapacity(36)
        appendHex(high >> 32, digits: 8, to: &text)
        text.append(UInt8(ascii: "-"))
        appendHex(high >> 16, digits: 4, to: &text)
        text.append(UInt8(ascii: "-"))
        appendHex(high, digits: 4, to: &text)
        text.append(UInt8(ascii: "-"))
        appendHex(low >> 48, digits: 4, to: &text)
        text.append(UInt8(ascii: "-"))
        appendHex(low, digits: 12, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// An X-Ray trace header for a new, unsampled trace started at `epochSeconds`.
    public static func traceHeader(epochSeconds: UInt32) -> String {
        let (a, b, c) = state.withLock { ($0.next(), $0.next(), $0.next()) }
        var text = Array("Root=1-".utf8)
        text.reserveCapacity(75)
        appendHex(UInt64(epochSeconds), digits: 8, to: &text)
        text.append(UInt8(ascii: "-"))
        appendHex(a, digits: 16, to: &text)
        appendHex(b, digits: 8, to: &text)
        text.append(contentsOf: ";Parent=".utf8)
        appendHex(c, digits: 16, to: &text)
        text.append(contentsOf: ";Sampled=0".utf8)
        return String(decoding: text, as: UTF8.self)
    }

    /// The low `digits` hex digits of `value`, zero-padded.
    static func appendHex(_ value: UInt64, digits: Int, to text: inout [UInt8]) {
        let alphabet: StaticString = "0123456789abcdef"
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            let nibble = Int((value >> UInt64(shift)) & 0xF)
            text.append(alphabet.utf8Start[nibble])
        }
    }
}

/// xoshiro256** (Blackman and Vigna), seeded from the system generator.
struct Xoshiro256 {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var seed = SystemRandomNumberGenerator()
        s = (seed.next(), seed.next(), seed.next(), seed.next())
        if s == (0, 0, 0, 0) { s.0 = 1 }
    }

    mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
