// Text from Office Open XML (docx/xlsx/pptx) and OpenDocument (odt/ods/odp) containers.

enum OfficeText {
    enum Kind { case docx, xlsx, pptx, odf }

    /// Opens `data` as ZIP, identifies the document kind from its entries and extracts text.
    static func extract(_ data: [UInt8], limits: ExtractionLimits) -> ExtractionResult {
        let zip: BoundedZip
        do {
            zip = try BoundedZip(data: data, limits: limits)
        } catch BoundedZip.OpenError.limit(let d) {
            return .status(.limitExceeded, d)
        } catch BoundedZip.OpenError.notZip(let d) {
            return .status(.failed, d)
        } catch {
            return .status(.failed, "ZIP open failed")
        }
        guard let kind = kind(of: zip) else {
            return .status(.unsupported, "ZIP archive is not an OOXML/ODF document")
        }
        var sink = ExtractionSink(limit: limits.maxOutputBytes)
        do {
            switch kind {
            case .docx: try docx(zip, &sink)
            case .xlsx: try xlsx(zip, &sink)
            case .pptx: try pptx(zip, &sink)
            case .odf: try odf(zip, &sink)
            }
        } catch let e as ExtractionLimitError {
            return ExtractionResult(text: "", status: .limitExceeded, detail: e.detail)
        } catch {
            // Corrupt entry: keep what was extracted so far.
            var r = sink.result(detail: "ZIP read error: \(error)")
            if r.status == .empty { r.status = .failed }
            return r
        }
        return sink.result()
    }

    static func kind(of zip: BoundedZip) -> Kind? {
        if zip.contains("word/document.xml") { return .docx }
        if zip.contains("xl/workbook.xml") || zip.contains("xl/sharedStrings.xml") { return .xlsx }
        if zip.contains("ppt/presentation.xml") { return .pptx }
        if zip.contains("content.xml") { return .odf }
        return nil
    }

    // MARK: - Word

    static func docx(_ zip: BoundedZip, _ sink: inout ExtractionSink) throws {
        var parts = ["word/document.xml", "word/footnotes.xml", "word/endnotes.xml", "word/comments.xml"]
        parts += zip.numbered(prefix: "word/header", suffix: ".xml")
        parts += zip.numbered(prefix: "word/footer", suffix: ".xml")
        for part in parts {
            if sink.isFull { return }
            guard let xml = try zip.read(part) else { continue }
            sink.newlineIfNeeded()
            wordML(xml, &sink)
        }
    }

    /// WordprocessingML: w:t text, w:tab, w:br/w:cr, paragraph ends.
    static func wordML(_ xml: [UInt8], _ sink: inout ExtractionSink) {
        var inText = false
        var inTabs = 0
        var fallback = 0
        XMLTextScanner.scan(xml) { event in
            switch event {
            case .start(let name, _, _):
                let local = XMLTextScanner.localName(name)
                if local == "Fallback" { fallback += 1 }
                if fallback > 0 { break }
                switch local {
                case "t": inText = true
                case "tabs": inTabs += 1
                case "tab": if inTabs == 0 { sink.append(0x09) }
                case "br", "cr": sink.append(0x0A)
                case "noBreakHyphen": sink.append(0x2D)
                default: break
                }
            case .end(let name):
                let local = XMLTextScanner.localName(name)
                if local == "Fallback" { fallback = max(0, fallback - 1); break }
                if fallback > 0 { break }
                switch local {
                case "t": inText = false
                case "tabs": inTabs = max(0, inTabs - 1)
                case "p": sink.append(0x0A)
                default: break
                }
            case .text(let bytes):
                if inText && fallback == 0 { sink.append(utf8: bytes) }
            }
            return !sink.isFull
        }
    }

    // MARK: - Excel

    static func xlsx(_ zip: BoundedZip, _ sink: inout ExtractionSink) throws {
        var shared: [[UInt8]] = []
        let sstPath = zip.contains("xl/sharedStrings.xml") ? "xl/sharedStrings.xml"
            : (zip.paths.first { $0.hasPrefix("xl/") && $0.hasSuffix("sharedStrings.xml") } ?? "")
        if let xml = try zip.read(sstPath) {
            shared = sharedStrings(xml)
        }
        let sheets = zip.numbered(prefix: "xl/worksheets/sheet", suffix: ".xml")
        if sheets.isEmpty {
            for s in shared {
                sink.append(utf8: s)
                sink.append(0x0A)
            }
            return
        }
        for sheet in sheets {
            if sink.isFull { return }
            guard let xml = try zip.read(sheet) else { continue }
            sink.newlineIfNeeded()
            worksheet(xml, shared: shared, &sink)
        }
    }

    static func sharedStrings(_ xml: [UInt8]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var current: [UInt8] = []
        var inT = false
        var inPhonetic = 0
        XMLTextScanner.scan(xml) { event in
            switch event {
            case .start(let name, _, _):
                switch XMLTextScanner.localName(name) {
                case "si": current = []
                case "t": inT = true
                case "rPh": inPhonetic += 1
                default: break
                }
            case .end(let name):
                switch XMLTextScanner.localName(name) {
                case "si": result.append(current); current = []
                case "t": inT = false
                case "rPh": inPhonetic = max(0, inPhonetic - 1)
                default: break
                }
            case .text(let bytes):
                if inT && inPhonetic == 0 { current.append(contentsOf: bytes) }
            }
            return true
        }
        return result
    }

