import ArgumentParser
import Foundation
import Pipeline

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a run's report data (JSON) as a self-contained HTML page.",
        discussion: "Regenerates `report.html` from the `report.json` that `duet run` writes next to it."
    )

    @Argument(help: "Report data written by `duet run` (JSON).") var data: String
    @Option(help: "Where to write the HTML page.") var out: String = "report.html"

    func run() throws {
        let report: ReportData
        do {
            report = try ReportData.decode(Data(contentsOf: URL(fileURLWithPath: data)))
        } catch {
            throw CLIError("cannot read report data \(data): \(error)")
        }
        do {
            try Data(ReportHTML.render(report).utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw CLIError("cannot write \(out): \(error.localizedDescription)")
        }
        print("wrote \(out)")
    }
}
