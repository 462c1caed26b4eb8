extension HTTPClient {
    /// The statuses whose `Location` is followed; 300 and 304 are answers, not redirects.
    static func isRedirect(status: Int) -> Bool {
        [301, 302, 303, 307, 308].contains(status)
    }

    /// The request a redirect leads to, or the reason not to follow it.
    ///
    /// The target must pass `urlPolicy` (else `.refusedRedirect`). The headers of `original` go along only
    /// when the target has its origin (scheme, host and port): `127.0.0.1`, `localhost` and another port
    /// are other origins and get no header at all. A 303, and a 301 or 302 answering a POST, continue
    /// as a GET without a body (what browsers and curl do); 307 and 308 repeat the method and body.
    func nextRequest(after current: HTTPRequest, status: Int, location: String?, original: HTTPRequest,
                     hops: Int) throws(HTTPError) -> HTTPRequest {
        guard let location, !location.isEmpty else {
            throw HTTPError(.transfer, method: current.method, url: current.url,
                            detail: "HTTP \(status) without a Location header")
        }
        guard hops < maxRedirects else {
            throw HTTPError(.tooManyRedirects, method: original.method, url: original.url,
                            detail: "more than \(maxRedirects) redirects")
        }
        let target: RemoteURL
        do throws(HTTPError) {
            target = try RemoteURL(current.url).resolving(location)
            _ = try urlPolicy.check(target.string, method: current.method)
        } catch {
            throw HTTPError(.refusedRedirect, method: current.method, url: current.url,
                            detail: "redirected to \(HTTPError.redact(location)), which is refused: \(error.detail)")
        }
        var next = current
        next.url = target.string
        let sameOrigin = (try? RemoteURL(original.url))?.origin == target.origin
        next.headers = sameOrigin ? original.headers : []
        if (status == 303 && current.method != "HEAD") || ((status == 301 || status == 302) && current.method == "POST") {
            next.method = "GET"
            next.body = nil
            next.headers.removeAll { $0.0.lowercased() == "content-type" }
        }
        return next
    }
}