    /// SpreadsheetML worksheet: cells separated by tabs, rows by newlines.
    static func worksheet(_ xml: [UInt8], shared: [[UInt8]], _ sink: inout ExtractionSink) {
        var cellType: String?
        var inValue = false
        var inInline = false
        var inInlineT = false
        var rowHasContent = false
        var cellStarted = false
        var value: [UInt8] = []

        func emit(_ bytes: [UInt8], _ sink: inout ExtractionSink) {
            if bytes.isEmpty { return }
            if !cellStarted {
                if rowHasContent { sink.append(0x09) }
                cellStarted = true
            }
            rowHasContent = true
            sink.append(utf8: bytes)
        }

        XMLTextScanner.scan(xml) { event in
            switch event {
            case .start(let name, let attrs, _):
                switch XMLTextScanner.localName(name) {
                case "row": rowHasContent = false
                case "c":
                    cellType = XMLTextScanner.attribute("t", in: attrs)
                    cellStarted = false
                case "v": inValue = true; value = []
                case "is": inInline = true
                case "t": if inInline { inInlineT = true }
                default: break
                }
            case .end(let name):
                switch XMLTextScanner.localName(name) {
                case "row":
                    if rowHasContent { sink.append(0x0A) }
                    rowHasContent = false
                case "v":
                    inValue = false
                    if cellType == "s" {
                        let digits = value.filter { $0 != 0x20 }
                        if digits.count <= 9, !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                           let idx = Int(String(decoding: digits, as: UTF8.self)), idx < shared.count {
                            emit(shared[idx], &sink)
                        }
                    } else if cellType == "b" {
                        emit(value == [0x31] ? Array("TRUE".utf8) : Array("FALSE".utf8), &sink)
                    } else {
                        emit(value, &sink)
                    }
                    value = []
                case "is": inInline = false
                case "t": inInlineT = false
                default: break
                }
            case .text(let bytes):
                if inValue {
                    if value.count < (1 << 20) { value.append(contentsOf: bytes) }
                } else if inInlineT {
                    emit(Array(bytes), &sink)
                }
            }
            return !sink.isFull
        }
    }

    // MARK: - PowerPoint

    static func pptx(_ zip: BoundedZip, _ sink: inout ExtractionSink) throws {
        let slides = zip.numbered(prefix: "ppt/slides/slide", suffix: ".xml")
        let notes = zip.numbered(prefix: "ppt/notesSlides/notesSlide", suffix: ".xml")
        for part in slides + notes {
            if sink.isFull { return }
            guard let xml = try zip.read(part) else { continue }
            sink.newlineIfNeeded()
            drawingML(xml, &sink)
        }
    }

    /// DrawingML text: a:t runs, a:br, paragraph ends.
    static func drawingML(_ xml: [UInt8], _ sink: inout ExtractionSink) {
        var inText = false
        var fallback = 0
        XMLTextScanner.scan(xml) { event in
            switch event {
            case .start(let name, _, _):
                let local = XMLTextScanner.localName(name)
                if local == "Fallback" { fallback += 1 }
                if fallback > 0 { break }
                if local == "t" { inText = true } else if local == "br" { sink.append(0x0A) }
            case .end(let name):
                let local = XMLTextScanner.localName(name)
                if local == "Fallback" { fallback = max(0, fallback - 1); break }
                if fallback > 0 { break }
                if local == "t" { inText = false } else if local == "p" { sink.append(0x0A) }
            case .text(let bytes):
                if inText && fallback == 0 { sink.append(utf8: bytes) }
            }
            return !sink.isFull
        }
    }

    // MARK: - OpenDocument

    static func odf(_ zip: BoundedZip, _ sink: inout ExtractionSink) throws {
        guard let xml = try zip.read("content.xml") else { return }
        odfContent(xml, &sink)
    }

    /// ODF content.xml: text inside text:p / text:h; text:s, text:tab, text:line-break; table cells/rows.
    static func odfContent(_ xml: [UInt8], _ sink: inout ExtractionSink) {
        var paragraphDepth = 0
        var cellDepth = 0
        var rowHasContent = false
        var pendingCellSeparator = false

        var pendingSpace = false

        func content(_ sink: inout ExtractionSink) {
            if cellDepth > 0 {
                if pendingCellSeparator { sink.append(0x09); pendingCellSeparator = false; pendingSpace = false }
                if pendingSpace { sink.append(0x20); pendingSpace = false }
                rowHasContent = true
            }
        }

        XMLTextScanner.scan(xml) { event in
            switch event {
            case .start(let name, let attrs, _):
                switch XMLTextScanner.localName(name) {
                case "p", "h": paragraphDepth += 1
                case "s" where paragraphDepth > 0:
                    var n = 1
                    if let c = XMLTextScanner.attribute("c", in: attrs), c.utf8.count <= 4, let v = Int(c) { n = min(max(v, 1), 64) }
                    content(&sink)
                    for _ in 0..<n { sink.append(0x20) }
                case "tab" where paragraphDepth > 0: content(&sink); sink.append(0x09)
                case "line-break" where paragraphDepth > 0: content(&sink); sink.append(0x0A)
                case "table-row": rowHasContent = false
                case "table-cell", "covered-table-cell":
                    cellDepth += 1
                    pendingCellSeparator = rowHasContent
                    pendingSpace = false
                default: break
                }
            case .end(let name):
                switch XMLTextScanner.localName(name) {
                case "p", "h":
                    paragraphDepth = max(0, paragraphDepth - 1)
                    if paragraphDepth == 0 {
                        if cellDepth > 0 { pendingSpace = rowHasContent } else { sink.append(0x0A) }
                    }
                case "table-cell", "covered-table-cell": cellDepth = max(0, cellDepth - 1)
                case "table-row":
                    if rowHasContent { sink.append(0x0A) }
                    rowHasContent = false
                default: break
                }
            case .text(let bytes):
                if paragraphDepth > 0 {
                    content(&sink)
                    sink.append(utf8: bytes)
                }
            }
            return !sink.isFull
        }
    }
}
