import Testing
@testable import MIME

/// Converts with the default limit and returns only the text.
private func text(_ html: String) -> String {
    HTMLText.toText(Array(html.utf8)).text
}

private func convert(_ html: String, limit: Int) -> (text: String, truncated: Bool) {
    HTMLText.toText(Array(html.utf8), maxOutputBytes: limit)
}

private func sniff(_ html: String) -> String? {
    HTMLText.sniffCharset(Array(html.utf8))
}

@Suite("HTMLText.toText")
struct HTMLTextTests {
    // MARK: Blocks and whitespace

    @Test func paragraphsAndLineBreaks() {
        #expect(text("<p>Hello</p><p>World</p>") == "Hello\n\nWorld")
        #expect(text("<div>a</div><div>b</div>") == "a\nb")
        #expect(text("a<br>b") == "a\nb")
        #expect(text("a<br/>b</br>c") == "a\nb\nc")
        #expect(text("a<br><br><br><br>b") == "a\n\nb")
        #expect(text("<P>A<BR>B</P>") == "A\nB")
        #expect(text("<h1>Title</h1>text") == "Title\n\ntext")
        #expect(text("above<hr>below") == "above\n\nbelow")
        #expect(text("<ul><li>one</li><li>two</li></ul>after") == "one\ntwo\n\nafter")
        #expect(text("<blockquote>q</blockquote><section>s</section><footer>f</footer>") == "q\n\ns\nf")
        #expect(text("<select><option>Red<option>Blue</select>") == "Red\nBlue")
    }

    @Test func whitespaceCollapsesAndLinesAreTrimmed() {
        #expect(text("  Hello   \n\t world  ") == "Hello world")
        #expect(text("<p>  a  </p>  <p>  b </p>") == "a\n\nb")
        #expect(text("\n\n<p>x</p>\n\n") == "x")
        #expect(text("<div> a </div> <div> b </div>") == "a\nb")
        #expect(text("") == "")
        #expect(text("<p></p><div></div>") == "")
    }

    @Test func inlineTagsDoNotSplitWords() {
        #expect(text("foo<b>bar</b> baz") == "foobar baz")
        #expect(text("V<span>i</span>ag<wbr>ra") == "Viagra")
        #expect(text("<a href=\"http://t.example/?id=1&amp;u=2\">Click here</a> now") == "Click here now")
        #expect(text("<a title=\"a>b\" href='x>y'>link</a>") == "link")
    }

    @Test func tableCellsAreSeparated() {
        let html = "<table><tr><td>Name</td><td>Price</td></tr><tr><th>Apple</th><td>$1</td></tr></table>end"
        #expect(text(html) == "Name Price\nApple $1\n\nend")
        #expect(text("<td>a</td><td></td><td>b</td>") == "a b")
    }

    @Test func preKeepsWhitespace() {
        #expect(text("<p>x</p><pre>  a  b\n    c</pre>after   it") == "x\n\n  a  b\n    c\n\nafter it")
        #expect(text("<pre>a\r\nb\rc</pre>") == "a\nb\nc")
        #expect(text("<pre>a&#10;b&#9;c</pre>") == "a\nb\tc")
        // Still at most one blank line, and no trailing blanks on a line.
        #expect(text("<pre>a   \n\n\n\nb</pre>") == "a\n\nb")
    }

    // MARK: Dropped content

    @Test func scriptAndStyleAreDropped() {
        #expect(text("a<script>var x = '<p>hi</p>';</script>b") == "ab")
        #expect(text("a<SCRIPT type=x>if (a<b) {}</SCRIPT >b") == "ab")
        #expect(text("a<script>x</scripty>y</ScRiPt\n>b") == "ab")
        #expect(text("a<script>x</script/>b") == "ab")
        #expect(text("<style>p { color: red }</style>Text") == "Text")
        #expect(text("x<noscript>Enable JS</noscript><iframe>frame</iframe>y") == "xy")
    }

