#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ModelSyncKit
import Synchronization

/// Everything the CLI writes: results on stdout (text, or one JSON object with `--json`), messages and
/// progress on stderr. Progress is drawn only when stderr is a terminal and `--quiet` is off.
struct Output: Sendable {
    let json: Bool
    let quiet: Bool
    let verbose: Bool

    /// Prints the command's result: `value` as JSON with `--json`, else `text` (unless quiet); secrets scrubbed.
    func result(_ value: some Encodable, text: @autoclosure () -> String) {
        if json {
            print(SecretScrubber.shared.scrub(Output.encode(value)))
        } else if !quiet {
            let body = text()
            if !body.isEmpty { print(SecretScrubber.shared.scrub(body)) }
        }
    }

    /// A line on stderr (not with --quiet), secrets scrubbed.
    func note(_ line: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((SecretScrubber.shared.scrub(line) + "\n").utf8))
    }

    /// One warning line per secret left out of a set, so nobody wonders where `.env` went; files the user's
    /// `.modelsyncignore` leaves out are listed with `--verbose` only (the user asked for it).
    func excluded(_ exclusions: [ModelSetExclusion]) {
        for exclusion in exclusions where exclusion.isSecret || verbose {
            note(exclusion.isSecret
                 ? "warning: \(exclusion.path) was left out of the set: it looks like a secret (\(exclusion.pattern)); "
                     + "add `!\(exclusion.path)` to .modelsyncignore to include it"
                 : "left out of the set by .modelsyncignore (\(exclusion.pattern)): \(exclusion.path)")
        }
    }

    /// A progress handler drawing one self-overwriting line on stderr, at most ten times a second.
    func progressHandler() -> ProgressHandler? {
        guard !quiet, isatty(2) != 0 else { return nil }
        let last = Mutex<Double>(0)
        return { progress in
            let now = Date().timeIntervalSince1970
            let finished = progress.total.map { progress.completed >= $0 } ?? false
            let draw = last.withLock { previous -> Bool in
                if !finished && now - previous < 0.1 { return false }
                previous = now
                return true
            }
            guard draw else { return }
            var line = "\r\(progress.phase) \(Output.bytes(progress.completed))"
            if let total = progress.total, total > 0 {
                line += " / \(Output.bytes(total)) (\(progress.completed * 100 / total)%)"
            }
            line += "\u{1B}[K"
            if finished { line += "\n" }
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    /// Everything the CLI prints as JSON, through the library's one JSON encoding (`JSONCoding`): keys
    /// sorted, slashes unescaped, dates RFC 3339 UTC (digests encode themselves as `sha256:<hex>`).
    static func encode(_ value: some Encodable) -> String {
        do {
            return try JSONCoding.encode(value)
        } catch {
            // Only a non-finite Double can fail to encode, and no output type holds one.
            preconditionFailure("JSON output failed to encode: \(error)")
        }
    }

    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
