import Foundation
import HearthModel
import HearthSandbox
import XCTest

/// Starting and tearing down sandboxes leaves the host exactly as it was.
final class SandboxLeakTests: XCTestCase {
    func testFiveHundredSandboxesLeaveNothingBehind() throws {
        let harness = try SandboxHarness.make()
        defer { harness.tearDown() }
        let before = try harness.settledResources()
        var failures = 0
        for i in 0..<500 {
            // Mix in every way a sandbox ends: success, failure, limit kill.
            let command: [String] = switch i % 5 {
            case 0: ["/bin/probe", "exit", "3"]
            case 1: ["/bin/sh", "-c", "sleep 100 & exit 0"]
            default: ["/bin/true"]
            }
            let result = try harness.run(command)
            if case .signaled = result.exit.status { failures += 1 }
        }
        let after = HostResources.take()
        XCTAssertEqual(failures, 0)
        XCTAssertEqual(after.mounts, before.mounts, "mounts")
        XCTAssertEqual(after.cgroups, before.cgroups, "cgroups")
        XCTAssertEqual(after.networkNamespaces, before.networkNamespaces, "network namespaces")
        XCTAssertEqual(after.openFds, before.openFds, "file descriptors of the test process")
        XCTAssertEqual(zombieChildren(), 0)
    }

    func testFailedStartsLeaveNothingBehind() throws {
        let harness = try SandboxHarness.make()
        defer { harness.tearDown() }
        let before = try harness.settledResources()
        for _ in 0..<20 {
            // A working directory that does not exist fails in the child after the cgroup is made.
            var spec = harness.spec(["/bin/true"])
            spec.workingDirectory = "/no/such/dir"
            XCTAssertThrowsError(try harness.start(spec)) { error in
                XCTAssertTrue("\(error)".contains("chdir"), "\(error)")
            }
            // A layer that does not exist fails at the overlay mount.
            spec = harness.spec(["/bin/true"])
            spec.layers = ["/nonexistent-layer"]
            XCTAssertThrowsError(try harness.start(spec)) { error in
                XCTAssertTrue("\(error)".contains("overlay"), "\(error)")
            }
        }
        XCTAssertEqual(HostResources.take(), before)
    }

    func testTheLeakCountSeesASandboxCgroupLeftBehind() throws {
        // The counts look below this process's own cgroups only: that must still be where Hearth's are.
        let harness = try SandboxHarness.make()
        defer { harness.tearDown() }
        let before = try harness.settledResources()
        let inventory = HostResources.Inventory.take()
        let id = SandboxIdentity.newID()
        let cgroup = try harness.engine.cgroups.createSandboxCgroup(id: id, limits: SandboxHarness.defaultLimits)
        let during = HostResources.take()
        XCTAssertEqual(during.cgroups - before.cgroups, cgroup.joinFiles.count, "one more directory in each hierarchy: \(cgroup.joinFiles)")
        let added = HostResources.Inventory.take().added(since: inventory)
        XCTAssertEqual(added.count, cgroup.joinFiles.count, "\(added)")
        XCTAssertTrue(added.allSatisfy { $0.hasSuffix("/" + id) }, "by name: \(added)")
        try cgroup.remove()
        XCTAssertEqual(HostResources.take(), before)
        XCTAssertEqual(HostResources.Inventory.take().added(since: inventory), [])
    }

    func testTheInventoryNamesAMountLeftBehindAndNotOneGone() throws {
        guard geteuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
        let point = NSTemporaryDirectory() + "hearth-inventory-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: point) }
        let before = HostResources.Inventory.take()
        XCTAssertEqual(mount("tmpfs", point, "tmpfs", 0, "size=1m"), 0, String(cString: strerror(errno)))
        let mounted = HostResources.Inventory.take()
        XCTAssertEqual(umount2(point, 0), 0)
        let added = mounted.added(since: before)
        XCTAssertEqual(added.count, 1, "\(added)")
        XCTAssertTrue(added.first?.contains(" \(point) ") ?? false, "\(added)")
        // A mount gone since (what a sweep of a dead process's leftovers does) is no leak.
        XCTAssertEqual(before.added(since: mounted), [])
        XCTAssertEqual(HostResources.Inventory.take().added(since: before), [])
    }

    func testPreparedSlotsGiveEachLiveSandboxItsOwnNamespaceAndLeaveNothing() throws {
        let before = HostResources.take()
        try {
            let h = try SandboxHarness.make(prepared: 3)
            defer { h.tearDown() }
            h.engine.slots?.waitUntilFull()
            // Five sandboxes alive at once: three from prepared slots, two made on the spot.
            var running: [(RunningSandbox, () -> (String, String))] = []
            for _ in 0..<5 { running.append(try h.start(h.spec(["/bin/sh", "-c", "/bin/probe netns; sleep 30"]))) }
            var namespaces: [String] = []
            for (sandbox, collect) in running {
                sandbox.kill()
                _ = sandbox.wait()
                let (out, _) = collect()
                try sandbox.destroy()
                let values = Dictionary(out.split(separator: "\n").compactMap { line -> (String, String)? in
                    guard let eq = line.firstIndex(of: "=") else { return nil }
                    return (String(line[..<eq]), String(line[line.index(after: eq)...]))
                }, uniquingKeysWith: { a, _ in a })
                namespaces.append(try XCTUnwrap(values["netns"], out))
                // ECONNREFUSED, not ENETUNREACH: loopback is up in prepared and fresh namespaces alike.
                XCTAssertEqual(values["connect"], "ECONNREFUSED")
            }
            XCTAssertEqual(Set(namespaces).count, 5, "two live sandboxes shared a network namespace: \(namespaces)")
            let hostNet = try XCTUnwrap(HostResources.link("/proc/self/ns/net"))
            XCTAssertFalse(namespaces.contains(hostNet))
            for _ in 0..<30 { _ = try h.run(["/bin/true"]) }
        }()
        XCTAssertEqual(HostResources.take(), before, "prepared slots left something behind")
    }
}
