#if canImport(Glibc)
internal import Glibc
#endif
internal import CModelSyncSystem
import Foundation

/// Materialized model sets and the symlink that makes one of them active: build, swap, rollback,
/// retention and the health check.
///
/// `models_dir` is a relative symlink to `<store>/generations/<n>`; it is only ever replaced with `rename(2)`,
/// so a reader sees the old set or the new one, never a mix. Generations are built under
/// `generations/.building-<n>` and renamed into place once complete and fsynced, so a numbered directory is
/// always whole. What is recorded about each generation, and which one is active, belongs to the store's
/// `GenerationLedger`: this type decides and acts, the ledger records. See docs/activation.md.
public struct Generations {
    let store: Store
    /// The absolute path of `models_dir`.
    public let modelsDir: String

    public init(store: Store, modelsDir: String) {
        self.store = store
        self.modelsDir = FileSystem.absolute(modelsDir)
    }

    private var parent: String { (modelsDir as NSString).deletingLastPathComponent }
    private var name: String { (modelsDir as NSString).lastPathComponent }

    // MARK: reading

    /// The generation number `modelsDir` points at, or nil (no link, a real directory, or a link elsewhere).
    public static func activeNumber(modelsDir: String, layout: StoreLayout) -> Int? {
        GenerationLedger.activeNumber(modelsDir: modelsDir, layout: layout)
    }

    /// The active generation according to the symlink.
    public var activeNumber: Int? { store.ledger.activeNumber(modelsDir: modelsDir) }

    /// The generation a rollback would return to: the one that was active before the current one
    /// (history order), if it is still retained.
    public func rollbackTarget() throws -> Int? { try store.ledger.rollbackTarget(modelsDir: modelsDir) }

    /// The manifest of the active generation, nil when none is active.
    public func activeManifest() throws -> Digest? {
        guard let number = activeNumber else { return nil }
        return try store.ledger.record(number)?.manifest
    }

    /// Why a pull must not activate `manifest` — the user rolled back from it, or it failed its health
    /// check — or nil when it may. `--force` overrides both.
    public func holdReason(_ manifest: Digest) throws -> String? {
        if let reason = try store.ledger.holdReason(manifest) { return reason }
        if let reason = try store.ledger.badReason(manifest) { return "it failed its health check (\(reason))" }
        return nil
    }

    /// Holds `manifest`: `pull` reports `held-back` for it until the channel names another manifest, `--force`
    /// is given or it is activated on purpose.
    public func hold(_ manifest: Digest, reason: String) throws {
        try store.ledger.hold(manifest, reason: reason)
    }

    // MARK: activation

    /// Materializes `manifest` as a new generation and makes it active (DESIGN.md "Activation").
    ///
    /// Throws `UsageError` for a manifest remembered as bad (unless `options.force`); returns `.rolledBack`
    /// when the health check fails (the previous set is active again).
    public func activate(_ digest: Digest, options: ActivationOptions) throws -> ActivationResult {
        precondition(store.isWritable, "activation needs the store lock")
        let ledger = store.ledger
        if !options.force, let reason = try ledger.badReason(digest) {
            throw UsageError("manifest \(digest) failed its health check before (\(reason)); not activating it again",
                             hint: "pass --force to activate it anyway")
        }
        try StorePlacement.check(storeDir: store.layout.root, modelsDir: modelsDir)
        let manifest = try store.manifest(digest)
        try removeInterruptedBuilds()
        try adoptRealDirectoryIfNeeded(options: options)

        let previous = activeNumber
        let missingObject = manifest.files.first { !store.objects.contains($0.digest) }
        if !options.force, let previous, try ledger.record(previous)?.manifest == digest {
            return try keepActive(previous, manifest, missingObject: missingObject, options: options)
        }
        if let entry = missingObject { throw missingObjectError(entry, of: digest) }
        // A manifest whose object is stored but whose index rows were lost: record it again first, or the
        // generation row could not name it.
        if try !store.hasManifestRecord(digest) { try store.recordManifest(manifest) }
        let number = try build(manifest, options: options)
        try swapIn(number, replacing: previous, manifest: digest, checked: options.healthCheck != nil)

        if let check = options.healthCheck {
            let outcome = try runConfigured(check, name: "activation.health_check", generation: number, manifest: digest,
                                            timeout: options.healthTimeout, settings: options.commands)
            if outcome != .exited(0) {
                let reason = "health check \(outcome)"
                try restore(previous, after: number, manifest: digest, reason: reason)
                try ledger.endCheck()
                return ActivationResult(result: .rolledBack, generation: previous, manifest: digest,
                                        previousGeneration: previous, reason: reason)
            }
        }
        // The set runs and passed its check (or had none): a bad mark from an earlier failure, which only
        // `--force` could get past, no longer holds. A full disk during this bookkeeping must not report the
        // set, active and recorded, as not activated (retention runs again after the next activation).
        try unlessOutOfSpace(()) {
            try ledger.recordHealthy(digest)
            // Activated on purpose (`activate`, or a forced pull): a hold a rollback put on it is over.
            try ledger.release(digest)
        }
        try ledger.endCheck()
        var result = ActivationResult(result: .activated, generation: number, manifest: digest, previousGeneration: previous)
        result.removedGenerations = try unlessOutOfSpace([]) { try applyRetention(keep: options.keepGenerations) }
        if let hook = options.onActivate {
            let outcome = try runConfigured(hook, name: "activation.on_activate", generation: number, manifest: digest,
                                            timeout: nil, settings: options.commands)
            if outcome != .exited(0) {
                result.onActivateFailure = CommandFailedError(what: "activation.on_activate", command: hook, outcome: outcome)
            }
        }
        return result
    }

