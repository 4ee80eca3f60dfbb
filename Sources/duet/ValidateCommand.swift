import ArgumentParser
import DuetSupport
import Foundation
import Pipeline
import Search
import Simulation
import Surrogate

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Compare a surrogate with trace-driven simulation over a grid of station configurations.",
        discussion: """
            GRID is a sweep spec whose vary entries are lists ({ choice: [...] }) or whole ranges \
            ({ int: [a, b] }); every combination is one configuration (its base arrival is not \
            used; see examples/azure-grid.yaml). Each is simulated with the trace's arrivals (and \
            work) replayed, and predicted by the surrogate and by the analytical baseline (QNA) \
            from the trace's fit (`duet fit-trace`): its on/off or renewal batch process, its \
            batch sizes, and its work folded into the service times (mean x mean multiplier, \
            scv (1+c_w)(1+c_x)-1). With --rate-multipliers, every configuration is also validated \
            with the traffic that many times as fast (the trace replayed faster, the fit run faster). Prints the MAPE of each target for both, then one line per \
            configuration. Progress (configurations simulated, ETA) goes to stderr on a terminal, \
            or with --progress.
            """
    )

    @Argument(help: "Model file written by `duet train` or `duet search`.") var model: String
    @Option(help: "Trace CSV: one row per job with its arrival time.") var trace: String
    @Option(help: "Grid of station configurations (a sweep spec with lists); see examples/azure-grid.yaml.")
    var stations: String
    @OptionGroup var traceOptions: TraceOptions
    @Option(help: "What the predictions see of the trace: onoff, renewal or mmpp (its fit; default onoff when the model knows on/off arrivals), or trace (for a model trained on a sweep over this trace).")
    var arrival: String?
    @Option(help: "Also simulate the fitted process, from N jobs per replication (the grid's precision target may add more; 0: skip), to tell the fit's error from the surrogate's.")
    var fitJobs = 200_000
    @Option(help: ArgumentHelp("Also validate with the traffic this many times as fast: the trace replayed faster, its fit run faster (comma-separated, as in 1,1.5,2).", valueName: "m,m,..."))
    var rateMultipliers = "1"
    @Option(help: "Configurations simulated at once (default: all cores).") var threads: Int?
    @Flag(help: "Print JSON: the fit, MAPE per target for the surrogate and the baseline, and every configuration.")
    var json = false
    @OptionGroup var progress: ProgressOption

    func validate() throws {
        if let arrival, FittedArrival(rawValue: arrival) == nil {
            throw ValidationError("--arrival: expected onoff, renewal, mmpp or trace, got \(arrival)")
        }
        if let threads, threads < 1 { throw ValidationError("--threads: must be >= 1, got \(threads)") }
        if fitJobs < 0 { throw ValidationError("--fit-jobs: must be >= 0, got \(fitJobs)") }
        _ = try multipliers()
    }

    /// `--rate-multipliers` as numbers.
    func multipliers() throws -> [Double] {
        let items = rateMultipliers.split(separator: ",", omittingEmptySubsequences: false)
        return try items.map { item in
            guard let value = Double(item.trimmingCharacters(in: .whitespaces)), value > 0, value.isFinite else {
                throw ValidationError("--rate-multipliers: expected numbers > 0 separated by commas, got \"\(item)\" "
                                          + "in \"\(rateMultipliers)\"")
            }
            return value
        }
    }

    func run() throws {
        let surrogate = try withDatasetErrors { try SurrogateModel.load(path: model) }
        let loaded = try traceOptions.load(path: trace)
        let grid: SweepSpec
        do {
            grid = try SweepSpec.load(path: stations, needsDesign: false)
        } catch let error as ConfigError {
            throw CLIError(error.path.isEmpty ? "\(error)" : "\(stations): \(error)")
        }
        if !surrogate.composesStations {
            do { try surrogate.checkStations(grid.base) } catch { throw CLIError("\(stations): \(error)") }
        }
        let fitted = arrival.flatMap(FittedArrival.init(rawValue:)) ?? (surrogate.featureVersion >= 2 ? .onOff : .renewal)
        let threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        let validation: TraceValidation
        let started = monotonicSeconds()
        do {
            validation = try TraceValidation.run(
                model: surrogate, trace: loaded, grid: grid, rateMultipliers: try multipliers(), arrival: fitted,
                threads: threads,
                fittedJobs: fitJobs > 0 ? fitJobs : nil
            ) { done, total in
                if done == total || done % max(1, total / 10) == 0 {
                    let elapsed = monotonicSeconds() - started
                    let eta = done < total && done > 0 ? String(format: ", ETA %.0f s", elapsed / Double(done) * Double(total - done)) : ""
                    progress.line(String(format: "simulated %d of %d configurations in %.0f s%@", done, total, elapsed, eta))
                }
            }
        } catch let error as TraceValidationError {
            throw CLIError("\(stations): \(error)")
        }
        if json {
            print(Self.json(validation).text(numbers: .plain, pretty: true))
        } else {
            print(Self.text(validation, model: surrogate))
        }
    }

    /// Four significant digits.
    static func short(_ x: Double) -> String { String(format: "%.4g", x) }

    static func percent(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "—" }
        return String(format: "%.2f%%", x)
    }

    static func text(_ v: TraceValidation, model: SurrogateModel) -> String {
        var lines: [String] = []
        let fit = v.fit
        var what = "\(fit.jobs) jobs in \(fit.batches) batches over \(short(fit.span)) s; predictions see "
        // The first row at multiplier 1 (the process as fitted), else the first row.
        let multiplied = v.parameterNames.first == "arrival.rateMultiplier"
        let first = (v.rows.first { $0.rateMultiplier == 1 } ?? v.rows.first)?.fitted
        if v.arrival == .trace {
            what += "the trace as a sweep over it records it (rate \(short(first?.arrivalRate ?? .nan))/s, "
                + "scv \(short(first?.interArrival.scv ?? .nan)))"
        } else if v.arrival == .mmpp, let mmpp = first?.mmpp {
            what += "the MMPP fit (\(fit.mmpp.levels) level(s), rate \(short(mmpp.meanRate))/s, "
                + "long-run dispersion \(short(mmpp.asymptoticDispersion)))"
        } else if let onOff = first?.onOff {
            what += "on/off arrivals (rate \(short(fit.batchRate))/s, onFraction \(short(onOff.onFraction)), "
                + "meanOn \(short(onOff.meanOn)) s)"
        } else {
            what += "renewal arrivals (rate \(short(fit.batchRate))/s, scv \(short(fit.arrivalScv)))"
        }
        what += ", batches \(fit.batch.spec.distName) mean \(short(fit.batch.mean))"
        if let work = fit.work { what += ", work mean \(short(work.mean)) scv \(short(work.scv))" }
        if multiplied {
            what += "; each row's arrival.rateMultiplier runs the trace and its fit that many times as fast"
        }
        lines.append(what)
        let overloaded = v.overloadedUnderFitRows
        lines.append("\(v.rows.count) configurations, \(v.stableRows) stable under the trace"
                     + (overloaded > 0 ? " (\(overloaded) of them overloaded under the fit, left out of the MAPEs)" : "")
                     + "; "
                     + String(format: "%.1f s", v.seconds))
        lines.append("")
        let withFit = v.rows.contains { $0.fittedSimulated != nil }
        lines.append("MAPE against the trace-driven simulation"
                     + (withFit ? "; the fitted process simulated, and the surrogate against that simulation:" : ":"))
        var mapeHeader = "target".padding(toLength: 34, withPad: " ", startingAt: 0) + "surrogate".leftPadded(11)
            + "QNA".leftPadded(11)
        if withFit { mapeHeader += "fitted sim".leftPadded(12) + "surr. vs fit".leftPadded(14) }
        lines.append(mapeHeader)
        // The MAPE columns after a line's leading cells.
        func mapeCells(_ entry: TraceValidation.MAPE) -> String {
            var cells = percent(entry.surrogate).leftPadded(11) + percent(entry.analytic).leftPadded(11)
            if withFit { cells += percent(entry.fittedProcess).leftPadded(12) + percent(entry.surrogateVsFitted).leftPadded(14) }
            return cells
        }
        for entry in v.mape {
            lines.append(entry.target.padding(toLength: 34, withPad: " ", startingAt: 0) + mapeCells(entry))
        }
        let byMultiplier = v.mapeByRateMultiplier
        if byMultiplier.count > 1, let t = v.targetNames.firstIndex(of: "meanResponse") {
            lines.append("")
            lines.append("meanResponse MAPE by rate multiplier:")
            var header = "arrival.rateMultiplier".padding(toLength: 24, withPad: " ", startingAt: 0) + "rows".leftPadded(6)
                + "surrogate".leftPadded(11) + "QNA".leftPadded(11)
            if withFit { header += "fitted sim".leftPadded(12) + "surr. vs fit".leftPadded(14) }
            lines.append(header)
            for (multiplier, count, mape) in byMultiplier {
                lines.append(ConfigColumns.format(multiplier).padding(toLength: 24, withPad: " ", startingAt: 0)
                             + String(count).leftPadded(6) + mapeCells(mape[t]))
            }
        }
        lines.append("")
        let header = v.parameterNames + ["trace sim", "±95%", "surrogate", "QNA"] + (withFit ? ["fitted sim"] : [])
        var rows: [[String]] = []
        let meanIndex = v.targetNames.firstIndex(of: "meanResponse") ?? 0
        for row in v.rows {
            let cells = row.values.map(\.description)
            let fittedCell = withFit ? [row.fittedSimulated.map { short($0[meanIndex]) } ?? "unstable"] : []
            if let simulated = row.simulated {
                rows.append(cells + [short(simulated[meanIndex]), row.meanResponseCI95.map(short) ?? "—",
                                     short(row.surrogate[meanIndex]), row.analytic[meanIndex].map(short) ?? "—"]
                            + fittedCell)
            } else {
                rows.append(cells + ["unstable", "", short(row.surrogate[meanIndex]), ""] + fittedCell)
            }
        }
        lines.append("meanResponse (s) per configuration:")
        let all = [header] + rows
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        for row in all {
            lines.append(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ v: TraceValidation) -> JSON {
        func targets(_ mape: [TraceValidation.MAPE]) -> JSON {
            .object(mape.map { entry in
                (entry.target, .object([("surrogateMape", .number(entry.surrogate)),
                                        ("analyticMape", entry.analytic.map(JSON.number) ?? .null),
                                        ("fittedProcessMape", entry.fittedProcess.map(JSON.number) ?? .null),
                                        ("surrogateVsFittedMape", entry.surrogateVsFitted.map(JSON.number) ?? .null)]))
            })
        }
        let byMultiplier: [JSON] = v.mapeByRateMultiplier.map { multiplier, count, mape in
            .object([("rateMultiplier", .number(multiplier)), ("configurations", .integer(count)),
                     ("targets", targets(mape))])
        }
        func metrics(_ values: [Double]?) -> JSON {
            guard let values else { return .null }
            return .object(zip(v.targetNames, values).map { ($0, JSON.number($1)) })
        }
        let rows: [JSON] = v.rows.map { row in
            let values: [(String, JSON)] = zip(v.parameterNames, row.values).map { name, value in
                (name, value.number.map(JSON.number) ?? .string(value.description))
            }
            let analytic: [(String, JSON)] = zip(v.targetNames, row.analytic).map { name, value in
                (name, value.map(JSON.number) ?? .null)
            }
            return .object([
                ("values", .object(values)), ("simulated", metrics(row.simulated)),
                ("surrogate", metrics(row.surrogate)), ("analytic", .object(analytic)),
                ("fittedSimulated", metrics(row.fittedSimulated)),
            ])
        }
        return .object([
            ("fit", v.fit.json), ("arrival", .string(v.arrival.rawValue)),
            ("configurations", .integer(v.rows.count)), ("stable", .integer(v.stableRows)),
            ("overloadedUnderFit", .integer(v.overloadedUnderFitRows)),
            ("targets", targets(v.mape)), ("byRateMultiplier", .array(byMultiplier)), ("rows", .array(rows)),
        ])
    }
}
