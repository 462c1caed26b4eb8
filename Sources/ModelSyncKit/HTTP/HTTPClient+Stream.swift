internal import CModelSyncCurl
import Foundation

/// Where ``HTTPClient/stream(url:headers:stallTimeout:into:)`` delivers a body: in order, resumable.
///
/// The sink decides what the bytes are worth (a store blob hashes them on the way in); the client only asks
/// how many it already holds, to resume from there.
public protocol HTTPStreamSink: AnyObject {
    /// The bytes received so far: a resumed transfer asks the server for the rest from here.
    var written: UInt64 { get }
    /// Takes the next bytes; an error thrown here stops the transfer and is rethrown as is.
    func append(_ chunk: UnsafeRawBufferPointer) throws
    /// Discards the bytes received so far: the server sends the whole body again.
    func restart() throws
}

extension HTTPClient {
    /// Streams the body of a GET of `url` into `sink`, in constant memory, resuming after stalls and drops.
    ///
    /// A transfer that receives no byte for `stallTimeout` seconds
    /// ([CURLOPT_LOW_SPEED_TIME](https://curl.se/libcurl/c/CURLOPT_LOW_SPEED_TIME.html)) or whose connection
    /// breaks is resumed with `Range: bytes=<written>-`; a 206 appends, a 200 (the server ignored Range)
    /// restarts the sink and takes the whole body. Connection failures, timeouts, 429 and 5xx are retried
    /// up to `maxAttempts` with this client's backoff; any other status throws `.status(n)` with the
    /// server's own short message in the detail. Redirects follow ``nextRequest(after:status:location:original:hops:)``:
    /// the headers go only to `url`'s origin. Errors the sink throws end the download at once, unchanged.
    ///
    /// With `range`, only those bytes of the body are asked (`Range: bytes=a-b`, resumed from `a + written`)
    /// and the server must answer 206: a 200 (it ignores Range) throws ``HTTPRangeIgnored`` at once, before
    /// any byte reaches the sink, so the caller can fetch the whole body another way.
    ///
    /// - Returns: how many transfers it took (1 when nothing had to be resumed).
    @discardableResult
    public func stream(url: String, headers: [(String, String)] = [], range: ClosedRange<UInt64>? = nil,
                       stallTimeout: Double = 300, into sink: some HTTPStreamSink) throws -> Int {
        _ = try urlPolicy.check(url, method: "GET")
        let state = StreamState(sink: sink, range: range)
        return try retry.run { (attempt) throws -> AttemptOutcome<Int, any Error> in
            do {
                try streamOnce(url: url, headers: headers, state: state, stallTimeout: stallTimeout)
                return .success(attempt)
            } catch let error as HTTPError {
                let statusRetriable = error.code.status.map(HTTPClient.isRetriable(status:)) ?? false
                let decision: RetryDecision = state.resend ? .retryAtOnce
                    : error.isRetriable || statusRetriable ? .retry(retryAfter: state.retryAfter) : .fail
                return .failure(error.after(attempts: attempt), decision)
            }
        }
    }

    /// One attempt: the transfer from the sink's current size, then each redirect allowed, every hop
    /// resuming at the same byte.
    private func streamOnce(url: String, headers: [(String, String)], state: StreamState,
                            stallTimeout: Double) throws {
        let original = HTTPRequest(url: url, headers: headers)
        var current = original
        var hops = 0
        while let redirect = try streamTransfer(url: current.url, headers: current.headers, state: state,
                                                stallTimeout: stallTimeout) {
            current = try nextRequest(after: current, status: redirect.status, location: redirect.location,
                                      original: original, hops: hops)
            hops += 1
        }
    }