    /// Puts the previous set back when a process was killed during a health check (a `PendingCheck` is
    /// left): the unchecked generation is marked failed and removed, its manifest not marked bad, so the next
    /// pull or activate tries it again. Every writer calls this first (`Workspace.openStore()`). Returns the
    /// check that was pending, or nil when none was.
    @discardableResult
    public func settleInterruptedCheck() throws -> PendingCheck? {
        precondition(store.isWritable, "settling a check needs the store lock")
        let ledger = store.ledger
        guard let pending = ledger.pendingCheck() else { return nil }
        var restored = activeNumber
        if restored == pending.generation {
            restored = pending.previous.flatMap { FileSystem.exists(store.layout.generationPath($0)) ? $0 : nil }
            try swap(to: restored)
        }
        try ledger.recordInterruptedCheck(pending, restoring: restored)
        if activeNumber != pending.generation { try removeDirectory(of: pending.generation) }
        try ledger.endCheck()
        return pending
    }

    /// The manifest asked for is the active one: up to date, unless fsck found its files damaged or one is
    /// visibly wrong; then they are re-made from the store (once it holds their objects again).
    private func keepActive(_ active: Int, _ manifest: Manifest, missingObject: ManifestEntry?,
                            options: ActivationOptions) throws -> ActivationResult {
        let digest = manifest.digest
        let ledger = store.ledger
        guard try ledger.damaged().contains(active) || !GenerationRepair.looksWhole(active, manifest, store: store) else {
            return ActivationResult(result: .upToDate, generation: active, manifest: digest, previousGeneration: active)
        }
        if let entry = missingObject { throw missingObjectError(entry, of: digest) }
        try GenerationRepair(store: store, linkMode: options.linkMode).remake(active, manifest)
        try ledger.clearDamaged(active)
        return ActivationResult(result: .activated, generation: active, manifest: digest, previousGeneration: active)
    }

    /// Makes the built generation `number` the active set and records it. When a health check will run, a
    /// `PendingCheck` is written before the swap, so a process killed during the check leaves it for the next
    /// writer. If anything fails here (a full disk, most often), the previous set goes back and the new one
    /// is removed, so nothing half-made stays behind.
    private func swapIn(_ number: Int, replacing previous: Int?, manifest digest: Digest, checked: Bool) throws {
        do {
            if checked { try store.ledger.beginCheck(PendingCheck(generation: number, previous: previous, manifest: digest)) }
            try swap(to: number)
            FaultInjection.point("after-swap")
            try store.ledger.recordActivation(of: number, replacing: previous, manifest: digest)
        } catch {
            if activeNumber == number { try? swap(to: previous) }
            discard(number)
            try? store.ledger.endCheck()
            throw error
        }
        FaultInjection.point("after-index")
    }

    private func missingObjectError(_ entry: ManifestEntry, of digest: Digest) -> IntegrityError {
        IntegrityError(.missingObject, "manifest \(digest) needs \(entry.digest) (\(entry.path)), which the store lacks",
                       hint: "pull again, or run `model-sync fsck` to check the store")
    }

