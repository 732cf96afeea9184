import Foundation
import HearthModel
@testable import HearthSandbox
import XCTest

/// Root overlays mounted once and shared by every sandbox with the same layers.
final class SharedRootTests: SandboxTestCase {
    private func mounts(under directory: String) -> [String] {
        let text = procFile("/proc/self/mounts")
        return text.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 2, fields[1].hasPrefix(directory + "/") else { return nil }
            return String(fields[1])
        }
    }

    private func device(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_dev) : nil
    }

    func testSandboxesWithTheSameLayersRunOnOneRootMount() throws {
        let h = try h()
        let roots = try XCTUnwrap(h.engine.sharedRoots)
        var running: [(RunningSandbox, () -> (String, String))] = []
        for _ in 0..<3 { running.append(try h.start(h.spec(["/bin/sleep", "30"]))) }
        defer {
            for (sandbox, collect) in running {
                sandbox.kill()
                _ = sandbox.wait()
                _ = collect()
                try? sandbox.destroy()
            }
        }
        let mounted = mounts(under: roots.directory)
        XCTAssertEqual(mounted.count, 1, "one overlay for three sandboxes: \(mounted)")
        let shared = try XCTUnwrap(mounted.first.flatMap(device))
        for (sandbox, _) in running {
            // The sandbox's "/" as the host sees it: the same superblock as the shared mount.
            XCTAssertEqual(device("/proc/\(sandbox.pid)/root/"), shared)
        }
        // Still read-only inside, as every root is.
        XCTAssertEqual(try h.run(["/bin/sh", "-c", "(echo x > /x) 2>/dev/null && echo wrote || echo refused"]).stdout, "refused\n")
    }

    func testTheLeastRecentlyUsedRootIsUnmountedBeyondCapacityAndAllAtRelease() throws {
        let h = try h()
        let runtime = try RuntimeDirectory(path: h.runtimeDirectory)
        let roots = try SharedRoots(runtime: runtime, capacity: 2)
        defer { roots.release() }
        let layers = ["a", "b", "c"].map { h.rootfs + "/../layer-" + $0 }
        for layer in layers { try FileManager.default.createDirectory(atPath: layer, withIntermediateDirectories: true) }
        defer { for layer in layers { try? FileManager.default.removeItem(atPath: layer) } }
        // Without an upper layer overlayfs wants two lower ones.
        let lowerdirs = layers.map { $0 + ":" + h.rootfs }
        func use(_ lowerdir: String) throws -> String {
            let path = try roots.acquire(lowerdir: lowerdir)
            roots.done(with: path)
            return path
        }
        let a = try use(lowerdirs[0])
        let b = try use(lowerdirs[1])
        XCTAssertEqual(try use(lowerdirs[0]), a, "a root is mounted once")
        let c = try use(lowerdirs[2])
        XCTAssertEqual(Set(mounts(under: roots.directory)), [a, c], "b was the least recently used")

        // A root whose start has not cloned yet stays, even as the least recently used.
        let pinned = try roots.acquire(lowerdir: lowerdirs[0])
        XCTAssertEqual(pinned, a)
        XCTAssertNotEqual(try use(lowerdirs[1]), b, "b was unmounted, so it is mounted anew")
        let latest = try use(lowerdirs[2])
        XCTAssertEqual(Set(mounts(under: roots.directory)), [pinned, latest], "the pinned root went: \(mounts(under: roots.directory))")
        roots.done(with: pinned)
        roots.release()
        XCTAssertEqual(mounts(under: roots.directory), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: roots.directory))
        XCTAssertThrowsError(try roots.acquire(lowerdir: lowerdirs[0]))
    }

    /// An overlay the kernel refuses is an error naming the layers, and leaves no mount point behind.
    func testARootThatCannotBeMountedIsAClearErrorAndLeavesNothing() throws {
        let h = try h()
        let roots = try SharedRoots(runtime: try RuntimeDirectory(path: h.runtimeDirectory))
        defer { roots.release() }
        let missing = h.rootfs + "/../no-such-layer:" + h.rootfs
        XCTAssertThrowsError(try roots.acquire(lowerdir: missing)) { error in
            XCTAssertTrue("\(error)".contains("overlay root of \(missing)"), "\(error)")
        }
        XCTAssertEqual(HostResources.entries(roots.directory), [], "the failed mount point was removed")
        let path = try roots.acquire(lowerdir: h.runtimeDirectory + "/skeleton:" + h.rootfs)
        roots.done(with: path)
        XCTAssertEqual(mounts(under: roots.directory), [path], "the next root mounts as usual")
    }

    func testRootsLeftByADeadProcessAreUnmountedByTheNextEngine() throws {
        let h = try h()
        let runtime = try RuntimeDirectory(path: h.runtimeDirectory)
        // A pid that is gone: a child that has exited and been reaped.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let stale = runtime.rootsDirectory + "/\(child.processIdentifier)-1"
        try FileManager.default.createDirectory(atPath: stale + "/0", withIntermediateDirectories: true)
        XCTAssertEqual(mount("overlay", stale + "/0", "overlay", MountPlan.MS_RDONLY, "lowerdir=" + runtime.skeleton + ":" + h.rootfs), 0)
        XCTAssertEqual(mounts(under: stale).count, 1)

        let roots = try SharedRoots(runtime: runtime)
        defer { roots.release() }
        XCTAssertEqual(mounts(under: stale), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        let live = try XCTUnwrap(h.engine.sharedRoots?.directory)
        XCTAssertTrue(FileManager.default.fileExists(atPath: live), "a live process's roots are not swept")
    }
}
