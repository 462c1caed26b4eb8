internal import CModelSyncCurl
import Foundation

/// `curl_global_init` must run once before any easy handle exists
/// ([curl_global_init](https://curl.se/libcurl/c/curl_global_init.html)); a global `let` runs it exactly once.
let curlGlobalInitResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))

/// One curl easy handle and what one transfer on it needs: the header list, the error buffer and the
/// response being received ([curl_easy_init](https://curl.se/libcurl/c/curl_easy_init.html)).
///
/// Confined: a handle must not be used by two threads at once.
final class Transfer {
    private let handle: UnsafeMutableRawPointer
    /// CURLOPT_ERRORBUFFER: curl writes its message here during `curl_easy_perform`; it must live as long as
    /// the handle.
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// CURLOPT_HTTPHEADER "does not copy the list": it must outlive the transfer, freed in deinit.
    private var headerList: UnsafeMutablePointer<curl_slist>?

    /// The method and URL, kept for error messages (redacted when the error is built).
    let method: String
    let url: String

    /// Status of the last response received (redirects included); 0 before any.
    private(set) var status = 0
    /// Headers of the last response received, names lowercased; repeated headers joined with ", ".
    private(set) var responseHeaders: [String: String] = [:]
    /// Called with each chunk of the final response's body; returning false aborts the transfer.
    var onBody: (UnsafeRawBufferPointer) -> Bool = { _ in true }
    /// For an upload (``setUpload(size:)``): fills the buffer with the next bytes of the request body and
    /// returns how many it wrote (0 at the end), or nil to abort the transfer.
    var onRead: (UnsafeMutableRawBufferPointer) -> Int? = { _ in 0 }

