/// A RunPod job or API failure: a rejected key, an expired job, a job that failed, was cancelled or timed out.
///
/// Messages never carry the API key: they name the job and the endpoint's path only.
public struct RunPodError: ModelSyncError {
    /// What went wrong. A struct with static members so codes can be added.
    public struct Code: Hashable, Sendable {
        /// The code's name.
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        /// 401 or 403 from the API.
        public static let apiKeyRejected = Code("api-key-rejected")
        /// 404 on a job that was submitted: its result expired (30 minutes after completion) or it never existed.
        public static let jobExpired = Code("job-expired")
        /// The job ended FAILED.
        public static let jobFailed = Code("job-failed")
        /// The job ended CANCELLED.
        public static let jobCancelled = Code("job-cancelled")
        /// The job ended TIMED_OUT (RunPod's own execution timeout).
        public static let jobTimedOut = Code("job-timed-out")
        /// `job_timeout_sec` passed before the job finished; it was cancelled.
        public static let clientTimeout = Code("client-timeout")
        /// The API answered an unexpected status.
        public static let httpStatus = Code("http-status")
        /// The API's answer or the job's output could not be understood.
        public static let invalidResponse = Code("invalid-response")
        /// The pull was asked to stop (SIGTERM to the daemon) while the job ran; the job was cancelled.
        public static let stopped = Code("stopped")
        /// No job was triggered: `runpod.max_jobs_per_day` is reached, or the last job failed less than
        /// `runpod.retry_min_sec` ago.
        public static let throttled = Code("throttled")
    }

    /// What went wrong.
    public let code: Code
    public let message: String
    public let hint: String?
    /// Every RunPod failure is a remote error (exit 4).
    public var category: ErrorCategory { .remote }

    /// Builds an error.
    public init(_ code: Code, _ message: String, hint: String? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
    }
}
