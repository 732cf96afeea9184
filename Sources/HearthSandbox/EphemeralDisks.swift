#if canImport(Glibc)
import Glibc
#endif
import CSandboxInit
import CSyscalls
import Foundation
import HearthModel
import Synchronization

/// Lambda's /tmp is disk, not memory. Each sandbox gets an ext4 filesystem of its own, as large as its
/// ephemeral storage, on a loop device over a sparse file in `directory`. The file has no name (O_TMPFILE)
/// and the loop device clears itself once unmounted, so the kernel frees both when the sandbox's mount
/// namespace ends, however the daemon ends: nothing needs removing. What a function writes to /tmp is page
/// cache charged to its memory cgroup, but reclaimable, so a 128 MB function can write 400 MB.
///
/// Making a disk takes ~3 ms (the loop device's set-up and the ext4 mount, about half each), as long as
/// the rest of a cold start: `spares` disks of each size recently asked for are made ahead on a thread
/// of the pool's own, as `SandboxSlotPool` does for cgroups, and only while no start is in flight: made
/// beside one, a disk took a CPU of two and the kernel's mount locks from it.
public final class EphemeralDisks: PausedDuringStarts, @unchecked Sendable {
    public let directory: String
    private let directoryFD: Int32
    private let mkfs: String
    /// One formatted image per size, copied into each new disk: mkfs runs once per size, not per sandbox.
    private let templates = Mutex<[Int: Template]>([:])
    /// Ready disks per size, and the sizes kept ready, most recently asked for last.
    private let condition = NSCondition()
    private var ready: [Int: [Int32]] = [:]
    private var sizes: [Int] = []
    private var stopped = false
    private var refilling = false
    private var startsInFlight = 0
    /// Loop devices this process made (LOOP_CTL_GET_FREE adds one when none is free), removed at
    /// `shutdown` so that a thousand sandboxes do not leave a thousand idle devices on the box.
    private let devicesMade = Mutex<Set<Int32>>([])
    private let devicesBefore: Set<Int32>
    public let spares: Int
    /// How many sizes are kept ready at once (each costs `spares` mounted disks).
    static let sizesKept = 4

    private struct Template: Sendable {
        let fd: Int32
        let bytes: Int64
        /// (offset, length) of the parts mkfs wrote; the rest is holes.
        let extents: [(offset: Int64, length: Int64)]
    }

