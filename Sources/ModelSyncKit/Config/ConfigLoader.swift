#if canImport(Glibc)
internal import Glibc
#endif
import Foundation

extension Config {
    /// The keys of `model_sync:` and of each of its sections, as docs/configuration.md lists them.
    static let knownKeys: [String: [String]] = [
        "model_sync": [
            "models_dir", "store_dir", "repo_dir", "repo_url", "remote", "branch", "repo_models_subdir",
            "keep_generations", "link_mode", "lock_timeout_sec", "allow_dirty", "publisher", "client",
            "runpod_client", "runpod", "registry", "gc", "activation", "git", "daemon", "signing",
            "oci",
        ],
        "publisher": ["schedule", "train_before_push", "train_command", "train_timeout_sec"],
        "client": ["schedule"],
        "runpod_client": ["schedule"],
        "runpod": [
            "enabled", "trigger_url", "status_url_template", "api_key_env", "trigger_method", "trigger_payload",
            "headers", "request_timeout_sec", "poll_interval_sec", "job_timeout_sec", "download_timeout_sec",
            "extract_subdir", "cancel_url_template", "archive_field", "ca_bundle", "max_archive_bytes",
            "max_extract_bytes", "allow_insecure_http", "retry_min_sec", "max_jobs_per_day",
        ],
        "registry": ["keep_manifests"],
        "gc": ["grace_sec"],
        "signing": ["key_file", "key_env", "trusted_keys", "threshold", "expires_sec"],
        "activation": ["health_check", "health_timeout_sec", "on_activate"],
        "git": [
            "token_env", "ssh_key", "author_name", "author_email", "allow_insecure_http", "lfs", "lfs_url",
            "lfs_concurrency", "username",
        ],
        "oci": ["reference", "channel", "concurrency", "username", "password_env", "insecure", "ca_bundle", "mount_from"],
        "daemon": ["timezone", "jitter_sec", "retry_initial_sec", "retry_max_sec", "metrics_file", "metrics_listen"],
    ]

    /// Loads the `model_sync:` section of the YAML file at `path`; other top-level sections are ignored.
    ///
    /// `${VAR}` and `${VAR:-default}` in string values are taken from `environment` (usually
    /// `DotEnv.merged(process:dotEnvPath:)`). Every error names the file, the line and the dotted key.
    ///
    /// ```swift
    /// let environment = try DotEnv.merged(process: ProcessInfo.processInfo.environment, dotEnvPath: nil)
    /// let config = try Config.load(path: "configs/bot.yaml", environment: environment)
    /// ```
    public static func load(path: String, environment: [String: String]) throws(ConfigError) -> Config {
        let bytes: [UInt8]
        switch readWholeFile(path) {
        case .success(let read): bytes = read
        case .failure(let failure):
            throw ConfigError(
                .unreadableFile, file: path, reason: "cannot read the configuration file: \(failure.text)",
                hint: failure.code == ENOENT ? "check the --config path" : nil
            )
        }
        return try parse(bytes: bytes, file: path, environment: environment)
    }

    /// Parses configuration text; `file` names it in error messages. See `load(path:environment:)`.
    public static func parse(yaml: String, file: String, environment: [String: String]) throws(ConfigError) -> Config {
        try parse(bytes: Array(yaml.utf8), file: file, environment: environment)
    }

    static func parse(bytes: [UInt8], file: String, environment: [String: String]) throws(ConfigError) -> Config {
        let root: YAMLNode?
        do {
            root = try YAMLNode.parse(bytes: bytes, file: file)
        } catch {
            throw ConfigError(error)
        }
        let missing = ConfigError(
            .missingSection, file: file, reason: "no model_sync: section",
            hint: "add a top-level model_sync: mapping (docs/configuration.md lists its keys)"
        )
        guard let root, case .mapping(let entries, _) = root else { throw missing }
        let sections = entries.filter { $0.key == "model_sync" }
        guard let section = sections.first else { throw missing }
        if sections.count > 1 {
            throw ConfigError(
                .duplicateKey, file: file, line: sections[1].keyLine, key: "model_sync",
                reason: "given twice (first on line \(section.keyLine))", hint: "merge the two sections"
            )
        }
        let reader = ConfigReader(file: file, expansion: VariableExpansion(environment: environment))
        let top = try SectionReader(
            section.value, path: "model_sync", line: section.keyLine, known: knownKeys["model_sync"]!, reader: reader
        )
        var config = Config()
        config.sourcePath = file
        try config.read(top)
        config.secretVariables = reader.secretVariables.names
        return config
    }

