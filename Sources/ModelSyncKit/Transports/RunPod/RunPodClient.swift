import Foundation

/// RunPod's serverless API as documented (`/run`, `/status/{job_id}`, `/cancel/{job_id}`), over ``HTTPClient``.
///
/// The API key goes in `Authorization: Bearer <key>` on these three URLs only; `runpod.headers` are merged
/// in (a configured `Authorization` is replaced by the key's). 401/403 become "API key rejected" without the
/// key; a 404 on a submitted job becomes "job expired or unknown". Status and cancel requests are retried on
/// connection errors, 429 and 5xx (with `Retry-After`); the trigger is retried only on 429 and on failures to
/// connect, since a 5xx may already have created a job and a second one would train twice.
///
/// ```swift
/// let client = try RunPodClient(config: config.runpod, apiKey: key)
/// let id = try client.submit(have: digests)
/// let job = try client.status(of: id)
/// ```
public struct RunPodClient: Sendable {
    /// The `runpod:` settings.
    public let config: RunPodConfig
    private let apiKey: String
    /// Sends status and cancel requests (retries on).
    public var http: HTTPClient

    /// A client; `http` defaults to one with `request_timeout_sec` and `ca_bundle` from `config`.
    public init(config: RunPodConfig, apiKey: String, http: HTTPClient? = nil) throws {
        guard config.triggerURL != nil, config.statusURLTemplate != nil else {
            throw UsageError("runpod.trigger_url and runpod.status_url_template must be set for runpod-pull",
                             hint: "add them to the model_sync.runpod section of the configuration")
        }
        self.config = config
        self.apiKey = apiKey
        self.http = http ?? HTTPClient(connectTimeout: min(10, config.requestTimeoutSec),
                                       requestTimeout: config.requestTimeoutSec, caBundle: config.caBundle,
                                       urlPolicy: HTTPURLPolicy(allowInsecureHTTP: config.allowInsecureHTTP))
    }

    /// The headers of every API request: `runpod.headers`, then the key (never sent anywhere else).
    var headers: [(String, String)] {
        var merged = config.headers.filter { $0.key.lowercased() != "authorization" }.sorted { $0.key < $1.key }
            .map { ($0.key, $0.value) }
        merged.append(("Authorization", "Bearer \(apiKey)"))
        if !merged.contains(where: { $0.0.lowercased() == "content-type" }) {
            merged.append(("Content-Type", "application/json"))
        }
        merged.append(("Accept", "application/json"))
        return merged
    }

    /// `trigger_payload` with `input.model_sync = {"protocol": 1, "have": [...]}` added.
    public static func payload(_ base: JSONValue, have: [Digest]) -> JSONValue {
        var root: [String: JSONValue] = [:]
        if case .object(let members) = base { root = members }
        var input: [String: JSONValue] = [:]
        if case .object(let members)? = root["input"] { input = members }
        input["model_sync"] = .object(["protocol": .int(1), "have": .array(have.map { .string($0.description) })])
        root["input"] = .object(input)
        return .object(root)
    }

    /// Starts the job and returns its id.
    public func submit(have: [Digest]) throws -> String {
        let url = config.triggerURL!
        let body = Self.payload(config.triggerPayload, have: have).jsonBytes()
        let method = config.triggerMethod.uppercased()
        var trigger = http
        trigger.maxAttempts = 1
        let response = try http.retry.run { (_) throws(HTTPError) -> AttemptOutcome<HTTPResponse, HTTPError> in
            do throws(HTTPError) {
                return .success(try trigger.send(HTTPRequest(method: method, url: url, headers: headers,
                                                             body: method == "GET" ? nil : body)))
            } catch {
                // 429: the job was not accepted. "cannot connect": the request never left. Both are safe to repeat.
                let repeatable = error.code == .status(429) || (error.code == .connection && error.detail == "cannot connect")
                return .failure(error, repeatable ? .retry(retryAfter: nil) : .fail)
            }
        }
        try check(response, url: url, job: nil)
        let document = try decode(response, url: url)
        guard let id = document["id"]?.stringValue, !id.isEmpty else {
            throw RunPodError(.invalidResponse, "\(method) \(HTTPError.redact(url)): the answer has no job id",
                              hint: "check runpod.trigger_url: it should end in /run")
        }
        return id
    }

    /// The job's current status.
    public func status(of jobID: String) throws -> RunPodJob {
        let url = Self.expand(config.statusURLTemplate!, jobID: jobID)
        let response = try http.send(HTTPRequest(method: "GET", url: url, headers: headers))
        try check(response, url: url, job: jobID)
        let document = try decode(response, url: url)
        guard let status = document["status"]?.stringValue else {
            throw RunPodError(.invalidResponse, "GET \(HTTPError.redact(url)): the answer has no status")
        }
        return RunPodJob(id: document["id"]?.stringValue ?? jobID, status: RunPodJob.Status(rawValue: status),
                         output: document["output"], error: RunPodJob.errorText(document["error"]))
    }

    /// Asks RunPod to cancel the job (`POST cancel_url_template`).
    public func cancel(_ jobID: String) throws {
        guard let template = config.effectiveCancelURLTemplate else {
            throw UsageError("cannot derive the cancel URL from runpod.trigger_url",
                             hint: "set runpod.cancel_url_template (with {job_id})")
        }
        let url = Self.expand(template, jobID: jobID)
        let response = try http.send(HTTPRequest(method: "POST", url: url, headers: headers, body: []))
        try check(response, url: url, job: jobID)
    }

    /// `{job_id}` replaced by the id, percent-encoded as a path segment.
    static func expand(_ template: String, jobID: String) -> String {
        let allowed = CharacterSet.urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))
        return template.replacingOccurrences(of: "{job_id}",
                                             with: jobID.addingPercentEncoding(withAllowedCharacters: allowed) ?? jobID)
    }

    private func check(_ response: HTTPResponse, url: String, job: String?) throws {
        switch response.status {
        case 200...299: return
        case 401, 403:
            throw RunPodError(.apiKeyRejected, "RunPod API key rejected (HTTP \(response.status) from \(HTTPError.redact(url)))",
                              hint: "check the key in \(config.apiKeyEnv) (environment or .env)")
        case 404 where job != nil:
            throw RunPodError(.jobExpired, "RunPod job \(job!) expired or unknown (HTTP 404 from \(HTTPError.redact(url)))",
                              hint: "results are kept 30 minutes after completion; run runpod-pull again")
        default:
            // Scrubbed before it is cut: a key cut in half by the cut would otherwise show its first half.
            var scrubber = SecretScrubber.shared
            scrubber.add([apiKey])
            let snippet = scrubber.scrubbedPrefix(String(decoding: response.body.prefix(64 * 1024), as: UTF8.self),
                                                  maxLength: 200)
            throw RunPodError(.httpStatus, "HTTP \(response.status) from \(HTTPError.redact(url))"
                              + (snippet.isEmpty ? "" : ": \(snippet)"),
                              hint: response.status == 404 ? "check runpod.trigger_url and the endpoint id" : nil)
        }
    }

    private func decode(_ response: HTTPResponse, url: String) throws -> JSONValue {
        guard let document = try? JSONValue.decode(response.body), case .object = document else {
            throw RunPodError(.invalidResponse, "\(HTTPError.redact(url)) did not answer a JSON object")
        }
        return document
    }
}
