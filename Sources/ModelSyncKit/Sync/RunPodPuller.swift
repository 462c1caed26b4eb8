#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

/// `runpod-pull`: trigger the RunPod job with the client's `have` list, poll it, download its archive,
/// verify, import and activate (DESIGN.md "RunPod").
///
/// Every network wait happens without the store lock: the store is read without it while the job runs (it may
/// train for an hour), the archive is downloaded and hashed into `<store>/incoming/` (a folder of its own, so
/// `gc` and `fsck --repair`, which empty `tmp/` under the lock, never touch a download in progress), and the
/// lock is taken only for the import and the activation — `rollback` never waits for RunPod. The API key
/// goes to the trigger, status and cancel URLs only; the archive URL (often a presigned bucket URL) gets no
/// credentials at all.
///
/// ```swift
/// let result = try RunPodPuller(workspace: workspace).pull()
/// print(result.result, result.fetchedObjects)
/// ```
public struct RunPodPuller {
    /// The largest `have` list sent, as JSON bytes; past it only the active set's objects are listed
    /// (RunPod caps payloads at 10 MB).
    public static let maxHaveListBytes = 8_000_000

    /// Where the command works.
    public let workspace: Workspace
    /// The API client's HTTP settings (request timeout, CA bundle, retries).
    public var apiHTTP: HTTPClient
    /// The archive download's HTTP settings (retries up to 5 transfers).
    public var downloadHTTP: HTTPClient
    /// Waits between polls; tests inject a shorter one.
    public var sleep: @Sendable (Double) -> Void
    /// Checked between polls: when it turns true (the daemon got SIGTERM) the job is cancelled and the pull
    /// stops with `RunPodError.stopped`, so an hour of polling never delays a shutdown.
    public var shouldStop: @Sendable () -> Bool = { false }
    /// The clock `job_timeout_sec` is measured with.
    public var now: @Sendable () -> Date
    /// Receives one line per step ("job abc submitted", "job abc IN_PROGRESS"...); never the key.
    public var note: (@Sendable (String) -> Void)?
    /// Called with the id of each job triggered (not for a job resumed after a restart): the daemon logs it
    /// and counts it in its metrics.
    public var jobSubmitted: (@Sendable (String) -> Void)?

    /// A puller for `workspace`, with HTTP settings from its `runpod:` section.
    public init(workspace: Workspace) {
        let runpod = workspace.config.runpod
        self.workspace = workspace
        let policy = HTTPURLPolicy(allowInsecureHTTP: runpod.allowInsecureHTTP)
        apiHTTP = HTTPClient(connectTimeout: min(10, runpod.requestTimeoutSec), requestTimeout: runpod.requestTimeoutSec,
                             caBundle: runpod.caBundle, urlPolicy: policy)
        downloadHTTP = HTTPClient(connectTimeout: min(10, runpod.requestTimeoutSec), caBundle: runpod.caBundle,
                                  maxAttempts: 5, urlPolicy: policy)
        sleep = HTTPClient.threadSleep
        now = { Date() }
    }

    /// The API key from `api_key_env` (environment or `.env`); missing or empty → exit 2 naming the variable.
    public func apiKey() throws -> String {
        let name = workspace.config.runpod.apiKeyEnv
        guard let key = workspace.environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty else {
            throw UsageError("the RunPod API key is missing: \(name) is not set in the environment or .env",
                             hint: "export \(name)=… or add it to .env (runpod.api_key_env names the variable)")
        }
        return key
    }

    /// The API client, after checking what a pull needs and the configuration alone tells: `runpod.enabled`,
    /// the API key, the trigger and status URLs. Each missing piece is a usage error (exit 2).
    public func configuredClient() throws -> RunPodClient {
        let runpod = workspace.config.runpod
        guard runpod.enabled else {
            throw UsageError("runpod-pull is disabled: model_sync.runpod.enabled is false",
                             hint: "set model_sync.runpod.enabled: true and the trigger and status URLs")
        }
        return try RunPodClient(config: runpod, apiKey: try apiKey(), http: apiHTTP)
    }

