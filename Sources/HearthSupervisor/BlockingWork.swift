import HearthModel
import HearthRegistry
import NIOPosix

/// Work that blocks on the disk or the CPU for long (imports, unpacking, hashing, synced database
/// writes) runs here: on two threads of its own, never on an event loop, Swift's cooperative pool or the
/// supervisor's actor, so invocations keep their latency while it runs. More than two at once wait.
public enum BlockingWork {
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws(ServiceError) -> T) async throws(ServiceError) -> T {
        do {
            return try await pool.runIfActive { () throws -> T in try body() }
        } catch let error as ServiceError {
            throw error
        } catch {
            throw .service("\(error)")
        }
    }
}