    private mutating func read(_ top: SectionReader) throws(ConfigError) {
        modelsDir = try top.string("models_dir")
        storeDir = try top.string("store_dir")
        repoDir = try top.string("repo_dir")
        repoURL = try top.string("repo_url")
        if let value = try top.string("remote") { remote = value }
        if let value = try top.string("branch") { branch = value }
        if let value = try top.relativePath("repo_models_subdir") { repoModelsSubdir = value }
        if let value = try top.integer("keep_generations", minimum: 1) { keepGenerations = Int(value) }
        if let value = try top.choice("link_mode", LinkMode.allCases.map(\.rawValue)) { linkMode = LinkMode(rawValue: value)! }
        if let value = try top.seconds("lock_timeout_sec", allowZero: true) { lockTimeoutSec = value }
        if let value = try top.bool("allow_dirty") { allowDirty = value }

        let publisherSection = try top.section("publisher", known: Self.knownKeys["publisher"]!)
        if let value = try publisherSection.schedule("schedule") { publisher.schedule = value }
        if let value = try publisherSection.bool("train_before_push") { publisher.trainBeforePush = value }
        publisher.trainCommand = try publisherSection.shellCommand("train_command")
        publisher.trainTimeoutSec = try publisherSection.seconds("train_timeout_sec")

        if let value = try top.section("client", known: ["schedule"]).schedule("schedule") { client.schedule = value }
        if let value = try top.section("runpod_client", known: ["schedule"]).schedule("schedule") {
            runpodClient.schedule = value
        }

        try readRunPod(top.section("runpod", known: Self.knownKeys["runpod"]!))

        let registrySection = try top.section("registry", known: Self.knownKeys["registry"]!)
        if let value = try registrySection.integer("keep_manifests", minimum: 1) { registry.keepManifests = Int(value) }

        let gcSection = try top.section("gc", known: Self.knownKeys["gc"]!)
        if let value = try gcSection.seconds("grace_sec", allowZero: true) { gc.graceSec = value }

        let activationSection = try top.section("activation", known: Self.knownKeys["activation"]!)
        activation.healthCheck = try activationSection.shellCommand("health_check")
        if let value = try activationSection.seconds("health_timeout_sec") { activation.healthTimeoutSec = value }
        activation.onActivate = try activationSection.shellCommand("on_activate")

        let gitSection = try top.section("git", known: Self.knownKeys["git"]!)
        git.tokenEnv = try gitSection.variableName("token_env")
        git.sshKey = try gitSection.string("ssh_key")
        git.authorName = try gitSection.string("author_name")
        git.authorEmail = try gitSection.string("author_email")
        if let value = try gitSection.bool("allow_insecure_http") { git.allowInsecureHTTP = value }
        try readLFS(gitSection)

        try readDaemon(top.section("daemon", known: Self.knownKeys["daemon"]!))
        try readSigning(top.section("signing", known: Self.knownKeys["signing"]!))
        try readOCI(top.section("oci", known: Self.knownKeys["oci"]!))
    }