    @Test func unclosedScriptSwallowsTheRest() {
        #expect(text("before<script>alert(1) <p>lots of text</p>") == "before")
        #expect(text("before<script>a</scrip") == "before")
        #expect(text("before<style>") == "before")
    }

    @Test func headIsDroppedButTitleKeptOnce() {
        let html = """
            <html><head><title>Weekly &amp; News</title><meta charset=utf-8>
            <style>.x{}</style><link rel=stylesheet href=a.css></head>
            <body><p>Hi</p></body></html>
            """
        #expect(text(html) == "Weekly & News\n\nHi")
        #expect(text("<title>A</title><title>B</title>x") == "A\nx")
        #expect(text("<title>a <b> c</title>") == "a <b> c")
        #expect(text("<head><title>T</title></head>body text") == "T\nbody text")
        // Text after head elements without <body> is visible in browsers.
        #expect(text("<html><head><title>T</title>Hello") == "T\nHello")
        #expect(text("<head><meta name=x></head><div>x</div>") == "x")
        #expect(text("<head><div>implied body</div>") == "implied body")
    }

    @Test func foreignAndTemplateContentIsDropped() {
        #expect(text("a<svg><title>x</title><text>chart</text></svg>b") == "ab")
        #expect(text("a<svg><svg></svg>c</svg>b") == "ab")
        #expect(text("a<svg/> b") == "a b")
        #expect(text("a<template><p>t</p></template>b") == "ab")
        #expect(text("a<object data=x>fallback</object>b") == "ab")
        #expect(text("a<svg><script>'</svg>'</script>c</svg>b") == "ab")
    }

    @Test func commentsAndDeclarationsAreDropped() {
        #expect(text("a<!-- hidden <p> -->b") == "ab")
        #expect(text("a<!---->b") == "ab")
        #expect(text("a<!-->b") == "ab")
        #expect(text("a<!--->b") == "ab")
        #expect(text("a<!-- x -- y --!>b") == "ab")
        #expect(text("<!DOCTYPE html>x") == "x")
        #expect(text("a<![CDATA[ secret > stuff ]]>b") == "ab")
        #expect(text("<?xml version=\"1.0\"?>x") == "x")
        #expect(text("a</ foo>b") == "ab")
        #expect(text("a</>b") == "ab")
    }

    @Test func unclosedCommentSwallowsTheRest() {
        #expect(text("a<!-- never closed <p>text") == "a")
        #expect(text("a<!-- -") == "a")
        #expect(text("a<![CDATA[ no end") == "a")
        #expect(text("a<!DOCTYPE") == "a")
    }

    @Test func strayLessThanIsText() {
        #expect(text("1 < 2 and 3 > 2") == "1 < 2 and 3 > 2")
        #expect(text("if a<3 then") == "if a<3 then")
        #expect(text("x <") == "x <")
        #expect(text("x </") == "x </")
        // A `<` followed by a letter starts a tag, which runs to EOF here.
        #expect(text("a <b") == "a")
    }

    // MARK: Character references

    @Test func namedReferences() {
        #expect(text("&lt;p&gt; &amp; &quot;q&quot; &eacute;") == "<p> & \"q\" é")
        #expect(text("&AMP; &Amp;") == "& &Amp;")
        #expect(text("&CounterClockwiseContourIntegral;") == "\u{2233}")
        #expect(text("&NotEqualTilde;") == "\u{2242}\u{0338}")
        #expect(text("&notin; &notit;") == "\u{2209} \u{AC}it;")
    }

    @Test func legacyReferencesWithoutSemicolon() {
        #expect(text("&amp &lt &copy 2024") == "& < © 2024")
        #expect(text("&copy2024") == "©2024")
        #expect(text("&ampx") == "&x")
        // `&nbspx` is nbsp + "x"; the nbsp then collapses to a space.
        #expect(text("a&nbspx") == "a x")
    }

    @Test func unknownReferencesStayAsWritten() {
        #expect(text("&foo; &bogus & && &;") == "&foo; &bogus & && &;")
        #expect(text("AT&T") == "AT&T")
        #expect(text("&#; &#x; &#xg;") == "&#; &#x; &#xg;")
    }

