// Renders a report in headless Chromium through scripts/render-report.sh and checks
// that a PNG comes out. Set DUET_REPORT_SAMPLE_DIR to keep the page and the PNG.

import Foundation
import Testing
@testable import Pipeline

@Suite("Report screenshot")
struct ReportScreenshotTests {
    /// The package root: this file is Tests/PipelineTests/ReportScreenshotTests.swift.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The first of `names` found on PATH.
    static func executable(_ names: [String]) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            for name in names {
                let candidate = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    @Test("render-report.sh turns a rendered page into a PNG", .timeLimit(.minutes(3)))
    func screenshot() throws {
        guard Self.executable(["chromium", "chromium-browser", "google-chrome"]) != nil else {
            Issue.record("chromium is not installed: run make test, which installs it")
            return
        }
        let keep = ProcessInfo.processInfo.environment["DUET_REPORT_SAMPLE_DIR"]
        let directory = keep.map { URL(fileURLWithPath: $0, isDirectory: true) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("duet-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(at: directory) } }

        let data = ReportSample.full()
        let page = directory.appendingPathComponent("report.html")
        let png = directory.appendingPathComponent("report.png")
        try Data(ReportHTML.render(data).utf8).write(to: page)
        try data.jsonData().write(to: directory.appendingPathComponent("report.json"))
        if keep != nil {
            // The degenerate pages too, to look at by hand.
            for (name, odd) in ReportSample.degenerate {
                let file = "degenerate-" + name.replacingOccurrences(of: " ", with: "-") + ".html"
                try Data(ReportHTML.render(odd).utf8).write(to: directory.appendingPathComponent(file))
            }
        }

        let log = directory.appendingPathComponent("render.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.packageRoot.appendingPathComponent("scripts/render-report.sh").path,
                             page.path, png.path, "1280", "6400"]
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "render-report.sh failed:\n\(output)")

        let bytes = try #require(FileManager.default.contents(atPath: png.path), "no PNG written:\n\(output)")
        #expect(bytes.count > 10_000, "the PNG is suspiciously small (\(bytes.count) bytes)")
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG")
    }

    @Test("render-report.sh fails clearly on a missing page")
    func missingPage() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.packageRoot.appendingPathComponent("scripts/render-report.sh").path,
                             "/nonexistent/report.html", "/tmp/never.png"]
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(message.contains("no such file"))
    }
}
