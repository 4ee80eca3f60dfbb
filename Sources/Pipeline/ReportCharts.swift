// The report's charts, each an inline `<svg>` string drawn from `ReportData`.

import Foundation

/// The bottleneck-load bands of `EvaluationReport.loadBands`, and their colours.
enum ReportLoadBand {
    static let names = ["0–0.5", "0.5–0.8", "0.8–1"]

    /// The band of a bottleneck load (loads of 1 or more count in the top band).
    static func index(_ load: Double) -> Int? {
        guard load.isFinite else { return nil }
        return load < 0.5 ? 0 : load < 0.8 ? 1 : 2
    }
}

enum ReportCharts {
    /// A placeholder of the chart's size, saying why there is no chart.
    static func empty(_ message: String, width: Double, height: Double) -> String {
        var canvas = SVGCanvas(width: width, height: height)
        canvas.rect(0.5, 0.5, width - 1, height - 1, fill: "#f9fafb", stroke: ReportPalette.grid, rx: 6)
        canvas.text(width / 2, height / 2 + 4, message, anchor: .middle, size: 12, fill: ReportPalette.muted)
        return canvas.render(label: message)
    }

    /// Splits a long dotted metric name over two lines: "stations.2." / "instanceSecondsPerJob".
    static func twoLines(_ name: String, maxCharacters: Int) -> [String] {
        guard name.count > maxCharacters, let dot = name.lastIndex(of: ".") else { return [name] }
        return [String(name[...dot]), String(name[name.index(after: dot)...])]
    }

    // MARK: Parity

    /// Predicted against simulated on log-log axes, with y = x and a ±5% band;
    /// points coloured by bottleneck-load band.
    static func parity(_ target: ReportData.Target, id: String, width: Double = 360, height: Double = 330) -> String {
        let n = target.count
        var values: [Double] = []
        values.reserveCapacity(2 * n)
        for i in 0..<n where target.simulated[i].isFinite && target.predicted[i].isFinite
            && target.simulated[i] > 0 && target.predicted[i] > 0 {
            values.append(target.simulated[i])
            values.append(target.predicted[i])
        }
        guard !values.isEmpty else { return empty("no test rows to plot", width: width, height: height) }
        let scale = ReportScale(values: values, log: true, padding: 0.06)
        let frame = PlotFrame(left: 62, top: 12, width: width - 76, height: height - 60, x: scale, y: scale)
        var canvas = SVGCanvas(width: width, height: height)
        frame.drawAxes(on: &canvas, xTitle: "simulated", yTitle: "predicted", xUnit: target.unit, yUnit: target.unit)
        canvas.beginClip(id: id + "-clip", frame.left, frame.top, frame.width, frame.height)
        // The band and the diagonal, sampled along the axis so a linear fallback works too.
        let lo = frame.x.isLog ? values.min()! / 10 : values.min()! - (values.max()! - values.min()!)
        let hi = frame.x.isLog ? values.max()! * 10 : values.max()! + (values.max()! - values.min()!)
        canvas.polygon([(frame.x(lo), frame.y(lo * 1.05)), (frame.x(hi), frame.y(hi * 1.05)),
                        (frame.x(hi), frame.y(hi * 0.95)), (frame.x(lo), frame.y(lo * 0.95))],
                       fill: ReportPalette.surrogate, opacity: 0.09)
        canvas.line(frame.x(lo), frame.y(lo), frame.x(hi), frame.y(hi), stroke: "#374151", width: 1, dash: "5 4")
        // Low loads first, so the (rarer, harder) high-load points are on top.
        let tooltips = n <= 1500
        let radius = n < 50 ? 3.5 : n < 500 ? 2.7 : 2.2
        for band in 0..<3 {
            for i in 0..<n where ReportLoadBand.index(target.bottleneckLoad[i]) ?? 2 == band {
                let s = target.simulated[i]
                let p = target.predicted[i]
                guard frame.accepts(s, p) else { continue }
                let tip = tooltips
                    ? "simulated \(ReportText.number(s)), predicted \(ReportText.number(p)), load \(ReportText.number(target.bottleneckLoad[i], digits: 3))"
                    : nil
                canvas.circle(frame.x(s), frame.y(p), r: radius, fill: ReportPalette.bands[band], opacity: 0.6,
                              tooltip: tip)
            }
        }
        canvas.endGroup()
        return canvas.render(label: "Predicted against simulated \(target.name)")
    }

