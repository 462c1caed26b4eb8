import Foundation

/// One unit of work of a download: a whole object, or one byte range of a large one.
enum DownloadJob: Sendable {
    case whole(ManifestEntry)
    case segment(SegmentedDownload, Int)

    /// The jobs for `entries`, largest object first: the segments of an object follow one another, so the
    /// threads finish one object before most of them move on to the next. Objects of at least `threshold`
    /// bytes are cut into up to `count` ranges (``SegmentPlan``).
    ///
    /// Largest first (ties in the given order) so that the work left at the end is small: the last job of a
    /// segmented object hashes and syncs the whole object alone, and ended last it would leave the other
    /// threads idle for that long; ended before the small objects, it overlaps their downloads.
    static func plan(_ entries: [ManifestEntry], threshold: UInt64, minimum: UInt64, count: Int,
                     sink: BlobSink) throws -> [DownloadJob] {
        var jobs: [DownloadJob] = []
        let largestFirst = entries.enumerated().sorted {
            $0.element.size != $1.element.size ? $0.element.size > $1.element.size : $0.offset < $1.offset
        }.map(\.element)
        for entry in largestFirst {
            let ranges = SegmentPlan.ranges(size: entry.size, threshold: threshold, minimum: minimum, count: count)
            if ranges.count < 2 {
                jobs.append(.whole(entry))
                continue
            }
            let download = try SegmentedDownload(blob: sink.openSegmented(entry), ranges: ranges, sink: sink)
            jobs += ranges.indices.map { .segment(download, $0) }
        }
        return jobs
    }
}

/// How a large object is cut into byte ranges.
enum SegmentPlan {
    /// `count` ranges of equal size (the last one shorter), none under `minimum`; one range for an object
    /// under `threshold`.
    static func ranges(size: UInt64, threshold: UInt64, minimum: UInt64, count: Int) -> [ClosedRange<UInt64>] {
        guard size >= threshold, size > 0 else { return [0...max(size, 1) - 1] }
        let pieces = max(1, min(UInt64(count), size / max(minimum, 1)))
        let length = (size + pieces - 1) / pieces
        return stride(from: UInt64(0), to: size, by: Int(length)).map { $0...min($0 + length, size) - 1 }
    }
}

/// The shared state of one object fetched in segments: which ranges are in, and who finishes it.
///
/// The last segment job to end finishes the object: it hashes and links it when every range is in; it
/// fetches it again in one stream when the server ignored Range; else (a failure, already rethrown by
/// ``TransferWorkers``) it leaves the cleanup to ``abandonIfUnfinished()``.
final class SegmentedDownload: Sendable {
    private struct State: Sendable {
        var received: [UInt64]
        var complete: [Bool]
        var ended = 0
        var rangeless = false
        var failed = false
        var finished = false
    }

    let blob: SegmentedBlob
    let ranges: [ClosedRange<UInt64>]
    let sink: BlobSink
    private let state: Locked<State>

    init(blob: SegmentedBlob, ranges: [ClosedRange<UInt64>], sink: BlobSink) {
        self.blob = blob
        self.ranges = ranges
        self.sink = sink
        state = Locked(State(received: Array(repeating: 0, count: ranges.count),
                             complete: Array(repeating: false, count: ranges.count)))
    }

    var entry: ManifestEntry { blob.entry }
    var isRangeless: Bool { state.withLock { $0.rangeless } }
    func received(_ index: Int) -> UInt64 { state.withLock { $0.received[index] } }
    func add(_ count: UInt64, to index: Int) { state.withLock { $0.received[index] += count } }
    func reset(_ index: Int) -> UInt64 {
        state.withLock { state in
            defer { state.received[index] = 0 }
            return state.received[index]
        }
    }

    /// Notes that the server ignored Range: the object must come in one stream.
    func markRangeless() { state.withLock { $0.rangeless = true } }

    /// Records the end of segment job `index` (`complete` when its range is in, `failed` when it threw);
    /// returns what the caller, when it was the last job, must do.
    func end(_ index: Int, complete: Bool, failed: Bool = false) -> Ending {
        state.withLock { state -> Ending in
            state.complete[index] = complete
            state.failed = state.failed || failed
            state.ended += 1
            guard state.ended == ranges.count, !state.failed else { return .nothing }
            if state.complete.allSatisfy({ $0 }) { state.finished = true; return .verify }
            if state.rangeless { state.finished = true; return .wholeStream }
            return .nothing
        }
    }

