@testable import HearthRegistry
@testable import HearthSupervisor
import XCTest

/// A function's ranges, worded as Lambda's ValidationException names the field, the value and the bound.
final class FunctionSettingsTests: XCTestCase {
    func message(_ change: (inout FunctionSettings) -> Void) -> String? {
        var settings = FunctionSettings()
        change(&settings)
        do {
            try settings.validate()
            return nil
        } catch {
            XCTAssertEqual(error.status, 400)
            XCTAssertEqual(error.type, "ValidationException")
            return error.message
        }
    }

    func testEachRangeIsCheckedAtBothEnds() {
        XCTAssertNil(message { $0.memorySize = 128; $0.timeout = 900; $0.ephemeralStorage = 10_240 })
        XCTAssertEqual(message { $0.memorySize = 127 },
                       "1 validation error detected: Value '127' at 'memorySize' failed to satisfy constraint: Member must have value greater than or equal to 128")
        XCTAssertEqual(message { $0.memorySize = 10_241 },
                       "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240")
        XCTAssertEqual(message { $0.timeout = 0 },
                       "1 validation error detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have value greater than or equal to 1")
        XCTAssertEqual(message { $0.timeout = 901 },
                       "1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900")
        XCTAssertEqual(message { $0.ephemeralStorage = 511 },
                       "1 validation error detected: Value '511' at 'ephemeralStorage.size' failed to satisfy constraint: Member must have value between 512 and 10240")
    }
}