    /// Runs the whole pull and returns the activation's result with `fetchedObjects`/`fetchedBytes` set.
    ///
    /// A job outstanding from an earlier run (the process was restarted while it ran) is polled again instead
    /// of starting another; a new job is triggered only within `runpod.max_jobs_per_day` and not before
    /// `runpod.retry_min_sec` after a failed one (``RunPodJobLedger``).
    public func pull(progress: ProgressHandler? = nil) throws -> ActivationResult {
        var client = try configuredClient()
        client.http.sleep = sleep
        let have = try haveList()
        let job = try runJob(client, have: have)
        // Set once the ledger has been settled under a lock already held, so the outer handler does not wait
        // for that same lock again.
        var settled = false
        do {
            guard let output = job.output, case .object = output else {
                throw RunPodError(.invalidResponse, "RunPod job \(job.id) completed without an output object",
                                  hint: "the worker must return {archive_url | archive_base64, archive_sha256, archive_size, manifest}")
            }
            let incoming = try IncomingFolders(storeRoot: workspace.storeDir).make()
            defer { incoming.remove() }
            let archivePath = incoming.path + "/runpod-\(job.id.filter { $0.isLetter || $0.isNumber || $0 == "-" }).zip"
            try fetchArchive(output, job: job.id, to: archivePath, progress: progress)

            let store = try workspace.openStore()
            let expectedManifest = output["manifest"]?.stringValue.flatMap { try? Digest(parsing: $0, allowBareHex: true) }
            do {
                let result = try importAndActivate(archivePath, store: store, expectedManifest: expectedManifest,
                                                   source: "RunPod job \(job.id)", respectingHolds: true,
                                                   progress: progress)
                try? updateLedger(in: store) { $0.finished(failed: false, at: now()) }
                return result
            } catch {
                if !Self.worthResuming(error) { try? updateLedger(in: store) { $0.finished(failed: true, at: now()) } }
                settled = true
                throw error
            }
        } catch {
            // A network failure fetching the archive keeps the job outstanding: the next run fetches its output
            // again instead of paying for another job. Anything else (a bad output) is final.
            if !settled && !Self.worthResuming(error) { try? updateLedger { $0.finished(failed: true, at: now()) } }
            throw error
        }
    }

    /// True for failures after which the same completed job is worth asking again: network and remote errors.
    static func worthResuming(_ error: any Error) -> Bool {
        modelSyncError(from: error).category == .remote
    }

    /// The job ledger, read without the lock; empty when the store does not exist yet.
    func ledger() -> RunPodJobLedger {
        guard let store = try? workspace.openStoreForReading() else { return RunPodJobLedger() }
        return (try? RunPodJobLedger.load(from: store)) ?? RunPodJobLedger()
    }

    /// Changes the job ledger under the store lock (`store` when the caller holds it already).
    func updateLedger(in store: Store? = nil, _ change: (inout RunPodJobLedger) -> Void) throws {
        let store = try store ?? workspace.openStore()
        var ledger = try RunPodJobLedger.load(from: store)
        change(&ledger)
        try ledger.save(to: store)
    }