    /// Makes the previous (or the given) retained generation active again.
    public func rollback(to requested: Int? = nil) throws -> (generation: Int, manifest: Digest, from: Int?) {
        precondition(store.isWritable, "rollback needs the store lock")
        let ledger = store.ledger
        let current = activeNumber
        let records = try ledger.all()
        let target: Int
        if let requested {
            guard let record = records.first(where: { $0.number == requested }),
                  record.state == .retained || record.state == .active else {
                let kept = records.filter { $0.state == .retained }.map { String($0.number) }.joined(separator: ", ")
                throw UsageError("generation \(requested) is not retained (retained: \(kept.isEmpty ? "none" : kept))",
                                 hint: "`model-sync status` lists the generations you can return to")
            }
            target = requested
        } else {
            guard let previous = try rollbackTarget() else {
                throw UsageError("there is no previous generation to roll back to",
                                 hint: "`model-sync status` lists the retained generations; use --to N to pick one")
            }
            target = previous
        }
        guard let record = records.first(where: { $0.number == target }) else {
            throw UsageError("generation \(target) is unknown")
        }
        guard FileSystem.exists(store.layout.generationPath(target)) else {
            throw IntegrityError(.missingObject, "generation \(target)'s directory is missing",
                                 hint: "run `model-sync fsck --repair`, or activate its manifest \(record.manifest)")
        }
        if try ledger.damaged().contains(target) {
            // fsck found this set damaged: mend it from the store first, or refuse to return to it.
            let manifest = try store.manifest(record.manifest)
            if let entry = manifest.files.first(where: { !store.objects.contains($0.digest) }) {
                throw IntegrityError(.missingObject, "generation \(target) is damaged and the store lacks \(entry.digest) (\(entry.path)) to mend it",
                                     hint: "pull again (or import the file again), then roll back; or activate its manifest \(record.manifest)")
            }
            try GenerationRepair(store: store, linkMode: .auto).remake(target, manifest)
            try ledger.clearDamaged(target)
        }
        if target == current {
            return (target, record.manifest, current)
        }
        try swap(to: target)
        try ledger.recordActivation(of: target, replacing: current, manifest: record.manifest, kind: .rollback,
                                    reason: requested == nil ? "previous" : "requested")
        // The set left behind is held: the next pull would otherwise activate it again at once.
        if let current, let left = records.first(where: { $0.number == current })?.manifest, left != record.manifest {
            try unlessOutOfSpace(()) {
                try ledger.hold(left, reason: "rolled back from generation \(current) at \(Date().rfc3339)")
            }
        }
        return (target, record.manifest, current)
    }

    // MARK: steps

    /// Builds `generations/.building-<n>`, fsyncs it, then renames it to `generations/<n>`. On failure (a
    /// full disk, a missing object) what was built is removed and the record forgotten.
    private func build(_ manifest: Manifest, options: ActivationOptions) throws -> Int {
        let number = try store.ledger.nextNumber()
        let layout = store.layout
        try FileSystem.removeTree(layout.generations + "/.building-\(number)")
        // The number is above every entry on disk; a directory there now is someone else's: never replace it.
        if FileSystem.exists(layout.generationPath(number)) {
            throw UsageError("\(layout.generationPath(number)) appeared while generation \(number) was being numbered",
                             hint: "run `model-sync fsck --repair`, then try again")
        }
        try store.ledger.beginBuilding(number, manifest: manifest.digest)
        do {
            try materialize(manifest, as: number, options: options)
        } catch {
            discard(number)
            throw error
        }
        FaultInjection.point("before-swap")
        return number
    }