    /// Where `mkfs.ext4` is looked for, besides PATH (root's PATH may lack the sbin directories).
    static let mkfsDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]

    /// Makes `directory` (on disk: the disks' blocks live there), removes templates a dead daemon left in
    /// it, and proves the host can do this (a loop device, ext4, `mkfs.ext4`) by making one disk.
    public init(directory: String, spares: Int = 2) throws {
        self.directory = directory
        self.spares = spares
        // The devices a daemon killed before its shutdown added: removed now, as its sandboxes were. Only
        // then are the box's devices counted: one the kernel adds again under a swept number is this daemon's.
        let left = Set(((try? String(contentsOfFile: directory + "/" + Self.ledger, encoding: .utf8)) ?? "")
            .split(separator: "\n").compactMap { Int32($0) }.filter { $0 >= 0 })
        let swept = Self.remove(left.sorted())
        devicesMade.withLock { $0 = left.subtracting(swept) }
        devicesBefore = Self.loopDevices()
        guard let mkfs = Self.findMkfs() else {
            throw HearthError.system("ephemeral storage on disk needs mkfs.ext4 (Debian: e2fsprogs), which is not installed")
        }
        self.mkfs = mkfs
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw HearthError.system("cannot make \(directory): \(String(cString: strerror(errno)))")
        }
        directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else { throw HearthError.system("cannot open \(directory): \(String(cString: strerror(errno)))") }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix("template-") {
            unlinkat(directoryFD, name, 0)
        }
        writeLedger()
        // Every property is set by now: if this throws, deinit runs and closes what is open (once).
        close(try makeDisk(sizeMB: LambdaLimits.ephemeralStorageMB.lowerBound))
        if spares > 0 {
            sizes = [LambdaLimits.ephemeralStorageMB.lowerBound]
            Thread.startNamed("hearth-tmpdisks") { [weak self] in self?.refillLoop() }
        }
    }

    deinit {
        shutdown()
        for template in templates.withLock({ $0.values }) { close(template.fd) }
        close(directoryFD)
    }

    /// Stops making disks ahead and frees the ready ones; waits for one being made.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while refilling { condition.wait() }
        let unused = ready.values.flatMap { $0 }
        ready = [:]
        condition.unlock()
        for fd in unused { close(fd) }
        removeDevicesMade()
    }

    /// Removes the loop devices this process added. Each removal waits ~40 ms in the kernel (mostly for RCU
    /// grace periods, which overlap): one by one, a thousand took 40 s; from 32 threads at once, 1.4 s.
    /// One still attached (a sandbox not yet gone) is refused by the kernel and left for later reuse.
    private func removeDevicesMade() {
        // A sandbox destroyed just before detaches its device a moment later: refused ones are tried again.
        let deadline = monotonicSeconds() + Self.removalSeconds
        while !devicesMade.withLock({ $0.isEmpty }) {
            removeOnce()
            if devicesMade.withLock({ $0.isEmpty }) || monotonicSeconds() > deadline { break }
            usleep(50_000)
        }
        writeLedger()
    }

    /// The loop devices this daemon added, one number per line, for the next daemon to remove if this one
    /// is killed before it can.
    public static let ledger = "loop-devices"

    private func recordInLedger(_ number: Int32) {
        let fd = openat(directoryFD, Self.ledger, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let line = Array("\(number)\n".utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    private func writeLedger() {
        let left = devicesMade.withLock { $0 }.sorted()
        guard !left.isEmpty else { unlinkat(directoryFD, Self.ledger, 0); return }
        try? left.map { "\($0)\n" }.joined().write(toFile: directory + "/" + Self.ledger, atomically: true, encoding: .utf8)
    }

    private func removeOnce() {
        let gone = Self.remove(devicesMade.withLock { $0 }.sorted())
        devicesMade.withLock { $0.subtract(gone) }
    }

    /// Removes free loop devices from `removalThreads` threads at once; the numbers removed.
    private static func remove(_ numbers: [Int32]) -> Set<Int32> {
        guard !numbers.isEmpty else { return [] }
        let workers = min(Self.removalThreads, numbers.count)
        let removed = RemovedDevices()
        let done = DispatchGroup()
        for worker in 0..<workers {
            done.enter()
            Thread {
                for number in stride(from: worker, to: numbers.count, by: workers).map({ numbers[$0] }) where hearth_loop_remove(number) == 0 {
                    removed.add(number)
                }
                done.leave()
            }.start()
        }
        done.wait()
        return Set(removed.all)
    }

    private final class RemovedDevices: @unchecked Sendable {
        private let lock = NSLock()
        private var numbers: [Int32] = []
        func add(_ number: Int32) { lock.withLock { numbers.append(number) } }
        var all: [Int32] { lock.withLock { numbers } }
    }

    static let removalThreads = 32
    static let removalSeconds = 5.0

    /// The loop devices on the box, attached or not.
    public static func loopDevices() -> Set<Int32> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? []).compactMap { name in
            name.hasPrefix("loop") ? Int32(name.dropFirst(4)) : nil
        })
    }

    /// A start is in flight (until its runtime is ready): no disk is made ahead until it ends.
    public func startBegan() {
        condition.lock()
        startsInFlight += 1
        condition.unlock()
    }

    public func startEnded() {
        condition.lock()
        startsInFlight -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Ready disks of `sizeMB`.
    public func readyCount(sizeMB: Int) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return ready[sizeMB]?.count ?? 0
    }

    /// Blocks until every size kept ready has its spares (tests and benchmarks that count what is held).
    public func waitUntilReady() {
        condition.lock()
        while !stopped && spares > 0 && sizes.contains(where: { (ready[$0]?.count ?? 0) < spares }) { condition.wait() }
        condition.unlock()
    }

    /// A new empty filesystem of at least `sizeMB` MiB free, mounted detached (nosuid, nodev) with mode
    /// 1777 at its root; the caller attaches it and closes the fd. Closing it unattached frees everything.
    public func make(sizeMB: Int) throws -> Int32 {
        guard ResourceLimits.tmpSizeRange.contains(sizeMB) else {
            throw HearthError.invalidLimit("ephemeral storage must be between \(ResourceLimits.tmpSizeRange.lowerBound) and \(ResourceLimits.tmpSizeRange.upperBound) MB, got \(sizeMB)")
        }
        condition.lock()
        var taken: Int32?
        var unused: [Int32] = []
        if spares > 0 && !stopped {
            taken = ready[sizeMB]?.popLast()
            sizes.removeAll { $0 == sizeMB }
            sizes.append(sizeMB)
            for dropped in sizes.dropLast(Self.sizesKept) { unused += ready.removeValue(forKey: dropped) ?? [] }
            sizes = Array(sizes.suffix(Self.sizesKept))
            condition.broadcast()
        }
        condition.unlock()
        for fd in unused { close(fd) }
        return try taken ?? makeDisk(sizeMB: sizeMB)
    }

    private func refillLoop() {
        while true {
            condition.lock()
            var wanted: Int?
            while !stopped {
                if startsInFlight == 0 {
                    wanted = sizes.last { (ready[$0]?.count ?? 0) < spares }
                    if wanted != nil { break }
                }
                condition.wait()
            }
            guard !stopped, let size = wanted else {
                condition.unlock()
                return
            }
            refilling = true
            condition.unlock()

            let disk = try? makeDisk(sizeMB: size)

            condition.lock()
            refilling = false
            if let disk {
                if stopped || !sizes.contains(size) { close(disk) } else { ready[size, default: []].append(disk) }
            }
            condition.broadcast()
            condition.unlock()
            // Could not make one: sandboxes make their own from now on (and say why).
            if disk == nil { return }
        }
    }

    private func makeDisk(sizeMB: Int) throws -> Int32 {
        let template = try templates.withLock { known in
            if let t = known[sizeMB] { return t }
            let t = try makeTemplate(sizeMB: sizeMB)
            known[sizeMB] = t
            return t
        }
        let file = openat(directoryFD, ".", hearth_o_tmpfile() | O_RDWR | O_CLOEXEC, 0o600)
        guard file >= 0 else { throw Self.failure("make its file in \(directory)") }
        defer { close(file) }
        guard ftruncate(file, off_t(template.bytes)) == 0 else { throw Self.failure("size its file") }
        for extent in template.extents where hearth_copy_range(template.fd, file, extent.offset, extent.length) != 0 {
            throw Self.failure("copy the formatted image")
        }
        return try mount(file)
    }

    /// The file on a loop device of its own, mounted detached; the loop device's fd is not kept (the mount holds it).
    private func mount(_ file: Int32) throws -> Int32 {
        var number: Int32 = -1
        let device = hearth_loop_attach(file, &number)
        guard device >= 0 else { throw Self.failure("attach a loop device") }
        if !devicesBefore.contains(number), devicesMade.withLock({ $0.insert(number).inserted }) { recordInLedger(number) }
        defer { close(device) }
        let mount = hearth_detached_ext4("/dev/loop\(number)")
        guard mount >= 0 else { throw Self.failure("mount /dev/loop\(number)") }
        return mount
    }

    /// Formats an image with at least `sizeMB` MiB free (ext4's own tables come on top), with an empty
    /// root of mode 1777 as /tmp has, and keeps it open with no name.
    private func makeTemplate(sizeMB: Int) throws -> Template {
        let wanted = Int64(sizeMB) * 1_048_576
        let name = "template-\(sizeMB)-\(getpid()).img"
        let file = openat(directoryFD, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard file >= 0 else { throw Self.failure("make \(directory)/\(name)") }
        defer { unlinkat(directoryFD, name, 0) }
        do {
            var bytes = wanted
            for _ in 0..<3 {
                guard ftruncate(file, off_t(bytes)) == 0 else { throw Self.failure("size \(name)") }
                try format(directory + "/" + name)
                let mount = try self.mount(file)
                defer { close(mount) }
                var fs = statvfs()
                guard fstatvfs(mount, &fs) == 0 else { throw Self.failure("measure \(name)") }
                let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
                if free < wanted {
                    try Self.writeOut(mount, name)
                    // ext4's tables grow with its size: ask for what was missing, and a little more, again.
                    bytes += (wanted - free + 1_048_576 + 4095) / 4096 * 4096
                    continue
                }
                // The mount's fd is a path only: chmod goes through the root opened from it.
                let root = openat(mount, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                defer { if root >= 0 { close(root) } }
                guard root >= 0, unlinkat(root, "lost+found", AT_REMOVEDIR) == 0, fchmod(root, 0o1777) == 0 else {
                    throw Self.failure("empty the new filesystem's root")
                }
                try Self.writeOut(mount, name)
                return Template(fd: file, bytes: bytes, extents: try Self.extents(of: file, size: bytes))
            }
            throw HearthError.system("ephemeral storage: mkfs.ext4 did not give \(sizeMB) MB free in three tries")
        } catch {
            close(file)
            throw error
        }
    }

    /// Makes the image's filesystem read-only, which writes it out to the file now. Closing the mount is not
    /// enough: a process forked meanwhile (a sandbox until it execs, mkfs) holds the mount, and the kernel would
    /// write the filesystem out only when that copy goes, after the image was copied, or over the next mkfs.
    private static func writeOut(_ mount: Int32, _ name: String) throws {
        guard hearth_superblock_readonly(mount) == 0 else { throw failure("write out \(name)") }
    }

    private func format(_ path: String) throws {
        // No journal (nothing survives the sandbox anyway), no reserved blocks, inode tables left for the kernel
        // to treat as unused rather than zeroed here, nothing discarded on a new sparse file.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mkfs)
        process.arguments = ["-q", "-F", "-b", "4096", "-m", "0", "-O", "^has_journal", "-E", "lazy_itable_init=1,nodiscard", path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw HearthError.system("ephemeral storage: \(mkfs) failed (\(process.terminationStatus)): \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    private static func extents(of file: Int32, size: Int64) throws -> [(offset: Int64, length: Int64)] {
        var result: [(offset: Int64, length: Int64)] = []
        var at: Int64 = 0
        while at < size {
            let data = lseek(file, off_t(at), hearth_seek_data())
            if data < 0 {
                if errno == ENXIO { break }
                throw failure("read the formatted image's layout")
            }
            let hole = lseek(file, data, hearth_seek_hole())
            guard hole >= 0 else { throw failure("read the formatted image's layout") }
            result.append((Int64(data), Int64(hole - data)))
            at = Int64(hole)
        }
        return result
    }

    private static func findMkfs() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"].map { $0.split(separator: ":").map(String.init) } ?? []
        return (path + mkfsDirectories).map { $0 + "/mkfs.ext4" }.first { access($0, X_OK) == 0 }
    }

    private static func failure(_ what: String) -> HearthError {
        HearthError.system("ephemeral storage: cannot \(what): \(String(cString: strerror(errno)))")
    }
}
