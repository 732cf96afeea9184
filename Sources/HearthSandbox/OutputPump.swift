#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Copies one file descriptor to another on its own thread until EOF.
public final class OutputPump: @unchecked Sendable {
    private let thread: Thread
    private let done = DispatchSemaphore(value: 0)

    public init(from source: Int32, to destination: Int32, closeDestinationAtEnd: Bool = false) {
        let done = self.done
        thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            outer: while true {
                let n = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                var offset = 0
                while offset < n {
                    let w = buffer[offset..<n].withUnsafeBytes { write(destination, $0.baseAddress, $0.count) }
                    if w < 0 && errno == EINTR { continue }
                    if w <= 0 { break outer }
                    offset += w
                }
            }
            close(source)
            if closeDestinationAtEnd { close(destination) }
            done.signal()
        }
        thread.start()
    }

    public func wait() { done.wait() }
}
