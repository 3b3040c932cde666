import Analysis
import IndexEngine
import MailsiftCore
import MIME

/// A parsed message → the engine's document: analyzed terms per field (each token's term and,
/// when different, its diacritic-folded form at the same position), stored text and values.
enum DocumentBuilder {
    static let indexedHeaders: Set<String> = [
        "reply-to", "sender", "list-id", "list-post", "organization", "x-mailer", "user-agent", "keywords", "comments",
        "resent-from", "resent-to", "x-original-to", "delivered-to", "mailing-list",
    ]

    /// The term a field gets when part of its text has no terms (see `build`): U+0001, which
    /// the analyzer never emits.
    public static let unindexedMarker = "\u{1}"

    static func build(_ doc: MailDocument, id: Int64, mailbox: Int64, uid: Int64, internalDate: Int64, size: Int64,
                      analyzer: Analyzer) -> IndexDocument {
        let body = (doc.body.map(\.text) + doc.alternatives.map(\.text)).joined(separator: "\n")
        let attachmentNames = doc.attachments.compactMap(\.filename).joined(separator: "\n")
        let attachmentText = doc.attachments.compactMap(\.text).joined(separator: "\n")
        // Other headers worth a word search: who and which list. Ids, dates, routing, MIME and
        // signature headers would fill the dictionary with unique terms nobody types (a third
        // of all postings on Enron); IMAP HEADER search on any field reads the stored header.
        let otherHeaders = doc.headers.filter { Self.indexedHeaders.contains($0.name.lowercased()) }.map(\.value).joined(separator: "\n")
        let texts: [(Field, String)] = [
            (.from, doc.from.display), (.to, doc.to.display), (.cc, doc.cc.display), (.bcc, doc.bcc.display),
            (.subject, doc.subject ?? ""), (.body, body), (.attachmentName, attachmentNames),
            (.attachmentText, attachmentText), (.headers, otherHeaders),
        ]
        var fields: [IndexDocument.FieldTerms] = []
        for (field, text) in texts where !text.isEmpty {
            var terms: [(term: String, position: UInt32)] = []
            var variants: [(term: String, position: UInt32)] = []
            let before = analyzer.stats
            let tokens = analyzer.tokens(text)
            terms.reserveCapacity(tokens.count + tokens.count / 8)
            for t in tokens {
                let p = UInt32(clamping: t.position)
                terms.append((t.term, p))
                if let f = t.folded { variants.append((f, p)) }
            }
            // Text the analysis left out (words over 64 bytes, base64 and PGP runs) has no
            // terms, so IMAP substring search could not find it through the dictionary: the
            // field gets the marker term, and substring search always checks such messages.
            let after = analyzer.stats
            if after.longTokens != before.longTokens || after.noiseBytes != before.noiseBytes {
                terms.append((Self.unindexedMarker, 0))
            }
            fields.append(IndexDocument.FieldTerms(field: field, terms: terms))
            if !variants.isEmpty { fields.append(IndexDocument.FieldTerms(field: field, terms: variants, variants: true)) }
        }
        // Stored: every field as text for snippets and exact substring checks; for headers,
        // all of them (IMAP HEADER and TEXT search any header), decoded, one per line.
        var stored: [(field: Field, text: String)] = texts.filter { !$0.1.isEmpty && $0.0 != .headers }.map { (field: $0.0, text: $0.1) }
        var allHeaders = ""
        allHeaders.reserveCapacity(doc.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 3 })
        for h in doc.headers {
            allHeaders += h.name
            allHeaders += ": "
            allHeaders += h.value
            allHeaders += "\n"
        }
        if !allHeaders.isEmpty { stored.append((.headers, allHeaders)) }
        var sentDay = Int64.min
        if let d = doc.date {
            let local = d.secondsSinceEpoch + Int64(d.offsetMinutes) * 60
            sentDay = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        }
        let values = DocumentValues(id: id, internalDate: internalDate, sentDate: doc.date?.secondsSinceEpoch ?? 0,
                                    size: size, mailbox: mailbox, uid: uid, sentDay: sentDay, attachments: Int64(doc.attachments.count))
        return IndexDocument(id: id, fields: fields, stored: stored, values: values)
    }
}
