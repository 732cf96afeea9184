import Foundation
import Synchronization

/// Entries for the journal, sent from a thread of their own: sending blocks while journald is behind,
/// and the callers (event loops, the sandbox watcher) must not wait for it. At most `capacity` entries
/// wait; beyond that new ones are dropped and counted, and the count is logged once there is room again.
public final class JournalWriter: Sendable {
    public typealias Entry = [(name: String, value: [UInt8])]
    private struct Queue {
        var entries: [Entry] = []
        var dropped = 0
    }
    private let queue = Mutex(Queue())
    private let ready = DispatchSemaphore(value: 0)
    public let capacity: Int
    private let deliver: @Sendable (Entry) -> Void

    public init(capacity: Int = 8192, deliver: @escaping @Sendable (Entry) -> Void = { Journal.send($0) }) {
        self.capacity = capacity
        self.deliver = deliver
        let thread = Thread { [self] in run() }
        thread.name = "hearth-journal"
        thread.start()
    }

    /// Queues an entry; never waits.
    public func send(_ entry: Entry) {
        let queued = queue.withLock { q -> Bool in
            guard q.entries.count < capacity else {
                q.dropped += 1
                return false
            }
            q.entries.append(entry)
            return true
        }
        if queued { ready.signal() }
    }

    private func run() {
        while true {
            ready.wait()
            let (batch, dropped) = queue.withLock { q -> ([Entry], Int) in
                defer {
                    q.entries = []
                    q.dropped = 0
                }
                return (q.entries, q.dropped)
            }
            for entry in batch { deliver(entry) }
            if dropped > 0 {
                deliver([("MESSAGE", Array("hearth: \(dropped) function log lines were not sent to the journal: it did not keep up (they are in the function logs)".utf8)),
                              ("PRIORITY", Array(String(Journal.warning).utf8)), ("SYSLOG_IDENTIFIER", Array("hearth".utf8))])
            }
        }
    }
}
