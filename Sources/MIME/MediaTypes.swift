/// Media types for file names that arrive without one (uuencoded files, TNEF contents).
enum MediaTypes {
    static let byExtension: [String: String] = [
        "txt": "text/plain", "log": "text/plain", "csv": "text/csv", "htm": "text/html", "html": "text/html",
        "xml": "application/xml", "json": "application/json", "pdf": "application/pdf", "rtf": "application/rtf",
        "doc": "application/msword", "xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "odp": "application/vnd.oasis.opendocument.presentation", "ics": "text/calendar", "vcf": "text/vcard",
        "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "bmp": "image/bmp",
        "tif": "image/tiff", "tiff": "image/tiff", "svg": "image/svg+xml", "zip": "application/zip",
        "gz": "application/gzip", "tgz": "application/gzip", "tar": "application/x-tar", "7z": "application/x-7z-compressed",
        "eml": "message/rfc822", "mp3": "audio/mpeg", "wav": "audio/wav", "mp4": "video/mp4", "exe": "application/x-msdownload",
    ]

    static func guess(filename: String) -> String {
        guard let dot = filename.lastIndex(of: "."), dot != filename.startIndex else { return "application/octet-stream" }
        return byExtension[filename[filename.index(after: dot)...].lowercased()] ?? "application/octet-stream"
    }
}
