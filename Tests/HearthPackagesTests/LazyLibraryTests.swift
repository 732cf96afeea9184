#if canImport(Glibc)
import Glibc
#endif
import CLazyLibrary
import HearthPackages
import XCTest

/// Libraries opened on first use: a missing one is an error that names it, never a crash; a present
/// one gives its functions.
final class LazyLibraryTests: XCTestCase {
    /// A library description that lives as long as the test (the C side keeps pointers into it).
    private func library(_ soname: String) -> UnsafeMutablePointer<hearth_lazy_library> {
        let library = UnsafeMutablePointer<hearth_lazy_library>.allocate(capacity: 1)
        library.initialize(to: hearth_lazy_library())  // zeroed: PTHREAD_ONCE_INIT is 0
        library.pointee.soname = UnsafePointer(strdup(soname))
        addTeardownBlock {
            free(UnsafeMutableRawPointer(mutating: library.pointee.soname))
            library.deallocate()
        }
        return library
    }

    func testAMissingLibraryIsAnErrorThatNamesIt() throws {
        let missing = library("libhearth-missing.so.0")
        let error = try XCTUnwrap(hearth_lazy_library_error(missing).map { String(cString: $0) })
        XCTAssertTrue(error.hasPrefix("cannot load libhearth-missing.so.0: "), error)
        XCTAssertNil(hearth_lazy_library_symbol(missing, "anything", 0), "no symbol, and no end of the process")
        XCTAssertEqual(hearth_lazy_library_error(missing).map { String(cString: $0) }, error, "asked again, the same answer")
    }

    func testAPresentLibraryGivesItsFunctions() throws {
        let archive = library("libarchive.so.13")
        XCTAssertNil(hearth_lazy_library_error(archive))
        XCTAssertNotNil(hearth_lazy_library_symbol(archive, "archive_read_new", 1))
        XCTAssertNil(hearth_lazy_library_symbol(archive, "hearth_not_in_libarchive", 0))
        XCTAssertNoThrow(try ArchiveLibrary.check())
    }
}
