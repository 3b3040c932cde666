import MIME

/// The `parse` command's output for people.
enum HumanRendering {
    static func render(_ doc: MailDocument, origin: String, maxText: Int) -> String {
        var out: [String] = ["== \(origin) (\(doc.rawSize) bytes)"]
        func addresses(_ label: String, _ list: [MailAddress]) {
            guard !list.isEmpty else { return }
            let rendered = list.map { a in (a.group.map { "[\($0)] " } ?? "") + a.display }
            out.append("\(label): \(rendered.joined(separator: ", "))")
        }
        addresses("From", doc.from)
        addresses("Sender", doc.sender)
        addresses("Reply-To", doc.replyTo)
        addresses("To", doc.to)
        addresses("Cc", doc.cc)
        addresses("Bcc", doc.bcc)
        if let s = doc.subject { out.append("Subject: \(s)") }
        if let d = doc.date { out.append("Date: \(d.iso8601)") }
        if let m = doc.messageID { out.append("Message-ID: \(m)") }
        if !doc.inReplyTo.isEmpty { out.append("In-Reply-To: \(doc.inReplyTo.joined(separator: " "))") }
        if !doc.references.isEmpty { out.append("References: \(doc.references.count) ids") }
        if let l = doc.listID { out.append("List-Id: \(l)") }
        out.append("Parts:")
        for p in doc.parts {
            var line = "  \(p.part.isEmpty ? "-" : p.part)  \(p.mediaType)  \(p.role.rawValue)"
            if let c = p.charset { line += "  charset=\(c)" }
            if let e = p.transferEncoding { line += "  \(e)" }
            if let f = p.filename { line += "  \"\(f)\"" }
            line += "  \(p.encodedSize) bytes"
            out.append(line)
        }
        if !doc.attachments.isEmpty {
            out.append("Attachments:")
            for a in doc.attachments {
                var line = "  \(a.part)  \(a.filename ?? "(no name)")  \(a.mediaType)  \(a.size) bytes  extraction=\(a.extraction.rawValue)"
                if let t = a.text { line += "  text=\(t.count) chars" }
                if let h = a.sha256 { line += "  sha256=\(h.prefix(16))…" }
                out.append(line)
            }
        }
        if !doc.defects.isEmpty {
            out.append("Defects:")
            for d in doc.defects {
                out.append("  \(d.kind.rawValue) at \(d.part.isEmpty ? "header" : "part " + d.part)\(d.detail.map { ": \($0)" } ?? "")")
            }
        }
        for seg in doc.body {
            out.append("--- part \(seg.part) (\(seg.origin.rawValue)) ---")
            let text = seg.text.count > maxText ? String(seg.text.prefix(maxText)) + " […]" : seg.text
            out.append(text)
        }
        for a in doc.attachments where !(a.text ?? "").isEmpty {
            out.append("--- attachment \(a.part) \(a.filename ?? "") text ---")
            let t = a.text ?? ""
            out.append(t.count > maxText ? String(t.prefix(maxText)) + " […]" : t)
        }
        return out.joined(separator: "\n")
    }
}