    private mutating func readRunPod(_ section: SectionReader) throws(ConfigError) {
        if let value = try section.bool("enabled") { runpod.enabled = value }
        runpod.triggerURL = try section.url("trigger_url")
        runpod.statusURLTemplate = try section.url("status_url_template", placeholder: "{job_id}")
        if let value = try section.variableName("api_key_env") { runpod.apiKeyEnv = value }
        if let value = try section.choice("trigger_method", ["GET", "POST", "PUT"], ignoringCase: true) {
            runpod.triggerMethod = value
        }
        if let value = try section.json("trigger_payload", requireObject: true) { runpod.triggerPayload = value }
        if let value = try section.stringMap("headers") { runpod.headers = value }
        if let value = try section.seconds("request_timeout_sec") { runpod.requestTimeoutSec = value }
        if let value = try section.seconds("poll_interval_sec") { runpod.pollIntervalSec = value }
        if let value = try section.seconds("job_timeout_sec") { runpod.jobTimeoutSec = value }
        if let value = try section.seconds("download_timeout_sec") { runpod.downloadTimeoutSec = value }
        if let value = try section.relativePath("extract_subdir") { runpod.extractSubdir = value }
        runpod.cancelURLTemplate = try section.url("cancel_url_template", placeholder: "{job_id}")
        if let value = try section.string("archive_field") { runpod.archiveField = value }
        runpod.caBundle = try section.string("ca_bundle")
        if let value = try section.integer("max_archive_bytes", minimum: 1) { runpod.maxArchiveBytes = value }
        if let value = try section.integer("max_extract_bytes", minimum: 1) { runpod.maxExtractBytes = value }
        if let value = try section.bool("allow_insecure_http") { runpod.allowInsecureHTTP = value }
        if let value = try section.seconds("retry_min_sec", allowZero: true) { runpod.retryMinSec = value }
        if let value = try section.integer("max_jobs_per_day", minimum: 1) { runpod.maxJobsPerDay = value }
        try checkInsecureHTTP(section)

        guard runpod.enabled else { return }
        for (key, value) in [("trigger_url", runpod.triggerURL), ("status_url_template", runpod.statusURLTemplate)]
        where value == nil {
            throw ConfigError(
                .missingValue, file: section.reader.file, line: section.keyLine("enabled"),
                key: "model_sync.runpod.\(key)", reason: "required when runpod.enabled is true",
                hint: "set model_sync.runpod.\(key), or set enabled: false"
            )
        }
    }

    /// A configured `http://` URL to another machine would carry the API key in clear: refused unless
    /// `allow_insecure_http` says so (the same rule ``HTTPURLPolicy`` applies to every request).
    private func checkInsecureHTTP(_ section: SectionReader) throws(ConfigError) {
        guard !runpod.allowInsecureHTTP else { return }
        let urls = [("trigger_url", runpod.triggerURL), ("status_url_template", runpod.statusURLTemplate),
                    ("cancel_url_template", runpod.cancelURLTemplate)]
        for case let (key, text?) in urls where text.lowercased().hasPrefix("http://") {
            let url = try? RemoteURL(text.replacingOccurrences(of: "{job_id}", with: "job"))
            guard url?.isLoopback != true else { continue }
            throw section.reader.error(
                "model_sync.runpod.\(key)", section.keyLine(key),
                "plain http:// to \(url?.host ?? "another machine") would send the API key unencrypted",
                hint: "use https://, or set model_sync.runpod.allow_insecure_http: true")
        }
    }

    /// `git.lfs`, `git.lfs_url`, `git.lfs_concurrency`, `git.username`.
    private mutating func readLFS(_ section: SectionReader) throws(ConfigError) {
        // `on`/`off` too: YAML 1.1 spells booleans that way, and messages may.
        if let value = try section.choice("lfs", ["auto", "true", "false", "on", "off"], ignoringCase: true) {
            git.lfs = value == "on" ? .on : value == "off" ? .off : GitConfig.LFSMode(rawValue: value)!
        }
        git.lfsURL = try section.url("lfs_url")
        if let value = try section.integer("lfs_concurrency", minimum: 1) { git.lfsConcurrency = Int(value) }
        git.username = try section.string("username")
        if let text = git.lfsURL, let scheme = text.range(of: "://"),
           text[scheme.upperBound...].prefix(while: { $0 != "/" }).contains("@") {
            // A password written into the configuration would escape the secret scrubber and every rule for it.
            throw section.reader.error(
                "model_sync.git.lfs_url", section.keyLine("lfs_url"), "credentials in the URL are not accepted",
                hint: "put the user in git.username and the password or token in the variable git.token_env names")
        }
        if let text = git.lfsURL, !git.allowInsecureHTTP, text.lowercased().hasPrefix("http://"),
           (try? RemoteURL(text))?.isLoopback != true {
            throw section.reader.error(
                "model_sync.git.lfs_url", section.keyLine("lfs_url"),
                "plain http:// to another machine would send the model blobs and the token unencrypted",
                hint: "use https://, or set model_sync.git.allow_insecure_http: true")
        }
    }

