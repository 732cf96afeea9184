import HearthSandbox
import XCTest

final class SeccompProfileTests: XCTestCase {
    func testNoForbiddenCallIsAllowed() {
        let profile = SeccompProfile.default
        let allowed = Set(profile.allowed + profile.conditional.map(\.name))
        let leaked = SeccompProfile.forbidden.filter(allowed.contains)
        XCTAssertEqual(leaked, [], "capability-gated or refused calls on the allow-list")
    }

    func testCloneIsOnlyAllowedWithoutNamespaceFlags() {
        let clone = SeccompProfile.default.conditional.filter { $0.name == "clone" }
        XCTAssertEqual(clone.count, 1)
        guard case .maskedEqual(0, let mask, 0)? = clone.first?.rule else { return XCTFail("clone must be a masked rule on arg 0") }
        for flag: UInt64 in [0x0002_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000, 0x0200_0000] {
            XCTAssertNotEqual(mask & flag, 0, "namespace flag \(String(flag, radix: 16)) not masked")
        }
        XCTAssertEqual(SeccompProfile.default.enosys, ["clone3"])
    }

    func testCompilesToABPFProgram() throws {
        let program = try SeccompCompiler.compile(.default)
        XCTAssertGreaterThan(program.instructionCount, 100)
        XCTAssertEqual(program.bytes.count % 8, 0)
        // The first instruction loads the architecture (offset 4 of seccomp_data): BPF_LD|BPF_W|BPF_ABS.
        XCTAssertEqual(program.bytes[0], 0x20)
        XCTAssertEqual(program.bytes[4], 4)
    }

    func testUnknownNamesAreSkippedNotFatal() throws {
        var profile = SeccompProfile.default
        profile.allowed.append("no_such_syscall_anywhere")
        XCTAssertNoThrow(try SeccompCompiler.compile(profile))
    }
}
