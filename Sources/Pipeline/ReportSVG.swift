// The drawing layer of the report: escaping, number formats, scales with ticks, and
// an SVG builder whose coordinates can never be NaN or infinite.

import Foundation

/// Escaping and number formats for the report's text.
enum ReportText {
    /// Text safe inside an element or a double- or single-quoted attribute.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A number for people: up to 4 significant digits, "—" when not finite.
    static func number(_ value: Double, digits: Int = 4) -> String {
        guard value.isFinite else { return "—" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e6 || magnitude < 1e-3 { return trimExponent(String(format: "%.\(max(digits - 1, 0))e", value)) }
        return String(format: "%.\(digits)g", value)
    }

    /// A percentage given in percent: "2.31%", "0.052%", "140%".
    static func percent(_ value: Double) -> String {
        guard value.isFinite else { return "—" }
        let magnitude = abs(value)
        let text: String
        if magnitude >= 100 { text = String(format: "%.0f", value) }
        else if magnitude >= 10 { text = String(format: "%.1f", value) }
        else if magnitude >= 0.1 || magnitude == 0 { text = String(format: "%.2f", value) }
        else { text = number(value, digits: 2) }
        return text + "%"
    }

    /// A duration: "0.42 s", "12.3 s", "4 min 05 s", "2 h 03 min".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "—" }
        if seconds < 10 { return String(format: "%.2f s", seconds) }
        if seconds < 60 { return String(format: "%.1f s", seconds) }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return String(format: "%d min %02d s", whole / 60, whole % 60) }
        return String(format: "%d h %02d min", whole / 3600, (whole % 3600) / 60)
    }

    /// A tick label: short, exponent form for very large or small values.
    static func tick(_ value: Double) -> String {
        guard value.isFinite else { return "" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 {
            return trimExponent(String(format: "%.0e", value))
        }
        // Enough digits for ticks such as 0.25 or 1250, no trailing zeros.
        var text = String(format: "%.6f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// "1.0e+04" -> "1.0e4", "2e-05" -> "2e-5".
    private static func trimExponent(_ text: String) -> String {
        guard let e = text.firstIndex(of: "e") else { return text }
        var mantissa = String(text[..<e])
        var exponent = String(text[text.index(after: e)...])
        let negative = exponent.hasPrefix("-")
        exponent = String(exponent.drop { $0 == "+" || $0 == "-" })
        while exponent.hasPrefix("0") && exponent.count > 1 { exponent.removeFirst() }
        if mantissa.contains(".") {
            while mantissa.hasSuffix("0") { mantissa.removeLast() }
            if mantissa.hasSuffix(".") { mantissa.removeLast() }
        }
        return mantissa + "e" + (negative ? "-" : "") + exponent
    }
}

/// A map from data values to pixels, linear or logarithmic, with readable ticks.
struct ReportScale {
    enum Kind { case linear, log }

    var kind: Kind
    /// The data interval shown: finite, lower < upper, positive for a log scale.
    private(set) var lower: Double
    private(set) var upper: Double
    /// The pixel interval it maps to (may be reversed, for y).
    var start: Double
    var end: Double

    /// A scale over `values` (non-finite ones ignored; non-positive ones too on a log
    /// scale). `log: nil` chooses log when the positive values span 1.5 decades or
    /// more. `padding` widens the interval by that fraction on each side (in log
    /// space on a log scale); `includeZero` makes a linear scale start at 0.
    init(values: [Double], log: Bool? = nil, padding: Double = 0.05, includeZero: Bool = false,
         start: Double = 0, end: Double = 1) {
        let finite = values.filter(\.isFinite)
        let positive = finite.filter { $0 > 0 }
        let useLog: Bool
        if let log {
            useLog = log && !positive.isEmpty
        } else {
            useLog = !positive.isEmpty && positive.count == finite.count
                && positive.max()! / positive.min()! >= pow(10, 1.5)
        }
        self.start = start
        self.end = end
        if useLog {
            kind = .log
            var lo = Foundation.log10(positive.min()!)
            var hi = Foundation.log10(positive.max()!)
            if hi - lo < 1e-9 {
                lo -= 0.3
                hi += 0.3
            }
            let pad = (hi - lo) * padding
            lower = pow(10, max(lo - pad, -307))
            upper = pow(10, min(hi + pad, 307))
        } else {
            kind = .linear
            var lo = finite.min() ?? 0
            var hi = finite.max() ?? 1
            if includeZero { lo = min(lo, 0); hi = max(hi, 0) }
            if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1e-300) {
                let spread = lo == 0 ? 1 : abs(lo) * 0.1
                if includeZero && lo == 0 { hi = 1 } else { lo -= spread; hi += spread }
            }
            let pad = (hi - lo) * padding
            lower = includeZero && lo == 0 ? 0 : lo - pad
            upper = hi + pad
            if !(lower.isFinite && upper.isFinite) {
                lower = lo
                upper = hi
            }
        }
        if !(lower.isFinite && upper.isFinite && lower < upper) {
            kind = .linear
            lower = 0
            upper = 1
        }
    }

    /// A fixed scale (e.g. 0 to 1 for loads).
    init(kind: Kind, lower: Double, upper: Double, start: Double, end: Double) {
        self.kind = kind
        self.lower = lower
        self.upper = upper
        self.start = start
        self.end = end
        if kind == .log && !(lower > 0) { self.kind = .linear }
        if !(lower.isFinite && upper.isFinite && lower < upper) {
            self.kind = .linear
            self.lower = 0
            self.upper = 1
        }
    }

    var isLog: Bool { kind == .log }

    /// Whether `value` can be placed on this scale.
    func accepts(_ value: Double) -> Bool { value.isFinite && (kind == .linear || value > 0) }

    /// The pixel position of `value` (values off the scale are clamped a little
    /// beyond its ends, so that clipped marks stay finite).
    func callAsFunction(_ value: Double) -> Double {
        let t: Double
        switch kind {
        case .linear: t = (value - lower) / (upper - lower)
        case .log:
            t = value > 0 ? (Foundation.log10(value) - Foundation.log10(lower))
                / (Foundation.log10(upper) - Foundation.log10(lower)) : -1
        }
        let clamped = t.isFinite ? min(max(t, -1), 2) : (t == .infinity ? 2 : -1)
        return start + clamped * (end - start)
    }

    /// Extends a linear scale to whole tick steps (so an axis ends on a labelled tick).
    mutating func nice(count: Int = 5) {
        guard kind == .linear else { return }
        let step = Self.niceStep((upper - lower) / Double(count))
        let lo = (lower / step).rounded(.down) * step
        let hi = (upper / step).rounded(.up) * step
        if lo.isFinite && hi.isFinite && lo < hi {
            lower = lo
            upper = hi
        }
    }

    /// About `count` readable tick values inside the interval.
    func ticks(count: Int = 5) -> [Double] {
        switch kind {
        case .linear: return Self.linearTicks(lower, upper, count: count)
        case .log:
            let lo = Foundation.log10(lower)
            let hi = Foundation.log10(upper)
            var ticks: [Double] = []
            let decades = Int(lo.rounded(.down))...Int(hi.rounded(.up))
            let multipliers: [Double] = hi - lo > 3.2 ? [1] : hi - lo > 2.1 ? [1, 3] : [1, 2, 5]
            for k in decades {
                for m in multipliers {
                    let value = Self.clean(m * pow(10, Double(k)))
                    if value >= lower * (1 - 1e-9) && value <= upper * (1 + 1e-9) { ticks.append(value) }
                }
            }
            if hi - lo > 7 {
                // Very wide: every n-th decade, about six ticks in all.
                let stride = Int(((hi - lo) / 6).rounded(.up))
                ticks = ticks.filter { Int(Foundation.log10($0).rounded()) % stride == 0 }
            }
            if ticks.count < 3 {
                ticks = Self.linearTicks(lower, upper, count: 4).filter { $0 > 0 }
            }
            return ticks
        }
    }

    /// Small unlabelled ticks between the labelled ones of a log scale (2..9 x 10^k).
    func minorTicks() -> [Double] {
        guard kind == .log, Foundation.log10(upper) - Foundation.log10(lower) <= 6 else { return [] }
        let major = Set(ticks())
        var minor: [Double] = []
        for k in Int(Foundation.log10(lower).rounded(.down))...Int(Foundation.log10(upper).rounded(.up)) {
            for m in 1...9 {
                let value = Double(m) * pow(10, Double(k))
                if value >= lower && value <= upper && !major.contains(value) { minor.append(value) }
            }
        }
        return minor
    }

    /// Rounds away binary noise: 0.6000000000000001 -> 0.6.
    static func clean(_ value: Double) -> Double {
        Double(String(format: "%.12g", value)) ?? value
    }

    static func niceStep(_ rough: Double) -> Double {
        guard rough.isFinite, rough > 0 else { return 1 }
        let power = pow(10, Foundation.log10(rough).rounded(.down))
        let fraction = rough / power
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10
        return nice * power
    }

    static func linearTicks(_ lower: Double, _ upper: Double, count: Int) -> [Double] {
        let step = niceStep((upper - lower) / Double(max(count, 1)))
        guard step.isFinite, step > 0 else { return [] }
        var ticks: [Double] = []
        var i = (lower / step - 1e-9).rounded(.up)
        while i * step <= upper + step * 1e-9, ticks.count < 50 {
            let value = i * step
            ticks.append(abs(value) < step * 1e-9 ? 0 : clean(value))
            i += 1
        }
        return ticks
    }
}

/// The report's colours, one meaning each.
enum ReportPalette {
    static let surrogate = "#2563eb"
    static let baseline = "#ea580c"
    static let best = "#2563eb"
    static let bands = ["#10b981", "#f59e0b", "#e11d48"]
    static let sample = "#4f46e5"
    static let unstable = "#e11d48"
    static let grid = "#e5e7eb"
    static let axis = "#9ca3af"
    static let label = "#4b5563"
    static let title = "#111827"
    static let muted = "#94a3b8"
    static let failed = "#e11d48"
}

/// An SVG document built as a string. Every coordinate goes through `c(_:)`, which
/// writes 0 for a value that is not finite, so a chart can never leak "nan".
struct SVGCanvas {
    let width: Double
    let height: Double
    private(set) var body = ""

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// A coordinate with at most one decimal.
    static func c(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 10).rounded() / 10
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.1f", rounded)
    }

    private func c(_ value: Double) -> String { Self.c(value) }

    /// A `<title>` child (a tooltip in browsers), or nothing.
    private func tooltip(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "" }
        return "<title>\(ReportText.escape(text))</title>"
    }

    private func element(_ name: String, _ attributes: String, tooltip text: String?) -> String {
        let tip = tooltip(text)
        return tip.isEmpty ? "<\(name) \(attributes)/>" : "<\(name) \(attributes)>\(tip)</\(name)>"
    }

    mutating func raw(_ svg: String) { body += svg }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String,
                       width: Double = 1, dash: String? = nil, opacity: Double? = nil) {
        var attributes = "x1=\"\(c(x1))\" y1=\"\(c(y1))\" x2=\"\(c(x2))\" y2=\"\(c(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(c(width))\""
        if let dash { attributes += " stroke-dasharray=\"\(dash)\"" }
        if let opacity { attributes += " stroke-opacity=\"\(c(opacity))\"" }
        body += "<line \(attributes)/>"
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil,
                       opacity: Double? = nil, rx: Double = 0, tooltip text: String? = nil) {
        var attributes = "x=\"\(c(x))\" y=\"\(c(y))\" width=\"\(c(max(w, 0)))\" height=\"\(c(max(h, 0)))\" fill=\"\(fill)\""
        if let stroke { attributes += " stroke=\"\(stroke)\"" }
        if let opacity { attributes += " fill-opacity=\"\(c(opacity))\"" }
        if rx > 0 { attributes += " rx=\"\(c(rx))\"" }
        body += element("rect", attributes, tooltip: text)
    }

    mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String, opacity: Double? = nil,
                         stroke: String? = nil, tooltip text: String? = nil) {
        var attributes = "cx=\"\(c(x))\" cy=\"\(c(y))\" r=\"\(c(r))\" fill=\"\(fill)\""
        if let opacity { attributes += " fill-opacity=\"\(c(opacity))\"" }
        if let stroke { attributes += " stroke=\"\(stroke)\"" }
        body += element("circle", attributes, tooltip: text)
    }

    /// A small cross, for marks that must stand out from circles.
    mutating func cross(_ x: Double, _ y: Double, size: Double, stroke: String, tooltip text: String? = nil) {
        let d = "M\(c(x - size)) \(c(y - size))L\(c(x + size)) \(c(y + size))M\(c(x - size)) \(c(y + size))L\(c(x + size)) \(c(y - size))"
        body += element("path", "d=\"\(d)\" stroke=\"\(stroke)\" stroke-width=\"1.5\" fill=\"none\"", tooltip: text)
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5,
                           opacity: Double? = nil, dash: String? = nil, tooltip text: String? = nil) {
        guard !points.isEmpty else { return }
        let list = points.map { "\(c($0.0)),\(c($0.1))" }.joined(separator: " ")
        var attributes = "points=\"\(list)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(c(width))\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
        if let opacity { attributes += " stroke-opacity=\"\(c(opacity))\"" }
        if let dash { attributes += " stroke-dasharray=\"\(dash)\"" }
        body += element("polyline", attributes, tooltip: text)
    }

    mutating func polygon(_ points: [(Double, Double)], fill: String, opacity: Double? = nil) {
        guard !points.isEmpty else { return }
        let list = points.map { "\(c($0.0)),\(c($0.1))" }.joined(separator: " ")
        var attributes = "points=\"\(list)\" fill=\"\(fill)\""
        if let opacity { attributes += " fill-opacity=\"\(c(opacity))\"" }
        body += "<polygon \(attributes)/>"
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ x: Double, _ y: Double, _ text: String, anchor: Anchor = .start, size: Double = 11,
                       fill: String = ReportPalette.label, weight: String? = nil, rotate: Double? = nil,
                       baseline: String? = nil) {
        var attributes = "x=\"\(c(x))\" y=\"\(c(y))\" font-size=\"\(c(size))\" fill=\"\(fill)\" text-anchor=\"\(anchor.rawValue)\""
        if let weight { attributes += " font-weight=\"\(weight)\"" }
        if let baseline { attributes += " dominant-baseline=\"\(baseline)\"" }
        if let rotate { attributes += " transform=\"rotate(\(c(rotate)) \(c(x)) \(c(y)))\"" }
        body += "<text \(attributes)>\(ReportText.escape(text))</text>"
    }

    /// Starts a group clipped to a rectangle (close it with `endGroup()`).
    mutating func beginClip(id: String, _ x: Double, _ y: Double, _ w: Double, _ h: Double) {
        body += "<clipPath id=\"\(id)\"><rect x=\"\(c(x))\" y=\"\(c(y))\" width=\"\(c(max(w, 0)))\" height=\"\(c(max(h, 0)))\"/></clipPath>"
        body += "<g clip-path=\"url(#\(id))\">"
    }

    mutating func endGroup() { body += "</g>" }

    /// The finished `<svg>` element, sized in CSS pixels and scaled down on narrow screens.
    func render(label: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(c(width)) \(c(height))\" width=\"\(c(width))\" height=\"\(c(height))\" role=\"img\" aria-label=\"\(ReportText.escape(label))\">"
            + body + "</svg>"
    }
}

