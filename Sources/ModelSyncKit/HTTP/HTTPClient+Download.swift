internal import CModelSyncCurl
import Foundation

/// What a download produced.
public struct DownloadResult: Sendable, Equatable {
    /// The size of the downloaded file.
    public var bytesWritten: UInt64
    /// How many transfers it took (1 when nothing had to be resumed).
    public var attempts: Int
}

extension HTTPClient {
    /// Downloads `url` into the file at `path`, resuming after stalls and dropped connections.
    ///
    /// The bytes go to a temp file beside `path` that replaces it, flushed to disk, only once the download is
    /// complete (``DurableFile``); on any failure nothing changes at `path`. A transfer that receives no byte for `stallTimeout` seconds
    /// ([CURLOPT_LOW_SPEED_TIME](https://curl.se/libcurl/c/CURLOPT_LOW_SPEED_TIME.html); curl averages the
    /// speed over a few seconds, so a stall after fast traffic is seen up to about 5 s late) or whose
    /// connection breaks is resumed with a Range request from the bytes already written
    /// ([CURLOPT_RESUME_FROM_LARGE](https://curl.se/libcurl/c/CURLOPT_RESUME_FROM_LARGE.html)), up to
    /// `maxAttempts` transfers in all; 429 and 5xx are retried the same way after a backoff. A server that
    /// ignores Range gets the download restarted from zero. When the declared size or the bytes received
    /// pass `maxBytes`, the download stops with `.tooLarge`.
    ///
    /// ```swift
    /// let result = try client.download(url: archiveURL, to: "/tmp/archive.zip", stallTimeout: 300,
    ///                                  maxBytes: 20 << 30) { received, total in draw(received, total) }
    /// ```
    ///
    /// - Parameter progress: called on the calling thread with the bytes in the file and the full size
    ///   when the server announced it.
    public func download(
        url: String,
        headers: [(String, String)] = [],
        to path: String,
        stallTimeout: Double = 300,
        maxBytes: UInt64? = nil,
        progress: ((_ received: UInt64, _ total: UInt64?) -> Void)? = nil
    ) throws(HTTPError) -> DownloadResult {
        _ = try urlPolicy.check(url, method: "GET")
        try Self.checkTarget(path, url: url)
        let file: DurableFile
        do {
            file = try DurableFile(in: (path as NSString).deletingLastPathComponent,
                                   prefix: "." + (path as NSString).lastPathComponent + ".part-")
        } catch {
            throw HTTPError(.file, method: "GET", url: url, detail: "cannot open \(path): \(String(cString: strerror(error.errno)))")
        }
        let state = DownloadState(file: file, path: path, maxBytes: maxBytes, progress: progress)
        let attempts = try retry.run { (attempt) throws(HTTPError) -> AttemptOutcome<Int, HTTPError> in
            if state.restartRequested {
                // The server ignored Range: start again from zero.
                state.restartRequested = false
                try state.truncate(url: url)
            }
            do throws(HTTPError) {
                try downloadOnce(url: url, headers: headers, state: state, stallTimeout: stallTimeout)
                return .success(attempt)
            } catch {
                let statusRetriable = error.code.status.map(HTTPClient.isRetriable(status:)) ?? false
                let decision: RetryDecision = state.restartRequested ? .retryAtOnce
                    : error.isRetriable || statusRetriable ? .retry(retryAfter: state.retryAfter) : .fail
                return .failure(error.after(attempts: attempt), decision)
            }
        }
        do {
            try file.commit(to: path, mode: 0o644, placement: .replace)
        } catch {
            throw HTTPError(.file, method: "GET", url: url, detail: "cannot write \(path): \(String(cString: strerror(error.errno)))")
        }
        return DownloadResult(bytesWritten: state.written, attempts: attempts)
    }

