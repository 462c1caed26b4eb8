internal import CModelSyncCurl
import Foundation

/// A blocking HTTP client on libcurl: timeouts, retries with backoff, redirects, downloads that resume.
///
/// Each call runs on the calling thread with its own curl handle, so one client may be shared freely.
///
/// - TLS certificates are always verified; `caBundle` names a PEM file of extra CAs.
/// - Proxies come from the environment as curl reads them (`http_proxy`, `https_proxy`, `no_proxy`).
/// - Only the URLs `urlPolicy` allows are fetched (``HTTPURLPolicy``: `https://`, `http://` to loopback).
/// - Redirects are followed here, not by curl, up to `maxRedirects`, each target checked against
///   `urlPolicy`; the request's headers (the `Authorization` key and every configured header) go only to
///   the original scheme, host and port, never to another origin a redirect leads to: a presigned bucket
///   URL must not receive an API key.
///
/// ```swift
/// let client = HTTPClient(requestTimeout: 20)
/// let response = try client.send(HTTPRequest(url: "https://api.example/status/1",
///                                            headers: [("Authorization", "Bearer \(key)")]))
/// ```
public struct HTTPClient: Sendable {
    /// The version announced in the User-Agent header.
    public static let version = "0.1.0"
    /// `model-sync/<version>`.
    public static let defaultUserAgent = "model-sync/\(version)"

    /// Seconds allowed to establish a connection (TCP and TLS).
    public var connectTimeout: Double
    /// Seconds allowed for one whole request by `send` (downloads use a stall timeout instead).
    public var requestTimeout: Double
    /// A PEM file of CA certificates to trust, set as
    /// [CURLOPT_CAINFO](https://curl.se/libcurl/c/CURLOPT_CAINFO.html). It replaces curl's default CA bundle
    /// file; the default CA directory (CURLOPT_CAPATH, `/etc/ssl/certs` on Debian and Ubuntu) is still
    /// searched, so on those systems the bundle adds to the system store. Where libcurl has no default CA
    /// directory, the bundle must hold every CA to trust.
    public var caBundle: String?
    /// How many redirects to follow before failing.
    public var maxRedirects: Int
    /// How many attempts a request or a download may take, the first included.
    public var maxAttempts: Int
    /// The first backoff delay in seconds; it doubles with each attempt, with jitter.
    public var initialBackoff: Double
    /// The longest backoff delay in seconds.
    public var maxBackoff: Double
    /// The longest `Retry-After` honoured, in seconds; longer values are cut to it.
    public var maxRetryAfter: Double
    /// The largest response body `send` accepts, in bytes.
    public var maxResponseBytes: Int
    /// The User-Agent header.
    public var userAgent: String
    /// Waits between attempts, in seconds; tests inject a recorder.
    public var sleep: @Sendable (Double) -> Void
    /// Which URLs may be fetched, the first one and every redirect's.
    public var urlPolicy: HTTPURLPolicy

    /// Builds a client; every setting can be changed afterwards.
    public init(
        connectTimeout: Double = 10,
        requestTimeout: Double = 30,
        caBundle: String? = nil,
        maxRedirects: Int = 5,
        maxAttempts: Int = 5,
        initialBackoff: Double = 1,
        maxBackoff: Double = 30,
        maxRetryAfter: Double = 120,
        maxResponseBytes: Int = 64 << 20,
        userAgent: String = HTTPClient.defaultUserAgent,
        sleep: @escaping @Sendable (Double) -> Void = HTTPClient.threadSleep,
        urlPolicy: HTTPURLPolicy = HTTPURLPolicy()
    ) {
        self.urlPolicy = urlPolicy
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.caBundle = caBundle
        self.maxRedirects = maxRedirects
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.maxRetryAfter = maxRetryAfter
        self.maxResponseBytes = maxResponseBytes
        self.userAgent = userAgent
        self.sleep = sleep
    }

    /// The default `sleep`: blocks the calling thread.
    public static let threadSleep: @Sendable (Double) -> Void = { seconds in
        if seconds > 0 { Thread.sleep(forTimeInterval: seconds) }
    }