    init(method: String, url: String) throws(HTTPError) {
        self.method = method
        self.url = url
        guard curlGlobalInitResult == CURLE_OK else {
            throw HTTPError(.transfer, method: method, url: url, detail: "cannot initialize curl",
                            curlMessage: String(cString: curl_easy_strerror(curlGlobalInitResult)))
        }
        guard let handle = curl_easy_init() else {
            throw HTTPError(.transfer, method: method, url: url, detail: "cannot create a curl handle")
        }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try set(CURLOPT_URL, url)
        let context = Unmanaged.passUnretained(self).toOpaque()
        try set(CURLOPT_WRITEDATA, pointer: context)
        try set(CURLOPT_HEADERDATA, pointer: context)
        try check(CModelSyncCurl_easy_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION, transferBodyCallback),
                  "CURLOPT_WRITEFUNCTION")
        try check(CModelSyncCurl_easy_setopt_write_callback(handle, CURLOPT_HEADERFUNCTION, transferHeaderCallback),
                  "CURLOPT_HEADERFUNCTION")
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        errorBuffer.deallocate()
    }

    /// Sets a numeric option ([curl_easy_setopt](https://curl.se/libcurl/c/curl_easy_setopt.html)).
    func set(_ option: CURLoption, _ value: Int) throws(HTTPError) {
        try check(CModelSyncCurl_easy_setopt_long(handle, option, value), "option \(option.rawValue)")
    }

    /// Sets a string option; curl copies the string.
    func set(_ option: CURLoption, _ value: String) throws(HTTPError) {
        try check(CModelSyncCurl_easy_setopt_string(handle, option, value), "option \(option.rawValue)")
    }

    /// Sets a `curl_off_t` option (RESUME_FROM_LARGE, POSTFIELDSIZE_LARGE).
    func set(_ option: CURLoption, offset value: Int64) throws(HTTPError) {
        try check(CModelSyncCurl_easy_setopt_off(handle, option, curl_off_t(value)), "option \(option.rawValue)")
    }

    /// Sets a pointer option; the caller keeps the pointee alive as long as curl needs it.
    func set(_ option: CURLoption, pointer value: UnsafeMutableRawPointer?) throws(HTTPError) {
        try check(CModelSyncCurl_easy_setopt_ptr(handle, option, value), "option \(option.rawValue)")
    }

    /// Sets the request body; CURLOPT_COPYPOSTFIELDS copies it, so the array need not outlive the call.
    func setBody(_ body: [UInt8]) throws(HTTPError) {
        try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(body.count))
        var copy = body
        if copy.isEmpty { copy.append(0) }  // a valid pointer; the size above says zero bytes
        let code = copy.withUnsafeMutableBytes { CModelSyncCurl_easy_setopt_ptr(handle, CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
        try check(code, "CURLOPT_COPYPOSTFIELDS")
    }

    /// Makes this transfer a PUT whose `size`-byte body curl pulls from ``onRead`` as it sends
    /// ([CURLOPT_UPLOAD](https://curl.se/libcurl/c/CURLOPT_UPLOAD.html)), so a file of any size leaves in
    /// constant memory.
    func setUpload(size: UInt64) throws(HTTPError) {
        try set(CURLOPT_UPLOAD, 1)
        try set(CURLOPT_INFILESIZE_LARGE, offset: Int64(size))
        try set(CURLOPT_READDATA, pointer: Unmanaged.passUnretained(self).toOpaque())
        try check(CModelSyncCurl_easy_setopt_read_callback(handle, transferReadCallback), "CURLOPT_READFUNCTION")
    }

    /// Replaces the request headers, and stops curl from sending the headers named in `removed`.
    /// A name or value holding a line break is refused: it would inject headers.
    func setHeaders(_ headers: [(String, String)], removing removed: [String] = []) throws(HTTPError) {
        var list: UnsafeMutablePointer<curl_slist>?
        for name in removed {
            // "Name:" with nothing after the colon tells curl not to send its own header of that name.
            guard let appended = curl_slist_append(list, "\(name):") else {
                curl_slist_free_all(list)
                throw HTTPError(.transfer, method: method, url: url, detail: "out of memory building the headers")
            }
            list = appended
        }
        for (name, value) in headers {
            // Checked on bytes: "\r\n" is a single Character, so a Character test would miss it.
            guard !name.isEmpty, !name.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == UInt8(ascii: ":") }),
                  !value.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) else {
                curl_slist_free_all(list)
                throw HTTPError(.invalidRequest, method: method, url: url,
                                detail: "the header \"\(name.prefix(64))\" has an invalid name or a line break in its value")
            }
            // "Name;" is curl's way to send a header with an empty value; "Name:" would remove it.
            let line = value.isEmpty ? "\(name);" : "\(name): \(value)"
            guard let appended = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw HTTPError(.transfer, method: method, url: url, detail: "out of memory building the headers")
            }
            list = appended
        }
        try set(CURLOPT_HTTPHEADER, pointer: UnsafeMutableRawPointer(list))
        curl_slist_free_all(headerList)
        headerList = list
    }

    /// Runs the transfer ([curl_easy_perform](https://curl.se/libcurl/c/curl_easy_perform.html)) and returns
    /// curl's result with its error text, read from the error buffer right after the call.
    func perform() -> (code: CURLcode, message: String) {
        errorBuffer[0] = 0
        status = 0
        responseHeaders = [:]
        let code = curl_easy_perform(handle)
        if code == CURLE_OK { return (code, "") }
        var message = String(cString: errorBuffer)
        if message.isEmpty { message = String(cString: curl_easy_strerror(code)) }
        if message.hasSuffix("\n") { message.removeLast() }
        return (code, message)
    }

    /// The last response's status from curl (0 for `file://`).
    var responseCode: Int {
        var value = 0
        _ = CModelSyncCurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &value)
        return value
    }

    /// The body size the server announced for this response (CURLINFO_CONTENT_LENGTH_DOWNLOAD_T), if any.
    var contentLength: UInt64? {
        var value: curl_off_t = -1
        guard CModelSyncCurl_easy_getinfo_off(handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &value) == CURLE_OK,
              value >= 0 else { return nil }
        return UInt64(value)
    }

    fileprivate func receiveHeader(_ line: String) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            // A new response begins (after a redirect or a 100 Continue): forget the previous one's headers.
            responseHeaders = [:]
            let parts = trimmed.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        } else if let colon = trimmed.firstIndex(of: ":") {
            let name = trimmed[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if let existing = responseHeaders[name] {
                responseHeaders[name] = existing + ", " + value
            } else {
                responseHeaders[name] = value
            }
        }
    }

    fileprivate func readBody(_ buffer: UnsafeMutableRawBufferPointer) -> Int? {
        onRead(buffer)
    }

    fileprivate func receiveBody(_ chunk: UnsafeRawBufferPointer) -> Bool {
        onBody(chunk)
    }

    private func check(_ code: CURLcode, _ what: String) throws(HTTPError) {
        guard code != CURLE_OK else { return }
        let text = String(cString: curl_easy_strerror(code))
        throw HTTPError(code == CURLE_UNKNOWN_OPTION || code == CURLE_NOT_BUILT_IN ? .invalidRequest : .transfer,
                        method: method, url: url, detail: "cannot set \(what)", curlMessage: text)
    }
}

@available(*, unavailable)
extension Transfer: Sendable {}

/// CURLOPT_WRITEFUNCTION: hands the chunk to the transfer; returning less than the chunk's size aborts it.
private let transferBodyCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, context in
    guard let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    let accepted = transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: length))
    return accepted ? length : (length == 0 ? 1 : 0)
}

/// CURLOPT_READFUNCTION: asks the transfer for the next bytes of the body; CURL_READFUNC_ABORT stops it.
private let transferReadCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    buffer, size, count, context in
    guard let context, let buffer else { return Int(CURL_READFUNC_ABORT) }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.readBody(UnsafeMutableRawBufferPointer(start: buffer, count: size * count)) ?? Int(CURL_READFUNC_ABORT)
}

/// CURLOPT_HEADERFUNCTION: one call per header line, status lines included.
private let transferHeaderCallback: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    data, size, count, context in
    guard let context else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    if let data {
        let bytes = UnsafeRawBufferPointer(start: data, count: length)
        transfer.receiveHeader(String(decoding: bytes, as: UTF8.self))
    }
    return length
}
