import Foundation

extension OCIClient {
    /// Uploads the blobs of `entries` the repository lacks, each verified through `outgoing` just before it
    /// is sent, `concurrency` at a time.
    ///
    /// Per blob: `HEAD` (present: nothing sent), unless `checkPresence` is false because the caller has just
    /// asked (``missingBlobs(_:)``); a cross-repository mount from each of
    /// ``OCIClientOptions/mountFrom`` (201: mounted; 202: the session the registry opened instead is used);
    /// then one `PUT` for a blob up to ``OCIClientOptions/monolithicLimit``, else `PATCH`es of
    /// ``OCIClientOptions/chunkSize`` and a closing `PUT ?digest=`. After a dropped or stalled chunk the
    /// session's state is read back (`GET` of its URL, the registry's `Range`) and the upload resumes from
    /// that offset; only a session the registry dropped makes the blob start over. The first failure stops
    /// the other transfers and is rethrown.
    @discardableResult
    public func putBlobs(_ entries: [ManifestEntry], from outgoing: OutgoingBlobs,
                         checkPresence: Bool = true) throws -> OCIPushSummary {
        var seen = Set<Digest>()
        let unique = entries.filter { seen.insert($0.digest).inserted }
        let summary = Locked(OCIPushSummary())
        let workers = TransferWorkers()
        try workers.run(unique, threads: options.concurrency) { entry in
            let outcome = try self.push(entry, from: outgoing, checkPresence: checkPresence, workers: workers)
            summary.withLock { summary in
                switch outcome {
                case .present: summary.present += 1
                case .mounted: summary.mounted += 1
                case .uploaded:
                    summary.uploaded += 1
                    summary.uploadedBytes += entry.size
                }
            }
        }
        return summary.withLock { $0 }
    }

    /// What happened to one blob.
    enum PushOutcome { case present, mounted, uploaded }

    /// One blob, from `HEAD` (when `checkPresence`) to the closing `PUT`, with fresh sessions after interruptions.
    func push(_ entry: ManifestEntry, from outgoing: OutgoingBlobs, checkPresence: Bool,
              workers: TransferWorkers) throws -> PushOutcome {
        if workers.isCancelled { throw TransferCancelled() }
        if checkPresence, try blobSize(entry.digest) != nil {
            outgoing.sent(Int64(entry.size))
            return .present
        }
        let what = "uploading blob \(entry.digest) (\(entry.size) bytes, \(entry.path)) to \(describe)"
        var session: OCIUploadSession?
        switch try mount(entry.digest, what: what) {
        case .mounted:
            outgoing.sent(Int64(entry.size))
            return .mounted
        case .opened(let opened): session = opened
        case .none: break
        }
        let blob = try outgoing.verified(entry)
        let progress = OCIUploadProgress(outgoing)
        var failures = 0
        while true {
            do {
                let current = try session ?? openUpload(what: what)
                session = nil
                if blob.size <= UInt64(max(0, options.monolithicLimit)) {
                    try putWhole(blob, session: current, progress: progress, workers: workers, what: what)
                } else {
                    try putChunks(blob, session: current, progress: progress, workers: workers, what: what)
                }
                return .uploaded
            } catch let interruption as OCIUploadInterrupted {
                progress.set(0)
                failures += 1
                if workers.isCancelled { throw TransferCancelled() }
                guard failures < http.maxAttempts else { throw interruption.error }
                http.sleep(http.retryDelay(afterAttempt: failures, retryAfter: nil))
                // The last request may have completed the blob before its answer was lost.
                if try blobSize(entry.digest) != nil {
                    progress.set(blob.size)
                    return .uploaded
                }
            }
        }
    }

    /// What a mount attempt left: the blob mounted, a session the registry opened instead, or nothing tried.
    enum MountOutcome { case mounted, opened(OCIUploadSession), none }

    /// Tries `POST …/blobs/uploads/?mount=<digest>&from=<repository>` for each of ``OCIClientOptions/mountFrom``.
    /// A registry that cannot mount answers 202 with a new session: only the last one is kept, the others
    /// are cancelled.
    ///
    /// The request's token must carry `pull` on the source as well as `pull,push` here (``mountScope(from:)``),
    /// or a registry cannot let the blob be read across. A source these credentials may not read (401 or 403
    /// once the challenge was answered, or a token endpoint that refuses the pair) is not tried again by this
    /// client: the blob is uploaded as if no mount had been asked for.
    func mount(_ digest: Digest, what: String) throws -> MountOutcome {
        var opened: OCIUploadSession?
        let refused = mountRefused.withLock { $0 }
        for source in options.mountFrom where source != reference.repository && !refused.contains(source) {
            let url = "\(repositoryURL)/blobs/uploads/?mount=\(digest)&from=\(source)"
            let response: HTTPResponse
            do {
                response = try send(HTTPRequest(method: "POST", url: url), scope: mountScope(from: source), what: what)
            } catch is OCIAuthError {
                _ = mountRefused.withLock { $0.insert(source) }
                continue
            }
            switch response.status {
            case 201:
                if let previous = opened { cancelUpload(previous) }
                return .mounted
            case 202:
                if let previous = opened { cancelUpload(previous) }
                opened = try session(from: response, url: url, what: what)
            case 401, 403:
                _ = mountRefused.withLock { $0.insert(source) }
            default: throw OCIError.answer(response, method: "POST", url: url, what: what)
            }
        }
        return opened.map { .opened($0) } ?? .none
    }

