//! The test data of the compression cases: five generated files that stand in for Autobahn's.
//!
//! Autobahn's sections 12 and 13 send slices of five files it ships (a JSON results index, a 512×512
//! grayscale bitmap, Goethe's Faust, an HTML test report, a PDF article). wsspec generates files of
//! the same kinds and sizes instead, deterministically (a fixed-seed SplitMix64), that compress about
//! as well, so that a server does the same work under wsspec as under Autobahn: the JSON index and
//! the HTML report are repetitive ASCII that deflate shrinks to about 5%, the verse (umlauts, ß, a
//! large vocabulary) to under 40%, the bitmap to under 90%, and the PDF, mostly already-compressed
//! streams, to about 80%. The test below holds each within a quarter of what Autobahn's file gives.
//! Each is built once per process, on first use, and shared.
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
    /// A JSON results index (ASCII), 194,056 bytes like Autobahn's `data1.json`.
    Json,
    /// A 512×512 8-bit grayscale BMP of smooth shapes and noise, 263,222 bytes like `lena512.bmp`.
    Bmp,
    /// German verse in UTF-8 (umlauts, ß), 222,218 bytes like Faust I (`pg2229.txt`).
    Text,
    /// An HTML test report (ASCII), 263,647 bytes like `data1.html`.
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

    /// A number below `n`, small ones far more often than large ones (below a number below `n`).
    fn skewed(&mut self, n: usize) -> usize {
        let bound = self.below(n) + 1;
        self.below(bound)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// What a test report records of a case (the categories of an Autobahn-style results index).
const BEHAVIORS: [&str; 4] = ["OK", "OK", "NON-STRICT", "FAILED"];
const CLOSE_CODES: [u16; 3] = [1000, 1000, 1002];
const AGENTS: [&str; 4] = ["EchoServer/1.0", "Relay/2.3", "Gateway/0.9", "Broker/4.1"];

/// The ids of a suite's cases, `1.1.1` and on, with the section sizes of a real suite.
fn case_ids() -> impl Iterator<Item = String> {
    const SECTIONS: [(u32, u32); 10] = [
        (1, 8),
        (2, 11),
        (3, 7),
        (4, 10),
        (5, 20),
        (6, 23),
        (7, 13),
        (9, 8),
        (10, 1),
        (12, 18),
    ];
    SECTIONS.into_iter().flat_map(|(section, groups)| {
        (1..=groups).flat_map(move |group| (1..=8).map(move |n| format!("{section}.{group}.{n}")))
    })
}

/// A test-results index in JSON: per agent, per case, the same five fields with a few values (the
/// kind of document Autobahn's `data1.json` is).
fn json(len: usize) -> Vec<u8> {
    let mut rng = Rng(0x6a73_6f6e);
    let mut out = String::from("{\n");
    'agents: for round in 0.. {
        for agent in AGENTS {
            out.push_str(&format!("   \"{agent} run {round}\": {{\n"));
            let slug = agent.replace(['/', '.'], "_").to_ascii_lowercase();
            for id in case_ids() {
                let file = id.replace('.', "_");
                out.push_str(&format!(
                    "      \"{id}\": {{\n         \"behavior\": \"{}\",\n         \"behaviorClose\": \"OK\",\n         \
                     \"duration\": {},\n         \"remoteCloseCode\": {},\n         \
                     \"reportfile\": \"{slug}_case_{file}.json\"\n      }},\n",
                    rng.pick(&BEHAVIORS),
                    1 + rng.skewed(150),
                    CLOSE_CODES[rng.below(CLOSE_CODES.len())],
                ));
                if out.len() >= len {
                    break 'agents;
                }
            }
            out.push_str("   },\n");
        }
    }
    out.push_str("}\n");
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
            let noise = rng.below(19) as f64 - 9.0;
            out.push((shape + noise).clamp(0.0, 255.0) as u8);
        }
    }
    out
}

const SPEAKERS: [&str; 6] = [
    "FAUST:",
    "MEPHISTOPHELES:",
    "MARGARETE:",
    "WAGNER:",
    "MARTHE:",
    "DIREKTOR:",
];
const ONSETS: [&str; 24] = [
    "b", "d", "f", "g", "h", "k", "l", "m", "n", "r", "s", "t", "w", "z", "sch", "st", "br", "gr",
    "kl", "tr", "fl", "pf", "", "",
];
const NUCLEI: [&str; 14] = [
    "a", "e", "i", "o", "u", "ä", "ö", "ü", "ei", "au", "ie", "eu", "e", "e",
];
const CODAS: [&str; 16] = [
    "", "", "n", "r", "s", "t", "ch", "ß", "nd", "ng", "rt", "lt", "st", "cht", "m", "l",
];

/// A vocabulary of German-sounding words (umlauts, ß) of one to three syllables.
fn vocabulary(rng: &mut Rng, size: usize) -> Vec<String> {
    (0..size)
        .map(|_| {
            let mut word = String::new();
            for _ in 0..1 + rng.below(3) {
                word.push_str(rng.pick(&ONSETS));
                word.push_str(rng.pick(&NUCLEI));
                word.push_str(rng.pick(&CODAS));
            }
            word
        })
        .collect()
}

