//! The test data of the compression cases: five generated files that stand in for Autobahn's.
//!
//! Autobahn's sections 12 and 13 send slices of five files it ships (a JSON document, a 512×512
//! grayscale bitmap, Goethe's Faust, an HTML page, a PDF). wsspec generates files of the same kinds
//! and sizes instead, deterministically (a fixed-seed SplitMix64), so that compression meets the same
//! sorts of data: JSON and HTML are repetitive ASCII markup that deflate shrinks to a small fraction,
//! German verse with umlauts shrinks to about half, and the bitmap and the PDF (mostly already
//! compressed streams) barely shrink. Each is built once per process, on first use, and shared.
//!
//! A case names one with `{ corpus = "json", count = N }`: the next `N` bytes of it, continuing
//! where the case's previous slice ended and wrapping around at the end, as Autobahn does. JSON and
//! HTML are ASCII only, so any slice of them is valid UTF-8 and can go out as text.

use std::{fmt, sync::OnceLock};

use serde::{Deserialize, Serialize};

/// One of the generated files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Corpus {
    /// A JSON document of records (ASCII), 194,056 bytes like Autobahn's `data1.json`.
    Json,
    /// A 512×512 8-bit grayscale BMP of smooth shapes and noise, 263,222 bytes like `lena512.bmp`.
    Bmp,
    /// German verse in UTF-8 (umlauts, ß), 222,218 bytes like Faust I (`pg2229.txt`).
    Text,
    /// An HTML page (ASCII), 263,647 bytes like `data1.html`.
    Html,
    /// A PDF of mostly compressed (random-looking) streams, 1,042,328 bytes like Autobahn's PDF.
    Pdf,
}

impl Corpus {
    /// Every corpus.
    pub const ALL: [Corpus; 5] = [
        Corpus::Json,
        Corpus::Bmp,
        Corpus::Text,
        Corpus::Html,
        Corpus::Pdf,
    ];

    /// The name used in case files.
    pub fn name(self) -> &'static str {
        match self {
            Corpus::Json => "json",
            Corpus::Bmp => "bmp",
            Corpus::Text => "text",
            Corpus::Html => "html",
            Corpus::Pdf => "pdf",
        }
    }

    /// The file's length in bytes.
    pub fn len(self) -> usize {
        match self {
            Corpus::Json => 194_056,
            Corpus::Bmp => 263_222,
            Corpus::Text => 222_218,
            Corpus::Html => 263_647,
            Corpus::Pdf => 1_042_328,
        }
    }

    /// Whether the file is empty (never).
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The file's bytes, generated on first use.
    pub fn bytes(self) -> &'static [u8] {
        static CELLS: [OnceLock<Vec<u8>>; 5] = [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ];
        let index = Corpus::ALL.iter().position(|c| *c == self).unwrap_or(0);
        CELLS[index].get_or_init(|| {
            let mut bytes = match self {
                Corpus::Json => json(self.len()),
                Corpus::Bmp => bmp(),
                Corpus::Text => verse(self.len()),
                Corpus::Html => html(self.len()),
                Corpus::Pdf => pdf(self.len()),
            };
            bytes.resize(self.len(), b' ');
            bytes
        })
    }
}

impl fmt::Display for Corpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// SplitMix64: a tiny deterministic generator, so every run sends the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FIRST_NAMES: [&str; 16] = [
    "Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Karla",
    "Lukas", "Mia", "Noah", "Olga", "Paul",
];
const LAST_NAMES: [&str; 12] = [
    "Meyer",
    "Schulz",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Braun",
    "Zimmermann",
];
const WORDS: [&str; 24] = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "minim",
    "veniam",
    "quis",
    "nostrud",
];
const COLORS: [&str; 4] = ["blue", "brown", "green", "grey"];
const STREETS: [&str; 6] = [
    "Willow Street",
    "Harbor Lane",
    "Maple Avenue",
    "Station Road",
    "Mill Court",
    "Garden Place",
];

/// Records as a JSON array, like the output of a JSON test-data generator.
fn json(len: usize) -> Vec<u8> {
    let mut rng = Rng(0x6a73_6f6e);
    let mut out = String::from("[\n");
    let mut id = 0;
    while out.len() < len {
        let first = rng.pick(&FIRST_NAMES);
        let last = rng.pick(&LAST_NAMES);
        let tags: Vec<String> = (0..5)
            .map(|_| format!("\"{}\"", rng.pick(&WORDS)))
            .collect();
        out.push_str(&format!(
            "  {{\n    \"id\": {id},\n    \"isActive\": {},\n    \"age\": {},\n    \"eyeColor\": \"{}\",\n    \
             \"name\": \"{first} {last}\",\n    \"email\": \"{}.{}@example.com\",\n    \
             \"address\": \"{} {}, Springfield\",\n    \"about\": \"{} {} {} {} {}.\",\n    \
             \"tags\": [{}],\n    \"friends\": [{{ \"id\": 0, \"name\": \"{}\" }}, {{ \"id\": 1, \"name\": \"{}\" }}]\n  }},\n",
            rng.below(2) == 0,
            20 + rng.below(50),
            rng.pick(&COLORS),
            first.to_ascii_lowercase(),
            last.to_ascii_lowercase(),
            100 + rng.below(900),
            rng.pick(&STREETS),
            rng.pick(&WORDS),
            rng.pick(&WORDS),
            rng.pick(&WORDS),
            rng.pick(&WORDS),
            rng.pick(&WORDS),
            tags.join(", "),
            rng.pick(&FIRST_NAMES),
            rng.pick(&FIRST_NAMES),
        ));
        id += 1;
    }
    out.push_str("]\n");
    out.into_bytes()
}

