import Foundation
import HearthModel
import HearthSandbox
import XCTest

/// /tmp on a disk of its own, as the daemon gives every sandbox: Lambda's ephemeral storage is disk,
/// so what a function writes there is not held in its memory, and the disk's size is a hard limit.
final class EphemeralDiskTests: SandboxTestCase {
    override class func setUp() {
        setupError = nil
        do { harness = try SandboxHarness.make(disks: true) } catch { setupError = error }
    }

    /// Prints /tmp's mode, entry count and size in MiB, then writes `writeMB` to it and says how it went.
    static func fillScript(writeMB: Int) -> String {
        "echo mode=$(stat -c %a /tmp); echo entries=$(ls -A /tmp | wc -l); "
            + "echo size=$(df -m /tmp | tail -n 1 | awk '{print $2}'); "
            + "dd if=/dev/zero of=/tmp/fill bs=1M count=\(writeMB) 2>/tmp/dd.err; echo dd=$?; "
            + "echo error=$(grep -o 'No space left on device' /tmp/dd.err); echo written=$(stat -c %s /tmp/fill)"
    }

    func testA128MBSandboxWrites400MBToTmpBecauseTmpIsDiskNotMemory() throws {
        let result = try h().run(["/bin/sh", "-c", Self.fillScript(writeMB: 400)],
                                 limits: ResourceLimits(memoryMB: 128, timeoutSeconds: 60, pids: 64, tmpSizeMB: 512))
        XCTAssertEqual(result.exit.status, .exited(0), result.stderr)
        XCTAssertNil(result.exit.limit)
        XCTAssertEqual(result.values["mode"], "1777")
        XCTAssertEqual(result.values["entries"], "0", "a new /tmp is empty (no lost+found)")
        XCTAssertEqual(result.values["dd"], "0")
        XCTAssertEqual(result.values["written"], "\(400 * 1_048_576)")
        let size = try XCTUnwrap(result.values["size"].flatMap { Int($0) })
        XCTAssertTrue((512...530).contains(size), "a 512 MB /tmp is \(size) MiB")
    }

    func testTmpIsFullJustPastItsSize() throws {
        let result = try h().run(["/bin/sh", "-c", Self.fillScript(writeMB: 560)],
                                 limits: ResourceLimits(memoryMB: 128, timeoutSeconds: 60, pids: 64, tmpSizeMB: 520))
        XCTAssertEqual(result.exit.status, .exited(0), result.stderr)
        XCTAssertEqual(result.values["dd"], "1")
        XCTAssertEqual(result.values["error"], "No space left on device")
        let written = try XCTUnwrap(result.values["written"].flatMap { Int($0) })
        XCTAssertTrue((520 * 1_048_576...523 * 1_048_576).contains(written), "ENOSPC after \(written) bytes in a 520 MB /tmp")
    }

    func testAPreparedSandboxGetsItsFunctionsDiskWhenSpecialised() throws {
        let h = try h()
        let (held, collect) = try h.captured { stdio in
            try h.engine.prebuild(layers: [h.rootfs], limits: SandboxHarness.defaultLimits, stdio: stdio, networkNamespace: nil)
        }
        let script = Self.fillScript(writeMB: 300) + "; echo shm=$(df -m /dev/shm | tail -n 1 | awk '{print $2}')"
        let sandbox = try h.engine.specialise(held, as: h.spec(["/bin/sh", "-c", script],
                                                             limits: ResourceLimits(memoryMB: 128, timeoutSeconds: 60, pids: 64, tmpSizeMB: 600)))
        let exit = sandbox.wait()
        try sandbox.destroy()
        let (out, err) = collect()
        let result = SandboxHarness.Captured(exit: exit, stdout: out, stderr: err)
        XCTAssertEqual(result.exit.status, .exited(0), result.stderr)
        XCTAssertEqual(result.values["dd"], "0", "held with a 16 MB tmpfs, the function's 600 MB disk is over it")
        XCTAssertEqual(result.values["entries"], "0")
        let size = try XCTUnwrap(result.values["size"].flatMap { Int($0) })
        XCTAssertTrue((600...620).contains(size), "a 600 MB /tmp is \(size) MiB")
        XCTAssertEqual(result.values["shm"], "600", "/dev/shm stays the sandbox's tmpfs, sized as before")
    }

