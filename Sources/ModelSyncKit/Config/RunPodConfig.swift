/// `model_sync.runpod`: the RunPod serverless endpoint that trains and packs the models.
public struct RunPodConfig: Sendable, Hashable {
    /// `enabled` [false]: whether `runpod-pull` may run.
    public var enabled: Bool = false
    /// `trigger_url`: where the job is started (`https://api.runpod.ai/v2/<id>/run`); required when enabled.
    public var triggerURL: String?
    /// `status_url_template`: the job's status URL, with `{job_id}`; required when enabled.
    public var statusURLTemplate: String?
    /// `api_key_env` ["RUNPOD_API_KEY"]: the environment variable (or `.env` entry) holding the API key.
    public var apiKeyEnv: String = "RUNPOD_API_KEY"
    /// `trigger_method` ["POST"]: GET, POST or PUT.
    public var triggerMethod: String = "POST"
    /// `trigger_payload` [{}]: the JSON body sent to `trigger_url` (model-sync adds `input.model_sync`).
    public var triggerPayload: JSONValue = .object([:])
    /// `headers` [{}]: extra HTTP headers for the trigger, status and cancel requests.
    public var headers: [String: String] = [:]
    /// `request_timeout_sec` [20]: the time limit of each trigger, status or cancel request.
    public var requestTimeoutSec: Double = 20
    /// `poll_interval_sec` [10]: the pause between two status requests.
    public var pollIntervalSec: Double = 10
    /// `job_timeout_sec` [3600]: how long to wait for the job before cancelling it.
    public var jobTimeoutSec: Double = 3600
    /// `download_timeout_sec` [300]: the archive download's stall timeout (no byte for that long).
    public var downloadTimeoutSec: Double = 300
    /// `extract_subdir` ["models"]: in a legacy archive, the folder whose files are taken.
    public var extractSubdir: String = "models"
    /// `cancel_url_template`: the cancel URL with `{job_id}`; nil derives it from `trigger_url`.
    public var cancelURLTemplate: String?
    /// `archive_field` ["archive_url"]: the field of the job's `output` that holds the archive URL.
    public var archiveField: String = "archive_url"
    /// `ca_bundle`: a PEM file of certificate authorities to trust instead of the system's.
    public var caBundle: String?
    /// `max_archive_bytes` [20 GiB]: the largest archive download accepted.
    public var maxArchiveBytes: Int64 = 20 << 30
    /// `max_extract_bytes` [20 GiB]: the largest total of declared entry sizes accepted in an archive.
    public var maxExtractBytes: Int64 = 20 << 30
    /// `retry_min_sec` [900]: after a job that failed, no new job is triggered before this many seconds.
    public var retryMinSec: Double = 900
    /// `max_jobs_per_day` [4]: at most this many jobs are triggered in any 24 hours (one daily run and three
    /// retries); past it `runpod-pull` refuses to trigger until the oldest trigger is a day old.
    public var maxJobsPerDay: Int64 = 4

    /// `allow_insecure_http` [false]: fetch plain `http://` URLs (API or archive) from hosts other than this
    /// machine; without it only `https://` and `http://` to loopback are fetched.
    public var allowInsecureHTTP: Bool = false

    /// The defaults.
    public init() {}

    /// `cancel_url_template` when set, else `trigger_url` with its trailing `/run` or `/runsync` replaced by
    /// `/cancel/{job_id}` (RunPod's layout); nil when neither gives one.
    public var effectiveCancelURLTemplate: String? {
        if let cancelURLTemplate { return cancelURLTemplate }
        guard var url = triggerURL else { return nil }
        // A query or fragment after the path is not part of RunPod's documented URLs; drop it.
        if let cut = url.firstIndex(where: { $0 == "?" || $0 == "#" }) { url = String(url[..<cut]) }
        while url.hasSuffix("/") { url.removeLast() }
        for suffix in ["/runsync", "/run"] where url.hasSuffix(suffix) {
            return String(url.dropLast(suffix.count)) + "/cancel/{job_id}"
        }
        return nil
    }
}