    private mutating func readDaemon(_ section: SectionReader) throws(ConfigError) {
        if let value = try section.string("timezone") {
            guard TimeZone(identifier: value) != nil else {
                throw section.reader.error(
                    "model_sync.daemon.timezone", section.keyLine("timezone"), "unknown time zone \"\(value)\"",
                    hint: "use an IANA name such as \"Europe/Paris\" or \"UTC\""
                )
            }
            daemon.timezone = value
        }
        if let value = try section.seconds("jitter_sec", allowZero: true) { daemon.jitterSec = value }
        if let value = try section.seconds("retry_initial_sec") { daemon.retryInitialSec = value }
        if let value = try section.seconds("retry_max_sec") { daemon.retryMaxSec = value }
        if daemon.retryMaxSec < daemon.retryInitialSec {
            let key = section.has("retry_max_sec") ? "retry_max_sec" : "retry_initial_sec"
            throw section.reader.error(
                "model_sync.daemon.\(key)", section.keyLine(key),
                "retry_max_sec (\(Self.format(daemon.retryMaxSec))) is less than retry_initial_sec "
                    + "(\(Self.format(daemon.retryInitialSec)))"
            )
        }
        daemon.metricsFile = try section.string("metrics_file")
        if let text = try section.string("metrics_listen") {
            guard let address = ListenAddress(parsing: text) else {
                throw section.reader.error("model_sync.daemon.metrics_listen", section.keyLine("metrics_listen"),
                                           "expected host:port with an IPv4 address and a port 1–65535 "
                                               + "(127.0.0.1:9464, 0.0.0.0:9464), got \"\(text)\"")
            }
            daemon.metricsListen = address
        }
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int64(seconds)) : String(seconds)
    }
}

/// Why a configuration or `.env` file could not be read: the `errno` of a failed system call, or a file that
/// is not a regular one or is too large.
struct SystemErrno: Error {
    let code: Int32
    /// Says what is wrong when it is not the system's own `strerror` text.
    var reason: String?

    /// The reason, or the `strerror` text of `code`.
    var text: String { reason ?? errorText(code) }
}

/// Configuration and `.env` files larger than this are refused: they are read whole into memory.
let largestConfigurationFile = 16 << 20

/// The whole file, or why it could not be read. A FIFO, a device, a socket or a directory is refused without
/// blocking (opened with `O_NONBLOCK`, checked with `fstat`): `--config /dev/stdin` or a FIFO would otherwise
/// hang every command, and `/dev/zero` would never end.
func readWholeFile(_ path: String) -> Result<[UInt8], SystemErrno> {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard descriptor >= 0 else { return .failure(SystemErrno(code: errno)) }
    defer { close(descriptor) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { return .failure(SystemErrno(code: errno)) }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
        let kind = (info.st_mode & S_IFMT) == S_IFDIR ? EISDIR : EINVAL
        return .failure(SystemErrno(code: kind, reason: kind == EISDIR ? nil : "not a regular file"))
    }
    guard info.st_size <= largestConfigurationFile else {
        return .failure(SystemErrno(code: EFBIG, reason: "larger than \(largestConfigurationFile) bytes"))
    }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            return .failure(SystemErrno(code: errno))
        }
        if count == 0 { return .success(bytes) }
        bytes.append(contentsOf: buffer[0..<count])
        if bytes.count > largestConfigurationFile {
            return .failure(SystemErrno(code: EFBIG, reason: "larger than \(largestConfigurationFile) bytes"))
        }
    }
}

/// `strerror` text for an `errno` value.
func errorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
