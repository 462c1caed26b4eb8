internal import CLibFuzzer
#if canImport(Glibc)
import Glibc
#endif

/// One fuzz input: the bytes libFuzzer hands to a target.
public typealias FuzzTest = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer's driver with the process's arguments and `test` as the target, then exits with its status.
///
/// Every libFuzzer flag works as usual (`-max_total_time=30`, `-runs=N`, corpus directories, a crash file
/// to replay). `test` returns 0; it signals a broken invariant through ``invariant(_:_:file:line:)``.
public func runFuzzer(_ test: FuzzTest) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, test))
}

/// The input as an array (libFuzzer passes a null pointer for the empty input).
public func fuzzBytes(_ start: UnsafePointer<UInt8>?, _ count: Int) -> [UInt8] {
    guard let start, count > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: start, count: count))
}

/// Stops the process when `condition` is false, after printing `message`: libFuzzer saves the input as a
/// crash, and the regression test made from it can replay it.
public func invariant(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    guard !condition() else { return }
    let report = "invariant broken at \(file):\(line): \(message())\n"
    _ = report.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    abort()
}