    /// The body of `build`: materializes every file under `.building-<n>`, fsyncs, writes the sidecar, renames.
    private func materialize(_ manifest: Manifest, as number: Int, options: ActivationOptions) throws {
        let layout = store.layout
        let building = layout.generations + "/.building-\(number)"
        try FileSystem.makeDirectories(building)
        if chmod(building, generationFolderMode()) != 0 { throw IOError.current("chmod", building) }
        let materializer = Materializer(objects: store.objects, mode: options.linkMode)
        var directories: Set<String> = [building]
        for (position, entry) in manifest.files.enumerated() {
            let target = building + "/" + entry.path
            let directory = (target as NSString).deletingLastPathComponent
            if !directories.contains(directory) {
                try FileSystem.makeDirectories(directory)
                var walk = directory
                while walk.count > building.count, directories.insert(walk).inserted {
                    walk = (walk as NSString).deletingLastPathComponent
                }
            }
            try materializer.materialize(entry, at: target)
            if position == manifest.files.count / 2 { FaultInjection.point("mid-build") }
        }
        // Hard links are durable once their directory entries are; copies were fsynced by the materializer.
        for directory in directories.sorted(by: { $0.count > $1.count }) {
            try FileSystem.sync(directory, directory: true)
        }
        try FileSystem.writeAtomically(Array((manifest.digest.description + "\n").utf8),
                                       to: layout.generationManifestPath(number))
        FaultInjection.point("before-rename-generation")
        if rename(building, layout.generationPath(number)) != 0 { throw IOError.current("rename", building) }
        try FileSystem.sync(layout.generations, directory: true)
        FaultInjection.point("before-recording-build")
        try store.ledger.finishBuilding(number)
    }

    /// The mode of a new generation's folder: that of the folder the models folder shows now (the real folder at
    /// first use, then the active generation), so a private models folder stays private through every swap
    /// (StorePermissions); `0777 & ~umask` for the first set. The owner keeps full access: retention removes it.
    private func generationFolderMode() -> mode_t {
        var info = stat()
        guard stat(modelsDir, &info) == 0, FileSystem.isDirectory(info) else { return 0o777 & ~processUmask }
        return (info.st_mode & 0o777) | 0o700
    }

    /// Removes whatever exists of generation `number` (half-built or whole, never the active one) and
    /// forgets its record. Best effort: it runs while another error is being reported.
    private func discard(_ number: Int) {
        guard activeNumber != number else { return }
        try? FileSystem.removeTree(store.layout.generations + "/.building-\(number)")
        try? removeDirectory(of: number)
        try? FileSystem.sync(store.layout.generations, directory: true)
        try? store.ledger.forget(number)
    }

    /// Points `modelsDir` at generation `number` (or removes the link for nil) with one `rename(2)`.
    func swap(to number: Int?) throws {
        let temporary = parent + "/." + name + ".swap-\(getpid())"
        unlink(temporary)
        guard let number else {
            if unlink(modelsDir) != 0 && errno != ENOENT { throw IOError.current("unlink", modelsDir) }
            try FileSystem.sync(parent, directory: true)
            return
        }
        let target = relativePath(from: parent, to: store.layout.generationPath(number))
        if symlink(target, temporary) != 0 { throw IOError.current("symlink", temporary) }
        FaultInjection.point("after-symlink")
        if rename(temporary, modelsDir) != 0 {
            let failure = IOError.current("rename", modelsDir)
            unlink(temporary)
            throw failure
        }
        try FileSystem.sync(parent, directory: true)
    }

    /// First use: `modelsDir` is still a real directory. Import it as a generation and exchange it with a
    /// symlink to that generation in one `renameat2(RENAME_EXCHANGE)`; its files are in the store before the
    /// exchange, so none can be lost.
    private func adoptRealDirectoryIfNeeded(options: ActivationOptions) throws {
        guard let info = try FileSystem.linkStatus(modelsDir) else {
            try FileSystem.makeDirectories(parent)
            return
        }
        if FileSystem.isSymlink(info) { return }
        guard FileSystem.isDirectory(info) else {
            throw UsageError("\(modelsDir) exists and is neither a directory nor a symbolic link",
                             hint: "move it away; model-sync manages models_dir as a symbolic link")
        }
        let imported = try store.importDirectory(modelsDir)
        let manifest = try store.manifest(imported.manifest)
        let number = try build(manifest, options: options)
        let temporary = parent + "/." + name + ".adopt-\(getpid())"
        unlink(temporary)
        let target = relativePath(from: parent, to: store.layout.generationPath(number))
        if symlink(target, temporary) != 0 {
            let failure = IOError.current("symlink", temporary)
            discard(number)
            throw failure
        }
        if CModelSyncSystem_rename_exchange(temporary, modelsDir) != 0 {
            let failure = IOError.current("renameat2(RENAME_EXCHANGE)", modelsDir)
            unlink(temporary)
            discard(number)
            if ErrorCategory.isOutOfSpace(errno: failure.errno) { throw failure }
            throw UsageError("cannot replace the directory \(modelsDir) atomically: \(failure.message)",
                             hint: "this filesystem lacks renameat2 RENAME_EXCHANGE; move \(modelsDir) away, then `model-sync import` and `activate` it")
        }
        do {
            try FileSystem.sync(parent, directory: true)
            try store.ledger.recordActivation(of: number, replacing: nil, manifest: imported.manifest,
                                              reason: "adopted the existing directory \(modelsDir)")
        } catch {
            // Not recorded (a full disk, most often): the real directory goes back in place, untouched.
            if CModelSyncSystem_rename_exchange(temporary, modelsDir) == 0 {
                unlink(temporary)
                try? FileSystem.sync(parent, directory: true)
                discard(number)
            }
            throw error
        }
        // The old directory now sits at `temporary`; its content is generation `number`.
        try FileSystem.removeTree(temporary)
    }

