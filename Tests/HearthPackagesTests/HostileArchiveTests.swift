import Foundation
@testable import HearthPackages
import XCTest

/// Every case of the packaging checklist (security.md §7 C): the error names what
/// was wrong, and nothing outside the target changes.
final class HostileArchiveTests: XCTestCase {
    var fixtures = ""
    var scratch: Scratch!

    override class func tearDown() {
        Fixtures.removeAll()
        super.tearDown()
    }

    override func setUpWithError() throws {
        fixtures = try Fixtures.generated(by: "make_hostile.py")
        scratch = try Scratch()
    }

    override func tearDown() { scratch = nil }

    let small = ExtractionLimits(maxArchiveBytes: 32 << 20, maxTotalBytes: 16 << 20, maxFileBytes: 16 << 20, maxEntries: 1000)

    @discardableResult
    func extract(_ name: String, _ mode: SafeExtractor.Mode, limits: ExtractionLimits? = nil) throws -> SafeExtractor.Result {
        let limits = limits ?? small
        if mode == .zip { try ZipCentralDirectory.check(path: fixtures + "/" + name, displayName: name, limits: limits) }
        return try SafeExtractor(mode: mode, limits: limits).extract(archive: fixtures + "/" + name, displayName: name, into: scratch.target)
    }

    func assertRefused(_ name: String, _ mode: SafeExtractor.Mode, limits: ExtractionLimits? = nil, mentions fragments: [String],
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNoThrow(try scratch.resetTarget())
        let before = scratch.outsideSnapshot()
        XCTAssertThrowsError(try extract(name, mode, limits: limits), name, file: file, line: line) { error in
            let text = "\(error)"
            for fragment in fragments {
                XCTAssertTrue(text.contains(fragment), "\(name): '\(text)' should mention '\(fragment)'", file: file, line: line)
            }
        }
        XCTAssertEqual(scratch.outsideSnapshot(), before, "\(name) changed something outside the target", file: file, line: line)
    }

    // 65-67: names
    func testTraversalIsRefused() {
        assertRefused("zip-traversal.zip", .zip, mentions: ["../../etc/cron.d/x", "'..'"])
        assertRefused("zip-canary-traversal.zip", .zip, mentions: ["../canary/pwned", "'..'"])
    }
    func testAbsolutePathIsRefused() { assertRefused("zip-absolute.zip", .zip, mentions: ["/etc/passwd", "absolute"]) }
    // libarchive turns Windows separators into '/', so these arrive as "C:/x" and "../../x".
    func testDriveLetterIsRefused() { assertRefused("zip-drive-letter.zip", .zip, mentions: ["C:/x", "drive letter"]) }
    func testBackslashTraversalIsRefused() { assertRefused("zip-backslash-traversal.zip", .zip, mentions: ["../../x", "'..'"]) }
    func testDotAndDotDotNamesAreRefused() {
        assertRefused("zip-dot.zip", .zip, mentions: ["'.'"])
        assertRefused("zip-dotdot.zip", .zip, mentions: ["'..'"])
    }
    func testEmptyComponentIsRefused() { assertRefused("zip-double-slash.zip", .zip, mentions: ["a//b", "'//'"]) }
    func testInvalidUTF8IsRefused() { assertRefused("zip-bad-utf8.zip", .zip, mentions: ["UTF-8"]) }
    func testOverlongNameIsRefused() { assertRefused("zip-long-name.zip", .zip, mentions: ["longer than 4096"]) }
    func testTooDeepIsRefused() { assertRefused("zip-deep.zip", .zip, mentions: ["deeper than 128"]) }

    // 68-70: symlinks
    func testWriteThroughSymlinkIsRefused() {
        assertRefused("zip-symlink-then-write.zip", .zip, mentions: ["a/passwd", "not a directory"])
        assertRefused("tar-symlink-absolute-then-write.tar", .layer, mentions: ["a/passwd", "not a directory"])
        assertRefused("tar-symlink-up-then-write.tar", .layer, mentions: ["a/x"])
        assertRefused("tar-symlink-to-canary.tar", .layer, mentions: ["c/pwned"])
    }
    func testSymlinkNamedDotDotOrDotOrEmptyIsRefused() {
        assertRefused("tar-symlink-named-dotdot.tar", .layer, mentions: ["'..'"])
        assertRefused("tar-symlink-named-dot.tar", .layer, mentions: ["'.'"])
        assertRefused("tar-symlink-empty-name.tar", .layer, mentions: ["empty name"])
    }
    func testTypeChangeOfAnExtractedPathIsRefused() {
        assertRefused("tar-dir-then-symlink-same-name.tar", .layer, mentions: ["'d'", "duplicate"])
        // 75: a later directory entry never chmods through the symlink.
        assertRefused("tar-symlink-then-dir-same-name.tar", .layer, mentions: ["'d/'", "duplicate"])
    }