    // MARK: Error distribution

    /// Signed percentage errors, 100 (predicted - simulated) / simulated, of the rows with
    /// a finite, non-zero simulated value.
    static func signedErrors(simulated: [Double], predicted: [Double?]) -> [Double] {
        zip(simulated, predicted).compactMap { s, p in
            guard let p, s.isFinite, p.isFinite, s != 0 else { return nil }
            let error = (p - s) / abs(s) * 100
            return error.isFinite ? error : nil
        }
    }

    /// A histogram of signed percentage errors of the surrogate, with the baseline's as
    /// an outline when it predicts this target. Errors beyond the range go to the end bins.
    static func errorHistogram(_ target: ReportData.Target, width: Double = 270,
                               height: Double = 210) -> String {
        let n = target.count
        let surrogate = signedErrors(simulated: Array(target.simulated.prefix(n)),
                                     predicted: target.predicted.prefix(n).map { Optional($0) })
        let baseline = target.baseline.map { signedErrors(simulated: Array(target.simulated.prefix(n)), predicted: Array($0.prefix(n))) } ?? []
        guard !surrogate.isEmpty else { return empty("no test rows", width: width, height: height) }
        // Range: the surrogate's 98th percentile of |error|, at least 1%, on a nice step.
        let magnitudes = surrogate.map(abs).sorted()
        let q = magnitudes[min(magnitudes.count - 1, Int(Double(magnitudes.count) * 0.98))]
        let range = max(1, ReportScale.niceStep(q * 1.1 / 2) * 2)
        let bins = 24
        let binWidth = 2 * range / Double(bins)
        func counts(_ errors: [Double]) -> [Int] {
            var counts = [Int](repeating: 0, count: bins)
            for e in errors {
                let i = Int(((e + range) / binWidth).rounded(.down))
                counts[min(max(i, 0), bins - 1)] += 1
            }
            return counts
        }
        let surrogateCounts = counts(surrogate)
        let baselineCounts = baseline.isEmpty ? [] : counts(baseline)
        let top = Double((surrogateCounts + baselineCounts).max() ?? 1)
        let x = ReportScale(kind: .linear, lower: -range, upper: range, start: 0, end: 1)
        var y = ReportScale(values: [0, top], log: false, padding: 0.02, includeZero: true)
        y.nice(count: 4)
        let frame = PlotFrame(left: 46, top: 10, width: width - 58, height: height - 56, x: x, y: y)
        var canvas = SVGCanvas(width: width, height: height)
        let ticks = [-range, -range / 2, 0, range / 2, range]
        frame.drawAxes(on: &canvas, xTitle: "error", yTitle: "rows", xUnit: "%", xTicks: ticks,
                       xTickLabel: { v in (v > 0 ? "+" : "") + ReportText.tick(v) }, yTickCount: 4)
        for (i, count) in surrogateCounts.enumerated() where count > 0 {
            let x0 = frame.x(-range + Double(i) * binWidth)
            let x1 = frame.x(-range + Double(i + 1) * binWidth)
            let label = i == 0 ? "≤ \(ReportText.tick(-range + binWidth))%" : i == bins - 1
                ? "≥ \(ReportText.tick(range - binWidth))%"
                : "\(ReportText.tick(-range + Double(i) * binWidth))% to \(ReportText.tick(-range + Double(i + 1) * binWidth))%"
            canvas.rect(x0 + 0.5, frame.y(Double(count)), x1 - x0 - 1, frame.bottom - frame.y(Double(count)),
                        fill: ReportPalette.surrogate, opacity: 0.8, tooltip: "\(label): \(count) rows")
        }
        if !baselineCounts.isEmpty {
            var points: [(Double, Double)] = [(frame.x(-range), frame.bottom)]
            for (i, count) in baselineCounts.enumerated() {
                points.append((frame.x(-range + Double(i) * binWidth), frame.y(Double(count))))
                points.append((frame.x(-range + Double(i + 1) * binWidth), frame.y(Double(count))))
            }
            points.append((frame.x(range), frame.bottom))
            canvas.polyline(points, stroke: ReportPalette.baseline, width: 1.5, tooltip: "analytical baseline")
        }
        canvas.line(frame.x(0), frame.top, frame.x(0), frame.bottom, stroke: "#374151", width: 1, dash: "3 3")
        return canvas.render(label: "Distribution of percentage errors of \(target.name)")
    }

