import Foundation

/// A line chart drawn as SVG (no script, nothing fetched): series of points on linear or logarithmic
/// axes with ticks, labels and a legend. What the HTML report is made of.
struct SVGChart {
    struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double)]
        /// Drawn as steps (a count held until the next point) instead of straight lines.
        var steps = false
        var dashed = false
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var logX = false
    var width = 640.0
    var height = 300.0

    /// The title and the legend take the two rows above the plot.
    private let left = 64.0, right = 16.0, top = 50.0, bottom = 46.0

    func render() -> String {
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logX || $0.x > 0) }
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" aria-label=\"\(escape(title))\">"
        svg += "<text x=\"\(n(left))\" y=\"20\" class=\"title\">\(escape(title))</text>"
        guard !all.isEmpty else { return svg + "<text x=\"\(n(width / 2))\" y=\"\(n(height / 2))\" class=\"empty\">no data</text></svg>" }
        var (x0, x1) = (all.map(\.x).min() ?? 0, all.map(\.x).max() ?? 1)
        let y1 = max(all.map(\.y).max() ?? 1, 1e-9) * 1.08
        let y0 = 0.0
        if x1 <= x0 { x1 = x0 + (logX ? x0 * 10 : 1) }
        if logX { (x0, x1) = (pow(10, floor(log10(x0))), pow(10, ceil(log10(x1)))) }
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double {
            left + (logX ? (log10(x) - log10(x0)) / (log10(x1) - log10(x0)) : (x - x0) / (x1 - x0)) * plotW
        }
        func py(_ y: Double) -> Double { top + plotH - (y - y0) / (y1 - y0) * plotH }
        // Grid and ticks.
        for tick in yTicks(y0, y1) {
            svg += "<line x1=\"\(n(left))\" x2=\"\(n(left + plotW))\" y1=\"\(n(py(tick)))\" y2=\"\(n(py(tick)))\" class=\"grid\"/>"
            svg += "<text x=\"\(n(left - 6))\" y=\"\(n(py(tick) + 4))\" class=\"tick\" text-anchor=\"end\">\(label(tick))</text>"
        }
        for tick in xTicks(x0, x1) {
            svg += "<line x1=\"\(n(px(tick)))\" x2=\"\(n(px(tick)))\" y1=\"\(n(top))\" y2=\"\(n(top + plotH))\" class=\"grid\"/>"
            svg += "<text x=\"\(n(px(tick)))\" y=\"\(n(top + plotH + 16))\" class=\"tick\" text-anchor=\"middle\">\(label(tick))</text>"
        }
        svg += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotW))\" height=\"\(n(plotH))\" class=\"frame\"/>"
        svg += "<text x=\"\(n(left + plotW / 2))\" y=\"\(n(height - 8))\" class=\"axis\" text-anchor=\"middle\">\(escape(xLabel))</text>"
        svg += "<text transform=\"translate(14 \(n(top + plotH / 2))) rotate(-90)\" class=\"axis\" text-anchor=\"middle\">\(escape(yLabel))</text>"
        for s in series {
            let points = s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logX || $0.x > 0) }
            guard let first = points.first else { continue }
            var d = "M\(n(px(first.x))) \(n(py(first.y)))"
            for (prev, p) in zip(points, points.dropFirst()) {
                if s.steps { d += " L\(n(px(p.x))) \(n(py(prev.y)))" }
                d += " L\(n(px(p.x))) \(n(py(p.y)))"
            }
            svg += "<path d=\"\(d)\" class=\"series\" stroke=\"\(s.color)\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")><title>\(escape(s.name))</title></path>"
        }
        // Legend: the row between the title and the plot, from the left.
        var lx = left
        for s in series {
            svg += "<line x1=\"\(n(lx))\" x2=\"\(n(lx + 18))\" y1=\"\(n(top - 14))\" y2=\"\(n(top - 14))\" stroke=\"\(s.color)\" class=\"series\"\(s.dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
            svg += "<text x=\"\(n(lx + 22))\" y=\"\(n(top - 10))\" class=\"legend\">\(escape(s.name))</text>"
            lx += Double(s.name.count) * 6.2 + 36
        }
        return svg + "</svg>"
    }

    /// About five round steps (1, 2 or 5 times a power of ten).
    func yTicks(_ lo: Double, _ hi: Double) -> [Double] { linearTicks(lo, hi) }

    func xTicks(_ lo: Double, _ hi: Double) -> [Double] {
        guard logX else { return linearTicks(lo, hi) }
        var ticks: [Double] = []
        var t = lo
        while t <= hi * 1.0001 && ticks.count < 12 {
            ticks.append(t)
            t *= 10
        }
        return ticks
    }

    func linearTicks(_ lo: Double, _ hi: Double) -> [Double] {
        let raw = (hi - lo) / 5
        guard raw > 0, raw.isFinite else { return [lo] }
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? power * 10
        var ticks: [Double] = []
        var t = (lo / step).rounded(.up) * step
        while t <= hi && ticks.count < 12 {
            ticks.append(t)
            t += step
        }
        return ticks
    }

    func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 1_000_000 { return String(format: "%gM", v / 1_000_000) }
        if abs(v) >= 10_000 { return String(format: "%gk", v / 1000) }
        if abs(v) >= 100 { return String(format: "%.0f", v) }
        return String(format: "%.3g", v)
    }

    func n(_ v: Double) -> String { String(format: "%.1f", v) }
}

/// Text made safe for HTML and SVG.
func escape(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}
