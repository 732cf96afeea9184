import HearthSystemd
import NIOCore
import NIOPosix

/// WatchdogSec=: WATCHDOG=1 at half the interval, sent only once every event loop has run a task and
/// the scheduler has answered, so a daemon whose loops or scheduler hang stops pinging and systemd
/// restarts it.
enum ServiceWatchdog {
    static func start(intervalUsec: UInt64, group: MultiThreadedEventLoopGroup, probe: @escaping @Sendable () async -> Void) -> Task<Void, Never> {
        let pause = max(intervalUsec / 2, 100_000) * 1_000
        return Task {
            while !Task.isCancelled {
                for loop in group.makeIterator() {
                    _ = try? await loop.submit {}.get()
                }
                await probe()
                ServiceNotifier.watchdog()
                try? await Task.sleep(nanoseconds: pause)
            }
        }
    }
}
