// Linear-time RTF → plain text. Iterative (no recursion); group depth tracked with a bounded stack.

enum RTFText {
    private struct GroupState {
        var skip = false        // inside an ignored destination
        var fontTable = false   // inside \fonttbl
        var uc = 1              // \ucN fallback count
        var font = -1           // current \fN (-1: default)
    }

    static let maxStackDepth = 512
    static let skippedDestinations: Set<String> = [
        "fonttbl", "colortbl", "stylesheet", "info", "pict", "object", "objdata", "objclass", "header", "headerl",
        "headerr", "headerf", "footer", "footerl", "footerr", "footerf", "listtable", "listoverridetable", "revtbl",
        "rsidtbl", "generator", "xmlnstbl", "themedata", "colorschememapping", "datastore", "latentstyles",
        "datafield", "fldinst", "filetbl", "pgdsctbl", "nonshppict", "bkmkstart", "bkmkend", "mmathPr", "xe", "tc",
        "txe", "private", "userprops", "docvar", "template", "falt", "panose", "fontemb", "fontfile", "atnid",
        "atnauthor", "blipuid", "listtext", "pntext", "pntxta", "pntxtb", "shpinst", "sp", "sn", "sv", "wgrffmtfilter",
        "operator", "author", "title", "subject", "keywords", "comment", "doccomm", "company", "category", "manager",
    ]

    static func codepageLabel(_ cp: Int) -> String {
        switch cp {
        case 65001: return "utf-8"
        case 932: return "shift_jis"
        case 936: return "gbk"
        case 949: return "euc-kr"
        case 950: return "big5"
        case 10000: return "macintosh"
        case 437: return "ibm437"
        case 850: return "ibm850"
        case 866: return "ibm866"
        case 20866: return "koi8-r"
        case 28591: return "iso-8859-1"
        case 874, 1250...1258: return "windows-\(cp)"
        default: return "windows-1252"
        }
    }

    static func charsetLabel(_ charset: Int) -> String? {
        switch charset {
        case 0, 1, 2: return nil // ANSI / default / symbol: document codepage
        case 77: return "macintosh"
        case 128: return "shift_jis"
        case 129: return "euc-kr"
        case 134: return "gbk"
        case 136: return "big5"
        case 161: return "windows-1253"
        case 162: return "windows-1254"
        case 163: return "windows-1258"
        case 177: return "windows-1255"
        case 178: return "windows-1256"
        case 186: return "windows-1257"
        case 204: return "windows-1251"
        case 222: return "windows-874"
        case 238: return "windows-1250"
        case 255: return "ibm437"
        default: return nil
        }
    }

    @inline(__always) static func isLetter(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) static func hexValue(_ b: UInt8) -> UInt8? {
        if b >= 0x30 && b <= 0x39 { return b - 0x30 }
        if b >= 0x61 && b <= 0x66 { return b - 0x61 + 10 }
        if b >= 0x41 && b <= 0x46 { return b - 0x41 + 10 }
        return nil
    }

