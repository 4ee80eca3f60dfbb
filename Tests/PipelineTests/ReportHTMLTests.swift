// The report page: structure, escaping, and no NaN or infinity in any chart, for
// full and for degenerate data.

import Foundation
import Testing
@testable import Pipeline

/// Checks that hold for any rendered page.
enum PageChecks {
    /// Every numeric SVG attribute in `html` that does not parse as a finite number.
    static func badCoordinates(_ html: String) throws -> [String] {
        var bad: [String] = []
        let single = try Regex(#" (x|y|x1|y1|x2|y2|cx|cy|r|width|height|font-size|stroke-width|fill-opacity|stroke-opacity)="([^"]*)""#)
        for match in html.matches(of: single) {
            let value = String(match.output[2].substring ?? "")
            if value.hasSuffix("%") { continue } // CSS widths in the phase bars are not SVG
            if Double(value).map({ !$0.isFinite }) ?? true { bad.append(String(match.output[0].substring ?? "")) }
        }
        let lists = try Regex(#" (points|viewBox|d)="([^"]*)""#)
        for match in html.matches(of: lists) {
            let text = String(match.output[2].substring ?? "")
            let numbers = text.split(whereSeparator: { " ,MLZ".contains($0) })
            for number in numbers where Double(number).map({ !$0.isFinite }) ?? true {
                bad.append(String(match.output[0].substring ?? ""))
                break
            }
        }
        return bad
    }

    static func count(_ needle: String, in haystack: String) -> Int {
        haystack.components(separatedBy: needle).count - 1
    }

    /// Structure, self-containment and finite coordinates.
    static func expectWellFormed(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(html.hasPrefix("<!DOCTYPE html>"), sourceLocation: sourceLocation)
        #expect(html.hasSuffix("</html>\n"), sourceLocation: sourceLocation)
        let opened = count("<svg", in: html)
        #expect(opened == count("</svg>", in: html), "unbalanced <svg> tags", sourceLocation: sourceLocation)
        for tag in ["section", "table", "figure", "g", "main"] {
            #expect(count("<\(tag)>", in: html) + count("<\(tag) ", in: html) == count("</\(tag)>", in: html),
                    "unbalanced <\(tag)> tags", sourceLocation: sourceLocation)
        }
        for title in ReportHTML.sectionTitles {
            #expect(html.contains("<h2>\(title)</h2>"), "missing section \(title)", sourceLocation: sourceLocation)
        }
        // Nothing fetched: the only URL is the SVG namespace.
        let withoutNamespace = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
        #expect(!withoutNamespace.contains("http://"), sourceLocation: sourceLocation)
        #expect(!withoutNamespace.contains("https://"), sourceLocation: sourceLocation)
        #expect(!html.contains("<script"), sourceLocation: sourceLocation)
        #expect(!html.contains("<link"), sourceLocation: sourceLocation)
        let bad = try badCoordinates(html)
        #expect(bad.isEmpty, "non-finite SVG coordinates: \(bad.prefix(5))", sourceLocation: sourceLocation)
        for word in ["nan", "NaN", "inf\"", "Infinity"] {
            #expect(!html.contains("=\"\(word)"), "\(word) in an attribute", sourceLocation: sourceLocation)
        }
    }
}

@Suite("Report page")
struct ReportHTMLTests {
    @Test("a full report has every section and chart, and nothing to fetch")
    func fullReport() throws {
        let data = ReportSample.full()
        let html = ReportHTML.render(data)
        try PageChecks.expectWellFormed(html)
        // One parity plot and one histogram per target, the load chart, the curves,
        // and one scatter per coverage pair.
        let charts = 2 * data.targets.count + 1 + 1 + data.coverage.count
        #expect(PageChecks.count("<svg", in: html) == charts)
        #expect(!html.contains("class=\"missing\""))
        // The summary shows the best trial's hyperparameters and the metrics table both methods.
        let best = try #require(data.search?.bestTrial)
        for (key, value) in best.hyperparameters {
            #expect(html.contains("<code>\(key)</code></td><td class=\"num\">\(value)</td>"))
        }
        #expect(html.contains("analytical baseline"))
        #expect(html.contains("not predicted")) // percentiles have no baseline
        #expect(html.contains("±5%"))
        #expect(html.contains("(log)"))
    }

    @Test("degenerate data renders without NaN, infinities or broken markup", arguments: ReportSample.degenerate)
    func degenerate(name: String, data: ReportData) throws {
        let html = ReportHTML.render(data)
        try PageChecks.expectWellFormed(html)
    }

    @Test("missing sections say so")
    func missingSections() throws {
        let html = ReportHTML.render(ReportData(title: "nothing yet", created: ReportSample.created))
        try PageChecks.expectWellFormed(html)
        #expect(!html.contains("<svg"))
        #expect(html.contains("No hyperparameter search was run."))
        #expect(html.contains("No test predictions were recorded."))
        #expect(html.contains("No sweep coverage was recorded."))
        #expect(html.contains("No phase times were recorded."))
        #expect(html.contains("No dataset summary was recorded."))
    }