    /// A process forked while a size's formatted image is mounted (a sandbox being spawned, until it execs) holds
    /// that mount, so closing it does not unmount it then. Each disk is still a whole copy of the finished image:
    /// root 1777 and no lost+found. (Before, a disk could be copied from an image not yet written out, and a
    /// function could not create files in its /tmp.)
    func testDisksAreWholeWhileOtherProcessesHoldTheImagesMount() throws {
        let directory = try h().rootfs + "/../held-images"
        let disks = try EphemeralDisks(directory: directory, spares: 0)
        defer { disks.shutdown() }
        let holders = ForkedHolders()
        defer { holders.stop() }
        for size in 530..<536 {
            let disk = try disks.make(sizeMB: size)
            defer { close(disk) }
            let root = openat(disk, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            XCTAssertGreaterThanOrEqual(root, 0)
            defer { close(root) }
            var info = stat()
            XCTAssertEqual(fstat(root, &info), 0)
            XCTAssertEqual(String(info.st_mode & 0o7777, radix: 8), "1777", "the root of a \(size) MB disk")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd/\(root)"), [], "a \(size) MB disk")
        }
        XCTAssertGreaterThan(holders.stop(), 10, "processes forked while the disks were made")
    }

    /// More disks at once than the box has loop devices: the kernel adds devices, and they are removed
    /// again when the disks' owner shuts down, so the box keeps the devices it had.
    func testLoopDevicesMadeForDisksAreRemovedAtShutdown() throws {
        let devicesBefore = EphemeralDisks.loopDevices()
        let directory = try h().rootfs + "/../more-disks"
        let disks = try EphemeralDisks(directory: directory, spares: 0)
        let fds = try (0..<(devicesBefore.count + 2)).map { _ in try disks.make(sizeMB: 512) }
        XCTAssertGreaterThan(EphemeralDisks.loopDevices().count, devicesBefore.count)
        for fd in fds { close(fd) }
        // A device detaches itself a moment after its mount goes; until then the kernel refuses to remove it.
        XCTAssertTrue(eventually(within: 10) {
            disks.shutdown()
            return EphemeralDisks.loopDevices() == devicesBefore
        }, "\(EphemeralDisks.loopDevices().sorted()) vs \(devicesBefore.sorted())")
    }

    /// No spare disk is made while a start is in flight: made beside a cold start, one took a CPU of two
    /// and the kernel's mount locks from it. Once the start ends, the spares come back.
    func testSparesAreRefilledOnlyWhileNoStartIsInFlight() throws {
        let disks = try EphemeralDisks(directory: try h().rootfs + "/../paused-disks", spares: 2)
        defer { disks.shutdown() }
        disks.waitUntilReady()
        XCTAssertEqual(disks.readyCount(sizeMB: 512), 2)
        disks.startBegan()
        close(try disks.make(sizeMB: 512))
        usleep(300_000)  // ~100 disks' time
        XCTAssertEqual(disks.readyCount(sizeMB: 512), 1, "a spare was made while a start was in flight")
        disks.startEnded()
        disks.waitUntilReady()
        XCTAssertEqual(disks.readyCount(sizeMB: 512), 2)
    }

    /// A daemon killed before its shutdown cannot remove the devices it added: the next one on the same state
    /// directory finds them in the ledger and removes them, as it sweeps a dead daemon's sandboxes.
    func testTheNextDaemonRemovesTheLoopDevicesOfOneKilledBeforeItsShutdown() throws {
        let devicesBefore = EphemeralDisks.loopDevices()
        let directory = try h().rootfs + "/../killed-disks"
        let killed = try EphemeralDisks(directory: directory, spares: 0)
        for fd in try (0..<(devicesBefore.count + 2)).map({ _ in try killed.make(sizeMB: 512) }) { close(fd) }
        XCTAssertGreaterThan(EphemeralDisks.loopDevices().count, devicesBefore.count)
        XCTAssertTrue(eventually(within: 10) {
            _ = try? EphemeralDisks(directory: directory, spares: 0)
            return EphemeralDisks.loopDevices() == devicesBefore
        }, "\(EphemeralDisks.loopDevices().sorted()) vs \(devicesBefore.sorted())")
        withExtendedLifetime(killed) {}
    }

    /// After that sweep the kernel hands out the same numbers again when the next daemon needs devices: those
    /// are the next daemon's own and go at its shutdown (ServeAsyncCrashTests left two on the box).
    func testDevicesAddedAgainUnderASweptNumberAreRemovedAtShutdown() throws {
        let devicesBefore = EphemeralDisks.loopDevices(), attachedBefore = HostResources.attachedLoopDevices()
        let directory = try h().rootfs + "/../killed-disks-again"
        let killed = try EphemeralDisks(directory: directory, spares: 0)
        for fd in try (0..<(devicesBefore.count + 2)).map({ _ in try killed.make(sizeMB: 512) }) { close(fd) }
        XCTAssertGreaterThan(EphemeralDisks.loopDevices().count, devicesBefore.count)
        // Closed disks detach their devices a moment later: the sweep then finds them free.
        XCTAssertTrue(eventually(within: 10) { HostResources.attachedLoopDevices() == attachedBefore })
        let next = try EphemeralDisks(directory: directory, spares: 0)
        let held = try (0..<(devicesBefore.count + 2)).map { _ in try next.make(sizeMB: 512) }
        XCTAssertGreaterThan(EphemeralDisks.loopDevices().count, devicesBefore.count, "the next daemon needed devices of its own")
        for fd in held { close(fd) }
        XCTAssertTrue(eventually(within: 10) {
            next.shutdown()
            return EphemeralDisks.loopDevices() == devicesBefore
        }, "\(EphemeralDisks.loopDevices().sorted()) vs \(devicesBefore.sorted())")
        withExtendedLifetime(killed) {}
    }

    /// The disk's file has no name and its loop device clears itself: a sandbox that ends, one killed while
    /// writing, and a disk made and never attached leave no loop device, mount or file behind.
    func testDisksLeaveNothingBehind() throws {
        let h = try h()
        let disks = try XCTUnwrap(h.engine.ephemeralDisks)
        // The formatted images of these sizes stay open for the engine's life: made before counting.
        // So are the spare disks of each size kept ready: counted once they are all made.
        for size in [2048, 700] { close(try disks.make(sizeMB: size)) }
        _ = try h.settledResources()
        disks.waitUntilReady()
        let before = HostResources.take()
        let attachedBefore = HostResources.attachedLoopDevices()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disks.directory).filter { $0 != EphemeralDisks.ledger }, [], "no file of a disk")
        let (writer, collect) = try h.start(h.spec(["/bin/sh", "-c", "dd if=/dev/zero of=/tmp/f bs=1M count=100000"],
                                                   limits: ResourceLimits(memoryMB: 128, timeoutSeconds: 60, pids: 64, tmpSizeMB: 2048)))
        XCTAssertTrue(eventually(within: 10) { HostResources.attachedLoopDevices() > attachedBefore }, "the writer's disk and its replacement")
        usleep(300_000)
        writer.kill()
        _ = writer.wait()
        try writer.destroy()
        _ = collect()
        close(try disks.make(sizeMB: 700))
        // Devices the kernel added while the writer held one more stay until the engine shuts down (the next
        // test checks that): here, every disk is detached again and nothing else is left.
        XCTAssertTrue(eventually(within: 10) {
            disks.waitUntilReady()
            var now = HostResources.take()
            now.loopDevices = before.loopDevices
            return now == before && HostResources.attachedLoopDevices() == attachedBefore
        }, "\(HostResources.take()) vs \(before)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: disks.directory).filter { $0 != EphemeralDisks.ledger }, [], "no file of a disk")
    }
}

/// Forks, again and again, children that only sleep for 50 ms and exit: each holds a copy of the process's
/// files, as a child between clone and exec does.
private final class ForkedHolders: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private var forked = 0
    private let done = DispatchSemaphore(value: 0)

    init() {
        Thread { [self] in
            var children: [pid_t] = []
            while !lock.withLock({ stopped }) {
                let pid = fork()
                if pid == 0 {
                    var pause = timespec(tv_sec: 0, tv_nsec: 50_000_000)
                    nanosleep(&pause, nil)
                    _exit(0)
                }
                if pid > 0 {
                    children.append(pid)
                    lock.withLock { forked += 1 }
                }
                if children.count >= 32 || pid < 0 {
                    var status: Int32 = 0
                    waitpid(children.removeFirst(), &status, 0)
                }
            }
            for child in children {
                var status: Int32 = 0
                waitpid(child, &status, 0)
            }
            done.signal()
        }.start()
    }

    /// Stops forking, reaps every child, and says how many there were (once; later calls just answer).
    @discardableResult
    func stop() -> Int {
        let wasStopped = lock.withLock { () -> Bool in
            let was = stopped
            stopped = true
            return was
        }
        if !wasStopped { done.wait() }
        return lock.withLock { forked }
    }
}
