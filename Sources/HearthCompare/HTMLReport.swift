import Foundation

/// The comparison as one self-contained HTML page: the verdict, the table, and SVG charts drawn by
/// `SVGChart` (requests per second against environments held, latency CDFs, memory held and used,
/// cumulative cost). No script and nothing fetched: it opens offline.
enum HTMLReport {
    static let serverlessColor = "#d9480f", alwaysOnColor = "#1864ab", trafficColor = "#868e96"

    static func render(_ c: Comparison) -> String {
        let s = c.serverless, a = c.alwaysOn
        func points(_ arm: ArmReport, _ f: (ArmReport.TimelinePoint) -> Double) -> [(x: Double, y: Double)] {
            arm.timeline.map { (x: $0.at, y: f($0)) }
        }
        let (unit, scale) = c.plan.summary.spanSeconds >= 7200 ? ("hours", 3600.0) : c.plan.summary.spanSeconds >= 120 ? ("minutes", 60.0) : ("seconds", 1.0)
        func inUnit(_ p: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] { p.map { (x: $0.x / scale, y: $0.y) } }
        let charts = [
            SVGChart(title: "Requests per second and environments held", xLabel: "trace time (\(unit))", yLabel: "count", series: [
                .init(name: "requests/s", color: trafficColor, points: inUnit(points(s) { $0.requestsPerSecond }), dashed: true),
                .init(name: "serverless environments", color: serverlessColor, points: inUnit(points(s) { Double($0.environments) }), steps: true),
                .init(name: "always-on environments", color: alwaysOnColor, points: inUnit(points(a) { Double($0.environments) }), steps: true),
            ]),
            SVGChart(title: "Latency CDF", xLabel: "latency (ms, log scale)", yLabel: "percent of requests", series: [
                .init(name: "serverless", color: serverlessColor, points: s.latencyCDF.enumerated().map { (x: $0.element, y: Double($0.offset)) }),
                .init(name: "always-on", color: alwaysOnColor, points: a.latencyCDF.enumerated().map { (x: $0.element, y: Double($0.offset)) }),
            ], logX: true),
            SVGChart(title: "Memory held and used", xLabel: "trace time (\(unit))", yLabel: "MB", series: [
                .init(name: "serverless held", color: serverlessColor, points: inUnit(points(s) { $0.reservedMB }), steps: true),
                .init(name: "serverless used", color: serverlessColor, points: inUnit(points(s) { $0.usedMB }), dashed: true),
                .init(name: "always-on held", color: alwaysOnColor, points: inUnit(points(a) { $0.reservedMB }), steps: true),
                .init(name: "always-on used", color: alwaysOnColor, points: inUnit(points(a) { $0.usedMB }), dashed: true),
            ]),
            SVGChart(title: "Cumulative cost", xLabel: "trace time (\(unit))", yLabel: "dollars", series: [
                .init(name: "serverless (Lambda prices)", color: serverlessColor, points: inUnit(points(s) { $0.cumulativeDollars })),
                .init(name: "always-on (capacity held)", color: alwaysOnColor, points: inUnit(points(a) { $0.cumulativeDollars })),
            ]),
        ]
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>hearth compare: \(escape(c.plan.function))</title>
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1340px;color:#212529;padding:0 16px}
            h1{font-size:20px;margin:0 0 4px} .verdict{font-size:16px;margin:12px 0;padding:10px 14px;background:#f1f3f5;border-left:4px solid #495057}
            pre{background:#f8f9fa;padding:12px;overflow:auto;font-size:12.5px} .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(600px,1fr));gap:12px}
            .chart{width:100%;height:auto;background:#fff;border:1px solid #dee2e6} .chart .title{font-weight:600;font-size:13px}
            .chart .grid{stroke:#e9ecef} .chart .frame{fill:none;stroke:#adb5bd} .chart .tick,.chart .legend{font-size:11px;fill:#495057}
            .chart .axis{font-size:12px;fill:#343a40} .chart .series{fill:none;stroke-width:2} .chart .empty{fill:#868e96}
            </style></head><body>
            <h1>hearth compare: \(escape(c.plan.function)), serverless against always-on</h1>
            <div>\(escape(c.plan.trace)) · generated \(escape(c.generatedAt))</div>
            <p class="verdict">\(escape(c.verdict))</p>
            <pre>\(escape(c.plan.render()))</pre>
            <div class="charts">\(charts.map { $0.render() }.joined(separator: "\n"))</div>
            <pre>\(escape(c.table()))</pre>
            <p>Memory held and used are in trace time (the replay's time times the speedup); latencies, billed durations and CPU are as measured. Prices: \(escape("Lambda $\(Format.price(c.plan.pricing.perMillionRequests)) per million requests and $\(Format.price(c.plan.pricing.perGBSecond)) per GB-second; always-on $\(Format.price(c.plan.pricing.perVCPUHour)) per vCPU-hour and $\(Format.price(c.plan.pricing.perGBHour)) per GB-hour")).</p>
            </body></html>

            """
    }
}
