// The YAML configuration reader on arbitrary bytes: YAML parsing (libyaml), aliases, the model_sync:
// section's keys and values, ${VAR} expansion. It must return a configuration or a ConfigError, in bounded
// time and memory.
import FuzzSupport
@testable import ModelSyncKit

/// Variables for `${VAR}` expansion, so expansion paths run (an unset one takes its default or fails).
let environment = ["HOME": "/home/fuzz", "MODELS": "models", "TOKEN": "secret-token", "EMPTY": ""]

runFuzzer { start, count in
    let bytes = fuzzBytes(start, count)
    do throws(ConfigError) {
        _ = try Config.parse(bytes: bytes, file: "fuzz.yaml", environment: environment)
    } catch {
        invariant(!error.description.isEmpty, "a ConfigError without a message")
    }
    return 0
}