/// A 512×512 8-bit grayscale bitmap: smooth shapes with a little noise in every pixel.
fn bmp() -> Vec<u8> {
    const SIDE: u32 = 512;
    const HEADERS: u32 = 14 + 40 + 256 * 4;
    let size = HEADERS + SIDE * SIDE;
    let mut out = Vec::with_capacity(size as usize);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&HEADERS.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&SIDE.to_le_bytes());
    out.extend_from_slice(&SIDE.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(SIDE * SIDE).to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&256u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    for gray in 0..=255u8 {
        out.extend_from_slice(&[gray, gray, gray, 0]);
    }
    let mut rng = Rng(0x0062_6d70);
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (fx, fy) = (f64::from(x), f64::from(y));
            let shape = 128.0
                + 60.0 * (fx / 23.0).sin() * (fy / 31.0).cos()
                + 30.0 * ((fx + fy) / 11.0).sin();
            let noise = rng.below(25) as f64 - 12.0;
            out.push((shape + noise).clamp(0.0, 255.0) as u8);
        }
    }
    out
}

const SPEAKERS: [&str; 5] = [
    "FAUST.",
    "MEPHISTOPHELES.",
    "GRETCHEN.",
    "WAGNER.",
    "MARTHE.",
];
const GERMAN: [&str; 40] = [
    "ich",
    "du",
    "der",
    "die",
    "das",
    "und",
    "nicht",
    "mit",
    "Geist",
    "Welt",
    "Herz",
    "Nacht",
    "schön",
    "Mädchen",
    "Träume",
    "Glück",
    "süß",
    "Größe",
    "Tür",
    "hören",
    "führen",
    "Blüte",
    "Himmel",
    "Erde",
    "Liebe",
    "Wissen",
    "Schmerz",
    "dunkel",
    "hell",
    "ewig",
    "Stunde",
    "Augenblick",
    "verweile",
    "doch",
    "bist",
    "so",
    "Straße",
    "weiß",
    "müssen",
    "über",
];

/// Verse in German: speakers, lines of words with umlauts and ß, rhyme-less but word-repetitive.
fn verse(len: usize) -> Vec<u8> {
    let mut rng = Rng(0x0066_6175_7374);
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&format!("\n{}\n", rng.pick(&SPEAKERS)));
        for _ in 0..2 + rng.below(6) {
            let words: Vec<&str> = (0..4 + rng.below(5)).map(|_| rng.pick(&GERMAN)).collect();
            let mut line = words.join(" ");
            if let Some(first) = line.get(..1) {
                let upper = first.to_uppercase();
                line.replace_range(..1, &upper);
            }
            out.push_str(&line);
            out.push_str([",", ".", "!", ";", "?"][rng.below(5)]);
            out.push('\n');
        }
    }
    out.into_bytes()
}

const TAGS: [&str; 6] = ["p", "span", "li", "td", "em", "strong"];

/// An HTML page: a head, then nested sections of paragraphs, links and tables.
fn html(len: usize) -> Vec<u8> {
    let mut rng = Rng(0x6874_6d6c);
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>wsspec test page</title>\n\
         <link rel=\"stylesheet\" href=\"/static/style.css\">\n</head>\n<body>\n",
    );
    let mut n = 0;
    while out.len() < len {
        out.push_str(&format!(
            "<div class=\"section\" id=\"s{n}\">\n<h2>{} {}</h2>\n",
            rng.pick(&WORDS),
            rng.pick(&WORDS)
        ));
        for _ in 0..3 + rng.below(4) {
            let tag = rng.pick(&TAGS);
            let words: Vec<&str> = (0..6 + rng.below(10)).map(|_| rng.pick(&WORDS)).collect();
            out.push_str(&format!(
                "  <{tag} class=\"c{}\">{} <a href=\"/page/{}.html\">{}</a></{tag}>\n",
                rng.below(8),
                words.join(" "),
                rng.below(5000),
                rng.pick(&WORDS)
            ));
        }
        out.push_str("</div>\n");
        n += 1;
    }
    out.push_str("</body>\n</html>\n");
    out.into_bytes()
}

/// A PDF: objects whose streams are random bytes (as compressed streams look), between readable
/// dictionaries.
fn pdf(len: usize) -> Vec<u8> {
    let mut rng = Rng(0x0070_6466);
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut n = 1;
    while out.len() < len {
        let stream = 500 + rng.below(6000);
        out.extend_from_slice(
            format!(
                "{n} 0 obj\n<< /Type /XObject /Subtype /Image /Width {} /Height {} /BitsPerComponent 8 \
                 /Filter /FlateDecode /Length {stream} >>\nstream\n",
                64 + rng.below(512),
                64 + rng.below(512)
            )
            .as_bytes(),
        );
        for _ in 0..stream.div_ceil(8) {
            out.extend_from_slice(&rng.next().to_le_bytes());
        }
        out.extend_from_slice(b"\nendstream\nendobj\n");
        n += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpora_have_their_sizes_and_kinds() {
        for corpus in Corpus::ALL {
            let bytes = corpus.bytes();
            assert_eq!(bytes.len(), corpus.len(), "{corpus}");
            assert_eq!(corpus.bytes().as_ptr(), bytes.as_ptr(), "built once");
        }
        assert!(Corpus::Json.bytes().is_ascii());
        assert!(Corpus::Html.bytes().is_ascii());
        assert!(std::str::from_utf8(&Corpus::Text.bytes()[..1000]).is_ok());
        assert!(Corpus::Bmp.bytes().starts_with(b"BM"));
        assert!(Corpus::Pdf.bytes().starts_with(b"%PDF-1.4"));
        // Deterministic: the same bytes in every run.
        assert_eq!(&Corpus::Json.bytes()[..13], b"[\n  {\n    \"id");
    }
}