    /// Sends a request and returns the final response after redirects
    /// ([curl_easy_perform](https://curl.se/libcurl/c/curl_easy_perform.html)).
    ///
    /// Connection failures, timeouts, 429 and 5xx are retried up to `maxAttempts` times with exponential
    /// backoff and jitter, or after the server's `Retry-After` (seconds form, capped at `maxRetryAfter`).
    /// Any other status, 4xx included, is returned as is. When the attempts run out on a 429 or 5xx, throws
    /// `HTTPError` with code `.status(n)`, whose message carries the server's own explanation when its body
    /// gives one. Every method is retried, POST included: callers whose requests
    /// must not be repeated set `maxAttempts` to 1.
    public func send(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        try retry.run { (attempt) throws(HTTPError) -> AttemptOutcome<HTTPResponse, HTTPError> in
            let response: HTTPResponse
            do throws(HTTPError) {
                response = try sendFollowingRedirects(request)
            } catch {
                return .failure(error.after(attempts: attempt), error.isRetriable ? .retry(retryAfter: nil) : .fail)
            }
            guard HTTPClient.isRetriable(status: response.status) else { return .success(response) }
            let failure = HTTPError(.status(response.status), method: request.method, url: request.url,
                                    detail: HTTPClient.statusDetail(response.status, body: response.body),
                                    attempts: attempt)
            return .failure(failure, .retry(retryAfter: retryAfter(response.headers)))
        }
    }

    /// The retry loop of this client's settings (``Retry``): `maxAttempts`, a jittered backoff from
    /// `initialBackoff` to `maxBackoff`, `maxRetryAfter` and `sleep`.
    var retry: Retry {
        Retry(maxAttempts: maxAttempts,
              backoff: Backoff(initial: initialBackoff, maximum: maxBackoff, jitter: .upperHalf),
              maxRetryAfter: maxRetryAfter, sleep: sleep)
    }

    /// One attempt: the request, then each redirect ``nextRequest(after:status:location:original:hops:)`` allows.
    private func sendFollowingRedirects(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        _ = try urlPolicy.check(request.url, method: request.method)
        var current = request
        var hops = 0
        while true {
            let response = try sendOnce(current)
            guard HTTPClient.isRedirect(status: response.status) else { return response }
            current = try nextRequest(after: current, status: response.status, location: response.headers["location"],
                                      original: request, hops: hops)
            hops += 1
        }
    }

    /// One request, checked against `urlPolicy`, whose redirect (if any) is returned as the answer: for
    /// callers that must see where a server sends them before anything follows it.
    func sendWithoutFollowing(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        _ = try urlPolicy.check(request.url, method: request.method)
        return try sendOnce(request)
    }

