/// C memory that must stay put while the child reads it; released all at once.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    func string(_ s: String) -> UnsafeMutablePointer<CChar> {
        let bytes = Array(s.utf8CString)
        let p = buffer(of: CChar.self, count: bytes.count)
        p.initialize(from: bytes, count: bytes.count)
        return p
    }

    func optionalString(_ s: String?) -> UnsafePointer<CChar>? {
        s.map { UnsafePointer(string($0)) }
    }

    /// A NULL-terminated char*[] (argv, envp).
    func stringArray(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let array = buffer(of: UnsafeMutablePointer<CChar>?.self, count: strings.count + 1)
        for (i, s) in strings.enumerated() { array[i] = string(s) }
        array[strings.count] = nil
        return array
    }

    /// A C array holding `values`.
    func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
        let p = buffer(of: T.self, count: values.count)
        p.initialize(from: values, count: values.count)
        return p
    }

    func buffer<T>(of: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<T>.stride, alignment: MemoryLayout<T>.alignment)
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(1, count))
    }

    deinit { for b in blocks { b.deallocate() } }
}