    /// Imports an archive already on disk (a job's archive fetched by other means) and activates it,
    /// without contacting RunPod: `runpod-pull --from-archive FILE`.
    public func pull(fromArchive path: String, progress: ProgressHandler? = nil) throws -> ActivationResult {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw UsageError("archive \(path) does not exist", hint: "check the --from-archive path")
        }
        // A FIFO would block the import forever and a device would be read without end: regular files only.
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw UsageError("archive \(path) is not a regular file", hint: "give --from-archive the path of a zip file")
        }
        let store = try workspace.openStore()
        return try importAndActivate(FileSystem.absolute(path), store: store, expectedManifest: nil,
                                     source: "archive \(path)", respectingHolds: false,
                                     progress: progress)
    }

    private func importAndActivate(_ archivePath: String, store: Store, expectedManifest: Digest?, source: String,
                                   respectingHolds: Bool, progress: ProgressHandler?) throws -> ActivationResult {
        let runpod = workspace.config.runpod
        var importer = ArchiveImporter(store: store, extractSubdir: runpod.extractSubdir,
                                       maxExtractBytes: UInt64(max(0, runpod.maxExtractBytes)))
        importer.signatures = workspace.signaturePolicy.map { ($0, workspace.acceptedReleases) }
        let imported = try importer.importArchive(at: archivePath, progress: progress)
        if imported.format == .delta, let expectedManifest, expectedManifest != imported.manifest {
            throw IntegrityError(.digestMismatch, "\(source) announced manifest \(expectedManifest) but its archive carries \(imported.manifest)",
                                 hint: "the worker's output and archive disagree; run runpod-pull again")
        }
        note?("imported a \(imported.format.rawValue) archive: manifest \(imported.manifest), \(imported.newObjects) new objects")
        let generations = Generations(store: store, modelsDir: workspace.modelsDir)
        // A job that trained the very set the user rolled back from (or that failed its health check) does not
        // undo that choice; an archive given with --from-archive is a choice of its own.
        if respectingHolds, let reason = try generations.holdReason(imported.manifest) {
            return ActivationResult(result: .heldBack, generation: generations.activeNumber, manifest: imported.manifest,
                                    previousGeneration: nil, reason: reason)
        }
        var result = try generations.activate(imported.manifest, options: workspace.activationOptions())
        result.fetchedObjects = imported.newObjects
        result.fetchedBytes = imported.newBytes
        try store.recordCompleted(StoreEvent(kind: .pull, generation: result.generation, fromGeneration: result.previousGeneration,
                                    manifest: imported.manifest, reason: "runpod"))
        return result
    }

    /// Digests of the objects the retained (and active) generations reference and the store holds; only the
    /// active set's when the JSON list would pass ``maxHaveListBytes``.
    public func haveList() throws -> [Digest] {
        let layout = StoreLayout(root: workspace.storeDir)
        guard FileSystem.exists(layout.indexPath) else { return [] }
        let store = try workspace.openStoreForReading()
        let records = try store.generations().filter { $0.state == .active || $0.state == .retained }
        let activeNumber = Generations(store: store, modelsDir: workspace.modelsDir).activeNumber
        var all = Set<Digest>()
        var active = Set<Digest>()
        for record in records {
            guard let manifest = try? store.manifest(record.manifest) else { continue }
            let digests = manifest.files.map(\.digest).filter { store.objects.contains($0) }
            all.formUnion(digests)
            if record.number == activeNumber { active.formUnion(digests) }
        }
        return Self.encodedSize(of: all.count) <= Self.maxHaveListBytes ? all.sorted() : active.sorted()
    }

    /// The JSON size of a list of `count` digests: `"sha256:<64>"` (73 bytes) and a comma each, brackets.
    static func encodedSize(of count: Int) -> Int { 2 + count * 74 }

    /// Resumes the outstanding job or submits a new one (recorded before the first poll), and polls it until it
    /// finishes; cancels it when `job_timeout_sec` passes.
    func runJob(_ client: RunPodClient, have: [Digest]) throws -> RunPodJob {
        let (id, started) = try startJob(client, have: have)
        do {
            return try poll(client, id: id, started: started)
        } catch {
            // A network failure while polling leaves the job outstanding, to be polled again; an ended job does not.
            if !(Self.worthResuming(error) && !Self.endsJob(error)) {
                try? updateLedger { $0.finished(failed: (error as? RunPodError)?.code != .stopped, at: now()) }
            }
            throw error
        }
    }

    /// True for the RunPod errors that mean the job is over (failed, cancelled, timed out, expired, stopped).
    static func endsJob(_ error: any Error) -> Bool {
        guard let code = (error as? RunPodError)?.code else { return false }
        return [.jobFailed, .jobCancelled, .jobTimedOut, .clientTimeout, .jobExpired, .stopped].contains(code)
    }

    /// The outstanding job when there is one still within `job_timeout_sec`, else a new job — refused with
    /// ``RunPodError/Code/throttled`` past the daily cap or too soon after a failure.
    private func startJob(_ client: RunPodClient, have: [Digest]) throws -> (id: String, started: Date) {
        let runpod = workspace.config.runpod
        let ledger = ledger()
        if let pending = ledger.pending {
            if now().timeIntervalSince(pending.submitted) < runpod.jobTimeoutSec {
                note?("resuming RunPod job \(pending.id), submitted at \(pending.submitted.rfc3339)")
                return (pending.id, pending.submitted)
            }
            // Older than job_timeout_sec: given up on, as the poll loop would have; cancelled in case it still runs.
            try? client.cancel(pending.id)
            try updateLedger { $0.finished(failed: true, at: now()) }
        }
        if let refusal = self.ledger().refusal(now: now(), maxPerDay: runpod.maxJobsPerDay, retryMin: runpod.retryMinSec) {
            throw refusal
        }
        let id = try client.submit(have: have)
        let started = now()
        do {
            try updateLedger { $0.submitted(id, at: started) }
        } catch {
            // A job nobody would remember costs money until its timeout: better not to run it at all.
            try? client.cancel(id)
            throw error
        }
        jobSubmitted?(id)
        note?("RunPod job \(id) submitted (have: \(have.count) objects)")
        return (id, started)
    }

    /// Polls job `id` until it finishes; cancels it when `job_timeout_sec` passes since `started`.
    private func poll(_ client: RunPodClient, id: String, started: Date) throws -> RunPodJob {
        let runpod = workspace.config.runpod
        var last: RunPodJob.Status?
        while true {
            let job = try client.status(of: id)
            if job.status != last {
                note?("RunPod job \(id): \(job.status)")
                last = job.status
            }
            switch job.status {
            case .completed:
                return job
            case .failed:
                throw RunPodError(.jobFailed, "RunPod job \(id) failed: \(job.error ?? "no error text")",
                                  hint: "see the worker's logs in the RunPod console")
            case .cancelled:
                throw RunPodError(.jobCancelled, "RunPod job \(id) was cancelled")
            case .timedOut:
                throw RunPodError(.jobTimedOut, "RunPod job \(id) timed out on RunPod (TIMED_OUT)",
                                  hint: "raise the endpoint's execution timeout in the RunPod console")
            default:
                break // IN_QUEUE, IN_PROGRESS, or a status RunPod added later: still running.
            }
            if shouldStop() {
                var cancelNote = "cancelled"
                do { try client.cancel(id) } catch { cancelNote = "cancelling it failed: \(modelSyncError(from: error).message)" }
                throw RunPodError(.stopped, "stopped while waiting for RunPod job \(id); \(cancelNote)")
            }
            if now().timeIntervalSince(started) >= runpod.jobTimeoutSec {
                var cancelNote = "cancelled"
                do { try client.cancel(id) } catch { cancelNote = "cancelling it failed too: \(modelSyncError(from: error).message)" }
                throw RunPodError(.clientTimeout, "RunPod job \(id) did not finish within job_timeout_sec (\(Self.seconds(runpod.jobTimeoutSec))); \(cancelNote)",
                                  hint: "raise runpod.job_timeout_sec if training takes longer")
            }
            sleep(runpod.pollIntervalSec)
        }
    }

    /// Downloads (or decodes) the archive into `path` and checks `archive_size` and `archive_sha256`.
    func fetchArchive(_ output: JSONValue, job: String, to path: String, progress: ProgressHandler?) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let runpod = workspace.config.runpod
        let maxBytes = UInt64(max(0, runpod.maxArchiveBytes))
        let declaredSize = output["archive_size"]?.integerValue.map { UInt64(max(0, $0)) }
        if let declaredSize {
            guard declaredSize <= maxBytes else {
                throw IntegrityError(.invalidArchive, "RunPod job \(job) announces an archive of \(declaredSize) bytes, more than runpod.max_archive_bytes (\(maxBytes))",
                                     hint: "raise runpod.max_archive_bytes if this size is expected")
            }
            let free = try FileSystem.freeBytes(directory)
            guard declaredSize <= free else {
                throw OutOfSpaceError(path: workspace.storeDir, needed: declaredSize, available: free,
                                      what: "RunPod job \(job)'s archive")
            }
        }
        if let url = output[runpod.archiveField]?.stringValue, !url.isEmpty {
            try download(url, job: job, to: path, maxBytes: maxBytes, declaredSize: declaredSize, progress: progress)
        } else if let encoded = output["archive_base64"]?.stringValue {
            guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                throw IntegrityError(.invalidArchive, "RunPod job \(job): archive_base64 is not valid base64")
            }
            guard UInt64(data.count) <= maxBytes else {
                throw IntegrityError(.invalidArchive, "RunPod job \(job): the archive is larger than runpod.max_archive_bytes (\(maxBytes))")
            }
            try FileSystem.writeAtomically(Array(data), to: path, mode: 0o600)
        } else {
            throw RunPodError(.invalidResponse, "RunPod job \(job) completed without \(runpod.archiveField) or archive_base64 in its output",
                              hint: "check runpod.archive_field against the worker's output")
        }
        let (digest, size) = try ObjectStore.hashFile(at: path)
        if let declaredSize, declaredSize != size {
            throw IntegrityError(.sizeMismatch, "RunPod job \(job): the archive has \(size) bytes, the job announced \(declaredSize)",
                                 hint: "the download was corrupted or the worker's output is wrong; run runpod-pull again")
        }
        if let claimed = output["archive_sha256"]?.stringValue {
            guard let expected = try? Digest(parsing: claimed, allowBareHex: true) else {
                throw RunPodError(.invalidResponse, "RunPod job \(job): archive_sha256 is not a SHA-256 digest")
            }
            guard expected == digest else {
                throw IntegrityError(.digestMismatch, "RunPod job \(job): the archive hashes to \(digest), the job announced \(expected)",
                                     hint: "the download was corrupted or tampered with; nothing was imported")
            }
        }
    }

    /// Downloads the archive at `url` (from the job's output) into `path`, without any header: the key and
    /// `runpod.headers` never go to the archive's host.
    private func download(_ url: String, job: String, to path: String, maxBytes: UInt64, declaredSize: UInt64?,
                          progress: ProgressHandler?) throws {
        let runpod = workspace.config.runpod
        // The URL comes from the worker's answer: a refused one is the remote's fault (exit 4), not the
        // configuration's (the exit 2 the HTTP client gives a configured URL).
        do throws(HTTPError) {
            _ = try downloadHTTP.urlPolicy.check(url, method: "GET")
        } catch {
            throw RunPodError(.invalidResponse, "RunPod job \(job): \(runpod.archiveField) is refused: \(error.detail)",
                              hint: "the worker must answer an https:// URL (http:// only to this machine, "
                                  + "unless runpod.allow_insecure_http is true)")
        }
        note?("downloading the archive from \(HTTPError.redact(url))")
        var http = downloadHTTP
        http.sleep = sleep
        _ = try http.download(url: url, headers: [], to: path, stallTimeout: runpod.downloadTimeoutSec,
                              maxBytes: maxBytes) { received, total in
            progress?(Progress(phase: "downloading", completed: received, total: total ?? declaredSize))
        }
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}

@available(*, unavailable)
extension RunPodPuller: Sendable {}