    private func sendOnce(_ request: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        let method = request.method
        guard !method.isEmpty, method.allSatisfy({ $0.isASCII && ($0.isUppercase || $0 == "-") }) else {
            throw HTTPError(.invalidRequest, method: method, url: request.url, detail: "invalid HTTP method")
        }
        var removed: [String] = []
        if request.body != nil {
            // curl would add "Expect: 100-continue" for large bodies (a round trip lost) and a form content type.
            removed.append("Expect")
            if !request.headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                removed.append("Content-Type")
            }
        }
        let transfer = try makeTransfer(method: method, url: request.url, headers: request.headers, removing: removed)
        try transfer.set(CURLOPT_TIMEOUT_MS, milliseconds(requestTimeout))
        switch method {
        case "GET" where request.body == nil:
            break
        case "HEAD":
            try transfer.set(CURLOPT_NOBODY, 1)
        case "POST":
            try transfer.setBody(request.body ?? [])
        default:
            try transfer.set(CURLOPT_CUSTOMREQUEST, method)
            if let body = request.body { try transfer.setBody(body) }
        }
        var body: [UInt8] = []
        var tooLarge = false
        let limit = maxResponseBytes
        transfer.onBody = { chunk in
            guard body.count + chunk.count <= limit else {
                tooLarge = true
                return false
            }
            body.append(contentsOf: chunk)
            return true
        }
        let (code, message) = transfer.perform()
        transfer.onBody = { _ in true }
        if tooLarge {
            throw HTTPError(.tooLarge, method: method, url: request.url,
                            detail: "the response is larger than the \(limit) bytes allowed")
        }
        guard code == CURLE_OK else { throw failure(code, message, transfer) }
        let status = transfer.responseCode
        return HTTPResponse(status: status == 0 ? 200 : status, headers: transfer.responseHeaders, body: body)
    }

    /// A transfer with the settings every request shares.
    func makeTransfer(
        method: String, url: String, headers: [(String, String)], removing removed: [String] = []
    ) throws(HTTPError) -> Transfer {
        let transfer = try Transfer(method: method, url: url)
        // Timeouts without SIGALRM: the process is multi-threaded.
        try transfer.set(CURLOPT_NOSIGNAL, 1)
        try transfer.set(CURLOPT_PROTOCOLS_STR, urlPolicy.curlProtocols)
        // Redirects are followed by `nextRequest`, which checks the target and drops every header for
        // another origin: curl would drop only Authorization and Cookie, and send `runpod.headers` along.
        try transfer.set(CURLOPT_FOLLOWLOCATION, 0)
        try transfer.set(CURLOPT_SSL_VERIFYPEER, 1)
        try transfer.set(CURLOPT_SSL_VERIFYHOST, 2)
        if let caBundle {
            // OpenSSL would block on a FIFO at the first handshake, or read a device without end.
            var info = stat()
            if stat(caBundle, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
                throw HTTPError(.invalidTarget, method: method, url: url,
                                detail: "the CA bundle \(caBundle) is not a regular file")
            }
            try transfer.set(CURLOPT_CAINFO, caBundle)
        }
        try transfer.set(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(connectTimeout))
        try transfer.set(CURLOPT_USERAGENT, userAgent)
        try transfer.setHeaders(headers, removing: removed)
        return transfer
    }

    /// The delay before the attempt after `attempt` (``Retry/delay(afterAttempt:retryAfter:)``).
    func retryDelay(afterAttempt attempt: Int, retryAfter: Double?) -> Double {
        retry.delay(afterAttempt: attempt, retryAfter: retryAfter)
    }

    /// The `Retry-After` header in its seconds form; the HTTP-date form falls back to the backoff.
    func retryAfter(_ headers: [String: String]) -> Double? {
        guard let value = headers["retry-after"].flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }),
              value.isFinite, value >= 0 else { return nil }
        return value
    }

    static func isRetriable(status: Int) -> Bool {
        status == 429 || (500...599).contains(status)
    }

    /// Turns a failed `curl_easy_perform` into an `HTTPError` with curl's message.
    func failure(_ code: CURLcode, _ message: String, _ transfer: Transfer) -> HTTPError {
        let (kind, detail): (HTTPError.Code, String)
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
            (kind, detail) = (.connection, "cannot connect")
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
             CURLE_HTTP2_STREAM, CURLE_HTTP3:
            (kind, detail) = (.connection, "the connection broke")
        case CURLE_OPERATION_TIMEDOUT:
            (kind, detail) = (.timeout, "timed out")
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CACERT_BADFILE,
             CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE, CURLE_USE_SSL_FAILED:
            (kind, detail) = (.tls, "TLS failed")
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            (kind, detail) = (.invalidRequest, "invalid or unsupported URL")
        case CURLE_FILE_COULDNT_READ_FILE:
            (kind, detail) = (.transfer, "cannot read the file")
        case CURLE_TOO_MANY_REDIRECTS:
            (kind, detail) = (.tooManyRedirects, "more than \(maxRedirects) redirects")
        default:
            (kind, detail) = (.transfer, "transfer failed")
        }
        return HTTPError(kind, method: transfer.method, url: transfer.url, detail: detail, curlMessage: message)
    }

    private func milliseconds(_ seconds: Double) -> Int {
        seconds.isFinite && seconds > 0 ? Int((seconds * 1000).rounded(.up)) : 0
    }
}

extension HTTPError {
    /// Connection failures and timeouts may succeed on another attempt.
    var isRetriable: Bool {
        code == .connection || code == .timeout
    }
}
