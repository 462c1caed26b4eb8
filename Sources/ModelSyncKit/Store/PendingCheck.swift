#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// A health check that has started and not yet ended: written durably before the swap that makes an
/// unchecked set active, removed once the check has passed or the previous set is back.
///
/// It is a file beside the index rather than an index row because the index is a cache that may be
/// rebuilt; a process killed during the check leaves it behind, and the next writer puts the previous set
/// back before doing anything else (`Generations.settleInterruptedCheck()`).
public struct PendingCheck: Sendable, Equatable {
    /// The generation being checked.
    public var generation: Int
    /// The generation that was active before it, or nil when none was.
    public var previous: Int?
    /// The manifest of the generation being checked.
    public var manifest: Digest

    /// The record's text: three `key value` lines.
    var text: String {
        "generation \(generation)\nprevious \(previous.map(String.init) ?? "none")\nmanifest \(manifest)\n"
    }

    /// Parses `text`; nil when it is not a whole record (a torn write cannot happen: it is renamed into place).
    init?(text: String) {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        guard let generation = fields["generation"].flatMap({ Int($0) }),
              let previousText = fields["previous"],
              let manifest = fields["manifest"].flatMap({ try? Digest(parsing: $0) }) else { return nil }
        self.init(generation: generation, previous: previousText == "none" ? nil : Int(previousText), manifest: manifest)
    }

    /// A record of the check of `generation`, which replaces `previous`.
    public init(generation: Int, previous: Int?, manifest: Digest) {
        self.generation = generation
        self.previous = previous
        self.manifest = manifest
    }
}

extension GenerationLedger {
    /// The health check a killed process left unfinished, or nil.
    func pendingCheck() -> PendingCheck? {
        guard let bytes = try? FileSystem.readAll(layout.checkPendingPath) else { return nil }
        return PendingCheck(text: String(decoding: bytes, as: UTF8.self))
    }

    /// Durably records that `check` is about to start (before the swap that makes its set active).
    func beginCheck(_ check: PendingCheck) throws {
        try FileSystem.writeAtomically(Array(check.text.utf8), to: layout.checkPendingPath)
    }

    /// Durably forgets the pending check: it passed, or the previous set is back.
    func endCheck() throws {
        let path = layout.checkPendingPath
        if unlink(path) != 0 {
            guard errno == ENOENT else { throw IOError.current("unlink", path) }
            return
        }
        try FileSystem.sync(layout.root, directory: true)
    }

    /// Records that the check of `check.generation` never finished: that generation is marked failed, the
    /// one put back (if any) active. The manifest is not remembered as bad: it did not fail its check, so
    /// the next pull or activate tries it again, check included.
    func recordInterruptedCheck(_ check: PendingCheck, restoring restored: Int?, at time: Date = Date()) throws {
        try index.transaction {
            try index.database.run("UPDATE generations SET state = ? WHERE number = ?",
                                   [.text(GenerationState.failed.rawValue), .int(check.generation)])
            if let restored {
                try recordActivationRows(of: restored, at: time)
            }
            try index.recordEvent(StoreEvent(time: time, kind: .healthFailed, generation: restored,
                                             fromGeneration: check.generation, manifest: check.manifest,
                                             reason: "health check interrupted: model-sync stopped before it ended"))
        }
    }
}