    /// A target that exists must be a regular file: renaming over a device, a FIFO or a directory would
    /// replace something that is not a download.
    static func checkTarget(_ path: String, url: String) throws(HTTPError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw HTTPError(.invalidTarget, method: "GET", url: url,
                            detail: "the download target \(path) exists and is not a regular file")
        }
    }

    /// One attempt: the transfer from byte `state.written`, then each redirect `nextRequest` allows, every
    /// hop resuming at the same byte.
    private func downloadOnce(url: String, headers: [(String, String)], state: DownloadState,
                              stallTimeout: Double) throws(HTTPError) {
        let original = HTTPRequest(url: url, headers: headers)
        var current = original
        var hops = 0
        while let redirect = try downloadTransfer(url: current.url, headers: current.headers, state: state,
                                                  stallTimeout: stallTimeout) {
            current = try nextRequest(after: current, status: redirect.status, location: redirect.location,
                                      original: original, hops: hops)
            hops += 1
        }
    }

    /// One transfer: from byte `state.written` (a Range request when resuming) to the end or a failure;
    /// a redirect's status and location are returned for `downloadOnce` to follow.
    private func downloadTransfer(url: String, headers: [(String, String)], state: DownloadState,
                                  stallTimeout: Double) throws(HTTPError) -> (status: Int, location: String?)? {
        let offset = state.written
        let transfer = try makeTransfer(method: "GET", url: url, headers: headers)
        try transfer.set(CURLOPT_LOW_SPEED_LIMIT, 1)
        try transfer.set(CURLOPT_LOW_SPEED_TIME, max(1, Int(stallTimeout.rounded(.up))))
        if offset > 0 { try transfer.set(CURLOPT_RESUME_FROM_LARGE, offset: Int64(offset)) }
        state.retryAfter = nil
        var started = false
        var discard = false
        transfer.onBody = { [unowned transfer] chunk in
            if !started {
                started = true
                switch Self.firstChunk(of: transfer, offset: offset, state: state) {
                case .file: break
                case .errorPage: discard = true
                case .stop: return false
                }
            }
            return discard ? true : state.append(chunk)
        }
        let (code, message) = transfer.perform()
        transfer.onBody = { _ in true }
        if code == CURLE_OK, !state.tooLarge, state.writeErrno == nil, HTTPClient.isRedirect(status: transfer.status) {
            return (transfer.status, transfer.responseHeaders["location"])
        }
        try checkAttempt(code, message, transfer, url: url, offset: offset, state: state)
        if !started && offset == 0 { state.progress?(0, transfer.contentLength) }
        return nil
    }

    /// What the first chunk of a response is.
    private enum FirstChunk { case file, errorPage, stop }

    /// Decides, from the status and headers, whether the body is the file from `offset`, an error page to
    /// discard, or a reason to stop now (a restart from zero, or a declared size past `maxBytes`).
    private static func firstChunk(of transfer: Transfer, offset: UInt64, state: DownloadState) -> FirstChunk {
        let status = transfer.status
        if status != 0 && !(200...299).contains(status) { return .errorPage }
        if status == 200 && offset > 0 {
            // Curl refuses this case itself (CURLE_RANGE_ERROR); kept for servers it lets through.
            state.restartRequested = true
            return .stop
        }
        if status == 206, let range = ContentRange(transfer.responseHeaders["content-range"]), range.start != offset {
            state.restartRequested = true
            return .stop
        }
        state.total = transfer.contentLength.map { $0 + offset }
        if let total = state.total, let maxBytes = state.maxBytes, total > maxBytes {
            state.tooLarge = true
            return .stop
        }
        return .file
    }

    /// Turns how a transfer ended into success or the error that says whether to resume, restart or stop.
    private func checkAttempt(_ code: CURLcode, _ message: String, _ transfer: Transfer, url: String, offset: UInt64,
                              state: DownloadState) throws(HTTPError) {
        if state.tooLarge {
            throw HTTPError(.tooLarge, method: "GET", url: url,
                            detail: "the response is larger than the \(state.maxBytes ?? 0) bytes allowed")
        }
        if let writeErrno = state.writeErrno {
            throw HTTPError(.file, method: "GET", url: url,
                            detail: "cannot write \(state.path): \(String(cString: strerror(writeErrno)))")
        }
        let status = transfer.status
        if code == CURLE_RANGE_ERROR || state.restartRequested {
            state.restartRequested = true
            throw HTTPError(.transfer, method: "GET", url: url, detail: "the server did not resume at byte \(offset)",
                            curlMessage: code == CURLE_OK ? nil : message)
        }
        guard code == CURLE_OK else {
            state.retryAfter = retryAfter(transfer.responseHeaders)
            throw failure(code, message, transfer)
        }
        if status == 416, offset > 0 {
            // Nothing left to send: complete only if the server's size is what we already have.
            if ContentRange(transfer.responseHeaders["content-range"])?.total == offset { return }
            state.restartRequested = true
            throw HTTPError(.transfer, method: "GET", url: url, detail: "the server did not resume at byte \(offset)")
        }
        if status != 0 && !(200...299).contains(status) {
            state.retryAfter = retryAfter(transfer.responseHeaders)
            throw HTTPError(.status(status), method: "GET", url: url, detail: "HTTP \(status)")
        }
    }
}

/// What the attempts of one download share: the open file and how much of it is written.
private final class DownloadState {
    /// Written through its own methods, so it starts writing back as the bytes arrive (``DurableFile/wrote(_:)``)
    /// and the fsync of a multi-gigabyte archive at the end finds little left to do.
    let file: DurableFile
    let path: String
    let maxBytes: UInt64?
    let progress: ((UInt64, UInt64?) -> Void)?
    var written: UInt64 = 0
    var total: UInt64?
    var tooLarge = false
    var writeErrno: Int32?
    var restartRequested = false
    var retryAfter: Double?

    init(file: DurableFile, path: String, maxBytes: UInt64?, progress: ((UInt64, UInt64?) -> Void)?) {
        self.file = file
        self.path = path
        self.maxBytes = maxBytes
        self.progress = progress
    }

    /// Writes a chunk; false stops the transfer (size limit passed or write failed).
    func append(_ chunk: UnsafeRawBufferPointer) -> Bool {
        if let maxBytes, written + UInt64(chunk.count) > maxBytes {
            tooLarge = true
            return false
        }
        do {
            try file.write(chunk)
        } catch {
            writeErrno = error.errno
            return false
        }
        written += UInt64(chunk.count)
        progress?(written, total)
        return true
    }

    /// Empties the file for a download that starts again from zero.
    func truncate(url: String) throws(HTTPError) {
        guard ftruncate(file.descriptor, 0) == 0, lseek(file.descriptor, 0, SEEK_SET) == 0 else {
            throw HTTPError(.file, method: "GET", url: url,
                            detail: "cannot truncate \(path): \(String(cString: strerror(errno)))")
        }
        written = 0
        total = nil
        progress?(0, nil)
    }
}

@available(*, unavailable)
extension DownloadState: Sendable {}

/// `Content-Range: bytes 500-999/1000` or `bytes */1000`.
struct ContentRange {
    var start: UInt64?
    var total: UInt64?

    init?(_ header: String?) {
        guard let header, header.hasPrefix("bytes ") else { return nil }
        let spec = header.dropFirst("bytes ".count)
        let parts = spec.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        total = UInt64(parts[1])
        if parts[0] != "*" {
            guard let dash = parts[0].firstIndex(of: "-"), let start = UInt64(parts[0][..<dash]) else { return nil }
            self.start = start
        }
    }
}