    /// What the last segment job does.
    enum Ending { case nothing, verify, wholeStream }

    /// Removes the temp file of an object that did not get finished (a failure stopped the download).
    func abandonIfUnfinished() {
        let received = state.withLock { state -> UInt64? in
            if state.finished { return nil }
            state.finished = true
            return state.received.reduce(0, +)
        }
        if let received { blob.abandon(received: received) }
    }
}

extension SegmentedDownload {
    /// Runs segment job `index`: `fetchRange` streams the range into the ``SegmentStream`` it is given
    /// (skipped once the server is known to ignore Range: `rangesIgnored`, shared by a client's downloads);
    /// the last job to end verifies and stores the object, or, when ranges were ignored, drops them and calls
    /// `fetchWhole` to fetch the object in one stream. Returns true when this job stored the object.
    func fetch(segment index: Int, rangesIgnored: Locked<Bool>, workers: TransferWorkers,
               range fetchRange: (ClosedRange<UInt64>, SegmentStream) throws -> Void,
               whole fetchWhole: () throws -> Void) throws -> Bool {
        var complete = false
        do {
            if !rangesIgnored.withLock({ $0 }) && !isRangeless {
                complete = try fetchSegment(index, rangesIgnored: rangesIgnored, workers: workers, fetchRange)
            } else {
                markRangeless()
            }
        } catch {
            _ = end(index, complete: false, failed: true)
            if !(error is TransferCancelled) { sink.markFailed(entry) }
            throw error
        }
        switch end(index, complete: complete) {
        case .nothing:
            return false
        case .verify:
            try blob.finish()
            return true
        case .wholeStream:
            // The server sends whole bodies only: the ranges received so far are dropped, and the object
            // comes in one stream, hashed on the way in, as for a small object.
            blob.abandon(received: (0..<ranges.count).reduce(0) { $0 + reset($1) })
            try fetchWhole()
            return true
        }
    }

    /// One range into the blob at its offset; false when the server ignored Range.
    private func fetchSegment(_ index: Int, rangesIgnored: Locked<Bool>, workers: TransferWorkers,
                              _ fetchRange: (ClosedRange<UInt64>, SegmentStream) throws -> Void) throws -> Bool {
        let range = ranges[index]
        do {
            try fetchRange(range, SegmentStream(download: self, index: index, workers: workers))
        } catch is HTTPRangeIgnored {
            rangesIgnored.withLock { $0 = true }
            markRangeless()
            return false
        } catch is SegmentedBlobClosed {
            throw TransferCancelled()
        }
        guard received(index) == UInt64(range.count) else {
            sink.markFailed(entry)
            throw IntegrityError(.sizeMismatch, "object \(entry.digest): the server sent "
                                 + "\(received(index)) bytes for range \(range.lowerBound)-\(range.upperBound)")
        }
        return true
    }
}

/// One segment of a ``SegmentedDownload`` as the HTTP layer's stream target: bytes go to their offset,
/// never past the segment's end.
final class SegmentStream: HTTPStreamSink {
    private let download: SegmentedDownload
    private let index: Int
    private let workers: TransferWorkers

    init(download: SegmentedDownload, index: Int, workers: TransferWorkers) {
        self.download = download
        self.index = index
        self.workers = workers
    }

    var written: UInt64 { download.received(index) }

    func append(_ chunk: UnsafeRawBufferPointer) throws {
        if workers.isCancelled { throw TransferCancelled() }
        let range = download.ranges[index]
        let offset = range.lowerBound + written
        guard offset + UInt64(chunk.count) <= range.upperBound + 1 else {
            download.sink.markFailed(download.entry)
            throw IntegrityError(.sizeMismatch, "object \(download.entry.digest): the server sent more than the "
                                 + "\(range.count) bytes of range \(range.lowerBound)-\(range.upperBound)")
        }
        try download.blob.write(chunk, at: offset)
        download.add(UInt64(chunk.count), to: index)
    }

    func restart() throws {
        download.blob.discard(download.reset(index))
    }
}