    @Test func numericReferences() {
        #expect(text("&#233;&#xE9;&#XE9;&#x00e9;") == "éééé")
        #expect(text("&#65&#x42;C") == "ABC")
        #expect(text("&#0;") == "\u{FFFD}")
        #expect(text("&#x110000;") == "\u{FFFD}")
        #expect(text("&#99999999999999999999999;") == "\u{FFFD}")
        #expect(text("&#xD800;&#57343;") == "\u{FFFD}\u{FFFD}")
        #expect(text("&#150;") == "\u{2013}")
        #expect(text("&#128;&#x99;&#159;") == "€™Ÿ")
        #expect(text("&#x10FFFF;") == "\u{10FFFF}")
        // The unassigned windows-1252 slots stay C1 controls, which index as spaces.
        #expect(text("a&#129;b") == "a b")
        #expect(text("&#60;b&#62;") == "<b>")
    }

    @Test func nbspAndInvisibleCharacters() {
        #expect(text("a&nbsp;b") == "a b")
        #expect(text("a&nbsp;&nbsp; b") == "a b")
        #expect(text("a\u{A0}b") == "a b")
        #expect(text("<p>&nbsp;</p><p>x</p><p>&nbsp;</p>") == "x")
        #expect(text("news&shy;letter news\u{AD}letter") == "newsletter newsletter")
        #expect(text("Vi\u{200B}ag\u{200C}r\u{200D}a") == "Viagra")
        #expect(text("Vi&#8203;ag&zwj;r&ZeroWidthSpace;a&NoBreak;!") == "Viagra!")
        #expect(text("\u{FEFF}x\u{2060}y") == "xy")
        #expect(text("a\u{2003}b\u{3000}c") == "a b c")
        // Other characters from the same UTF-8 blocks pass through untouched.
        #expect(text("“quoted” — €5 ¢ ͣ 日本") == "“quoted” — €5 ¢ ͣ 日本")
    }

    @Test func imgAltIsKeptAsWords() {
        #expect(text("Buy<img src=x alt='Big Sale'>now") == "Buy Big Sale now")
        #expect(text("a<img src=x>b") == "ab")
        #expect(text("<IMG ALT=\"  Fish &amp;\n Chips \">") == "Fish & Chips")
        #expect(text("<img alt=Sale>") == "Sale")
        #expect(text("<img alt=\"a&copy=b &copy 1\">") == "a&copy=b © 1")
        #expect(text("<img alt=\"first\" alt=\"second\">") == "first")
        #expect(text("<head><img alt=x></head>") == "x")
    }

    // MARK: Output bound

    @Test func truncation() {
        #expect(convert("<p>Hello world</p>", limit: 5) == ("Hello", true))
        #expect(convert("<p>Hello</p>", limit: 5) == ("Hello", false))
        #expect(convert("Hello   <p> <!-- x --> ", limit: 5) == ("Hello", false))
        #expect(convert("ééé", limit: 5) == ("éé", true))
        #expect(convert("&eacute;&eacute;&eacute;", limit: 5) == ("éé", true))
        #expect(convert("x", limit: 0) == ("", true))
        #expect(convert("<p> </p>", limit: 0) == ("", false))
        #expect(convert("x", limit: -3) == ("", true))
        let (long, cut) = convert(String(repeating: "word ", count: 100_000), limit: 1000)
        #expect(cut)
        #expect(long.utf8.count <= 1000)
    }

    @Test func invalidUTF8IsRepairedWithinTheBound() {
        let (repaired, cut) = HTMLText.toText([0x61, 0xFF, 0x62], maxOutputBytes: 100)
        #expect(repaired == "a\u{FFFD}b")
        #expect(!cut)
        // Three bad bytes become nine bytes of U+FFFD; the limit still holds.
        let (clamped, clampedCut) = HTMLText.toText([0xFF, 0xFF, 0xFF], maxOutputBytes: 4)
        #expect(clamped == "\u{FFFD}")
        #expect(clampedCut)
    }