/// A plot area inside a canvas: margins, two scales, and the axes around them.
struct PlotFrame {
    let left: Double
    let top: Double
    let width: Double
    let height: Double
    var x: ReportScale
    var y: ReportScale

    var right: Double { left + width }
    var bottom: Double { top + height }

    /// A frame of `width` x `height` pixels whose scales cover `xValues`/`yValues`.
    init(left: Double, top: Double, width: Double, height: Double, x: ReportScale, y: ReportScale) {
        self.left = left
        self.top = top
        self.width = width
        self.height = height
        self.x = x
        self.y = y
        self.x.start = left
        self.x.end = left + width
        self.y.start = top + height
        self.y.end = top
    }

    /// Whether both coordinates can be placed.
    func accepts(_ px: Double, _ py: Double) -> Bool { x.accepts(px) && y.accepts(py) }

    /// Grid lines, the axes with ticks and labels, and the axis titles.
    func drawAxes(on canvas: inout SVGCanvas, xTitle: String?, yTitle: String?, xUnit: String? = nil,
                  yUnit: String? = nil, xTicks: [Double]? = nil, xTickLabel: ((Double) -> String)? = nil,
                  yTickCount: Int = 5, xTickCount: Int = 6) {
        let xt = xTicks ?? x.ticks(count: xTickCount)
        let yt = y.ticks(count: yTickCount)
        canvas.rect(left, top, width, height, fill: "#ffffff")
        for value in y.minorTicks() {
            canvas.line(left, y(value), right, y(value), stroke: ReportPalette.grid, width: 0.5, opacity: 0.6)
        }
        for value in x.minorTicks() {
            canvas.line(x(value), top, x(value), bottom, stroke: ReportPalette.grid, width: 0.5, opacity: 0.6)
        }
        for value in yt {
            canvas.line(left, y(value), right, y(value), stroke: ReportPalette.grid)
            canvas.line(left - 4, y(value), left, y(value), stroke: ReportPalette.axis)
            canvas.text(left - 7, y(value) + 3.5, ReportText.tick(value), anchor: .end, size: 10.5)
        }
        for value in xt {
            canvas.line(x(value), top, x(value), bottom, stroke: ReportPalette.grid)
            canvas.line(x(value), bottom, x(value), bottom + 4, stroke: ReportPalette.axis)
            canvas.text(x(value), bottom + 16, (xTickLabel ?? ReportText.tick)(value), anchor: .middle, size: 10.5)
        }
        canvas.line(left, bottom, right, bottom, stroke: ReportPalette.axis)
        canvas.line(left, top, left, bottom, stroke: ReportPalette.axis)
        if let xTitle {
            canvas.text(left + width / 2, bottom + 34, Self.title(xTitle, unit: xUnit, log: x.isLog), anchor: .middle,
                        size: 12, fill: "#374151")
        }
        if let yTitle {
            // Clear of the widest tick label (about 6 px per character at 10.5 px).
            let widest = Double(yt.map { ReportText.tick($0).count }.max() ?? 1) * 6.1
            let cx = max(10, left - 7 - widest - 9)
            canvas.text(cx, top + height / 2, Self.title(yTitle, unit: yUnit, log: y.isLog), anchor: .middle, size: 12,
                        fill: "#374151", rotate: -90)
        }
    }

    /// "predicted (s, log)", "rows", "epoch".
    static func title(_ name: String, unit: String?, log: Bool) -> String {
        let notes = [unit, log ? "log" : nil].compactMap { $0 }
        return notes.isEmpty ? name : "\(name) (\(notes.joined(separator: ", ")))"
    }
}