    /// Removes what an activation killed mid-build left behind (we hold the lock, so none is in progress).
    private func removeInterruptedBuilds() throws {
        let active = activeNumber
        for record in try store.ledger.all() where record.state == .building && record.number != active {
            try removeDirectory(of: record.number)
            try store.ledger.forget(record.number)
        }
        for name in try FileSystem.list(store.layout.generations) where name.hasPrefix(".building-") {
            try FileSystem.removeTree(store.layout.generations + "/" + name)
        }
        // A swap link or an adopted directory left by a process killed mid-swap.
        for name in try FileSystem.list(parent)
        where name.hasPrefix("." + self.name + ".swap-") || name.hasPrefix("." + self.name + ".adopt-") {
            try FileSystem.removeTree(parent + "/" + name)
        }
    }

    /// Swaps back to `previous` after a failed health check and forgets the failed generation.
    private func restore(_ previous: Int?, after failed: Int, manifest: Digest, reason: String) throws {
        try swap(to: previous)
        try store.ledger.recordHealthFailure(of: failed, restoring: previous, manifest: manifest, reason: reason)
        try removeDirectory(of: failed)
    }

    /// Removes the directories of generations beyond `keep` (most recently activated first), never the
    /// active one nor the rollback target. Returns the removed numbers.
    private func applyRetention(keep: Int) throws -> [Int] {
        let active = activeNumber
        let rollback = try rollbackTarget()
        let ledger = store.ledger
        let records = try ledger.all()
        let kept = records.filter { $0.state == .active || $0.state == .retained }
            .sorted { ($0.activatedAt ?? $0.createdAt, $0.number) > ($1.activatedAt ?? $1.createdAt, $1.number) }
        var removed: [Int] = []
        var count = 0
        for record in kept {
            count += 1
            if count <= keep || record.number == active || record.number == rollback { continue }
            try ledger.forget(record.number)
            try removeDirectory(of: record.number)
            removed.append(record.number)
        }
        try ledger.forgetFailed()
        return removed
    }

    private func removeDirectory(of number: Int) throws {
        try FileSystem.removeTree(store.layout.generationPath(number))
        try FileSystem.removeTree(store.layout.generationManifestPath(number))
    }

    /// Runs a configured command with its placeholders turned into quoted references to the `MODEL_SYNC_*`
    /// variables holding their values (a models folder named `a b'c;touch x` stays one word and runs nothing).
    private func runConfigured(_ template: String, name: String, generation: Int, manifest: Digest, timeout: Double?,
                               settings: CommandSettings) throws -> ShellCommand.Outcome {
        let values = ["models_dir": modelsDir, "generation": String(generation), "manifest": manifest.description]
        let (command, environment) = ShellCommand.filling(template, with: values)
        // Every value is in the environment, whether the template names it or not.
        let variables = environment.merging(values.map { (ShellCommand.variableName(for: $0.key), $0.value) }) { $1 }
        return try ShellCommand(command, environment: variables, timeout: timeout, name: name, settings: settings).run()
    }

    /// `to` expressed relative to the directory `from` (both absolute).
    func relativePath(from: String, to: String) -> String {
        let fromParts = FileSystem.absolute(from).split(separator: "/")
        let toParts = FileSystem.absolute(to).split(separator: "/")
        var common = 0
        while common < fromParts.count, common < toParts.count, fromParts[common] == toParts[common] { common += 1 }
        let ups = Array(repeating: "..", count: fromParts.count - common)
        let rest = toParts[common...].map(String.init)
        let parts = ups + rest
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}