    // MARK: Hostile input (each must finish; the assertions are on results)

    @Test func lessThanStorm() {
        let storm = [UInt8](repeating: UInt8(ascii: "<"), count: 5 << 20)
        let (result, cut) = HTMLText.toText(storm)
        #expect(result.utf8.count == 5 << 20)
        #expect(!cut)
    }

    @Test func openTagWithoutGreaterThan() {
        var input = Array("visible ".utf8)
        input.reserveCapacity(5 << 20)
        while input.count < 5 << 20 { input += Array("<a ".utf8) }
        #expect(HTMLText.toText(input).text == "visible")

        var quoted = Array("x<div title=\"".utf8)
        quoted += [UInt8](repeating: UInt8(ascii: "y"), count: 10 << 20)
        #expect(HTMLText.toText(quoted).text == "x")
    }

    @Test func pathologicalRepetitions() {
        #expect(text("a<!--" + String(repeating: "-", count: 1 << 20)) == "a")
        #expect(text("<script>" + String(repeating: "</scrip", count: 300_000)) == "")
        #expect(text("<title>" + String(repeating: "</titl", count: 300_000)).hasPrefix("</titl</titl"))
        let amps = text(String(repeating: "&", count: 1 << 20) + String(repeating: "a", count: 1 << 20))
        #expect(amps.utf8.count == 2 << 20)
        #expect(text(String(repeating: "&#", count: 500_000)).utf8.count == 1_000_000)
        #expect(text(String(repeating: "&#1", count: 300_000)).unicodeScalars.count == 0)
        #expect(text(String(repeating: "<svg>", count: 100_000) + String(repeating: "</svg>", count: 100_000) + "x") == "x")
        #expect(text(String(repeating: "<pre>", count: 100_000) + "a  b") == "a  b")
        #expect(text(String(repeating: "<p>", count: 500_000) + "x") == "x")
        #expect(text(String(repeating: "<a b=c ", count: 300_000) + ">z") == "z")
    }

    @Test func binaryGarbageDoesNotCrash() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var garbage = [UInt8](repeating: 0, count: 2 << 20)
        for index in garbage.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let byte = UInt8(truncatingIfNeeded: state >> 56)
            // Bias towards markup-significant bytes and NULs.
            switch byte % 8 {
            case 0: garbage[index] = 0
            case 1: garbage[index] = Array("<>&;#!-/=\"'x".utf8)[Int(byte / 8) % 12]
            default: garbage[index] = byte
            }
        }
        let (full, _) = HTMLText.toText(garbage)
        #expect(!full.utf8.contains(0))
        let (bounded, _) = HTMLText.toText(garbage, maxOutputBytes: 1000)
        #expect(bounded.utf8.count <= 1000)
        // `<` followed by NUL is not a tag, so it is literal text.
        #expect(HTMLText.toText([0, 0, 0, 0x3C, 0, 0x3E, 0, 0x26, 0]).text == "<>&")
        #expect(HTMLText.toText([0x61, 0, 0x62]).text == "ab")
        #expect(HTMLText.toText([0x61, 0x01, 0x02, 0x62]).text == "a b")
    }

    @Test func realisticNewsletter() {
        let html = """
            <!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN">
            <html xmlns="http://www.w3.org/1999/xhtml"><head>
            <meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
            <title>Spring Sale &ndash; 50% off</title>
            <style type="text/css">body { margin: 0 } .btn { color: #fff }</style>
            <!--[if mso]><xml><o:OfficeDocumentSettings/></xml><![endif]-->
            </head>
            <body><div style="display:none">Preheader&zwnj;&nbsp;&zwnj;&nbsp;</div>
            <table role="presentation"><tr><td>
              <img src="logo.png" alt="ACME Corp" width="100">
              <h1>Spring&nbsp;Sale</h1>
              <p>Dear customer,<br>everything is <b>50%</b> off&mdash;today only.</p>
              <p><a href="https://acme.example/shop?utm_source=mail&amp;id=42">Shop now &raquo;</a></p>
            </td></tr></table>
            <p style="font-size:10px">&copy; 2024 ACME &bull; <a href="https://acme.example/u">Unsubscribe</a></p>
            <script>track('open')</script>
            </body></html>
            """
        let expected = """
            Spring Sale – 50% off
            Preheader

            ACME Corp

            Spring Sale

            Dear customer,
            everything is 50% off—today only.

            Shop now »

            © 2024 ACME • Unsubscribe
            """
        #expect(text(html) == expected)
    }

    @Test func concurrentCallsShareTheLazyTables() async {
        let inputs = (0 ..< 8).map { Array("<p>&eacute;&#150;\($0)</p><td>x</td>".utf8) }
        let results = await withTaskGroup(of: String.self) { group in
            for input in inputs { group.addTask { HTMLText.toText(input).text } }
            var all: [String] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 8)
        #expect(results.allSatisfy { $0.hasPrefix("é\u{2013}") })
    }
}

