import Foundation

/// A failed HTTP request or download: what failed, on which URL, with curl's own explanation.
///
/// The URL is kept without its userinfo, query string and fragment: presigned URLs carry their credentials
/// in the query. Header values never appear in the message (an `Authorization` header holds a key).
public struct HTTPError: ModelSyncError {
    /// What kind of failure it was. A struct with static members so codes can be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name (`"connection"`, `"status"`...).
        public let rawValue: String
        /// The HTTP status for `.status(_)`, otherwise nil.
        public let status: Int?

        init(_ rawValue: String, status: Int? = nil) {
            self.rawValue = rawValue
            self.status = status
        }

        /// The server could not be reached or the connection broke (refused, reset, DNS, truncated body).
        public static let connection = Code("connection")
        /// The connect timeout, the request timeout or the download stall timeout expired.
        public static let timeout = Code("timeout")
        /// The TLS handshake or the certificate verification failed.
        public static let tls = Code("tls")
        /// The response (or its declared length) is larger than the limit.
        public static let tooLarge = Code("too-large")
        /// The redirect limit was reached.
        public static let tooManyRedirects = Code("too-many-redirects")
        /// The request itself is invalid: a malformed URL, an unsupported scheme, a line break in a header.
        public static let invalidRequest = Code("invalid-request")
        /// The URL's scheme or host is not one ``HTTPURLPolicy`` allows (`file://`, `ftp://`, plain `http://`
        /// to another machine): a configuration to fix, exit 2.
        public static let refusedURL = Code("refused-url")
        /// A response redirected to a URL the policy refuses (another scheme, plain http:// to another machine).
        public static let refusedRedirect = Code("refused-redirect")
        /// A file the request needs — the download target, the CA bundle — is a FIFO, a device or a directory
        /// instead of a regular file: exit 2.
        public static let invalidTarget = Code("invalid-target")
        /// The downloaded bytes could not be written to the destination file.
        public static let file = Code("file")
        /// Any other transfer failure reported by curl.
        public static let transfer = Code("transfer")
        /// The server answered with this HTTP status and the request cannot succeed by retrying it.
        public static func status(_ status: Int) -> Code { Code("status", status: status) }

        public var description: String {
            status.map { "status \($0)" } ?? rawValue
        }
    }

    /// What kind of failure it was.
    public let code: Code
    /// The HTTP method of the request (`GET` for downloads).
    public let method: String
    /// The request URL without userinfo, query string or fragment.
    public let url: String
    /// What went wrong, in words.
    public let detail: String
    /// curl's error text for the failing transfer, captured from its error buffer right after the call.
    public let curlMessage: String?
    /// How many attempts were made before giving up.
    public private(set) var attempts: Int

    /// Builds the error; `url` is redacted here, so callers may pass the URL they requested.
    init(_ code: Code, method: String, url: String, detail: String, curlMessage: String? = nil, attempts: Int = 1) {
        self.code = code
        self.method = method
        self.url = HTTPError.redact(url)
        self.detail = detail
        self.curlMessage = curlMessage.map { HTTPError.scrub($0, of: url) }.flatMap { $0.isEmpty ? nil : $0 }
        self.attempts = attempts
    }

    /// A copy that records how many attempts were made.
    func after(attempts: Int) -> HTTPError {
        var copy = self
        copy.attempts = attempts
        return copy
    }

    public var category: ErrorCategory {
        switch code {
        case .file: return ErrorCategory.mentionsOutOfSpace(detail) ? .outOfSpace : .unexpected
        case .refusedURL, .invalidTarget: return .usage
        default: return .remote
        }
    }

    public var message: String {
        var text = "\(method) \(url): \(detail)"
        if let curlMessage { text += " (\(curlMessage))" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        return text
    }

    public var hint: String? {
        switch code.rawValue {
        case Code.connection.rawValue: return "check the network, the URL and any proxy settings (https_proxy, no_proxy)"
        case Code.timeout.rawValue: return "the server is slow or unreachable; try again later or raise the timeout"
        case Code.tls.rawValue: return "check the server certificate, or set ca_bundle to a file holding its CA"
        case Code.tooLarge.rawValue: return "raise the size limit if this response is expected"
        case Code.refusedURL.rawValue:
            return "use an https:// URL; plain http:// to another machine needs runpod.allow_insecure_http: true"
        case Code.invalidTarget.rawValue: return "give the path of a regular file"
        case Code.refusedRedirect.rawValue:
            return "the server redirects somewhere model-sync does not follow; use the final https:// URL directly"
        case "status":
            switch code.status ?? 0 {
            case 401, 403: return "check the API key or token"
            case 404: return "check the URL; the resource may have expired"
            case 429: return "the server is rate limiting; try again later"
            default: return nil
            }
        default: return nil
        }
    }

    /// The URL without userinfo (`user:password@`), query string and fragment.
    ///
    /// ```swift
    /// HTTPError.redact("https://u:p@bucket.example/a.zip?X-Amz-Signature=abc") // "https://bucket.example/a.zip"
    /// ```
    public static func redact(_ url: String) -> String {
        var rest = Substring(url)
        var prefix = ""
        if let schemeEnd = rest.range(of: "://") {
            prefix = String(rest[..<schemeEnd.upperBound])
            rest = rest[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                rest = rest[rest.index(after: at)...]
            }
        }
        let pathEnd = rest.firstIndex { $0 == "?" || $0 == "#" } ?? rest.endIndex
        return prefix + rest[..<pathEnd]
    }

    /// curl's message with the URL's secret parts (query, userinfo) removed, should curl have quoted them.
    static func scrub(_ text: String, of url: String) -> String {
        var text = text
        if text.contains(url) { text = text.replacingOccurrences(of: url, with: redact(url)) }
        var secrets: [Substring] = []
        if let query = url.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            secrets.append(url[url.index(after: query)...])
        }
        if let schemeEnd = url.range(of: "://") {
            let rest = url[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") { secrets.append(rest[..<at]) }
        }
        // Short fragments ("a=1") would mangle unrelated words; credentials are never that short.
        for secret in secrets where secret.count >= 6 {
            text = text.replacingOccurrences(of: String(secret), with: "…")
        }
        return text
    }
}