    // MARK: Error by load band

    /// The MAPE of each (target, band) from the test rows; nil for an empty band.
    static func bandMAPE(simulated: [Double], predicted: [Double?], loads: [Double]) -> [Double?] {
        var sums = [Double](repeating: 0, count: 3)
        var counts = [Int](repeating: 0, count: 3)
        for i in 0..<min(simulated.count, predicted.count, loads.count) {
            guard let p = predicted[i], let band = ReportLoadBand.index(loads[i]),
                  simulated[i].isFinite, simulated[i] != 0, p.isFinite else { continue }
            let error = abs(p - simulated[i]) / abs(simulated[i]) * 100
            guard error.isFinite else { continue }
            sums[band] += error
            counts[band] += 1
        }
        return (0..<3).map { counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : nil }
    }

    /// Grouped bars: for each target, the surrogate's MAPE in each load band (solid),
    /// and the baseline's (pale, outlined) where it predicts the target.
    static func errorByLoad(_ targets: [ReportData.Target], width: Double = 1140,
                            height: Double = 330) -> String {
        struct Bar {
            var target: Int
            var band: Int
            var baseline: Bool
            var value: Double?
        }
        var bars: [Bar] = []
        for (t, target) in targets.enumerated() {
            let n = target.count
            let sim = Array(target.simulated.prefix(n))
            let loads = Array(target.bottleneckLoad.prefix(n))
            let surrogate = bandMAPE(simulated: sim, predicted: target.predicted.prefix(n).map { Optional($0) }, loads: loads)
            let baseline = target.baseline.map { bandMAPE(simulated: sim, predicted: Array($0.prefix(n)), loads: loads) }
            for band in 0..<3 {
                bars.append(Bar(target: t, band: band, baseline: false, value: surrogate[band]))
                if let baseline { bars.append(Bar(target: t, band: band, baseline: true, value: baseline[band])) }
            }
        }
        let values = bars.compactMap(\.value)
        guard !values.isEmpty else { return empty("no test rows to group by load", width: width, height: 120) }
        let positive = values.filter { $0 > 0 }
        let useLog = !positive.isEmpty && positive.count == values.count && positive.max()! / positive.min()! >= 30
        var y = useLog ? ReportScale(values: positive, log: true, padding: 0.08)
            : ReportScale(values: values + [0], log: false, padding: 0.08, includeZero: true)
        y.nice(count: 5)
        let x = ReportScale(kind: .linear, lower: 0, upper: Double(max(targets.count, 1)), start: 0, end: 1)
        let frame = PlotFrame(left: 64, top: 16, width: width - 80, height: height - 76, x: x, y: y)
        var canvas = SVGCanvas(width: width, height: height)
        frame.drawAxes(on: &canvas, xTitle: nil, yTitle: "MAPE", yUnit: "%", xTicks: [])
        let groupWidth = frame.width / Double(max(targets.count, 1))
        for (t, target) in targets.enumerated() {
            let group = bars.filter { $0.target == t }
            let slots = Double(group.count) + 0.3 * 2 // padding on both sides, in bar widths
            let barWidth = min(groupWidth / max(slots, 1), 34)
            let start = frame.left + groupWidth * Double(t) + (groupWidth - barWidth * Double(group.count)) / 2
            for (k, bar) in group.enumerated() {
                let x0 = start + Double(k) * barWidth
                let colour = ReportPalette.bands[bar.band]
                let what = bar.baseline ? "baseline" : "surrogate"
                guard let value = bar.value, frame.y.accepts(value) else {
                    canvas.text(x0 + barWidth / 2, frame.bottom - 4, "–", anchor: .middle, size: 10,
                                fill: ReportPalette.muted)
                    continue
                }
                let base = frame.y.isLog ? frame.bottom : frame.y(0)
                let tip = "\(target.name), load \(ReportLoadBand.names[bar.band]), \(what): MAPE \(ReportText.percent(value))"
                if bar.baseline {
                    canvas.rect(x0 + 1.5, frame.y(value), barWidth - 3, base - frame.y(value), fill: colour,
                                stroke: colour, opacity: 0.22, tooltip: tip)
                } else {
                    canvas.rect(x0 + 1, frame.y(value), barWidth - 2, base - frame.y(value), fill: colour,
                                opacity: 0.9, tooltip: tip)
                }
                if barWidth >= 16 {
                    canvas.text(x0 + barWidth / 2, frame.y(value) - 4, ReportText.tick(roundForLabel(value)),
                                anchor: .middle, size: 9, fill: ReportPalette.label)
                }
            }
            let lines = twoLines(target.name, maxCharacters: Int(groupWidth / 6.2))
            for (l, line) in lines.enumerated() {
                canvas.text(frame.left + groupWidth * (Double(t) + 0.5), frame.bottom + 18 + Double(l) * 13, line,
                            anchor: .middle, size: 11, fill: "#374151")
            }
            if t > 0 {
                canvas.line(frame.left + groupWidth * Double(t), frame.bottom, frame.left + groupWidth * Double(t),
                            frame.bottom + 6, stroke: ReportPalette.axis)
            }
        }
        return canvas.render(label: "MAPE by bottleneck load band")
    }

