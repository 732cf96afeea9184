// hearth-fuzz: the fuzz targets of scripts/fuzz. Built normally, it replays inputs
// (`hearth-fuzz TARGET FILE...`, how the test suite runs the corpus and every crash
// ever found); built by scripts/fuzz with -sanitize=fuzzer and -DFUZZING, it is a
// libFuzzer binary for the target named by HEARTH_FUZZ_TARGET.
#if canImport(Glibc)
import Glibc
#endif
import CFuzzSupport
import Foundation
import HearthControlAPI
import HearthPackages
import HearthRuntimeAPI

enum Fuzz {
    /// Where file-based targets write their input and unpack it: tmpfs, one directory per process.
    static let scratch: String = {
        let base = (ProcessInfo.processInfo.environment["HEARTH_FUZZ_SCRATCH"] ?? "/dev/shm") + "/hearth-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        return base
    }()

    static let targets: [String: @Sendable ([UInt8]) -> Void] = [
        "zip": { PackageFuzzing.zip($0, scratch: scratch) },
        "image": { PackageFuzzing.image($0, scratch: scratch) },
        "runtime-api": { RuntimeAPIFuzzing.connection($0) },
        "control-api": { ControlAPIFuzzing.requests($0) },
    ]

    static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(status)
    }

    static func usage() -> Never {
        fail("usage: hearth-fuzz TARGET FILE...   (targets: \(targets.keys.sorted().joined(separator: ", ")))", status: 2)
    }
}

#if FUZZING
nonisolated(unsafe) var selected: @Sendable ([UInt8]) -> Void = { _ in }

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selected(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

guard let name = ProcessInfo.processInfo.environment["HEARTH_FUZZ_TARGET"], let target = Fuzz.targets[name] else { Fuzz.usage() }
selected = target
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
let status = LLVMFuzzerRunDriver(&argc, &argv) { fuzzOne($0, $1) }
try? FileManager.default.removeItem(atPath: Fuzz.scratch)
exit(status)
#else
let arguments = CommandLine.arguments.dropFirst()
guard let name = arguments.first, let target = Fuzz.targets[name] else { Fuzz.usage() }
for file in arguments.dropFirst() {
    guard let data = FileManager.default.contents(atPath: file) else { Fuzz.fail("hearth-fuzz: cannot read \(file)", status: 1) }
    target(Array(data))
    print("ok \(file)")
}
try? FileManager.default.removeItem(atPath: Fuzz.scratch)
#endif
