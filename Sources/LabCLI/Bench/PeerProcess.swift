import Foundation

/// Runs a peer benchmark program and returns what it printed.
enum PeerProcess {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try locate(executable))
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(executable) exited with status \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The `key=value` fields of each line of `output` that starts with `prefix` (a peer's
    /// report, e.g. `PEER insert ops=… seconds=…`), in the order the lines came.
    static func reportFields(in output: String, linesStartingWith prefix: String) -> [[Substring: Substring]] {
        output.split(separator: "\n").filter { $0.hasPrefix(prefix) }.map { line in
            var fields: [Substring: Substring] = [:]
            for field in line.split(separator: " ") {
                let parts = field.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { fields[parts[0]] = parts[1] }
            }
            return fields
        }
    }

    static func locate(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Failure(description: "\(executable) not found on PATH (scripts/setup installs it)")
    }
}

/// One benchmark line in the format every `lab bench` prints.
func printResult(_ name: String, swift: Double, peer: Double, unit: String = "ops/s", extra: String = "") {
    let ratio = peer > 0 ? swift / peer : 0
    let line = "RESULT \(name) swift=\(Int(swift.rounded())) peer=\(Int(peer.rounded())) ratio=\(String(format: "%.2f", ratio))"
    print(line + (extra.isEmpty ? "" : " \(extra)") + "  (\(unit))")
}

/// The `round_ratios=min..max` field of a RESULT line: the range of the rounds' own
/// swift/peer ratios (empty without rounds). On a small VM a case's rate swings with where
/// the scheduler places the client and the server, for both sides, and the aggregate ratio
/// means little without it.
func roundRatioSpread(_ ratios: [Double]) -> String {
    guard let low = ratios.min(), let high = ratios.max() else { return "" }
    return String(format: "round_ratios=%.2f..%.2f", low, high)
}
