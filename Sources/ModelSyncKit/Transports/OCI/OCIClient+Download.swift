import Foundation

extension OCIClient {
    /// Downloads the blobs of `entries` into `sink`, `concurrency` at a time, each streamed into its
    /// ``IncomingBlob`` (hashed on the way in, linked into the store only when digest and size match).
    ///
    /// A transfer that drops or stalls resumes with `Range` from the bytes received; a redirect to blob
    /// storage is followed without the registry's `Authorization`. A blob of at least
    /// ``OCIClientOptions/segmentThreshold`` bytes comes as several ranges at once (``SegmentedDownload``),
    /// sharing the same threads. The first failure stops the others and is rethrown: bytes that do not match
    /// their digest are an ``IntegrityError`` (exit 3) and leave nothing in the store, a registry error an
    /// ``OCIError`` with its codes (exit 4).
    public func fetchBlobs(_ entries: [ManifestEntry], into sink: BlobSink) throws {
        var seen = Set<Digest>()
        let unique = entries.filter { seen.insert($0.digest).inserted }
        let jobs = try DownloadJob.plan(unique, threshold: options.segmentThreshold, minimum: options.minimumSegment,
                                        count: options.concurrency, sink: sink)
        let workers = TransferWorkers()
        defer { for case .segment(let download, _) in jobs { download.abandonIfUnfinished() } }
        try workers.run(jobs, threads: options.concurrency) { job in
            switch job {
            case .whole(let entry):
                try self.fetch(entry, into: sink, workers: workers)
            case .segment(let download, let index):
                let entry = download.entry
                _ = try download.fetch(segment: index, rangesIgnored: self.rangesIgnored, workers: workers, range: { range, stream in
                    try self.stream(self.blobURL(entry.digest), scope: self.pullScope,
                                    what: "downloading blob \(entry.digest) (\(entry.path)) from \(self.describe)",
                                    range: range, into: stream)
                }, whole: {
                    try self.fetch(entry, into: sink, workers: workers)
                })
            }
        }
    }

    /// One blob, from open to finish; on failure its temp file is removed and the entry marked.
    private func fetch(_ entry: ManifestEntry, into sink: BlobSink, workers: TransferWorkers) throws {
        let blob = try sink.open(entry)
        do {
            if entry.size > 0 {
                try stream(blobURL(entry.digest), scope: pullScope,
                           what: "downloading blob \(entry.digest) (\(entry.path)) from \(describe)",
                           into: IncomingBlobStream(blob: blob, workers: workers))
            }
            try blob.finish()
        } catch {
            blob.abandon()
            if !(error is TransferCancelled) { sink.markFailed(entry) }
            throw error
        }
    }

    /// Streams a GET of `url` into `target` with the scope's authorization, answering a 401's challenge
    /// once. An error status is explained with the registry's own error codes.
    func stream(_ url: String, scope: OCIScope, what: String, range: ClosedRange<UInt64>? = nil,
                into target: some HTTPStreamSink) throws {
        var headers = authorization(for: url, scope: scope)
        for round in 0..<2 {
            do {
                try http.stream(url: url, headers: headers, range: range, stallTimeout: options.stallTimeout, into: target)
                return
            } catch let error as HTTPError {
                guard error.code.status != nil else { throw OCIError.transfer(error, what: what) }
                // The stream keeps no error body: ask again for one byte to read the registry's codes and
                // its challenge, without fetching the blob.
                let probe: HTTPResponse
                do {
                    probe = try http.send(HTTPRequest(url: url, headers: headers + [("Range", "bytes=0-0")]))
                } catch {
                    throw OCIError.transfer(error, what: what)
                }
                if round == 0, let answer = try answer(probe, url: url, scope: scope) {
                    headers = [("Authorization", answer)]
                    continue
                }
                if !(200...299).contains(probe.status) {
                    throw OCIError.answer(probe, method: "GET", url: url, what: what)
                }
                throw OCIError.transfer(error, what: what)
            }
        }
    }
}
