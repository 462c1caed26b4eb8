import Foundation

/// The one owner of generation state: which generation is active, what the index records about every
/// generation, the history the rollback target comes from, and the manifests remembered as bad.
///
/// The symlink `models_dir` is the truth about the active set (it changes with one `rename(2)`, the index a
/// moment later), so reading it lives here, beside the records it is compared with. Every change of state is
/// one method that writes its rows and its event in one transaction; activation and fsck call these
/// methods and never write generation rows themselves. Confined, like the index it writes.
struct GenerationLedger {
    let layout: StoreLayout
    let index: Index

    private var database: Database { index.database }

    // MARK: the active set

    /// The generation number the symlink `modelsDir` points at, or nil (no link, a real directory, or a
    /// link outside `layout`'s generations directory).
    static func activeNumber(modelsDir: String, layout: StoreLayout) -> Int? {
        let absolute = FileSystem.absolute(modelsDir)
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: absolute) else { return nil }
        let resolved = target.hasPrefix("/") ? FileSystem.absolute(target)
            : FileSystem.absolute((absolute as NSString).deletingLastPathComponent + "/" + target)
        let prefix = FileSystem.absolute(layout.generations) + "/"
        guard resolved.hasPrefix(prefix) else { return nil }
        return Int(resolved.dropFirst(prefix.count))
    }

    /// The generation `modelsDir` points at, or nil.
    func activeNumber(modelsDir: String) -> Int? {
        GenerationLedger.activeNumber(modelsDir: modelsDir, layout: layout)
    }

    /// The generation a rollback returns to: the one that was active before the current one (history
    /// order), if it is still retained.
    func rollbackTarget(modelsDir: String) throws -> Int? {
        guard let active = activeNumber(modelsDir: modelsDir),
              let previous = try activeBefore(active) else { return nil }
        return try record(previous)?.state == .retained ? previous : nil
    }

    // MARK: records

    /// All generations, newest first.
    func all() throws(SQLiteError) -> [GenerationRecord] {
        try database.query("SELECT number, manifest, state, created_at, activated_at FROM generations ORDER BY number DESC") { row in
            GenerationRecord(
                number: row.int(0),
                manifest: (try? Digest(parsing: row.text(1))) ?? Digest.empty,
                state: GenerationState(rawValue: row.text(2)) ?? .failed,
                createdAt: Date(timeIntervalSince1970: TimeInterval(row.int64(3))),
                activatedAt: row.optionalInt(4).map { Date(timeIntervalSince1970: TimeInterval($0)) })
        }
    }

    /// The record of generation `number`, or nil.
    func record(_ number: Int) throws(SQLiteError) -> GenerationRecord? {
        try all().first { $0.number == number }
    }

    /// The number for a new generation: one above any ever used, in the records, the event log or on disk
    /// (a directory, a half-built one, a sidecar), so a number is never reused — not even when the index,
    /// which is only a cache, was deleted or emptied.
    func nextNumber() throws -> Int {
        let fromGenerations = try database.query("SELECT MAX(number) FROM generations") { $0.optionalInt(0) }.first ?? nil
        let fromEvents = try database.query("SELECT MAX(generation) FROM events") { $0.optionalInt(0) }.first ?? nil
        return max(fromGenerations ?? 0, fromEvents ?? 0, try highestNumberOnDisk()) + 1
    }

    /// The highest generation number any entry of `generations/` carries, or 0.
    func highestNumberOnDisk() throws(IOError) -> Int {
        var highest = 0
        for name in try FileSystem.list(layout.generations) {
            var digits = Substring(name)
            if digits.hasPrefix(".building-") { digits = digits.dropFirst(".building-".count) }
            if digits.hasSuffix(".manifest") { digits = digits.dropLast(".manifest".count) }
            if let number = Int(digits), number > highest { highest = number }
        }
        return highest
    }

    /// The generation that was active before `generation` became active the last time (the `from` of the
    /// latest activate or rollback event into it), or nil.
    func activeBefore(_ generation: Int) throws(SQLiteError) -> Int? {
        try database.query("""
            SELECT from_generation FROM events WHERE kind IN (?, ?) AND generation = ?
            ORDER BY id DESC LIMIT 1
            """, [.text(StoreEvent.Kind.activate.rawValue), .text(StoreEvent.Kind.rollback.rawValue), .int(generation)]) {
            $0.optionalInt(0)
        }.first ?? nil
    }

    // MARK: transitions

    /// Records generation `number` of `manifest` as being built (step 1 of an activation).
    func beginBuilding(_ number: Int, manifest: Digest, at time: Date = Date()) throws(SQLiteError) {
        try write(GenerationRecord(number: number, manifest: manifest, state: .building, createdAt: time))
    }

    /// Records a generation whose directory is complete: it can be activated or rolled back to.
    func finishBuilding(_ number: Int) throws(SQLiteError) {
        try setState(.retained, of: number)
    }

    /// Records that `number` is now the active set (any other active one becomes retained), with the event
    /// that says so: `.activate` for a new set, `.rollback` for a return to a retained one.
    func recordActivation(of number: Int, replacing previous: Int?, manifest: Digest, kind: StoreEvent.Kind = .activate,
                          reason: String? = nil, at time: Date = Date()) throws {
        try index.transaction {
            try markActive(number, at: time)
            try index.recordEvent(StoreEvent(time: time, kind: kind, generation: number, fromGeneration: previous,
                                             manifest: manifest, reason: reason))
        }
    }

    /// Records a failed health check: `failed` is marked failed, `restored` (the set swapped back in, if
    /// any) active again, and `manifest` remembered as bad so that only an explicit `--force` activates it.
    func recordHealthFailure(of failed: Int, restoring restored: Int?, manifest: Digest, reason: String,
                             at time: Date = Date()) throws {
        try index.transaction {
            try setState(.failed, of: failed)
            if let restored { try markActive(restored, at: time) }
            try markBad(manifest, reason: reason, at: time)
            try index.recordEvent(StoreEvent(time: time, kind: .healthFailed, generation: restored,
                                             fromGeneration: failed, manifest: manifest, reason: reason))
        }
    }

    /// Records that `manifest` now runs as the active set and passed its health check (or had none to
    /// pass): a bad mark from an earlier failure no longer holds, so `activate` and `pull` accept it again.
    func recordHealthy(_ manifest: Digest) throws(SQLiteError) {
        try database.run("DELETE FROM bad_manifests WHERE digest = ?", [.text(manifest.description)])
    }

    /// Forgets generation `number` (its directory is the caller's to remove).
    func forget(_ number: Int) throws(SQLiteError) {
        try database.run("DELETE FROM generations WHERE number = ?", [.int(number)])
    }

    /// Forgets every failed generation, or only those of `manifest` (their directories went when they failed).
    func forgetFailed(of manifest: Digest? = nil) throws(SQLiteError) {
        guard let manifest else {
            try database.run("DELETE FROM generations WHERE state = ?", [.text(GenerationState.failed.rawValue)])
            return
        }
        try database.run("DELETE FROM generations WHERE state = ? AND manifest = ?",
                         [.text(GenerationState.failed.rawValue), .text(manifest.description)])
    }

    /// Records a generation found on disk while the index is rebuilt.
    func reindex(_ record: GenerationRecord) throws(SQLiteError) {
        try write(record)
    }

    // MARK: held manifests

    /// The named value holding the manifests a rollback left, with why: `{"sha256:…": "reason"}`.
    private static let heldValueName = "held_manifests"

    private func heldManifests() throws -> [String: String] {
        guard let text = try index.value(named: Self.heldValueName),
              let held = try? JSONCoding.decode([String: String].self, from: Array(text.utf8)) else { return [:] }
        return held
    }

    /// Why `manifest` is held (the user rolled back from it), or nil.
    func holdReason(_ manifest: Digest) throws -> String? {
        try heldManifests()[manifest.description]
    }

    /// Holds `manifest`: a pull does not activate it again until the channel names another manifest or
    /// `--force` is given.
    func hold(_ manifest: Digest, reason: String) throws {
        var held = try heldManifests()
        held[manifest.description] = reason
        try index.setValue(try JSONCoding.encode(held), named: Self.heldValueName)
    }

    /// Releases the hold on `manifest` (it was activated on purpose).
    func release(_ manifest: Digest) throws {
        var held = try heldManifests()
        guard held.removeValue(forKey: manifest.description) != nil else { return }
        try index.setValue(held.isEmpty ? nil : try JSONCoding.encode(held), named: Self.heldValueName)
    }

    // MARK: bad manifests

    /// Why `manifest` is remembered as bad (it failed its health check), or nil.
    func badReason(_ manifest: Digest) throws(SQLiteError) -> String? {
        try database.query("SELECT reason FROM bad_manifests WHERE digest = ?", [.text(manifest.description)]) { $0.text(0) }.first
    }

    private func markBad(_ manifest: Digest, reason: String, at time: Date) throws(SQLiteError) {
        try database.run("INSERT OR REPLACE INTO bad_manifests(digest, reason, marked_at) VALUES(?, ?, ?)",
                         [.text(manifest.description), .text(reason), .int(Int64(time.timeIntervalSince1970))])
    }

    // MARK: rows

    private func write(_ record: GenerationRecord) throws(SQLiteError) {
        try database.run("""
            INSERT OR REPLACE INTO generations(number, manifest, state, created_at, activated_at) VALUES(?, ?, ?, ?, ?)
            """, [.int(record.number), .text(record.manifest.description), .text(record.state.rawValue),
                  .int(Int64(record.createdAt.timeIntervalSince1970)),
                  record.activatedAt.map { .int(Int64($0.timeIntervalSince1970)) } ?? .null])
    }

    private func setState(_ state: GenerationState, of number: Int) throws(SQLiteError) {
        try database.run("UPDATE generations SET state = ? WHERE number = ?", [.text(state.rawValue), .int(number)])
    }

    /// `markActive` for the ledger's other files.
    func recordActivationRows(of number: Int, at time: Date) throws(SQLiteError) {
        try markActive(number, at: time)
    }

    /// Marks `number` active and any other active generation retained: there is one active set.
    private func markActive(_ number: Int, at time: Date) throws(SQLiteError) {
        try database.run("UPDATE generations SET state = ? WHERE state = ? AND number != ?",
                         [.text(GenerationState.retained.rawValue), .text(GenerationState.active.rawValue), .int(number)])
        try database.run("UPDATE generations SET state = ?, activated_at = ? WHERE number = ?",
                         [.text(GenerationState.active.rawValue), .int(Int64(time.timeIntervalSince1970)), .int(number)])
    }
}

@available(*, unavailable)
extension GenerationLedger: Sendable {}

extension Store {
    /// The generation records, the active set and the bad manifests of this store.
    var ledger: GenerationLedger { GenerationLedger(layout: layout, index: index) }
}
