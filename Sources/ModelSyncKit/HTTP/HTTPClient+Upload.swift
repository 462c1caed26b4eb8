internal import CModelSyncCurl
import Foundation

extension HTTPClient {
    /// PUTs the `size` bytes of the file at `path` to `url`, streamed from disk as curl sends them, and
    /// returns the final response.
    ///
    /// Connection failures, timeouts (a send that moves no byte for `stallTimeout` seconds), 429 and 5xx
    /// are retried from the first byte, up to `maxAttempts` with this client's backoff; a PUT of the same
    /// bytes is safe to repeat. Any other status is returned as is. A 307 or 308 is followed with the same
    /// body (headers only to `url`'s origin); other redirects are returned. `progress` gets each chunk's
    /// byte count as it leaves, and the negative count of an attempt that starts over; `isCancelled` is
    /// polled before each chunk and stops the transfer (another upload failed).
    ///
    /// With `method` (`PATCH` for a chunk of an OCI upload) and `offset`, the body is the `size` bytes of
    /// the file from `offset` on; callers whose request must not be repeated set `maxAttempts` to 1.
    public func upload(method: String = "PUT", url: String, headers: [(String, String)] = [], file path: String,
                       offset: UInt64 = 0, size: UInt64,
                       stallTimeout: Double = 300, progress: ((Int64) -> Void)? = nil,
                       isCancelled: (() -> Bool)? = nil) throws(HTTPError) -> HTTPResponse {
        _ = try urlPolicy.check(url, method: method)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw HTTPError(.file, method: method, url: url, detail: "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let body = UploadBody(fd: fd, path: path, start: offset, size: size, progress: progress, isCancelled: isCancelled)
        return try retry.run { (attempt) throws(HTTPError) -> AttemptOutcome<HTTPResponse, HTTPError> in
            do throws(HTTPError) {
                let response = try uploadFollowingRedirects(method: method, url: url, headers: headers, body: body,
                                                            stallTimeout: stallTimeout)
                guard HTTPClient.isRetriable(status: response.status) else { return .success(response) }
                body.rewind()
                let failure = HTTPError(.status(response.status), method: method, url: url,
                                        detail: HTTPClient.statusDetail(response.status, body: response.body),
                                        attempts: attempt)
                return .failure(failure, .retry(retryAfter: retryAfter(response.headers)))
            } catch {
                body.rewind()
                return .failure(error.after(attempts: attempt), error.isRetriable && !body.failed ? .retry(retryAfter: nil) : .fail)
            }
        }
    }

    /// One attempt: the PUT, then each 307/308 with the body sent again from its first byte.
    private func uploadFollowingRedirects(method: String, url: String, headers: [(String, String)], body: UploadBody,
                                          stallTimeout: Double) throws(HTTPError) -> HTTPResponse {
        let original = HTTPRequest(method: method, url: url, headers: headers)
        var current = original
        var hops = 0
        while true {
            let response = try uploadOnce(current, body: body, stallTimeout: stallTimeout)
            guard response.status == 307 || response.status == 308 else { return response }
            body.rewind()
            current = try nextRequest(after: current, status: response.status, location: response.headers["location"],
                                      original: original, hops: hops)
            hops += 1
        }
    }

    private func uploadOnce(_ request: HTTPRequest, body: UploadBody, stallTimeout: Double) throws(HTTPError) -> HTTPResponse {
        // curl would wait for a "100 Continue" before large bodies: a round trip lost on every object.
        let transfer = try makeTransfer(method: request.method, url: request.url, headers: request.headers, removing: ["Expect"])
        try transfer.setUpload(size: body.size)
        // CURLOPT_UPLOAD sends a PUT; another method keeps the streamed body under its own name.
        if request.method != "PUT" { try transfer.set(CURLOPT_CUSTOMREQUEST, request.method) }
        // Reads of up to 1 MiB rather than curl's 64 KiB: fewer reads and sends per GiB.
        try transfer.set(CURLOPT_UPLOAD_BUFFERSIZE, 1 << 20)
        try transfer.set(CURLOPT_LOW_SPEED_LIMIT, 1)
        try transfer.set(CURLOPT_LOW_SPEED_TIME, max(1, Int(stallTimeout.rounded(.up))))
        transfer.onRead = { buffer in body.read(into: buffer) }
        var answer: [UInt8] = []
        transfer.onBody = { chunk in
            // Only the server's short answer is kept (an error message); the rest is read and dropped.
            if answer.count < 65_536 { answer.append(contentsOf: chunk.prefix(65_536 - answer.count)) }
            return true
        }
        let (code, message) = transfer.perform()
        transfer.onRead = { _ in 0 }
        transfer.onBody = { _ in true }
        if let readErrno = body.readErrno {
            throw HTTPError(.file, method: request.method, url: request.url,
                            detail: "cannot read \(body.path): \(String(cString: strerror(readErrno)))")
        }
        if body.cancelled {
            throw HTTPError(.transfer, method: request.method, url: request.url, detail: "cancelled")
        }
        guard code == CURLE_OK else { throw failure(code, message, transfer) }
        return HTTPResponse(status: transfer.responseCode, headers: transfer.responseHeaders, body: answer)
    }
}

/// The body of one upload: `size` bytes of the file from `start`, read at increasing offsets, rewound when an
/// attempt starts over.
private final class UploadBody {
    let fd: Int32
    let path: String
    let start: UInt64
    let size: UInt64
    let progress: ((Int64) -> Void)?
    let isCancelled: (() -> Bool)?
    private var offset: UInt64 = 0
    var readErrno: Int32?
    var cancelled = false
    /// A failure no other attempt can fix (the file cannot be read, the upload was cancelled).
    var failed: Bool { readErrno != nil || cancelled }

    init(fd: Int32, path: String, start: UInt64, size: UInt64, progress: ((Int64) -> Void)?,
         isCancelled: (() -> Bool)?) {
        self.fd = fd
        self.path = path
        self.start = start
        self.size = size
        self.progress = progress
        self.isCancelled = isCancelled
    }

    /// The next bytes for curl; nil aborts the transfer.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        if isCancelled?() == true {
            cancelled = true
            return nil
        }
        let wanted = Int(min(UInt64(buffer.count), size - offset))
        guard wanted > 0 else { return 0 }
        while true {
            let count = pread(fd, buffer.baseAddress, wanted, off_t(start + offset))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                // A file shorter than its size: the object changed under us, never send a truncated body.
                readErrno = count < 0 ? errno : EIO
                return nil
            }
            offset += UInt64(count)
            progress?(Int64(count))
            return count
        }
    }

    /// Back to the first byte, taking back the progress reported for the bytes sent so far.
    func rewind() {
        if offset > 0 { progress?(-Int64(offset)) }
        offset = 0
    }
}

@available(*, unavailable)
extension UploadBody: Sendable {}
