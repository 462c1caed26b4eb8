import Foundation

/// What the batch API said about one object.
enum LFSBatchResult: Sendable {
    /// The actions to take (none for an upload the server already holds).
    case actions([String: LFSAction])
    /// The server's error for this object, with its code and message.
    case error(code: Int?, message: String)
}

extension LFSClient {
    /// One batch call per ``batchSize`` objects; the answer for every object asked.
    ///
    /// Objects the answer lists but the request did not ask for are ignored. A size other than the one
    /// asked, an object left out or an answer that is not the batch API's JSON is an ``LFSError``.
    func batch(_ operation: LFSOperation, _ objects: [LFSObject]) throws -> [Digest: LFSBatchResult] {
        var results: [Digest: LFSBatchResult] = [:]
        var start = 0
        while start < objects.count {
            let chunk = Array(objects[start..<min(start + Self.batchSize, objects.count)])
            results.merge(try batchCall(operation, chunk)) { first, _ in first }
            start += chunk.count
        }
        return results
    }

    /// One request; a 401 or 403 gets one more try with a refreshed endpoint when there is a way to refresh it.
    private func batchCall(_ operation: LFSOperation, _ objects: [LFSObject]) throws -> [Digest: LFSBatchResult] {
        var refreshed = false
        while true {
            let endpoint = self.endpoint
            let request = HTTPRequest(method: "POST", url: endpoint.batchURL,
                                      headers: endpoint.headers + [("Accept", Self.mediaType), ("Content-Type", Self.mediaType)],
                                      body: LFSBatchRequest(operation, objects).body)
            let response = try http.send(request)
            switch response.status {
            case 200...299:
                return try results(of: response, for: objects)
            case 401, 403:
                if !refreshed, try refreshedEndpoint() {
                    refreshed = true
                    continue
                }
                throw LFSError(.authentication,
                               "the LFS server at \(describeEndpoint) refused the credentials: \(statusText(response))",
                               hint: LFSError.credentialsHint)
            case 404 where operation == .download:
                // giftless answers a batch in which no object is known with a 404 and a JSON message; a
                // host without the API answers 404 with a page.
                guard let message = jsonMessage(response.body) else { throw noAPI(response) }
                return Dictionary(objects.map { ($0.oid, LFSBatchResult.error(code: 404, message: message)) },
                                  uniquingKeysWith: { first, _ in first })
            case 404:
                throw noAPI(response)
            default:
                throw LFSError(.status, "the LFS server at \(describeEndpoint) refused the \(operation.rawValue) batch "
                               + "of \(objects.count) object(s): \(statusText(response))", hint: Self.hint(status: response.status))
            }
        }
    }

    /// The answer of a successful batch call, checked against what was asked.
    private func results(of response: HTTPResponse, for objects: [LFSObject]) throws -> [Digest: LFSBatchResult] {
        let answer: LFSBatchResponse
        do {
            answer = try JSONCoding.decode(LFSBatchResponse.self, from: response.body)
        } catch {
            throw LFSError(.invalidAnswer, "the LFS server at \(describeEndpoint) answered a batch request with "
                           + "something other than the batch API's JSON")
        }
        if let transfer = answer.transfer, transfer != "basic" {
            throw LFSError(.invalidAnswer, "the LFS server at \(describeEndpoint) chose the transfer adapter "
                           + "\"\(transfer.prefix(40))\", though only \"basic\" was offered")
        }
        let asked = Dictionary(objects.map { ($0.oid, $0) }, uniquingKeysWith: { first, _ in first })
        var results: [Digest: LFSBatchResult] = [:]
        for object in answer.objects {
            // An object nobody asked for is never transferred: a hostile server must not fill the store.
            guard let oid = try? Digest(parsing: object.oid, allowBareHex: true), let wanted = asked[oid],
                  results[oid] == nil else { continue }
            if let error = object.error {
                results[oid] = .error(code: error.code, message: error.message.map { scrub($0) } ?? "no message")
                continue
            }
            if let size = object.size, size != wanted.size {
                throw LFSError(.invalidAnswer, "the LFS server at \(describeEndpoint) answered size \(size) for object "
                               + "\(oid), whose size is \(wanted.size): refused")
            }
            results[oid] = .actions(object.actions ?? [:])
        }
        if let left = objects.first(where: { results[$0.oid] == nil }) {
            throw LFSError(.invalidAnswer, "the LFS server at \(describeEndpoint) did not answer for object \(left.oid)")
        }
        return results
    }

    /// `HTTP <status>` and the server's own message, scrubbed.
    func statusText(_ response: HTTPResponse) -> String {
        let message = jsonMessage(response.body) ?? HTTPClient.serverMessage(response.body).map { scrub($0) }
        return "HTTP \(response.status)" + (message.map { ": " + $0 } ?? "")
    }

    /// The `message` of a JSON error body, scrubbed and cut to 300 characters.
    func jsonMessage(_ body: [UInt8]) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
              let message = object["message"] as? String else { return nil }
        return scrub(String(message.prefix(300)))
    }

    /// Server text with the endpoint's header values and `headers` removed (a server may echo the
    /// credentials it got) and every registered secret.
    func scrub(_ text: String, headers: [String: String] = [:]) -> String {
        var text = text
        for (_, value) in endpoint.headers + headers.map({ ($0.key, $0.value) }) {
            var secrets = [value]
            if let space = value.firstIndex(of: " ") { secrets.append(String(value[value.index(after: space)...])) }
            for secret in secrets where secret.count >= 8 {
                text = text.replacingOccurrences(of: secret, with: SecretScrubber.replacement)
            }
        }
        return SecretScrubber.shared.scrub(text)
    }

    private func noAPI(_ response: HTTPResponse) -> LFSError {
        LFSError(.status, "no Git LFS API at \(describeEndpoint): \(statusText(response))",
                 hint: "set git.lfs_url to the server's LFS endpoint, or git.lfs: off for a registry without LFS")
    }

    /// What to do about a refused batch call.
    static func hint(status: Int) -> String? {
        switch status {
        case 413: return "the LFS server refuses a request or an object this large; check the host's LFS file size limit"
        case 422: return "the LFS server refused the request as invalid; its message says why"
        case 429: return "the LFS server is rate limiting; try again later"
        default: return nil
        }
    }
}