/// Verse in German: speakers, then indented lines of words from a large vocabulary, common words
/// far more often than rare ones, as in a real play (Autobahn's is Faust I).
fn verse(len: usize) -> Vec<u8> {
    let mut rng = Rng(0x0066_6175_7374);
    let words = vocabulary(&mut rng, 9000);
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&format!("\n  {}\n", rng.pick(&SPEAKERS)));
        for _ in 0..2 + rng.below(12) {
            let count = 4 + rng.below(4);
            let mut line: Vec<String> = (0..count)
                .map(|_| words[rng.skewed(words.len())].clone())
                .collect();
            if let Some(first) = line[0].get(..1) {
                let upper = first.to_uppercase();
                line[0].replace_range(..1, &upper);
            }
            out.push_str("  ");
            out.push_str(&line.join(" "));
            out.push_str([",", ".", "!", ";", "?", ""][rng.below(6)]);
            out.push('\n');
        }
    }
    out.into_bytes()
}

const RESULTS: [(&str, &str); 4] = [
    ("case_ok", "Pass"),
    ("case_ok", "Pass"),
    ("case_non_strict", "Non-Strict"),
    ("case_failed", "Fail"),
];

/// An HTML page: a test report's table, a row per case with a few classes and links (the kind of
/// page Autobahn's `data1.html` is).
fn html(len: usize) -> Vec<u8> {
    let mut rng = Rng(0x6874_6d6c);
    let mut out = String::from(
        "<!DOCTYPE html>\n<html>\n   <head>\n      <meta charset=\"utf-8\" />\n      \
         <title>Test Report</title>\n      <link rel=\"stylesheet\" href=\"report.css\" />\n   </head>\n   \
         <body>\n      <table id=\"agent_case_results\">\n",
    );
    'agents: for agent in AGENTS.iter().cycle() {
        let mut section = String::new();
        for id in case_ids() {
            let head = id.rsplit_once('.').map_or(id.as_str(), |(head, _)| head);
            if head != section {
                section = head.to_owned();
                out.push_str(&format!(
                    "         <tr class=\"case_subcategory_row\">\n            \
                     <td class=\"case_subcategory\" colspan=\"3\">{section} {agent}</td>\n         </tr>\n"
                ));
            }
            let (class, text) = RESULTS[rng.below(RESULTS.len())];
            let anchor = id.replace('.', "_");
            out.push_str(&format!(
                "         <tr class=\"agent_case_result_row\">\n            \
                 <td class=\"case\"><a href=\"#case_desc_{anchor}\">Case {id}</a></td>\n            \
                 <td class=\"{class}\"><a href=\"{anchor}.html\">{text}</a><br/><span class=\"case_duration\">{} ms</span></td>\n            \
                 <td class=\"close close_flex\">{}</td>\n         </tr>\n",
                1 + rng.skewed(3000),
                CLOSE_CODES[rng.below(CLOSE_CODES.len())],
            ));
            if out.len() >= len {
                break 'agents;
            }
        }
    }
    out.push_str("      </table>\n   </body>\n</html>\n");
    out.into_bytes()
}

/// A PDF: objects between readable dictionaries, most of whose streams are random bytes (as
/// compressed streams look) and some page content in the clear (text operators), in about the
/// proportions of the article Autobahn ships.
fn pdf(len: usize) -> Vec<u8> {
    let mut rng = Rng(0x0070_6466);
    let words = vocabulary(&mut rng, 400);
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut n = 1;
    while out.len() < len {
        let stream = 500 + rng.below(6000);
        let content = rng.below(3) == 0;
        let filter = if content { "" } else { " /Filter /FlateDecode" };
        out.extend_from_slice(
            format!("{n} 0 obj\n<< /Length {stream}{filter} >>\nstream\n").as_bytes(),
        );
        let end = out.len() + stream;
        if content {
            while out.len() < end {
                let line = format!(
                    "BT /F{} {} Tf {} {} Td ({}) Tj ET\n",
                    1 + rng.below(4),
                    8 + rng.below(6),
                    72 + rng.below(400),
                    72 + rng.below(650),
                    words[rng.below(words.len())]
                );
                out.extend_from_slice(line.as_bytes());
            }
        } else {
            while out.len() < end {
                out.extend_from_slice(&rng.next().to_le_bytes());
            }
        }
        out.truncate(end);
        out.extend_from_slice(
            format!("\nendstream\nendobj\n{} 0 obj\n<< /Type /Page /Parent 2 0 R /Contents {n} 0 R >>\nendobj\n", n + 1)
                .as_bytes(),
        );
        n += 2;
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
        assert_eq!(&Corpus::Json.bytes()[..10], b"{\n   \"Echo");
    }

    /// What 20 slices of 128 KiB of a corpus compress to, with context takeover, at zlib level 6.
    fn ratio(corpus: Corpus) -> f64 {
        use wsspec_wire::deflate::{Compressor, Direction};
        let mut compressor = Compressor::new(Direction::default(), 6);
        let bytes = corpus.bytes();
        let size = 128 * 1024;
        let compressed: usize = (0..20)
            .map(|i| {
                let slice: Vec<u8> = (0..size)
                    .map(|j| bytes[(i * size + j) % bytes.len()])
                    .collect();
                compressor.message(&slice).len()
            })
            .sum();
        compressed as f64 / (20 * size) as f64
    }

    #[test]
    fn corpora_compress_about_as_well_as_autobahns_files() {
        // The same measure of Autobahn 25.10.1's files (see cases/12-deflate-echo.toml).
        let autobahn = [
            (Corpus::Json, 0.043),
            (Corpus::Bmp, 0.852),
            (Corpus::Text, 0.386),
            (Corpus::Html, 0.055),
            (Corpus::Pdf, 0.801),
        ];
        for (corpus, theirs) in autobahn {
            let ours = ratio(corpus);
            assert!(
                (ours - theirs).abs() <= theirs * 0.25,
                "{corpus}: {ours:.3} where Autobahn's file gives {theirs:.3}"
            );
        }
    }
}
