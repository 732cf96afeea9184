import Foundation
@testable import HearthCompare
import XCTest

/// Each trace format read as it is published, and malformed files refused with the line named.
final class TraceReadersTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "hearth-traces-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let header2019 = "HashOwner,HashApp,HashFunction,Trigger," + (1...1440).map(String.init).joined(separator: ",")

    /// A 2019 row: `counts` maps a minute (1-based) to its invocations.
    static func row2019(_ owner: String, _ app: String, _ function: String, _ counts: [Int: Int]) -> String {
        "\(owner),\(app),\(function),http," + (1...1440).map { String(counts[$0] ?? 0) }.joined(separator: ",")
    }

    func testAzure2019InvocationsWithDurationsAndMemory() throws {
        let path = try write("invocations_per_function_md.anon.d01.csv", [
            Self.header2019,
            Self.row2019("o1", "a1", "f1aaaaaaaaaaaaaa", [1: 2]),
            Self.row2019("o1", "a1", "f2bbbbbbbbbbbbbb", [1: 4, 3: 1, 1440: 1]),
        ].joined(separator: "\n") + "\n")
        try write("function_durations_percentiles.anon.d01.csv", """
            HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100
            o1,a1,f1aaaaaaaaaaaaaa,10,2,5,20,5,5,8,10,12,19,20
            o1,a1,f2bbbbbbbbbbbbbb,100,6,100,100,100,100,100,100,100,100,100

            """)
        try write("app_memory_percentiles.anon.d01.csv", """
            HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,AverageAllocatedMb_pct5,AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,AverageAllocatedMb_pct99,AverageAllocatedMb_pct100
            o1,a1,12,170.2,150,150,160,170,180,190,199,200

            """)
        let trace = try TraceSource.parse(path).load(select: "f2bb")
        XCTAssertEqual(trace.name, "azure2019 d01 function f2bbbbbbbbbb")
        XCTAssertEqual(trace.arrivals.map(\.offset), [7.5, 22.5, 37.5, 52.5, 150, 86_370])
        XCTAssertEqual(trace.arrivals.compactMap(\.durationMs), Array(repeating: 100, count: 6))
        XCTAssertEqual(trace.span, 86_400)
        XCTAssertEqual(trace.memoryMB, 171)
        // Without a selection, the first row; its durations within its percentiles.
        let first = try TraceSource.parse(path).load()
        XCTAssertEqual(first.arrivals.count, 2)
        XCTAssertTrue(first.arrivals.allSatisfy { ($0.durationMs ?? 0) >= 5 && ($0.durationMs ?? 0) <= 20 })
        XCTAssertEqual(try TraceSource.parse(path).load(seed: 7).arrivals, try TraceSource.parse(path).load(seed: 7).arrivals,
                       "repeatable for a seed")
    }

    func testAzure2019WithoutItsSiblingsHasNoDurations() throws {
        let path = try write("invocations_per_function_md.anon.d02.csv", Self.header2019 + "\n" + Self.row2019("o", "a", "f", [5: 3]) + "\n")
        let trace = try TraceSource.parse(path).load()
        XCTAssertEqual(trace.arrivals.count, 3)
        XCTAssertNil(trace.arrivals[0].durationMs)
        XCTAssertNil(trace.memoryMB)
    }

    func testMalformedAzure2019FilesNameTheLine() throws {
        let short = try write("invocations_per_function_md.anon.d03.csv", Self.header2019 + "\n" + "o,a,f,http,1,2,3\n")
        assertRefused(short, "invocations_per_function_md.anon.d03.csv:2: expected 1444 fields")
        var bad = Self.row2019("o", "a", "f", [:]).split(separator: ",").map(String.init)
        bad[4 + 9] = "-1"
        let negative = try write("invocations_per_function_md.anon.d04.csv", Self.header2019 + "\n\n" + bad.joined(separator: ",") + "\n")
        assertRefused(negative, "invocations_per_function_md.anon.d04.csv:3: minute 10: '-1' is not a count of invocations")
        let huge = try write("invocations_per_function_md.anon.d07.csv", Self.header2019 + "\n" + Self.row2019("o", "a", "f", [1: 6_000_000, 2: 5_000_000]) + "\n")
        assertRefused(huge, "d07.csv:2: more than 10000000 invocations: too many to replay")
        let header = try write("invocations_per_function_md.anon.d05.csv", "HashOwner,HashApp,HashFunction,Trigger,1,2\n")
        assertRefused(header, "d05.csv:1: expected the header")
        let ok = try write("invocations_per_function_md.anon.d06.csv", Self.header2019 + "\n" + Self.row2019("o", "a", "f", [1: 1]) + "\n")
        assertRefused(ok, "no function whose HashFunction starts with 'zz'", select: "zz")
        try write("function_durations_percentiles.anon.d06.csv", AzureFunctions2019.durationColumns.joined(separator: ",") + "\no,a,f,1,1,1,1,5,4,3,2,1,1,1\n")
        assertRefused(ok, "function_durations_percentiles.anon.d06.csv:2: the percentiles are not in increasing order")
    }

    func testAzure2021Invocations() throws {
        let path = try write("AzureFunctionsInvocationTraceForTwoWeeksJan2021.txt", """
            app,func,end_timestamp,duration
            a1,fx,100.5,0.5
            a1,fy,101.0,1.0
            a1,fx,130.25,0.25
            a1,fx,110.0,2.0

            """)
        let trace = try TraceSource.parse(path).load()
        XCTAssertEqual(trace.name, "azure2021 function fx")
        XCTAssertEqual(trace.arrivals, [Arrival(offset: 0, durationMs: 500), Arrival(offset: 8, durationMs: 2000),
                                        Arrival(offset: 30, durationMs: 250)])
        XCTAssertEqual(try TraceSource.parse(path).load(select: "fy").arrivals, [Arrival(offset: 0, durationMs: 1000)])
        let bad = try write("bad2021.txt", "app,func,end_timestamp,duration\na,f,10,1\na,f,5,6\n")
        assertRefused(bad, "bad2021.txt:3: '6' is not a duration in seconds at most its end timestamp")
        let fields = try write("fields2021.txt", "app,func,end_timestamp,duration\na,f,10\n")
        assertRefused(fields, "fields2021.txt:2: expected 4 fields")
    }

    func testSimpleCSV() throws {
        let path = try write("arrivals.csv", "time,duration_ms\n# warm-up\n0.5,12\n0.1\n3,\n")
        let trace = try TraceSource.parse(path).load()
        XCTAssertEqual(trace.arrivals, [Arrival(offset: 0.1), Arrival(offset: 0.5, durationMs: 12), Arrival(offset: 3)])
        assertRefused(try write("neg.csv", "1\n-2\n"), "neg.csv:2: '-2' is not an arrival time in seconds")
        assertRefused(try write("nan.csv", "1\nnan\n"), "nan.csv:2: 'nan' is not an arrival time")
        assertRefused(try write("three.csv", "1,2,3\n"), "three.csv:1: expected SECONDS[,DURATION_MS], got 3 fields")
        assertRefused(try write("dur.csv", "1,fast\n"), "dur.csv:1: 'fast' is not a duration in ms")
        assertRefused(try write("empty.csv", "# nothing\n"), "empty.csv: no arrivals")
        assertRefused(directory + "/missing.csv", "cannot read the trace")
    }

    func testSyntheticShapes() throws {
        let steady = try TraceSource.parse("steady:10").load(duration: 60)
        XCTAssertEqual(steady.arrivals.count, 600)
        XCTAssertEqual(steady.summary.peakPerSecond, 10)
        XCTAssertEqual(steady.span, 60)

        let sparse = try TraceSource.parse("sparse:5m").load(duration: 86_400)
        XCTAssertEqual(Double(sparse.arrivals.count), 288, accuracy: 60, "a day at one every five minutes on average")
        XCTAssertEqual(try TraceSource.parse("sparse:5m").load(duration: 86_400).arrivals, sparse.arrivals, "repeatable")
        XCTAssertNotEqual(try TraceSource.parse("sparse:5m").load(duration: 86_400, seed: 2).arrivals, sparse.arrivals)

        let bursty = try TraceSource.parse("bursty:1,100,60s,5s").load(duration: 600)
        let inBursts = bursty.arrivals.filter { $0.offset.truncatingRemainder(dividingBy: 60) < 5 }.count
        XCTAssertEqual(Double(inBursts), 5000, accuracy: 400)
        XCTAssertEqual(Double(bursty.arrivals.count - inBursts), 550, accuracy: 120)

        let diurnal = try TraceSource.parse("diurnal:20,10m").load(duration: 600)
        let middle = diurnal.arrivals.filter { $0.offset > 200 && $0.offset < 400 }.count
        let edges = diurnal.arrivals.filter { $0.offset < 100 || $0.offset > 500 }.count
        XCTAssertGreaterThan(middle, edges * 3, "the rate peaks halfway through the period")

        for (spec, fragment) in [("steady:0", "RATE must be above 0"), ("steady:abc", "RATE must be a rate"),
                                 ("sparse:-5", "GAP must be a positive time"), ("bursty:1,2,3", "expected bursty:BASE,PEAK,EVERY,FOR"),
                                 ("bursty:1,2,10s,20s", "FOR must be at most EVERY"), ("diurnal:1e9,60", "PEAK must be a rate")] {
            XCTAssertThrowsError(try TraceSource.parse(spec), spec) { XCTAssertTrue("\($0)".contains(fragment), "\(spec): \($0)") }
        }
    }

    func testCutSpeedUpAndSummary() {
        let trace = Trace(name: "t", arrivals: [0, 0.2, 0.4, 10, 70].map { Arrival(offset: $0, durationMs: 5) })
        XCTAssertEqual(trace.summary.peakPerSecond, 3)
        XCTAssertEqual(trace.summary.peakPerMinute, 4)
        XCTAssertEqual(trace.summary.longestGapSeconds, 60)
        XCTAssertEqual(trace.summary.meanDurationMs, 5)
        let fast = trace.spedUp(by: 10)
        XCTAssertEqual(fast.arrivals.map(\.offset), [0, 0.02, 0.04, 1, 7])
        XCTAssertEqual(fast.arrivals[0].durationMs, 5, "durations are not sped up")
        XCTAssertEqual(trace.cut(to: 10).arrivals.count, 3)
        XCTAssertEqual(trace.cut(to: 10).span, 10)
    }

    func assertRefused(_ path: String, _ fragment: String, select: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try TraceSource.parse(path).load(select: select), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(fragment), "\(error)", file: file, line: line)
        }
    }
}
