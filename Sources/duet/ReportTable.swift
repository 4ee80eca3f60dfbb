import Simulation

/// The readable table `duet simulate` prints by default.
enum ReportTable {
    static func render(_ report: SimulationReport) -> String {
        guard report.stable else {
            return "UNSTABLE: \(report.unstableReason ?? "the queue grows without bound")\n"
                + "(\(report.jobs) jobs in \(report.replications) replications; no metrics are reported)"
        }
        var lines: [String] = []
        func row(_ label: String, _ estimate: Estimate) -> String {
            let ci = estimate.ci95.map { "± " + format($0) } ?? ""
            return label.padding(toLength: 26, withPad: " ", startingAt: 0)
                + format(estimate.mean).leftPadded(14) + "  " + ci
        }
        lines.append("system".padding(toLength: 26, withPad: " ", startingAt: 0) + "mean".leftPadded(14) + "  95% half-width")
        for (i, name) in MetricCatalog.systemMetrics.enumerated() {
            lines.append(row("  " + name, report.estimates[i]))
        }
        for station in report.stationNames.indices {
            let label = report.stationNames[station].map { "station \(station + 1) (\($0))" } ?? "station \(station + 1)"
            lines.append(label)
            for (m, name) in MetricCatalog.stationMetrics.enumerated() {
                lines.append(row("  " + name, report.estimates[MetricCatalog.stationIndex(station, m)]))
            }
        }
        var footer = "\(report.jobs) jobs (\(report.replications) replications of \(report.jobsPerReplication))"
        if let target = report.precisionTarget {
            footer += report.precisionMet == true
                ? ", precision \(format(target)) met" : ", precision \(format(target)) NOT met (maxJobs reached)"
        }
        footer += String(format: " in %.2f s; ", report.seconds) + PercentileMethod.description
        if report.controlVariates { footer += "; response metrics corrected by control variates" }
        lines.append(footer)
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double) -> String {
        if !value.isFinite { return "—" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 { return String(format: "%.4e", value) }
        return String(format: "%.5g", value)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