    /// A mount from `source`: `pull,push` here and `pull` there, in one token (two `scope` parameters).
    func mountScope(from source: String) -> OCIScope {
        OCIScope(repository: reference.repository, actions: ["pull", "push"],
                 also: [OCIScope(repository: source, actions: ["pull"])])
    }

    /// `POST …/blobs/uploads/`: a new, empty session.
    func openUpload(what: String) throws -> OCIUploadSession {
        let url = "\(repositoryURL)/blobs/uploads/"
        let response = try send(HTTPRequest(method: "POST", url: url), scope: pushScope, what: what)
        try expect(response, [202], method: "POST", url: url, what: what)
        return try session(from: response, url: url, what: what)
    }

    /// The session an answer names in its `Location`, at the offset its `Range` gives (0 when none).
    func session(from response: HTTPResponse, url: String, what: String, confirmed: UInt64 = 0) throws -> OCIUploadSession {
        guard let location = response.headers["location"], !location.isEmpty else {
            throw OCIError(.invalidAnswer, "\(what) failed: the registry \(reference.registry) answered "
                           + "HTTP \(response.status) without a Location for the upload session")
        }
        let offset = OCIUploadSession.received(range: response.headers["range"], confirmed: confirmed) ?? confirmed
        return OCIUploadSession(location: try resolve(location, against: url), offset: offset)
    }

    /// Cancels a session that will not be used (`DELETE`), ignoring failures: the registry expires it anyway.
    func cancelUpload(_ session: OCIUploadSession) {
        _ = try? send(HTTPRequest(method: "DELETE", url: session.location), scope: pushScope, what: "", using: once)
    }

    /// The whole blob in the `PUT` that closes the session.
    private func putWhole(_ blob: OutgoingBlob, session: OCIUploadSession, progress: OCIUploadProgress,
                          workers: TransferWorkers, what: String) throws {
        let url = session.appending(digest: blob.digest)
        let response: HTTPResponse
        do {
            response = try sendFile(method: "PUT", url: url, blob: blob, offset: 0, size: blob.size, progress: progress,
                                    workers: workers, what: what)
        } catch let dropped as OCIChunkDropped {
            // Part of the body may be in the session: only a new one is sure to hold the right bytes.
            throw OCIUploadInterrupted(error: dropped.error)
        }
        if response.status == 201 || response.status == 204 { return }
        throw interruption(response, method: "PUT", url: url, what: what)
    }

    /// The blob in `PATCH`es from the session's offset, resumed from the registry's own offset after a drop,
    /// then the closing `PUT ?digest=` without a body.
    private func putChunks(_ blob: OutgoingBlob, session start: OCIUploadSession, progress: OCIUploadProgress,
                           workers: TransferWorkers, what: String) throws {
        var session = start
        var failures = 0
        progress.set(session.offset)
        while session.offset < blob.size {
            let length = min(UInt64(max(1, options.chunkSize)), blob.size - session.offset)
            do {
                session = try patch(blob, session: session, length: length, progress: progress, workers: workers, what: what)
                failures = 0
            } catch let resumable as OCIChunkDropped {
                failures += 1
                if workers.isCancelled { throw TransferCancelled() }
                guard failures < http.maxAttempts else { throw OCIUploadInterrupted(error: resumable.error) }
                http.sleep(http.retryDelay(afterAttempt: failures, retryAfter: nil))
                session = try status(of: session, size: blob.size, what: what)
                progress.set(session.offset)
            }
        }
        let url = session.appending(digest: blob.digest)
        // The registry checks the whole blob's digest before it answers: minutes for a large one.
        var closing = once
        closing.requestTimeout = max(once.requestTimeout, 600)
        let response: HTTPResponse
        do {
            response = try send(HTTPRequest(method: "PUT", url: url, body: []),
                                scope: pushScope, what: what, using: closing)
        } catch let error as OCIError where error.code == .transfer {
            throw OCIUploadInterrupted(error: error)
        }
        if response.status == 201 || response.status == 204 { return }
        throw interruption(response, method: "PUT", url: url, what: what)
    }

