#if canImport(Glibc)
import Glibc
#endif
import CSyscalls
import Foundation
import HearthModel

/// One thread that watches every sandbox's pidfd and output pipe with epoll,
/// so a thousand idle sandboxes cost no thread each.
final class SandboxWatcher: @unchecked Sendable {
    static let shared = SandboxWatcher()

    typealias Handler = @Sendable (_ hangup: Bool) -> Void

    private let epollFd: Int32
    private let lock = NSLock()
    private var handlers: [UInt64: Handler] = [:]
    private var nextToken: UInt64 = 1

    private init() {
        epollFd = hearth_epoll_create()
        precondition(epollFd >= 0, "epoll_create1: \(String(cString: strerror(errno)))")
        Thread.startNamed("hearth-watcher") { [unowned self] in self.loop() }
    }

    /// Calls `handler` whenever `fd` is readable (or hung up). With `once`, only the first time.
    /// Returns a token for `unwatch`.
    @discardableResult
    func watch(fd: Int32, once: Bool, handler: @escaping Handler) throws -> UInt64 {
        let token = lock.withLock { () -> UInt64 in
            defer { nextToken += 1 }
            handlers[nextToken] = handler
            return nextToken
        }
        if hearth_epoll_add(epollFd, fd, once ? 1 : 0, token) != 0 {
            let error = errno
            _ = lock.withLock { handlers.removeValue(forKey: token) }
            throw WatcherError(message: "epoll_ctl: \(String(cString: strerror(error)))")
        }
        return token
    }

    /// Stops watching; call before closing `fd`. A handler already running may still finish.
    func unwatch(fd: Int32, token: UInt64) {
        _ = hearth_epoll_del(epollFd, fd)
        _ = lock.withLock { handlers.removeValue(forKey: token) }
    }

    private func loop() {
        var tokens = [UInt64](repeating: 0, count: 64)
        var hangups = [Int32](repeating: 0, count: 64)
        while true {
            let n = hearth_epoll_wait(epollFd, &tokens, &hangups, 64)
            if n < 0 { continue }
            for i in 0..<Int(n) {
                if let handler = lock.withLock({ handlers[tokens[i]] }) { handler(hangups[i] != 0) }
            }
        }
    }
}

struct WatcherError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
