internal import CModelSyncYAML

/// One libyaml parse event, copied out of the C event so that the C event can be deleted at once.
enum YAMLEvent {
    case streamStart
    case streamEnd
    case documentStart(line: Int)
    case documentEnd
    case alias(anchor: String, line: Int)
    case scalar(value: String, anchor: String?, tag: String?, quoted: Bool, line: Int)
    case sequenceStart(anchor: String?, line: Int)
    case sequenceEnd
    case mappingStart(anchor: String?, line: Int)
    case mappingEnd
}

/// Owns a libyaml event parser and the bytes it reads.
///
/// `yaml_parser_t` holds pointers into itself (its buffers and the string input's cursor), so it lives on the
/// heap at a fixed address rather than in a Swift struct that may move. `yaml_parser_set_input_string` does
/// not copy the input: the bytes stay allocated here until `deinit`. Confined to one task (not Sendable).
final class YAMLEventParser {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>
    private let file: String

    /// Prepares to parse `bytes`; `file` names the source in error messages.
    init(bytes: [UInt8], file: String) throws(YAMLError) {
        self.file = file
        parser = .allocate(capacity: 1)
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        // https://pyyaml.org/wiki/LibYAML: yaml_parser_initialize returns 0 only when memory is exhausted.
        guard yaml_parser_initialize(parser) != 0 else {
            input.deallocate()
            parser.deallocate()
            throw YAMLError(file: file, reason: "cannot initialize the YAML parser: out of memory")
        }
        yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    /// The next event ([yaml_parser_parse](https://pyyaml.org/wiki/LibYAML)); every C event is deleted
    /// before this returns.
    func next() throws(YAMLError) -> YAMLEvent {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) != 0 else {
            throw parseError()
        }
        defer { yaml_event_delete(&event) }
        let line = Int(event.start_mark.line) + 1
        switch event.type {
        case YAML_STREAM_START_EVENT:
            return .streamStart
        case YAML_STREAM_END_EVENT:
            return .streamEnd
        case YAML_DOCUMENT_START_EVENT:
            return .documentStart(line: line)
        case YAML_DOCUMENT_END_EVENT:
            return .documentEnd
        case YAML_ALIAS_EVENT:
            return .alias(anchor: Self.string(event.data.alias.anchor) ?? "", line: line)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let bytes = UnsafeBufferPointer(start: scalar.value, count: Int(scalar.length))
            return .scalar(
                value: String(decoding: bytes, as: UTF8.self),
                anchor: Self.string(scalar.anchor),
                tag: Self.string(scalar.tag),
                quoted: scalar.style != YAML_PLAIN_SCALAR_STYLE,
                line: line
            )
        case YAML_SEQUENCE_START_EVENT:
            return .sequenceStart(anchor: Self.string(event.data.sequence_start.anchor), line: line)
        case YAML_SEQUENCE_END_EVENT:
            return .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            return .mappingStart(anchor: Self.string(event.data.mapping_start.anchor), line: line)
        case YAML_MAPPING_END_EVENT:
            return .mappingEnd
        default:
            throw YAMLError(file: file, line: line, reason: "unexpected YAML event \(event.type.rawValue)")
        }
    }

    /// The parser's own description of its failure, read right after the failing call.
    private func parseError() -> YAMLError {
        let state = parser.pointee
        let problem = state.problem.map { String(cString: $0) } ?? "unknown YAML error"
        let context = state.context.map { String(cString: $0) }
        var reason = problem
        if let context { reason += " (\(context) at line \(state.context_mark.line + 1))" }
        return YAMLError(
            file: file,
            line: Int(state.problem_mark.line) + 1, column: Int(state.problem_mark.column) + 1,
            reason: reason, hint: "fix the YAML syntax at that position"
        )
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        guard let pointer else { return nil }
        return String(cString: UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self))
    }
}