    /// One `PATCH` of `length` bytes from the session's offset; the session the registry names next.
    private func patch(_ blob: OutgoingBlob, session: OCIUploadSession, length: UInt64, progress: OCIUploadProgress,
                       workers: TransferWorkers, what: String) throws -> OCIUploadSession {
        let first = session.offset
        let last = first + length - 1
        let response = try sendFile(method: "PATCH", url: session.location, blob: blob, offset: first, size: length,
                                    progress: progress, workers: workers, what: what,
                                    headers: [("Content-Range", "\(first)-\(last)")])
        switch response.status {
        case 202, 204:
            let next = try self.session(from: response, url: session.location, what: what, confirmed: last + 1)
            guard next.offset <= blob.size else {
                throw OCIError(.invalidAnswer, "\(what) failed: the registry \(reference.registry) reports \(next.offset) "
                               + "bytes received, more than the blob's \(blob.size)")
            }
            return next
        case 416, 429, 500...599:
            // The registry holds other bytes than we think, or failed mid-chunk: ask it where it stands.
            throw OCIChunkDropped(error: OCIError.answer(response, method: "PATCH", url: session.location, what: what))
        default:
            throw interruption(response, method: "PATCH", url: session.location, what: what)
        }
    }

    /// The session's state as the registry reports it (`GET` of its URL: 204 with `Range` and `Location`);
    /// a session it no longer knows makes the blob start over.
    private func status(of session: OCIUploadSession, size: UInt64, what: String) throws -> OCIUploadSession {
        let response: HTTPResponse
        do {
            response = try send(HTTPRequest(url: session.location), scope: pushScope, what: what)
        } catch let error as OCIError where error.code == .transfer {
            throw OCIUploadInterrupted(error: error)
        }
        guard response.status == 204 || response.status == 200 else {
            throw interruption(response, method: "GET", url: session.location, what: what)
        }
        let location = try response.headers["location"].map { try resolve($0, against: session.location) }
            ?? session.location
        let offset: UInt64
        if response.headers["range"] == nil {
            offset = 0  // nothing received yet
        } else if let received = OCIUploadSession.received(range: response.headers["range"], confirmed: session.offset) {
            offset = received
        } else {
            throw OCIUploadInterrupted(error: OCIError(.invalidAnswer, "\(what) failed: the registry reports an unreadable "
                                                       + "Range for the upload session"))
        }
        let next = OCIUploadSession(location: location, offset: offset)
        guard next.offset <= size else {
            throw OCIUploadInterrupted(error: OCIError(.invalidAnswer, "\(what) failed: the registry reports \(next.offset) "
                                                       + "bytes received, more than the blob's \(size)"))
        }
        return next
    }

    /// The error for an upload answer that is not a success: a session the registry dropped or refuses
    /// (400/404 on the session, 5xx, 429) interrupts the blob, which starts over; so does a digest the
    /// registry finds wrong, since the file was verified just before it left (the session, not the bytes,
    /// is suspect). Anything else is final.
    private func interruption(_ response: HTTPResponse, method: String, url: String, what: String) -> any Error {
        let error = OCIError.answer(response, method: method, url: url, what: what)
        let sessionLost = error.has("BLOB_UPLOAD_UNKNOWN") || error.has("BLOB_UPLOAD_INVALID") || error.has("DIGEST_INVALID")
            || response.status == 404 || response.status == 429 || (500...599).contains(response.status)
        return sessionLost ? OCIUploadInterrupted(error: error) : error
    }

    /// Sends `size` bytes of the blob's file from `offset` with the push scope's authorization, once more
    /// with the answer to a 401's challenge. A broken connection or a stall is an ``OCIChunkDropped``.
    private func sendFile(method: String, url: String, blob: OutgoingBlob, offset: UInt64, size: UInt64,
                          progress: OCIUploadProgress, workers: TransferWorkers, what: String,
                          headers extra: [(String, String)] = []) throws -> HTTPResponse {
        let headers = [("Content-Type", "application/octet-stream")] + extra
        var authorization = authorization(for: url, scope: pushScope)
        for round in 0..<2 {
            let before = progress.counted
            let response: HTTPResponse
            do {
                response = try once.upload(method: method, url: url, headers: headers + authorization, file: blob.path,
                                           offset: offset, size: size, stallTimeout: options.stallTimeout,
                                           progress: { progress.add($0) }, isCancelled: { workers.isCancelled })
            } catch {
                progress.set(before)
                if workers.isCancelled { throw TransferCancelled() }
                if error.code == .file { throw error }
                let wrapped = OCIError.transfer(error, what: what)
                // One attempt only: a 429 or 5xx comes back as an error, and is a drop like a broken connection.
                let serverFailed = error.code.status.map(HTTPClient.isRetriable(status:)) ?? false
                throw error.isRetriable || serverFailed ? OCIChunkDropped(error: wrapped) : wrapped
            }
            if round == 0, let answer = try answer(response, url: url, scope: pushScope) {
                progress.set(before)
                authorization = [("Authorization", answer)]
                continue
            }
            if !(200...299).contains(response.status) { progress.set(before) }
            return response
        }
        preconditionFailure("the loop returns or throws in its second round")
    }
}