    @Test("text is escaped in titles, names and hyperparameters")
    func escaping() throws {
        var data = ReportSample.full(rows: 20, trials: 3)
        data.title = "Tandem <A&B> \"quoted\" 'single'"
        data.source = "<img src=x>"
        data.targets[0].name = "<b>mean</b>&amp"
        data.search!.trials[0].hyperparameters["<key>"] = "a&b<c>"
        data.search!.bestTrialID = data.search!.trials[0].id
        data.coverage[0].xName = "x<y"
        let html = ReportHTML.render(data)
        try PageChecks.expectWellFormed(html)
        #expect(html.contains("<title>Tandem &lt;A&amp;B&gt; &quot;quoted&quot; &#39;single&#39;</title>"))
        #expect(html.contains("<h1>Tandem &lt;A&amp;B&gt; &quot;quoted&quot; &#39;single&#39;</h1>"))
        #expect(!html.contains("<A&B>"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<b>mean</b>"))
        #expect(html.contains("&lt;b&gt;mean&lt;/b&gt;&amp;amp"))
        #expect(html.contains("&lt;key&gt;"))
        #expect(html.contains("a&amp;b&lt;c&gt;"))
        #expect(!html.contains("x<y"))
    }

    @Test("held-out points get a table of their own, and survive the round trip through JSON")
    func heldOutPoints() throws {
        var data = ReportSample.full(rows: 30, trials: 5)
        #expect(!ReportHTML.render(data).contains("Held-out points"))
        var sample = Array(data.targets.prefix(2))
        sample[0].name = "heldOutOnly<x>"
        data.heldOut = ReportData.HeldOut(points: 40, seed: 2, targets: sample)
        let html = ReportHTML.render(data)
        try PageChecks.expectWellFormed(html)
        #expect(html.contains("<h2>Held-out points</h2>"))
        #expect(html.contains("\">Held-out points</a>"), "the navigation names it")
        #expect(html.contains("of 40 drawn from the sweep's space with design seed 2"))
        #expect(html.contains("<code>heldOutOnly&lt;x&gt;</code>"))
        // Its rows follow the test split's table: the held-out section comes after it.
        let test = try #require(html.range(of: "<h2>Test metrics</h2>"))
        let held = try #require(html.range(of: "<h2>Held-out points</h2>"))
        #expect(test.upperBound < held.lowerBound)
        #expect(try ReportData.decode(data.jsonData()) == data)
    }

    @Test("report data round-trips through JSON, non-finite numbers included")
    func jsonRoundTrip() throws {
        let data = ReportSample.full(rows: 30, trials: 5)
        #expect(try ReportData.decode(data.jsonData()) == data)
        let odd = try #require(ReportSample.degenerate.first { $0.0 == "not finite" }?.1)
        let back = try ReportData.decode(odd.jsonData())
        #expect(back.targets[0].simulated[0].isNaN)
        #expect(back.targets[0].simulated[1] == .infinity)
        #expect(back.targets[0].baseline?[0] == nil)
        #expect(back.created == odd.created)
    }
}

@Suite("Report drawing")
struct ReportDrawingTests {
    @Test("log scales tick at round values across decades")
    func logTicks() {
        let scale = ReportScale(values: [0.01, 100], log: true, padding: 0)
        #expect(scale.isLog)
        #expect(scale.ticks() == [0.01, 0.1, 1, 10, 100])
        let narrow = ReportScale(values: [2, 30], log: true, padding: 0)
        #expect(narrow.ticks() == [2, 5, 10, 20])
        let tiny = ReportScale(values: [1.1, 1.3], log: true, padding: 0)
        #expect(tiny.ticks().count >= 2)
        #expect(tiny.ticks().allSatisfy { $0 >= 1.1 && $0 <= 1.3 })
    }

    @Test("linear ticks are round and cover the range; log is chosen for values over decades")
    func linearTicks() {
        var scale = ReportScale(values: [0.03, 0.97], log: false, padding: 0)
        scale.nice()
        #expect(scale.ticks() == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(ReportScale(values: [0.5, 800]).isLog)
        #expect(!ReportScale(values: [0.5, 8]).isLog)
        #expect(!ReportScale(values: [-1, 800]).isLog)
    }

    @Test("scales map degenerate input to finite pixels", arguments: [
        [Double](), [1], [0], [-3, -3], [.nan, .infinity], [1e-300, 1e300], [0, 0, 0],
    ])
    func degenerateScales(values: [Double]) {
        for log in [nil, true, false] as [Bool?] {
            let scale = ReportScale(values: values, log: log, start: 0, end: 100)
            for value in values + [0, 1, -1, .nan, .infinity] {
                #expect(scale(value).isFinite)
            }
            #expect(scale.ticks().allSatisfy { $0.isFinite })
        }
    }

    @Test("numbers are formatted for people", arguments: [
        (2.3456, "2.35%"), (0.05, "0.05%"), (12.34, "12.3%"), (140.2, "140%"), (Double.nan, "—"),
    ])
    func percent(value: Double, text: String) {
        #expect(ReportText.percent(value) == text)
    }

    @Test("tick labels are short")
    func tickLabels() {
        #expect(ReportText.tick(0.1) == "0.1")
        #expect(ReportText.tick(1000) == "1000")
        #expect(ReportText.tick(1e6) == "1e6")
        #expect(ReportText.tick(1e-5) == "1e-5")
        #expect(ReportText.tick(0.25) == "0.25")
        #expect(ReportText.duration(245) == "4 min 05 s")
        #expect(ReportHTML.grouped(1234567) == "1,234,567")
    }

    @Test("SVG coordinates are never NaN")
    func coordinates() {
        #expect(SVGCanvas.c(.nan) == "0")
        #expect(SVGCanvas.c(.infinity) == "0")
        #expect(SVGCanvas.c(12.34) == "12.3")
        #expect(SVGCanvas.c(-2) == "-2")
    }
}
