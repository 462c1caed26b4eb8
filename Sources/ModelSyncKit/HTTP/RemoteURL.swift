internal import CModelSyncCurl

/// An absolute URL as curl itself parses it ([curl_url](https://curl.se/libcurl/c/curl_url.html)): the
/// scheme, host and port that decide where a request goes, and whether it may be fetched at all.
///
/// Parsing with curl's own parser means the host checked here is the host curl connects to: no second
/// parser can read `http://a@b:c@d/` differently.
///
/// ```swift
/// let url = try RemoteURL("https://bucket.example/a.zip?sig=1")
/// url.origin            // "https://bucket.example:443"
/// try url.resolving("/b.zip").string   // "https://bucket.example/b.zip"
/// ```
public struct RemoteURL: Sendable, Hashable {
    /// The whole URL, normalized by curl.
    public let string: String
    /// The scheme, lowercased (`https`).
    public let scheme: String
    /// The host, lowercased; an IPv6 address keeps its brackets (`[::1]`); empty for `file:///path`.
    public let host: String
    /// The port, the scheme's default when the URL names none (0 when the scheme has none).
    public let port: Int

    /// Parses an absolute URL; any scheme is accepted here (``HTTPURLPolicy`` decides what may be fetched).
    public init(_ string: String) throws(HTTPError) {
        try self.init(string, base: nil)
    }

    /// The URL a `Location` header names, resolved against this one (relative references included).
    public func resolving(_ reference: String) throws(HTTPError) -> RemoteURL {
        try RemoteURL(reference, base: string)
    }

    private init(_ string: String, base: String?) throws(HTTPError) {
        guard let handle = curl_url() else {
            throw HTTPError(.invalidRequest, method: "GET", url: string, detail: "out of memory parsing the URL")
        }
        defer { curl_url_cleanup(handle) }
        // A reference set on a handle that already holds the base is resolved against it (RFC 3986).
        let flags = UInt32(CURLU_NON_SUPPORT_SCHEME)
        if let base, curl_url_set(handle, CURLUPART_URL, base, flags) != CURLUE_OK {
            throw HTTPError(.invalidRequest, method: "GET", url: base, detail: "invalid URL")
        }
        guard !string.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }),
              curl_url_set(handle, CURLUPART_URL, string, flags) == CURLUE_OK,
              let whole = Self.part(handle, CURLUPART_URL, 0),
              let scheme = Self.part(handle, CURLUPART_SCHEME, 0),
              case let host = Self.part(handle, CURLUPART_HOST, 0) ?? "",
              !host.isEmpty || scheme.lowercased() == "file" else {
            throw HTTPError(.invalidRequest, method: "GET", url: string, detail: "invalid URL")
        }
        self.string = whole
        self.scheme = scheme.lowercased()
        self.host = host.lowercased()
        port = Self.part(handle, CURLUPART_PORT, UInt32(CURLU_DEFAULT_PORT)).flatMap { Int($0) } ?? 0
    }

    /// One part of the URL held by `handle`; curl allocates it and `curl_free` releases it.
    private static func part(_ handle: OpaquePointer, _ which: CURLUPart, _ flags: UInt32) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard curl_url_get(handle, which, &value, flags) == CURLUE_OK, let value else { return nil }
        defer { curl_free(value) }
        return String(cString: value)
    }

    /// `scheme://host:port`: two URLs with the same origin reach the same server. Headers and credentials
    /// configured for one origin go to that origin only.
    public var origin: String { "\(scheme)://\(host):\(port)" }

    /// True for `localhost`, 127.0.0.0/8 and `[::1]`: the request never leaves this machine.
    public var isLoopback: Bool { Self.isLoopback(host: host) }

    /// True when `host` (IPv6 in brackets, no port) is `localhost`, in 127.0.0.0/8 or `[::1]`.
    static func isLoopback(host: String) -> Bool {
        if host == "localhost" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}

/// Which URLs an ``HTTPClient`` fetches: `https://` always, `http://` to loopback (or anywhere when
/// `allowInsecureHTTP`), `file://` only when `allowFileURLs`; every other scheme never. Checked before
/// every request and every redirect, so a response cannot lead the client anywhere else.
public struct HTTPURLPolicy: Sendable, Hashable {
    /// `http://` to hosts other than loopback (`runpod.allow_insecure_http`).
    public var allowInsecureHTTP: Bool
    /// `file://` URLs (never for URLs from a configuration or a response; tests read fixtures this way).
    public var allowFileURLs: Bool

    /// The policy; the defaults are the strict ones.
    public init(allowInsecureHTTP: Bool = false, allowFileURLs: Bool = false) {
        self.allowInsecureHTTP = allowInsecureHTTP
        self.allowFileURLs = allowFileURLs
    }

    /// The schemes curl may use at all (CURLOPT_PROTOCOLS_STR), a second fence behind ``check(_:method:)``.
    var curlProtocols: String { allowFileURLs ? "http,https,file" : "http,https" }

    /// Parses `url` and throws `.invalidRequest` unless this policy allows fetching it.
    func check(_ url: String, method: String) throws(HTTPError) -> RemoteURL {
        let parsed: RemoteURL
        do throws(HTTPError) {
            parsed = try RemoteURL(url)
        } catch {
            throw HTTPError(.invalidRequest, method: method, url: url, detail: error.detail)
        }
        switch parsed.scheme {
        case "https":
            return parsed
        case "http" where parsed.isLoopback || allowInsecureHTTP:
            return parsed
        case "http":
            throw HTTPError(.refusedURL, method: method, url: url,
                            detail: "plain http:// is refused for \(parsed.host) (only https://, or http:// to this machine)")
        case "file" where allowFileURLs:
            return parsed
        default:
            throw HTTPError(.refusedURL, method: method, url: url,
                            detail: "the scheme \(parsed.scheme):// is refused (only https://, or http:// to this machine)")
        }
    }
}