    static func extract(_ data: [UInt8], limits: ExtractionLimits, decodeCharset: ([UInt8], String) -> String) -> ExtractionResult {
        var sink = ExtractionSink(limit: limits.maxOutputBytes)
        let n = data.count
        var i = 0
        var stack: [GroupState] = [GroupState()]
        var overflowDepth = 0   // groups opened beyond maxStackDepth
        var depth = 0
        var state = GroupState()
        var docCodepage = "windows-1252"
        var defaultFont = -1
        var fontCodepage: [Int: String] = [:]
        var fontBeingDefined = -1
        var ucSkip = 0
        var highSurrogate: UInt32 = 0

        var pending: [UInt8] = []
        var pendingLabel = docCodepage

        func currentLabel() -> String {
            let f = state.font >= 0 ? state.font : defaultFont
            return fontCodepage[f] ?? docCodepage
        }
        func flush() {
            if pending.isEmpty { return }
            sink.append(decodeCharset(pending, pendingLabel))
            pending.removeAll(keepingCapacity: true)
        }
        func emitByte(_ b: UInt8) {
            let label = currentLabel()
            if label != pendingLabel {
                flush()
                pendingLabel = label
            }
            if pending.count >= 65536 && b < 0x80 { flush() }
            pending.append(b)
        }
        func emitScalar(_ value: UInt32) {
            flush()
            if let s = Unicode.Scalar(value) { sink.append(scalar: s) } else { sink.append(scalar: "\u{FFFD}") }
        }
        func emitText(_ s: String) {
            flush()
            sink.append(s)
        }

        func handleWord(_ word: String, _ param: Int?) {
            switch word {
            case "bin":
                let count = max(0, param ?? 0)
                i = count >= n - i ? n : i + count
                return
            case "u":
                let raw = param ?? 0
                var v = UInt32(truncatingIfNeeded: raw < 0 ? raw + 65536 : raw) & 0xFFFF
                ucSkip = state.uc
                if state.skip { return }
                if v >= 0xD800 && v <= 0xDBFF { highSurrogate = v; return }
                if v >= 0xDC00 && v <= 0xDFFF {
                    if highSurrogate != 0 {
                        v = 0x10000 + ((highSurrogate - 0xD800) << 10) + (v - 0xDC00)
                        highSurrogate = 0
                    } else { v = 0xFFFD }
                }
                highSurrogate = 0
                emitScalar(v)
                return
            case "uc":
                state.uc = min(max(param ?? 1, 0), 16)
                return
            case "ansicpg":
                if let p = param { docCodepage = codepageLabel(p) }
                return
            case "ansi": docCodepage = "windows-1252"; return
            case "mac": docCodepage = "macintosh"; return
            case "pc": docCodepage = "ibm437"; return
            case "pca": docCodepage = "ibm850"; return
            case "deff": defaultFont = param ?? -1; return
            case "fonttbl":
                state.skip = true
                state.fontTable = true
                return
            case "f":
                if state.fontTable { fontBeingDefined = param ?? -1 } else { state.font = param ?? -1 }
                return
            case "fcharset":
                if state.fontTable, fontBeingDefined >= 0, let p = param, let label = charsetLabel(p) {
                    fontCodepage[fontBeingDefined] = label
                }
                return
            case "cpg":
                if state.fontTable, fontBeingDefined >= 0, let p = param { fontCodepage[fontBeingDefined] = codepageLabel(p) }
                return
            case "plain": state.font = -1; return
            default: break
            }
            if skippedDestinations.contains(word) { state.skip = true; return }
            if state.skip { return }
            switch word {
            case "par", "line", "sect", "page", "row", "lbr": emitText("\n")
            case "tab", "cell": emitText("\t")
            case "emdash": emitScalar(0x2014)
            case "endash": emitScalar(0x2013)
            case "bullet": emitScalar(0x2022)
            case "lquote": emitScalar(0x2018)
            case "rquote": emitScalar(0x2019)
            case "ldblquote": emitScalar(0x201C)
            case "rdblquote": emitScalar(0x201D)
            case "emspace", "enspace", "qmspace": emitText(" ")
            default: break
            }
        }

        while i < n && !sink.isFull {
            let b = data[i]
            switch b {
            case 0x7B: // {
                i += 1
                ucSkip = 0
                depth += 1
                if stack.count < maxStackDepth { stack.append(state) } else { overflowDepth += 1 }
            case 0x7D: // }
                i += 1
                ucSkip = 0
                if depth == 0 { continue } // unbalanced: ignore
                depth -= 1
                if overflowDepth > 0 { overflowDepth -= 1 } else if let top = stack.popLast() { state = top }
                if stack.isEmpty { stack.append(GroupState()) }
            case 0x0D, 0x0A:
                i += 1
            case 0x5C: // backslash
                i += 1
                guard i < n else { break }
                let c = data[i]
                if isLetter(c) {
                    let wordStart = i
                    while i < n && isLetter(data[i]) { i += 1 }
                    let wordEnd = i
                    var param: Int? = nil
                    var negative = false
                    if i < n && data[i] == 0x2D && i + 1 < n && isDigit(data[i + 1]) { negative = true; i += 1 }
                    if i < n && isDigit(data[i]) {
                        var v = 0
                        var digits = 0
                        while i < n && isDigit(data[i]) {
                            if digits < 10 { v = v * 10 + Int(data[i] - 0x30) }
                            digits += 1
                            i += 1
                        }
                        param = negative ? -v : v
                    }
                    if i < n && data[i] == 0x20 { i += 1 }
                    if wordEnd - wordStart > 32 { continue }
                    let word = String(decoding: data[wordStart..<wordEnd], as: UTF8.self)
                    if ucSkip > 0 && word != "bin" { ucSkip -= 1; continue }
                    handleWord(word, param)
                } else {
                    i += 1
                    switch c {
                    case 0x27: // \'hh
                        guard i + 1 < n, let hi = hexValue(data[i]), let lo = hexValue(data[i + 1]) else { continue }
                        i += 2
                        if ucSkip > 0 { ucSkip -= 1; continue }
                        if !state.skip { emitByte(hi << 4 | lo) }
                    case 0x5C, 0x7B, 0x7D:
                        if ucSkip > 0 { ucSkip -= 1; continue }
                        if !state.skip { emitByte(c) }
                    case 0x2A: // \*
                        state.skip = true
                    case 0x7E: // \~
                        if ucSkip > 0 { ucSkip -= 1; continue }
                        if !state.skip { emitScalar(0xA0) }
                    case 0x5F: // \_
                        if ucSkip > 0 { ucSkip -= 1; continue }
                        if !state.skip { emitByte(0x2D) }
                    case 0x0A, 0x0D:
                        if !state.skip { emitText("\n") }
                    default:
                        if ucSkip > 0 { ucSkip -= 1 }
                    }
                }
            default:
                // Plain text run.
                if ucSkip > 0 { ucSkip -= 1; i += 1; continue }
                if state.skip {
                    i += 1
                    while i < n, data[i] != 0x5C, data[i] != 0x7B, data[i] != 0x7D { i += 1 }
                    continue
                }
                emitByte(b)
                i += 1
            }
        }
        flush()
        return sink.result()

    }
}