    /// One transfer into the sink; a redirect's status and location are returned for `streamOnce` to follow.
    private func streamTransfer(url: String, headers: [(String, String)], state: StreamState,
                                stallTimeout: Double) throws -> (status: Int, location: String?)? {
        if state.resend {
            // The server answered a Range request with another range: start again from zero.
            state.resend = false
            try state.sink.restart()
        }
        let offset = state.sink.written
        var requestHeaders = headers
        // A Range header of our own rather than CURLOPT_RESUME_FROM: curl would fail a 200 answer with
        // CURLE_RANGE_ERROR, where taking the whole body again costs no extra request.
        let first = (state.range?.lowerBound ?? 0) + offset
        if let range = state.range {
            requestHeaders.append(("Range", "bytes=\(first)-\(range.upperBound)"))
        } else if offset > 0 {
            requestHeaders.append(("Range", "bytes=\(offset)-"))
        }
        let transfer = try makeTransfer(method: "GET", url: url, headers: requestHeaders)
        try transfer.set(CURLOPT_LOW_SPEED_LIMIT, 1)
        try transfer.set(CURLOPT_LOW_SPEED_TIME, max(1, Int(stallTimeout.rounded(.up))))
        // Chunks of up to 256 KiB rather than curl's 16 KiB: a sixteenth of the calls into the sink per GiB.
        try transfer.set(CURLOPT_BUFFERSIZE, 256 << 10)
        state.retryAfter = nil
        var started = false
        var errorPage: [UInt8]?
        var sinkError: (any Error)?
        let segment = state.range != nil
        transfer.onBody = { [unowned transfer] chunk in
            if !started {
                started = true
                switch Self.streamStart(transfer, offset: first, segment: segment) {
                case .body: break
                case .rangeIgnored:
                    sinkError = HTTPRangeIgnored(url: url)
                    return false
                case .errorPage: errorPage = []
                case .wholeBody:
                    do { try state.sink.restart() } catch { sinkError = error; return false }
                case .otherRange:
                    state.resend = true
                    return false
                }
            }
            if errorPage != nil {
                if errorPage!.count < 4096 { errorPage!.append(contentsOf: chunk.prefix(4096 - errorPage!.count)) }
                return true
            }
            do {
                try state.sink.append(chunk)
                return true
            } catch {
                sinkError = error
                return false
            }
        }
        let (code, message) = transfer.perform()
        transfer.onBody = { _ in true }
        if let sinkError { throw sinkError }
        let status = transfer.status
        if code == CURLE_OK, HTTPClient.isRedirect(status: status) {
            return (status, transfer.responseHeaders["location"])
        }
        if state.resend || (code == CURLE_OK && status == 416 && offset > 0) {
            state.resend = true
            throw HTTPError(.transfer, method: "GET", url: url, detail: "the server did not resume at byte \(offset)")
        }
        guard code == CURLE_OK else {
            state.retryAfter = retryAfter(transfer.responseHeaders)
            throw failure(code, message, transfer)
        }
        if status != 0 && !(200...299).contains(status) {
            state.retryAfter = retryAfter(transfer.responseHeaders)
            throw HTTPError(.status(status), method: "GET", url: url,
                            detail: HTTPClient.statusDetail(status, body: errorPage ?? []))
        }
        return nil
    }

    /// What the first chunk of a streamed response is.
    private enum StreamStart {
        /// The bytes from the offset asked.
        case body
        /// An error status's page, kept for its message.
        case errorPage
        /// The whole body, from byte 0, though a range was asked (the server ignored Range).
        case wholeBody
        /// A range other than the one asked: the next attempt starts over.
        case otherRange
        /// The whole body, though a segment was asked: the caller falls back to one stream.
        case rangeIgnored
    }

    private static func streamStart(_ transfer: Transfer, offset: UInt64, segment: Bool) -> StreamStart {
        let status = transfer.status
        if status != 0 && !(200...299).contains(status) { return .errorPage }
        if segment && status != 206 { return .rangeIgnored }
        guard offset > 0 || segment else { return .body }
        if status == 200 { return .wholeBody }
        if status == 206, ContentRange(transfer.responseHeaders["content-range"])?.start != offset { return .otherRange }
        return .body
    }

    /// `HTTP <status>`, with the server's own explanation when its body gives one: the `message` of a
    /// JSON body (Git LFS, GitHub, S3-style APIs), else the first line of a short text body. Scrubbed of
    /// every registered secret.
    static func statusDetail(_ status: Int, body: [UInt8]) -> String {
        guard let text = serverMessage(body) else { return "HTTP \(status)" }
        return "HTTP \(status): \(text)"
    }

    /// The server's explanation in an error body, cut to 300 characters, or nil when it gives none.
    static func serverMessage(_ body: [UInt8]) -> String? {
        var text: String?
        if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
           let message = object["message"] as? String {
            text = message
        } else if body.count <= 4096, let line = String(validating: body, as: UTF8.self)?
                    .split(whereSeparator: \.isNewline).first {
            text = String(line)
        }
        guard let trimmed = text?.trimmingCharacters(in: .whitespaces), !trimmed.isEmpty,
              trimmed.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else { return nil }
        return SecretScrubber.shared.scrubbedPrefix(trimmed, maxLength: 300)
    }
}

/// What the attempts of one streamed download share.
private final class StreamState {
    let sink: any HTTPStreamSink
    /// The bytes asked for, when only a segment of the body is.
    let range: ClosedRange<UInt64>?
    /// The last answer's range was not the one asked for: the next attempt restarts the sink first.
    var resend = false
    var retryAfter: Double?

    init(sink: any HTTPStreamSink, range: ClosedRange<UInt64>?) {
        self.sink = sink
        self.range = range
    }
}

/// Thrown by ``HTTPClient/stream(url:headers:range:stallTimeout:into:)`` when a server answers a request for
/// a range with the whole body (200): it does not serve ranges, so the body must come in one stream.
public struct HTTPRangeIgnored: Error {
    /// The URL whose server ignored Range.
    public let url: String
}

@available(*, unavailable)
extension StreamState: Sendable {}
