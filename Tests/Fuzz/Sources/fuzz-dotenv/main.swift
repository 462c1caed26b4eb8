// The .env reader on arbitrary text. Whatever it reads must survive a round trip: written back as
// KEY="escaped value" lines, the text parses to the same variables.
import FuzzSupport
@testable import ModelSyncKit

runFuzzer { start, count in
    let text = String(decoding: fuzzBytes(start, count), as: UTF8.self)
    guard let values = try? DotEnv.parse(text, file: ".env") else { return 0 }
    let written = values.keys.sorted().map { "\($0)=\(DotEnv.quoted(values[$0]!))\n" }.joined()
    do {
        let again = try DotEnv.parse(written, file: ".env")
        invariant(again == values, "a written .env reads back differently: \(written.debugDescription)")
    } catch {
        invariant(false, "a written .env does not parse (\(error)): \(written.debugDescription)")
    }
    return 0
}