    // 71: hardlinks
    func testHardlinksOutsideOrToSymlinksAreRefused() {
        assertRefused("tar-hardlink-absolute.tar", .layer, mentions: ["/etc/shadow"])
        assertRefused("tar-hardlink-outside.tar", .layer, mentions: ["'..'"])
        assertRefused("tar-hardlink-to-symlink.tar", .layer, mentions: ["'h'", "not a regular file"])
    }
    func testHardlinkToAnExtractedFileWorks() throws {
        try extract("tar-hardlink-ok.tar", .layer)
        var a = stat(), b = stat()
        XCTAssertEqual(lstat(scratch.target + "/f", &a), 0)
        XCTAssertEqual(lstat(scratch.target + "/g", &b), 0)
        XCTAssertEqual(a.st_ino, b.st_ino)
        XCTAssertEqual(a.st_nlink, 2)
    }

    // 72: special files
    func testDevicesAndFIFOsAreRefused() {
        assertRefused("tar-chardev.tar", .layer, mentions: ["dev/sda", "character device"])
        assertRefused("tar-blockdev.tar", .layer, mentions: ["dev/sdb", "block device"])
        assertRefused("tar-fifo.tar", .layer, mentions: ["pipe", "FIFO"])
    }

    // 73-74: modes, owners, xattrs
    func testSetuidAndWriteBitsAreClearedOwnersIgnoredEverythingReadable() throws {
        try extract("tar-modes.tar", .layer)
        func mode(_ p: String) -> mode_t { var st = stat(); lstat(scratch.target + "/" + p, &st); return st.st_mode & 0o7777 }
        func owner(_ p: String) -> uid_t { var st = stat(); lstat(scratch.target + "/" + p, &st); return st.st_uid }
        XCTAssertEqual(mode("bin/su"), 0o755, "setuid and group/other write stripped")
        XCTAssertEqual(mode("bin/plain"), 0o644)
        XCTAssertEqual(mode("secret"), 0o644, "world-readable, as Lambda makes packages")
        XCTAssertEqual(mode("bin"), 0o755)
        XCTAssertEqual(owner("bin/plain"), geteuid(), "the archive's uid 1234 is ignored")
    }
    func testModificationTimesAreKept() throws {
        // Python trusts a .pyc only when its source's mtime matches what the .pyc recorded.
        try extract("tar-modes.tar", .layer)
        var st = stat()
        XCTAssertEqual(lstat(scratch.target + "/bin/plain", &st), 0)
        XCTAssertEqual(st.st_mtim.tv_sec, 1_600_000_000)
        XCTAssertEqual(lstat(scratch.target + "/bin", &st), 0)
        XCTAssertEqual(st.st_mtim.tv_sec, 1_600_000_000, "directory times are set after their contents")
    }