    /// Two significant digits for a bar's label.
    static func roundForLabel(_ value: Double) -> Double {
        guard value.isFinite, value != 0 else { return value }
        let power = pow(10, (log10(abs(value))).rounded(.down) - 1)
        return (value / power).rounded() * power
    }

    // MARK: Learning curves

    /// Validation MAPE against epoch for every trial (log y), the best trial on top.
    static func learningCurves(_ search: ReportData.Search, id: String, width: Double = 1140,
                               height: Double = 380) -> String {
        let trials = search.trials.filter { trial in trial.points.contains { $0.validationMAPE.isFinite } }
        guard !trials.isEmpty else { return empty("no trial reported a validation MAPE", width: width, height: 120) }
        let mapes = trials.flatMap { $0.points.map(\.validationMAPE) }.filter(\.isFinite)
        let epochs = trials.flatMap { $0.points.map { Double($0.epoch) } }
        let y = ReportScale(values: mapes, log: mapes.allSatisfy { $0 > 0 } ? true : false, padding: 0.05)
        var x = ReportScale(values: epochs + [0], log: false, padding: 0, includeZero: true)
        x.nice(count: 8)
        let frame = PlotFrame(left: 64, top: 14, width: width - 84, height: height - 62, x: x, y: y)
        var canvas = SVGCanvas(width: width, height: height)
        // Epochs are whole numbers: no ticks between them.
        var epochTicks = x.ticks(count: 8).filter { $0 == $0.rounded() }
        if epochTicks.count < 2 { epochTicks = [x.ticks(count: 8).first ?? 0, x.ticks(count: 8).last ?? 1] }
        frame.drawAxes(on: &canvas, xTitle: "epoch", yTitle: "validation MAPE of \(search.metric)", yUnit: "%",
                       xTicks: epochTicks, yTickCount: 6)
        canvas.beginClip(id: id + "-clip", frame.left - 4, frame.top - 4, frame.width + 8, frame.height + 8)
        func points(_ trial: ReportData.Trial) -> [(Double, Double)] {
            trial.points.sorted { $0.epoch < $1.epoch }
                .filter { frame.accepts(Double($0.epoch), $0.validationMAPE) }
                .map { (frame.x(Double($0.epoch)), frame.y($0.validationMAPE)) }
        }
        func tooltip(_ trial: ReportData.Trial) -> String {
            let hyper = trial.hyperparameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: ", ")
            return "trial \(trial.id) (\(trial.state)): best \(ReportText.percent(trial.bestMAPE ?? .nan)); \(hyper)"
        }
        let best = trials.first { $0.id == search.bestTrialID }
        for trial in trials where trial.id != best?.id {
            let style = curveStyle(trial.state)
            let line = points(trial)
            if line.count == 1 {
                canvas.circle(line[0].0, line[0].1, r: 2.5, fill: style.colour, opacity: style.opacity,
                              tooltip: tooltip(trial))
            } else {
                canvas.polyline(line, stroke: style.colour, width: 1.2, opacity: style.opacity, dash: style.dash,
                                tooltip: tooltip(trial))
                if let last = line.last {
                    canvas.circle(last.0, last.1, r: 1.8, fill: style.colour, opacity: style.opacity)
                }
            }
        }
        canvas.endGroup()
        if let best {
            let line = points(best)
            canvas.polyline(line, stroke: "#ffffff", width: 5.5)
            canvas.polyline(line, stroke: ReportPalette.best, width: 2.6, tooltip: tooltip(best))
            if let bestMAPE = best.bestMAPE,
               let at = best.points.first(where: { $0.validationMAPE == bestMAPE }),
               frame.accepts(Double(at.epoch), bestMAPE) {
                let px = frame.x(Double(at.epoch))
                let py = frame.y(bestMAPE)
                canvas.circle(px, py, r: 4.5, fill: ReportPalette.best, stroke: "#ffffff")
                // The caption sits in the top-right corner, which falling curves leave empty.
                let label = "best: trial \(best.id), \(ReportText.percent(bestMAPE)) at epoch \(at.epoch)"
                let boxWidth = Double(label.count) * 6.9 + 30
                let boxLeft = frame.right - boxWidth - 8
                canvas.rect(boxLeft, frame.top + 8, boxWidth, 24, fill: "#ffffff", stroke: "#bfdbfe", opacity: 0.92, rx: 4)
                canvas.circle(boxLeft + 13, frame.top + 20, r: 4.5, fill: ReportPalette.best, stroke: "#ffffff")
                canvas.text(boxLeft + 23, frame.top + 24.5, label, size: 12, fill: ReportPalette.best, weight: "600")
            }
        }
        return canvas.render(label: "Validation MAPE against epoch for each trial")
    }

    /// Colour, opacity and dash of a non-best trial's curve.
    static func curveStyle(_ state: String) -> (colour: String, opacity: Double, dash: String?) {
        switch state.lowercased() {
        case "completed", "complete", "finished", "done": return ("#64748b", 0.75, nil)
        case "failed", "error": return (ReportPalette.failed, 0.6, "2 3")
        case "running", "queued", "pending": return ("#64748b", 0.6, "6 3")
        default: return ("#a8b3c4", 0.65, nil) // stopped, paused (not promoted by ASHA), cancelled
        }
    }

    // MARK: Coverage

    /// The sampled values of two input columns; unstable rows as red crosses.
    static func coverage(_ pair: ReportData.Coverage, id: String, width: Double = 360, height: Double = 320) -> String {
        let n = min(pair.x.count, pair.y.count)
        let xs = Array(pair.x.prefix(n))
        let ys = Array(pair.y.prefix(n))
        let finite = (0..<n).filter { xs[$0].isFinite && ys[$0].isFinite }
        guard !finite.isEmpty else { return empty("no sampled points", width: width, height: height) }
        let x = ReportScale(values: finite.map { xs[$0] }, padding: 0.05)
        let y = ReportScale(values: finite.map { ys[$0] }, padding: 0.05)
        let frame = PlotFrame(left: 62, top: 12, width: width - 78, height: height - 60, x: x, y: y)
        var canvas = SVGCanvas(width: width, height: height)
        frame.drawAxes(on: &canvas, xTitle: pair.xName, yTitle: pair.yName)
        canvas.beginClip(id: id + "-clip", frame.left - 4, frame.top - 4, frame.width + 8, frame.height + 8)
        let unstable = pair.unstable ?? []
        var crosses: [Int] = []
        for i in finite where frame.accepts(xs[i], ys[i]) {
            if i < unstable.count && unstable[i] { crosses.append(i); continue }
            canvas.circle(frame.x(xs[i]), frame.y(ys[i]), r: 2.3, fill: ReportPalette.sample, opacity: 0.5)
        }
        for i in crosses {
            canvas.cross(frame.x(xs[i]), frame.y(ys[i]), size: 3, stroke: ReportPalette.unstable,
                         tooltip: "unstable: \(pair.xName) \(ReportText.number(xs[i])), \(pair.yName) \(ReportText.number(ys[i]))")
        }
        canvas.endGroup()
        return canvas.render(label: "Sampled \(pair.yName) against \(pair.xName)")
    }
}
