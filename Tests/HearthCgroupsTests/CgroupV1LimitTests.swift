@testable import HearthCgroups
import HearthModel
import Synchronization
import XCTest

/// The v1 memory controller's rule, kept by a fake: memory.limit_in_bytes may never exceed
/// memory.memsw.limit_in_bytes, at any step. Every write attempt is recorded.
private final class FakeV1Memory: CgroupFilesystem, @unchecked Sendable {
    private let state = Mutex((values: [String: Int64](), attempts: [String]()))
    static let unlimited = Int64(9_223_372_036_854_771_712)
    let dir = "/cg/memory/sb"

    init() {
        state.withLock {
            $0.values = [dir + "/memory.limit_in_bytes": Self.unlimited, dir + "/memory.memsw.limit_in_bytes": Self.unlimited,
                         dir + "/memory.swappiness": 60]
        }
    }

    var attempts: [String] { state.withLock { $0.attempts } }
    func value(_ file: String) -> Int64? { state.withLock { $0.values[dir + "/" + file] } }

    func read(_ path: String) -> String? { state.withLock { $0.values[path].map(String.init) } }
    func exists(_ path: String) -> Bool { state.withLock { $0.values[path] != nil } }
    func makeDirectory(_ path: String, mayExist: Bool) throws {}
    func removeDirectory(_ path: String, attempts: Int) throws {}

    func write(_ value: String, to path: String) throws {
        try state.withLock { s in
            let file = String(path.split(separator: "/").last ?? "")
            s.attempts.append(file)
            guard s.values[path] != nil, let v = Int64(value) else { throw HearthError.cgroup("no \(path)") }
            let limit = s.values[dir + "/memory.limit_in_bytes"] ?? 0, memsw = s.values[dir + "/memory.memsw.limit_in_bytes"] ?? 0
            if file == "memory.limit_in_bytes" && v > memsw { throw HearthError.cgroup("EINVAL writing \(path)") }
            if file == "memory.memsw.limit_in_bytes" && v < limit { throw HearthError.cgroup("EINVAL writing \(path)") }
            s.values[path] = v
        }
    }
}

final class CgroupV1LimitTests: XCTestCase {
    private func limits(_ mb: Int) -> ResourceLimits { ResourceLimits(memoryMB: mb, pids: 64, tmpSizeMB: 16) }

    /// The sandbox's first process joins through `tasks`: it moves only the writing thread (the process's
    /// only one), without the global lock a cgroup.procs write takes and waits an RCU grace period for.
    func testASandboxJoinsEachHierarchyThroughItsTasksFile() {
        let cgroup = SandboxCgroupV1(id: "sb", directories: ["/cg/memory/sb", "/cg/pids/sb"],
                                     byController: ["memory": "/cg/memory/sb", "pids": "/cg/pids/sb"], fs: FakeV1Memory())
        XCTAssertEqual(cgroup.joinFiles, ["/cg/memory/sb/tasks", "/cg/pids/sb/tasks"])
    }

    func testANewCgroupAndACutTakeTwoMemoryWritesAndARaiseStillSucceeds() throws {
        let fs = FakeV1Memory()
        let cgroup = SandboxCgroupV1(id: "sb", directories: [fs.dir], byController: ["memory": fs.dir], fs: fs)

        try cgroup.apply(limits(256))
        XCTAssertEqual(fs.attempts, ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.swappiness"])
        XCTAssertEqual(fs.value("memory.limit_in_bytes"), 256 << 20)
        XCTAssertEqual(fs.value("memory.memsw.limit_in_bytes"), 256 << 20)
        XCTAssertEqual(fs.value("memory.swappiness"), 0)

        var before = fs.attempts.count
        try cgroup.apply(limits(1024))
        XCTAssertEqual(Array(fs.attempts[before...]), ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.limit_in_bytes",
                                                       "memory.swappiness"], "a raise is refused memory-first, then made memsw-first")
        XCTAssertEqual(fs.value("memory.limit_in_bytes"), 1024 << 20)
        XCTAssertEqual(fs.value("memory.memsw.limit_in_bytes"), 1024 << 20)

        before = fs.attempts.count
        try cgroup.apply(limits(128))
        XCTAssertEqual(Array(fs.attempts[before...]), ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.swappiness"])
        XCTAssertEqual(fs.value("memory.limit_in_bytes"), 128 << 20)
        XCTAssertEqual(fs.value("memory.memsw.limit_in_bytes"), 128 << 20)
    }
}