@Suite("HTMLText.sniffCharset")
struct CharsetSniffTests {
    @Test func metaCharset() {
        #expect(sniff("<html><head><meta charset=\"UTF-8\"></head>") == "utf-8")
        #expect(sniff("<META CHARSET=iso-8859-1>") == "iso-8859-1")
        #expect(sniff("<meta charset=' koi8-r '/>") == "koi8-r")
    }

    @Test func httpEquivContentType() {
        #expect(sniff("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Windows-1252\">") == "windows-1252")
        #expect(sniff("<meta content='text/html;charset=\"GB2312\"' http-equiv='content-type'>") == "gb2312")
        #expect(sniff("<meta http-equiv=Content-Type content=\"text/html; charset = Shift_JIS ; x=y\">") == "shift_jis")
        // Without the pragma, content alone is not a declaration.
        #expect(sniff("<meta name=\"x\" content=\"text/html; charset=utf-8\">") == nil)
    }

    @Test func absentOrHidden() {
        #expect(sniff("<html><body>charset=utf-8</body></html>") == nil)
        #expect(sniff("") == nil)
        #expect(sniff("<!-- <meta charset=\"big5\"> --><p>x") == nil)
        #expect(sniff("<div charset=utf-8 data-x='<meta charset=big5>'>") == nil)
        #expect(sniff("<meta charset=\"\">") == nil)
        #expect(sniff(String(repeating: " ", count: 5000) + "<meta charset=utf-8>") == nil)
        #expect(sniff("<meta charset=\"utf-8") == nil)
    }

    @Test func firstDeclarationWins() {
        #expect(sniff("<!--x--><meta charset=utf-8><meta charset=big5>") == "utf-8")
        #expect(sniff("<meta name=viewport><meta charset=utf-8>") == "utf-8")
    }
}

@Suite("HTMLEntities")
struct HTMLEntityTableTests {
    @Test func tableIsCompleteAndSorted() {
        let table = HTMLEntities.table
        #expect(table.count == 2231)
        #expect(table.count == HTMLEntities.count)
        for index in 1 ..< table.count {
            #expect(table.name(at: index - 1).lexicographicallyPrecedes(table.name(at: index)))
        }
    }

    @Test func lookupDistinguishesLegacyNames() {
        func lookup(_ name: String) -> (UInt32, UInt32)? {
            Array(name.utf8).withUnsafeBufferPointer { HTMLEntities.table.lookup($0, 0, $0.count) }
        }
        #expect(lookup("amp;")?.0 == 0x26)
        #expect(lookup("amp")?.0 == 0x26)
        #expect(lookup("notin;")?.0 == 0x2209)
        #expect(lookup("notin") == nil)
        #expect(lookup("NotEqualTilde;").map { [$0.0, $0.1] } == [0x2242, 0x338])
        #expect(lookup("") == nil)
        #expect(lookup("zzzz;") == nil)
    }
}