    func testXattrsAreDropped() throws {
        try extract("tar-xattrs.tar", .layer)
        var out = ""
        let status = try Fixtures.run("/usr/bin/env", ["python3", "-c", "import os,sys; print(os.listxattr(sys.argv[1]))", scratch.target + "/bin/ping"], output: &out)
        XCTAssertEqual(status, 0)
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "[]")
    }

    // 76-80: bombs and counts
    func testTotalSizeIsCappedByActualBytes() {
        let tiny = ExtractionLimits(maxArchiveBytes: 32 << 20, maxTotalBytes: 1 << 20, maxFileBytes: 16 << 20, maxEntries: 1000)
        assertRefused("zip-big.zip", .zip, limits: tiny, mentions: ["expands beyond 1048576"])
        let perFile = ExtractionLimits(maxArchiveBytes: 32 << 20, maxTotalBytes: 16 << 20, maxFileBytes: 1 << 20, maxEntries: 1000)
        assertRefused("zip-big.zip", .zip, limits: perFile, mentions: ["'zeros' expands beyond"])
    }
    func testOverlappingEntriesAreRefusedBeforeDecompressing() {
        assertRefused("zip-overlap.zip", .zip, mentions: ["overlaps", "zip bomb"])
    }
    func testNestedZipIsNotExpanded() throws {
        let result = try extract("zip-nested.zip", .zip)
        XCTAssertEqual(result.entries, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.target + "/inner.zip"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.target + "/inner.txt"))
    }
    func testGzipBombIsAbortedAtTheCap() {
        assertRefused("tar-gzip-bomb.tar.gz", .layer, mentions: ["expands beyond"])
    }
    func testEntryCountIsCapped() {
        let started = Date()
        assertRefused("zip-many-entries.zip", .zip, mentions: ["2000 entries", "1000"])
        assertRefused("tar-many-entries.tar", .layer, mentions: ["more than 1000 entries"])
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }
    func testZip64EntryCountIsReadFromTheZip64Record() throws {
        var limits = small
        limits.maxEntries = 66_000
        assertRefused("zip64-many-entries.zip", .zip, limits: limits, mentions: ["70000 entries; the limit is 66000"])
        limits.maxEntries = 100_000
        XCTAssertNoThrow(try ZipCentralDirectory.check(path: fixtures + "/zip64-many-entries.zip", displayName: "zip64", limits: limits),
                         "70,000 entries with zip64 offsets and counts parse cleanly")
    }

    func testArchiveSizeIsCapped() {
        let tiny = ExtractionLimits(maxArchiveBytes: 1000, maxTotalBytes: 1 << 20, maxFileBytes: 1 << 20, maxEntries: 10)
        assertRefused("zip-big.zip", .zip, limits: tiny, mentions: ["zip-big.zip", "1000"])
    }

    // 81: corrupt input
    func testTruncatedAndCorruptArchivesGetACleanError() {
        assertRefused("zip-truncated.zip", .zip, mentions: ["zip-truncated.zip"])
        assertRefused("zip-bad-central-directory.zip", .zip, mentions: ["zip-bad-central-directory.zip"])
        assertRefused("zip-not-a-zip.zip", .zip, mentions: ["zip-not-a-zip.zip"])
        assertRefused("tar-bad-checksum.tar", .layer, mentions: ["tar-bad-checksum.tar"])
        assertRefused("tar-truncated.tar", .layer, mentions: ["tar-truncated.tar"])
    }

    /// Sizes and offsets near 2^63 and 2^64 each once trapped in unchecked arithmetic (a crash of the daemon
    /// through CreateFunction); now each is a clean error that names the archive.
    func testCentralDirectoryValuesThatWouldOverflowAreRefused() {
        assertRefused("zip64-locator-beyond-int64.zip", .zip, mentions: ["zip64-locator-beyond-int64.zip", "outside the file"])
        assertRefused("zip64-directory-wraps.zip", .zip, mentions: ["zip64-directory-wraps.zip", "outside the file"])
        assertRefused("zip64-entry-wraps.zip", .zip, mentions: ["'a'", "central directory"])
        assertRefused("zip64-entries-wrap.zip", .zip, mentions: ["'b'", "overlaps"])
        assertRefused("zip-extra-overrun.zip", .zip, mentions: ["zip-extra-overrun.zip", "extra field"])
    }

    /// libarchive reads names as C strings: "evil.txt\0payload" would have been unpacked as "evil.txt".
    func testNULInsideANameIsRefused() {
        assertRefused("zip-nul-name.zip", .zip, mentions: ["evil.txt\\0payload", "NUL"])
    }

    // 82: duplicates
    func testDuplicatesAreRefused() {
        assertRefused("zip-duplicate.zip", .zip, mentions: ["a.txt", "duplicate"])
        assertRefused("zip-case-duplicate.zip", .zip, mentions: ["README.txt", "only in case"])
        assertRefused("tar-duplicate.tar", .layer, mentions: ["'a'", "duplicate"])
    }

    // 83-84: whiteouts
    func testInvalidWhiteoutsAreRefused() {
        assertRefused("layer-whiteout-dotdot.tar", .layer, mentions: ["invalid whiteout"])
        assertRefused("layer-whiteout-dotdotdot.tar", .layer, mentions: ["invalid whiteout"])
        assertRefused("layer-whiteout-etc-dotdot.tar", .layer, mentions: ["invalid whiteout"])
        assertRefused("layer-whiteout-bare.tar", .layer, mentions: ["invalid whiteout"])
    }
    func testWhiteoutThroughASymlinkedParentIsRefused() {
        assertRefused("layer-whiteout-through-symlink.tar", .layer, mentions: ["localetc/.wh.passwd", "not a directory"])
    }
}
